"""Retention against a brute-force reference: random event logs with identity merges, traits,
filters and breakdowns, both start modes and both return modes, by day, week and month, in
Shanghai (UTC+8 day edges) and New York (daylight saving ends 2026-11-01), with a fixed today so
that cells not started yet (None) are checked too."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analysis_reference import (
    BASE,
    EVENTS,
    TIMEZONES,
    event_strategy,
    filter_strategy,
    identify_strategy,
    ingest,
    matches,
    moment_of,
    new_project,
    person_filter_strategy,
    person_traits,
    persons_of,
    text,
    tracked,
)
from userops.analysis.retention import (
    RetentionCohort,
    RetentionEvent,
    RetentionResult,
    RetentionSpec,
    run_retention,
)
from userops.analysis.spec import NONE, OTHER, Breakdown, DateRange, PropertyFilter
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict

Matrix = list[tuple[str, int, list[int | None]]]  # (cohort's first day, size, retained)


# -- the reference: plain Python over each person's events ------------------------------------


def period_of(moment: dt.datetime, period: str, zone: ZoneInfo) -> dt.date:
    day = moment.astimezone(zone).date()
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def shift(start: dt.date, k: int, period: str) -> dt.date:
    """The first day of the period ``k`` periods after the one starting on ``start``."""
    if period == "day":
        return start + dt.timedelta(days=k)
    if period == "week":
        return start + dt.timedelta(weeks=k)
    months = start.year * 12 + start.month - 1 + k
    return dt.date(months // 12, months % 12 + 1, 1)


def cohort_days(first: dt.date, last: dt.date, period: str) -> list[dt.date]:
    """The range's days on which a period starts."""
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [d for d in days if (period == "day" or (period == "week" and d.weekday() == 0)
                                or (period == "month" and d.day == 1))]  # fmt: skip


def reference(events: list[dict[str, Any]], spec: RetentionSpec, timezone: str,
              today: dt.date) -> tuple[Matrix, dict[str, Matrix]]:  # fmt: skip
    """Every person's cohorts and returns from their events, then the matrix: overall and, with
    a breakdown, per value (ordered by persons, then value; ``$other`` last)."""
    zone = ZoneInfo(timezone)
    horizon = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
    persons, traits = persons_of(events), person_traits(events)
    breakdown = spec.breakdown
    starts: dict[str, list[tuple[dt.datetime, str, dt.date, str]]] = defaultdict(list)
    returns: dict[str, set[dt.date]] = defaultdict(set)
    for n, entry in tracked(events):
        moment = moment_of(entry)
        if moment >= horizon:  # the report is as of today
            continue
        person = persons[f"device-{entry['device']}"]
        mine = traits.get(person, {})

        def fits(wanted: RetentionEvent, entry: dict[str, Any] = entry,
                 mine: dict[str, Any] = mine) -> bool:  # fmt: skip
            return (wanted.event is None or entry["event"] == wanted.event) and all(
                matches(f, mine if f.type == "person" else entry["properties"])
                for f in [*spec.filters, *wanted.filters])  # fmt: skip

        period = period_of(moment, spec.period, zone)
        if fits(spec.start):
            value = ""
            if breakdown is not None:
                props = mine if breakdown.type == "person" else entry["properties"]
                value = text(props, breakdown.key) or NONE
            starts[person].append((moment, f"m{n}", period, value))
        if fits(spec.return_event):
            returns[person].add(period)
    first, last = spec.date_range.dates(today)
    cohorts = cohort_days(first, last, spec.period)
    members: list[tuple[str, dt.date, str]] = []  # (person, cohort, value)
    for person, theirs in starts.items():
        if spec.start_mode == "first_time":
            chosen = [min(theirs)]
        else:  # each period's first start event
            chosen = [min(s for s in theirs if s[2] == p) for p in {s[2] for s in theirs}]
        members += [(person, s[2], s[3]) for s in chosen if s[2] in cohorts]
    overall = matrix([(p, c) for p, c, _ in members], cohorts, returns, spec, today)
    if breakdown is None:
        return overall, {}
    who: dict[str, set[str]] = defaultdict(set)
    for person, _, value in members:
        who[value].add(person)
    ranked = sorted(who, key=lambda v: (-len(who[v]), v))
    top = ranked[: breakdown.limit]
    split: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)
    for person, cohort, value in members:
        split[value if value in top else OTHER].append((person, cohort))
    order = [*top, *([OTHER] if len(ranked) > len(top) else [])]
    return overall, {v: matrix(split[v], cohorts, returns, spec, today) for v in order}


def matrix(members: list[tuple[str, dt.date]], cohorts: list[dt.date],
           returns: dict[str, set[dt.date]], spec: RetentionSpec,
           today: dt.date) -> Matrix:  # fmt: skip
    out: Matrix = []
    for cohort in cohorts:
        who = [p for p, c in members if c == cohort]
        cells: list[int | None] = []
        for k in range(spec.periods + 1):
            target = shift(cohort, k, spec.period)
            if target > today:
                cells.append(None)
            elif k == 0:
                cells.append(len(who))
            elif spec.mode == "bounded":
                cells.append(sum(target in returns[p] for p in who))
            else:
                cells.append(sum(any(r >= target for r in returns[p]) for p in who))
        out.append((str(cohort), len(who), cells))
    return out


def average(rows: Matrix, periods: int) -> list[float | None]:
    out: list[float | None] = []
    for k in range(periods + 1):
        shown = [(cells[k], size) for _, size, cells in rows if cells[k] is not None]
        people = sum(size for _, size in shown)
        out.append(sum(n or 0 for n, _ in shown) / people if people else None)
    return out


def flat(cohorts: list[RetentionCohort]) -> Matrix:
    return [(c.period, c.size, c.retained) for c in cohorts]


def check(result: RetentionResult, events: list[dict[str, Any]], spec: RetentionSpec,
          timezone: str, today: dt.date) -> None:  # fmt: skip
    overall, split = reference(events, spec, timezone, today)
    assert flat(result.cohorts) == overall, spec
    assert result.average == pytest.approx(average(overall, spec.periods))
    assert [b.value for b in result.breakdown] == list(split), spec
    for got in result.breakdown:
        assert flat(got.cohorts) == split[got.value], (got.value, spec)
        assert got.average == pytest.approx(average(split[got.value], spec.periods))


# -- random logs ------------------------------------------------------------------------------

# Per period: how far the log spreads from BASE (minutes) so that later periods have events.
SPAN = {"day": 6 * 24 * 60, "week": 30 * 24 * 60, "month": 70 * 24 * 60}


def local_midnights(timezone: str, span: int) -> list[int]:
    """Minutes after BASE of every local midnight in the span (and the minute before it)."""
    zone, out = ZoneInfo(timezone), []
    day = BASE.astimezone(zone).date()
    while (midnight := dt.datetime.combine(day, dt.time(), zone)) <= BASE + dt.timedelta(
            minutes=span):  # fmt: skip
        minutes = int((midnight - BASE).total_seconds() // 60)
        out += [m for m in (minutes - 1, minutes) if 0 <= m <= span]
        day += dt.timedelta(days=1)
    return out


def event_log(timezone: str, period: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Events spread over the period's span (a day and a minute drawn apart, as hypothesis
    favours small integers), some exactly at a local midnight, from three devices so that
    persons come back often."""
    days = SPAN[period] // (24 * 60)
    minutes = st.one_of(st.builds(lambda d, m: d * 24 * 60 + m, st.integers(0, days - 1),
                                  st.integers(0, 24 * 60 - 1)),
                        st.sampled_from(local_midnights(timezone, SPAN[period])))  # fmt: skip
    entry = st.one_of(event_strategy, event_strategy, event_strategy, identify_strategy)
    return st.lists(st.tuples(entry, minutes).map(
        lambda t: {**t[0], "minutes": t[1], "device": t[0]["device"] % 3}),
        min_size=10, max_size=40)  # fmt: skip


# Filters on a third of the sides, so that most examples keep enough events to return.
some_filters = st.one_of(st.just([]), st.just([]), st.lists(filter_strategy, min_size=1,
                                                            max_size=1))  # fmt: skip
side = st.builds(RetentionEvent, event=st.one_of(st.none(), st.sampled_from(EVENTS)),
                 filters=some_filters)  # fmt: skip
breakdowns = st.one_of(
    st.none(),
    st.builds(Breakdown, key=st.sampled_from(["a", "b"]), limit=st.integers(1, 3)),
    st.builds(Breakdown, type=st.just("person"), key=st.sampled_from(["plan", "age"]),
              limit=st.integers(1, 2)),
)  # fmt: skip


# Cohort ranges start on a period's first day or a day either side of it (which leaves that
# period out), and today falls anywhere from before the range's end to well after it.
ANCHORS = {
    "day": [dt.date(2026, 10, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 1)],
    "week": [dt.date(2026, 10, 26), dt.date(2026, 11, 2), dt.date(2026, 11, 9)],
    "month": [dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)],
}
STEP = {"day": 1, "week": 7, "month": 31}


@st.composite
def scenario(draw: st.DrawFn, timezone: str) -> tuple[list[dict[str, Any]], RetentionSpec,
                                                      dt.date]:  # fmt: skip
    period = draw(st.sampled_from(["day", "week", "month"]))
    events = draw(event_log(timezone, period))
    step = STEP[period]
    first = draw(st.sampled_from(ANCHORS[period])) + dt.timedelta(
        days=draw(st.sampled_from([0, 0, 0, 1, -1])))  # fmt: skip
    # sampled_from draws uniformly, where integers() favours the small ones
    last = first + dt.timedelta(days=draw(st.sampled_from([0, 1, step, 2 * step, 3 * step])))
    today = last + dt.timedelta(days=draw(st.sampled_from([-1, 0, 1, step, 2 * step, 5 * step])))
    shared = draw(st.one_of(st.just([]), st.just([]), st.lists(
        st.one_of(filter_strategy, person_filter_strategy), min_size=1, max_size=1)))  # fmt: skip
    start = draw(side)  # the same event as start and return half the time: read once
    spec = RetentionSpec(
        start=start, return_event=draw(st.one_of(side, st.just(start))), period=period,
        filters=shared,
        periods=draw(st.sampled_from([1, 2, 3, 4])), date_range=DateRange(start=first, end=last),
        breakdown=draw(breakdowns),
    )  # fmt: skip
    return events, spec, today


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_retention_equals_brute_force(runtime: Runtime, timezone: str, data: st.DataObject) -> None:
    events, spec, today = data.draw(scenario(timezone))
    project = new_project(runtime, timezone)
    ingest(runtime, project.id, events)
    for start_mode, mode in itertools.product(["first_time", "any_time"], ["bounded", "unbounded"]):
        asked = spec.model_copy(update={"start_mode": start_mode, "mode": mode})
        check(run_retention(runtime.store, project, asked, today), events, asked, timezone, today)


def dense_log(seed: int, period: str) -> list[dict[str, Any]]:
    """A larger random log than hypothesis draws (persons come back many times), of the same
    shape: tracked events, and identifies that link ids and carry traits."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for _ in range(160):
        entry: dict[str, Any] = {
            "event": rng.choice(EVENTS), "device": rng.randrange(8),
            "user": rng.choice([None, None, None, 0, 1, 2]),
            "minutes": rng.randrange(SPAN[period]),
            "properties": {k: rng.choice(["x", "y", "z", 7, True]) for k in ("a", "b")
                           if rng.random() < 0.6},
        }  # fmt: skip
        if rng.random() < 0.1:
            entry |= {"event": "identify", "properties": {},
                      "traits": {"plan": rng.choice(["free", "pro"])}}  # fmt: skip
        out.append(entry)
    return out


DENSE_SPECS = [
    {},
    {"breakdown": Breakdown(key="a", limit=2)},
    {"breakdown": Breakdown(key="plan", type="person")},
    {"start": RetentionEvent(event="pay"), "return_event": RetentionEvent(event="view")},
    {"start": RetentionEvent(filters=[PropertyFilter(key="b", operator="is_set")]),
     "filters": [PropertyFilter(key="plan", type="person", operator="neq", value="pro")],
     "breakdown": Breakdown(key="b", limit=1)},
]  # fmt: skip


@pytest.mark.parametrize("timezone", TIMEZONES)
@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_retention_equals_brute_force_on_a_dense_log(runtime: Runtime, timezone: str,
                                                      period: str) -> None:  # fmt: skip
    events = dense_log(len(timezone) + len(period), period)
    project = new_project(runtime, timezone)
    ingest(runtime, project.id, events)
    first = ANCHORS[period][0]
    today = first + dt.timedelta(days=4 * STEP[period])
    cells = 0
    for extra, start_mode, mode in itertools.product(
            DENSE_SPECS, ["first_time", "any_time"], ["bounded", "unbounded"]):  # fmt: skip
        spec = RetentionSpec.model_validate({
            "period": period, "periods": 3, "start_mode": start_mode, "mode": mode,
            "date_range": DateRange(start=first, end=today), **extra})  # fmt: skip
        result = run_retention(runtime.store, project, spec, today)
        check(result, events, spec, timezone, today)
        cells += sum(n or 0 for c in result.cohorts for n in c.retained[1:])
    assert cells > 0  # the log has returns to count, so the comparison means something


# -- hand-made edge cases ---------------------------------------------------------------------


def load(runtime: Runtime, timezone: str, messages: list[dict[str, Any]]) -> Project:
    """A new project with these messages (track by default; message ids e0, e1, ...)."""
    project = new_project(runtime, timezone)
    parsed = [message_from_dict({"type": "track", "messageId": f"e{n}", **m})
              for n, m in enumerate(messages)]  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(parsed, project.id, BASE + dt.timedelta(days=400))
    )
    return project


def track(who: str, at: str, event: str = "view", **properties: Any) -> dict[str, Any]:
    return {"event": event, "anonymousId": who, "timestamp": at, "properties": properties}


def days(first: str, last: str, **fields: Any) -> RetentionSpec:
    return RetentionSpec.model_validate({
        "date_range": {"start": first, "end": last}, **fields})  # fmt: skip


def test_a_return_at_local_midnight_is_the_next_day(runtime: Runtime) -> None:
    # Shanghai is UTC+8: 15:59:59.999Z is 23:59:59.999 local, 16:00:00.000Z the next midnight.
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-10-31T15:59:59.999Z"), track("a", "2026-10-31T16:00:00.000Z"),
        track("b", "2026-10-30T16:00:00.000Z"), track("b", "2026-10-31T15:59:59.999Z"),
        track("c", "2026-10-31T16:00:00.000Z"), track("c", "2026-11-01T16:00:00.000Z"),
    ])  # fmt: skip
    result = run_retention(runtime.store, project, days("2026-10-31", "2026-11-01", periods=1),
                           dt.date(2026, 11, 2))  # fmt: skip
    # a: back the next local day; b: both events on 10-31, no return; c: starts on 11-01.
    assert flat(result.cohorts) == [("2026-10-31", 2, [2, 1]), ("2026-11-01", 1, [1, 1])]
    assert result.average == [1.0, pytest.approx(2 / 3)]


def test_a_return_at_the_same_moment_as_the_start_is_no_return(runtime: Runtime) -> None:
    at = "2026-10-31T02:00:00Z"
    project = load(runtime, "Asia/Shanghai", [
        track("a", at, "view"), track("a", at, "pay"),  # start and return together
        track("b", at, "view"), track("b", "2026-11-01T02:00:00Z", "pay"),
    ])  # fmt: skip
    spec = days("2026-10-31", "2026-10-31", periods=2, start={"event": "view"},
                return_event={"event": "pay"})  # fmt: skip
    result = run_retention(runtime.store, project, spec, dt.date(2026, 11, 5))
    assert flat(result.cohorts) == [("2026-10-31", 2, [2, 1, 0])]
    # One event that is both a start and a return (any event) starts a cohort and no more.
    alone = load(runtime, "Asia/Shanghai", [track("c", at)])
    got = run_retention(runtime.store, alone, days("2026-10-31", "2026-10-31", periods=1),
                        dt.date(2026, 11, 5))  # fmt: skip
    assert flat(got.cohorts) == [("2026-10-31", 1, [1, 0])]


def test_simultaneous_first_events_break_the_tie_by_message_id(runtime: Runtime) -> None:
    at = "2026-10-31T02:00:00Z"
    project = load(runtime, "Asia/Shanghai", [
        {**track("a", at, plan="y"), "messageId": "m2"},
        {**track("a", at, plan="x"), "messageId": "m10"},  # "m10" < "m2": this one is first
        {**track("a", at, plan="w"), "messageId": "m3"},
        track("a", "2026-11-01T02:00:00Z", plan="z"),
    ])  # fmt: skip
    for start_mode in ("first_time", "any_time"):
        spec = days("2026-10-31", "2026-10-31", periods=1, start_mode=start_mode,
                    breakdown={"key": "plan"})  # fmt: skip
        result = run_retention(runtime.store, project, spec, dt.date(2026, 11, 5))
        assert [(b.value, flat(b.cohorts)) for b in result.breakdown] == [
            ("x", [("2026-10-31", 1, [1, 1])])]  # fmt: skip


def test_events_before_identify_belong_to_the_person(runtime: Runtime) -> None:
    project = load(runtime, "Asia/Shanghai", [
        track("phone", "2026-10-31T02:00:00Z"),  # anonymous, day 0
        {"event": "view", "userId": "u1", "timestamp": "2026-11-01T02:00:00Z"},  # day 1
        {"type": "identify", "anonymousId": "phone", "userId": "u1",
         "timestamp": "2026-11-03T02:00:00Z", "traits": {"plan": "pro"}},  # links them later
    ])  # fmt: skip
    spec = days("2026-10-31", "2026-11-01", periods=1, start_mode="first_time",
                filters=[{"key": "plan", "type": "person", "value": "pro"}])  # fmt: skip
    result = run_retention(runtime.store, project, spec, dt.date(2026, 11, 5))
    # One person whose first event is the anonymous one, back on day 1 as u1; the identify
    # itself is no tracked event, so it is not a return on day 3.
    assert flat(result.cohorts) == [("2026-10-31", 1, [1, 1]), ("2026-11-01", 0, [0, 0])]


def test_weeks_and_days_follow_new_york_through_the_end_of_daylight_saving(
        runtime: Runtime) -> None:  # fmt: skip
    # 2026-11-01 is a 25-hour Sunday in New York: 04:00Z (EDT midnight) to 05:00Z the 2nd.
    project = load(runtime, "America/New_York", [
        track("a", "2026-10-27T15:00:00Z"), track("a", "2026-11-02T04:30:00Z"),  # Sunday 23:30
        track("b", "2026-10-27T15:00:00Z"), track("b", "2026-11-02T05:00:00Z"),  # Monday 00:00
        track("c", "2026-11-01T04:00:00Z"), track("c", "2026-11-02T04:59:59.999Z"),  # both 11-01
        track("d", "2026-11-01T04:00:00Z"), track("d", "2026-11-02T05:00:00Z"),  # 11-01, 11-02
    ])  # fmt: skip
    weekly = days("2026-10-26", "2026-11-01", period="week", periods=1)
    weeks = run_retention(runtime.store, project, weekly, dt.date(2026, 11, 9))
    assert flat(weeks.cohorts) == [("2026-10-26", 4, [4, 2])]  # b and d are back on Monday
    daily = days("2026-11-01", "2026-11-01", periods=1)
    first = run_retention(runtime.store, project, daily, dt.date(2026, 11, 9))
    assert flat(first.cohorts) == [("2026-11-01", 2, [2, 1])]  # c and d are new; d is back
    anytime = run_retention(runtime.store, project, daily.model_copy(
        update={"start_mode": "any_time"}), dt.date(2026, 11, 9))  # fmt: skip
    assert flat(anytime.cohorts) == [("2026-11-01", 3, [3, 1])]  # a at 23:30 on the 1st too


def test_cohorts_are_periods_starting_in_the_range_taken_whole(runtime: Runtime) -> None:
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-11-05T02:00:00Z"),  # Thursday of the week of 11-02: not in range
        track("b", "2026-11-12T02:00:00Z"),  # Thursday of the week of 11-09, after the range
        track("b", "2026-11-16T02:00:00Z"),
    ])  # fmt: skip
    spec = days("2026-11-04", "2026-11-10", period="week", periods=2)  # Wednesday to Tuesday
    result = run_retention(runtime.store, project, spec, dt.date(2026, 11, 20))
    assert flat(result.cohorts) == [("2026-11-09", 1, [1, 1, None])]
    months = days("2026-10-02", "2026-11-30", period="month", periods=1)
    got = run_retention(runtime.store, project, months, dt.date(2026, 12, 20))
    assert flat(got.cohorts) == [("2026-11-01", 2, [2, 0])]


def test_first_time_cohort_is_the_first_start_ever(runtime: Runtime) -> None:
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-10-20T02:00:00Z"),  # before the range: a is no one's cohort here
        track("a", "2026-11-01T02:00:00Z"), track("a", "2026-11-02T02:00:00Z"),
        track("b", "2026-11-01T02:00:00Z"), track("b", "2026-11-04T02:00:00Z"),
    ])  # fmt: skip
    first = days("2026-11-01", "2026-11-02", periods=3)
    result = run_retention(runtime.store, project, first, dt.date(2026, 11, 3))
    assert flat(result.cohorts) == [("2026-11-01", 1, [1, 0, 0, None]),  # b's day 3 is unseen
                                    ("2026-11-02", 0, [0, 0, None, None])]  # fmt: skip
    assert result.average == [1.0, 0.0, 0.0, None]
    anytime = run_retention(runtime.store, project, first.model_copy(
        update={"start_mode": "any_time"}), dt.date(2026, 11, 3))  # fmt: skip
    assert flat(anytime.cohorts) == [("2026-11-01", 2, [2, 1, 0, None]),
                                     ("2026-11-02", 1, [1, 0, None, None])]  # fmt: skip


def test_bounded_counts_period_k_unbounded_counts_k_or_later(runtime: Runtime) -> None:
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-11-01T02:00:00Z"), track("a", "2026-11-04T02:00:00Z"),
    ])  # fmt: skip
    today = dt.date(2026, 11, 10)
    bounded = run_retention(runtime.store, project, days("2026-11-01", "2026-11-01", periods=4),
                            today)  # fmt: skip
    assert bounded.cohorts[0].retained == [1, 0, 0, 1, 0]
    unbounded = run_retention(runtime.store, project, days(
        "2026-11-01", "2026-11-01", periods=4, mode="unbounded"), today)  # fmt: skip
    assert unbounded.cohorts[0].retained == [1, 1, 1, 1, 0]


def test_cohorts_after_today_have_no_cells(runtime: Runtime) -> None:
    project = load(runtime, "Asia/Shanghai", [track("a", "2026-11-01T02:00:00Z")])
    result = run_retention(runtime.store, project, days("2026-10-31", "2026-11-03", periods=1),
                           dt.date(2026, 11, 1))  # fmt: skip
    assert flat(result.cohorts) == [
        ("2026-10-31", 0, [0, 0]), ("2026-11-01", 1, [1, None]),
        ("2026-11-02", 0, [None, None]), ("2026-11-03", 0, [None, None])]  # fmt: skip
    assert result.average == [1.0, None]  # day 1 exists only for an empty cohort: no share


def test_events_after_today_are_not_seen(runtime: Runtime) -> None:
    # Today is Wednesday 11-04; Thursday's events are in this week but not seen yet.
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-10-27T02:00:00Z"), track("a", "2026-11-05T02:00:00Z"),
        track("b", "2026-11-05T02:00:00Z"),
    ])  # fmt: skip
    spec = days("2026-10-26", "2026-11-02", period="week", periods=1)
    for start_mode, mode in itertools.product(["first_time", "any_time"],
                                              ["bounded", "unbounded"]):  # fmt: skip
        asked = spec.model_copy(update={"start_mode": start_mode, "mode": mode})
        result = run_retention(runtime.store, project, asked, dt.date(2026, 11, 4))
        assert flat(result.cohorts) == [("2026-10-26", 1, [1, 0]), ("2026-11-02", 0, [0, None])]


def test_breakdown_ranks_values_by_distinct_persons(runtime: Runtime) -> None:
    # any_time: c is in three cohorts with "y", but y is one person; x is two.
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-10-31T02:00:00Z", src="x"), track("b", "2026-11-01T02:00:00Z", src="x"),
        *(track("c", f"2026-{d}T02:00:00Z", src="y") for d in ("10-31", "11-01", "11-02")),
        track("d", "2026-11-02T02:00:00Z"),
    ])  # fmt: skip
    spec = days("2026-10-31", "2026-11-02", periods=1, start_mode="any_time",
                breakdown={"key": "src", "limit": 1})  # fmt: skip
    result = run_retention(runtime.store, project, spec, dt.date(2026, 11, 5))
    assert [(b.value, [c.size for c in b.cohorts]) for b in result.breakdown] == [
        ("x", [1, 1, 0]), (OTHER, [1, 1, 2])]  # fmt: skip
    assert [c.size for c in result.cohorts] == [2, 2, 2]
    # The same by a person trait: c ("y") is in three cohorts, a and b ("x") in one each.
    traits = load(runtime, "Asia/Shanghai", [
        *(track(who, f"2026-{d}T02:00:00Z") for who, d in (("a", "10-31"), ("b", "11-01"),
                                                           ("c", "10-31"), ("c", "11-01"),
                                                           ("c", "11-02"))),
        *({"type": "identify", "anonymousId": who, "timestamp": "2026-11-02T03:00:00Z",
           "traits": {"plan": plan}} for who, plan in (("a", "x"), ("b", "x"), ("c", "y"))),
    ])  # fmt: skip
    by_trait = spec.model_copy(update={"breakdown": Breakdown(key="plan", type="person",
                                                              limit=1)})  # fmt: skip
    got = run_retention(runtime.store, traits, by_trait, dt.date(2026, 11, 5))
    assert [(b.value, [c.size for c in b.cohorts]) for b in got.breakdown] == [
        ("x", [1, 1, 0]), (OTHER, [1, 1, 1])]  # fmt: skip
    header, body = result.table()
    assert header == ["breakdown", "cohort", "size", "day 0", "day 1"]
    assert body[0] == ["x", "2026-10-31", 1, 1, 0]
    assert result.footer()[1] == [OTHER, "average", 4, 1.0, 0.5]


def test_hostile_names_are_data(runtime: Runtime) -> None:
    name = "x'); DROP TABLE events; --"
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-10-31T02:00:00Z", name, **{name: name}),
        track("a", "2026-11-01T02:00:00Z", name),
    ])  # fmt: skip
    spec = days("2026-10-31", "2026-10-31", periods=1, start={"event": name, "filters": [
        {"key": name, "value": name}]}, return_event={"event": name},
        breakdown={"key": name})  # fmt: skip
    result = run_retention(runtime.store, project, spec, dt.date(2026, 11, 5))
    assert flat(result.breakdown[0].cohorts) == [("2026-10-31", 1, [1, 1])]
    assert result.breakdown[0].value == name


def test_table_is_the_matrix(runtime: Runtime) -> None:
    project = load(runtime, "Asia/Shanghai", [
        track("a", "2026-10-31T02:00:00Z"), track("a", "2026-11-01T02:00:00Z")])  # fmt: skip
    result = run_retention(runtime.store, project, days("2026-10-31", "2026-11-01", periods=2),
                           dt.date(2026, 11, 1))  # fmt: skip
    assert result.table() == (
        ["cohort", "size", "day 0", "day 1", "day 2"],
        [["2026-10-31", 1, 1, 1, None], ["2026-11-01", 0, 0, None, None]],
    )
    assert result.footer() == [["average", 1, 1.0, 1.0, None]]
    assert RetentionResult.model_validate_json(result.model_dump_json()) == result


@pytest.mark.parametrize(("bad", "where"), [
    ({"periods": 0}, "periods"), ({"periods": 91}, "periods"), ({"periods": "7"}, "periods"),
    ({"periods": 2.5}, "periods"), ({"period": "hour"}, "period"), ({"period": "year"}, "period"),
    ({"start_mode": "sometimes"}, "start_mode"), ({"mode": "forever"}, "mode"),
    ({"start": {"event": ""}}, "start"), ({"return_event": {"name": "view"}}, "return_event"),
    ({"breakdown": {"key": "a", "limit": 0}}, "breakdown"),
    ({"filters": [{"key": "a", "operator": "gt", "value": "x"}]}, "filters"),
    ({"date_range": {"start": "2026-11-02", "end": "2026-11-01"}}, "date_range"),
    ({"cohort": "week"}, "cohort"),
])  # fmt: skip
def test_bad_specs_are_refused_naming_the_field(bad: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as error:
        RetentionSpec.model_validate({"date_range": {"last_days": 7}, **bad})
    assert error.value.errors()[0]["loc"][0] == where
