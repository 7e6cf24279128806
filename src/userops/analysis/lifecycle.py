"""Lifecycle (生命周期): per period, how many persons are new, returning, resurrecting or dormant,
with PostHog's meanings.

A person is *active* in a period when they have a matching tracked event in it (the spec's event,
or any tracked event, and its filters). In each period of the range:

- **new**: the person's first matching event ever (all history, not only the range) is in it;
- **returning**: active in it and in the period before;
- **resurrecting**: active in it, not in the period before, and not new;
- **dormant**: active in the period before but not in it, reported negative as PostHog does.

Periods are whole local periods (day, Monday-based week, calendar month): the range is widened
to the periods it touches, since a status compares one whole period with the one before. The
period before the range's first period is read too, so the first period has its statuses.

One query computes it: events grouped by person into that person's sorted active periods and
first period, each active period classified against its neighbour in the array, the rows then
counted per (period, status).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from userops.analysis.buckets import bucket_labels, bucket_start
from userops.analysis.scope import TRACKED, Scope
from userops.analysis.spec import AnalysisResult, DateRange, PropertyFilter, Strict
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows

LifecycleInterval = Literal["day", "week", "month"]
STATUSES = ("new", "returning", "resurrecting", "dormant")

# The local period an instant falls in, as a Date (its first day), and one period as an
# interval, so the period before ``t`` is ``t - step``. ``%s`` is the timestamp column.
_PERIOD: dict[str, str] = {
    "day": "toDate(%s, {tz:String})",
    "week": "toStartOfWeek(%s, 1, {tz:String})",  # mode 1: weeks start on Monday
    "month": "toStartOfMonth(%s, {tz:String})",
}
_STEP: dict[str, str] = {
    "day": "toIntervalDay(1)",
    "week": "toIntervalWeek(1)",
    "month": "toIntervalMonth(1)",
}


class LifecycleSpec(Strict):
    """Persons by status per period: active on ``event`` (None: any tracked event) with
    ``filters`` (event or person properties)."""

    kind: Literal["lifecycle"] = "lifecycle"
    event: Annotated[str, Field(min_length=1, max_length=200)] | None = None  # None: any tracked
    filters: list[PropertyFilter] = Field(default_factory=list)
    date_range: DateRange
    interval: LifecycleInterval = "day"
    compare: bool = False


class LifecycleResult(AnalysisResult):
    kind: Literal["lifecycle"] = "lifecycle"
    interval: LifecycleInterval
    buckets: list[str]  # local period starts, YYYY-MM-DD, every period of the range
    new: list[int]
    returning: list[int]
    resurrecting: list[int]
    dormant: list[int]  # zero or negative
    previous: LifecycleResult | None = None  # the period before, with compare

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per bucket; with ``previous``, its buckets side by side, first by first (the
        periods may differ in their number of weeks or months, the shorter one is padded)."""
        header = ["bucket", *STATUSES]
        body: list[list[Any]] = [
            [bucket, self.new[i], self.returning[i], self.resurrecting[i], self.dormant[i]]
            for i, bucket in enumerate(self.buckets)
        ]
        if self.previous is None:
            return header, body
        return side_by_side((header, body), self.previous.table())

    def footer(self) -> list[list[Any]]:
        totals: list[Any] = ["total", *(sum(getattr(self, status)) for status in STATUSES)]
        if self.previous is not None:
            totals += self.previous.footer()[0]
        return [totals]


def side_by_side(
    now: tuple[list[str], list[list[Any]]], before: tuple[list[str], list[list[Any]]]
) -> tuple[list[str], list[list[Any]]]:
    """This period's table and the previous period's beside it, row by row, the shorter one
    padded with None (as trends sets the previous period beside its buckets)."""
    (header, body), (before_header, before_body) = now, before
    both = [f"previous {before_header[0]}", *(f"{h} (previous)" for h in before_header[1:])]
    blank, before_blank = [None] * len(header), [None] * len(both)
    joined = [(body[i] if i < len(body) else blank)
              + (before_body[i] if i < len(before_body) else before_blank)
              for i in range(max(len(body), len(before_body)))]  # fmt: skip
    return header + both, joined


def run_lifecycle(
    store: EventStore, project: Project, spec: LifecycleSpec, today: dt.date | None = None
) -> LifecycleResult:
    """Each period's new, returning, resurrecting and dormant persons, zero-filled; with
    ``compare``, the same for the period before (``DateRange.previous``) in ``previous``."""
    today = today or dt.datetime.now(ZoneInfo(project.timezone)).date()
    result = _lifecycle(store, project, spec, *spec.date_range.dates(today))
    if spec.compare:
        previous = _lifecycle(store, project, spec, *spec.date_range.previous(today))
        result = result.model_copy(update={"previous": previous})
    return result


def _period_before(start: dt.date, interval: LifecycleInterval) -> dt.date:
    """The first day of the period before the one starting on ``start``."""
    if interval == "month":
        return (start - dt.timedelta(days=1)).replace(day=1)
    return start - dt.timedelta(days=7 if interval == "week" else 1)


def _period_after(start: dt.date, interval: LifecycleInterval) -> dt.date:
    """The first day of the period after the one starting on ``start``."""
    if interval == "month":
        return (start + dt.timedelta(days=32)).replace(day=1)
    return start + dt.timedelta(days=7 if interval == "week" else 1)


def _lifecycle(
    store: EventStore, project: Project, spec: LifecycleSpec, first: dt.date, last: dt.date
) -> LifecycleResult:
    labels = bucket_labels(first, last, spec.interval, project.timezone)
    low, high = bucket_start(labels[0]), bucket_start(labels[-1])
    # Events from the start of the period before the first one, to the end of the last one.
    since, until = day_range(project.timezone, _period_before(low, spec.interval),
                             _period_after(high, spec.interval) - dt.timedelta(days=1))  # fmt: skip
    q = Scope(project.id, project.timezone)
    event = q.event_is(spec.event) if spec.event else "1"
    matching = f"{TRACKED} AND {event} AND {q.where(spec.filters)}"
    period, step = _PERIOD[spec.interval] % "e.timestamp", _STEP[spec.interval]
    since_param = q.param(since, "DateTime64(3, 'UTC')")
    until_param = q.param(until, "DateTime64(3, 'UTC')")
    low_param, high_param = q.param(low, "Date"), q.param(high, "Date")
    # ``active`` is sorted, so the period before an active period is active exactly when it is
    # the array's previous element, and the period after exactly when it is the next one.
    # ``first`` is over all history: a person first seen before the window is never new in it.
    sql = f"""
        SELECT status.1 AS bucket, status.2 AS kind, count() AS persons
        FROM (
            SELECT arrayConcat(
                arrayMap((t, before) -> (t, multiIf(t = first, 'new',
                                                    before = t - {step}, 'returning',
                                                    'resurrecting')),
                         active, arrayPushFront(arrayPopBack(active), toDate(0))),
                arrayMap((t, after) -> (t + {step}, if(after = t + {step}, '', 'dormant')),
                         active, arrayPushBack(arrayPopFront(active), toDate(0)))
            ) AS statuses
            FROM (
                SELECT {q.person} AS person,
                       arraySort(groupUniqArrayIf({period}, e.timestamp >= {since_param}))
                           AS active,
                       {_PERIOD[spec.interval] % "min(e.timestamp)"} AS first
                FROM {q.from_events()}
                WHERE e.project_id = {{project:UInt32}} AND e.timestamp < {until_param}
                      AND {matching}
                GROUP BY person
                HAVING notEmpty(active)
            )
        )
        ARRAY JOIN statuses AS status
        WHERE kind != '' AND bucket >= {low_param} AND bucket <= {high_param}
        GROUP BY bucket, kind
    """  # noqa: S608
    counts = {(str(bucket), str(kind)): int(n) for bucket, kind, n in rows(store, sql, q.params)}
    new, returning, resurrecting, dormant = (
        [counts.get((label, status), 0) for label in labels] for status in STATUSES
    )
    return LifecycleResult(interval=spec.interval, buckets=labels, new=new, returning=returning,
                           resurrecting=resurrecting, dormant=[-n for n in dormant])  # fmt: skip
