"""Lifecycle against a brute-force reference: random logs with identify merges and traits,
event and person filters, every interval, in Shanghai (UTC+8 day edges) and New York (daylight
saving), plus hand-made cases at the range's first period, the period before it and midnight."""

from __future__ import annotations

import datetime as dt
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
    matches,
    moment_of,
    new_project,
    person_traits,
    persons_of,
    send,
    some_filters,
    tracked,
)
from userops.analysis.buckets import bucket_labels
from userops.analysis.lifecycle import LifecycleResult, LifecycleSpec, run_lifecycle
from userops.analysis.spec import DateRange, PropertyFilter
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.store import rows

STATUSES = ("new", "returning", "resurrecting", "dormant")
TODAY = dt.date(2026, 11, 3)


def before(label: str, interval: str) -> str:
    """The label of the period before ``label``'s, by calendar arithmetic."""
    start = dt.date.fromisoformat(label)
    if interval == "day":
        return str(start - dt.timedelta(days=1))
    if interval == "week":
        return str(start - dt.timedelta(weeks=1))
    year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
    return str(dt.date(year, month, 1))


def reference(events: list[dict[str, Any]], spec: LifecycleSpec, zone: ZoneInfo,
              first: dt.date, last: dt.date) -> dict[str, list[int]]:  # fmt: skip
    """Each status per period: every person's set of active periods over the whole log, then
    each period of the range classified against the one before."""
    persons, traits = persons_of(events), person_traits(events)
    active: dict[str, set[str]] = {}
    for _, entry in tracked(events):
        person = persons[f"device-{entry['device']}"]
        if spec.event is not None and entry["event"] != spec.event:
            continue
        if not all(matches(f, traits.get(person, {}) if f.type == "person"
                           else entry["properties"]) for f in spec.filters):  # fmt: skip
            continue
        active.setdefault(person, set()).add(local_bucket(moment_of(entry), spec.interval, zone))
    out: dict[str, list[int]] = {status: [] for status in STATUSES}
    for label in bucket_labels(first, last, spec.interval, str(zone)):
        prior = before(label, spec.interval)
        counts = dict.fromkeys(STATUSES, 0)
        for periods in active.values():
            if label in periods:
                status = ("new" if min(periods) == label
                          else "returning" if prior in periods else "resurrecting")  # fmt: skip
                counts[status] += 1
            elif prior in periods:
                counts["dormant"] -= 1
        for status in STATUSES:
            out[status].append(counts[status])
    return out


def load_in_two_batches(runtime: Runtime, project_id: int, events: list[dict[str, Any]],
                        split: int) -> None:  # fmt: skip
    """The log's first ``split`` messages, then the whole log: the repeated message ids are
    dropped as duplicates, so the rest arrive later and merges there reach the earlier events
    only through person overrides."""
    ingest(runtime, project_id, events[:split])
    ingest(runtime, project_id, events)
    stored = rows(runtime.store, "SELECT count() FROM events WHERE project_id = {p:UInt32}",
                  {"p": project_id})  # fmt: skip
    assert stored == [(len(events),)]


def as_dict(result: LifecycleResult) -> dict[str, list[int]]:
    return {status: getattr(result, status) for status in STATUSES}


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=dense_log,
    # Days more often: with them the log has history before the period before the range.
    interval=st.sampled_from(["day", "day", "week", "month"]),
    event=st.one_of(st.none(), st.sampled_from(EVENTS)),
    filters=some_filters,
    start=st.sampled_from([dt.date(2026, 10, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 1),
                           dt.date(2026, 11, 2), dt.date(2026, 11, 2)]),
    days=st.integers(0, 3),
    compare=st.booleans(),
    split=st.integers(0, 40),
)  # fmt: skip
def test_lifecycle_equals_brute_force(runtime: Runtime, timezone: str,
                                      events: list[dict[str, Any]], interval: str,
                                      event: str | None, filters: list[PropertyFilter],
                                      start: dt.date, days: int, compare: bool,
                                      split: int) -> None:  # fmt: skip
    project = new_project(runtime, timezone)
    load_in_two_batches(runtime, project.id, events, split)
    end = start + dt.timedelta(days=days)
    spec = LifecycleSpec(event=event, filters=filters, interval=interval,  # type: ignore[arg-type]
                         date_range=DateRange(start=start, end=end), compare=compare)  # fmt: skip
    result = run_lifecycle(runtime.store, project, spec, TODAY)
    zone = ZoneInfo(timezone)
    assert result.buckets == bucket_labels(start, end, spec.interval, timezone)
    assert as_dict(result) == reference(events, spec, zone, start, end), spec
    if compare:
        assert result.previous is not None
        length = end - start + dt.timedelta(days=1)
        first, last = start - length, start - dt.timedelta(days=1)
        assert result.previous.buckets == bucket_labels(first, last, spec.interval, timezone)
        assert as_dict(result.previous) == reference(events, spec, zone, first, last)
    else:
        assert result.previous is None


# -- hand-made cases -------------------------------------------------------------------------




def run(runtime: Runtime, project: Project, first: dt.date, last: dt.date,
        **fields: Any) -> LifecycleResult:  # fmt: skip
    spec = LifecycleSpec(date_range=DateRange(start=first, end=last), **fields)
    return run_lifecycle(runtime.store, project, spec, TODAY)


OCT = {day: dt.date(2026, 10, day) for day in range(20, 32)}
NOV = {day: dt.date(2026, 11, day) for day in range(1, 10)}


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_first_period_is_judged_against_the_period_before(runtime: Runtime,
                                                          timezone: str) -> None:  # fmt: skip
    zone = ZoneInfo(timezone)
    project = new_project(runtime, timezone)
    send(runtime, project.id, [
        {"anonymousId": "back", "t": local(OCT[30], zone)},      # active the day before too
        {"anonymousId": "back", "t": local(OCT[31], zone)},
        {"anonymousId": "gone", "t": local(OCT[30], zone)},      # only the day before
        {"anonymousId": "again", "t": local(OCT[28], zone)},     # seen long before, not the day
        {"anonymousId": "again", "t": local(OCT[31], zone)},     # before: resurrecting
        {"anonymousId": "fresh", "t": local(OCT[31], zone)},
        {"anonymousId": "fresh", "t": local(NOV[1], zone)},
    ])  # fmt: skip
    result = run(runtime, project, OCT[31], NOV[1])
    assert result.buckets == ["2026-10-31", "2026-11-01"]
    assert as_dict(result) == {"new": [1, 0], "returning": [1, 1], "resurrecting": [1, 0],
                               "dormant": [-1, -2]}  # fmt: skip


def test_person_new_in_the_period_before_is_not_new_in_the_range(runtime: Runtime) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [
        {"anonymousId": "a", "t": local(OCT[30], zone)},  # first ever: the day before the range
        {"anonymousId": "a", "t": local(NOV[1], zone)},
        {"anonymousId": "a", "t": local(NOV[3], zone)},  # after the daily range
        {"anonymousId": "b", "t": local(OCT[30], zone)},
        {"anonymousId": "b", "t": local(OCT[31], zone)},
    ])  # fmt: skip
    result = run(runtime, project, OCT[31], NOV[2])
    assert as_dict(result) == {"new": [0, 0, 0], "returning": [1, 0, 0],
                               "resurrecting": [0, 1, 0], "dormant": [-1, -1, -1]}  # fmt: skip
    # By weeks: both are new in the week of 2026-10-26 (Monday to Sunday 11-01), the week
    # before the range's one week.
    weekly = run(runtime, project, NOV[2], NOV[8], interval="week")
    assert weekly.buckets == ["2026-11-02"]
    assert as_dict(weekly) == {"new": [0], "returning": [1], "resurrecting": [0],
                               "dormant": [-1]}  # fmt: skip


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_activity_at_local_midnight_belongs_to_the_day_it_starts(
    runtime: Runtime, timezone: str
) -> None:
    zone = ZoneInfo(timezone)
    project = new_project(runtime, timezone)
    tick = dt.timedelta(milliseconds=1)
    midnight = {day: local(day, zone, 0) for day in (OCT[31], NOV[1], NOV[2])}
    send(runtime, project.id, [
        {"anonymousId": "late", "t": midnight[OCT[31]] - tick},  # 10-30 23:59:59.999
        {"anonymousId": "early", "t": midnight[OCT[31]]},         # 10-31 00:00
        {"anonymousId": "early", "t": midnight[NOV[2]] - tick},   # 11-01 23:59:59.999
        {"anonymousId": "edge", "t": midnight[NOV[1]]},           # 11-01 00:00 (DST day in NY)
        {"anonymousId": "edge", "t": midnight[NOV[2]]},           # 11-02 00:00
    ])  # fmt: skip
    result = run(runtime, project, OCT[31], NOV[2])
    assert as_dict(result) == {"new": [1, 1, 0], "returning": [0, 1, 1],
                               "resurrecting": [0, 0, 0], "dormant": [-1, 0, -1]}  # fmt: skip
    # Weeks: Monday 2026-11-02 00:00 starts a week; a millisecond earlier is the week before,
    # so "edge" returns in it and "late" and "early" are dormant.
    weekly = run(runtime, project, NOV[2], NOV[8], interval="week")
    assert as_dict(weekly) == {"new": [0], "returning": [1], "resurrecting": [0],
                               "dormant": [-2]}  # fmt: skip


def test_anonymous_events_count_for_the_identified_person(runtime: Runtime) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [
        {"anonymousId": "phone", "t": local(OCT[31], zone)},                    # anonymous
        {"anonymousId": "laptop", "userId": "u1", "t": local(NOV[1], zone)},
        {"anonymousId": "other", "t": local(NOV[1], zone)},
    ])  # fmt: skip
    # Sent later, so the events above keep their stamped persons and are merged by overrides.
    send(runtime, project.id, [{"type": "identify", "anonymousId": "phone", "userId": "u1",
                                "traits": {"plan": "pro"}, "t": local(NOV[2], zone, 18)}],
         batch="later")  # fmt: skip
    result = run(runtime, project, OCT[31], NOV[2])
    # One person: new on 10-31 (the anonymous event), returning on 11-01; the identify on
    # 11-02 is not a tracked event, so they are dormant then.
    assert as_dict(result) == {"new": [1, 1, 0], "returning": [0, 1, 0],
                               "resurrecting": [0, 0, 0], "dormant": [0, 0, -2]}  # fmt: skip
    pro = run(runtime, project, OCT[31], NOV[2],
              filters=[PropertyFilter(type="person", key="plan", value="pro")])  # fmt: skip
    assert as_dict(pro) == {"new": [1, 0, 0], "returning": [0, 1, 0],
                            "resurrecting": [0, 0, 0], "dormant": [0, 0, -1]}  # fmt: skip


def test_new_means_the_first_matching_event_ever(runtime: Runtime) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [
        {"anonymousId": "a", "event": "view", "t": local(OCT[20], zone)},
        {"anonymousId": "a", "event": "pay", "t": local(OCT[31], zone)},
        {"anonymousId": "a", "event": "pay", "t": local(NOV[1], zone),
         "properties": {"coupon": True}},
    ])  # fmt: skip
    anything = run(runtime, project, OCT[31], NOV[1])
    assert anything.new == [0, 0] and anything.resurrecting == [1, 0]
    paying = run(runtime, project, OCT[31], NOV[1], event="pay")
    assert paying.new == [1, 0] and paying.returning == [0, 1]
    coupon = run(runtime, project, OCT[31], NOV[1], event="pay",
                 filters=[PropertyFilter(key="coupon", value=True)])  # fmt: skip
    assert coupon.new == [0, 1] and coupon.returning == [0, 0]


def test_months_and_an_empty_project(runtime: Runtime) -> None:
    zone = ZoneInfo("America/New_York")
    project = new_project(runtime, "America/New_York")
    empty = run(runtime, project, OCT[20], NOV[9], interval="month",
                compare=True)  # fmt: skip
    assert empty.buckets == ["2026-10-01", "2026-11-01"]
    assert as_dict(empty) == {status: [0, 0] for status in STATUSES}
    assert empty.previous is not None and empty.previous.buckets == ["2026-09-01", "2026-10-01"]
    assert empty.table()[1][0] == ["2026-10-01", 0, 0, 0, 0, "2026-09-01", 0, 0, 0, 0]
    assert empty.footer() == [["total", 0, 0, 0, 0, "total", 0, 0, 0, 0]]
    assert LifecycleResult.model_validate_json(empty.model_dump_json()) == empty
    send(runtime, project.id, [
        {"anonymousId": "a", "t": local(dt.date(2026, 9, 30), zone, 23)},
        {"anonymousId": "a", "t": local(NOV[1], zone, 0)},
    ])  # fmt: skip
    monthly = run(runtime, project, OCT[20], NOV[9], interval="month")
    assert as_dict(monthly) == {"new": [0, 0], "returning": [0, 0], "resurrecting": [0, 1],
                                "dormant": [-1, 0]}  # fmt: skip
    header, body = monthly.table()
    assert header == ["bucket", *STATUSES]
    assert body == [["2026-10-01", 0, 0, 0, -1], ["2026-11-01", 0, 0, 1, 0]]


@pytest.mark.parametrize("bad", [
    {"interval": "hour"}, {"interval": "year"}, {"event": ""}, {"colour": "red"},
    {"kind": "trends"}, {"filters": [{"key": "a", "operator": "gt", "value": "x"}]},
])  # fmt: skip
def test_bad_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        LifecycleSpec.model_validate({"date_range": {"last_days": 7}, **bad})
    assert error.value.errors()[0]["loc"][0] == next(iter(bad))
