"""Trends against a brute-force reference: random events, persons linked by identify, filters on
events and persons, every math, formulas, breakdowns and the previous period, every interval, in
Shanghai (UTC+8 day edges) and New York (daylight saving); then hand-made edge cases."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
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
    TIMEZONES,
    event_strategy,
    filter_strategy,
    ingest,
    local_bucket,
    local_window,
    log_entry,
    matches,
    moment_of,
    new_project,
    number,
    person_filter_strategy,
    person_traits,
    persons_of,
    text,
)
from userops.analysis.buckets import bucket_labels
from userops.analysis.query import parse_spec
from userops.analysis.spec import OTHER, Breakdown, DateRange, PropertyFilter
from userops.analysis.trends import (
    LETTERS,
    EventSeries,
    Formula,
    TrendsResult,
    TrendsSpec,
    run_trends,
)
from userops.errors import BadRequest
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.meta.projects import create_project, update_project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict

NAMES = itertools.count()
ORDER, REVENUE = "pay", "a"  # the random projects' order event and revenue property
ROLLING = {"wau": 7, "mau": 30}
AGGREGATES = ("sum", "avg", "median", "p90", "min", "max")
MATHS = ("total", "unique_persons", "dau", "wau", "mau", *AGGREGATES, "per_person_avg",
         "first_time")  # fmt: skip
ZERO_WHEN_EMPTY = {"total", "unique_persons", "dau", "wau", "mau", "sum", "first_time"}
# Date ranges inside and around the random logs (which span 2026-10-30 12:00 to 11-04 12:00 UTC).
NOV_1, NOV_2, NOV_3, NOV_4 = (dt.date(2026, 11, day) for day in range(1, 5))
RANGES = [(FIRST, LAST), (NOV_1, NOV_3), (NOV_2, NOV_2), (NOV_1, NOV_4)]
SHANGHAI = ZoneInfo("Asia/Shanghai")

Line = tuple[str | None, list[float | None], float | None]  # breakdown value, values, total


def order_project(runtime: Runtime, timezone: str) -> Project:
    project = new_project(runtime, timezone)
    return update_project(runtime.sessions, project.name, order_event=ORDER,
                          revenue_property=REVENUE)  # fmt: skip


# -- the reference: plain Python over the log, knowing nothing of the SQL -----------------------


class Log:
    """An event log with its persons and their current traits, read once."""

    def __init__(self, events: list[dict[str, Any]], zone: ZoneInfo, order: str = ORDER,
                 revenue: str = REVENUE) -> None:  # fmt: skip
        self.events, self.zone, self.order, self.revenue = events, zone, order, revenue
        self.persons = persons_of(events)
        self.traits = person_traits(events)

    def person(self, entry: dict[str, Any]) -> str:
        return self.persons[f"device-{entry['device']}"]

    def selects(self, spec: TrendsSpec, series: EventSeries, entry: dict[str, Any]) -> bool:
        tracked = "traits" not in entry
        stored = entry["event"] if tracked else "$identify"
        if series.event is None:
            hit = tracked
        else:
            hit = stored == (self.order if series.event == "$order" else series.event)
        traits = self.traits.get(self.person(entry), {})
        props = entry["properties"] if tracked else {}
        return hit and all(matches(f, traits if f.type == "person" else props)
                           for f in [*spec.filters, *series.filters])  # fmt: skip

    def value(self, breakdown: Breakdown, entry: dict[str, Any]) -> str:
        props = (self.traits.get(self.person(entry), {}) if breakdown.type == "person"
                 else entry["properties"] if "traits" not in entry else {})  # fmt: skip
        found = text(props, breakdown.key)
        return "$none" if found is None else found

    def split(self, spec: TrendsSpec, entry: dict[str, Any], keys: list[str] | None) -> str | None:
        if keys is None or spec.breakdown is None:
            return None
        value = self.value(spec.breakdown, entry)
        return value if value in keys else OTHER


def quantile(xs: list[float], level: float) -> float:
    """R-7: x_k + (h - k)(x_k+1 - x_k), h = level (n - 1) + 1, k = floor(h), 1-based."""
    xs = sorted(xs)
    h = level * (len(xs) - 1) + 1
    k = int(h)
    if k >= len(xs):
        return xs[-1]
    return xs[k - 1] + (h - k) * (xs[k] - xs[k - 1])


def math_of(series: EventSeries, picked: list[tuple[dict[str, Any], str]], revenue: str
            ) -> float | None:  # fmt: skip
    """A bucket maths over the (entry, person) pairs that fell in it."""
    persons = {person for _, person in picked}
    if series.math == "total":
        return float(len(picked))
    if series.math in ("unique_persons", "dau"):
        return float(len(persons))
    if series.math == "per_person_avg":
        return len(picked) / len(persons) if persons else None
    key = series.property or revenue
    xs = [x for e, _ in picked if (x := number(e["properties"], key)) is not None]
    if series.math == "sum":
        return float(sum(xs))
    if not xs:
        return None
    return {"avg": lambda: sum(xs) / len(xs), "min": lambda: min(xs), "max": lambda: max(xs),
            "median": lambda: quantile(xs, 0.5), "p90": lambda: quantile(xs, 0.9),
            }[series.math]()  # fmt: skip


def reference_series(log: Log, spec: TrendsSpec, series: EventSeries,
                     dates: tuple[dt.date, dt.date], keys: list[str] | None
                     ) -> list[Line]:  # fmt: skip
    labels = bucket_labels(*dates, spec.interval, str(log.zone))
    start, end = local_window(*dates, log.zone)
    bucket = lambda m: local_bucket(m, spec.interval, log.zone)  # noqa: E731
    # (log index, entry, moment, person, breakdown value) of every matching event, all history
    picked = [(n, e, moment_of(e), log.person(e), log.split(spec, e, keys))
              for n, e in enumerate(log.events) if log.selects(spec, series, e)]  # fmt: skip
    out: list[Line] = []
    for key in keys if keys is not None else [None]:
        mine = [p for p in picked if p[4] == key]
        values: list[float | None]
        if series.math in ROLLING:
            days = ROLLING[series.math]
            values = [float(len({p[3] for p in mine if 0 <= (dt.date.fromisoformat(label)
                                 - p[2].astimezone(log.zone).date()).days < days}))
                      for label in labels]  # fmt: skip
            total = values[-1]
        elif series.math == "first_time":
            firsts: dict[str, Any] = {}
            for p in sorted(picked, key=lambda p: (p[2], f"m{p[0]}")):
                firsts.setdefault(p[3], p)
            new = [p for p in firsts.values() if p[4] == key and start <= p[2] < end]
            values = [float(sum(bucket(p[2]) == label for p in new)) for label in labels]
            total = float(len(new))
        else:
            inside = [p for p in mine if start <= p[2] < end]
            values = [math_of(series, [(p[1], p[3]) for p in inside if bucket(p[2]) == label],
                              log.revenue) for label in labels]  # fmt: skip
            total = math_of(series, [(p[1], p[3]) for p in inside], log.revenue)
        out.append((key, values, total))
    return out


def reference_formula(expression: str, operands: list[Line]) -> Line:
    """Python's own arithmetic on the same text (the expressions are the test's own)."""
    def value(numbers: list[float | None]) -> float | None:
        try:
            names = dict(zip(LETTERS, numbers, strict=False))
            return float(eval(expression, {"__builtins__": {}}, names))
        except (ZeroDivisionError, TypeError):  # a zero divisor, or None in the arithmetic
            return None

    width = len(operands[0][1])
    values = [value([line[1][i] for line in operands]) for i in range(width)]
    return operands[0][0], values, value([line[2] for line in operands])


def reference_keys(log: Log, spec: TrendsSpec, dates: tuple[dt.date, dt.date]) -> list[str]:
    """The top values by events in the range matching any series, then $other if any remain."""
    assert spec.breakdown is not None
    start, end = local_window(*dates, log.zone)
    counts = Counter(log.value(spec.breakdown, e) for e in log.events
                     if start <= moment_of(e) < end
                     and any(log.selects(spec, s, e) for s in spec.series))  # fmt: skip
    ordered = sorted(counts, key=lambda v: (-counts[v], v))
    top = ordered[: spec.breakdown.limit]
    return [*top, OTHER] if len(ordered) > len(top) else top


def reference(log: Log, spec: TrendsSpec, dates: tuple[dt.date, dt.date],
              keys: list[str] | None) -> list[Line]:  # fmt: skip
    """Every line of the result: each series per breakdown value, then each formula."""
    lines = [reference_series(log, spec, series, dates, keys) for series in spec.series]
    formulas = [reference_formula(f.expression, [line[k] for line in lines])
                for f in spec.formulas for k in range(len(lines[0]))]  # fmt: skip
    return [*(line for per in lines for line in per), *formulas]


def assert_equal_reference(result: TrendsResult, log: Log, spec: TrendsSpec,
                           dates: tuple[dt.date, dt.date], keys: list[str] | None
                           ) -> None:  # fmt: skip
    assert result.buckets == bucket_labels(*dates, spec.interval, str(log.zone))
    got = [(s.breakdown_value, s.values, s.total) for s in result.series]
    assert got == reference(log, spec, dates, keys), spec


# -- random specs over random logs ------------------------------------------------------------

any_filter = st.one_of(filter_strategy, person_filter_strategy)


def days_earlier(entry: dict[str, Any], days: int) -> dict[str, Any]:
    return {**entry, "minutes": entry["minutes"] - days * 24 * 60}


# Logs of some length (hypothesis's first examples are otherwise nearly empty), a few entries
# moved up to a month back: what rolling windows and first-time persons read before the range.
trend_log = st.lists(st.builds(days_earlier, log_entry,
                               st.sampled_from([0] * 6 + [1, 3, 6, 7, 29, 30])),
                     min_size=15, max_size=40)  # fmt: skip


def formula_text(letters: str) -> st.SearchStrategy[str]:
    leaf = st.sampled_from([*letters, "0", "1", "2", "0.5"])
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from("+-*/"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"-{x}"),
    ), max_leaves=5)  # fmt: skip


@st.composite
def trends_specs(draw: st.DrawFn, split: bool) -> TrendsSpec:
    interval = draw(st.sampled_from(["day", "day", "day", "hour", "week", "month"]))
    # The maths that read history before the range, twice as often.
    maths = [m for m in [*MATHS, "wau", "mau", "first_time"]
             if interval == "day" or m not in ROLLING]  # fmt: skip
    series = []
    for _ in range(draw(st.integers(1, 3))):
        math = draw(st.sampled_from(maths))
        series.append(EventSeries(
            event=draw(st.sampled_from([None, None, "view", "pay", "$order", "$identify"])),
            math=math,  # type: ignore[arg-type]
            property=draw(st.sampled_from([None, "a", "b"])) if math in AGGREGATES else None,
            filters=draw(st.lists(any_filter, max_size=1)),
        ))  # fmt: skip
    letters = LETTERS[: len(series)]
    formulas = draw(st.lists(st.builds(Formula, expression=formula_text(letters)), max_size=2))
    breakdown = None
    if split:
        breakdown = draw(st.one_of(
            st.builds(Breakdown, key=st.sampled_from(["a", "b"]), limit=st.integers(1, 3)),
            st.builds(Breakdown, type=st.just("person"), key=st.just("plan"),
                      limit=st.integers(1, 2)),
        ))  # fmt: skip
    first, last = draw(st.sampled_from(RANGES))
    compare = split and draw(st.booleans())
    return TrendsSpec(series=series, interval=interval, formulas=formulas, breakdown=breakdown,
                      date_range=DateRange(start=first, end=last), compare=compare,
                      filters=draw(st.lists(any_filter, max_size=1)))  # fmt: skip


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=trend_log, spec=trends_specs(split=False))
def test_every_math_and_formula_equal_brute_force(runtime: Runtime, timezone: str,
                                                  events: list[dict[str, Any]],
                                                  spec: TrendsSpec) -> None:  # fmt: skip
    project = order_project(runtime, timezone)
    ingest(runtime, project.id, events)
    result = run_trends(runtime.store, project, spec)
    assert result.previous is None
    dates = spec.date_range.dates(LAST)
    assert_equal_reference(result, Log(events, ZoneInfo(timezone)), spec, dates, None)


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=trend_log, spec=trends_specs(split=True))
def test_breakdown_and_previous_period_equal_brute_force(runtime: Runtime, timezone: str,
                                                         events: list[dict[str, Any]],
                                                         spec: TrendsSpec) -> None:  # fmt: skip
    project = order_project(runtime, timezone)
    ingest(runtime, project.id, events)
    result = run_trends(runtime.store, project, spec)
    log = Log(events, ZoneInfo(timezone))
    dates = spec.date_range.dates(LAST)
    keys = reference_keys(log, spec, dates)
    assert_equal_reference(result, log, spec, dates, keys)
    if spec.compare:
        assert result.previous is not None
        before = spec.date_range.previous(LAST)
        assert_equal_reference(result.previous, log, spec, before, keys)  # this period's values
    else:
        assert result.previous is None


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=st.lists(st.builds(days_earlier, log_entry, st.integers(0, 31)), min_size=1,
                       max_size=12),
       math=st.sampled_from(["wau", "mau"]), event=st.sampled_from([None, "view"]),
       dates=st.sampled_from(RANGES))  # fmt: skip
def test_rolling_windows_over_sparse_history_equal_brute_force(
        runtime: Runtime, timezone: str, events: list[dict[str, Any]], math: str,
        event: str | None, dates: tuple[dt.date, dt.date]) -> None:  # fmt: skip
    """Few events over a month: a person's only day in the window is often its edge."""
    project = order_project(runtime, timezone)
    ingest(runtime, project.id, events)
    spec = TrendsSpec(date_range=DateRange(start=dates[0], end=dates[1]),
                      series=[EventSeries(event=event, math=math)])  # type: ignore[arg-type]
    result = run_trends(runtime.store, project, spec)
    assert_equal_reference(result, Log(events, ZoneInfo(timezone)), spec, dates, None)


# The first test of this module, kept: counts and unique persons over tracked events only.
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
    log = Log(events, ZoneInfo(timezone), order=project.order_event)
    assert_equal_reference(result, log, spec, (FIRST, LAST), None)


# -- hand-made edge cases ---------------------------------------------------------------------


def at(local: str, zone: ZoneInfo = SHANGHAI) -> float:
    """Minutes after BASE of a local wall-clock time, for a log entry."""
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=zone)
    return (moment - BASE).total_seconds() / 60


def entry(event: str, device: int, local: str, user: int | None = None,
          **properties: Any) -> dict[str, Any]:  # fmt: skip
    return {"event": event, "device": device, "user": user, "minutes": at(local),
            "properties": properties}  # fmt: skip


def identify(device: int, user: int, local: str, **traits: Any) -> dict[str, Any]:
    return {**entry("identify", device, local, user), "traits": traits}


def shop(runtime: Runtime, events: list[dict[str, Any]]) -> Project:
    """A Shanghai project whose order event is pay and revenue property a, with ``events``."""
    project = order_project(runtime, "Asia/Shanghai")
    ingest(runtime, project.id, events)
    return project


NOV = DateRange(start=NOV_1, end=NOV_3)


def test_wau_and_mau_on_the_first_day_read_days_before_the_range(runtime: Runtime) -> None:
    events = [
        entry("view", 1, "2026-10-26 00:00"),  # first instant of Nov 1's 7 days
        entry("view", 5, "2026-10-25 23:59"),  # a minute too early for Nov 1's week
        entry("view", 2, "2026-10-03 12:00"),  # anonymous, 29 days before Nov 1
        entry("view", 2, "2026-10-28 12:00"),
        entry("view", 3, "2026-11-02 12:00", user=0),
        identify(2, 0, "2026-11-03 09:00", plan="pro"),  # devices 2 and 3: one person
        identify(6, 9, "2026-11-03 09:00", plan="free"),  # not a tracked event: not active
        entry("pay", 4, "2026-11-01 12:00"),
    ]
    project = shop(runtime, events)
    spec = TrendsSpec(date_range=NOV, series=[
        EventSeries(event="view", math="wau"), EventSeries(event="view", math="mau"),
        EventSeries(math="wau")])  # fmt: skip
    wau, mau, active = run_trends(runtime.store, project, spec).series
    # Nov 1's week is Oct 26-Nov 1: devices 1 and 2; Nov 2's (Oct 27-): the merged person only.
    assert (wau.values, wau.total) == ([2, 1, 1], 1)
    # Nov 1's 30 days are Oct 3-Nov 1: devices 1, 2 and 5; were 2 and 3 two persons, Nov 2
    # would count 4 (1, 5, device 2 on Oct 28, user 0 on Nov 2).
    assert (mau.values, mau.total) == ([3, 3, 3], 3)
    # Any tracked event: the pay counts, device 6's identify does not.
    assert active.values == [3, 2, 2]


def test_formula_division_by_zero_is_null(runtime: Runtime) -> None:
    events = [entry("view", 1, "2026-11-01 10:00"), entry("view", 2, "2026-11-01 11:00"),
              entry("pay", 1, "2026-11-01 12:00", a=30), entry("pay", 3, "2026-11-02 12:00", a=12),
              ]  # fmt: skip
    project = shop(runtime, events)
    spec = TrendsSpec(date_range=NOV, series=[
        EventSeries(event="view", math="unique_persons"),
        EventSeries(event="$order", math="unique_persons"),
        EventSeries(event="$order", math="sum"),
    ], formulas=[Formula(expression="B / A", label="paying rate"),
                 Formula(expression="C / B", label="ARPPU"),
                 Formula(expression="C / (A - A)")])  # fmt: skip
    result = run_trends(runtime.store, project, spec)
    rate, arppu, never = result.series[3:]
    assert (rate.label, rate.values, rate.total) == ("paying rate", [0.5, None, None], 1.0)
    assert (arppu.values, arppu.total) == ([30.0, 12.0, None], 21.0)
    assert never.values == [None, None, None] and never.total is None
    assert never.label == never.formula == "C / (A - A)"
    assert result.series[2].label == "pay sum(a)"


def test_median_of_an_even_count_and_quantile_ties(runtime: Runtime) -> None:
    def pays(day: str, amounts: list[Any]) -> list[dict[str, Any]]:
        return [entry("pay", n, f"{day} 12:00", a=amount) for n, amount in enumerate(amounts)]

    events = [*pays("2026-11-01", [10, 1, "3", 2]),  # numeric text counts
              *pays("2026-11-02", [5, 5, 1, 5, "x", None]),  # ties; no number is skipped
              *pays("2026-11-03", [2, 9, 2, 1, 2])]  # fmt: skip
    project = shop(runtime, events)
    spec = TrendsSpec(date_range=NOV, series=[
        EventSeries(event="pay", math=math) for math in ("median", "p90", "avg", "min", "max",
                                                          "sum")])  # fmt: skip
    median, p90, avg, low, high, total = run_trends(runtime.store, project, spec).series
    assert median.values == [2.5, 5.0, 2.0]  # (2 + 3) / 2; the middle of 1 5 5 5; of 1 2 2 2 9
    # p90 of 1 2 3 10: h = 0.9 * 3 + 1 = 3.7, so 3 + 0.7 * (10 - 3); of 1 2 2 2 9: 2 + 0.6 * 7
    assert p90.values == pytest.approx([7.9, 5.0, 6.2])
    assert median.total == 2.0  # 1 1 1 2 2 2 2 3 5 5 5 9 10: the 7th
    assert avg.values == [4.0, 4.0, 3.2] and low.values == [1, 1, 1] and high.values == [10, 5, 9]
    assert total.values == [16, 16, 16] and total.total == 48


def test_aggregates_of_nothing_are_null_and_sums_zero(runtime: Runtime) -> None:
    project = shop(runtime, [entry("pay", 1, "2026-11-01 12:00", a="x", b=4)])
    spec = TrendsSpec(date_range=NOV, series=[
        EventSeries(event="pay", math="avg"), EventSeries(event="pay", math="sum"),
        EventSeries(event="pay", math="max", property="b"),
        EventSeries(event="pay", math="per_person_avg")])  # fmt: skip
    avg, total, by_b, per_person = run_trends(runtime.store, project, spec).series
    assert (avg.values, avg.total) == ([None, None, None], None)
    assert (total.values, total.total) == ([0, 0, 0], 0)
    assert (by_b.values, by_b.total) == ([4, None, None], 4)
    assert (per_person.values, per_person.total) == ([1, None, None], 1)


def test_first_time_counts_new_persons_with_their_anonymous_past(runtime: Runtime) -> None:
    events = [
        entry("view", 1, "2026-10-20 12:00", plan="x"),  # seen before the range: never new
        entry("view", 1, "2026-11-01 12:00"),
        entry("view", 2, "2026-11-01 08:00"),  # anonymous first, then identified on Nov 3
        entry("view", 3, "2026-11-02 09:00", user=7),
        identify(2, 7, "2026-11-03 10:00"),
        entry("view", 4, "2026-11-02 00:00"), entry("view", 4, "2026-11-02 00:00"),  # a tie
        entry("view", 5, "2026-10-31 23:59", a=1),  # before the range, but filtered out
        entry("view", 5, "2026-11-03 23:59"),
    ]
    project = shop(runtime, events)
    spec = TrendsSpec(date_range=NOV, series=[EventSeries(event="view", math="first_time")])
    new = run_trends(runtime.store, project, spec).series[0]
    assert (new.values, new.total) == ([1, 1, 0], 2)  # persons 2+3 on Nov 1, 4 on Nov 2
    filtered = TrendsSpec(date_range=NOV, filters=[PropertyFilter(key="a", operator="is_not_set")],
                          series=[EventSeries(event="view", math="first_time")])  # fmt: skip
    assert run_trends(runtime.store, project, filtered).series[0].values == [1, 1, 1]


def test_first_time_breakdown_takes_the_first_event_by_time_then_message_id(
        runtime: Runtime) -> None:  # fmt: skip
    # Device 1's first two views share a timestamp; "m10" sorts before "m2", so the one logged
    # later (value z) is its first, though it was stored after the other.
    events = [entry("view", 2, "2026-11-02 10:00", a="y"), entry("view", 3, "2026-11-03 10:00",
              a="w"), entry("view", 1, "2026-11-01 12:00", a="y"),  # m2
              *(entry("pay", 9, "2026-11-01 12:00") for _ in range(7)),
              entry("view", 1, "2026-11-01 12:00", a="z")]  # m10  # fmt: skip
    project = shop(runtime, events)
    spec = TrendsSpec(date_range=NOV, breakdown=Breakdown(key="a", limit=3),
                      series=[EventSeries(event="view", math="first_time")])  # fmt: skip
    result = run_trends(runtime.store, project, spec)
    assert [(s.breakdown_value, s.values, s.total) for s in result.series] == [
        ("y", [0, 1, 0], 1), ("w", [0, 0, 1], 1), ("z", [1, 0, 0], 1)]  # fmt: skip


def test_none_is_any_tracked_event_and_order_is_the_projects(runtime: Runtime) -> None:
    events = [entry("view", 1, "2026-11-01 12:00"), entry("pay", 2, "2026-11-01 12:00"),
              entry("order_completed", 3, "2026-11-01 12:00"),
              identify(4, 1, "2026-11-01 12:00", plan="pro")]  # fmt: skip
    project = shop(runtime, events)  # order event: pay
    spec = TrendsSpec(date_range=NOV, series=[
        EventSeries(math="unique_persons"), EventSeries(event="$order"),
        EventSeries(event="$identify")])  # fmt: skip
    active, orders, identifies = run_trends(runtime.store, project, spec).series
    assert active.total == 3 and active.label == "active persons"
    assert orders.total == 1 and orders.label == "pay"
    assert identifies.total == 1


def test_breakdown_other_and_none(runtime: Runtime) -> None:
    events = [entry("view", n, "2026-11-01 12:00", **props) for n, props in enumerate(
        [{"a": "ios"}, {"a": "ios"}, {"a": "ios"}, {"a": "web"}, {"a": "web"}, {}, {},
         {"a": "mac"}, {"a": 1}])]  # fmt: skip
    project = shop(runtime, events)
    spec = TrendsSpec(date_range=NOV, breakdown=Breakdown(key="a", limit=3),
                      series=[EventSeries(event="view"), EventSeries(event="pay")],
                      formulas=[Formula(expression="A + B")])  # fmt: skip
    result = run_trends(runtime.store, project, spec)
    assert [(s.label, s.breakdown_value, s.total) for s in result.series] == [
        ("view", "ios", 3), ("view", "$none", 2), ("view", "web", 2), ("view", "$other", 2),
        ("pay", "ios", 0), ("pay", "$none", 0), ("pay", "web", 0), ("pay", "$other", 0),
        ("A + B", "ios", 3), ("A + B", "$none", 2), ("A + B", "web", 2), ("A + B", "$other", 2),
    ]  # fmt: skip
    header, _ = result.table()
    assert header[1:3] == ["view (ios)", "view ($none)"]


@pytest.mark.parametrize("math", ["total", "unique_persons", "per_person_avg", "sum", "median"])
def test_one_series_ranks_its_breakdown_values_in_its_own_query(runtime: Runtime,
                                                               math: str) -> None:  # fmt: skip
    """One series picks the top values from its own rows; a second series that matches
    nothing sends the ranking to a query of its own. The lines agree, a literal "$other"
    value among the top taking in the rest, ties by value, as do the compared periods."""
    values = [{"a": "$other"}] * 3 + [{"a": "ios", "b": 2}] * 2 + [{"a": "web"}] * 2 \
        + [{}, {"a": "mac", "b": 5}, {"a": 1}]  # fmt: skip
    events = [entry("view", n % 4, f"2026-11-0{1 + n % 3} 12:00", **props)
              for n, props in enumerate(values)]  # fmt: skip
    events += [entry("view", 7, "2026-10-30 12:00", a="web", b=1)]
    project = shop(runtime, events)
    series = EventSeries(event="view", math=math, property="b" if math in ("sum", "median")
                         else None)  # type: ignore[arg-type]  # fmt: skip
    one = TrendsSpec(date_range=NOV, breakdown=Breakdown(key="a", limit=3), series=[series],
                     compare=True)  # fmt: skip
    two = one.model_copy(update={"series": [series, EventSeries(event="nothing")]})
    alone, beside = run_trends(runtime.store, project, one), run_trends(runtime.store, project,
                                                                          two)  # fmt: skip
    assert [s.breakdown_value for s in alone.series] == ["$other", "ios", "web"]
    assert alone.series == beside.series[:3]
    assert alone.previous is not None and beside.previous is not None
    assert alone.previous.series == beside.previous.series[:3]


def test_compare_returns_the_previous_period_with_its_own_buckets(runtime: Runtime) -> None:
    project = shop(runtime, [entry("view", 1, "2026-10-30 12:00"),
                             entry("view", 1, "2026-11-02 12:00")])  # fmt: skip
    spec = TrendsSpec(date_range=NOV, compare=True, series=[EventSeries(event="view")])
    result = run_trends(runtime.store, project, spec)
    assert result.previous is not None and result.previous.previous is None
    assert result.previous.buckets == ["2026-10-29", "2026-10-30", "2026-10-31"]
    assert result.previous.series[0].values == [0, 1, 0]
    header, body = result.table()
    assert header == ["bucket", "view", "previous bucket", "view (previous)"]
    assert body[1] == ["2026-11-02", 1, "2026-10-30", 1]
    assert result.footer() == [["total", 1, "total", 1]]
    # Weeks: Sun Nov 1-Mon Nov 9 touches three weeks, the 9 days before it (Oct 23-31) two.
    weeks = TrendsSpec(date_range=DateRange(start=NOV_1, end=dt.date(2026, 11, 9)),
                       interval="week", compare=True,
                       series=[EventSeries(event="view")])  # fmt: skip
    header, body = run_trends(runtime.store, project, weeks).table()
    assert [row[0] for row in body] == ["2026-10-26", "2026-11-02", "2026-11-09"]
    assert [row[2] for row in body] == ["2026-10-19", "2026-10-26", None]
    assert body[1][1] == body[1][3] == 1 and body[2][3] is None  # Oct 30: week of Oct 26


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


# -- bad specs ----------------------------------------------------------------------------------

GOOD = {"kind": "trends", "date_range": {"start": "2026-11-01", "end": "2026-11-03"},
        "series": [{"event": "view"}, {"event": "pay", "math": "sum"}]}  # fmt: skip


@pytest.mark.parametrize(("change", "field"), [
    ({"series": [{"math": "average"}]}, "series.0.math"),
    ({"series": [{"math": "sum", "property": "x" * 401}]}, "series.0.property"),
    ({"series": [{"math": "sum", "property": 7}]}, "series.0.property"),
    ({"series": [{"math": "total", "property": "revenue"}]}, "series.0.property"),
    ({"series": [{"event": "view"}] * 21}, "series"),
    ({"formulas": [{"expression": "A / C"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": "A / B"}, {"expression": "A +"}]}, "formulas.1.expression"),
    ({"formulas": [{"expression": "A ** 2"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": "__import__('os')"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": "a / b"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": "AB"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": "A.real"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": "1e999 * A"}]}, "formulas.0.expression"),
    ({"formulas": [{"expression": ""}]}, "formulas.0.expression"),
    ({"series": [{"math": "wau"}], "interval": "week"}, "series.0.math"),
    ({"breakdown": {"key": "a", "limit": 0}}, "breakdown.limit"),
    ({"compare": "sometimes"}, "compare"),
])  # fmt: skip
def test_bad_specs_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_spec({**GOOD, **change})
    assert caught.value.field == field, caught.value.message


def test_good_formulas_parse() -> None:
    spec = parse_spec({**GOOD, "formulas": [{"expression": " (A + B) / 2 - -1.5 * B "},
                                            {"expression": "B / A", "label": "ARPU"}]})  # fmt: skip
    assert [f.label for f in spec.formulas] == [None, "ARPU"]


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
        PropertyFilter(key=name, operator="eq", value=name)]),
        EventSeries(event=name, math="sum", property=name)],
        breakdown=Breakdown(key=name), date_range=DateRange(start=FIRST, end=LAST))  # fmt: skip
    result = run_trends(runtime.store, project, spec)
    assert [(s.breakdown_value, s.total) for s in result.series] == [(name, 1.0), (name, 0.0)]


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
