"""Stickiness (粘性): how many persons were active on exactly n days (or weeks) of the range.

A person is active on a day (week) when they have a matching tracked event in it: the spec's
event, or any tracked event, with its filters. Only events inside the range's local dates count;
a week the range covers partly is one of its weeks, counted from the days inside the range.
Each row also has its share of every person active in the range.

One query computes it: events grouped by person into that person's number of active periods,
those numbers then counted.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from userops.analysis.buckets import bucket_labels
from userops.analysis.lifecycle import side_by_side
from userops.analysis.scope import TRACKED, Scope
from userops.analysis.spec import AnalysisResult, DateRange, PropertyFilter, Strict
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows

StickinessInterval = Literal["day", "week"]

# The local period an instant falls in, as a Date; ``%s`` is the timestamp column.
_PERIOD: dict[str, str] = {
    "day": "toDate(%s, {tz:String})",
    "week": "toStartOfWeek(%s, 1, {tz:String})",  # mode 1: weeks start on Monday
}


class StickinessSpec(Strict):
    """Persons by how many days (weeks) of the range they were active on ``event`` (None: any
    tracked event) with ``filters`` (event or person properties)."""

    kind: Literal["stickiness"] = "stickiness"
    event: Annotated[str, Field(min_length=1, max_length=200)] | None = None  # None: any tracked
    filters: list[PropertyFilter] = Field(default_factory=list)
    date_range: DateRange
    interval: StickinessInterval = "day"
    compare: bool = False


class StickinessRow(BaseModel):
    n: int  # active on exactly n periods of the range
    label: str  # "1 day", "2 days", ... for display
    persons: int
    share: float  # of every person active in the range; 0.0 when nobody was


class StickinessResult(AnalysisResult):
    kind: Literal["stickiness"] = "stickiness"
    interval: StickinessInterval
    rows: list[StickinessRow]  # n = 1 .. the number of periods in the range, zero-filled
    total: int  # persons active in the range
    previous: StickinessResult | None = None  # the period before, with compare

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per n; with ``previous``, its rows side by side (padded where the periods
        have a different number of weeks)."""
        header = ["active", "n", "persons", "share"]
        body: list[list[Any]] = [[r.label, r.n, r.persons, r.share] for r in self.rows]
        if self.previous is None:
            return header, body
        return side_by_side((header, body), self.previous.table())

    def footer(self) -> list[list[Any]]:
        totals: list[Any] = ["total", None, self.total, 1.0 if self.total else 0.0]
        if self.previous is not None:
            totals += self.previous.footer()[0]
        return [totals]


def period_label(n: int, interval: StickinessInterval) -> str:
    """``1 day``, ``2 days``, ``1 week``, ..."""
    return f"{n} {interval}" if n == 1 else f"{n} {interval}s"


def run_stickiness(
    store: EventStore, project: Project, spec: StickinessSpec, today: dt.date | None = None
) -> StickinessResult:
    """Persons active on exactly n periods of the range, for every n, with their share; with
    ``compare``, the same for the period before (``DateRange.previous``) in ``previous``."""
    today = today or dt.datetime.now(ZoneInfo(project.timezone)).date()
    result = _stickiness(store, project, spec, *spec.date_range.dates(today))
    if spec.compare:
        previous = _stickiness(store, project, spec, *spec.date_range.previous(today))
        result = result.model_copy(update={"previous": previous})
    return result


def _stickiness(
    store: EventStore, project: Project, spec: StickinessSpec, first: dt.date, last: dt.date
) -> StickinessResult:
    periods = len(bucket_labels(first, last, spec.interval, project.timezone))
    q = Scope(project.id, project.timezone)
    event = q.event_is(spec.event) if spec.event else "1"
    window = q.base(*day_range(project.timezone, first, last))
    where = f"{window} AND {TRACKED} AND {event} AND {q.where(spec.filters)}"
    sql = f"""
        SELECT n, count() AS persons
        FROM (
            SELECT {q.person} AS person, uniqExact({_PERIOD[spec.interval] % "e.timestamp"}) AS n
            FROM {q.from_events()}
            WHERE {where}
            GROUP BY person
        )
        GROUP BY n
    """  # noqa: S608
    counts = {int(n): int(persons) for n, persons in rows(store, sql, q.params)}
    total = sum(counts.values())
    return StickinessResult(
        interval=spec.interval,
        rows=[StickinessRow(n=n, label=period_label(n, spec.interval), persons=counts.get(n, 0),
                            share=counts.get(n, 0) / total if total else 0.0)
              for n in range(1, periods + 1)],
        total=total,
    )  # fmt: skip
