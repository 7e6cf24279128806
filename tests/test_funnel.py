"""Funnels against a brute-force reference written here in plain Python: each person's events
sorted by time, every attempt walked step by step. Random event logs (ties at one timestamp,
steps exactly a window apart, anonymous events merged by identify, person-property filters,
breakdowns, exclusions, every mode) in Shanghai (UTC+8 day edges) and New York (daylight saving),
plus ordered mode against a hand-written ``windowFunnel`` query, and hand-made edge cases."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analysis_reference import (
    BASE,
    FIRST,
    LAST,
    TIMEZONES,
    filter_strategy,
    identify_strategy,
    ingest,
    local_window,
    matches,
    new_project,
    person_filter_strategy,
    person_traits,
    persons_of,
    text,
    values,
)
from userops.analysis.funnel import (
    MAX_BINS,
    FunnelExclusion,
    FunnelPersons,
    FunnelResult,
    FunnelSpec,
    FunnelStep,
    run_funnel,
)
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.spec import NONE, OTHER, Breakdown, DateRange, PropertyFilter
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.store import rows

NAMES = ("view", "cart", "pay")
RANGE = DateRange(start=FIRST, end=LAST)
# Minutes after BASE of the range edges: Shanghai 240 and 4560, New York 960 and 5340.
EDGES = [239, 240, 241, 959, 960, 4559, 4560, 4561, 5339, 5340, 5341]

# Spread over the five days, and crowded into six minutes so that ties and steps exactly one
# window apart are common.
minutes = st.tuples(
    st.integers(0, 9), st.integers(2000, 2005), st.integers(0, 5 * 24 * 60), st.sampled_from(EDGES)
).map(lambda t: t[1] if t[0] < 6 else t[2 + (t[0] > 8)])
funnel_event = st.fixed_dictionaries({
    "event": st.sampled_from([*NAMES, "other"]),
    "device": st.integers(0, 4),
    "user": st.one_of(st.none(), st.none(), st.none(), st.integers(0, 1)),
    "minutes": minutes,
    "properties": st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2),
})  # fmt: skip
# About one entry in six an identify (traits, and a link to a user).
log = st.lists(st.integers(0, 5).flatmap(lambda k: identify_strategy if k == 0 else funnel_event),
               min_size=15, max_size=45)  # fmt: skip
# Mostly windows of a minute or two, so that steps exactly one window apart are common.
windows = st.sampled_from([{"value": 1, "unit": "minute"}, {"value": 2, "unit": "minute"},
                           {"value": 60, "unit": "second"}, {"value": 2, "unit": "minute"},
                           {"value": 300, "unit": "second"}, {"value": 1, "unit": "hour"},
                           {"value": 1, "unit": "day"}])  # fmt: skip


# -- the reference ---------------------------------------------------------------------------


@dataclass
class Event:
    ms: int  # milliseconds since the epoch
    steps: set[int]  # indexes of the steps it matches
    excluded: set[int]  # indexes of the exclusions it matches
    properties: dict[str, Any]
    order: int = 0  # among equal times: other events, then by step (and exclusion) bits


@dataclass
class Block:
    levels: dict[str, int] = field(default_factory=dict)  # person -> level reached
    times: dict[str, int] = field(default_factory=dict)  # person -> ms to convert


@dataclass
class Expected:
    total: Block
    blocks: dict[str, Block]  # by breakdown value, top ones and $other
    order: list[str]  # breakdown values in the result's order


def events_by_person(events: list[dict[str, Any]], spec: FunnelSpec, start_ms: int,
                     end_ms: int) -> dict[str, list[Event]]:  # fmt: skip
    """Each person's events in [start, end + window) that pass the shared filters and matter:
    a step, an exclusion or (strict mode) any tracked event; in time order, equal times other
    events first, then by the bits of the steps (then exclusions) they match."""
    persons, traits = persons_of(events), person_traits(events)
    window = spec.window.seconds * 1000
    out: dict[str, list[Event]] = {}
    for entry in events:
        identify = "traits" in entry
        name = "$identify" if identify else entry["event"]
        props = {} if identify else entry["properties"]
        ms = int((BASE + dt.timedelta(minutes=entry["minutes"])).timestamp() * 1000)
        person = persons[f"device-{entry['device']}"]
        person_props = traits.get(person, {})

        def holds(filters: list[PropertyFilter], props: dict[str, Any] = props,
                  person_props: dict[str, Any] = person_props) -> bool:  # fmt: skip
            return all(matches(f, person_props if f.type == "person" else props)
                       for f in filters)  # fmt: skip

        if not start_ms <= ms < end_ms + window or not holds(spec.filters):
            continue
        steps = {k for k, s in enumerate(spec.steps) if s.event == name and holds(s.filters)}
        excluded = {j for j, x in enumerate(spec.exclusions)
                    if x.event == name and holds(x.filters)}  # fmt: skip
        order = sum(1 << k for k in steps) + sum(1 << (len(spec.steps) + j) for j in excluded)
        if steps or excluded or (spec.mode == "strict" and not identify):
            out.setdefault(person, []).append(Event(ms, steps, excluded, props, order))
    for stream in out.values():
        stream.sort(key=lambda e: (e.ms, e.order))
    return out


def attempts(stream: list[Event], spec: FunnelSpec, end_ms: int
             ) -> list[tuple[int, list[int]]]:  # fmt: skip
    """(entry time, times at which the attempt completed its 1st, 2nd, ... step)."""
    n, window = len(spec.steps), spec.window.seconds * 1000
    out = []
    for i, start in enumerate(stream):
        if start.ms >= end_ms:
            continue
        if spec.mode == "unordered":
            if not start.steps:
                continue
            done = []
            for k in range(n):
                found = [e.ms for e in stream if k in e.steps
                         and start.ms <= e.ms <= start.ms + window]  # fmt: skip
                if found:
                    done.append(min(found))
            out.append((start.ms, sorted(done)))
            continue
        if 0 not in start.steps:
            continue
        chain = [start.ms]
        for k in range(1, n):
            if spec.mode == "strict":  # the very next event of the stream
                nxt = stream[i + k] if i + k < len(stream) else None
                found = [nxt.ms] if nxt and k in nxt.steps and nxt.ms <= start.ms + window else []
            else:  # the first step-k event at or after the previous step (the same one, too)
                found = [e.ms for e in stream if k in e.steps
                         and chain[-1] <= e.ms <= start.ms + window]  # fmt: skip
            if not found:
                break
            chain.append(min(found))
        out.append((start.ms, chain))
    return out


def level_and_time(stream: list[Event], spec: FunnelSpec, end_ms: int
                   ) -> tuple[int, int | None]:  # fmt: skip
    """The best attempt's level (exclusions applied) and the first conversion's time."""
    n, window = len(spec.steps), spec.window.seconds * 1000
    best, converted = 0, []
    for entered, chain in attempts(stream, spec, end_ms):
        level = len(chain)
        for j, x in enumerate(spec.exclusions):
            if len(chain) > x.from_step:
                low = chain[x.from_step]
                high = chain[x.to_step] if len(chain) > x.to_step else entered + window + 1
                if any(j in e.excluded and low < e.ms < high for e in stream):
                    level = min(level, x.from_step + 1)
        best = max(best, level)
        if level == n:
            converted.append((chain[-1], chain[-1] - entered))
    return best, min(converted)[1] if converted else None


def window_funnel(stream: list[Event], n: int, window: int, end_ms: int
                  ) -> tuple[int, int | None]:  # fmt: skip
    """ClickHouse's windowFunnel, transcribed: (time, step) entries in order; a first step
    restarts the chain, step k extends step k-1's chain while within the window of its start.
    Returns the level and, when it completes, the time from that chain's start."""
    entries = sorted((e.ms, k + 1) for e in stream for k in e.steps if k or e.ms < end_ms)
    chains: list[tuple[int, int] | None] = [None] * n
    for ms, step in entries:
        if step == 1:
            chains[0] = (ms, ms)
        elif (prev := chains[step - 2]) is not None and ms <= prev[0] + window:
            chains[step - 1] = (prev[0], ms)
            if step == n:
                return n, ms - prev[0]
    return max((k + 1 for k, c in enumerate(chains) if c is not None), default=0), None


def reference(events: list[dict[str, Any]], spec: FunnelSpec, timezone: str) -> Expected:
    start, end = local_window(FIRST, LAST, ZoneInfo(timezone))
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    traits = person_traits(events)
    total, values_of = Block(), {}
    for person, stream in events_by_person(events, spec, start_ms, end_ms).items():
        level, took = level_and_time(stream, spec, end_ms)
        if spec.mode == "ordered" and not spec.exclusions:  # the reference checks itself
            assert (level, took) == window_funnel(
                stream, len(spec.steps), spec.window.seconds * 1000, end_ms
            )
        if not level:
            continue
        total.levels[person] = level
        if took is not None:
            total.times[person] = took
        if spec.breakdown is not None:
            key = spec.breakdown.key
            if spec.breakdown.type == "person":
                value = text(traits.get(person, {}), key)
            else:  # the first entering event's (a first step, unordered any step, in range);
                # equal times: the smallest value
                entering = [
                    e
                    for e in stream
                    if e.ms < end_ms and (e.steps if spec.mode == "unordered" else 0 in e.steps)
                ]
                value = min((e.ms, text(e.properties, key) or NONE) for e in entering)[1]
            values_of[person] = NONE if value is None else value
    blocks: dict[str, Block] = {}
    order: list[str] = []
    if spec.breakdown is not None:
        entered: dict[str, int] = {}
        for value in values_of.values():
            entered[value] = entered.get(value, 0) + 1
        ranked = sorted(entered, key=lambda v: (-entered[v], v))
        top = ranked[: spec.breakdown.limit]
        order = top + ([OTHER] if len(ranked) > len(top) else [])
        for person, value in values_of.items():
            block = blocks.setdefault(value if value in top else OTHER, Block())
            block.levels[person] = total.levels[person]
            if person in total.times:
                block.times[person] = total.times[person]
    return Expected(total, blocks, order)


def person_ids(runtime: Runtime, project: Project, events: list[dict[str, Any]]
               ) -> dict[str, int]:  # fmt: skip
    """The store's person id of each reference person (union-find root)."""
    sql = f"SELECT DISTINCT e.distinct_id, {RESOLVED_PERSON} FROM {RESOLVED_EVENTS} " \
          "WHERE e.project_id = {project:UInt32}"  # noqa: S608 # fmt: skip
    found = rows(runtime.store, sql, {"project": project.id})
    roots = persons_of(events)
    ids: dict[str, int] = {}
    for distinct_id, person_id in found:
        assert ids.setdefault(roots[distinct_id], int(person_id)) == int(person_id)
    assert len(set(ids.values())) == len(ids)
    return ids


def check_block(got: Any, want: Block, spec: FunnelSpec) -> None:
    n = len(spec.steps)
    counts = [sum(1 for lv in want.levels.values() if lv >= k) for k in range(1, n + 1)]
    assert [s.count for s in got.steps] == counts
    assert [s.label for s in got.steps] == [s.label or s.event for s in spec.steps]
    for k, s in enumerate(got.steps):
        previous = counts[k - 1] if k else counts[0]
        assert s.conversion_from_previous == pytest.approx(counts[k] / previous if previous else 0)
        assert s.conversion_from_first == pytest.approx(counts[k] / counts[0] if counts[0] else 0)
    assert got.overall_conversion == pytest.approx(counts[-1] / counts[0] if counts[0] else 0)
    times = sorted(want.times.values())
    assert len(times) == counts[-1]
    ttc = got.time_to_convert
    if not times:
        assert ttc.median is None and ttc.mean is None and ttc.histogram == []
        return
    assert ttc.median == pytest.approx(median(times) / 1000)
    assert ttc.mean == pytest.approx(sum(times) / len(times) / 1000)
    bins = ttc.histogram
    assert 1 <= len(bins) <= MAX_BINS
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(bins))
    assert [b.count for b in bins] == [sum(1 for t in times if b.start <= t / 1000 < b.end)
                                       for b in bins]  # fmt: skip
    assert bins[0].count > 0 and bins[-1].count > 0


def check(runtime: Runtime, project: Project, events: list[dict[str, Any]], spec: FunnelSpec,
          result: FunnelResult) -> None:  # fmt: skip
    want = reference(events, spec, project.timezone)
    check_block(result.total, want.total, spec)
    assert [b.breakdown for b in result.breakdown] == want.order
    for block in result.breakdown:
        assert block.breakdown is not None
        check_block(block, want.blocks[block.breakdown], spec)
    if spec.persons is None:
        assert result.persons is None and result.persons_total is None
        return
    page, ids = spec.persons, person_ids(runtime, project, events)
    listed = sorted(
        ids[p]
        for p, lv in want.total.levels.items()
        if (lv > page.step if page.status == "converted" else lv == page.step)
    )
    assert result.persons_total == len(listed)
    assert result.persons == listed[page.offset : page.offset + page.limit]


# -- random logs -----------------------------------------------------------------------------


@st.composite
def specs(draw: st.DrawFn) -> FunnelSpec:
    n = draw(st.integers(2, 4))
    steps = [FunnelStep(event=draw(st.sampled_from(NAMES)),
                        filters=draw(st.lists(filter_strategy, max_size=1)) if draw(
                            st.integers(0, 4)) == 0 else [])
             for _ in range(n)]  # fmt: skip
    exclusions = []
    if draw(st.booleans()):
        low = draw(st.integers(0, n - 2))
        exclusions.append(
            FunnelExclusion(
                event=draw(st.sampled_from([*NAMES, "other"])),
                from_step=low,
                to_step=draw(st.integers(low + 1, n - 1)),
                filters=draw(st.lists(filter_strategy, max_size=1)),
            )
        )
    breakdown = draw(
        st.one_of(
            st.none(),
            st.builds(Breakdown, key=st.sampled_from(["a", "b"]), limit=st.integers(1, 3)),
            st.builds(
                Breakdown, key=st.just("plan"), type=st.just("person"), limit=st.integers(1, 2)
            ),
        )
    )
    persons = None
    if draw(st.booleans()):
        status = draw(st.sampled_from(["converted", "dropped"]))
        persons = FunnelPersons(
            step=draw(st.integers(int(status == "dropped"), n - 1)),
            status=status,
            limit=draw(st.integers(1, 4)),
            offset=draw(st.integers(0, 2)),
        )
    return FunnelSpec.model_validate({
        "steps": steps, "date_range": RANGE, "window": draw(windows),
        "mode": draw(st.sampled_from(["ordered", "strict", "unordered"])),
        "exclusions": exclusions, "breakdown": breakdown, "persons": persons,
        "filters": [draw(st.one_of(filter_strategy, person_filter_strategy))]
                   if draw(st.integers(0, 3)) == 0 else [],
    })  # fmt: skip


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=log, spec=specs())
def test_funnel_equals_brute_force(runtime: Runtime, timezone: str, events: list[dict[str, Any]],
                                   spec: FunnelSpec) -> None:  # fmt: skip
    project = new_project(runtime, timezone)
    ingest(runtime, project.id, events)
    check(runtime, project, events, spec, run_funnel(runtime.store, project, spec))


@st.composite
def dense_logs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A few persons, each doing events a few seconds to two minutes apart (or at once), logged
    out of order: ties, steps exactly one window apart and events between steps, all common."""
    events = []
    for device in range(draw(st.integers(1, 3))):
        minutes = 2000.0
        for _ in range(draw(st.integers(1, 10))):
            minutes += draw(st.sampled_from([0, 0.25, 0.5, 0.5, 1, 1]))
            events.append({"event": draw(st.sampled_from([*NAMES, "other"])), "device": device,
                           "user": None, "minutes": minutes, "properties": {}})  # fmt: skip
    return list(draw(st.permutations(events)))


@st.composite
def dense_specs(draw: st.DrawFn) -> FunnelSpec:
    n = draw(st.integers(2, 3))
    exclusions = []
    for _ in range(draw(st.integers(1, 2))):
        low = draw(st.integers(0, n - 2))
        exclusions.append(
            {
                "event": draw(st.sampled_from([*NAMES, "other"])),
                "from_step": low,
                "to_step": draw(st.integers(low + 1, n - 1)),
            }
        )
    return FunnelSpec.model_validate({
        "steps": [{"event": draw(st.sampled_from(NAMES))} for _ in range(n)],
        "date_range": RANGE, "mode": draw(st.sampled_from(["ordered", "strict", "unordered"])),
        "window": {"value": draw(st.sampled_from([60, 90, 120, 180])), "unit": "second"},
        "exclusions": exclusions if draw(st.integers(0, 3)) else [],
    })  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=dense_logs(), spec=dense_specs())
def test_dense_logs_with_exclusions_equal_brute_force(runtime: Runtime,
                                                      events: list[dict[str, Any]],
                                                      spec: FunnelSpec) -> None:  # fmt: skip
    project = new_project(runtime, "America/New_York")
    ingest(runtime, project.id, events)
    check(runtime, project, events, spec, run_funnel(runtime.store, project, spec))


def handwritten_levels(runtime: Runtime, project: Project, spec: FunnelSpec) -> dict[int, int]:
    """Persons per level from windowFunnel as an analyst would write it by hand."""
    start, end = local_window(FIRST, LAST, ZoneInfo(project.timezone))
    window = spec.window.seconds
    steps = ", ".join(
        [
            "e.event = {s0:String} AND e.timestamp < {end:DateTime64(3, 'UTC')}",
            *(f"e.event = {{s{k}:String}}" for k in range(1, len(spec.steps))),
        ]
    )
    sql = f"""
        SELECT level, count() FROM (
            SELECT {RESOLVED_PERSON} AS person, windowFunnel({{w:UInt64}})(
                toUInt64(toUnixTimestamp64Milli(e.timestamp)), {steps}) AS level
            FROM {RESOLVED_EVENTS}
            WHERE e.project_id = {{project:UInt32}} AND e.event IN {{names:Array(String)}}
              AND e.timestamp >= {{start:DateTime64(3, 'UTC')}}
              AND e.timestamp < {{last:DateTime64(3, 'UTC')}}
            GROUP BY person
        ) WHERE level > 0 GROUP BY level
    """  # noqa: S608
    found = rows(runtime.store, sql, {
        "project": project.id, "w": window * 1000, "start": start, "end": end,
        "last": end + dt.timedelta(seconds=window), "names": [s.event for s in spec.steps],
        **{f"s{k}": s.event for k, s in enumerate(spec.steps)}})  # fmt: skip
    return {int(level): int(count) for level, count in found}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=st.one_of(log, dense_logs()),
       names=st.lists(st.sampled_from(NAMES), min_size=2, max_size=4),
       window=windows, timezone=st.sampled_from(TIMEZONES))  # fmt: skip
def test_ordered_equals_handwritten_window_funnel(runtime: Runtime, events: list[dict[str, Any]],
                                                  names: list[str], window: dict[str, Any],
                                                  timezone: str) -> None:  # fmt: skip
    project = new_project(runtime, timezone)
    ingest(runtime, project.id, events)
    spec = FunnelSpec(
        steps=[FunnelStep(event=name) for name in names], date_range=RANGE, window=window
    )  # type: ignore[arg-type]
    result = run_funnel(runtime.store, project, spec)
    levels = handwritten_levels(runtime, project, spec)
    assert [s.count for s in result.total.steps] == [
        sum(c for lv, c in levels.items() if lv >= k) for k in range(1, len(names) + 1)
    ]


# -- hand-made cases ---------------------------------------------------------------------------


def entry(event: str, minutes: float, device: int = 0, user: int | None = None,
          **properties: Any) -> dict[str, Any]:  # fmt: skip
    return {"event": event, "device": device, "user": user, "minutes": minutes,
            "properties": properties}  # fmt: skip


def funnel(runtime: Runtime, events: list[dict[str, Any]], timezone: str = "Asia/Shanghai",
           **spec: Any) -> FunnelResult:  # fmt: skip
    project = new_project(runtime, timezone)
    ingest(runtime, project.id, events)
    parsed = FunnelSpec.model_validate({"date_range": RANGE, **spec})
    result = run_funnel(runtime.store, project, parsed)
    check(runtime, project, events, parsed, result)  # and the reference agrees
    return result


def counts(result: FunnelResult) -> list[int]:
    return [s.count for s in result.total.steps]


VIEW_PAY = [{"event": "view"}, {"event": "pay"}]


def test_a_step_exactly_one_window_later_counts(runtime: Runtime) -> None:
    events = [
        entry("view", 2000, device=0),
        entry("pay", 2001, device=0),
        entry("view", 2000, device=1),
        entry("pay", 2001 + 1 / 60_000, device=1),
    ]  # +1 ms
    for mode in ("ordered", "strict", "unordered"):
        result = funnel(runtime, events, steps=VIEW_PAY, window={"value": 1, "unit": "minute"},
                        mode=mode)  # fmt: skip
        assert counts(result) == [2, 1], mode
        assert result.total.time_to_convert.median == 60.0


def test_ties_count_in_step_order_and_one_event_can_be_two_steps(runtime: Runtime) -> None:
    # pay is logged before view, at the same millisecond: equal times count in step order
    # (windowFunnel's rule, and strict mode's, where other events come first).
    events = [entry("pay", 2000, device=0), entry("view", 2000, device=0),
              entry("view", 2000, device=1), entry("pay", 2001, device=1),
              entry("other", 2001, device=1)]  # fmt: skip
    window = {"value": 1, "unit": "hour"}
    assert counts(funnel(runtime, events, steps=VIEW_PAY, window=window)) == [2, 2]
    assert counts(funnel(runtime, events, steps=VIEW_PAY, window=window, mode="strict")) == [2, 1]
    assert counts(funnel(runtime, events, steps=VIEW_PAY, window=window,
                         mode="unordered")) == [2, 2]  # fmt: skip
    # One view is both steps of view -> view for windowFunnel (and each step of an unordered
    # funnel), but a strict sequence needs two events.
    twice = [{"event": "view"}, {"event": "view"}]
    assert counts(funnel(runtime, events, steps=twice, window=window)) == [2, 2]
    assert counts(funnel(runtime, events, steps=twice, window=window, mode="strict")) == [2, 0]


def test_time_to_convert_runs_from_the_latest_entry(runtime: Runtime) -> None:
    events = [entry("view", 2000), entry("view", 2010), entry("pay", 2012)]
    never = {"event": "other", "from_step": 0, "to_step": 1}  # (takes ordered off windowFunnel)
    for mode, exclusions in [("ordered", []), ("ordered", [never]), ("strict", []),
                             ("unordered", [])]:  # fmt: skip
        result = funnel(runtime, events, steps=VIEW_PAY, window={"value": 15, "unit": "minute"},
                        mode=mode, exclusions=exclusions)  # fmt: skip
        assert counts(result) == [1, 1]
        assert result.total.time_to_convert.median == 120.0, (mode, exclusions)


def test_equal_times_take_steps_in_order_even_when_one_event_is_two_steps(
        runtime: Runtime) -> None:  # fmt: skip
    # At 2001 one view is steps 0 and 2 and sorts after the cart (step 1): windowFunnel still
    # takes view (step 0), cart, view (step 2), all at 2001: converted in no time.
    events = [entry("view", 2000), entry("cart", 2001), entry("view", 2001)]
    steps = [{"event": "view"}, {"event": "cart"}, {"event": "view"}]
    never = {"event": "other", "from_step": 0, "to_step": 1}  # (takes ordered off windowFunnel)
    for mode, exclusions in [("ordered", []), ("ordered", [never]), ("unordered", [])]:
        result = funnel(runtime, events, steps=steps, window={"value": 1, "unit": "hour"},
                        mode=mode, exclusions=exclusions)  # fmt: skip
        assert counts(result) == [1, 1, 1]
        assert result.total.time_to_convert.median == 0.0, (mode, exclusions)


def test_strict_means_nothing_in_between(runtime: Runtime) -> None:
    three = [{"event": "view"}, {"event": "cart"}, {"event": "pay"}]
    events = [entry("view", 2000, device=0), entry("other", 2001, device=0),
              entry("cart", 2002, device=0), entry("pay", 2003, device=0),
              # windowFunnel's strict_order would stop at "other": this person converts here.
              entry("view", 2000, device=1), entry("other", 2001, device=1),
              entry("view", 2002, device=1), entry("cart", 2003, device=1),
              entry("pay", 2004, device=1),
              # an identify is not a tracked event: it does not break the sequence
              entry("view", 2000, device=2), entry("cart", 2001, device=2),
              {**entry("identify", 2002, device=2), "traits": {"plan": "pro"}},
              entry("pay", 2003, device=2)]  # fmt: skip
    result = funnel(runtime, events, steps=three, window={"value": 1, "unit": "day"},
                    mode="strict")  # fmt: skip
    assert counts(result) == [3, 2, 2]


def test_unordered_takes_steps_in_any_order(runtime: Runtime) -> None:
    events = [entry("pay", 2000, device=0), entry("view", 2001, device=0),
              entry("pay", 2000, device=1), entry("view", 2003, device=1)]  # fmt: skip
    result = funnel(runtime, events, steps=VIEW_PAY, window={"value": 2, "unit": "minute"},
                    mode="unordered")  # fmt: skip
    assert counts(result) == [2, 1]
    assert result.total.time_to_convert.median == 60.0


def test_exclusions_stop_an_attempt_at_its_from_step(runtime: Runtime) -> None:
    three = [{"event": "view"}, {"event": "cart"}, {"event": "pay"}]
    events = [
        entry("view", 2000, device=0), entry("other", 2001, device=0),
        entry("cart", 2002, device=0), entry("pay", 2003, device=0),  # excluded: stops at view
        entry("view", 2000, device=1), entry("cart", 2001, device=1),
        entry("pay", 2002, device=1), entry("other", 2003, device=1),  # after: converts
        entry("view", 2000, device=2), entry("other", 2001, device=2),
        entry("view", 2002, device=2), entry("cart", 2003, device=2),
        entry("pay", 2004, device=2),  # a second, clean attempt converts
        entry("view", 2000, device=3), entry("other", 2000, device=3),
        entry("cart", 2001, device=3), entry("pay", 2002, device=3),  # same time: not between
        entry("view", 2000, device=4), entry("cart", 2001, device=4),
        entry("other", 2002, device=4),  # never paid, but "other" came within the window
        entry("view", 2000, device=5), entry("cart", 2001, device=5),
        entry("other", 2002, device=5), entry("pay", 2003, device=5),  # between cart and pay
    ]  # fmt: skip
    exclusion = {"event": "other", "from_step": 0, "to_step": 2}
    result = funnel(runtime, events, steps=three, window={"value": 1, "unit": "hour"},
                    exclusions=[exclusion])  # fmt: skip
    assert counts(result) == [6, 3, 3]
    # Unordered, the first person also has an attempt from cart on: cart, pay, no "other".
    result = funnel(runtime, events, steps=three, window={"value": 1, "unit": "hour"},
                    mode="unordered", exclusions=[exclusion])  # fmt: skip
    assert counts(result) == [6, 4, 3]
    result = funnel(
        runtime,
        events,
        steps=three,
        window={"value": 1, "unit": "hour"},
        exclusions=[{**exclusion, "from_step": 1}],
    )
    assert counts(result) == [6, 6, 4]  # between cart and pay: only the last person's
    # Never reached the last step: an exclusion up to the window's end (inclusive) counts.
    events = [
        entry("view", 2000, device=0),
        entry("cart", 2001, device=0),
        entry("other", 2002, device=0),
        entry("view", 2000, device=1),
        entry("cart", 2001, device=1),
        entry("other", 2002 + 1 / 60_000, device=1),
    ]
    result = funnel(
        runtime, events, steps=three, window={"value": 2, "unit": "minute"}, exclusions=[exclusion]
    )
    assert counts(result) == [2, 1, 0]


def test_anonymous_events_before_identify_count(runtime: Runtime) -> None:
    # device 0 views anonymously, later logs in as user 1; user 1 pays from device 1.
    events = [entry("view", 2000, device=0), entry("other", 2001, device=0, user=1),
              entry("pay", 2002, device=1, user=1)]  # fmt: skip
    result = funnel(runtime, events, steps=VIEW_PAY, window={"value": 1, "unit": "hour"},
                    persons={"step": 1})  # fmt: skip
    assert counts(result) == [1, 1] and result.persons_total == 1


@pytest.mark.parametrize(("timezone", "first", "last"), [
    ("Asia/Shanghai", 240, 4560), ("America/New_York", 960, 5340)])  # fmt: skip
def test_persons_enter_in_the_local_range_and_finish_within_the_window(
        runtime: Runtime, timezone: str, first: int, last: int) -> None:  # fmt: skip
    # first and last: the range's local midnights, in minutes after BASE.
    events = [entry("view", first - 1 / 60_000, device=0), entry("pay", first + 1, device=0),
              entry("view", first, device=1), entry("pay", first + 1, device=1),
              entry("view", last - 1 / 60_000, device=2), entry("pay", last + 59, device=2),
              entry("view", last, device=2),  # too late to enter: no shorter time to convert
              entry("view", last, device=3), entry("pay", last + 1, device=3)]  # fmt: skip
    # (Unordered, the first person enters with the pay.)
    for mode, entered in [("ordered", 2), ("unordered", 3)]:
        result = funnel(runtime, events, timezone, steps=VIEW_PAY, mode=mode,
                        window={"value": 1, "unit": "hour"}, persons={"step": 0})  # fmt: skip
        assert counts(result) == [entered, 2] and result.persons_total == entered, mode
        assert result.total.time_to_convert.mean == pytest.approx((60 + 59 * 60 + 0.001) / 2,
                                                                  abs=1e-6)  # fmt: skip


def test_breakdown_person_filters_and_pages_of_persons(runtime: Runtime) -> None:
    events = [entry("view", 2000, device=d, channel=c) for d, c in
              enumerate(["ads", "ads", "mail", "ads", "seo"])]  # fmt: skip
    events += [
        entry("view", 2001, device=0, channel="seo"),  # not the first view: ignored
        entry("pay", 2002, device=0),
        entry("pay", 2002, device=2),
        {**entry("identify", 1000, device=4), "traits": {"plan": "free"}},
    ]
    result = funnel(
        runtime,
        events,
        steps=VIEW_PAY,
        window={"value": 1, "unit": "hour"},
        breakdown={"key": "channel", "limit": 1},
        persons={"step": 1, "status": "dropped", "limit": 2, "offset": 1},
    )
    assert [(b.breakdown, [s.count for s in b.steps]) for b in result.breakdown] == [
        ("ads", [3, 1]), (OTHER, [2, 1])]  # fmt: skip
    assert result.persons_total == 3 and len(result.persons or []) == 2
    plan = PropertyFilter(type="person", key="plan", operator="is_not_set")
    result = funnel(
        runtime,
        events,
        steps=VIEW_PAY,
        window={"value": 1, "unit": "hour"},
        filters=[plan.model_dump()],
    )
    assert counts(result) == [4, 2]


def test_twenty_steps_and_twenty_exclusions(runtime: Runtime) -> None:
    # Twenty steps and twenty exclusions need more bits than fit beside the time in one UInt64:
    # the events travel as tuples then.
    names = ["view", "cart", "pay", "other"]
    events = [entry(names[n % 4], 2000 + n / 4, device=n % 3) for n in range(40)]
    steps = [{"event": names[n % 3]} for n in range(20)]
    exclusions = [{"event": "other", "from_step": n % 19, "to_step": 19} for n in range(20)]
    for mode in ("ordered", "strict", "unordered"):
        result = funnel(runtime, events, steps=steps, window={"value": 1, "unit": "hour"},
                        mode=mode)  # fmt: skip
        assert len(result.total.steps) == 20
        funnel(
            runtime,
            events,
            steps=steps,
            window={"value": 1, "unit": "hour"},
            mode=mode,
            exclusions=exclusions,
        )


def test_table_and_footer(runtime: Runtime) -> None:
    events = [entry("view", 2000), entry("pay", 2001)]
    result = funnel(runtime, events, steps=[{"event": "view", "label": "看"}, {"event": "pay"}],
                    window={"value": 1, "unit": "hour"})  # fmt: skip
    header, body = result.table()
    assert header[:4] == ["step", "label", "event", "count"]
    assert body == [[0, "看", "view", 1, 1.0, 1.0], [1, "pay", "pay", 1, 1.0, 1.0]]
    assert ["median seconds to convert", 60.0] in result.footer()
    assert list(result.to_pandas()["count"]) == [1, 1]


def test_hostile_names_are_data(runtime: Runtime) -> None:
    name = "x'); DROP TABLE events; --"
    events = [entry(name, 2000), entry("pay", 2001)]
    result = funnel(
        runtime,
        events,
        steps=[{"event": name}, {"event": "pay"}],
        window={"value": 1, "unit": "hour"},
        breakdown={"key": name},
    )
    assert counts(result) == [1, 1]


GOOD: dict[str, Any] = {"steps": VIEW_PAY, "date_range": {"last_days": 7}}


@pytest.mark.parametrize(("change", "where"), [
    ({"steps": [{"event": "view"}]}, "steps"),
    ({"steps": [{"event": "view"}] * 21}, "steps"),
    ({"window": {"value": 0, "unit": "day"}}, "window.value"),
    ({"window": {"value": 91, "unit": "day"}}, "window"),
    ({"window": {"value": 90 * 24 + 1, "unit": "hour"}}, "window"),
    ({"window": {"value": 1, "unit": "week"}}, "window.unit"),
    ({"exclusions": [{"event": "x", "from_step": 1, "to_step": 1}]}, "exclusions.0"),
    ({"exclusions": [{"event": "x", "from_step": 0, "to_step": 2}]}, "exclusions.0.to_step"),
    ({"persons": {"step": 2}}, "persons.step"),
    ({"persons": {"step": 0, "status": "dropped"}}, "persons.step 0"),
    ({"persons": {"step": 1, "limit": 1001}}, "persons.limit"),
    ({"persons": {"step": 1, "offset": -1}}, "persons.offset"),
    ({"mode": "sideways"}, "mode"),
])  # fmt: skip
def test_bad_specs_are_refused_naming_the_field(change: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as error:
        FunnelSpec.model_validate({**GOOD, **change})
    first = error.value.errors()[0]
    assert where in ".".join(str(part) for part in first["loc"]) + " " + first["msg"]


def test_window_limits_are_inclusive() -> None:
    assert FunnelSpec.model_validate({**GOOD, "window": {"value": 1, "unit": "second"}})
    assert FunnelSpec.model_validate({**GOOD, "window": {"value": 90, "unit": "day"}})
    assert FunnelSpec.model_validate({**GOOD, "steps": [{"event": "view"}] * 20})
