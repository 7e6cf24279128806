"""Computed person properties against a brute-force fold of the same random event logs (in
Shanghai and New York, with merges, ties, first touches and orders around local midnights), and
read back as filters and breakdowns like any trait."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_reference import BASE, TIMEZONES, midnights, moment_of, new_project, persons_of
from test_funnel import person_ids
from userops.analysis import computed, definitions
from userops.analysis.person_stats import TABLES
from userops.analysis.query import parse_spec, run_query
from userops.analysis.scope import TRACKED, Scope
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict
from userops.store import rows

pytestmark = pytest.mark.usefixtures("clean_environment")

# The refresh's moment: five days into the log, so the 30-day window cuts through it only when
# the log is long; LOG_DAYS below stretches it past 30 days.
LOG_DAYS = 40
NOW = BASE + dt.timedelta(days=LOG_DAYS - 5)
SOURCES = ["douyin", "wechat", "baidu"]

entry = st.fixed_dictionaries({
    "event": st.sampled_from(["view", "view", "order_completed"]),
    "device": st.integers(0, 4),
    "user": st.one_of(st.none(), st.integers(0, 2)),
    "minutes": st.one_of(st.integers(0, LOG_DAYS * 24 * 60),
                         # local midnights around the 30-day window's first day and around
                         # the refresh's own day
                         st.sampled_from([m + days * 24 * 60 for m in midnights()
                                          for days in (4, 34)])),
    "revenue": st.one_of(st.none(), st.sampled_from([0, 9.9, 100, 250.5])),
    "utm": st.one_of(st.none(), st.none(), st.tuples(st.sampled_from(SOURCES),
                                                     st.sampled_from(["cpc", "social"]),
                                                     st.sampled_from(["spring", "w48"]))),
})  # fmt: skip


def ingest(runtime: Runtime, project: Project, log: list[dict[str, Any]]) -> None:
    messages = []
    for n, spec in enumerate(log):
        message: dict[str, Any] = {
            "type": "track", "event": spec["event"], "messageId": f"m{n}",
            "anonymousId": f"device-{spec['device']}",
            "timestamp": moment_of(spec).isoformat(), "properties": {},
        }  # fmt: skip
        if spec["revenue"] is not None:
            message["properties"]["revenue"] = spec["revenue"]
        if spec["utm"] is not None:
            source, medium, name = spec["utm"]
            message["context"] = {"campaign": {"source": source, "medium": medium, "name": name}}
        if spec["user"] is not None:
            message["userId"] = f"user-{spec['user']}"
        messages.append(message_from_dict(message))
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(messages, project.id, NOW + dt.timedelta(days=1))
    )


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def reference(log: list[dict[str, Any]], zone: ZoneInfo) -> dict[str, dict[str, Any]]:
    """Each reference person's properties, folded in plain Python as the docstring says."""
    roots = persons_of(log)
    today = NOW.astimezone(zone).date()
    recent_start = dt.datetime.combine(today - dt.timedelta(days=29), dt.time(), zone)
    out: dict[str, dict[str, Any]] = {}
    ordered = sorted(((moment_of(e), f"m{n}", e) for n, e in enumerate(log)),
                     key=lambda t: (t[0], t[1]))  # fmt: skip
    for moment, _, spec in ordered:
        if moment >= NOW:
            continue
        person = out.setdefault(roots[f"device-{spec['device']}"], {
            "$first_seen": iso(moment), "$events": 0, "$events_30d": 0, "days": set(),
            "$orders": 0, "$revenue": 0.0, "$revenue_30d": 0.0,
        })  # fmt: skip
        person["$last_seen"] = iso(moment)
        person["$events"] += 1
        recent = moment >= recent_start
        if recent:
            person["$events_30d"] += 1
            person["days"].add(moment.astimezone(zone).date())
        if spec["utm"] is not None and "$first_channel" not in person:
            source, medium, name = spec["utm"]
            person |= {"$first_channel": source, "$first_utm_medium": medium,
                       "$first_utm_campaign": name}  # fmt: skip
        if spec["event"] == "order_completed":
            amount = float(spec["revenue"] or 0)
            person["$orders"] += 1
            person["$revenue"] += amount
            person["$revenue_30d"] += amount if recent else 0.0
            person["$last_order_at"] = iso(moment)
    for person in out.values():
        person["$active_days_30d"] = len(person.pop("days"))
    return out


def stored(runtime: Runtime, project: Project) -> dict[int, dict[str, Any]]:
    """Every computed property of every person, read through Scope as a query would."""
    q = Scope(project.id, project.timezone)
    names = list(TABLES["person_stats"])
    columns = ", ".join(f"{q.text('person', name)} AS c{n}" for n, name in enumerate(names))
    sql = f"SELECT DISTINCT {q.person} AS person, {columns} FROM {q.from_events()} " \
          f"WHERE e.project_id = {{project:UInt32}} AND {TRACKED}"  # noqa: S608 # fmt: skip
    found: dict[int, dict[str, Any]] = {}
    for person, *values in rows(runtime.store, sql, q.params):
        found[int(person)] = {name: value for name, value in zip(names, values, strict=True)
                              if value is not None}  # fmt: skip
    return found


def as_text(value: Any) -> str:
    """A reference value as the property's text (JSON's spelling of numbers)."""
    if isinstance(value, float):
        return json.dumps(value if value != int(value) else int(value))
    return str(value)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(log=st.lists(entry, min_size=1, max_size=40), zone=st.sampled_from(TIMEZONES))
def test_properties_equal_a_brute_force_fold(runtime: Runtime, log: list[dict[str, Any]],
                                             zone: str) -> None:  # fmt: skip
    project = new_project(runtime, zone)
    ingest(runtime, project, log)
    persons = computed.refresh(runtime.store, project, NOW)
    want = reference(log, ZoneInfo(zone))
    ids = person_ids(runtime, project, log)
    assert persons == len(want)
    got = stored(runtime, project)
    for root, properties in want.items():
        expected = {name: as_text(value) for name, value in properties.items()}
        assert got[ids[root]] == expected, root
    # (a refresh that found nobody, every event after NOW, leaves no row to date it)
    assert computed.last_refresh(runtime.store, project.id) == (NOW if want else None)


def test_a_second_refresh_replaces_the_first_and_merges_count_from_then(
    runtime: Runtime, project: Project
) -> None:
    log = [{"event": "order_completed", "device": 1, "user": None, "minutes": 10,
            "revenue": 100, "utm": None},
           {"event": "order_completed", "device": 2, "user": None, "minutes": 20,
            "revenue": 50, "utm": ("wechat", "social", "w48")}]  # fmt: skip
    ingest(runtime, project, log)
    computed.refresh(runtime.store, project, NOW)
    before = stored(runtime, project)
    assert sorted(p["$revenue"] for p in before.values()) == ["100", "50"]
    # device-2 turns out to be device-1's person: until the next refresh each keeps its row
    merge = [{"event": "view", "device": 2, "user": 7, "minutes": 30, "revenue": None,
              "utm": None},
             {"event": "view", "device": 1, "user": 7, "minutes": 40, "revenue": None,
              "utm": None}]  # fmt: skip
    messages = [message_from_dict({"type": "track", "event": "view", "messageId": f"x{n}",
                                   "anonymousId": f"device-{m['device']}", "userId": "user-7",
                                   "timestamp": moment_of(m).isoformat()})
                for n, m in enumerate(merge)]  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(messages, project.id, NOW)
    )
    later = NOW + dt.timedelta(hours=1)
    assert computed.refresh(runtime.store, project, later) == 1
    after = stored(runtime, project)
    assert list(after.values()) == [{
        "$first_seen": iso(moment_of(log[0])), "$last_seen": iso(moment_of(merge[1])),
        "$first_channel": "wechat", "$first_utm_medium": "social", "$first_utm_campaign": "w48",
        "$events": "4", "$events_30d": "0", "$active_days_30d": "0", "$orders": "2",
        "$revenue": "150", "$revenue_30d": "0", "$last_order_at": iso(moment_of(log[1])),
    }]  # fmt: skip
    assert computed.last_refresh(runtime.store, project.id) == later
    # the absorbed person's row from the first refresh is gone, not merely outranked
    [(left,)] = rows(runtime.store, "SELECT count() FROM person_stats WHERE project_id = "
                     "{project:UInt32}", {"project": project.id})  # fmt: skip
    assert left == 1


def test_filters_and_breakdowns_read_them_beside_traits(runtime: Runtime, project: Project) -> None:
    base = dt.datetime.combine(NOW.astimezone(ZoneInfo(project.timezone)).date(), dt.time(10),
                               ZoneInfo(project.timezone))  # fmt: skip
    messages = [
        {"type": "identify", "anonymousId": "a", "traits": {"plan": "pro"}},
        {"type": "track", "event": "order_completed", "anonymousId": "a",
         "properties": {"revenue": 600}, "context": {"campaign": {"source": "douyin"}}},
        {"type": "track", "event": "order_completed", "anonymousId": "b",
         "properties": {"revenue": 80}, "context": {"campaign": {"source": "wechat"}}},
        {"type": "track", "event": "view", "anonymousId": "c"},
    ]  # fmt: skip
    parsed = [message_from_dict({**m, "messageId": f"f{n}",
                                 "timestamp": (base - dt.timedelta(days=1, minutes=n)).isoformat()})
              for n, m in enumerate(messages)]  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(parsed, project.id, NOW)
    )
    computed.refresh(runtime.store, project, base)
    spec = {"kind": "trends", "date_range": {"last_days": 7}, "interval": "day",
            "series": [{"event": None, "math": "unique_persons"}]}  # fmt: skip
    today = base.date()

    def total(**extra: Any) -> dict[str, float]:
        result = run_query(runtime.store, project, parse_spec({**spec, **extra}), today)
        return {s.breakdown_value or "": s.total for s in result.series}  # type: ignore[attr-defined]

    big = {"type": "person", "key": "$revenue", "operator": "gte", "value": 500}
    assert total(filters=[big]) == {"": 1.0}
    pro_or_big = [{"type": "person", "key": "plan", "operator": "eq", "value": "pro"}, big]
    assert total(filters=pro_or_big) == {"": 1.0}  # a trait and a computed property together
    by_channel = total(breakdown={"type": "person", "key": "$first_channel"})
    assert by_channel == {"douyin": 1.0, "wechat": 1.0, "$none": 1.0}
    unset = {"type": "person", "key": "$last_order_at", "operator": "is_not_set"}
    assert total(filters=[unset]) == {"": 1.0}


def test_data_management_lists_them_with_types_and_counts(
    runtime: Runtime, project: Project
) -> None:
    assert definitions.computed_properties(runtime.store, project.id) == []  # never refreshed
    log = [{"event": "order_completed", "device": 1, "user": None, "minutes": 10,
            "revenue": 100, "utm": ("douyin", "cpc", "w48")},
           {"event": "view", "device": 2, "user": None, "minutes": 20, "revenue": None,
            "utm": None}]  # fmt: skip
    ingest(runtime, project, log)
    computed.refresh(runtime.store, project, NOW)
    found = {d.name: d for d in definitions.computed_properties(runtime.store, project.id)}
    assert set(found) == set(TABLES["person_stats"])
    kinds = {name: found[name].type for name in ("$revenue", "$first_channel", "$last_order_at",
                                                 "$first_seen", "$orders")}  # fmt: skip
    assert kinds == {"$revenue": "number", "$first_channel": "string",
                     "$last_order_at": "datetime", "$first_seen": "datetime",
                     "$orders": "number"}  # fmt: skip
    assert (found["$first_channel"].count, found["$first_channel"].examples) == (1, ["douyin"])
    assert (found["$revenue"].count, found["$last_order_at"].count) == (2, 1)
    assert found["$revenue"].last_seen == NOW
