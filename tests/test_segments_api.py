"""Segments over REST on a real `userops serve`: each route's happy path and bad input (400s
naming the field, 404 for another project's segment, 409 for a referenced one), refreshes,
members and history, CSV export with hostile trait names and formula cells, static lists from
a CSV with unknown ids and malformed lines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from resource_helpers import Caller, load, serve_shop
from userops.meta.models import Project
from userops.runtime import Runtime

pytestmark = pytest.mark.usefixtures("clean_environment")

AT = dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
HOSTILE = "'; DROP TABLE segments; -- \"q\" {project:UInt32} =1+1"
PAYERS = {"kind": "performed", "event": "pay"}
S = "/api/projects/shop/segments"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def fill(runtime: Runtime, shop: Project) -> dict[str, Any]:
        load(runtime, shop.id, [
            {"type": "track", "event": "pay", "userId": "u1", "timestamp": AT},
            {"type": "identify", "userId": "u1", "timestamp": AT,
             "traits": {"email": "=HYPERLINK(\"http://x\")", "name": "Ann", HOSTILE: "-2+3"}},
            {"type": "track", "event": "view", "userId": "u2", "timestamp": AT},
            {"type": "track", "event": "pay", "anonymousId": "d3", "timestamp": AT},
            {"type": "identify", "userId": "u2", "timestamp": AT, "traits": {"name": "Bo"}},
        ])  # fmt: skip
        return {}

    with serve_shop(tmp_path_factory.mktemp("segments-api") / "data", fill) as served:
        yield served


def caller(served: dict[str, Any], role: str) -> Caller:
    found: Caller = served["callers"][role]
    return found


def jobs(served: dict[str, Any]) -> set[str]:
    """The scheduler's jobs, as kept in the metadata store (read beside the running server)."""
    path = served["server"].data_dir / "meta.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        return {job_id for (job_id,) in db.execute("SELECT id FROM apscheduler_jobs")}


def create(who: Caller, body: dict[str, Any], path: str = S) -> dict[str, Any]:
    response = who.call("POST", path, json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def refused(response: httpx.Response, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body.get("field") == field, body
    assert set(body) <= {"error", "message", "field"}
    return body


def test_save_read_change_and_delete(served: dict[str, Any]) -> None:
    analyst, viewer = caller(served, "analyst"), caller(served, "viewer")
    made = create(analyst, {"name": "Payers", "description": "paid once",
                            "definition": PAYERS})  # fmt: skip
    assert (made["name"], made["definition"], made["refresh_minutes"], made["size"],
            made["status"], made["last_refresh"], made["created_by"]) == (
        "Payers", PAYERS, 60, None, None, None, "analyst@example.com")  # fmt: skip
    one = f"{S}/{made['id']}"
    assert viewer.get(one).json() == made
    assert f"segment-{made['id']}" in jobs(served)  # the server scheduled its refresh
    assert made["id"] in [s["id"] for s in viewer.get(S).json()]
    refused(viewer.call("POST", S, json={"name": "x", "definition": PAYERS}), 403, None)
    changed = analyst.call("PUT", one, json={"name": "Buyers", "refresh_minutes": 15})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["refresh_minutes"],
            changed.json()["definition"]) == ("Buyers", 15, PAYERS)  # fmt: skip
    assert analyst.call("DELETE", one).status_code == 204
    refused(viewer.get(one), 404, "segment_id")
    assert f"segment-{made['id']}" not in jobs(served)


@pytest.mark.parametrize(("body", "field"), [
    ({"definition": PAYERS}, "name"),
    ({"name": "x"}, "definition"),
    ({"name": "x", "definition": []}, "definition"),
    ({"name": "x", "definition": {"kind": "performed", "event": "pay", "count": -1}},
     "definition.count"),
    ({"name": "x", "definition": {"and": [PAYERS, {"kind": "nope"}]}}, "definition.and.1"),
    ({"name": "x", "definition": {"kind": "segment", "id": 999999}}, "definition.id"),
    ({"name": "x", "definition": PAYERS, "refresh_minutes": 4}, "refresh_minutes"),
    ({"name": "x", "definition": PAYERS, "refresh_minutes": 10081}, "refresh_minutes"),
    ({"name": " ", "definition": PAYERS}, "name"),
    ({"name": "x", "definition": PAYERS, "colour": "red"}, "colour"),
])  # fmt: skip
def test_bad_bodies_name_the_field(served: dict[str, Any], body: dict[str, Any],
                                   field: str) -> None:  # fmt: skip
    refused(caller(served, "analyst").call("POST", S, json=body), 400, field)


def test_names_cycles_other_projects_and_references(served: dict[str, Any]) -> None:
    analyst, outsider = caller(served, "analyst"), caller(served, "outsider")
    base = create(analyst, {"name": "Base", "definition": PAYERS})
    user = create(analyst, {"name": "Uses base",
                            "definition": {"not": {"kind": "segment", "id": base["id"]}}})
    refused(analyst.call("POST", S, json={"name": "Base", "definition": PAYERS}), 409, "name")
    refused(analyst.call("PUT", f"{S}/{user['id']}", json={"name": "Base"}), 409, "name")
    cycle = refused(analyst.call("PUT", f"{S}/{base['id']}", json={
        "definition": {"kind": "segment", "id": user["id"]}}), 400, "definition.id")
    assert f"{base['id']} -> {user['id']} -> {base['id']}" in cycle["message"]
    used = refused(analyst.call("DELETE", f"{S}/{base['id']}"), 409, "segment_id")
    assert "Uses base" in used["message"]
    theirs = create(outsider, {"name": "Theirs", "definition": PAYERS},
                    "/api/projects/elsewhere/segments")  # fmt: skip
    for method, tail in [("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/refresh"),
                         ("GET", "/members"), ("GET", "/history"), ("GET", "/export.csv"),
                         ("POST", "/static")]:  # fmt: skip
        response = analyst.call(method, f"{S}/{theirs['id']}{tail}", json={"name": "x"})
        refused(response, 404, "segment_id")
    refused(analyst.call("POST", S, json={"name": "Ref", "definition": {
        "kind": "segment", "id": theirs["id"]}}), 400, "definition.id")  # fmt: skip
    refused(analyst.get(f"{S}/abc"), 404, "segment_id")
    refused(analyst.get(f"{S}/{2**70}/members"), 404, "segment_id")


def test_preview_counts_without_saving(served: dict[str, Any]) -> None:
    viewer = caller(served, "viewer")
    before = len(viewer.get(S).json())
    response = viewer.call("POST", f"{S}/preview", json={"definition": PAYERS})
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 2
    assert 0 <= response.json()["seconds"] < 60
    assert len(viewer.get(S).json()) == before
    refused(viewer.call("POST", f"{S}/preview", json={}), 400, "definition")
    refused(viewer.call("POST", f"{S}/preview", json={"definition": {"kind": "x"}}), 400,
            "definition")  # fmt: skip
    refused(viewer.call("POST", f"{S}/preview", json={"definition": PAYERS, "x": 1}), 400, "x")
    refused(viewer.call("POST", f"{S}/preview", content=b"{nope"), 400, None)


def test_refresh_members_history_and_export(served: dict[str, Any]) -> None:
    analyst, viewer = caller(served, "analyst"), caller(served, "viewer")
    made = create(analyst, {"name": "Paid", "definition": PAYERS})
    one = f"{S}/{made['id']}"
    assert viewer.get(one + "/history").json() == []
    assert viewer.get(one + "/members").json() == {"persons": [], "size": None,
                                                   "has_more": False}  # fmt: skip
    refused(viewer.call("POST", one + "/refresh"), 403, None)
    record = analyst.call("POST", one + "/refresh")
    assert record.status_code == 200, record.text
    assert (record.json()["status"], record.json()["size"], record.json()["entered"],
            record.json()["exited"]) == ("ok", 2, 2, 0)  # fmt: skip
    shown = viewer.get(one).json()
    assert (shown["size"], shown["status"], shown["last_refresh"]["status"]) == (2, "ok", "ok")
    page = viewer.get(one + "/members", params={"limit": 1}).json()
    assert (len(page["persons"]), page["has_more"], page["size"]) == (1, True, 2)
    rest = viewer.get(one + "/members", params={"limit": 1, "offset": 1}).json()
    assert rest["has_more"] is False
    listed = page["persons"] + rest["persons"]
    assert sorted(p["distinct_ids"][0] for p in listed) == ["d3", "u1"]
    assert {p["display"] for p in listed} == {"=HYPERLINK(\"http://x\")", "d3"}
    refused(viewer.get(one + "/members", params={"limit": 0}), 400, "limit")
    again = analyst.call("POST", one + "/refresh").json()
    assert (again["size"], again["entered"], again["exited"]) == (2, 0, 0)
    sizes = viewer.get(one + "/history").json()
    assert [(h["size"], h["entered"], h["exited"]) for h in sizes] == [(2, 2, 0), (2, 0, 0)]
    assert all(h["at"].endswith("Z") for h in sizes)

    exported = viewer.get(one + "/export.csv", params={"traits": f"email,name,{HOSTILE},none"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["person_id", "distinct_ids", "email", "name", HOSTILE, "none"]
    by_id = {row[1]: row for row in table[1:]}
    assert sorted(by_id) == ["d3", "u1"]
    assert by_id["u1"][2:] == ["'=HYPERLINK(\"http://x\")", "Ann", "'-2+3", ""]
    assert by_id["d3"][2:] == ["", "", "", ""]
    refused(viewer.get(one + "/export.csv", params={"traits": "x" * 201}), 400, "traits")
    # Computed properties export like traits, as of their last refresh (none before it).
    computed = {"traits": "$events,name,$last_seen"}
    before = list(csv.reader(io.StringIO(viewer.get(one + "/export.csv", params=computed).text)))
    assert {row[1]: row[2:] for row in before[1:]} == {"u1": ["", "Ann", ""], "d3": ["", "", ""]}
    refreshed = analyst.call("POST", "/api/projects/shop/computed-properties/refresh")
    assert refreshed.status_code == 200, refreshed.text
    after = list(csv.reader(io.StringIO(viewer.get(one + "/export.csv", params=computed).text)))
    assert after[0] == ["person_id", "distinct_ids", "$events", "name", "$last_seen"]
    moment = "2026-11-01T04:00:00.000Z"
    assert {row[1]: row[2:] for row in after[1:]} == {"u1": ["1", "Ann", moment],
                                                      "d3": ["1", "", moment]}  # fmt: skip


def test_static_list_from_a_csv(served: dict[str, Any]) -> None:
    analyst, viewer = caller(served, "analyst"), caller(served, "viewer")
    made = create(analyst, {"name": "Listed", "definition": {"kind": "persons", "ids": []}})
    one = f"{S}/{made['id']}"
    text = "user_id\nu1\n\nnobody\n\"d3\"\nu1\n"
    response = analyst.call("POST", one + "/static", content=text.encode(),
                            headers={"Content-Type": "text/csv"})  # fmt: skip
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["unknown"] == [{"line": 4, "id": "nobody"}]
    assert (answer["persons"], answer["known"]) == (2, 3)
    # The list keeps the ids (each once, in the file's order), resolved at every refresh.
    assert answer["segment"]["definition"] == {"kind": "distinct_ids", "ids": ["u1", "d3"]}
    refused(viewer.call("POST", one + "/static", content=b"u1\n"), 403, None)
    refreshed = analyst.call("POST", one + "/refresh").json()
    assert refreshed["size"] == 2
    ids = sorted(p["distinct_ids"][0] for p in viewer.get(one + "/members").json()["persons"])
    assert ids == ["d3", "u1"]
    # multipart, as a browser's form sends it
    multipart = analyst.call("POST", one + "/static",
                             files={"file": ("ids.csv", b"u2\nnope\n", "text/csv")})
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["unknown"] == [{"line": 2, "id": "nope"}]
    assert multipart.json()["persons"] == 1
    for bad, line in [("u1\nu2,u3\n", 2), ("u1\n\n\"open\n", 3), ("u1\x00\n", 1),
                      ("a\n" + "x" * 401 + "\n", 2)]:  # fmt: skip
        refused(analyst.call("POST", one + "/static", content=bad.encode()), 400, f"line {line}")
    refused(analyst.call("POST", one + "/static", content=b"\xff\xfe\n"), 400, "line 1")
    huge = "\n".join(f"id{n}" for n in range(100_001)).encode()
    refused(analyst.call("POST", one + "/static", content=huge), 413, "line 100001")
    # Nothing stored by the refused uploads: still the multipart's one person.
    assert len(viewer.get(one).json()["definition"]["ids"]) == 1
