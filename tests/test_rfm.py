"""RFM scores and groups: a hand-made New York fixture with answers worked out by hand (ties,
an average hit exactly, non-numeric revenue, orders outside the window and after the refresh,
local days across the DST change), a brute-force fold of random order logs (Shanghai and New
York, merged identities, two refreshes in a row), reading them like traits, and bad configs."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_reference import (
    BASE,
    TIMEZONES,
    ingest,
    midnights,
    moment_of,
    new_project,
    number,
    persons_of,
    send,
)
from test_funnel import person_ids
from userops.analysis.query import parse_spec, run_query
from userops.analysis.rfm import (
    GROUPS,
    LABELS,
    RFM_PROPERTIES,
    RfmConfig,
    parse_rfm_config,
    refresh_rfm,
    rfm_summary,
)
from userops.analysis.scope import Scope
from userops.errors import BadRequest
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.store import rows

pytestmark = pytest.mark.usefixtures("clean_environment")

NY = ZoneInfo("America/New_York")
CODES = [g.code for g in GROUPS]
ORDER = "order_completed"


@pytest.fixture
def rfm_runtime(runtime: Runtime) -> Runtime:
    """The runtime: person_rfm comes with the event store's migrations, its properties with
    ``person_stats``."""
    return runtime


def table_rows(runtime: Runtime, project_id: int) -> dict[int, tuple[Any, ...]]:
    """Each scored person's (recency_days, frequency, monetary, r, f, m, rfm_group)."""
    found = rows(runtime.store,
                 "SELECT person_id, recency_days, frequency, monetary, r, f, m, rfm_group "
                 "FROM person_rfm FINAL WHERE project_id = {project:UInt32} AND rfm_group != ''",
                 {"project": project_id})  # fmt: skip
    return {int(person): tuple(values) for person, *values in found}


def by_distinct_id(runtime: Runtime, project: Project) -> dict[str, dict[str, str]]:
    """Every RFM property of each distinct id's person, read through Scope as a query would
    (only the properties that are set)."""
    q = Scope(project.id, project.timezone)
    names = list(RFM_PROPERTIES)
    columns = ", ".join(f"{q.text('person', name)} AS c{n}" for n, name in enumerate(names))
    sql = f"SELECT DISTINCT e.distinct_id, {columns} FROM {q.from_events()} " \
          "WHERE e.project_id = {project:UInt32}"  # noqa: S608 # fmt: skip
    return {str(distinct_id): {name: value for name, value in zip(names, values, strict=True)
                               if value is not None}
            for distinct_id, *values in rows(runtime.store, sql, q.params)}  # fmt: skip


# -- the hand-made fixture ---------------------------------------------------------------------

# The refresh: 10:00 on Monday 2026-11-02 in New York (EST since 02:00 on 11-01), with a
# 30-day window: local days 10-04 .. 11-02, from 10-04 00:00 EDT (04:00 UTC).
NOW = dt.datetime(2026, 11, 2, 10, tzinfo=NY)


def ny(month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NY)


# Person (anonymous id) -> orders as (moment, revenue).
ORDERS: dict[str, list[tuple[dt.datetime, Any]]] = {
    # today 3 times; the order after the refresh does not count
    "a": [(ny(11, 2, 9), 100), (ny(11, 2, 9, 10), 200), (ny(11, 2, 9, 20), 300),
          (ny(11, 2, 11), 10_000)],
    "b": [(ny(11, 1), 500)],
    # two orders at 23:30, before and after the DST change: the last is on local day 11-01
    # (11-02 04:30 UTC, and 00:30 at EDT's fixed offset)
    "d": [(ny(10, 31, 23, 30), 40), (ny(11, 1, 23, 30), 60)],
    "c": [(ny(10, 5), 250), (ny(10, 9), "n/a"), (ny(10, 13), "n/a")],
    "e": [(ny(10, 10), 50), (ny(10, 28), 50)],
    "f": [(ny(10, 23), "abc")],  # only non-numeric revenue
    "g": [(ny(10, 4, 0), 20)],  # the window's first instant
    "h": [(ny(10, 12), 20), (ny(10, 20), 20), (ny(10, 25), 20), (ny(10, 30), 20)],
    "i": [(ny(10, 18), 1000)],
    "j": [(ny(10, 16), 15), (ny(10, 26), 15)],
    # a minute before the window (10-04 03:59 UTC, a UTC day inside it): not scored
    "k": [(ny(10, 3, 23, 59), 999)],
}
# By hand. recency: a 0, b 1, d 1, h 3, e 5, j 7, f 10, i 15, c 20, g 29 (sum 91, average
# 9.1); frequency: b f g i 1, d e j 2, a c 3, h 4 (sum 20, average exactly 2: d e j are low);
# monetary: f 0, g 20, j 30, h 80, d e 100, c 250, b 500, a 600, i 1000 (sum 2680, average
# 268). Scores 1 + floor(5 * persons strictly worse / 10), e.g. R of b and d: 7 persons have
# a larger recency, 1 + floor(3.5) = 4; F of d e j: 4 persons have fewer orders, 3.
EXPECTED: dict[str, tuple[int, int, float, str, str]] = {
    "a": (0, 3, 600, "545", "important_value"),
    "b": (1, 1, 500, "414", "important_develop"),
    "c": (20, 3, 250, "144", "general_retain"),
    "d": (1, 2, 100, "433", "general_develop"),
    "e": (5, 2, 100, "333", "general_develop"),
    "f": (10, 1, 0, "211", "general_win_back"),
    "g": (29, 1, 20, "111", "general_win_back"),
    "h": (3, 4, 80, "452", "general_value"),
    "i": (15, 1, 1000, "215", "important_win_back"),
    "j": (7, 2, 30, "332", "general_develop"),
}
SUMMARY = {  # group: (persons, revenue)
    "important_value": (1, 600), "important_develop": (1, 500), "important_retain": (0, 0),
    "important_win_back": (1, 1000), "general_value": (1, 80), "general_develop": (3, 230),
    "general_retain": (1, 250), "general_win_back": (2, 20),
}  # fmt: skip


def load_fixture(runtime: Runtime, project: Project) -> None:
    messages: list[dict[str, Any]] = [
        {"anonymousId": person, "event": ORDER, "t": moment, "properties": {"revenue": revenue}}
        for person, orders in ORDERS.items() for moment, revenue in orders
    ]  # fmt: skip
    messages += [
        {"anonymousId": "a", "event": "view", "t": ny(11, 2, 8), "properties": {"revenue": 5}},
        {"anonymousId": "k", "t": ny(11, 1)},
        {"anonymousId": "l", "t": ny(11, 1)},  # never ordered
    ]
    send(runtime, project.id, messages)


def expected_properties(person: str) -> dict[str, str]:
    recency, frequency, monetary, score, group = EXPECTED[person]
    return {"$rfm_recency_days": str(recency), "$rfm_frequency": str(frequency),
            "$rfm_monetary": str(int(monetary)), "$rfm_r": score[0], "$rfm_f": score[1],
            "$rfm_m": score[2], "$rfm_score": score, "$rfm_group": group}  # fmt: skip


def test_hand_made_fixture(rfm_runtime: Runtime) -> None:
    runtime = rfm_runtime
    project = new_project(runtime, "America/New_York")
    load_fixture(runtime, project)
    config = parse_rfm_config({"window_days": 30})
    assert refresh_rfm(runtime.store, project, config, NOW) == len(EXPECTED)

    got = by_distinct_id(runtime, project)
    assert got == {**{p: expected_properties(p) for p in EXPECTED}, "k": {}, "l": {}}
    summary = rfm_summary(runtime.store, project.id)
    assert [s["group"] for s in summary] == CODES
    assert {s["group"]: (s["persons"], s["revenue"]) for s in summary} == SUMMARY
    for s in summary:
        assert s["revenue_share"] == pytest.approx(SUMMARY[s["group"]][1] / 2680)
    assert sum(s["revenue_share"] for s in summary) == pytest.approx(1)

    # Filters and breakdowns read them like traits: persons active in the last 30 days.
    spec = {"kind": "trends", "date_range": {"last_days": 30}, "interval": "day",
            "series": [{"event": None, "math": "unique_persons"}],
            "breakdown": {"type": "person", "key": "$rfm_group"}}  # fmt: skip
    result: Any = run_query(runtime.store, project, parse_spec(spec), NOW.date())
    assert {s.breakdown_value: s.total for s in result.series} == {
        **{code: persons for code, (persons, _) in SUMMARY.items() if persons}, "$none": 2,
    }
    spec = {**spec, "breakdown": None,
            "filters": [{"type": "person", "key": "$rfm_score", "operator": "gte",
                         "value": 400}]}  # fmt: skip
    result = run_query(runtime.store, project, parse_spec(spec), NOW.date())
    assert [s.total for s in result.series] == [4]  # a 545, b 414, d 433, h 452


def test_a_later_refresh_unsets_persons_no_longer_scored(rfm_runtime: Runtime) -> None:
    runtime = rfm_runtime
    project = new_project(runtime, "America/New_York")
    load_fixture(runtime, project)
    refresh_rfm(runtime.store, project, RfmConfig(window_days=30), NOW)
    # Today only: a alone, the best and the worst at once (111), and at every average (low).
    later = NOW + dt.timedelta(minutes=1)
    assert refresh_rfm(runtime.store, project, RfmConfig(window_days=1), later) == 1
    got = by_distinct_id(runtime, project)
    assert got["a"] == {"$rfm_recency_days": "0", "$rfm_frequency": "3",
                        "$rfm_monetary": "600", "$rfm_r": "1", "$rfm_f": "1", "$rfm_m": "1",
                        "$rfm_score": "111", "$rfm_group": "general_win_back"}  # fmt: skip
    assert all(properties == {} for person, properties in got.items() if person != "a")
    summary = {s["group"]: (s["persons"], s["revenue"], s["revenue_share"])
               for s in rfm_summary(runtime.store, project.id)}  # fmt: skip
    assert summary == {code: (1, 600, 1.0) if code == "general_win_back" else (0, 0, 0)
                       for code in CODES}  # fmt: skip
    # and back: a third refresh scores them all again
    last = later + dt.timedelta(minutes=1)
    assert refresh_rfm(runtime.store, project, RfmConfig(window_days=30), last) == 10
    assert by_distinct_id(runtime, project)["g"] == expected_properties("g")


def test_value_event_and_property_are_configurable(rfm_runtime: Runtime) -> None:
    runtime = rfm_runtime
    project = new_project(runtime, "Asia/Shanghai")
    now = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    send(runtime, project.id, [
        {"anonymousId": "x", "event": "pay", "t": now - day, "properties": {"amount": "12"}},
        {"anonymousId": "x", "event": "pay", "t": now - 3 * day, "properties": {"amount": 3}},
        {"anonymousId": "y", "event": "pay", "t": now - day, "properties": {"amount": True}},
        {"anonymousId": "y", "event": ORDER, "t": now, "properties": {"amount": 100}},
        {"anonymousId": "z", "event": ORDER, "t": now, "properties": {"revenue": 100}},
    ])  # fmt: skip
    config = parse_rfm_config(b'{"value_event": "pay", "value_property": "amount"}')
    assert refresh_rfm(runtime.store, project, config, now) == 2
    got = by_distinct_id(runtime, project)
    assert {p: got[p]["$rfm_monetary"] for p in "xy"} == {"x": "15", "y": "1"}
    # Both bought yesterday, at the average recency: R is low for both.
    assert got["x"]["$rfm_group"] == "important_retain"  # more orders and more spent
    assert got["y"]["$rfm_group"] == "general_win_back"
    assert got["z"] == {}


def test_the_monetary_average_is_compared_exactly(rfm_runtime: Runtime) -> None:
    """1.1 is exactly the average of 1.9, 0.3 and 1.1, so it is low; in floats 1.1 * 3 is
    3.3000000000000003, more than their sum in any order."""
    runtime = rfm_runtime
    project = new_project(runtime, "Asia/Shanghai")
    now = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)
    send(runtime, project.id, [
        {"anonymousId": who, "event": ORDER, "t": now - dt.timedelta(hours=1),
         "properties": {"revenue": amount}}
        for who, amount in (("x", 1.9), ("y", 0.3), ("z", 1.1))
    ])  # fmt: skip
    assert refresh_rfm(runtime.store, project, RfmConfig(), now) == 3
    got = by_distinct_id(runtime, project)
    m_high = {p: next(g.m_high for g in GROUPS if g.code == got[p]["$rfm_group"]) for p in "xyz"}
    assert m_high == {"x": True, "y": False, "z": False}


# -- brute force ---------------------------------------------------------------------------

# Four days into a five-day log around New York's DST change: some orders come after it.
RANDOM_NOW = BASE + dt.timedelta(days=4)
REVENUES = [0, 0.5, 2.25, 100, 250.5, -1.5, "12", "abc", "nan", True]  # exact sums, ties

order_entry = st.fixed_dictionaries({
    "event": st.sampled_from(["view", ORDER, ORDER]),
    "device": st.integers(0, 5),
    "user": st.one_of(st.none(), st.none(), st.integers(0, 2)),
    "minutes": st.one_of(st.integers(0, 5 * 24 * 60), st.sampled_from(midnights())),
    "properties": st.one_of(st.just({}),
                            st.sampled_from(REVENUES).map(lambda v: {"revenue": v})),
})  # fmt: skip


def reference(log: list[dict[str, Any]], zone: ZoneInfo,
              window_days: int) -> dict[str, tuple[Any, ...]]:  # fmt: skip
    """Each reference person's row, folded in plain Python as rfm.py's docstring says."""
    roots = persons_of(log)
    today = RANDOM_NOW.astimezone(zone).date()
    start = dt.datetime.combine(today - dt.timedelta(days=window_days - 1), dt.time(), zone)
    folded: dict[str, tuple[dt.date, int, float]] = {}
    for entry in log:
        moment = moment_of(entry)
        if entry["event"] != ORDER or not start <= moment < RANDOM_NOW:
            continue
        person = roots[f"device-{entry['device']}"]
        last, count, amount = folded.get(person, (dt.date.min, 0, 0.0))
        folded[person] = (max(last, moment.astimezone(zone).date()), count + 1,
                          amount + (number(entry["properties"], "revenue") or 0.0))  # fmt: skip
    values = {p: ((today - last).days, count, round(amount, 6))
              for p, (last, count, amount) in folded.items()}  # fmt: skip
    n = len(values)
    # Exact: each monetary value as the 6-decimal number it stands for, not as a float.
    exact = {p: (Fraction(v[0]), Fraction(v[1]), Fraction(repr(v[2]))) for p, v in values.items()}
    totals = [sum(v[k] for v in exact.values()) for k in range(3)]
    out: dict[str, tuple[Any, ...]] = {}
    for person, (recency, frequency, monetary) in values.items():
        worse = (sum(1 for v in values.values() if v[0] > recency),
                 sum(1 for v in values.values() if v[1] < frequency),
                 sum(1 for v in values.values() if v[2] < monetary))  # fmt: skip
        r, f, m = (1 + 5 * w // n for w in worse)
        high = (recency * n < totals[0], frequency * n > totals[1],
                exact[person][2] * n > totals[2])  # fmt: skip
        group = next(g.code for g in GROUPS if (g.r_high, g.f_high, g.m_high) == high)
        out[person] = (recency, frequency, monetary, r, f, m, group)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(log=st.lists(order_entry, min_size=1, max_size=40), zone=st.sampled_from(TIMEZONES),
       windows=st.lists(st.sampled_from([1, 2, 3, 365]), min_size=2, max_size=2))
def test_rows_equal_a_brute_force_fold(rfm_runtime: Runtime, log: list[dict[str, Any]],
                                       zone: str, windows: list[int]) -> None:  # fmt: skip
    runtime = rfm_runtime
    project = new_project(runtime, zone)
    ingest(runtime, project.id, log)
    ids = person_ids(runtime, project, log)
    for n, window_days in enumerate(windows):  # the second refresh replaces the first
        now = RANDOM_NOW + dt.timedelta(milliseconds=n)
        persons = refresh_rfm(runtime.store, project, RfmConfig(window_days=window_days), now)
        want = reference(log, ZoneInfo(zone), window_days)
        assert persons == len(want)
        assert table_rows(runtime, project.id) == {ids[p]: row for p, row in want.items()}
    summary = rfm_summary(runtime.store, project.id)
    assert [s["group"] for s in summary] == CODES
    for s in summary:
        members = [row for row in want.values() if row[6] == s["group"]]
        assert (s["persons"], s["revenue"]) == (len(members), sum(row[2] for row in members))
    total = sum(row[2] for row in want.values())
    if total:
        assert sum(s["revenue_share"] for s in summary) == pytest.approx(1)
    else:
        assert all(s["revenue_share"] == 0 for s in summary)


# -- config --------------------------------------------------------------------------------


def test_config_defaults_and_labels() -> None:
    assert parse_rfm_config(None) == RfmConfig() == parse_rfm_config({})
    assert RfmConfig().window_days == 365 and RfmConfig().bins == 5
    assert set(LABELS) == set(CODES) and len(CODES) == 8
    assert LABELS["important_value"] == {"zh-CN": "重要价值客户", "en": "Champions"}
    assert LABELS["general_win_back"]["zh-CN"] == "一般挽留客户"


@pytest.mark.parametrize(("config", "field"), [
    ({"window_days": 0}, "window_days"),
    ({"window_days": 3651}, "window_days"),
    ({"window_days": "30"}, "window_days"),
    ({"window_days": True}, "window_days"),
    ({"window_days": 30.5}, "window_days"),
    ({"bins": 4}, "bins"),
    ({"value_event": ""}, "value_event"),
    ({"value_event": 7}, "value_event"),
    ({"value_property": "x" * 401}, "value_property"),
    ({"colour": "red"}, "colour"),
    (b'{"window_days": -1}', "window_days"),
])  # fmt: skip
def test_bad_configs_name_the_field(config: Any, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_rfm_config(config)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")  # as every request body's error


@pytest.mark.parametrize("config", [b'{"window_days": ', b"[1]", "7"])
def test_configs_not_json_objects_are_refused(config: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_rfm_config(config)
    assert caught.value.field is None
