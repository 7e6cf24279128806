"""Time buckets in the project's time zone: the SQL that labels an event's bucket, and every
bucket label of a date range (so results are zero-filled).

A day is midnight to midnight local time, weeks start on Monday, and an hour is a local clock
hour (a repeated hour when clocks go back is one bucket; a skipped one has none).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from userops.analysis.spec import Interval
from userops.ingest.export import day_range

# ``{tz:String}`` is the project's zone, a query parameter; ``%s`` is the timestamp column.
_BUCKET: dict[str, str] = {
    "hour": "formatDateTime(toStartOfHour(%s, {tz:String}), '%%Y-%%m-%%d %%H:00', {tz:String})",
    "day": "toString(toDate(%s, {tz:String}))",
    "week": "toString(toStartOfWeek(%s, 1, {tz:String}))",  # mode 1: weeks start on Monday
    "month": "toString(toStartOfMonth(%s, {tz:String}))",
}


def bucket_sql(interval: Interval, column: str = "e.timestamp") -> str:
    """SQL for the label of ``column``'s local bucket, as ``bucket_labels`` spells it."""
    return _BUCKET[interval] % column


def bucket_start(label: str) -> dt.date:
    """The local date a bucket label starts on."""
    return dt.date.fromisoformat(label[:10])


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
