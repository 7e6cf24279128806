"""Trends against a brute-force reference: random events, persons linked by identify, filters,
every interval, in Shanghai (UTC+8 day edges) and New York (daylight saving)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analysis_reference import (
    BASE,
    EVENTS,
    FIRST,
    LAST,
    event_strategy,
    filter_strategy,
    ingest,
    local_bucket,
    matches,
    persons_of,
)
from userops.analysis.buckets import bucket_labels
from userops.analysis.spec import DateRange, PropertyFilter
from userops.analysis.trends import EventSeries, TrendsSpec, run_trends
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict

NAMES = itertools.count()

def reference(events: list[dict[str, Any]], spec: TrendsSpec, zone: ZoneInfo
              ) -> tuple[dict[str, list[float]], list[float]]:  # fmt: skip
    persons = persons_of(events)
    start = dt.datetime.combine(FIRST, dt.time(), zone)
    end = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(), zone)
    labels = bucket_labels(FIRST, LAST, spec.interval, str(zone))
    out, totals = {}, []
    for index, series in enumerate(spec.series):
        per: dict[str, set[Any] | int] = {}
        everyone: set[str] = set()
        count = 0
        for n, e in enumerate(events):
            moment = BASE + dt.timedelta(minutes=e["minutes"])
            if e["event"] != series.event or not start <= moment < end:
                continue
            if not all(matches(f, e["properties"]) for f in [*spec.filters, *series.filters]):
                continue
            label = local_bucket(moment, spec.interval, zone)
            person = persons[f"device-{e['device']}"]
            bucket = per.setdefault(label, set())
            assert isinstance(bucket, set)
            bucket.add(person if series.math == "unique_persons" else n)
            everyone.add(person)
            count += 1
        out[str(index)] = [float(len(per.get(label, ()))) for label in labels]  # type: ignore[arg-type]
        totals.append(float(len(everyone) if series.math == "unique_persons" else count))
    return out, totals


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "America/New_York"])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=st.lists(event_strategy, max_size=40),
    interval=st.sampled_from(["hour", "day", "week", "month"]),
    series=st.lists(st.builds(EventSeries, event=st.sampled_from(EVENTS),
                              math=st.sampled_from(["total", "unique_persons"]),
                              filters=st.lists(filter_strategy, max_size=1)),
                    min_size=1, max_size=2),
    shared=st.lists(filter_strategy, max_size=1),
)  # fmt: skip
def test_trends_equal_brute_force(runtime: Runtime, timezone: str, events: list[dict[str, Any]],
                                  interval: str, series: list[EventSeries],
                                  shared: list[PropertyFilter]) -> None:  # fmt: skip
    project = create_project(runtime.sessions, f"p{next(NAMES)}", timezone)
    if events:
        ingest(runtime, project.id, events)
    spec = TrendsSpec(series=series, interval=interval,  # type: ignore[arg-type]
                      date_range=DateRange(start=FIRST, end=LAST), filters=shared)  # fmt: skip
    result = run_trends(runtime.store, project, spec)
    want, totals = reference(events, spec, ZoneInfo(timezone))
    assert result.buckets == bucket_labels(FIRST, LAST, spec.interval, timezone)
    for index, got in enumerate(result.series):
        assert got.values == want[str(index)], (index, spec)
        assert got.total == totals[index]


def test_buckets_follow_the_local_calendar() -> None:
    # New York goes from UTC-4 to UTC-5 at 2026-11-01 02:00: that day has 25 hours, 01:00 twice.
    hours = bucket_labels(dt.date(2026, 11, 1), dt.date(2026, 11, 1), "hour", "America/New_York")
    assert len(hours) == 24 and hours[1] == "2026-11-01 01:00"
    assert bucket_labels(dt.date(2026, 3, 8), dt.date(2026, 3, 8), "hour",
                         "America/New_York")[2] == "2026-03-08 03:00"  # 02:00 never happens
    assert bucket_labels(dt.date(2026, 11, 4), dt.date(2026, 11, 20), "week", "Asia/Shanghai") == [
        "2026-11-02", "2026-11-09", "2026-11-16"]  # fmt: skip
    assert bucket_labels(dt.date(2026, 1, 31), dt.date(2026, 3, 1), "month", "UTC") == [
        "2026-01-01", "2026-02-01", "2026-03-01"]  # fmt: skip


def test_shanghai_midnight_is_the_day_edge(runtime: Runtime) -> None:
    project = create_project(runtime.sessions, "edge", "Asia/Shanghai")
    # 15:59:59.999 UTC is 23:59:59.999 on the 31st in Shanghai; 16:00 UTC is the 1st.
    messages = [message_from_dict({"event": "view", "anonymousId": "d", "messageId": f"e{n}",
                                   "timestamp": t}) for n, t in
                enumerate(["2026-10-31T15:59:59.999Z", "2026-10-31T16:00:00.000Z"])]  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(messages, project.id, BASE))
    spec = TrendsSpec(series=[EventSeries(event="view")],
                      date_range=DateRange(start=FIRST, end=LAST))  # fmt: skip
    result = run_trends(runtime.store, project, spec)
    assert dict(zip(result.buckets, result.series[0].values, strict=True)) == {
        "2026-10-31": 1.0, "2026-11-01": 1.0, "2026-11-02": 0.0}  # fmt: skip


@pytest.mark.parametrize("bad", [
    {"operator": "gt", "value": "x"}, {"operator": "in", "value": "a"},
    {"operator": "between", "value": [1]}, {"operator": "is_set", "value": 1},
    {"operator": "eq"}, {"operator": "like", "value": "a"},
])  # fmt: skip
def test_bad_filters_are_refused_naming_the_problem(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PropertyFilter(key="a", **bad)


def test_date_range_forms() -> None:
    assert DateRange(last_days=7).dates(dt.date(2026, 11, 23)) == (
        dt.date(2026, 11, 17), dt.date(2026, 11, 23))  # fmt: skip
    for bad in ({"last_days": 7, "start": FIRST}, {"start": LAST, "end": FIRST}, {}):
        with pytest.raises(ValidationError):
            DateRange(**bad)


def test_hostile_names_are_data(runtime: Runtime) -> None:
    project = create_project(runtime.sessions, "hostile", "Asia/Shanghai")
    name = "x'); DROP TABLE events; --"
    messages = [message_from_dict({"event": name, "anonymousId": "d", "messageId": "h",
                                   "timestamp": "2026-11-01T00:00:00Z",
                                   "properties": {name: name}})]  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(messages, project.id, BASE))
    spec = TrendsSpec(series=[EventSeries(event=name, filters=[
        PropertyFilter(key=name, operator="eq", value=name)])],
        date_range=DateRange(start=FIRST, end=LAST))  # fmt: skip
    assert run_trends(runtime.store, project, spec).series[0].total == 1.0


EDGE_PROPERTIES: list[dict[str, Any]] = [
    {}, {"a": None}, {"a": "x"}, {"a": "7"}, {"a": 7}, {"a": 2.5}, {"a": True}, {"a": False},
    {"a": "ab"}, {"a": [1]}, {"b": "x"},
]
EDGE_FILTERS = [
    PropertyFilter(key="a", operator=op, value=value)
    for op, value in [("eq", "7"), ("eq", 7), ("eq", True), ("neq", "x"), ("in", ["x", 7]),
                      ("not_in", ["x", "7"]), ("contains", "a"), ("regex", "^[0-9]+$"),
                      ("gt", 2), ("gte", 2.5), ("lt", 1), ("lte", 0), ("between", [0, 7]),
                      ("is_set", None), ("is_not_set", None)]
]  # fmt: skip


@pytest.mark.parametrize("flt", EDGE_FILTERS, ids=lambda f: f"{f.operator}-{f.value}")
def test_every_operator_on_missing_null_and_odd_values(runtime: Runtime,
                                                        flt: PropertyFilter) -> None:  # fmt: skip
    project = create_project(runtime.sessions, f"ops{next(NAMES)}", "Asia/Shanghai")
    events = [{"event": "view", "device": n, "user": None, "minutes": 24 * 60, "properties": p}
              for n, p in enumerate(EDGE_PROPERTIES)]  # fmt: skip
    ingest(runtime, project.id, events)
    spec = TrendsSpec(series=[EventSeries(event="view", filters=[flt])],
                      date_range=DateRange(start=FIRST, end=LAST))  # fmt: skip
    got = run_trends(runtime.store, project, spec).series[0].total
    assert got == sum(matches(flt, p) for p in EDGE_PROPERTIES)
