"""Trends (事件分析): per time bucket, each series' count, unique persons, active persons over
a rolling week or month, a numeric property's aggregate or new persons; formulas over the
series (paying rate, ARPU); optionally split by a breakdown property and set beside the
previous period.

A series' *matching* events are its event (a name, ``$order`` for the project's order event,
None for every tracked event) with the spec's and the series' filters. Per math:

- ``total``: matching events. ``unique_persons`` and ``dau``: distinct persons with one.
- ``wau`` / ``mau``: for each day, distinct persons with one in the 7 / 30 local days ending
  that day, so the range's first days read events from before it (interval ``day`` only).
- ``sum``, ``avg``, ``median``, ``p90``, ``min``, ``max``: over ``property`` read as a number
  the way filters read one (numeric text counts); events without a number are skipped; the
  project's revenue property when ``property`` is unset. Quantiles interpolate linearly
  between the two nearest ranks (R-7: numpy's default, Excel's PERCENTILE.INC, ClickHouse's
  quantileExactInclusive): the q-quantile of sorted x_1..x_n is x_k + (h - k)(x_k+1 - x_k)
  with h = q(n - 1) + 1, k = floor(h); the median of an even count is the middle two's mean.
- ``per_person_avg``: matching events per person with one, in the bucket.
- ``first_time``: persons whose first matching event ever falls in the bucket (new users).

Every bucket of the range is in the result: 0 where nothing happened for counts and sums, None
(null) where a mean, quantile, minimum or maximum has nothing to take. Totals are the math over
the whole range (a person counted once), except that ``wau`` / ``mau`` total their last bucket;
a formula's total is the formula over the series' totals. A formula (``B / A``) is null in a
bucket where it divides by zero or an operand is null.

A breakdown splits every series by the same values: the top ``limit`` by events in the range
matching any series, then ``$other`` if any event has another value (a missing property is
``$none``). A first-time person counts under the value of their first event (ties broken by
message id). ``compare`` adds the previous period of the same length, split by this period's
values so that its lines match.

Each series is one query that computes its buckets and its total in one scan: per-bucket
aggregate states merged again by GROUPING SETS, so the total costs a merge of a few states.
With a breakdown, a lone series over the range's events (not wau / mau / first_time) also
picks the values in that scan: states per raw value and bucket, the values ranked by their
events with window functions, the rest merged into ``$other``. Otherwise one query ranks the
values first (``top_values``).
"""

from __future__ import annotations

import ast
import datetime as dt
import math as _math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NoReturn
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from userops.analysis.buckets import bucket_labels, bucket_sql
from userops.analysis.scope import TRACKED, Scope, top_values
from userops.analysis.spec import (
    OTHER,
    PER_PERSON,
    AnalysisResult,
    Breakdown,
    DateRange,
    Interval,
    PropertyFilter,
    PropertyKey,
    Strict,
)
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows

Math = Literal[
    "total", "unique_persons", "dau", "wau", "mau", "sum", "avg", "median", "p90", "min", "max",
    "per_person_avg", "first_time",
]  # fmt: skip

ORDER_EVENT = "$order"  # a series' stand-in for the project's order event
LETTERS = "ABCDEFGHIJKLMNOPQRST"  # formulas name series A, B, C, ... (at most 20 series)

# Per-bucket aggregate state (inner query) and how the buckets' states combine (outer query,
# once per bucket and once for the whole range). ``{x}`` is the property's number, ``{person}``
# the event's person; ``s`` and ``n`` are the inner query's columns.
_AGGREGATES: dict[str, tuple[str, str]] = {
    "sum": ("sum({x})", "sum(s)"),
    "avg": ("avgState({x})", "avgMerge(s)"),
    "median": ("quantileExactInclusiveState(0.5)({x})", "quantileExactInclusiveMerge(0.5)(s)"),
    "p90": ("quantileExactInclusiveState(0.9)({x})", "quantileExactInclusiveMerge(0.9)(s)"),
    "min": ("min({x})", "min(s)"),
    "max": ("max({x})", "max(s)"),
}
_COUNTS: dict[str, tuple[str, str]] = {
    "total": ("count()", "sum(s)"),
    "unique_persons": ("uniqExactState({person})", "uniqExactMerge(s)"),
    "dau": ("uniqExactState({person})", "uniqExactMerge(s)"),
    "per_person_avg": ("count() AS n, uniqExactState({person})", "sum(n) / uniqExactMerge(s)"),
}
PROPERTY_MATHS = frozenset(_AGGREGATES)
ROLLING_DAYS: dict[str, int] = {"wau": 7, "mau": 30}
# Maths with a value where nothing matched (0); means, quantiles and extremes have none.
_ZERO_WHEN_EMPTY = frozenset({"total", "unique_persons", "dau", "wau", "mau", "sum", "first_time"})


# -- formulas -------------------------------------------------------------------------------

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_UNARY = (ast.USub, ast.UAdd)


def parse_formula(expression: str) -> ast.expr:
    """The formula's syntax tree, checked to hold only series letters, finite numbers,
    ``+ - * /``, unary minus and parentheses. It is evaluated by ``evaluate``, never ``eval``."""
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"cannot read the formula: {exc.msg}") from None
    except ValueError:  # a NUL character
        raise ValueError("cannot read the formula") from None
    for node in ast.walk(tree):
        if not _allowed(node):
            found = ast.get_source_segment(expression.strip(), node) or type(node).__name__
            raise ValueError(f"a formula takes series letters (A, B, ...), numbers, + - * / and "
                             f"parentheses, not {found!r}")  # fmt: skip
    return tree


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _BINARY)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, _UNARY)
    if isinstance(node, ast.Name):
        return len(node.id) == 1 and "A" <= node.id <= "Z"
    if isinstance(node, ast.Constant):
        value = node.value
        return isinstance(value, int | float) and not isinstance(value, bool) \
            and _math.isfinite(value)  # fmt: skip
    return isinstance(node, (*_BINARY, *_UNARY, ast.Load))  # the operators, Name's context


def formula_letters(expression: str) -> set[str]:
    """The series letters a (valid) formula reads."""
    return {n.id for n in ast.walk(parse_formula(expression)) if isinstance(n, ast.Name)}


def evaluate(node: ast.expr, values: Mapping[str, float | None]) -> float | None:
    """A parsed formula over the series' values; None where an operand is None, a divisor is
    zero or the result is not a finite number."""
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = evaluate(node.operand, values)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.BinOp)
    left, right = evaluate(node.left, values), evaluate(node.right, values)
    if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
        return None
    if isinstance(node.op, ast.Add):
        result = left + right
    elif isinstance(node.op, ast.Sub):
        result = left - right
    elif isinstance(node.op, ast.Mult):
        result = left * right
    else:
        result = left / right
    return result if _math.isfinite(result) else None


# -- spec -----------------------------------------------------------------------------------


class EventSeries(Strict):
    """One series: its events (a name; ``$order`` for the project's order event; None for every
    tracked event, so ``unique_persons`` of None is active persons) and the math over them."""

    event: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    math: Math = "total"
    # The number sum ... max read; None reads the project's revenue property.
    property: PropertyKey | None = None
    filters: list[PropertyFilter] = Field(default_factory=list)
    label: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("property")
    @classmethod
    def _read_by_the_math(cls, value: str | None, info: ValidationInfo) -> str | None:
        math = info.data.get("math")
        if value is not None and math is not None and math not in PROPERTY_MATHS:
            raise ValueError(f"math {math} reads no property; only "
                             f"{', '.join(sorted(PROPERTY_MATHS))} do")  # fmt: skip
        return value


class Formula(Strict):
    """Arithmetic over the series by letter, A the first: ``B / A`` (paying rate with A active
    persons and B unique persons of ``$order``), ``C / A`` (ARPU with C the revenue sum)."""

    expression: Annotated[str, Field(min_length=1, max_length=200)]
    label: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_formula(value)
        return value


class TrendsSpec(Strict):
    kind: Literal["trends"] = "trends"
    series: Annotated[list[EventSeries], Field(min_length=1, max_length=len(LETTERS))]
    date_range: DateRange
    interval: Interval = "day"
    filters: list[PropertyFilter] = Field(default_factory=list)  # applied to every series
    formulas: Annotated[list[Formula], Field(max_length=20)] = Field(default_factory=list)
    breakdown: Breakdown | None = None
    compare: bool = False  # also the previous period of the same length

    @model_validator(mode="after")
    def _consistent(self) -> TrendsSpec:
        for n, series in enumerate(self.series):
            if series.math in ROLLING_DAYS and self.interval != "day":
                days = ROLLING_DAYS[series.math]
                _refuse(("series", n, "math"), series.math,
                        f"{series.math} counts the persons active in the {days} days up to "
                        "each day: use interval day")  # fmt: skip
        known = LETTERS[: len(self.series)]
        for n, formula in enumerate(self.formulas):
            unknown = sorted(formula_letters(formula.expression) - set(known))
            if unknown:
                _refuse(("formulas", n, "expression"), formula.expression,
                        f"no series {', '.join(unknown)}: the series are "
                        f"{'A' if len(known) == 1 else f'A to {known[-1]}'}")  # fmt: skip
        return self


def _refuse(loc: tuple[str | int, ...], value: Any, message: str) -> NoReturn:
    """Fail validation naming the field at ``loc``: a model validator's own error would name
    the whole spec, and the API turns the path into the 400's field."""
    error = PydanticCustomError("invalid_spec", message)  # our words only: no braces
    raise ValidationError.from_exception_data(
        "TrendsSpec", [InitErrorDetails(type=error, loc=loc, input=value)]
    )


# -- result ---------------------------------------------------------------------------------


class SeriesResult(BaseModel):
    """One line: a series or a formula, for one breakdown value when the spec splits them."""

    label: str
    values: list[float | None]  # per bucket; None where the math has no value
    total: float | None
    breakdown_value: str | None = None
    formula: str | None = None  # the expression, on a formula's line

    @property
    def column(self) -> str:
        value = self.breakdown_value
        return self.label if value is None else f"{self.label} ({value})"


class TrendsResult(AnalysisResult):
    kind: Literal["trends"] = "trends"
    interval: Interval
    buckets: list[str]  # local bucket starts: YYYY-MM-DD, or YYYY-MM-DD HH:00 for hours
    series: list[SeriesResult]
    previous: TrendsResult | None = None  # with compare: the period before, its own buckets

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """One row per bucket; with ``previous``, its buckets side by side, first by first (the
        periods may differ in their number of weeks or months, the shorter one is padded)."""
        header = ["bucket", *(s.column for s in self.series)]
        body: list[list[Any]] = [[bucket, *(s.values[i] for s in self.series)]
                                 for i, bucket in enumerate(self.buckets)]  # fmt: skip
        if self.previous is None:
            return header, body
        before_header, before = self.previous.table()
        both = [f"previous {before_header[0]}", *(f"{h} (previous)" for h in before_header[1:])]
        blank, before_blank = [None] * len(header), [None] * len(both)
        joined = [(body[i] if i < len(body) else blank)
                  + (before[i] if i < len(before) else before_blank)
                  for i in range(max(len(body), len(before)))]  # fmt: skip
        return header + both, joined

    def footer(self) -> list[list[Any]]:
        totals: list[Any] = ["total", *(s.total for s in self.series)]
        if self.previous is not None:
            totals += self.previous.footer()[0]
        return [totals]


# -- runner ---------------------------------------------------------------------------------


def run_trends(
    store: EventStore, project: Project, spec: TrendsSpec, today: dt.date | None = None
) -> TrendsResult:
    """Each series and formula per bucket of the range, with totals; split by the breakdown's
    top values and beside the previous period when the spec asks."""
    today = today or dt.datetime.now(ZoneInfo(project.timezone)).date()
    dates = spec.date_range.dates(today)
    values: list[str] | None = None
    measured: list[dict[str, _Measured]] | None = None
    if spec.breakdown is not None and _ranks_itself(spec):
        # One scan: the series per raw value, with the top values picked from the same rows.
        values, first = _measure_ranked(store, project, spec, spec.series[0], dates)
        measured = [first]
    elif spec.breakdown is not None:
        values = _breakdown_values(store, project, spec, dates)
    # The previous period is split by this period's values, so its lines match these.
    previous = None
    if spec.compare:
        previous = _period(store, project, spec, spec.date_range.previous(today), values)
    return _period(store, project, spec, dates, values, previous, measured)


@dataclass
class _Measured:
    """One series' numbers for one breakdown value, as the query returned them."""

    buckets: dict[str, float | None] = field(default_factory=dict)
    total: float | None = None


def _period(
    store: EventStore,
    project: Project,
    spec: TrendsSpec,
    dates: tuple[dt.date, dt.date],
    values: list[str] | None,
    previous: TrendsResult | None = None,
    measured: list[dict[str, _Measured]] | None = None,
) -> TrendsResult:
    """The period's lines; ``measured`` holds the series already measured, in order."""
    labels = bucket_labels(*dates, spec.interval, project.timezone)
    keys: Sequence[str | None] = values if values is not None else [None]
    lines: list[list[SeriesResult]] = []  # per series, one line per breakdown value
    for n, series in enumerate(spec.series):
        if measured is not None and n < len(measured):
            found = measured[n]
        else:
            found = _measure(store, project, spec, series, dates, values)
        lines.append([_line(project, series, found.get(key or "", _Measured()), labels, key)
                      for key in keys])  # fmt: skip
    formulas = [_formula_line(formula, [line[k] for line in lines], key)
                for formula in spec.formulas for k, key in enumerate(keys)]  # fmt: skip
    return TrendsResult(interval=spec.interval, buckets=labels, previous=previous,
                        series=[*(s for line in lines for s in line), *formulas])  # fmt: skip


def _line(project: Project, series: EventSeries, measured: _Measured, labels: list[str],
          key: str | None) -> SeriesResult:  # fmt: skip
    empty = 0.0 if series.math in _ZERO_WHEN_EMPTY else None
    values = [_or(measured.buckets.get(label), empty) for label in labels]
    if series.math in ROLLING_DAYS:
        total = values[-1] if values else empty
    else:
        total = _or(measured.total, empty)
    return SeriesResult(label=_label(project, series), values=values, total=total,
                        breakdown_value=key)  # fmt: skip


def _or(value: float | None, empty: float | None) -> float | None:
    return empty if value is None else value


def _label(project: Project, series: EventSeries) -> str:
    if series.label:
        return series.label
    if series.event is None and series.math == "unique_persons":
        return "active persons"
    name = ("any event" if series.event is None
            else project.order_event if series.event == ORDER_EVENT else series.event)  # fmt: skip
    if series.math in ("total", "unique_persons"):
        return name
    if series.math in PROPERTY_MATHS:
        return f"{name} {series.math}({series.property or project.revenue_property})"
    return f"{name} {series.math}"


def _formula_line(formula: Formula, operands: list[SeriesResult], key: str | None
                  ) -> SeriesResult:  # fmt: skip
    tree = parse_formula(formula.expression)
    width = len(operands[0].values)
    values = [evaluate(tree, {LETTERS[n]: s.values[i] for n, s in enumerate(operands)})
              for i in range(width)]  # fmt: skip
    total = evaluate(tree, {LETTERS[n]: s.total for n, s in enumerate(operands)})
    return SeriesResult(label=formula.label or formula.expression, values=values, total=total,
                        breakdown_value=key, formula=formula.expression)  # fmt: skip


# -- SQL ------------------------------------------------------------------------------------


def _measure(
    store: EventStore,
    project: Project,
    spec: TrendsSpec,
    series: EventSeries,
    dates: tuple[dt.date, dt.date],
    values: list[str] | None,
) -> dict[str, _Measured]:
    """The series' value per (breakdown value, bucket) and per breakdown value over the range,
    in one query; the breakdown value is '' when the spec does not split."""
    q = Scope(project.id, project.timezone)
    split = q.breakdown_bucket(spec.breakdown, values) if spec.breakdown and values else None
    if series.math in ROLLING_DAYS:
        sql = _rolling_sql(q, project, spec, series, dates, split)
    elif series.math == "first_time":
        sql = _first_time_sql(q, project, spec, series, dates, split)
    else:
        sql = _bucket_sql(q, project, spec, series, dates, split)
    return _measured(rows(store, sql, q.params))


def _measured(found: Sequence[Sequence[Any]]) -> dict[str, _Measured]:
    """Rows (value, bucket, whole, number, ...) by breakdown value."""
    out: dict[str, _Measured] = {}
    for value, bucket, whole, number, *_ in found:
        measured = out.setdefault(str(value), _Measured())
        clean = None if number is None or not _math.isfinite(number) else float(number)
        if whole:
            measured.total = clean
        else:
            measured.buckets[str(bucket)] = clean
    return out


def _ranks_itself(spec: TrendsSpec) -> bool:
    """Whether the one series' own query can pick the breakdown's values: its events are
    exactly those the values are ranked by (one series; a math over the range's events)."""
    return len(spec.series) == 1 and spec.series[0].math not in (*ROLLING_DAYS, "first_time")


def _measure_ranked(store: EventStore, project: Project, spec: TrendsSpec, series: EventSeries,
                    dates: tuple[dt.date, dt.date]) -> tuple[list[str], dict[str, _Measured]]:
    """The breakdown's values (as ``_breakdown_values`` picks them) and the series split by
    them, from one scan: per (raw value, bucket) the aggregate state and the event count;
    the raw values ranked by their events in the range (ties by value); all beyond the top
    ``limit`` merged into ``$other``. Rows carry each line's best rank, which orders them."""
    assert spec.breakdown is not None
    q = Scope(project.id, project.timezone)
    value = q.breakdown_value(spec.breakdown)
    limit, other = q.param(spec.breakdown.top, "UInt32"), q.param(OTHER, "String")
    state, merge = _state(q, project, series)
    columns = "s, n" if series.math == "per_person_avg" else "s"
    sql = f"""
        SELECT value, bucket, grouping(bucket) AS whole, {merge} AS v, min(rank) AS first
        FROM (
            SELECT if(rank <= {limit}, raw, {other}) AS value, bucket, {columns}, rank
            FROM (
                SELECT raw, bucket, {columns},
                       dense_rank() OVER (ORDER BY events DESC, raw) AS rank
                FROM (
                    SELECT raw, bucket, {columns}, sum(c) OVER (PARTITION BY raw) AS events
                    FROM ({_grouped(q, project, spec, series, dates, value, state, True)})
                )
            )
        )
        GROUP BY GROUPING SETS ((value, bucket), (value))
    """  # noqa: S608
    found = rows(store, sql, q.params)
    ranks = {str(row[0]): int(row[4]) for row in found}
    return sorted(ranks, key=lambda v: (ranks[v], v)), _measured(found)


def _matching(q: Scope, project: Project, series: EventSeries,
              filters: Sequence[PropertyFilter]) -> str:  # fmt: skip
    """The series' event and ``filters`` (no time window)."""
    if series.event is None:
        event = TRACKED
    else:
        event = q.event_is(project.order_event if series.event == ORDER_EVENT else series.event)
    # No "AND 1" when there are no filters: it measurably slowed ClickHouse's plan.
    return f"{event} AND {q.where(filters)}" if filters else event


def _source(q: Scope, spec: TrendsSpec, series: EventSeries) -> str:
    """The FROM clause; without the identity join when nothing needs the person (a plain
    count or a property's aggregate without person filters or breakdown), which halves it."""
    filters = [*spec.filters, *series.filters]
    needs_person = (series.math not in ("total", *PROPERTY_MATHS)
                    or (spec.breakdown is not None and spec.breakdown.type in PER_PERSON)
                    or any(f.type in PER_PERSON for f in filters))  # fmt: skip
    return q.from_events() if needs_person else "events AS e"


def _state(q: Scope, project: Project, series: EventSeries) -> tuple[str, str]:
    """The series' per-bucket aggregate state (columns ``s``, and ``n`` for per_person_avg)
    and how the buckets' states combine."""
    if series.math in _AGGREGATES:
        state, merge = _AGGREGATES[series.math]
        return state.format(x=q.number("event", series.property or project.revenue_property)), \
            merge  # fmt: skip
    state, merge = _COUNTS[series.math]
    return state.format(person=q.person), merge


def _grouped(q: Scope, project: Project, spec: TrendsSpec, series: EventSeries,
             dates: tuple[dt.date, dt.date], split: str | None, state: str,
             ranked: bool = False) -> str:  # fmt: skip
    """The series' aggregate state per bucket, or per split ``value`` and bucket; ``ranked``:
    per ``raw`` value and bucket, with the group's event count ``c``."""
    window = day_range(project.timezone, *dates)
    matching = _matching(q, project, series, [*spec.filters, *series.filters])
    name = "raw" if ranked else "value"
    inner = f"{split} AS {name}, " if split else ""
    count = ", count() AS c" if ranked else ""
    return f"""
        SELECT {inner}{bucket_sql(spec.interval)} AS bucket, {state} AS s{count}
        FROM {_source(q, spec, series)} WHERE {q.base(*window)} AND {matching}
        GROUP BY {f"{name}, " if split else ""}bucket
    """  # noqa: S608


def _bucket_sql(q: Scope, project: Project, spec: TrendsSpec, series: EventSeries,
                dates: tuple[dt.date, dt.date], split: str | None) -> str:  # fmt: skip
    """Per-bucket aggregate states, merged per bucket and over the range by GROUPING SETS."""
    state, merge = _state(q, project, series)
    inner = _grouped(q, project, spec, series, dates, split, state)
    return f"""
        SELECT {_value(split)}, bucket, grouping(bucket) AS whole, {merge} AS v
        FROM ({inner})
        GROUP BY {_sets(split)}
    """  # noqa: S608


def _first_time_sql(q: Scope, project: Project, spec: TrendsSpec, series: EventSeries,
                    dates: tuple[dt.date, dt.date], split: str | None) -> str:  # fmt: skip
    """Each person's first matching event ever (ties broken by message id, which also picks
    its breakdown value), counted in its bucket when it falls in the range."""
    start, end = day_range(project.timezone, *dates)
    matching = _matching(q, project, series, [*spec.filters, *series.filters])
    instant = "DateTime64(3, 'UTC')"
    before_end = f"e.project_id = {{project:UInt32}} AND e.timestamp < {q.param(end, instant)}"
    inner = f", argMin({split}, (e.timestamp, e.message_id)) AS value" if split else ""
    return f"""
        SELECT {_value(split)}, {bucket_sql(spec.interval, "first_at")} AS bucket,
               grouping(bucket) AS whole, count() AS v
        FROM (
            SELECT {q.person} AS person, min(e.timestamp) AS first_at{inner}
            FROM {q.from_events()} WHERE {before_end} AND {matching}
            GROUP BY person
            HAVING first_at >= {q.param(start, instant)}
        )
        GROUP BY {_sets(split)}
    """  # noqa: S608


def _rolling_sql(q: Scope, project: Project, spec: TrendsSpec, series: EventSeries,
                 dates: tuple[dt.date, dt.date], split: str | None) -> str:  # fmt: skip
    """Each person's active local days (from ``days - 1`` days before the range), each one
    counted on itself and the ``days - 1`` days after it that fall in the range."""
    days = ROLLING_DAYS[series.math]
    first, last = dates
    window = day_range(project.timezone, first - dt.timedelta(days=days - 1), last)
    matching = _matching(q, project, series, [*spec.filters, *series.filters])
    low, high = q.param(first, "Date"), q.param(last, "Date")
    inner = f"{split} AS value, " if split else ""
    return f"""
        SELECT {_value(split)}, toString(covered) AS bucket, 0 AS whole, uniqExact(person) AS v
        FROM (
            SELECT DISTINCT {inner}{q.person} AS person, toDate(e.timestamp, {{tz:String}}) AS day
            FROM {q.from_events()} WHERE {q.base(*window)} AND {matching}
        )
        ARRAY JOIN arrayMap(k -> day + k, range({days:d})) AS covered
        WHERE covered >= {low} AND covered <= {high}
        GROUP BY {"value, " if split else ""}covered
    """  # noqa: S608


# An unsplit query carries no constant value column through its aggregations (it measurably
# slowed the DISTINCT of wau / mau); its one line is the value ''.
def _value(split: str | None) -> str:
    return "value" if split else "'' AS value"


def _sets(split: str | None) -> str:
    """Each bucket, and the whole range (per breakdown value when split)."""
    return "GROUPING SETS ((value, bucket), (value))" if split else "GROUPING SETS ((bucket), ())"


def _breakdown_values(store: EventStore, project: Project, spec: TrendsSpec,
                      dates: tuple[dt.date, dt.date]) -> list[str]:  # fmt: skip
    """The values every series is split by: the breakdown's top ``limit`` values by events in
    the range matching any series, then ``$other`` when some event has another value. One
    list for all series keeps formulas' operands and the previous period's lines aligned."""
    assert spec.breakdown is not None
    q = Scope(project.id, project.timezone)
    any_series = " OR ".join(f"({_matching(q, project, s, s.filters)})" for s in spec.series)
    where = f"{q.base(*day_range(project.timezone, *dates))} AND ({any_series})"
    if spec.filters:
        where += f" AND {q.where(spec.filters)}"
    limit = spec.breakdown.top
    found = top_values(store, q, spec.breakdown, where, limit + 1)
    top = found[:limit]
    return [*top, OTHER] if len(found) > limit and OTHER not in top else top
