"""Overview (增长看板, the growth dashboard): the KPI board's metrics for a date range and the
period before it, plus the series its charts draw.

Metrics: DAU (the mean of the range's daily active persons), WAU and MAU (active persons in the
7 and 30 days ending on the range's last day), stickiness (DAU / MAU), new persons (first tracked
event ever in the range), D1/D7/D30 retention of those new persons, revenue, orders, paying
persons, paying rate, ARPU and ARPPU. Every day is a local day in the project's time zone, and
the spec's filters apply to every event considered, first events included: "new" means new to
the filtered event stream. A new person's channel is the utm_source of their first event with
one, up to the end of the range (a later touch did not bring them); ``$none`` if there is none.
Retention pools every cohort (new persons of one day d) whose day d+k has come by ``today``.

The whole board is one query and one scan of the events: an inner query folds each person's
events into their first day, the set of days they were active, their first touch and their
orders; the outer query turns those rows into one row of totals and per-day maps. The
dashboard loads it every time, so no metric gets a scan of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from userops.analysis.scope import TRACKED, Scope
from userops.analysis.spec import NONE, OTHER, AnalysisResult, DateRange, PropertyFilter, Strict
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows

# Retention offsets the curve covers: day d (the cohort's own day) to day d+30.
RETENTION_DAYS = 30
# Channels of new persons shown by name; the rest are folded into ``$other``.
TOP_CHANNELS = 10

METRICS = (
    "dau", "wau", "mau", "stickiness", "new_persons", "d1_retention", "d7_retention",
    "d30_retention", "revenue", "orders", "paying_persons", "paying_rate", "arpu", "arppu",
)  # fmt: skip


class OverviewSpec(Strict):
    kind: Literal["overview"] = "overview"
    date_range: DateRange
    # Event or person property filters, applied to every event the board considers.
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = Field(default_factory=list)


class Metric(BaseModel):
    name: str
    value: float | None
    previous: float | None  # the same metric over the period before (DateRange.previous)
    change: float | None  # (value - previous) / previous; None when previous is 0 or None


class ChannelCount(BaseModel):
    channel: str  # first-touch utm_source, ``$other`` beyond the top 10, ``$none`` if none
    persons: int


class OverviewResult(AnalysisResult):
    kind: Literal["overview"] = "overview"
    first: dt.date
    last: dt.date
    previous_first: dt.date
    previous_last: dt.date
    currency: str
    metrics: list[Metric]
    days: list[str]  # the range's local days, YYYY-MM-DD
    active_persons: list[int]  # per day
    new_persons: list[int]  # per day
    new_persons_by_channel: list[ChannelCount]
    retention_curve: list[float | None]  # k = 0..30: share of new persons active on day d+k

    def table(self) -> tuple[list[str], list[list[Any]]]:
        body: list[list[Any]] = [[m.name, m.value, m.previous, m.change] for m in self.metrics]
        return ["metric", "value", "previous", "change"], body

    def footer(self) -> list[list[Any]]:
        return [["currency", self.currency, None, None]]

    def metric(self, name: str) -> Metric:
        """The metric called ``name`` (one of ``METRICS``)."""
        return next(m for m in self.metrics if m.name == name)


@dataclass(frozen=True)
class _Period:
    """One period's totals (from the outer query; cohort sizes from new persons per day)."""

    first: dt.date
    last: dt.date
    active: int  # persons active on any day of the period
    wau: int
    mau: int
    retained: list[int]  # per offset k: new persons active on d+k, cohorts with d+k <= today
    cohort: list[int]  # per offset k: new persons of the cohorts with d+k <= today
    revenue: float
    orders: int
    paying: int


def run_overview(
    store: EventStore, project: Project, spec: OverviewSpec, today: dt.date | None = None
) -> OverviewResult:
    timezone = project.timezone
    today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    first, last = spec.date_range.dates(today)
    previous_first, previous_last = spec.date_range.previous(today)
    q = Scope(project.id, timezone)
    sql = _board_sql(q, project, spec, (previous_first, previous_last), (first, last), today)
    found = rows(store, sql, q.params)[0]
    active_by_day = dict(zip(found[0], found[1], strict=True))
    new_by_day = dict(zip(found[2], found[3], strict=True))
    by_channel = dict(zip(found[4], found[5], strict=True))
    previous = _period(previous_first, previous_last, today, new_by_day, found[6:13])
    current = _period(first, last, today, new_by_day, found[13:20])
    days = _days(first, last)
    return OverviewResult(
        first=first, last=last, previous_first=previous_first, previous_last=previous_last,
        currency=project.currency,
        metrics=_metrics(_values(current, active_by_day, new_by_day),
                         _values(previous, active_by_day, new_by_day)),
        days=[str(d) for d in days],
        active_persons=[int(active_by_day.get(d, 0)) for d in days],
        new_persons=[int(new_by_day.get(d, 0)) for d in days],
        new_persons_by_channel=_channels(by_channel),
        retention_curve=[_ratio(r, c) for r, c in zip(current.retained, current.cohort,
                                                         strict=True)],
    )  # fmt: skip


def _board_sql(
    q: Scope,
    project: Project,
    spec: OverviewSpec,
    previous: tuple[dt.date, dt.date],
    current: tuple[dt.date, dt.date],
    today: dt.date,
) -> str:
    """The one query: each person's first day, active days, first touch and orders (inner),
    folded into per-day maps and both periods' totals (outer)."""
    timezone = project.timezone
    # Days whose activity some metric reads: MAU's 30 days before either period's end, and
    # retention's day d+30 (up to today) after the current one.
    low = min(previous[0], previous[1] - dt.timedelta(days=29))
    high = max(current[1], min(current[1] + dt.timedelta(days=RETENTION_DAYS), today))
    moment = "DateTime64(3, 'UTC')"
    span_start = q.param(day_range(timezone, low, low)[0], moment)
    scan_end = q.param(day_range(timezone, high, high)[1], moment)
    range_end = q.param(day_range(timezone, *current)[1], moment)
    is_order = q.event_is(project.order_event)
    # if() evaluates its branch only where the condition holds (ClickHouse short-circuits
    # it), so the properties JSON is parsed for orders only, not for every event; an ifNull
    # inside the branch stops that (3 to 4 times slower, measured), hence ifNull(sum(...)).
    # ``order_revenue`` is parsed once per order for both periods' sums.
    revenue = q.number("event", project.revenue_property)
    in_previous = f"{is_order} AND {q.window(*day_range(timezone, *previous))}"
    in_current = f"{is_order} AND {q.window(*day_range(timezone, *current))}"
    in_either = f"{is_order} AND {q.window(*day_range(timezone, previous[0], current[1]))}"
    touch = f"e.utm_source != '' AND e.timestamp < {range_end}"
    where = q.where(spec.filters)
    inner = f"""
        SELECT {q.person} AS person,
            toDate(min(e.timestamp), {{tz:String}}) AS first_day,
            groupUniqArrayIf(toDate(e.timestamp, {{tz:String}}), e.timestamp >= {span_start})
                AS days,
            minIf(if({touch}, {_TOUCH_KEY}, ''), {touch}) AS touch,
            ifNull(sumIf(if({in_either}, {revenue}, NULL) AS order_revenue, {in_previous}), 0)
                AS previous_revenue,
            countIf({in_previous}) AS previous_orders,
            ifNull(sumIf(order_revenue, {in_current}), 0) AS revenue,
            countIf({in_current}) AS orders
        FROM {q.from_events()}
        WHERE e.project_id = {{project:UInt32}} AND e.timestamp < {scan_end}
          AND {TRACKED} AND {where}
        GROUP BY person
        HAVING notEmpty(days)
    """  # noqa: S608
    first, last = q.param(current[0], "Date"), q.param(current[1], "Date")
    source = "substring(touch, position(touch, ' ') + 1)"
    channel = f"if(touch = '', {q.param(NONE, 'String')}, {source})"
    one = "[toUInt64(1)]"
    columns = [
        "tupleElement(sumMap(days, arrayMap(d -> toUInt64(1), days)) AS active, 1)",
        "tupleElement(active, 2)",
        f"tupleElement(sumMapIf([first_day], {one}, first_day >= {q.param(low, 'Date')})"
        " AS new, 1)",
        "tupleElement(new, 2)",
        f"tupleElement(sumMapIf([{channel}], {one}, first_day BETWEEN {first} AND {last})"
        " AS channels, 1)",
        "tupleElement(channels, 2)",
        *_period_columns(q, previous, today, "previous_revenue", "previous_orders"),
        *_period_columns(q, current, today, "revenue", "orders"),
    ]
    return f"SELECT {', '.join(columns)} FROM ({inner})"  # noqa: S608


# A first touch as one string that sorts as (timestamp, message id) and ends with the source:
# min() of it is the first event with a utm_source, ties broken by message id, at a tenth of
# the cost of argMin over a (timestamp, message_id) tuple (measured with chDB). The
# timestamp, shifted by 2^62 ms to be positive, is always 16 hex digits; the message id is in
# hex, whose order is the bytes' order, so ' ' after it sorts below any longer id.
_TOUCH_KEY = (
    "concat(hex(toUInt64(toUnixTimestamp64Milli(e.timestamp) + 4611686018427387904)), "
    "hex(e.message_id), ' ', e.utm_source)"
)


def _period_columns(
    q: Scope, period: tuple[dt.date, dt.date], today: dt.date, revenue: str, orders: str
) -> list[str]:
    """Seven columns of one period's totals, in ``_period``'s order."""
    first, last = q.param(period[0], "Date"), q.param(period[1], "Date")
    # Per new person, a 0/1 flag for each offset k whose day d+k has come (the array stops
    # there); summed, the count back on day d+k over every cohort it has come for. Other
    # persons get [] (if() short-circuits), so only new persons pay for the lookups.
    come = f"least({RETENTION_DAYS + 1}, greatest(0, {q.param(today, 'Date')} - first_day + 1))"
    back = f"arrayMap(k -> toUInt64(has(days, first_day + k)), range(toUInt64({come})))"
    return [
        f"countIf(arrayExists(d -> d BETWEEN {first} AND {last}, days))",
        f"countIf(arrayExists(d -> d BETWEEN {last} - 6 AND {last}, days))",
        f"countIf(arrayExists(d -> d BETWEEN {last} - 29 AND {last}, days))",
        f"sumForEach(if(first_day BETWEEN {first} AND {last}, {back}, []))",
        f"sum({revenue})",
        f"sum({orders})",
        f"countIf({orders} > 0)",
    ]


def _period(
    first: dt.date,
    last: dt.date,
    today: dt.date,
    new_by_day: dict[dt.date, int],
    found: tuple[Any, ...],
) -> _Period:
    active, wau, mau, back, revenue, orders, paying = found
    retained = [int(n) for n in back] + [0] * (RETENTION_DAYS + 1 - len(back))
    # The cohorts whose day d+k has come, for each k: every new person of those days.
    cohort = [sum(new_by_day.get(d, 0) for d in _days(first, last) if (today - d).days >= k)
              for k in range(RETENTION_DAYS + 1)]  # fmt: skip
    return _Period(first=first, last=last, active=int(active), wau=int(wau), mau=int(mau),
                   retained=retained, cohort=cohort, revenue=float(revenue),
                   orders=int(orders), paying=int(paying))  # fmt: skip


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _values(
    period: _Period, active_by_day: dict[dt.date, int], new_by_day: dict[dt.date, int]
) -> dict[str, float | None]:
    days = _days(period.first, period.last)
    dau = sum(active_by_day.get(d, 0) for d in days) / len(days)
    return {
        "dau": dau,
        "wau": float(period.wau),
        "mau": float(period.mau),
        "stickiness": _ratio(dau, period.mau),
        "new_persons": float(sum(new_by_day.get(d, 0) for d in days)),
        "d1_retention": _ratio(period.retained[1], period.cohort[1]),
        "d7_retention": _ratio(period.retained[7], period.cohort[7]),
        "d30_retention": _ratio(period.retained[30], period.cohort[30]),
        "revenue": period.revenue,
        "orders": float(period.orders),
        "paying_persons": float(period.paying),
        "paying_rate": _ratio(period.paying, period.active),
        "arpu": _ratio(period.revenue, period.active),
        "arppu": _ratio(period.revenue, period.paying),
    }


def _metrics(current: dict[str, float | None], previous: dict[str, float | None]) -> list[Metric]:
    out = []
    for name in METRICS:
        value, before = current[name], previous[name]
        change = None if value is None or not before else (value - before) / before
        out.append(Metric(name=name, value=value, previous=before, change=change))
    return out


def _channels(counts: dict[str, int]) -> list[ChannelCount]:
    """The top channels by new persons (ties by name), then ``$other``, then ``$none``: the
    persons without any utm_source stay apart, as they are not a channel that lost out."""
    named = sorted(((-int(n), c) for c, n in counts.items() if c != NONE))
    out = [ChannelCount(channel=c, persons=-n) for n, c in named[:TOP_CHANNELS]]
    rest = sum(-n for n, _ in named[TOP_CHANNELS:])
    if rest:
        out.append(ChannelCount(channel=OTHER, persons=rest))
    if counts.get(NONE):
        out.append(ChannelCount(channel=NONE, persons=int(counts[NONE])))
    return out


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
