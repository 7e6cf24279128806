"""The overview (growth dashboard) against a brute-force reference: random logs with orders and
first-touch channels, identity merges, filters, changed order settings, in Shanghai (UTC+8 day
edges) and New York (daylight saving), with a fixed ``today``; plus hand-made cases."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analysis_reference import (
    BASE,
    FIRST,
    LAST,
    TIMEZONES,
    filter_strategy,
    identify_strategy,
    ingest,
    matches,
    moment_of,
    number,
    person_filter_strategy,
    person_traits,
    persons_of,
)
from userops.analysis.overview import METRICS, OverviewResult, OverviewSpec, run_overview
from userops.analysis.spec import DateRange, PropertyFilter
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict
from userops.store import EventStore

NAMES = itertools.count()
DAY = dt.timedelta(days=1)

# -- random logs: the shared event strategy plus orders, revenue and utm sources --------------

# Days after BASE (Oct 30) where a WAU or MAU window of some range below starts, and the day
# before: Oct 26/27, Oct 3/4, Nov 3/4, Oct 11/12, Oct 24/25, Oct 1/2, Nov 5/6, Dec 2/3, Nov 9/10;
# and the first days of the ranges (Oct 31, Nov 1, Nov 2), with their D7 and D30 days.
DAYS_OF_NOTE = [-4, -3, -27, -26, 4, 5, -19, -18, -6, -5, -29, -28, 6, 7, 33, 34, 10, 11,
                1, 2, 3, 8, 9, 10, 31, 32, 33]  # fmt: skip
ORDER_SETTINGS = [("order_completed", "revenue"), ("pay", "amount")]
revenue_values = st.one_of(
    st.integers(1, 500), st.sampled_from([9.5, 0.25, -3, 0, "12", "7.5", "x", True, None])
)
properties = st.builds(
    lambda base, money, source: {**base, **money, **source},
    st.dictionaries(st.sampled_from(["a", "b"]),
                    st.sampled_from([1, 2.5, "a", "7", True, None]), max_size=2),
    st.dictionaries(st.sampled_from(["revenue", "amount"]), revenue_values, max_size=2),
    # utm_source is read from the page URL's query when the context has no campaign.
    st.one_of(st.just({}), st.sampled_from(["google", "bing", "wechat"]).map(
        lambda s: {"url": f"https://shop.test/p?utm_source={s}"})),
)  # fmt: skip
board_event = st.fixed_dictionaries({
    "event": st.sampled_from(["view", "view", "pay", "order_completed"]),
    "device": st.integers(0, 5),
    "user": st.one_of(st.none(), st.integers(0, 2)),
    # Around the DST change and Shanghai's midnight; weeks before and after, for MAU and
    # D7/D30; and on the days around the WAU and MAU windows' first days.
    "minutes": st.one_of(st.integers(-3 * 1440, 5 * 1440), st.integers(-35 * 1440, 45 * 1440),
                         st.builds(lambda day, minute: day * 1440 + minute,
                                   st.sampled_from(DAYS_OF_NOTE), st.integers(-720, 720))),
    "properties": properties,
})  # fmt: skip
log_entry = st.one_of(board_event, board_event, board_event, identify_strategy)
RANGES = [DateRange(start=FIRST, end=LAST), DateRange(last_days=7),
          DateRange(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 10)),
          DateRange(start=LAST, end=LAST)]  # fmt: skip
TODAYS = [dt.date(2026, 11, 3), dt.date(2026, 11, 12), dt.date(2026, 12, 9), dt.date(2026, 12, 9)]


# -- the reference ---------------------------------------------------------------------------


def source_of(entry: dict[str, Any]) -> str:
    url = entry["properties"].get("url")
    if "traits" in entry or not isinstance(url, str):
        return ""
    return parse_qs(urlparse(url).query).get("utm_source", [""])[0]


def reference(events: list[dict[str, Any]], project: Project, spec: OverviewSpec,
              today: dt.date) -> dict[str, Any]:  # fmt: skip
    """Every metric and series, by walking the log: the definitions, written out plainly."""
    zone = ZoneInfo(project.timezone)
    persons, traits = persons_of(events), person_traits(events)
    considered = []  # (moment, message id, person, entry): tracked events passing the filters
    for n, entry in enumerate(events):
        if "traits" in entry:
            continue
        person = persons[f"device-{entry['device']}"]
        props = {"event": entry["properties"], "person": traits.get(person, {})}
        if all(matches(f, props[f.type]) for f in spec.filters):
            considered.append((moment_of(entry), f"m{n}", person, entry))
    considered.sort(key=lambda c: (c[0], c[1]))
    active: dict[dt.date, set[str]] = {}
    first_day: dict[str, dt.date] = {}
    for moment, _, person, _ in considered:
        day = moment.astimezone(zone).date()
        active.setdefault(day, set()).add(person)
        first_day.setdefault(person, day)  # in time order: the first is the earliest

    def days(first: dt.date, last: dt.date) -> list[dt.date]:
        return [first + n * DAY for n in range((last - first).days + 1)]

    def active_in(first: dt.date, last: dt.date) -> set[str]:
        return set().union(*(active.get(d, set()) for d in days(first, last)))

    def retention(first: dt.date, last: dt.date, k: int) -> float | None:
        cohort = [p for p, d in first_day.items() if first <= d <= last and d + k * DAY <= today]
        back = [p for p in cohort if p in active.get(first_day[p] + k * DAY, set())]
        return len(back) / len(cohort) if cohort else None

    def period(first: dt.date, last: dt.date) -> dict[str, float | None]:
        span = days(first, last)
        dau = sum(len(active.get(d, ())) for d in span) / len(span)
        mau = len(active_in(last - 29 * DAY, last))
        users = active_in(first, last)
        orders = [(p, e) for m, _, p, e in considered if e["event"] == project.order_event
                  and first <= m.astimezone(zone).date() <= last]  # fmt: skip
        revenue = sum(number(e["properties"], project.revenue_property) or 0.0 for _, e in orders)
        paying = len({p for p, _ in orders})
        return {
            "dau": dau, "wau": len(active_in(last - 6 * DAY, last)), "mau": mau,
            "stickiness": dau / mau if mau else None,
            "new_persons": sum(first <= d <= last for d in first_day.values()),
            "d1_retention": retention(first, last, 1), "d7_retention": retention(first, last, 7),
            "d30_retention": retention(first, last, 30),
            "revenue": revenue, "orders": len(orders), "paying_persons": paying,
            "paying_rate": paying / len(users) if users else None,
            "arpu": revenue / len(users) if users else None,
            "arppu": revenue / paying if paying else None,
        }  # fmt: skip

    first, last = spec.date_range.dates(today)
    end = dt.datetime.combine(last + DAY, dt.time(), zone)
    channels: Counter[str] = Counter()
    for person, day in first_day.items():
        if first <= day <= last:
            touches = [source_of(e) for m, _, p, e in considered
                       if p == person and source_of(e) and m < end]  # fmt: skip
            channels[touches[0] if touches else "$none"] += 1
    ranked = sorted((c for c in channels if c != "$none"), key=lambda c: (-channels[c], c))
    by_channel = [(c, channels[c]) for c in ranked[:10]]
    if ranked[10:]:
        by_channel.append(("$other", sum(channels[c] for c in ranked[10:])))
    if channels["$none"]:
        by_channel.append(("$none", channels["$none"]))
    return {
        "current": period(first, last),
        "previous": period(*spec.date_range.previous(today)),
        "days": [str(d) for d in days(first, last)],
        "active_persons": [len(active.get(d, ())) for d in days(first, last)],
        "new_persons": [sum(v == d for v in first_day.values()) for d in days(first, last)],
        "channels": by_channel,
        "curve": [retention(first, last, k) for k in range(31)],
    }


def close(got: float | None, want: float | None) -> bool:
    return got == want if want is None or got is None else got == pytest.approx(want)


def assert_matches(result: OverviewResult, want: dict[str, Any]) -> None:
    assert [m.name for m in result.metrics] == list(METRICS)
    for metric in result.metrics:
        value, before = want["current"][metric.name], want["previous"][metric.name]
        assert close(metric.value, value), (metric, value)
        assert close(metric.previous, before), (metric, before)
        change = None if value is None or not before else (value - before) / before
        assert close(metric.change, change), (metric, change)
    assert result.days == want["days"]
    assert result.active_persons == want["active_persons"]
    assert result.new_persons == want["new_persons"]
    assert [(c.channel, c.persons) for c in result.new_persons_by_channel] == want["channels"]
    assert len(result.retention_curve) == 31
    for got, expected in zip(result.retention_curve, want["curve"], strict=True):
        assert close(got, expected), (result.retention_curve, want["curve"])


def board_project(runtime: Runtime, timezone: str, order_event: str = "order_completed",
                  revenue_property: str = "revenue", currency: str = "CNY") -> Project:  # fmt: skip
    """A new project with its order settings changed through the metadata store."""
    created = create_project(runtime.sessions, f"ov{next(NAMES)}", timezone)
    with runtime.sessions.begin() as session:
        project = session.get(Project, created.id)
        assert project is not None
        project.order_event, project.revenue_property = order_event, revenue_property
        project.currency = currency
    return project


# -- random logs -----------------------------------------------------------------------------


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    events=st.lists(log_entry, min_size=5, max_size=40),
    date_range=st.sampled_from(RANGES),
    today=st.sampled_from(TODAYS),
    filters=st.lists(st.one_of(filter_strategy, person_filter_strategy), max_size=1),
    order=st.sampled_from(ORDER_SETTINGS),
)
def test_overview_equals_brute_force(runtime: Runtime, timezone: str,
                                     events: list[dict[str, Any]], date_range: DateRange,
                                     today: dt.date, filters: list[PropertyFilter],
                                     order: tuple[str, str]) -> None:  # fmt: skip
    project = board_project(runtime, timezone, *order)
    ingest(runtime, project.id, events)
    spec = OverviewSpec(date_range=date_range, filters=filters)
    result = run_overview(runtime.store, project, spec, today)
    assert_matches(result, reference(events, project, spec, today))


# -- hand-made cases -------------------------------------------------------------------------


def at(local: str, timezone: str = "Asia/Shanghai") -> int:
    """Minutes after BASE of a local wall-clock time."""
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(timezone))
    return int((moment - BASE).total_seconds() // 60)


def entry(local: str, device: int, user: int | None = None, event: str = "view",
          **props: Any) -> dict[str, Any]:  # fmt: skip
    return {"event": event, "device": device, "user": user, "minutes": at(local),
            "properties": props}  # fmt: skip


def board(runtime: Runtime, events: list[dict[str, Any]], spec: OverviewSpec, today: dt.date,
          **project_settings: str) -> tuple[OverviewResult, dict[str, Any]]:  # fmt: skip
    project = board_project(runtime, "Asia/Shanghai", **project_settings)
    ingest(runtime, project.id, events)
    return run_overview(runtime.store, project, spec, today), reference(
        events, project, spec, today
    )


NOV1, NOV2, NOV3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
GOOGLE = "https://shop.test/?utm_source=google"


def test_three_persons_over_two_days(runtime: Runtime) -> None:
    events = [
        # A: anonymous on Nov 1 (from google), identified as user 1, back on Nov 2 on a new
        # device; ordered 50 (as text) on Nov 2.
        entry("2026-11-01T10:00", 0, url=GOOGLE),
        {"event": "identify", "device": 0, "user": 1, "minutes": at("2026-11-01T10:05"),
         "properties": {}, "traits": {"plan": "pro"}},
        entry("2026-11-02T09:00", 4, 1),
        entry("2026-11-02T09:30", 4, 1, "order_completed", revenue="50"),
        # B: new on Nov 1 with an order of 100, never back.
        entry("2026-11-01T23:59", 1, None, "order_completed", revenue=100),
        # C: new on Oct 31 (the previous period), back on Nov 2.
        entry("2026-10-31T12:00", 2),
        entry("2026-11-02T00:00", 2),
    ]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV2))
    result, want = board(runtime, events, spec, NOV3)
    assert_matches(result, want)
    got = {m.name: m for m in result.metrics}
    assert result.days == ["2026-11-01", "2026-11-02"]
    assert result.active_persons == [2, 2] and result.new_persons == [2, 0]
    assert (got["dau"].value, got["wau"].value, got["mau"].value) == (2.0, 3.0, 3.0)
    assert got["stickiness"].value == pytest.approx(2 / 3)
    assert got["new_persons"].value == 2.0 and got["new_persons"].previous == 1.0
    assert got["d1_retention"].value == 0.5  # of A and B (new Nov 1), A is back on Nov 2
    assert got["d1_retention"].previous == 0.0  # C, new Oct 31, not back on Nov 1
    assert got["d1_retention"].change is None  # previous is 0
    assert got["d7_retention"].value is None  # Nov 8 has not come by Nov 3
    assert (got["revenue"].value, got["orders"].value, got["paying_persons"].value) == (
        150.0, 2.0, 2.0)  # fmt: skip
    assert got["paying_rate"].value == pytest.approx(2 / 3)
    assert got["arpu"].value == 50.0 and got["arppu"].value == 75.0
    assert got["dau"].previous == 0.5 and got["dau"].change == 3.0  # C alone on one of two days
    assert got["revenue"].previous == 0.0 and got["revenue"].change is None
    assert [(c.channel, c.persons) for c in result.new_persons_by_channel] == [
        ("google", 1), ("$none", 1)]  # fmt: skip
    assert result.retention_curve[:4] == [1.0, 0.5, 0.0, None]  # Nov 1 + 3 is after today
    assert result.currency == "CNY"
    header, body = result.table()
    assert header == ["metric", "value", "previous", "change"]
    assert body[0] == ["dau", 2.0, 0.5, 3.0]
    assert result.footer() == [["currency", "CNY", None, None]]
    assert OverviewResult.model_validate_json(result.model_dump_json()) == result


def test_changed_order_event_revenue_property_and_currency(runtime: Runtime) -> None:
    events = [
        entry("2026-11-01T10:00", 0, None, "purchase", amount="19.5"),
        entry("2026-11-01T11:00", 0, None, "purchase", amount="abc"),  # an order, no revenue
        entry("2026-11-01T12:00", 1, None, "purchase", revenue=5),  # no amount: no revenue
        entry("2026-11-01T13:00", 2, None, "order_completed", revenue=100, amount=100),
        entry("2026-11-01T14:00", 3, None, "purchase", amount=True),  # a boolean reads as 1
    ]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV1))
    result, want = board(runtime, events, spec, NOV3, order_event="purchase",
                         revenue_property="amount", currency="USD")  # fmt: skip
    assert_matches(result, want)
    got = {m.name: m.value for m in result.metrics}
    assert (got["revenue"], got["orders"], got["paying_persons"]) == (20.5, 4.0, 3.0)
    assert got["paying_rate"] == 0.75 and got["arppu"] == pytest.approx(20.5 / 3)
    assert result.currency == "USD"


def test_window_edges_ties_and_first_touch(runtime: Runtime) -> None:
    events = [
        entry("2026-11-01T00:00", 0, url=GOOGLE),  # exactly the range's first instant
        entry("2026-11-03T00:00", 1),  # exactly the end: after the range
        entry("2026-11-02T23:59:59", 2),  # the range's last minute, no utm yet
        entry("2026-11-02T23:59:59", 2, url="https://shop.test/?utm_source=bing"),  # tie: m3
        entry("2026-11-02T23:59:59", 3, url="https://shop.test/?utm_source=zeta"),
        entry("2026-11-02T23:59:59", 3, url="https://shop.test/?utm_source=alpha"),  # m5 > m4
        entry("2026-11-03T01:00", 4),  # new after the range: utm later does not count
        entry("2026-10-20T08:00", 5),  # seen long before: not new on Nov 2
        entry("2026-11-02T08:00", 5, url=GOOGLE),
        entry("2026-11-02T08:00", 6),
        entry("2026-11-04T08:00", 6, url="https://shop.test/?utm_source=late"),  # after range
    ]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV2))
    result, want = board(runtime, events, spec, dt.date(2026, 11, 5))
    assert_matches(result, want)
    assert result.active_persons == [1, 4] and result.new_persons == [1, 3]
    assert [(c.channel, c.persons) for c in result.new_persons_by_channel] == [
        ("bing", 1), ("google", 1), ("zeta", 1), ("$none", 1)]  # fmt: skip


def test_wau_and_mau_windows_end_on_the_last_day(runtime: Runtime) -> None:
    events = [
        entry("2026-11-04T00:00", 0),  # WAU's first instant (Nov 4 to Nov 10)
        entry("2026-11-03T23:59", 1),  # just before it: in MAU only
        entry("2026-10-12T00:00", 2),  # MAU's first instant (Oct 12 to Nov 10)
        entry("2026-10-11T23:59", 3),  # just before it
        entry("2026-11-11T00:00", 4),  # after the range
    ]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=dt.date(2026, 11, 10)))
    result, want = board(runtime, events, spec, dt.date(2026, 11, 20))
    assert_matches(result, want)
    got = {m.name: m for m in result.metrics}
    assert (got["wau"].value, got["mau"].value) == (1.0, 3.0)
    # The previous period is Oct 22 to Oct 31: its MAU window is Oct 2 to Oct 31.
    assert (got["wau"].previous, got["mau"].previous) == (0.0, 2.0)
    assert got["dau"].value == 0.2 and got["stickiness"].value == pytest.approx(0.2 / 3)


def test_top_ten_channels_then_other(runtime: Runtime) -> None:
    sources = [f"c{n:02}" for n in range(1, 13)] + ["c01"] * 3 + ["c12"]
    events = [entry("2026-11-01T10:00", device, url=f"https://shop.test/?utm_source={s}")
              for device, s in enumerate(sources)]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV1))
    result, want = board(runtime, events, spec, NOV3)
    assert_matches(result, want)
    ones = [(f"c{n:02}", 1) for n in range(2, 10)]  # ties by name: c10 and c11 miss the top 10
    assert [(c.channel, c.persons) for c in result.new_persons_by_channel] == [
        ("c01", 4), ("c12", 2), *ones, ("$other", 2)]  # fmt: skip


@pytest.mark.parametrize(("today", "qualifies"), [(dt.date(2026, 12, 1), True),
                                                  (dt.date(2026, 11, 30), False)])  # fmt: skip
def test_d30_counts_only_cohorts_whose_day_has_come(runtime: Runtime, today: dt.date,
                                                    qualifies: bool) -> None:  # fmt: skip
    events = [entry("2026-11-01T10:00", 0), entry("2026-11-01T10:00", 1),
              entry("2026-12-01T10:00", 0), entry("2026-11-08T10:00", 1)]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV1))
    result, want = board(runtime, events, spec, today)
    assert_matches(result, want)
    got = {m.name: m.value for m in result.metrics}
    assert got["d7_retention"] == 0.5
    assert got["d30_retention"] == (0.5 if qualifies else None)


def test_a_range_past_today_counts_no_day_after_today(runtime: Runtime) -> None:
    events = [entry("2026-11-01T10:00", 0), entry("2026-11-02T10:00", 0),
              entry("2026-11-02T10:00", 1), entry("2026-11-03T10:00", 1),
              entry("2026-11-03T10:00", 2), entry("2026-11-04T10:00", 2)]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=dt.date(2026, 11, 10)))
    result, want = board(runtime, events, spec, NOV3)
    assert_matches(result, want)
    # Cohorts Nov 1 and Nov 2 are both back a day later; Nov 3's day 1 (Nov 4) has not come.
    assert result.metric("d1_retention").value == 1.0
    assert result.retention_curve[:3] == [1.0, 1.0, 0.0]


def test_first_touch_ties_follow_message_id_order(runtime: Runtime) -> None:
    # "a" sorts before "a b": the first touch is "c", whatever the sources' own order.
    project = board_project(runtime, "Asia/Shanghai")
    messages = [message_from_dict({"event": "view", "anonymousId": "d", "messageId": mid,
                                   "timestamp": "2026-11-01T02:00:00Z",
                                   "properties": {"url": f"https://shop.test/?utm_source={s}"}})
                for mid, s in [("a b", "b"), ("a", "c"), ("a!", "a")]]  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(messages, project.id, BASE)
    )
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV1))
    result = run_overview(runtime.store, project, spec, NOV3)
    assert [(c.channel, c.persons) for c in result.new_persons_by_channel] == [("c", 1)]


def test_filters_apply_to_every_event(runtime: Runtime) -> None:
    events = [
        entry("2026-10-31T10:00", 0, None, "view", a="x"),  # filtered out: 0 is new on Nov 1
        entry("2026-11-01T10:00", 0, None, "order_completed", a="7", revenue=30),
        entry("2026-11-01T10:00", 1, None, "order_completed", revenue=70),  # no a: filtered
    ]  # fmt: skip
    spec = OverviewSpec(date_range=DateRange(start=NOV1, end=NOV1),
                        filters=[PropertyFilter(key="a", operator="eq", value=7)])  # fmt: skip
    result, want = board(runtime, events, spec, NOV3)
    assert_matches(result, want)
    got = {m.name: m.value for m in result.metrics}
    assert (got["new_persons"], got["revenue"], got["mau"]) == (1.0, 30.0, 1.0)


def test_an_empty_project_has_zeros_and_nones(runtime: Runtime) -> None:
    spec = OverviewSpec(date_range=DateRange(last_days=7))
    result, want = board(runtime, [], spec, NOV3)
    assert_matches(result, want)
    assert result.active_persons == [0] * 7 and result.new_persons_by_channel == []
    assert result.retention_curve == [None] * 31


class CountingStore:
    """A store that counts the queries run through it."""

    def __init__(self, store: EventStore) -> None:
        self.store, self.queries = store, 0
        self.engine_name = store.engine_name

    def arrow(self, sql: str, params: Any = None, input_rows: Any = None) -> Any:
        self.queries += 1
        return self.store.arrow(sql, params, input_rows)


def test_the_board_is_one_query(runtime: Runtime) -> None:
    project = board_project(runtime, "Asia/Shanghai")
    ingest(runtime, project.id, [entry("2026-11-01T10:00", 0)])
    counting = CountingStore(runtime.store)
    spec = OverviewSpec(
        date_range=DateRange(start=NOV1, end=NOV2),
        filters=[PropertyFilter(type="person", key="plan", operator="is_not_set")],
    )
    result = run_overview(counting, project, spec, NOV3)  # type: ignore[arg-type]
    assert counting.queries == 1 and result.active_persons == [1, 0]


@pytest.mark.parametrize("bad", [
    {"date_range": {"start": "2026-11-02", "end": "2026-11-01"}},
    {"date_range": {"last_days": 7}, "interval": "day"},
    {"date_range": {"last_days": 7}, "kind": "trends"},
    {"date_range": {"last_days": 7}, "filters": [{"key": "a", "operator": "gt", "value": "x"}]},
    {"date_range": {"last_days": 7}, "filters": [{"key": "a", "operator": "is_set"}] * 21},
    {},
])  # fmt: skip
def test_bad_specs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OverviewSpec.model_validate(bad)
