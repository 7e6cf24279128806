"""Segment membership on hand-made logs with known answers: what persons without events match,
window edges on local midnights (Shanghai, and New York's 23- and 25-hour days), first times,
aggregates of nothing, identity merges across batches, person filters inside behaviour,
funnels, references to other segments, hostile names."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analysis_reference import module_runtime, new_project, send, track
from userops.analysis import computed
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.errors import BadRequest
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.segments import compile_segment, count, members, parse_definition
from userops.store import rows

SHANGHAI, NEW_YORK = ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York")
UTC = dt.UTC


runtime = module_runtime("segments")


def persons(runtime: Runtime, project: Project) -> dict[str, int]:
    """Each distinct id's current person."""
    sql = f"SELECT DISTINCT e.distinct_id, {RESOLVED_PERSON} FROM {RESOLVED_EVENTS} " \
          "WHERE e.project_id = {project:UInt32}"  # noqa: S608 # fmt: skip
    return {str(d): int(p) for d, p in rows(runtime.store, sql, {"project": project.id})}


def who(runtime: Runtime, project: Project, definition: dict[str, Any], now: dt.datetime,
        resolver: Any = None) -> set[str]:  # fmt: skip
    """The members' distinct ids (each person by every id it has), checking ``count``."""
    parsed = parse_definition(definition)
    found = members(runtime.store, project, parsed, resolver, now)
    assert count(runtime.store, project, parsed, resolver, now) == len(found)
    ids = persons(runtime, project)
    return {d for d, p in ids.items() if p in found}


@pytest.fixture
def shop(runtime: Runtime) -> Project:
    """Three persons in Shanghai: a buys twice, b views, c only identifies (a pro plan)."""
    project = new_project(runtime, "Asia/Shanghai")
    day = dt.datetime(2026, 3, 10, 12, tzinfo=SHANGHAI)
    send(runtime, project.id, [
        track("a", "pay", day, revenue=300), track("a", "pay", day + dt.timedelta(days=1),
                                                   revenue="250.5"),
        track("b", "view", day),
        {"type": "identify", "userId": "c", "t": day, "traits": {"plan": "pro"}},
    ])  # fmt: skip
    return project


NOW = dt.datetime(2026, 3, 12, 9, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("definition", "expected"), [
    ({"kind": "performed", "event": "pay"}, {"a"}),
    ({"kind": "performed", "event": "pay", "operator": "lte", "count": 1}, {"b", "c"}),
    ({"kind": "performed", "event": "pay", "operator": "eq", "count": 0}, {"b", "c"}),
    ({"kind": "performed", "event": "pay", "operator": "eq", "count": 2}, {"a"}),
    ({"kind": "not_performed", "event": "pay"}, {"b", "c"}),
    ({"not": {"kind": "performed", "event": "pay", "operator": "gt", "count": 1}}, {"b", "c"}),
    # sum and count of nothing are 0; avg, min and max of nothing hold no comparison
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "operator": "gte",
      "value": 550.5}, {"a"}),
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "operator": "lt",
      "value": 100}, {"b", "c"}),
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "math": "count",
      "operator": "eq", "value": 0}, {"b", "c"}),
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "math": "avg",
      "operator": "lt", "value": 1000}, {"a"}),
    ({"not": {"kind": "aggregate", "event": "pay", "property": "revenue", "math": "max",
              "operator": "gte", "value": 300}}, {"b", "c"}),
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "math": "min",
      "operator": "eq", "value": 250.5}, {"a"}),
    # person properties: c has a plan, the others none
    ({"kind": "person", "key": "plan", "operator": "eq", "value": "pro"}, {"c"}),
    ({"kind": "person", "key": "plan", "operator": "neq", "value": "pro"}, {"a", "b"}),
    ({"kind": "person", "key": "plan", "operator": "is_not_set"}, {"a", "b"}),
    ({"or": [{"kind": "person", "key": "plan", "operator": "is_set"},
             {"kind": "performed", "event": "view"}]}, {"b", "c"}),
    ({"and": [{"kind": "person", "key": "plan", "operator": "neq", "value": "x"},
              {"not": {"kind": "performed", "event": "view"}}]}, {"a", "c"}),
    # a person filter inside a behaviour condition holds for all of the person's events
    ({"kind": "performed", "event": "pay", "operator": "lte", "count": 0,
      "filters": [{"key": "plan", "type": "person", "operator": "is_set"}]}, {"a", "b", "c"}),
    ({"kind": "performed", "event": "$identify",
      "filters": [{"key": "plan", "type": "person", "operator": "eq", "value": "pro"}]}, {"c"}),
    ({"kind": "first_performed", "event": "pay", "window": {"last_days": 3}}, {"a"}),
    # a's first pay was on the 10th: not in the last 2 days, though a paid on the 11th
    ({"kind": "first_performed", "event": "pay", "window": {"last_days": 2}}, set()),
    ({"kind": "performed", "event": "pay", "window": {"last_days": 2}}, {"a"}),
    ({"kind": "persons", "ids": []}, set()),
])  # fmt: skip
def test_conditions_on_a_small_shop(runtime: Runtime, shop: Project, definition: dict[str, Any],
                                    expected: set[str]) -> None:  # fmt: skip
    assert who(runtime, shop, definition, NOW) == expected


def test_static_lists_and_referenced_segments(runtime: Runtime, shop: Project) -> None:
    ids = persons(runtime, shop)
    listed = {"kind": "persons", "ids": [ids["a"], ids["c"], 99_999_999]}  # unknown: no one
    assert who(runtime, shop, listed, NOW) == {"a", "c"}
    resolver = {
        1: {"kind": "performed", "event": "pay"},
        2: [ids["b"], 88_888_888],
        3: {"or": [{"kind": "segment", "id": 1}, {"kind": "segment", "id": 2}]},
    }.get
    assert who(runtime, shop, {"kind": "segment", "id": 1}, NOW, resolver) == {"a"}
    assert who(runtime, shop, {"kind": "segment", "id": 2}, NOW, resolver) == {"b"}
    assert who(runtime, shop, {"not": {"kind": "segment", "id": 3}}, NOW, resolver) == {"c"}


def test_last_days_end_on_local_midnights_in_shanghai(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    midnight = dt.datetime(2026, 3, 10, tzinfo=SHANGHAI)  # 2026-03-09 16:00 UTC
    ms = dt.timedelta(milliseconds=1)
    send(runtime, project.id, [
        track("before", "pay", midnight - ms), track("at", "pay", midnight),
        track("last", "pay", midnight + dt.timedelta(days=2) - ms),
        track("after", "pay", midnight + dt.timedelta(days=2)),
    ])  # fmt: skip
    now = dt.datetime(2026, 3, 11, 0, 0, tzinfo=SHANGHAI)  # today is the 11th, from midnight
    window = {"kind": "performed", "event": "pay", "window": {"last_days": 2}}
    assert who(runtime, project, window, now) == {"at", "last"}
    dates = {"kind": "performed", "event": "pay", "window": {"start": "2026-03-10",
                                                             "end": "2026-03-10"}}  # fmt: skip
    assert who(runtime, project, dates, now) == {"at"}
    # One millisecond before local midnight, "now" is still the 10th.
    assert who(runtime, project, window, now - ms) == {"before", "at"}


@pytest.mark.parametrize(("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25)])
def test_days_across_daylight_saving_changes_in_new_york(runtime: Runtime, day: str,
                                                         hours: int) -> None:  # fmt: skip
    project = new_project(runtime, "America/New_York")
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), NEW_YORK)
    end = dt.datetime.combine(dt.date.fromisoformat(day) + dt.timedelta(days=1), dt.time(),
                              NEW_YORK)  # fmt: skip
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == hours * 3600
    ms = dt.timedelta(milliseconds=1)
    send(runtime, project.id, [
        track("before", "pay", start - ms), track("first", "pay", start),
        track("last", "pay", end - ms), track("next", "pay", end),
    ])  # fmt: skip
    definition = {"kind": "first_performed", "event": "pay",
                  "window": {"start": day, "end": day}}  # fmt: skip
    assert who(runtime, project, definition, start) == {"first", "last"}
    assert who(
        runtime,
        project,
        {"kind": "performed", "event": "pay", "window": {"last_days": 1}},
        end - ms,
    ) == {"first", "last"}


def test_events_before_a_merge_count_for_the_merged_person(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    t = dt.datetime(2026, 3, 10, 12, tzinfo=SHANGHAI)
    send(runtime, project.id, [
        {"anonymousId": "anon", "event": "pay", "t": t, "properties": {"revenue": 200}},
        track("u", "pay", t, revenue=400),
    ], batch="one")  # fmt: skip
    # A later batch links them: the anonymous person is merged into u's (person_overrides).
    send(runtime, project.id, [{"type": "identify", "anonymousId": "anon", "userId": "u",
                                "t": t + dt.timedelta(hours=1)}], batch="two")  # fmt: skip
    assert rows(runtime.store, "SELECT count() FROM person_overrides WHERE project_id = "
                "{p:UInt32}", {"p": project.id})[0][0] > 0  # fmt: skip
    twice = {"and": [
        {"kind": "performed", "event": "pay", "operator": "eq", "count": 2},
        {"kind": "aggregate", "event": "pay", "property": "revenue", "operator": "eq",
         "value": 600},
    ]}  # fmt: skip
    assert who(runtime, project, twice, NOW) == {"anon", "u"}
    assert len(members(runtime.store, project, parse_definition(twice), None, NOW)) == 1



def test_a_list_of_ids_follows_a_merge(runtime: Runtime) -> None:
    """An uploaded list keeps ids: the anonymous id listed before the merge names the merged
    person after it, where a list of the person ids it named at upload would name no one."""
    project = new_project(runtime, "UTC")
    t = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    first = [track("u", "pay", t), {"anonymousId": "anon", "event": "view", "t": t}]
    send(runtime, project.id, first, batch="one")
    listed = {"kind": "distinct_ids", "ids": ["anon", "nobody"]}
    before = members(runtime.store, project, parse_definition(listed), None, NOW)
    as_persons = {"kind": "persons", "ids": before}
    assert who(runtime, project, listed, NOW) == {"anon"}
    send(runtime, project.id, [{"type": "identify", "anonymousId": "anon", "userId": "u",
                                "t": t + dt.timedelta(hours=1)}], batch="two")  # fmt: skip
    after = members(runtime.store, project, parse_definition(listed), None, NOW)
    assert len(after) == 1 and after != before
    assert who(runtime, project, listed, NOW) == {"anon", "u"}
    assert members(runtime.store, project, parse_definition(as_persons), None, NOW) == []


def test_funnel_steps_converted_and_dropped(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    t = dt.datetime(2026, 3, 10, 12, tzinfo=SHANGHAI)
    hour = dt.timedelta(hours=1)
    send(runtime, project.id, [
        track("all", "view", t), track("all", "cart", t + hour), track("all", "pay", t + 2 * hour),
        track("cart", "view", t), track("cart", "cart", t + hour),
        track("view", "view", t),
        track("late", "view", t), track("late", "cart", t + 2 * dt.timedelta(days=1)),
        track("backwards", "cart", t), track("backwards", "view", t + hour),
        track("no view", "cart", t), track("no view", "pay", t + hour),
    ])  # fmt: skip
    funnel = {"steps": [{"event": "view"}, {"event": "cart"}, {"event": "pay"}],
              "date_range": {"last_days": 7}, "window": {"value": 1, "unit": "day"}}  # fmt: skip

    def step(n: int, status: str = "converted", **changes: Any) -> dict[str, Any]:
        return {"kind": "funnel", "funnel": {**funnel, **changes}, "step": n, "status": status}

    everyone = {"all", "cart", "view", "late", "backwards"}
    assert who(runtime, project, step(0), NOW) == everyone
    assert who(runtime, project, step(1), NOW) == {"all", "cart"}
    assert who(runtime, project, step(2), NOW) == {"all"}
    assert who(runtime, project, step(1, "dropped"), NOW) == {"view", "late", "backwards"}
    assert who(runtime, project, step(2, "dropped"), NOW) == {"cart"}
    unordered = step(1, mode="unordered")
    assert who(runtime, project, unordered, NOW) == {"all", "cart", "backwards", "no view"}
    # With a condition that reads events of its own, the candidates are read from events:
    # an unordered funnel's entering events are every step's, not the first step's only.
    both = {"and": [unordered, {"kind": "not_performed", "event": "refund"}]}
    assert who(runtime, project, both, NOW) == {"all", "cart", "backwards", "no view"}
    assert who(runtime, project, {"not": step(1)}, NOW) == {"view", "late", "backwards",
                                                            "no view"}  # fmt: skip


def test_hostile_names_are_data(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    name = "x'); DROP TABLE events; -- {p0:String} \\"
    send(runtime, project.id, [track("a", name, NOW, **{name: 5}), track("b", "view", NOW)])
    definition = {"and": [
        {"kind": "performed", "event": name, "filters": [{"key": name, "operator": "eq",
                                                           "value": 5}]},
        {"kind": "aggregate", "event": name, "property": name, "operator": "eq", "value": 5},
        {"not": {"kind": "person", "key": name, "operator": "eq", "value": name}},
    ]}  # fmt: skip
    assert who(runtime, project, definition, NOW) == {"a"}
    query = compile_segment(project, parse_definition(definition), now=NOW)
    assert name not in query.members_sql() and "DROP" not in query.count_sql()


def test_a_cycle_is_refused_before_any_query(runtime: Runtime, shop: Project) -> None:
    resolver = {1: {"kind": "segment", "id": 2}, 2: {"not": {"kind": "segment", "id": 1}}}.get
    with pytest.raises(BadRequest, match=r"cycle: 1 -> 2 -> 1"):
        count(runtime.store, shop, parse_definition({"kind": "segment", "id": 1}), resolver,
              NOW)  # fmt: skip


def test_computed_properties_select_persons_who_never_sent_traits(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    at = dt.datetime(2026, 11, 20, 4, tzinfo=UTC)
    send(runtime, project.id, [
        {"t": at, "anonymousId": "buyer", "event": "order_completed",
         "properties": {"revenue": 30}},
        {"t": at, "anonymousId": "viewer"},
        {"t": at, "type": "identify", "anonymousId": "fan", "traits": {"plan": "pro"}},
        {"t": at, "anonymousId": "fan", "event": "order_completed",
         "properties": {"revenue": 5}},
    ])  # fmt: skip
    computed.refresh(runtime.store, project, at + dt.timedelta(hours=1))
    now = at + dt.timedelta(hours=2)
    buyers = {"kind": "person", "key": "$orders", "operator": "gt", "value": 0}
    assert who(runtime, project, buyers, now) == {"buyer", "fan"}  # "buyer" has no traits
    big_or_pro = {"or": [{"kind": "person", "key": "$revenue", "operator": "gte", "value": 10},
                         {"kind": "person", "key": "plan", "operator": "eq", "value": "pro"}]}
    assert who(runtime, project, big_or_pro, now) == {"buyer", "fan"}
    idle = {"not": buyers}
    assert who(runtime, project, idle, now) == {"viewer"}
