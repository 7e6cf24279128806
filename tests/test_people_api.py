"""Computed properties and lifecycle stages over REST on a real `userops serve`: the on-demand
refresh, its bad bodies, the stage counts and transitions, and the daily job kept with the
segments' jobs in the metadata store."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from resource_helpers import load, serve_shop
from userops.meta.models import Project
from userops.runtime import Runtime

pytestmark = pytest.mark.usefixtures("clean_environment")

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = dt.datetime.now(ZONE).date()
P = "/api/projects/shop"


def noon(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(12), ZONE)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def fill(runtime: Runtime, shop: Project) -> dict[str, Any]:
        load(runtime, shop.id, [
            {"type": "track", "event": "view", "anonymousId": "old", "timestamp": noon(60)},
            {"type": "track", "event": "view", "anonymousId": "old", "timestamp": noon(0)},
            {"type": "track", "event": "order_completed", "anonymousId": "new",
             "timestamp": noon(1), "properties": {"revenue": 42}},
            {"type": "track", "event": "view", "anonymousId": "idle", "timestamp": noon(20)},
        ])  # fmt: skip
        return {}

    with serve_shop(tmp_path_factory.mktemp("people-api") / "data", fill) as served:
        yield served


def test_a_refresh_computes_properties_and_stages_read_back(served: dict[str, Any]) -> None:
    analyst = served["callers"]["analyst"]
    done = analyst.call("POST", P + "/computed-properties/refresh", json={
        "stages": {"new_days": 7, "active_days": 7, "churn_days": 30}, "stage_days": 30})
    assert done.status_code == 200, done.text
    assert (done.json()["persons"], done.json()["stage_rows"] > 0) == (3, True)
    assert done.json()["rfm_scored"] == 1  # the one person with an order
    groups = served["callers"]["viewer"].call("GET", P + "/rfm").json()
    assert len(groups) == 8 and sum(g["persons"] for g in groups) == 1
    [scored] = [g for g in groups if g["persons"]]
    assert (scored["revenue"], scored["revenue_share"]) == (42, 1)
    assert scored["label"]["zh-CN"].endswith("客户")
    viewer = served["callers"]["viewer"]
    counts = viewer.call("GET", P + "/lifecycle-stages").json()
    assert counts == {"day": TODAY.isoformat(), "counts": {
        "new": 1, "active": 0, "resurrected": 1, "silent": 1, "churned": 0}}
    moves = viewer.call("GET", P + "/lifecycle-stages/transitions", params={
        "start": TODAY.isoformat(), "end": TODAY.isoformat()}).json()
    assert moves == [{"from": "churned", "to": "resurrected", "persons": 1}]
    persons = viewer.call("GET", P + "/person-properties").json()
    revenue = next(p for p in persons if p["name"] == "$revenue")
    assert (revenue["type"], revenue["count"]) == ("number", 3)
    # the new properties filter an analysis like any trait
    spec = {"kind": "trends", "date_range": {"last_days": 7},
            "series": [{"event": None, "math": "unique_persons"}],
            "filters": [{"type": "person", "key": "$lifecycle_stage", "value": "resurrected"}]}
    result = viewer.call("POST", P + "/query", json=spec).json()
    assert result["series"][0]["total"] == 1
    # The buyer's profile shows their computed properties as of the refresh.
    [buyer] = viewer.call("GET", P + "/persons", params={"search": "new"}).json()["persons"]
    computed = viewer.call("GET", f"{P}/persons/{buyer['person_id']}").json()["computed"]
    assert (computed["$orders"], computed["$revenue"], computed["$events"]) == (1, 42, 1)
    assert computed["$lifecycle_stage"] == "new" and computed["$rfm_r"] in range(1, 6)
    assert computed["$last_order_at"] == noon(1).astimezone(dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")  # fmt: skip


@pytest.mark.parametrize(("body", "field"), [
    ({"stages": {"active_days": 9, "churn_days": 9}}, "stages.churn_days"),
    ({"stages": {"new_days": "seven"}}, "stages.new_days"),
    ({"stage_days": 0}, "stage_days"),
    ({"stage_days": 400}, "stage_days"),
    ({"stages_days": 3}, "stages_days"),
    ({"rfm": {"window_days": 0}}, "rfm.window_days"),
    ({"tier": {"metric": "$nope"}}, "tier.metric"),
    ({"stages": 3}, "stages"),
])  # fmt: skip
def test_bad_refresh_bodies_name_their_field(served: dict[str, Any], body: dict[str, Any],
                                             field: str) -> None:  # fmt: skip
    response = served["callers"]["analyst"].call("POST", P + "/computed-properties/refresh",
                                                 json=body)  # fmt: skip
    assert (response.status_code, response.json()["field"]) == (400, field)


def test_bad_days_are_400s(served: dict[str, Any]) -> None:
    viewer = served["callers"]["viewer"]
    backwards = viewer.call("GET", P + "/lifecycle-stages/transitions",
                            params={"start": "2026-11-02", "end": "2026-11-01"})  # fmt: skip
    assert (backwards.status_code, backwards.json()["field"]) == (400, "end")
    assert viewer.call("GET", P + "/lifecycle-stages", params={"day": "soon"}).status_code == 400


def test_the_server_keeps_a_daily_job_per_project(served: dict[str, Any]) -> None:
    path = served["server"].data_dir / "meta.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        jobs = dict(db.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall())
        projects = dict(db.execute("SELECT id, timezone FROM projects").fetchall())
    assert len(projects) == 2  # shop, and the outsider's project
    assert {job for job in jobs if job.startswith("persons-")} == {f"persons-{n}"
                                                                   for n in projects}
    for number, zone in projects.items():  # just after the project's own midnight
        at = dt.datetime.fromtimestamp(jobs[f"persons-{number}"], ZoneInfo(zone))
        assert (at.hour, at.minute) == (0, 30)
        assert dt.timedelta(0) < at - dt.datetime.now(ZoneInfo(zone)) <= dt.timedelta(days=1)


DEFAULTS = {"stages": {"new_days": 7, "active_days": 7, "churn_days": 30},
            "rfm": {"window_days": 365, "value_event": None, "value_property": None},
            "tier": {"metric": "$revenue", "core_percentile": 80}}  # fmt: skip


def test_people_settings_drive_the_refresh_and_the_value_tiers(served: dict[str, Any]) -> None:
    viewer, analyst = served["callers"]["viewer"], served["callers"]["analyst"]
    assert viewer.call("GET", P + "/people-settings").json() == DEFAULTS
    assert viewer.call("PUT", P + "/people-settings", json=DEFAULTS).status_code == 403
    # revenue: new 42, old and idle 0 (no part in the ranking): threshold 42, new alone core
    body = {"tier": {"metric": "$revenue", "core_percentile": 90}, "stages": {"churn_days": 40}}
    wanted = {**DEFAULTS, "tier": body["tier"],
              "stages": {**DEFAULTS["stages"], "churn_days": 40}}  # fmt: skip
    try:
        put = analyst.call("PUT", P + "/people-settings", json=body)
        assert (put.status_code, put.json()) == (200, wanted)
        assert viewer.call("GET", P + "/people-settings").json() == wanted
        done = analyst.call("POST", P + "/computed-properties/refresh")
        assert (done.status_code, done.json()["tiered"]) == (200, 3), done.text
        tiers = viewer.call("GET", P + "/value-tiers").json()
        assert {k: tiers[k] for k in ("metric", "core_percentile", "threshold")} == {
            "metric": "$revenue", "core_percentile": 90, "threshold": 42}
        assert tiers["refreshed_at"] == done.json()["refreshed_at"]
        assert [(t["tier"], t["persons"], t["value"], t["share"]) for t in tiers["tiers"]] == [
            ("core", 1, 42, 1), ("mass", 2, 0, 0)]
        assert tiers["tiers"][0]["label"] == {"zh-CN": "核心用户", "en": "Core"}
        # the body overrides a stored field for this run only
        done = analyst.call("POST", P + "/computed-properties/refresh",
                            json={"tier": {"metric": "$orders"}})  # fmt: skip
        assert done.status_code == 200, done.text
        tiers = viewer.call("GET", P + "/value-tiers").json()
        assert (tiers["metric"], tiers["core_percentile"], tiers["threshold"]) == (
            "$orders", 90, 1)
        assert [t["persons"] for t in tiers["tiers"]] == [1, 2]
        assert viewer.call("GET", P + "/people-settings").json() == wanted
        spec = {"kind": "trends", "date_range": {"last_days": 90},
                "series": [{"event": None, "math": "unique_persons"}],
                "filters": [{"type": "person", "key": "$value_tier", "value": "core"}]}
        result = viewer.call("POST", P + "/query", json=spec).json()
        assert result["series"][0]["total"] == 1
        names = {p["name"] for p in viewer.call("GET", P + "/person-properties").json()}
        assert {"$value_tier", "$value_tier_metric_value"} <= names
    finally:
        assert analyst.call("PUT", P + "/people-settings", json={}).json() == DEFAULTS


@pytest.mark.parametrize(("body", "field"), [
    ({"stages": {"active_days": 9, "churn_days": 9}}, "stages.churn_days"),
    ({"stages": {"new_days": True}}, "stages.new_days"),
    ({"rfm": {"window_days": 0}}, "rfm.window_days"),
    ({"rfm": {"value_event": ""}}, "rfm.value_event"),
    ({"tier": {"metric": "$first_seen"}}, "tier.metric"),
    ({"tier": {"core_percentile": 100}}, "tier.core_percentile"),
    ({"tiers": {}}, "tiers"),
    ([], None),
])  # fmt: skip
def test_bad_people_settings_name_their_field(served: dict[str, Any], body: Any,
                                              field: str | None) -> None:  # fmt: skip
    response = served["callers"]["analyst"].call("PUT", P + "/people-settings", json=body)
    assert (response.status_code, response.json().get("field")) == (400, field)
    assert served["callers"]["viewer"].call("GET", P + "/people-settings").json() == DEFAULTS
