"""Retention (留存分析): cohorts of persons by the period of their start event, and how many of
each cohort come back with a return event in each following period, in the project's time zone.

Semantics (PostHog's, with the UserOps conventions of ``spec``):

- Periods are local calendar days, Monday-start weeks or months (``buckets``). A cohort period
  is in the report when its first day lies within the date range; the whole period then
  counts, even its days after the range's end (a range starting on a Wednesday leaves that
  week out; one ending on a Wednesday keeps the week that starts on its Monday, whole).
- ``first_time``: a person's cohort is the period of their first matching start event ever
  (before the range too); that period must be one of the range's cohort periods.
  ``any_time``: a person is in the cohort of every reported period with a start event.
- ``retained[k]`` counts the cohort's persons with a return event in period ``c + k``
  (``bounded``), or in ``c + k`` or any later period up to today (``unbounded``); ``k = 0`` is
  the cohort's size, so a return in the cohort period itself is no return.
- The report is as of ``today`` (local): events after today are not seen, and a cell whose
  period starts after today is ``None``, not 0 (a cohort after today has no cell at all).
- Shared ``filters`` hold on every start and return event; ``None`` as an event means any
  tracked event. A breakdown reads the start event that put the person in the cohort (its
  first by time, then message id, in the cohort period for ``any_time``) or the person's
  current trait; the ``limit`` values with the most persons stay, the rest are ``$other``.

One query does the work, whatever the number of cohorts: events grouped by person into their
cohort periods (an array) and return periods (a bitmap, or just the latest one when unbounded),
an ``ARRAY JOIN`` of each person's cohorts, and ``sumForEach`` of per-cohort hit vectors.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from userops.analysis.buckets import bucket_labels, bucket_start
from userops.analysis.scope import PROMOTED, TRACKED, Scope
from userops.analysis.spec import (
    OTHER,
    AnalysisResult,
    Breakdown,
    DateRange,
    PropertyFilter,
    Strict,
)
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows

Period = Literal["day", "week", "month"]
StartMode = Literal["first_time", "any_time"]
RetentionMode = Literal["bounded", "unbounded"]


class RetentionEvent(Strict):
    """The start or the return event: a named event, or any tracked event when ``None``."""

    event: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    filters: list[PropertyFilter] = Field(default_factory=list)


class RetentionSpec(Strict):
    kind: Literal["retention"] = "retention"
    start: RetentionEvent = Field(default_factory=RetentionEvent)
    start_mode: StartMode = "first_time"
    return_event: RetentionEvent = Field(default_factory=RetentionEvent)
    period: Period = "day"
    periods: Annotated[int, Field(ge=1, le=90, strict=True)] = 7  # reported after the cohort's
    date_range: DateRange  # the cohorts: periods whose first day is in the range
    mode: RetentionMode = "bounded"
    filters: list[PropertyFilter] = Field(default_factory=list)  # on every event
    breakdown: Breakdown | None = None


class RetentionCohort(BaseModel):
    period: str  # the cohort period's first local day, YYYY-MM-DD
    size: int
    retained: list[int | None]  # k = 0..periods; k = 0 is the size; None: not started by today


class RetentionBreakdown(BaseModel):
    value: str
    cohorts: list[RetentionCohort]
    average: list[float | None]


class RetentionResult(AnalysisResult):
    kind: Literal["retention"] = "retention"
    period: Period
    periods: int
    cohorts: list[RetentionCohort]  # every person, whatever their breakdown value
    average: list[float | None]  # per k: retained / size over the cohorts whose cell exists
    breakdown: list[RetentionBreakdown] = Field(default_factory=list)  # by persons, $other last

    def table(self) -> tuple[list[str], list[list[Any]]]:
        columns = ["cohort", "size", *(f"{self.period} {k}" for k in range(self.periods + 1))]
        if not self.breakdown:
            return columns, [[c.period, c.size, *c.retained] for c in self.cohorts]
        body = [[b.value, c.period, c.size, *c.retained] for b in self.breakdown
                for c in b.cohorts]  # fmt: skip
        return ["breakdown", *columns], body

    def footer(self) -> list[list[Any]]:
        if not self.breakdown:
            return [["average", sum(c.size for c in self.cohorts), *self.average]]
        return [[b.value, "average", sum(c.size for c in b.cohorts), *b.average]
                for b in self.breakdown]  # fmt: skip


# A local period as a number, so that period c + k is plain arithmetic: days since 1970-01-01,
# Monday-start weeks since the week of 1969-12-29 (1970-01-01 was a Thursday), months as
# year * 12 + month. ``_index`` and ``_first_day`` are the same numbering in Python.
_INDEX: dict[str, str] = {
    "day": "toInt32(toRelativeDayNum(toDate(%s, {tz:String})))",
    "week": "toInt32(intDiv(toRelativeDayNum(toDate(%s, {tz:String})) + 3, 7))",
    "month": "toInt32(toRelativeMonthNum(toDate(%s, {tz:String})))",
}
_EPOCH = dt.date(1970, 1, 1)


def _index(day: dt.date, period: Period) -> int:
    days = (day - _EPOCH).days
    if period == "day":
        return days
    if period == "week":
        return (days + 3) // 7
    return day.year * 12 + day.month


def _first_day(index: int, period: Period) -> dt.date:
    if period == "day":
        return _EPOCH + dt.timedelta(days=index)
    if period == "week":
        return _EPOCH + dt.timedelta(days=index * 7 - 3)
    year, month = divmod(index - 1, 12)
    return dt.date(year, month + 1, 1)


def run_retention(
    store: EventStore, project: Project, spec: RetentionSpec, today: dt.date | None = None
) -> RetentionResult:
    """Each cohort's size and return per period, overall and per breakdown value."""
    timezone = project.timezone
    today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    first, last = spec.date_range.dates(today)
    cohorts = [_index(bucket_start(label), spec.period)
               for label in bucket_labels(first, last, spec.period, timezone)
               if bucket_start(label) >= first]  # fmt: skip
    found: list[tuple[Any, ...]] = []
    if cohorts and cohorts[0] <= _index(today, spec.period):
        found = rows(store, *_query(project, spec, cohorts[0], cohorts[-1], today))
    # (value, cohort) -> (size, retained k = 1..N); ranks order the breakdown values.
    cells: dict[str, dict[int, tuple[int, list[int]]]] = {}
    ranks: dict[str, int] = {}
    for value, cohort, size, retained, rank in found:
        cells.setdefault(str(value), {})[int(cohort)] = (int(size), [int(n) for n in retained])
        ranks[str(value)] = int(rank)
    everyone: dict[int, tuple[int, list[int]]] = {}
    for by_cohort in cells.values():
        for cohort, (size, retained) in by_cohort.items():
            total, sums = everyone.get(cohort, (0, [0] * spec.periods))
            everyone[cohort] = (total + size, [a + b for a, b in zip(sums, retained, strict=True)])
    matrix, average = _matrix(everyone, cohorts, spec, today)
    breakdown = []
    if spec.breakdown is not None:
        for value in sorted(cells, key=lambda v: (ranks[v], v)):
            split, curve = _matrix(cells[value], cohorts, spec, today)
            breakdown.append(RetentionBreakdown(value=value, cohorts=split, average=curve))
    return RetentionResult(period=spec.period, periods=spec.periods, cohorts=matrix,
                           average=average, breakdown=breakdown)  # fmt: skip


def _matrix(
    counts: dict[int, tuple[int, list[int]]], cohorts: list[int], spec: RetentionSpec,
    today: dt.date,
) -> tuple[list[RetentionCohort], list[float | None]]:  # fmt: skip
    """The cohorts' rows, zero-filled, with None past today, and the weighted average curve."""
    now = _index(today, spec.period)
    out = []
    for cohort in cohorts:
        size, retained = counts.get(cohort, (0, [0] * spec.periods))
        cells: list[int | None] = [n if cohort + k <= now else None
                                   for k, n in enumerate([size, *retained])]  # fmt: skip
        period = str(_first_day(cohort, spec.period))
        out.append(RetentionCohort(period=period, size=size if cohort <= now else 0,
                                   retained=cells))  # fmt: skip
    average: list[float | None] = []
    for k in range(spec.periods + 1):
        shown = [(c.retained[k], c.size) for c in out if c.retained[k] is not None]
        people = sum(size for _, size in shown)
        average.append(sum(n or 0 for n, _ in shown) / people if people else None)
    return out, average


def _query(
    project: Project, spec: RetentionSpec, first: int, last: int, today: dt.date
) -> tuple[str, dict[str, Any]]:
    """One query: rows (breakdown value, cohort, size, [retained k = 1..N], rank)."""
    timezone, period = project.timezone, spec.period

    def start_of(index: int) -> dt.datetime:  # the UTC instant a local period starts
        return day_range(timezone, _first_day(index, period), None)[0]

    horizon = day_range(timezone, today, today)[1]  # nothing after today is seen
    starts = (start_of(first), min(start_of(last + 1), horizon))
    back_end = horizon if spec.mode == "unbounded" else start_of(last + spec.periods + 1)
    returns = (start_of(first + 1), min(back_end, horizon))
    q = Scope(project.id, timezone)
    value = q.breakdown_value(spec.breakdown) if spec.breakdown is not None else "''"
    events, every_start = _events(q, spec, starts, returns, value)
    persons, columns, join = _per_person(spec, events, value, every_start)
    periods = q.param(spec.periods, "UInt32")
    low, high = q.param(first, "Int32"), q.param(last, "Int32")
    hit = _returns(spec)[1]
    grouped = f"""
        SELECT value, cohort, count() AS size, sum(is_first) AS firsts,
               sumForEach(hits) AS retained
        FROM (
            SELECT {columns}, arrayMap(k -> toUInt32({hit}), range(1, {periods} + 1)) AS hits
            FROM ({persons}) {join}
            WHERE cohort >= {low} AND cohort <= {high}
        )
        GROUP BY value, cohort
    """  # noqa: S608
    if spec.breakdown is None:
        return f"SELECT value, cohort, size, retained, 1 FROM ({grouped})", q.params  # noqa: S608
    # The top values by distinct persons (ties by value); every other value is one $other.
    limit, other = q.param(spec.breakdown.top, "UInt32"), q.param(OTHER, "String")
    return f"""
        SELECT if(rank <= {limit}, value, {other}) AS bucket, cohort, sum(size),
               sumForEach(retained), min(least(rank, {limit} + 1))
        FROM (
            SELECT value, cohort, size, retained,
                   dense_rank() OVER (ORDER BY persons DESC, value) AS rank
            FROM (
                SELECT value, cohort, size, retained,
                       sum(firsts) OVER (PARTITION BY value) AS persons
                FROM ({grouped})
            )
        )
        GROUP BY bucket, cohort
    """, q.params  # noqa: S608  # fmt: skip


_UTC = "DateTime64(3, 'UTC')"


def _returns(spec: RetentionSpec, flag: str = "") -> tuple[str, str]:
    """The per-person aggregate of return periods (of rows where ``flag``), and the test
    "returned in period cohort + k (or later)". A person in many cohorts (any_time) keeps
    them in a bitmap: `has` on an array scans it for every cell, 1.5 times slower in all
    (measured); with one cohort per person (first_time) the array is cheaper to build."""
    if spec.mode == "unbounded":
        return f"maxIf(period, {flag}) AS last_return", "last_return >= cohort + k"
    if spec.start_mode == "any_time":
        return f"groupBitmapStateIf(toUInt32(period), {flag}) AS returns", \
            "bitmapContains(returns, toUInt32(cohort + k))"  # fmt: skip
    return f"groupUniqArrayIf(period, {flag}) AS returns", "has(returns, cohort + k)"


# The order of events "first by time, then by message id" as one string: the time's 8 bytes
# big-endian, then the id. argMin on it is twice as fast as on the tuple (measured).
_ORDER = "concat(reverse(reinterpretAsFixedString(toUInt64(" \
         "toUnixTimestamp64Milli(e.timestamp)))), e.message_id)"  # fmt: skip


def _carried(spec: RetentionSpec) -> str | None:
    """The raw column an event breakdown reads (kept for the first start event only, then
    read once per person or cohort, not once per event)."""
    if spec.breakdown is None or spec.breakdown.type != "event":
        return None
    return PROMOTED.get(spec.breakdown.key, "properties")


def _events(
    q: Scope, spec: RetentionSpec, starts: tuple[dt.datetime, dt.datetime],
    returns: tuple[dt.datetime, dt.datetime], value: str,
) -> tuple[str, bool]:  # fmt: skip
    """The start and return events, flagged, with their period and what the breakdown
    needs: the person's value, or the event's order and raw column; and whether every event
    read is a start event. (Conditions the scan already implies are left out, and a start
    event that is also the return event is tested once: measurably cheaper.)"""
    low = None if spec.start_mode == "first_time" else min(starts[0], returns[0])
    high = max(starts[1], returns[1])
    # first_time: the first start ever, so earlier events count too
    scan = [*([] if low is None else [f"e.timestamp >= {q.param(low, _UTC)}"]),
            f"e.timestamp < {q.param(high, _UTC)}"]  # fmt: skip

    def within(window: tuple[dt.datetime, dt.datetime] | tuple[None, dt.datetime]) -> list[str]:
        begin, end = window
        return [*([] if begin is None or (low is not None and begin <= low)
                  else [f"e.timestamp >= {q.param(begin, _UTC)}"]),
                *([] if end >= high else [f"e.timestamp < {q.param(end, _UTC)}"])]  # fmt: skip

    start_window = within((None, starts[1]) if spec.start_mode == "first_time" else starts)
    return_window = within(returns)
    start_match = _matches(q, spec.start)
    if spec.start == spec.return_event:  # the WHERE tests the event, the flags only times
        is_start = " AND ".join(start_window) or "1"
        is_return = " AND ".join(return_window) or "1"
        either = start_match if "1" in (is_start, is_return) \
            else f"{start_match} AND ({is_start} OR {is_return})"  # fmt: skip
    else:
        is_start = " AND ".join([start_match, *start_window])
        is_return = " AND ".join([_matches(q, spec.return_event), *return_window])
        either = "(is_start OR is_return)"
    every_start = is_start == "1"
    shared = [q.where(spec.filters)] if spec.filters else []
    carried, extra = _carried(spec), ""
    if carried is not None:  # `if` skips the work for return-only events
        extra = f", if(is_start, {_ORDER}, '') AS order_key, if(is_start, e.{carried}, '') AS raw"
    elif spec.breakdown is not None:
        extra = f", if(is_start, {value}, '') AS value"
    period = _INDEX[spec.period] % "e.timestamp"
    if spec.start_mode == "first_time":  # the cohort comes from the time: only returns need it
        period = f"if(is_return, {period}, 0)"
    where = " AND ".join(["e.project_id = {project:UInt32}", *scan, *shared, either])
    return f"""
        SELECT {q.person} AS person, {period} AS period, {is_start} AS is_start,
               {is_return} AS is_return, e.timestamp AS ts{extra}
        FROM {q.from_events()}
        WHERE {where}
    """, every_start  # noqa: S608  # fmt: skip


def _per_person(spec: RetentionSpec, events: str, value: str,
                every_start: bool = False) -> tuple[str, str, str]:  # fmt: skip
    """Per person: their cohorts with breakdown values, and their return periods as a bitmap
    (``returns``) or the latest one (``last_return``). Also the columns (cohort, value,
    is_first) of one row per person and cohort, and what follows FROM to make those rows.
    ``is_first`` marks one row per person and value: its sum counts distinct persons."""
    carried = _carried(spec)
    person_value = "anyIf(value, is_start)" if spec.breakdown is not None else "''"
    returned = "returned" if spec.start_mode == "any_time" and carried else "is_return"
    back = _returns(spec, returned)[0]
    if spec.start_mode == "first_time":
        # NULL, then -1, for a person with no start event: no cohort
        cohort = f"ifNull({_INDEX[spec.period] % 'minIfOrNull(ts, is_start)'}, -1)"
        if every_start:  # (no Nullable: measurably cheaper)
            cohort = _INDEX[spec.period] % "min(ts)"
        if carried is None:  # the person's value (or none): any start event has it
            return f"""
                SELECT {cohort} AS cohort, {person_value} AS person_value, {back}
                FROM ({events}) GROUP BY person
            """, "cohort, person_value AS value, 1 AS is_first", ""  # noqa: S608  # fmt: skip
        # ``value`` reads e.<carried>: here the first start event's, kept by argMin
        return f"""
            SELECT {cohort} AS cohort, argMinIf(raw, order_key, is_start) AS {carried}, {back}
            FROM ({events}) GROUP BY person
        """, f"cohort, {value} AS value, 1 AS is_first", "AS e"  # noqa: S608  # fmt: skip
    if carried is None:  # empty `starts` (no start in the range) make no rows
        return f"""
            SELECT groupUniqArrayIf(period, is_start) AS starts,
                   {person_value} AS person_value, {back}
            FROM ({events}) GROUP BY person
        """, "cohort, person_value AS value, n = 1 AS is_first", \
            "ARRAY JOIN starts AS cohort, arrayEnumerate(starts) AS n"  # noqa: S608  # fmt: skip
    # Each cohort has its own value, its first start event's: per person and period first.
    return f"""
        SELECT groupArrayIf((period, first_value), started) AS starts,
               arrayMap(x -> x.2, starts) AS values, {back}
        FROM (
            SELECT person, period, started, returned, {value} AS first_value
            FROM (
                SELECT person, period, max(is_start) AS started, max(is_return) AS returned,
                       argMinIf(raw, order_key, is_start) AS {carried}
                FROM ({events}) GROUP BY person, period
            ) AS e
        )
        GROUP BY person
    """, "entry.1 AS cohort, entry.2 AS value, indexOf(values, value) = n AS is_first", \
        "ARRAY JOIN starts AS entry, arrayEnumerate(starts) AS n"  # noqa: S608  # fmt: skip


def _matches(q: Scope, event: RetentionEvent) -> str:
    """The condition for one start or return event: its name (or any tracked event) and its
    own filters."""
    name = TRACKED if event.event is None else q.event_is(event.event)
    # (No "AND 1" without filters: it measurably slows ClickHouse's plan.)
    return f"({name}) AND {q.where(event.filters)}" if event.filters else f"({name})"
