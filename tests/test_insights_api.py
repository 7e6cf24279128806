"""Saved insights and dashboards on a real `userops serve`: each role's rights, specs checked by
parse_spec with the field's JSON path, tiles of the project's own insights only, deleting an
insight taking it off dashboards, hostile names stored as data, a saved spec running as saved,
a dashboard's date range (and the migration that added it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import column, insert, inspect, table, text

from resource_helpers import Caller, bearer, load, serve_shop
from userops.meta import insights
from userops.meta.db import MIGRATIONS_DIR, create_meta_engine, database_url, open_meta
from userops.meta.keys import create_key
from userops.meta.models import Dashboard, Project, SavedInsight
from userops.runtime import Runtime

pytestmark = pytest.mark.usefixtures("clean_environment")

FUNNEL: dict[str, Any] = {"kind": "funnel", "steps": [{"event": "view"}, {"event": "pay"}],
                          "date_range": {"start": "2026-11-01", "end": "2026-11-03"}}  # fmt: skip
TRENDS: dict[str, Any] = {"kind": "trends", "series": [{"event": "view"}],
                          "date_range": {"start": "2026-11-01", "end": "2026-11-03"}}  # fmt: skip
HOSTILE = '\'; DROP TABLE saved_insights; -- "quoted" {project:UInt32} %s \\ 名前'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def fill(runtime: Runtime, shop: Project) -> dict[str, Any]:
        at = dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
        load(runtime, shop.id, [
            {"type": "track", "event": "view", "anonymousId": "d1", "timestamp": at},
            {"type": "track", "event": "pay", "anonymousId": "d1",
             "timestamp": at + dt.timedelta(hours=1)},
            {"type": "track", "event": "view", "anonymousId": "d2", "timestamp": at},
        ])  # fmt: skip
        # A key as `userops keys create` makes it: no user, so it acts as an analyst.
        return {"key_secret": create_key(runtime.sessions, "shop").secret}

    with serve_shop(tmp_path_factory.mktemp("insights-api") / "data", fill) as served:
        yield {**served, "key": bearer(served["server"].url, served["key_secret"])}


def callers(served: dict[str, Any]) -> dict[str, Caller]:
    found: dict[str, Caller] = served["callers"]
    return found


def create(caller: Caller, path: str, body: Any) -> dict[str, Any]:
    response = caller.call("POST", f"/api/projects/shop/{path}", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def refused(response: httpx.Response, status: int, field: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.json().get("field") == field, response.json()


# --- insights --------------------------------------------------------------------------------


def test_an_analyst_saves_reads_changes_and_deletes(served: dict[str, Any]) -> None:
    analyst = callers(served)["analyst"]
    made = create(analyst, "insights", {"name": "Checkout", "description": "view then pay",
                                        "spec": FUNNEL})  # fmt: skip
    assert (made["name"], made["description"], made["kind"], made["spec"]) == (
        "Checkout", "view then pay", "funnel", FUNNEL)  # fmt: skip
    assert made["created_by"] == "analyst@example.com"
    assert made["created_at"] == made["updated_at"] and made["created_at"].endswith("Z")
    path = f"/api/projects/shop/insights/{made['id']}"
    assert analyst.get(path).json() == made
    assert made in analyst.get("/api/projects/shop/insights").json()

    # PUT keeps what it is not given; a new spec changes the kind with it.
    changed = analyst.call("PUT", path, json={"spec": TRENDS}).json()
    assert (changed["name"], changed["description"], changed["kind"], changed["spec"]) == (
        "Checkout", "view then pay", "trends", TRENDS)  # fmt: skip
    assert changed["updated_at"] > made["updated_at"]
    assert analyst.call("PUT", path, json={"name": "Views"}).json()["spec"] == TRENDS

    assert analyst.call("DELETE", path).status_code == 204
    refused(analyst.get(path), 404, "insight_id")
    refused(analyst.call("DELETE", path), 404, "insight_id")
    assert made["id"] not in [i["id"] for i in analyst.get("/api/projects/shop/insights").json()]


def test_the_saved_spec_runs_as_saved(served: dict[str, Any]) -> None:
    viewer = callers(served)["viewer"]
    made = create(callers(served)["analyst"], "insights", {"name": "F", "spec": FUNNEL})
    spec = viewer.get(f"/api/projects/shop/insights/{made['id']}").json()["spec"]
    result = viewer.call("POST", "/api/projects/shop/query", json=spec)
    assert result.status_code == 200, result.text
    # d1 viewed then paid; d2 only viewed (the events loaded above).
    assert [step["count"] for step in result.json()["total"]["steps"]] == [2, 1]


def test_roles(served: dict[str, Any]) -> None:
    who = callers(served)
    made = create(who["admin"], "insights", {"name": "by admin", "spec": TRENDS})
    path = f"/api/projects/shop/insights/{made['id']}"
    viewer = who["viewer"]
    assert viewer.get(path).status_code == 200
    assert viewer.get("/api/projects/shop/dashboards").status_code == 200
    changes = [("POST", "/api/projects/shop/insights", {"name": "x", "spec": TRENDS}),
               ("PUT", path, {"name": "x"}), ("DELETE", path, None),
               ("POST", "/api/projects/shop/dashboards", {"name": "x"})]  # fmt: skip
    for method, target, body in changes:
        response = viewer.call(method, target, json=body)
        assert response.status_code == 403, (method, target, response.text)
        assert response.json()["error"] == "Forbidden"
    assert viewer.get(path).json()["name"] == "by admin"  # nothing changed
    # Another project's admin sees nothing of this one: the answer of a project that is not.
    outsider = who["outsider"]
    for target in (path, "/api/projects/shop/insights", "/api/projects/shop/dashboards"):
        refused(outsider.get(target), 404, "project")
    refused(outsider.call("DELETE", path), 404, "project")
    anonymous = httpx.get(served["server"].url + path)
    assert anonymous.status_code == 401


def test_a_cookie_change_needs_the_csrf_token(served: dict[str, Any]) -> None:
    analyst = callers(served)["analyst"]
    response = analyst.client.post("/api/projects/shop/insights",
                                   json={"name": "x", "spec": TRENDS})  # fmt: skip
    assert response.status_code == 403 and response.json()["error"] == "CsrfRejected"
    response = analyst.call("POST", "/api/projects/shop/insights", headers={"X-CSRF-Token": "no"},
                            json={"name": "x", "spec": TRENDS})  # fmt: skip
    assert response.status_code == 403 and response.json()["error"] == "CsrfRejected"


def test_a_key_of_no_user_saves_as_an_analyst_with_no_author(served: dict[str, Any]) -> None:
    made = create(served["key"], "insights", {"name": "scripted", "spec": TRENDS})
    assert made["created_by"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "spec": {**FUNNEL, "steps": [{"event": "a"}, {"event": "b"},
                                                    {"event": 7}]}}, "spec.steps[2].event"),
        ({"name": "x", "spec": {**TRENDS, "series": [{"event": "v", "math": "sum",
                                                      "filters": [{"key": "k", "operator": "gt",
                                                                   "value": "a"}]}]}},
         "spec.series[0].filters[0]"),
        ({"name": "x", "spec": {"kind": "nonsense"}}, "spec.kind"),
        ({"name": "x", "spec": {**TRENDS, "date_range": {"last_days": 0}}},
         "spec.date_range.last_days"),
        ({"name": "x", "spec": "SELECT 1"}, "spec"),
        ({"name": "x"}, "spec"),
        ({"spec": TRENDS}, "name"),
        ({"name": "   ", "spec": TRENDS}, "name"),
        ({"name": "x" * 201, "spec": TRENDS}, "name"),
        ({"name": 5, "spec": TRENDS}, "name"),
        ({"name": "x", "spec": TRENDS, "owner": 1}, "owner"),
        ([1, 2], None),
    ],
)  # fmt: skip
def test_bad_insights_are_400s_naming_the_field(
    served: dict[str, Any], body: Any, field: str | None
) -> None:
    analyst = callers(served)["analyst"]
    before = analyst.get("/api/projects/shop/insights").json()
    refused(analyst.call("POST", "/api/projects/shop/insights", json=body), 400, field)
    assert analyst.get("/api/projects/shop/insights").json() == before


def test_a_body_that_is_not_json(served: dict[str, Any]) -> None:
    response = callers(served)["analyst"].call("POST", "/api/projects/shop/insights",
                                               content=b"{'name':")  # fmt: skip
    assert response.status_code == 400 and response.json()["error"] == "BadRequest"


def test_hostile_names_are_data(served: dict[str, Any]) -> None:
    analyst = callers(served)["analyst"]
    made = create(analyst, "insights", {"name": HOSTILE, "description": HOSTILE, "spec": TRENDS})
    assert (made["name"], made["description"]) == (HOSTILE.strip(), HOSTILE)
    listed = {i["id"]: i["name"] for i in analyst.get("/api/projects/shop/insights").json()}
    assert listed[made["id"]] == HOSTILE.strip()
    board = create(analyst, "dashboards", {"name": HOSTILE, "tiles": []})
    assert analyst.get(f"/api/projects/shop/dashboards/{board['id']}").json()["name"] == (
        HOSTILE.strip())  # fmt: skip


@pytest.mark.parametrize("insight_id", ["999999", "0", "-1", "abc", "1%20OR%201=1",
                                        "99999999999999999999999"])  # fmt: skip
def test_unknown_ids_are_404(served: dict[str, Any], insight_id: str) -> None:
    analyst = callers(served)["analyst"]
    for path in (f"insights/{insight_id}", f"dashboards/{insight_id}"):
        refused(analyst.get(f"/api/projects/shop/{path}"), 404, path.split("s/")[0] + "_id")
        refused(analyst.call("PUT", f"/api/projects/shop/{path}", json={"name": "x"}), 404,
                path.split("s/")[0] + "_id")  # fmt: skip
        refused(analyst.call("DELETE", f"/api/projects/shop/{path}"), 404,
                path.split("s/")[0] + "_id")  # fmt: skip


def test_another_projects_insight_is_not_found(served: dict[str, Any]) -> None:
    # The local token opens every project: make an insight in "elsewhere".
    local = bearer(served["server"].url, read_token(served["server"].data_dir))
    other = local.call("POST", "/api/projects/elsewhere/insights",
                       json={"name": "theirs", "spec": TRENDS})  # fmt: skip
    assert other.status_code == 201, other.text
    analyst = callers(served)["analyst"]
    refused(analyst.get(f"/api/projects/shop/insights/{other.json()['id']}"), 404, "insight_id")
    refused(analyst.call("DELETE", f"/api/projects/shop/insights/{other.json()['id']}"), 404,
            "insight_id")  # fmt: skip
    assert local.get(f"/api/projects/elsewhere/insights/{other.json()['id']}").status_code == 200


def read_token(data_dir: Path) -> str:
    from userops.meta.keys import read_local_token

    token = read_local_token(data_dir)
    assert token is not None
    return token


# --- dashboards ------------------------------------------------------------------------------


def test_dashboards_hold_the_projects_insights(served: dict[str, Any]) -> None:
    analyst = callers(served)["analyst"]
    first = create(analyst, "insights", {"name": "one", "spec": TRENDS})
    second = create(analyst, "insights", {"name": "two", "spec": FUNNEL})
    tiles = [{"insight_id": first["id"], "x": 0, "y": 0, "w": 6, "h": 4},
             {"insight_id": second["id"], "x": 6, "y": 0, "w": 6, "h": 4},
             {"insight_id": first["id"], "x": 0, "y": 4, "w": 12, "h": 3}]  # fmt: skip
    board = create(analyst, "dashboards", {"name": "Growth", "tiles": tiles})
    assert [{k: v for k, v in t.items() if k != "insight"} for t in board["tiles"]] == tiles
    assert [t["insight"]["name"] for t in board["tiles"]] == ["one", "two", "one"]
    assert board["tiles"][1]["insight"] == analyst.get(
        f"/api/projects/shop/insights/{second['id']}").json()  # fmt: skip
    path = f"/api/projects/shop/dashboards/{board['id']}"
    listed = [b for b in analyst.get("/api/projects/shop/dashboards").json()
              if b["id"] == board["id"]]  # fmt: skip
    assert listed == [{"id": board["id"], "name": "Growth", "description": "", "tile_count": 3,
                       "updated_at": board["updated_at"]}]  # fmt: skip
    assert callers(served)["viewer"].get(path).json() == board

    # Deleting an insight takes each of its tiles off, and nothing else.
    assert analyst.call("DELETE", f"/api/projects/shop/insights/{first['id']}").status_code == 204
    after = analyst.get(path).json()
    assert [t["insight_id"] for t in after["tiles"]] == [second["id"]]
    assert after["tiles"][0]["x"] == 6 and after["updated_at"] > board["updated_at"]

    # PUT: the name alone keeps the tiles; tiles replace the old ones.
    renamed = analyst.call("PUT", path, json={"name": "Renamed"}).json()
    assert (renamed["name"], len(renamed["tiles"])) == ("Renamed", 1)
    emptied = analyst.call("PUT", path, json={"tiles": []}).json()
    assert (emptied["name"], emptied["tiles"]) == ("Renamed", [])
    assert analyst.call("DELETE", path).status_code == 204
    refused(analyst.get(path), 404, "dashboard_id")


def test_tiles_name_their_bad_field(served: dict[str, Any]) -> None:
    analyst = callers(served)["analyst"]
    mine = create(analyst, "insights", {"name": "mine", "spec": TRENDS})["id"]
    local = bearer(served["server"].url, read_token(served["server"].data_dir))
    theirs = local.call("POST", "/api/projects/elsewhere/insights",
                        json={"name": "theirs", "spec": TRENDS}).json()["id"]  # fmt: skip
    board = create(analyst, "dashboards", {"name": "ok", "tiles": [{"insight_id": mine}]})
    cases = [
        ([{"insight_id": mine}, {"insight_id": theirs}], "tiles[1].insight_id"),
        ([{"insight_id": 999999}], "tiles[0].insight_id"),
        ([{"insight_id": "1"}], "tiles[0].insight_id"),
        ([{"insight_id": mine, "w": 0}], "tiles[0].w"),
        ([{"insight_id": mine}, {"insight_id": mine, "x": -1}], "tiles[1].x"),
        ([{"insight_id": mine, "h": 1.5}], "tiles[0].h"),
        ([{"insight_id": mine, "color": "red"}], "tiles[0].color"),
        ([{}], "tiles[0].insight_id"),
        ("all", "tiles"),
    ]  # fmt: skip
    for tiles, field in cases:
        refused(analyst.call("POST", "/api/projects/shop/dashboards",
                             json={"name": "x", "tiles": tiles}), 400, field)  # fmt: skip
        refused(analyst.call("PUT", f"/api/projects/shop/dashboards/{board['id']}",
                             json={"tiles": tiles}), 400, field)  # fmt: skip
    kept = analyst.get(f"/api/projects/shop/dashboards/{board['id']}").json()
    assert [t["insight_id"] for t in kept["tiles"]] == [mine]
    refused(analyst.call("POST", "/api/projects/shop/dashboards", json={"tiles": []}), 400, "name")


# --- a dashboard's date range ----------------------------------------------------------------


def test_a_dashboards_range_is_saved_with_it(served: dict[str, Any]) -> None:
    analyst = callers(served)["analyst"]
    mine = create(analyst, "insights", {"name": "ranged", "spec": TRENDS})["id"]
    tiles = [{"insight_id": mine, "x": 0, "y": 0, "w": 6, "h": 4}]
    plain = create(analyst, "dashboards", {"name": "no range", "tiles": tiles})
    assert plain["date_range"] is None  # each tile keeps its own range

    board = create(analyst, "dashboards", {"name": "Weekly", "tiles": tiles,
                                           "date_range": {"last_days": 7}})  # fmt: skip
    path = f"/api/projects/shop/dashboards/{board['id']}"
    assert board["date_range"] == {"last_days": 7}
    assert callers(served)["viewer"].get(path).json()["date_range"] == {"last_days": 7}

    # Dates round-trip as sent; a PUT without the range keeps it; null clears it.
    dates = {"start": "2026-11-01", "end": "2026-11-03"}
    assert analyst.call("PUT", path, json={"date_range": dates}).json()["date_range"] == dates
    moved = [{**tiles[0], "x": 6, "w": 3}]
    kept = analyst.call("PUT", path, json={"name": "Nov", "tiles": moved}).json()
    assert (kept["name"], kept["date_range"]) == ("Nov", dates)
    assert [{k: v for k, v in t.items() if k != "insight"} for t in kept["tiles"]] == moved
    cleared = analyst.call("PUT", path, json={"date_range": None}).json()
    assert cleared["date_range"] is None and cleared["name"] == "Nov"
    assert analyst.get(path).json()["date_range"] is None

    # Viewers see the range but may not save one.
    response = callers(served)["viewer"].call("PUT", path, json={"date_range": {"last_days": 1}})
    assert response.status_code == 403
    assert analyst.get(path).json()["date_range"] is None


@pytest.mark.parametrize(
    ("date_range", "field"),
    [
        ({"last_days": 0}, "date_range.last_days"),
        ({"last_days": 3661}, "date_range.last_days"),
        ({"last_days": "many"}, "date_range.last_days"),
        ({"start": "2026-13-01", "end": "2026-11-03"}, "date_range.start"),
        ({"start": "2026-11-01", "end": "yesterday"}, "date_range.end"),
        ({"start": "2026-11-05", "end": "2026-11-01"}, "date_range"),
        ({"start": "2026-11-01"}, "date_range"),
        ({"last_days": 7, "start": "2026-11-01", "end": "2026-11-03"}, "date_range"),
        ({"last_days": 7, "color": "red"}, "date_range.color"),
        ({}, "date_range"),
        ("last week", "date_range"),
    ],
)  # fmt: skip
def test_a_bad_range_is_a_400_naming_its_field(
    served: dict[str, Any], date_range: Any, field: str
) -> None:
    analyst = callers(served)["analyst"]
    body = {"name": "x", "tiles": [], "date_range": date_range}
    refused(analyst.call("POST", "/api/projects/shop/dashboards", json=body), 400, field)
    board = create(analyst, "dashboards", {"name": "ok", "date_range": {"last_days": 14}})
    path = f"/api/projects/shop/dashboards/{board['id']}"
    refused(analyst.call("PUT", path, json={"name": "changed", "date_range": date_range}), 400,
            field)  # fmt: skip
    after = analyst.get(path).json()
    assert (after["name"], after["date_range"]) == ("ok", {"last_days": 14})


def test_the_migration_keeps_existing_dashboards(tmp_path: Path, meta_url: str) -> None:
    """A store at revision 0003 with a dashboard opens at the head: the dashboard has no range
    and keeps its tiles, and can be given one."""
    engine = create_meta_engine(database_url(tmp_path, meta_url))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    assert "date_range" not in {c["name"] for c in inspect(engine).get_columns("dashboards")}
    now = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    with engine.begin() as connection:  # only the columns revision 0003 has
        connection.execute(
            insert(table("projects", *(column(name) for name in (
                "name", "timezone", "write_key", "order_event", "revenue_property",
                "currency", "store_client_ip", "created_at")))).values(
                name="shop", timezone="UTC", write_key="wk_shop", order_event="order_completed",
                revenue_property="revenue", currency="CNY", store_client_ip=False,
                created_at=now,
            )
        )
        shop_id = connection.execute(text("SELECT id FROM projects WHERE name = 'shop'")).scalar()
    tiles = [{"insight_id": 0, "x": 0, "y": 0, "w": 12, "h": 3}]
    with engine.begin() as connection:
        insight_id = connection.execute(
            insert(SavedInsight.__table__).values(
                project_id=shop_id, name="old", description="", kind="trends", spec=TRENDS,
                created_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
        tiles[0]["insight_id"] = insight_id
        # Only the columns revision 0003 has: the model's new column is left out.
        board_id = connection.execute(
            insert(Dashboard.__table__).values(
                project_id=shop_id, name="old board", description="", tiles=tiles,
                created_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
    engine.dispose()

    sessions = open_meta(tmp_path, meta_url)
    try:
        board = insights.get_dashboard(sessions, shop_id, board_id)
        assert board["date_range"] is None and board["name"] == "old board"
        assert [{k: v for k, v in t.items() if k != "insight"} for t in board["tiles"]] == tiles
        changed = insights.update_dashboard(sessions, shop_id, board_id,
                                            {"date_range": {"last_days": 90}})  # fmt: skip
        assert changed["date_range"] == {"last_days": 90}
        assert insights.get_dashboard(sessions, shop_id, board_id)["tiles"] == board["tiles"]
    finally:
        sessions.kw["bind"].dispose()
