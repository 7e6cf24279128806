"""Trends: each series' count or unique persons per time bucket, in the project's time zone.

Buckets are local: a day is midnight to midnight in the project's zone (Asia/Shanghai by
default), weeks start on Monday, and an hour is a local clock hour (a repeated hour when clocks
go back is one bucket). Every bucket of the range is in the result, zero where nothing happened.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from userops.analysis.filters import Conditions
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.spec import EventSeries, Interval, SeriesResult, TrendsResult, TrendsSpec
from userops.ingest.export import day_range
from userops.store import EventStore, rows

_BUCKET: dict[str, str] = {
    "hour": "formatDateTime(toStartOfHour(e.timestamp, {tz:String}), '%Y-%m-%d %H:00', "
    "{tz:String})",
    "day": "toString(toDate(e.timestamp, {tz:String}))",
    "week": "toString(toStartOfWeek(e.timestamp, 1, {tz:String}))",  # mode 1: Monday
    "month": "toString(toStartOfMonth(e.timestamp, {tz:String}))",
}
_MATH = {"total": "count()", "unique_persons": f"uniqExact({RESOLVED_PERSON})"}


def bucket_labels(first: dt.date, last: dt.date, interval: Interval, timezone: str) -> list[str]:
    """Every bucket from ``first`` to ``last`` (inclusive, local dates), as the SQL labels them."""
    if interval == "day":
        return [str(first + dt.timedelta(days=n)) for n in range((last - first).days + 1)]
    if interval == "week":
        monday = first - dt.timedelta(days=first.weekday())
        return [str(d) for d in _steps(monday, last, dt.timedelta(days=7))]
    if interval == "month":
        labels, month = [], first.replace(day=1)
        while month <= last:
            labels.append(str(month))
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return labels
    zone = ZoneInfo(timezone)
    start, end = day_range(timezone, first, last)
    labels = []
    moment = start
    while moment < end:  # real hours, so a skipped local hour has no bucket, a repeated one one
        label = moment.astimezone(zone).strftime("%Y-%m-%d %H:00")
        if not labels or labels[-1] != label:
            labels.append(label)
        moment += dt.timedelta(hours=1)
    return labels


def _steps(start: dt.date, last: dt.date, step: dt.timedelta) -> list[dt.date]:
    out = []
    while start <= last:
        out.append(start)
        start += step
    return out


def run_trends(
    store: EventStore,
    project_id: int,
    timezone: str,
    spec: TrendsSpec,
    today: dt.date | None = None,
) -> TrendsResult:
    today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    first, last = spec.date_range.dates(today)
    start, end = day_range(timezone, first, last)
    labels = bucket_labels(first, last, spec.interval, timezone)
    results = []
    for series in spec.series:
        by_bucket, total = _series(store, project_id, timezone, spec, series, (start, end))
        values = [by_bucket.get(label, 0.0) for label in labels]
        results.append(SeriesResult(label=series.label or series.event, values=values,
                                    total=total))  # fmt: skip
    return TrendsResult(interval=spec.interval, buckets=labels, series=results)


def _series(
    store: EventStore,
    project_id: int,
    timezone: str,
    spec: TrendsSpec,
    series: EventSeries,
    window: tuple[dt.datetime, dt.datetime],
) -> tuple[dict[str, float], float]:
    conditions = Conditions()
    where = conditions.sql([*spec.filters, *series.filters])
    params = {
        **conditions.params,
        "project": project_id,
        "event": series.event,
        "tz": timezone,
        "start": window[0],
        "end": window[1],
    }
    scope = f"""
        FROM {RESOLVED_EVENTS}
        WHERE e.project_id = {{project:UInt32}} AND e.event = {{event:String}}
          AND e.timestamp >= {{start:DateTime64(3, 'UTC')}}
          AND e.timestamp < {{end:DateTime64(3, 'UTC')}}
          AND {where}
    """
    math = _MATH[series.math]
    per_bucket = rows(store, f"SELECT {_BUCKET[spec.interval]} AS bucket, {math} {scope} "
                             "GROUP BY bucket", params)  # fmt: skip
    total = rows(store, f"SELECT {math} {scope}", params)
    return {str(b): float(v) for b, v in per_bucket}, float(total[0][0]) if total else 0.0
