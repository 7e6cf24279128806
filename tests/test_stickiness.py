"""Stickiness against a brute-force reference: random logs with identify merges and traits,
event and person filters, days and weeks, in Shanghai (UTC+8 day edges) and New York (daylight
saving), plus hand-made cases at the range's edges, local midnight and partial weeks."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analysis_reference import (
    EVENTS,
    TIMEZONES,
    dense_log,
    ingest,
    local,
    local_bucket,
    local_window,
    matches,
    moment_of,
    new_project,
    person_traits,
    persons_of,
    send,
    some_filters,
    tracked,
)
from userops.analysis.spec import DateRange, PropertyFilter
from userops.analysis.stickiness import StickinessResult, StickinessSpec, run_stickiness
from userops.meta.models import Project
from userops.runtime import Runtime

TODAY = dt.date(2026, 11, 3)


def periods_in(first: dt.date, last: dt.date, interval: str) -> int:
    """How many days, or Monday-based weeks, the dates first..last touch."""
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    if interval == "day":
        return len(days)
    return len({day - dt.timedelta(days=day.weekday()) for day in days})


def reference(events: list[dict[str, Any]], spec: StickinessSpec, zone: ZoneInfo,
              first: dt.date, last: dt.date) -> tuple[list[int], int]:  # fmt: skip
    """Persons active on exactly n = 1, 2, ... periods of the range, and all active persons."""
    persons, traits = persons_of(events), person_traits(events)
    start, end = local_window(first, last, zone)
    active: dict[str, set[str]] = {}
    for _, entry in tracked(events):
        person = persons[f"device-{entry['device']}"]
        if spec.event is not None and entry["event"] != spec.event:
            continue
        if not all(matches(f, traits.get(person, {}) if f.type == "person"
                           else entry["properties"]) for f in spec.filters):  # fmt: skip
            continue
        if start <= moment_of(entry) < end:
            active.setdefault(person, set()).add(
                local_bucket(moment_of(entry), spec.interval, zone)
            )
    counts = Counter(len(periods) for periods in active.values())
    return [counts[n] for n in range(1, periods_in(first, last, spec.interval) + 1)], len(active)


def check(result: StickinessResult, want: tuple[list[int], int], interval: str) -> None:
    persons, total = want
    assert [r.persons for r in result.rows] == persons
    assert [r.n for r in result.rows] == list(range(1, len(persons) + 1))
    assert result.total == total
    for row in result.rows:
        assert row.share == pytest.approx(row.persons / total if total else 0.0)
        assert row.label == f"{row.n} {interval}{'' if row.n == 1 else 's'}"


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=dense_log,
    interval=st.sampled_from(["day", "week"]),
    event=st.one_of(st.none(), st.sampled_from(EVENTS)),
    filters=some_filters,
    start=st.sampled_from([dt.date(2026, 10, d) for d in (29, 30, 31)] + [dt.date(2026, 11, 1),
                                                                          dt.date(2026, 11, 2)]),
    days=st.integers(0, 4),
    compare=st.booleans(),
    split=st.integers(0, 40),
)  # fmt: skip
def test_stickiness_equals_brute_force(runtime: Runtime, timezone: str,
                                       events: list[dict[str, Any]], interval: str,
                                       event: str | None, filters: list[PropertyFilter],
                                       start: dt.date, days: int, compare: bool,
                                       split: int) -> None:  # fmt: skip
    project = new_project(runtime, timezone)
    # The first ``split`` messages, then the whole log (repeated ids are dropped as
    # duplicates): merges in the second batch reach earlier events only through overrides.
    ingest(runtime, project.id, events[:split])
    ingest(runtime, project.id, events)
    end = start + dt.timedelta(days=days)
    spec = StickinessSpec(event=event, filters=filters, interval=interval,  # type: ignore[arg-type]
                          date_range=DateRange(start=start, end=end), compare=compare)  # fmt: skip
    result = run_stickiness(runtime.store, project, spec, TODAY)
    zone = ZoneInfo(timezone)
    check(result, reference(events, spec, zone, start, end), interval)
    if compare:
        assert result.previous is not None
        length = end - start + dt.timedelta(days=1)
        first, last = start - length, start - dt.timedelta(days=1)
        check(result.previous, reference(events, spec, zone, first, last), interval)
    else:
        assert result.previous is None


# -- hand-made cases -------------------------------------------------------------------------




def run(runtime: Runtime, project: Project, first: dt.date, last: dt.date,
        **fields: Any) -> StickinessResult:  # fmt: skip
    spec = StickinessSpec(date_range=DateRange(start=first, end=last), **fields)
    return run_stickiness(runtime.store, project, spec, TODAY)


OCT30, OCT31, NOV1, NOV2, NOV3 = (dt.date(2026, 10, 30), dt.date(2026, 10, 31),
                                  dt.date(2026, 11, 1), dt.date(2026, 11, 2),
                                  dt.date(2026, 11, 3))  # fmt: skip


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_range_edges_and_local_midnight(runtime: Runtime, timezone: str) -> None:
    zone = ZoneInfo(timezone)
    project = new_project(runtime, timezone)
    tick = dt.timedelta(milliseconds=1)
    send(runtime, project.id, [
        {"anonymousId": "edges", "t": local(OCT31, zone, 0) - tick},  # before the range
        {"anonymousId": "edges", "t": local(OCT31, zone, 0)},         # its first instant
        {"anonymousId": "edges", "t": local(NOV3, zone, 0)},          # just after it
        {"anonymousId": "night", "t": local(NOV1, zone, 0) - tick},   # 10-31 23:59:59.999
        {"anonymousId": "night", "t": local(NOV1, zone, 0)},          # 11-01 00:00 (NY: DST)
        {"anonymousId": "daily", "t": local(OCT31, zone)},
        {"anonymousId": "daily", "t": local(NOV1, zone, 1)},
        {"anonymousId": "daily", "t": local(NOV1, zone, 23)},
        {"anonymousId": "daily", "t": local(NOV2, zone, 0)},
        {"anonymousId": "silent", "type": "identify", "traits": {"a": 1}, "t": local(NOV1, zone)},
    ])  # fmt: skip
    result = run(runtime, project, OCT31, NOV2)
    header, body = result.table()
    assert header == ["active", "n", "persons", "share"]
    assert body == [["1 day", 1, 1, 1 / 3], ["2 days", 2, 1, 1 / 3], ["3 days", 3, 1, 1 / 3]]
    assert result.total == 3


def test_anonymous_events_count_for_the_identified_person(runtime: Runtime) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [
        {"anonymousId": "phone", "t": local(OCT31, zone)},  # anonymous
        {"anonymousId": "laptop", "userId": "u1", "t": local(NOV1, zone)},
        {"anonymousId": "other", "t": local(NOV1, zone)},
    ])  # fmt: skip
    # Sent later, so the events above keep their stamped persons and are merged by overrides.
    send(runtime, project.id, [{"type": "identify", "anonymousId": "phone", "userId": "u1",
                                "traits": {"plan": "pro"}, "t": local(NOV2, zone)}],
         batch="later")  # fmt: skip
    result = run(runtime, project, OCT31, NOV2)
    assert [r.persons for r in result.rows] == [1, 1, 0] and result.total == 2
    pro = run(runtime, project, OCT31, NOV2,
              filters=[PropertyFilter(type="person", key="plan", value="pro")])  # fmt: skip
    assert [r.persons for r in pro.rows] == [0, 1, 0] and pro.total == 1
    paying = run(runtime, project, OCT31, NOV2, event="pay")
    assert [r.persons for r in paying.rows] == [0, 0, 0] and paying.total == 0
    assert [r.share for r in paying.rows] == [0.0, 0.0, 0.0]


def test_weeks_the_range_covers_partly(runtime: Runtime) -> None:
    zone = ZoneInfo("America/New_York")
    project = new_project(runtime, "America/New_York")
    send(runtime, project.id, [
        {"anonymousId": "x", "t": local(OCT30, zone)},  # Friday, before the range
        {"anonymousId": "x", "t": local(NOV2, zone)},   # Monday
        {"anonymousId": "y", "t": local(OCT31, zone)},  # Saturday
        {"anonymousId": "y", "t": local(NOV2, zone)},
        {"anonymousId": "z", "t": local(OCT31, zone)},
        {"anonymousId": "z", "t": local(NOV1, zone)},   # Sunday: the same week
    ])  # fmt: skip
    result = run(runtime, project, OCT31, NOV2, interval="week", compare=True)
    assert [(r.label, r.persons) for r in result.rows] == [("1 week", 2), ("2 weeks", 1)]
    assert result.previous is not None  # 10-28 .. 10-30: one week, only x active in it
    assert [(r.n, r.persons) for r in result.previous.rows] == [(1, 1)]
    assert result.footer() == [["total", None, 3, 1.0, "total", None, 1, 1.0]]
    assert StickinessResult.model_validate_json(result.model_dump_json()) == result
    header, body = result.table()
    assert header == ["active", "n", "persons", "share", "previous active", "n (previous)",
                      "persons (previous)", "share (previous)"]  # fmt: skip
    assert body == [["1 week", 1, 2, 2 / 3, "1 week", 1, 1, 1.0],
                    ["2 weeks", 2, 1, 1 / 3, None, None, None, None]]  # fmt: skip


@pytest.mark.parametrize("bad", [
    {"interval": "month"}, {"interval": "hour"}, {"event": ""}, {"compare": "often"},
    {"colour": "red"}, {"kind": "lifecycle"},
    {"filters": [{"key": "a", "operator": "between", "value": [1]}]},
])  # fmt: skip
def test_bad_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        StickinessSpec.model_validate({"date_range": {"last_days": 7}, **bad})
    assert error.value.errors()[0]["loc"][0] == next(iter(bad))
