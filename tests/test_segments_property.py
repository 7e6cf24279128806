"""Segment membership against a brute-force reference written here in plain Python.

Random event logs (events at and one minute before local midnights, ties at one timestamp,
identifies carrying traits, anonymous ids linked to users across ingestion batches so that
``person_overrides`` rows decide persons) in Shanghai (UTC+8 day edges) and New York (the
November daylight-saving change falls in the log), and random definitions: and / or / not
trees over every kind of condition, windows of the last k days or between local dates around
the log's days, person filters inside behaviour conditions, funnels in every mode, references
to another segment given as a definition or as a list of ids, static lists with unknown ids.

The reference evaluates each definition per person (union-find over the ids the messages
carried together): the analyses' helpers for filters and traits, the funnel tests' reference
for funnel levels.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_reference import (
    BASE,
    FIRST,
    LAST,
    TIMEZONES,
    filter_strategy,
    log_entry,
    matches,
    midnights,
    moment_of,
    new_project,
    number,
    person_filter_strategy,
    person_traits,
    persons_of,
)
from test_funnel import events_by_person, level_and_time, person_ids
from userops.analysis.spec import DateRange, PropertyFilter
from userops.ingest.export import day_range
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict
from userops.segments import count, members, parse_definition
from userops.segments.spec import SegmentFunnel

UNKNOWN_PERSON = 987_654_321
LISTED_SEGMENT, DEFINED_SEGMENT = 2, 1

# -- loading ------------------------------------------------------------------------------


def ingest_batches(runtime: Runtime, project_id: int, events: list[dict[str, Any]],
                   cuts: list[int]) -> None:  # fmt: skip
    """Load the log in batches split at ``cuts`` (message ids ``m0``, ``m1``, ... in log
    order, as ``analysis_reference.ingest``): a link seen in a later batch merges persons
    that already have events, which ``person_overrides`` then resolves."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(events)}), len(events)]
    for low, high in itertools.pairwise(bounds):
        messages = []
        for n in range(low, high):
            spec = events[n]
            message: dict[str, Any] = {
                "type": "track", "event": spec["event"], "messageId": f"m{n}",
                "anonymousId": f"device-{spec['device']}",
                "timestamp": moment_of(spec).isoformat(), "properties": spec["properties"],
            }  # fmt: skip
            if "traits" in spec:
                message = {k: v for k, v in message.items() if k not in ("event", "properties")}
                message |= {"type": "identify", "traits": spec["traits"]}
            if spec["user"] is not None:
                message["userId"] = f"user-{spec['user']}"
            messages.append(message_from_dict(message))
        Ingestor(runtime.sessions, runtime.store, project_id).ingest(
            message_columns(messages, project_id, BASE + dt.timedelta(days=30))
        )


# Eight devices and three users: a handful of persons, merged now and then; about half the
# entries at or a minute before a local midnight (window edges), minutes repeated (ties).
logs = st.lists(
    st.tuples(log_entry, st.integers(0, 7), st.one_of(st.none(), st.sampled_from(midnights()))).map(
        lambda t: {**t[0], "device": t[1], "minutes": t[0]["minutes"] if t[2] is None else t[2]}
    ),
    min_size=5,
    max_size=40,
)

# -- the reference ------------------------------------------------------------------------


@dataclass
class World:
    """What the reference knows: the log, its persons, their traits and store ids."""

    events: list[dict[str, Any]]
    timezone: str
    today: dt.date
    ids: dict[str, int]  # person (union-find root) -> store person id
    resolver: Mapping[int, Any]  # segment id -> definition (dict) or person ids

    def __post_init__(self) -> None:
        self.roots = persons_of(self.events)
        self.traits = person_traits(self.events)
        self.by_person: dict[str, list[dict[str, Any]]] = {}
        for entry in self.events:
            person = self.roots[f"device-{entry['device']}"]
            self.by_person.setdefault(person, []).append(entry)
        self._levels: dict[str, dict[str, int]] = {}

    def span(self, window: Mapping[str, Any] | None) -> tuple[dt.datetime, dt.datetime] | None:
        if window is None:
            return None
        return day_range(self.timezone, *DateRange.model_validate(window).dates(self.today))

    def levels(self, funnel: Mapping[str, Any]) -> dict[str, int]:
        spec = SegmentFunnel.model_validate(funnel)
        key = spec.model_dump_json()
        if key not in self._levels:
            start, end = day_range(self.timezone, *spec.date_range.dates(self.today))
            start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
            streams = events_by_person(self.events, spec, start_ms, end_ms)
            self._levels[key] = {p: level_and_time(s, spec, end_ms)[0]
                                 for p, s in streams.items()}  # fmt: skip
        return self._levels[key]


def name_of(entry: dict[str, Any]) -> str:
    return "$identify" if "traits" in entry else str(entry["event"])


def props_of(entry: dict[str, Any]) -> dict[str, Any]:
    return {} if "traits" in entry else dict(entry["properties"])


def matching(world: World, person: str, node: Mapping[str, Any],
             window: Mapping[str, Any] | None) -> list[dict[str, Any]]:  # fmt: skip
    """The person's events of the node's event passing its filters, in the window; none
    when a filter on the person's properties fails."""
    filters = [PropertyFilter.model_validate(f) for f in node.get("filters", [])]
    traits = world.traits.get(person, {})
    if not all(matches(f, traits) for f in filters if f.type == "person"):
        return []
    span = world.span(window)
    return [e for e in world.by_person[person]
            if name_of(e) == node["event"]
            and (span is None or span[0] <= moment_of(e) < span[1])
            and all(matches(f, props_of(e)) for f in filters if f.type == "event")]  # fmt: skip


COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
}  # fmt: skip


def holds(world: World, person: str, node: Mapping[str, Any]) -> bool:
    """Whether the person matches the definition ``node`` (JSON data)."""
    if "and" in node:
        return all(holds(world, person, child) for child in node["and"])
    if "or" in node:
        return any(holds(world, person, child) for child in node["or"])
    if "not" in node:
        return not holds(world, person, node["not"])
    kind = node["kind"]
    if kind == "person":
        spec = {k: v for k, v in node.items() if k != "kind"}
        return matches(PropertyFilter.model_validate(spec), world.traits.get(person, {}))
    if kind == "performed":
        found = len(matching(world, person, node, node.get("window")))
        return COMPARE[node.get("operator", "gte")](found, node.get("count", 1))
    if kind == "not_performed":
        return not matching(world, person, node, node.get("window"))
    if kind == "first_performed":
        every = matching(world, person, node, None)
        span = world.span(node["window"])
        assert span is not None
        return bool(every) and span[0] <= min(moment_of(e) for e in every) < span[1]
    if kind == "aggregate":
        found = [number(props_of(e), node["property"])
                 for e in matching(world, person, node, node.get("window"))]  # fmt: skip
        numbers = [n for n in found if n is not None]
        math = node.get("math", "sum")
        value = {"sum": sum(numbers), "count": len(numbers)}.get(math)
        if value is None and numbers:
            value = {"avg": sum(numbers) / len(numbers), "min": min(numbers),
                     "max": max(numbers)}[math]  # fmt: skip
        return value is not None and COMPARE[node.get("operator", "gte")](value, node["value"])
    if kind == "funnel":
        level = world.levels(node["funnel"]).get(person, 0)
        step = node["step"]
        return level > step if node.get("status", "converted") == "converted" else level == step
    if kind == "persons":
        return world.ids[person] in node["ids"]
    assert kind == "segment"
    target = world.resolver[node["id"]]
    if isinstance(target, Mapping):
        return holds(world, person, target)
    return world.ids[person] in target


def expected(world: World, definition: Mapping[str, Any]) -> list[int]:
    return sorted(world.ids[p] for p in world.by_person if holds(world, p, definition))


# -- random definitions -------------------------------------------------------------------

NAMES = ("view", "pay")
DAYS = [FIRST + dt.timedelta(days=n) for n in range(-1, 4)]  # 2026-10-30 .. 2026-11-03


@st.composite
def windows(draw: st.DrawFn, optional: bool = True) -> dict[str, Any] | None:
    choice = draw(st.integers(0 if optional else 1, 2))
    if choice == 0:
        return None
    if choice == 1:
        return {"last_days": draw(st.integers(1, 4))}
    first = draw(st.sampled_from(DAYS))
    last = draw(st.sampled_from([d for d in DAYS if d >= first]))
    return {"start": str(first), "end": str(last)}


def dumped(f: PropertyFilter) -> dict[str, Any]:
    return f.model_dump(mode="json")


event_filters = st.lists(
    st.one_of(filter_strategy, filter_strategy, person_filter_strategy).map(dumped), max_size=2
)


@st.composite
def behaviour(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["performed", "performed", "not_performed", "first_performed",
                                 "aggregate", "aggregate", "aggregate"]))  # fmt: skip
    node: dict[str, Any] = {"kind": kind, "event": draw(st.sampled_from([*NAMES, "$identify"]))}
    if draw(st.booleans()):
        node["filters"] = draw(event_filters)
    window = draw(windows(optional=kind != "first_performed"))
    if window is not None:
        node["window"] = window
    if kind == "performed":
        node |= {"operator": draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "neq"])),
                 "count": draw(st.integers(0, 3))}  # fmt: skip
    if kind == "aggregate":
        node |= {"property": draw(st.sampled_from(["a", "b"])),
                 "math": draw(st.sampled_from(["sum", "count", "avg", "min", "max"])),
                 "operator": draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "neq"])),
                 "value": draw(st.sampled_from([-1, 0, 0.5, 1, 2, 2.5, 3]))}  # fmt: skip
    return node


@st.composite
def funnel_condition(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 3))
    steps = [{"event": draw(st.sampled_from(NAMES))} for _ in range(n)]
    if draw(st.integers(0, 3)) == 0:
        steps[draw(st.integers(0, n - 1))]["filters"] = [dumped(draw(filter_strategy))]
    date_range = draw(st.one_of(st.just({"start": str(FIRST), "end": str(LAST)}),
                                st.integers(1, 3).map(lambda k: {"last_days": k})))  # fmt: skip
    status = draw(st.sampled_from(["converted", "dropped"]))
    return {"kind": "funnel", "step": draw(st.integers(int(status == "dropped"), n - 1)),
            "status": status,
            "funnel": {"steps": steps, "date_range": date_range,
                       "mode": draw(st.sampled_from(["ordered", "strict", "unordered"])),
                       "window": draw(st.sampled_from([{"value": 30, "unit": "minute"},
                                                       {"value": 1, "unit": "day"}]))}}  # fmt: skip


def person_condition(f: PropertyFilter) -> dict[str, Any]:
    return {"kind": "person", **{k: v for k, v in dumped(f).items() if k != "type"}}


leaves = st.one_of(
    behaviour(), behaviour(), behaviour(),
    person_filter_strategy.map(person_condition),
    funnel_condition(),
    st.lists(st.integers(0, 7), max_size=4).map(lambda picks: {"kind": "persons", "pick": picks}),
    st.sampled_from([{"kind": "segment", "id": DEFINED_SEGMENT},
                     {"kind": "segment", "id": LISTED_SEGMENT}]),
)  # fmt: skip


def trees(leaf: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(leaf, lambda kids: st.one_of(
        st.lists(kids, min_size=1, max_size=3).map(lambda xs: {"and": xs}),
        st.lists(kids, min_size=1, max_size=3).map(lambda xs: {"or": xs}),
        kids.map(lambda x: {"not": x}),
    ), max_leaves=5)  # fmt: skip


# The referenced segment's definition: no references of its own, no static list.
referenced = trees(st.one_of(behaviour(), person_filter_strategy.map(person_condition)))


def with_ids(node: Any, known: list[int]) -> Any:
    """The definition with each static list's picks (indexes into the persons' ids, ascending;
    beyond them an unknown id) as person ids."""
    if isinstance(node, list):
        return [with_ids(child, known) for child in node]
    if not isinstance(node, dict):
        return node
    if node.get("kind") == "persons":
        return {
            "kind": "persons",
            "ids": [known[i] if i < len(known) else UNKNOWN_PERSON for i in node["pick"]],
        }
    return {key: with_ids(value, known) for key, value in node.items()}


# Moments "now" may be: the log's days, at and around local midnights in both zones.
nows = st.one_of(
    st.integers(0, 6 * 24 * 60).map(lambda m: BASE + dt.timedelta(minutes=m)),
    st.sampled_from([dt.datetime.combine(day, dt.time(), ZoneInfo(zone)) + dt.timedelta(
        minutes=delta) for day in DAYS for zone in TIMEZONES for delta in (-1, 0)]),
)  # fmt: skip


def check(runtime: Runtime, project: Project, events: list[dict[str, Any]],
          definitions: list[dict[str, Any]], listed: list[int], now: dt.datetime,
          segment: dict[str, Any]) -> None:  # fmt: skip
    """Each definition's members and count against the reference's (one log, many
    definitions: loading the log is what takes the time)."""
    ids = person_ids(runtime, project, events)
    known = sorted(ids.values())
    resolver_data: dict[int, Any] = {
        DEFINED_SEGMENT: segment,
        LISTED_SEGMENT: [known[i] if i < len(known) else UNKNOWN_PERSON for i in listed],
    }
    today = now.astimezone(ZoneInfo(project.timezone)).date()
    world = World(events, project.timezone, today, ids, resolver_data)
    for n, definition in enumerate(definitions):
        definition = with_ids(definition, known)
        want = expected(world, definition)
        parsed = parse_definition(definition)
        assert members(runtime.store, project, parsed, resolver_data.get, now) == want, definition
        if n == 0:  # the same query but its SELECT: once is enough
            assert count(runtime.store, project, parsed, resolver_data.get, now) == len(want)


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=logs, cuts=st.lists(st.integers(1, 39), max_size=2),
       definitions=st.lists(st.one_of(leaves, trees(leaves)), min_size=10, max_size=10),
       listed=st.lists(st.integers(0, 8), max_size=4), now=nows, segment=referenced)  # fmt: skip
def test_members_equal_brute_force(runtime: Runtime, timezone: str, events: list[dict[str, Any]],
                                   cuts: list[int], definitions: list[dict[str, Any]],
                                   listed: list[int], now: dt.datetime,
                                   segment: dict[str, Any]) -> None:  # fmt: skip
    project = new_project(runtime, timezone)
    ingest_batches(runtime, project.id, events, cuts)
    check(runtime, project, events, definitions, listed, now, segment)
