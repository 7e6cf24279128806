"""Trends: each series' count or unique persons per time bucket, in the project's time zone.

Every bucket of the range is in the result, zero where nothing happened (see ``buckets``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from userops.analysis.buckets import bucket_labels, bucket_sql
from userops.analysis.scope import Scope
from userops.analysis.spec import AnalysisResult, DateRange, Interval, PropertyFilter, Strict
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows


class EventSeries(Strict):
    event: Annotated[str, Field(min_length=1, max_length=200)]
    math: Literal["total", "unique_persons"] = "total"
    filters: list[PropertyFilter] = Field(default_factory=list)
    label: str | None = None


class TrendsSpec(Strict):
    kind: Literal["trends"] = "trends"
    series: Annotated[list[EventSeries], Field(min_length=1, max_length=20)]
    date_range: DateRange
    interval: Interval = "day"
    filters: list[PropertyFilter] = Field(default_factory=list)  # applied to every series


class SeriesResult(BaseModel):
    label: str
    values: list[float]
    total: float


class TrendsResult(AnalysisResult):
    kind: Literal["trends"] = "trends"
    interval: Interval
    buckets: list[str]  # local bucket starts: YYYY-MM-DD, or YYYY-MM-DD HH:00 for hours
    series: list[SeriesResult]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        header = ["bucket", *(s.label for s in self.series)]
        body: list[list[Any]] = [[bucket, *(s.values[i] for s in self.series)]
                                 for i, bucket in enumerate(self.buckets)]  # fmt: skip
        return header, body

    def footer(self) -> list[list[Any]]:
        return [["total", *(s.total for s in self.series)]]


_MATH = {"total": "count()", "unique_persons": f"uniqExact({Scope.person})"}


def run_trends(
    store: EventStore, project: Project, spec: TrendsSpec, today: dt.date | None = None
) -> TrendsResult:
    timezone = project.timezone
    today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    first, last = spec.date_range.dates(today)
    window = day_range(timezone, first, last)
    labels = bucket_labels(first, last, spec.interval, timezone)
    results = []
    for series in spec.series:
        by_bucket, total = _series(store, project, spec, series, window)
        values = [by_bucket.get(label, 0.0) for label in labels]
        results.append(SeriesResult(label=series.label or series.event, values=values,
                                    total=total))  # fmt: skip
    return TrendsResult(interval=spec.interval, buckets=labels, series=results)


def _series(
    store: EventStore,
    project: Project,
    spec: TrendsSpec,
    series: EventSeries,
    window: tuple[dt.datetime, dt.datetime],
) -> tuple[dict[str, float], float]:
    q = Scope(project.id, project.timezone)
    where = f"{q.base(*window)} AND {q.event_is(series.event)} " \
            f"AND {q.where([*spec.filters, *series.filters])}"  # fmt: skip
    scope = f"FROM {q.from_events()} WHERE {where}"
    math = _MATH[series.math]
    bucket = bucket_sql(spec.interval)
    per_bucket = rows(store, f"SELECT {bucket} AS bucket, {math} {scope} GROUP BY bucket",
                      q.params)  # fmt: skip
    total = rows(store, f"SELECT {math} {scope}", q.params)
    return {str(b): float(v) for b, v in per_bucket}, float(total[0][0]) if total else 0.0
