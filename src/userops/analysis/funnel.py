"""Funnels (漏斗分析): how many persons did the steps, in order, within a conversion window.

A person *enters* with a first-step event in the date range (local dates); later steps may
complete up to the window after the range ends. Times have millisecond precision, and a step
exactly one window after the entry still counts. Shared ``filters`` apply to every event the
funnel looks at (steps, exclusions, and in strict mode the events in between). Three modes:

- ``ordered``: ClickHouse ``windowFunnel(window)``, computed by ``windowFunnel`` itself over each
  person's step events. Events with equal times count in step order, and one event counts for
  consecutive steps it matches (in view -> view, one view is both steps).
- ``strict``: consecutive steps must be consecutive events of the person: their tracked events
  and step events, in time order (equal times: other events first, then in step order). This is
  PostHog's strict order; ``windowFunnel``'s ``strict_order`` is not, as it gives up at the first
  other event after *any* first step (A X A B is one step there, two here).
- ``unordered``: the person did k distinct steps, in any order, within one window that starts at
  one of their step events in the range (PostHog's unordered funnel; again one event counts for
  every step it matches).

An *attempt* starts at each entering event (unordered: each step event) and takes each later
step at its first event at or after the previous step (unordered: each step's first event at or
after the start); a person reaches step k when some attempt does, which for ``ordered`` is
exactly windowFunnel's level. Exclusions (PostHog's, per attempt): an exclusion event strictly
after the attempt's ``from_step`` and strictly before its ``to_step`` (or, if the attempt never
got there, up to its window's end) stops that attempt at ``from_step``. PostHog then drops the
person from the whole funnel; here they still count for the steps up to ``from_step``.

Time to convert is the first conversion's: from the latest entry that completes the last step
at the earliest moment any attempt does. A breakdown by an event property takes the value of the
person's first entering event (equal times: the smallest value); by a person property, their
current trait. One query computes each person's level on their arrays of events; for
ordered funnels without exclusions (the fast path) it is windowFunnel's, and the time to
convert is taken in numpy from the converted persons' events only, which the query returns.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from userops.analysis.scope import TRACKED, Scope
from userops.analysis.spec import (
    OTHER,
    PER_PERSON,
    AnalysisResult,
    Breakdown,
    DateRange,
    PropertyFilter,
    Strict,
)
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore

FunnelMode = Literal["ordered", "strict", "unordered"]
WindowUnit = Literal["second", "minute", "hour", "day"]

UNIT_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
MAX_WINDOW_SECONDS = 90 * 86400
MAX_STEPS = 20
MAX_OFFSET = 1_000_000  # persons are paged from a sorted sample of offset + limit per group
MAX_BINS = 15
# Histogram bin widths in milliseconds: the narrowest that covers the range in MAX_BINS bins.
_NICE_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
            60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
            10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
            1_209_600_000, 2_592_000_000, 7_776_000_000)  # fmt: skip

EventName = Annotated[str, Field(min_length=1, max_length=200)]
Layer = list[tuple[str, str]]  # SQL expressions by name, computed together


class FunnelStep(Strict):
    event: EventName
    filters: list[PropertyFilter] = Field(default_factory=list)
    label: str | None = None


class ConversionWindow(Strict):
    """The time allowed from the first step to the last (转化窗口期): 1 second to 90 days."""

    value: Annotated[int, Field(ge=1)]
    unit: WindowUnit = "day"

    @model_validator(mode="after")
    def _at_most_90_days(self) -> ConversionWindow:
        if self.seconds > MAX_WINDOW_SECONDS:
            raise ValueError(f"conversion window {self.value} {self.unit}(s) is longer than "
                             "90 days")  # fmt: skip
        return self

    @property
    def seconds(self) -> int:
        return self.value * UNIT_SECONDS[self.unit]


class FunnelExclusion(Strict):
    """Persons whose attempt has this event between steps ``from_step`` and ``to_step``
    (0-based) do not convert past ``from_step`` in that attempt."""

    event: EventName
    filters: list[PropertyFilter] = Field(default_factory=list)
    from_step: Annotated[int, Field(ge=0)]
    to_step: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _from_before_to(self) -> FunnelExclusion:
        if self.from_step >= self.to_step:
            raise ValueError(f"from_step ({self.from_step}) must be before to_step "
                             f"({self.to_step})")  # fmt: skip
        return self


class FunnelPersons(Strict):
    """List the persons who reached ``step`` (0-based; ``converted``) or reached the step
    before it but not it (``dropped``), by person id, one page at a time."""

    step: Annotated[int, Field(ge=0)]
    status: Literal["converted", "dropped"] = "converted"
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


class FunnelSpec(Strict):
    kind: Literal["funnel"] = "funnel"
    steps: Annotated[list[FunnelStep], Field(min_length=2, max_length=MAX_STEPS)]
    date_range: DateRange  # when persons enter (step 1)
    window: ConversionWindow = ConversionWindow(value=14, unit="day")
    mode: FunnelMode = "ordered"
    exclusions: Annotated[list[FunnelExclusion], Field(max_length=20)] = Field(
        default_factory=list)  # fmt: skip
    filters: list[PropertyFilter] = Field(default_factory=list)  # every step and exclusion
    breakdown: Breakdown | None = None
    persons: FunnelPersons | None = None

    # Field validators (run after ``steps``) so that an error's path names the field.
    @field_validator("exclusions")
    @classmethod
    def _exclusions_fit(cls, value: list[FunnelExclusion],
                        info: ValidationInfo) -> list[FunnelExclusion]:  # fmt: skip
        last = _last_step(info)
        for n, exclusion in enumerate(value):
            if last is not None and exclusion.to_step > last:
                raise ValueError(f"exclusions.{n}.to_step is {exclusion.to_step}, but the last "
                                 f"step is {last} (steps count from 0)")  # fmt: skip
        return value

    @field_validator("persons")
    @classmethod
    def _persons_fit(cls, value: FunnelPersons | None,
                     info: ValidationInfo) -> FunnelPersons | None:  # fmt: skip
        last = _last_step(info)
        if value is not None and last is not None and value.step > last:
            raise ValueError(f"persons.step is {value.step}, but the last step is {last} "
                             "(steps count from 0)")  # fmt: skip
        if value is not None and value.status == "dropped" and value.step == 0:
            raise ValueError("persons.step 0 with status dropped: no one drops before the first "
                             "step")  # fmt: skip
        return value


def _last_step(info: ValidationInfo) -> int | None:
    """The last step's index, if the steps were valid."""
    steps = info.data.get("steps")
    return len(steps) - 1 if steps is not None else None


class FunnelStepResult(BaseModel):
    label: str
    event: str
    count: int  # persons reaching the step
    conversion_from_previous: float  # share of the previous step's persons (1 on step 1)
    conversion_from_first: float


class HistogramBin(BaseModel):
    start: float  # seconds, inclusive
    end: float  # seconds, exclusive
    count: int


class TimeToConvert(BaseModel):
    """Seconds from entering to the last step, over the persons who converted."""

    median: float | None
    mean: float | None
    histogram: list[HistogramBin]


class FunnelBlock(BaseModel):
    breakdown: str | None  # None: every person
    steps: list[FunnelStepResult]
    overall_conversion: float
    time_to_convert: TimeToConvert


class FunnelResult(AnalysisResult):
    kind: Literal["funnel"] = "funnel"
    mode: FunnelMode
    total: FunnelBlock
    breakdown: list[FunnelBlock] = Field(default_factory=list)  # top values, then $other
    persons: list[int] | None = None
    persons_total: int | None = None

    def table(self) -> tuple[list[str], list[list[Any]]]:
        columns = ["step", "label", "event", "count", "conversion_from_previous",
                   "conversion_from_first"]  # fmt: skip
        blocks = self.breakdown or [self.total]
        body = [[*([b.breakdown] if self.breakdown else []), n, s.label, s.event, s.count,
                 s.conversion_from_previous, s.conversion_from_first]
                for b in blocks for n, s in enumerate(b.steps)]  # fmt: skip
        return (["breakdown", *columns] if self.breakdown else columns), body

    def footer(self) -> list[list[Any]]:
        ttc = self.total.time_to_convert
        return [["overall conversion", self.total.overall_conversion],
                ["median seconds to convert", ttc.median],
                ["mean seconds to convert", ttc.mean]]  # fmt: skip


def run_funnel(
    store: EventStore, project: Project, spec: FunnelSpec, today: dt.date | None = None
) -> FunnelResult:
    timezone = project.timezone
    today = today or dt.datetime.now(ZoneInfo(timezone)).date()
    start, end = day_range(timezone, *spec.date_range.dates(today))
    q = Scope(project.id, timezone)
    query = FunnelQuery(q, spec, start, end)
    groups = _groups(store.arrow(query.sql(), q.params), query)
    return _result(spec, groups)


class FunnelQuery:
    """The one query: events per person -> each person's level (and, off the fast path, time
    to convert) -> persons per (breakdown value, level), with the converted persons' times or,
    on the fast path, their sorted events (``converted``), from which ``_first_conversions``
    takes the times.

    Times are milliseconds since the range start. An event travels as one UInt64, time << bits
    | mask (a tuple if that would not fit), its mask holding a bit per step and exclusion it
    matches. On the fast path (ordered, no exclusions) ``windowFunnel`` gives the level and
    nothing else is computed per person; elsewhere the arrays give the level and the time."""

    def __init__(self, q: Scope, spec: FunnelSpec, start: dt.datetime, end: dt.datetime) -> None:
        self.q, self.spec = q, spec
        self.n = len(spec.steps)
        self.bits = self.n + len(spec.exclusions)
        self.start, self.end = start, end
        self.window_ms = spec.window.seconds * 1000
        self.span = _ms(end) - _ms(start) + self.window_ms
        self.packed = self.span.bit_length() + self.bits <= 63
        self.w = q.param(self.window_ms, "Int64")
        self.entry_end_ms = _ms(end) - _ms(start)
        self.entry_end = q.param(self.entry_end_ms, "Int64")
        self.ts = f"(toUnixTimestamp64Milli(e.timestamp) - {q.param(_ms(start), 'Int64')})"
        # (Without exclusions every span fits: 39 bits of milliseconds cover ten years.)
        self.fast = spec.mode == "ordered" and not spec.exclusions and self.packed

    def sql(self) -> str:
        persons = ""
        if self.spec.persons is not None:
            keep = self.q.param(self.spec.persons.offset + self.spec.persons.limit, "UInt64")
            persons = f", groupArraySorted({keep})(person) AS first_persons"
        if not self.fast:
            return f"""
                SELECT value, level, count() AS persons,
                       groupArrayIf(ttc, level = {self.n}) AS times {persons}
                FROM ({self._per_person()})
                WHERE level > 0
                GROUP BY value, level
            """  # noqa: S608
        # windowFunnel itself over each person's events, as arrayReduce: one aggregation state
        # per person, not two (measured faster than windowFunnel in the GROUP BY beside
        # groupArray). The events sorted first: windowFunnel then need not sort, which saves
        # more than the sort costs (measured). Only the converted persons' events leave the
        # query, for their times to convert. (Skipping windowFunnel for persons without the
        # first two steps, known from a groupBitOr, measured slower.)
        return f"""
            SELECT value, level, count() AS persons,
                   groupArrayIf(evs, level = {self.n}) AS converted {persons}
            FROM (
                SELECT person, value, evs, {self._window_funnel()} AS level
                FROM (SELECT person, value, arraySort(evs) AS evs FROM ({self._events()}))
            )
            WHERE level > 0
            GROUP BY value, level
        """  # noqa: S608

    def person_levels(self) -> str:
        """A subquery of ``person`` and ``level`` (steps reached, 0 to n) for every person with
        a step event: what segments' funnel conditions read (``userops.segments.funnels``)."""
        if self.fast:
            return f"""
                SELECT person, {self._window_funnel()} AS level
                FROM (SELECT person, arraySort(evs) AS evs FROM ({self._events()}))
            """  # noqa: S608
        return f"SELECT person, level FROM ({self._per_person()})"  # noqa: S608

    def _window_funnel(self) -> str:
        """``windowFunnel(window)`` over the person's events ``evs``; a first step counts only
        in the date range."""
        bits = self.bits
        conditions = [f"arrayMap(x -> bitTest(x, 0) AND bitShiftRight(x, {bits}) < "
                      f"{self.entry_end}, evs)"]  # fmt: skip
        conditions += [f"arrayMap(x -> bitTest(x, {k}), evs)" for k in range(1, self.n)]
        function = self.q.param(f"windowFunnel({self.window_ms})", "String")
        # 32-bit times where they fit (spans under 49 days): a smaller state, measured faster
        time = "toUInt32" if self.span < 1 << 32 else ""
        return (f"arrayReduce({function}, arrayMap(x -> {time}(bitShiftRight(x, {bits})), evs), "
                f"{', '.join(conditions)})")  # fmt: skip

    # -- the events, per person -------------------------------------------------------------

    def _mask(self) -> str:
        """The event's bits: step k at bit k, exclusion j at bit steps + j. The event name's
        bits come from one lookup (on the LowCardinality dictionary); a step's or exclusion's
        own filters clear its bit where they fail."""
        q = self.q
        items: list[FunnelStep | FunnelExclusion] = [*self.spec.steps, *self.spec.exclusions]
        names = sorted({item.event for item in items})
        bits = [sum(1 << b for b, item in enumerate(items) if item.event == name)
                for name in names]  # fmt: skip
        mask = (f"transform(e.event, {q.param(names, 'Array(String)')}, "
                f"{q.param(bits, 'Array(UInt64)')}, toUInt64(0))")  # fmt: skip
        filtered = [(b, item) for b, item in enumerate(items) if item.filters]
        if not filtered:
            return mask
        kept = sum(1 << b for b in range(len(items))) - sum(1 << b for b, _ in filtered)
        passed = " + ".join(f"bitShiftLeft(toUInt64({q.where(item.filters)}), {b})"
                            for b, item in filtered)  # fmt: skip
        return f"bitAnd({mask}, {kept} + {passed})"

    def _events(self) -> str:
        q, spec, ts, n = self.q, self.spec, self.ts, self.n
        mask = self._mask()  # (before from_events(): its filters may join person properties)
        end = q.param(self.end, "DateTime64(3, 'UTC')")
        entry = f"(bitTest(_mask, 0) AND e.timestamp < {end})"
        names = q.param(sorted({s.event for s in spec.steps} | {x.event for x in spec.exclusions}),
                        "Array(String)")  # fmt: skip
        where = [
            q.base(self.start, self.end + dt.timedelta(milliseconds=self.window_ms)),
            *([q.where(spec.filters)] if spec.filters else []),
            f"e.event IN {names}",
        ]
        event = f"bitOr(bitShiftLeft(toUInt64({ts}), {self.bits}), _mask)" if self.packed \
            else f"({ts}, _mask)"  # fmt: skip
        collect = f"groupArrayIf({event}, _mask != 0) AS evs"
        if spec.mode == "strict":  # any other tracked event breaks a strict sequence
            where[-1] = f"({TRACKED} OR {where[-1]})"
            collect = f"groupArray({event}) AS evs"
        elif self.fast:
            collect = f"groupArray({event}) AS evs"
        value = "''"
        if spec.breakdown is not None:
            # The entering event: a first step, or in unordered funnels any step, in the range.
            if spec.mode == "unordered":
                entry = f"(bitAnd(_mask, {(1 << n) - 1}) != 0 AND e.timestamp < {end})"
            value = self._breakdown(spec.breakdown, entry)
        return f"""
            WITH {mask} AS _mask
            SELECT {q.person} AS person, {collect}, {value} AS value
            FROM {q.from_events()}
            WHERE {" AND ".join(where)}
            GROUP BY person
        """  # noqa: S608

    def _breakdown(self, breakdown: Breakdown, entry: str) -> str:
        value = self.q.breakdown_value(breakdown)
        if breakdown.type in PER_PERSON:  # the person's trait or membership: on every row
            return f"any({value})"
        # The value on the person's first entering event (equal times: the smallest value);
        # if() so that only entering events' properties are read.
        return f"minIf((e.timestamp, if({entry}, {value}, '')), {entry}).2"

    # -- each person's level and time to convert, from their sorted events -------------------

    def _per_person(self) -> str:
        layers = self._arrays()
        levels = self._attempt_levels(layers)
        layers[-1] += self._time_to_convert(levels)
        return f"""
            SELECT person, value, arrayMax({levels}) AS level, _ttc AS ttc
            FROM ({_layered(self._events(), layers)})
        """  # noqa: S608

    def _sorted(self) -> list[Layer]:
        """The person's events in (time, mask) order: times ``_t``, masks ``_m``, positions
        ``_i``. (Lambdas below avoid reading other arrays at computed positions where an
        element-wise form exists: ClickHouse runs those much faster.)"""
        if self.packed:
            split = [("_t", f"arrayMap(x -> toInt64(bitShiftRight(x, {self.bits})), _e)"),
                     ("_m", f"arrayMap(x -> bitAnd(x, {(1 << self.bits) - 1}), _e)")]  # fmt: skip
        else:
            split = [("_t", "arrayMap(x -> x.1, _e)"), ("_m", "arrayMap(x -> x.2, _e)")]
        return [
            [("_e", "arraySort(evs)")],
            [*split, ("_i", "arrayEnumerate(evs)")],
            # The last position of each position's run of equal times.
            [("_h", "arrayReverseFill(x -> x > 0, arrayMap((i, t, u) -> if(t != u, i, 0), _i, "
                    "_t, arrayResize(arrayPopFront(_t), length(_t), -1)))")],
        ]  # fmt: skip

    def _arrays(self) -> list[Layer]:
        """For each attempt (by start position p), ``_p{k}[p]``: the position of its k-th step
        (0: not reached)."""
        n, w = self.n, self.w
        layers = self._sorted()
        # The first position of each position's run of equal times; _np{bit}[i], the first
        # position at or after i whose event matches ``bit`` (0: none).
        first = ("arrayFill(x -> x > 0, arrayMap((i, t, u) -> if(t != u, i, 0), _i, _t, "
                 "arrayResize(arrayPushFront(_t, -1), length(_t))))")  # fmt: skip
        layers[-1] += [("_g", first)]
        layers[-1] += [(f"_np{b}", "arrayReverseFill(x -> x > 0, "
                                   f"arrayMap((i, b) -> if(bitTest(b, {b}), i, 0), _i, _m))")
                       for b in range(self.bits)]  # fmt: skip
        if self.spec.mode == "unordered":
            return [*layers, self._unordered()]
        defs = [("_p1", f"arrayMap((i, t, b) -> if(bitTest(b, 0) AND t < {self.entry_end}, "
                        "i, 0), _i, _t, _m)")]  # fmt: skip
        for k in range(2, n + 1):
            if self.spec.mode == "strict":  # the very next event must be step k
                step = (f"arrayMap((q, b, t, t0) -> if(q != 0 AND bitTest(b, {k - 1}) "
                        f"AND t <= t0 + {w}, q + 1, 0), _p{k - 1}, arrayShiftLeft(_m, {k - 1}), "
                        f"arrayShiftLeft(_t, {k - 1}), _t)")  # fmt: skip
            else:  # the first step-k event at or after step k-1's time
                defs.append((f"_r{k}", f"arrayMap(q -> _np{k - 1}[_g[q]], _p{k - 1})"))
                step = (f"arrayMap((r, t0) -> if(r != 0 AND _t[r] <= t0 + {w}, r, 0), "
                        f"_r{k}, _t)")  # fmt: skip
            defs.append((f"_p{k}", step))
        return [*layers, defs]

    def _unordered(self) -> Layer:
        """An attempt per anchor (any step event in the range): each step's first event at or
        after the anchor, within the window; ``_p{k}`` is the k-th of them in time."""
        n, w = self.n, self.w
        defs = [("_s", f"arrayMap((t, b) -> bitAnd(b, {(1 << n) - 1}) != 0 "
                       f"AND t < {self.entry_end}, _t, _m)")]  # fmt: skip
        for k in range(1, n + 1):
            # (time, position) of step k's first event at or after the anchor, or (inf, 0)
            defs += [
                (f"_u{k}", f"arrayMap(g -> _np{k - 1}[g], _g)"),
                (f"_v{k}", f"arrayMap((u, t0, ok) -> if(ok AND u != 0 AND _t[u] <= t0 + {w}, "
                           f"(_t[u], u), ({_INF}, 0)), _u{k}, _t, _s)"),
            ]  # fmt: skip
        vs = ", ".join(f"v{k}" for k in range(1, n + 1))
        arrays = ", ".join(f"_v{k}" for k in range(1, n + 1))
        defs.append(("_c", f"arrayMap(({vs}) -> arraySort([{vs}]), {arrays})"))
        return defs + [(f"_p{k}", f"arrayMap(c -> c[{k}].2, _c)") for k in range(1, n + 1)]

    def _attempt_levels(self, layers: list[Layer]) -> str:
        """Adds a layer with each attempt's level, capped by the exclusions; returns its
        alias."""
        n, w = self.n, self.w
        ps = ", ".join(f"p{k}" for k in range(1, n + 1))
        arrays = ", ".join(f"_p{k}" for k in range(1, n + 1))
        reached = " + ".join(f"(p{k} != 0)" for k in range(1, n + 1))
        defs = [("_l", f"arrayMap(({ps}) -> toUInt8({reached}), {arrays})")]
        layers.append(defs)
        name = "_l"
        for j, exclusion in enumerate(self.spec.exclusions):
            f, to, bit = exclusion.from_step + 1, exclusion.to_step + 1, n + j
            # _x{j}: the first exclusion event strictly after step f's time (0: none). It stops
            # the attempt if before step `to` (or, never got there, by the window's end).
            defs += [
                (f"_x{j}", f"arrayMap(a -> _np{bit}[_h[a] + 1], _p{f})"),
                (f"_l{j}", f"arrayMap((l, x, b, t0) -> if(x != 0 AND _t[x] < if(b != 0, _t[b], "
                           f"t0 + {w} + 1), least(l, {f}), l), {name}, _x{j}, _p{to}, _t)"),
            ]  # fmt: skip
            name = f"_l{j}"
        return name

    def _time_to_convert(self, levels: str) -> Layer:
        """``_ttc``: the earliest completion of the last step, from the latest entry that
        completes then (0 if none). (No value computed from the arrays appears inside a lambda:
        ClickHouse would compute it again for every element.)"""
        n = self.n
        return [
            ("_done", f"arrayMap(l -> l = {n}, {levels})"),
            ("_ct", f"arrayMap(p -> _t[p], _p{n})"),
            # (not done, completion, duration): the smallest is the first conversion
            ("_best", "arrayMin(arrayMap((d, c, t0) -> (NOT d, c, c - t0), _done, _ct, _t))"),
            ("_ttc", "_best.3"),
        ]  # fmt: skip


_INF = "toInt64(9e18)"  # a time after every time


def _layered(source: str, layers: list[Layer]) -> str:
    """``source`` with each layer's columns added in turn, one subquery per layer. (Within a
    layer a name stands for its whole expression, which ClickHouse copies at every use; across
    layers it is a column, which keeps the query tree small.)"""
    for layer in layers:
        columns = ",\n".join(f"{expr} AS {name}" for name, expr in layer)
        source = f"SELECT *, {columns} FROM ({source})"  # noqa: S608
    return source


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


# -- results --------------------------------------------------------------------------------


class _Group:
    """Persons of one breakdown value: count per level, converted times (ms), first persons."""

    def __init__(self) -> None:
        self.levels: dict[int, int] = defaultdict(int)
        self.times: list[np.ndarray[Any, Any]] = []
        self.persons: dict[int, list[int]] = defaultdict(list)

    @property
    def entered(self) -> int:
        return sum(self.levels.values())

    def absorb(self, other: _Group) -> None:
        for level, count in other.levels.items():
            self.levels[level] += count
        self.times += other.times
        for level, persons in other.persons.items():
            self.persons[level] += persons


def _groups(table: pa.Table, query: FunnelQuery) -> dict[str, _Group]:
    groups: dict[str, _Group] = defaultdict(_Group)
    values = table.column("value").to_pylist()
    levels = table.column("level").to_pylist()
    counts = table.column("persons").to_pylist()
    converted = "converted" in table.column_names  # the fast path's sorted events
    times = table.column("converted" if converted else "times")
    first = table.column("first_persons") if "first_persons" in table.column_names else None
    for row, (value, level, count) in enumerate(zip(values, levels, counts, strict=True)):
        group = groups[str(value)]
        group.levels[int(level)] += int(count)
        if converted:
            group.times.append(_first_conversions(times[row].values, query))
        else:
            group.times.append(times[row].values.to_numpy(zero_copy_only=False).astype(np.int64))
        if first is not None:
            group.persons[int(level)] += [int(p) for p in first[row].as_py()]
    return groups


def _first_conversions(persons: pa.ListArray, query: FunnelQuery) -> np.ndarray[Any, Any]:
    """Each converted person's time to convert (ms) from their sorted events (time << bits |
    mask), by windowFunnel's own walk, for all the persons at once in numpy (3 to 4 times
    faster than the same walk in ClickHouse's array functions, measured).

    A chain reaching step k is kept at the positions where it does (``at``, ascending) with
    the latest entry time it can start from (``entry``). Step k at position i extends the
    chain to step k-1 as it stands after every event of i's time (at ``last[i]``, the last
    position of that time), as windowFunnel takes equal times in step order, if that chain's
    entry is of i's person and within the window. The person's first position where the last
    step is reached is the first conversion."""
    lengths = persons.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
    events = persons.flatten().to_numpy(zero_copy_only=False).astype(np.uint64)
    size = len(events)
    if not size:
        return np.zeros(0, dtype=np.int64)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)  # each position's person's first
    t = (events >> np.uint64(query.bits)).astype(np.int64)
    mask = events & np.uint64((1 << query.bits) - 1)
    run_end = np.ones(size, dtype=bool)
    run_end[:-1] = (t[1:] != t[:-1]) | (first[1:] != first[:-1])
    last = np.flatnonzero(run_end)[np.cumsum(run_end) - run_end]

    def step(k: int) -> np.ndarray[Any, Any]:
        found: np.ndarray[Any, Any] = np.flatnonzero(mask & np.uint64(1 << k))
        return found

    at = step(0)
    at = at[t[at] < query.entry_end_ms]
    entry = t[at]
    for k in range(1, query.n):
        mine = step(k)
        latest = np.full(size, -1, dtype=np.int64)  # the index in `at` at or before a position
        latest[at] = np.arange(len(at))
        chain = np.maximum.accumulate(latest)[last[mine]]
        ok = chain >= 0
        mine, chain = mine[ok], chain[ok]
        ok = at[chain] >= first[mine]  # the chain is of this person
        mine, start = mine[ok], entry[chain[ok]]
        ok = t[mine] <= start + query.window_ms
        at, entry = mine[ok], start[ok]
    person = first[at]
    firsts = np.ones(len(at), dtype=bool)
    firsts[1:] = person[1:] != person[:-1]
    times: np.ndarray[Any, Any] = t[at[firsts]] - entry[firsts]
    return times


def _result(spec: FunnelSpec, groups: dict[str, _Group]) -> FunnelResult:
    total = _Group()
    for group in groups.values():
        total.absorb(group)
    blocks = []
    if spec.breakdown is not None:
        ranked = sorted(groups, key=lambda v: (-groups[v].entered, v))
        top, rest = ranked[: spec.breakdown.top], ranked[spec.breakdown.top :]
        blocks = [_block(spec, value, groups[value]) for value in top]
        if rest:
            other = _Group()
            for value in rest:
                other.absorb(groups[value])
            blocks.append(_block(spec, OTHER, other))
    persons, persons_total = None, None
    if spec.persons is not None:
        page = spec.persons
        chosen = sorted(p for level, ps in total.persons.items() if _listed(page, level)
                        for p in ps)  # fmt: skip
        persons = chosen[page.offset : page.offset + page.limit]
        persons_total = sum(c for level, c in total.levels.items() if _listed(page, level))
    return FunnelResult(mode=spec.mode, total=_block(spec, None, total), breakdown=blocks,
                        persons=persons, persons_total=persons_total)  # fmt: skip


def _listed(page: FunnelPersons, level: int) -> bool:
    """Whether a person who reached ``level`` steps is on the requested list."""
    return level > page.step if page.status == "converted" else level == page.step


def _block(spec: FunnelSpec, value: str | None, group: _Group) -> FunnelBlock:
    n = len(spec.steps)
    reached = [sum(c for lv, c in group.levels.items() if lv >= k) for k in range(1, n + 1)]
    steps = []
    for k, step in enumerate(spec.steps):
        previous = reached[k - 1] if k else reached[0]
        steps.append(FunnelStepResult(
            label=step.label or step.event, event=step.event, count=reached[k],
            conversion_from_previous=_share(reached[k], previous),
            conversion_from_first=_share(reached[k], reached[0]),
        ))  # fmt: skip
    times = np.concatenate(group.times) if group.times else np.zeros(0, dtype=np.int64)
    return FunnelBlock(breakdown=value, steps=steps,
                       overall_conversion=_share(reached[-1], reached[0]),
                       time_to_convert=_time_to_convert(times))  # fmt: skip


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _time_to_convert(ms: np.ndarray[Any, Any]) -> TimeToConvert:
    if not len(ms):
        return TimeToConvert(median=None, mean=None, histogram=[])
    return TimeToConvert(median=float(np.median(ms)) / 1000, mean=float(ms.mean()) / 1000,
                         histogram=_histogram(ms))  # fmt: skip


def _histogram(ms: np.ndarray[Any, Any]) -> list[HistogramBin]:
    """Equal bins of a round width (1 ms to 90 days) over the observed range, at most
    ``MAX_BINS``; integer milliseconds, so every time lands in exactly one bin."""
    low, high = int(ms.min()), int(ms.max())
    width = next((w for w in _NICE_MS if high // w - low // w < MAX_BINS), _NICE_MS[-1])
    first = low // width
    counts = np.bincount(ms // width - first, minlength=high // width - first + 1)
    return [HistogramBin(start=(first + i) * width / 1000, end=(first + i + 1) * width / 1000,
                         count=int(c)) for i, c in enumerate(counts)]  # fmt: skip
