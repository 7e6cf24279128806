"""Tags over REST on a real `userops serve`: saving, giving and taking tags, the holders and a
person's tags and segments as the profile shows them, rule tags published by a segment, roles,
and bad input (400s naming the field, never a 500; 404 for another project's tag; 409 for a
taken name, a rule tag changed by hand, a segment that publishes a tag)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resource_helpers import Caller, load, serve_shop
from userops.api.tags import BySegment, parse_persons
from userops.errors import BadRequest
from userops.meta.models import Project
from userops.meta.tags import parse_input
from userops.runtime import Runtime
from userops.schema.bodies import parsed_body
from userops.store import rows

pytestmark = pytest.mark.usefixtures("clean_environment")

AT = dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
HOSTILE = "'; DROP TABLE tags; -- \"q\" {project:UInt32} =1+1 标签"
PAYERS = {"kind": "performed", "event": "pay"}
T = "/api/projects/shop/tags"
P = "/api/projects/shop/persons"
TAG_KEYS = {"id", "name", "description", "color", "kind", "segment_id", "persons", "created_at",
            "updated_at"}  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def fill(runtime: Runtime, shop: Project) -> dict[str, Any]:
        load(runtime, shop.id, [
            {"type": "track", "event": "pay", "userId": "u1", "timestamp": AT},
            {"type": "track", "event": "view", "userId": "u2", "timestamp": AT},
            {"type": "track", "event": "pay", "anonymousId": "d3", "timestamp": AT},
            {"type": "identify", "userId": "u2", "timestamp": AT, "traits": {"name": "Bo"}},
        ])  # fmt: skip
        found = rows(runtime.store, "SELECT distinct_id, any(person_id) FROM events WHERE "
                     "project_id = {project:UInt32} GROUP BY distinct_id", {"project": shop.id})
        return {"persons": {str(d): int(p) for d, p in found}}

    with serve_shop(tmp_path_factory.mktemp("tags-api") / "data", fill) as served:
        yield served


def caller(served: dict[str, Any], role: str) -> Caller:
    found: Caller = served["callers"][role]
    return found


def create(who: Caller, body: dict[str, Any], path: str = T) -> dict[str, Any]:
    response = who.call("POST", path, json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body.get("field") == field, body
    assert set(body) <= {"error", "message", "field"}
    return body


def test_give_take_and_read_a_manual_tag(served: dict[str, Any]) -> None:
    analyst, viewer = caller(served, "analyst"), caller(served, "viewer")
    u1, u2 = served["persons"]["u1"], served["persons"]["u2"]
    made = create(analyst, {"name": HOSTILE, "description": "big spenders", "color": "#f5222d"})
    assert set(made) == TAG_KEYS
    assert (made["name"], made["kind"], made["segment_id"], made["persons"]) == (
        HOSTILE, "manual", None, 0)  # fmt: skip
    one = f"{T}/{made['id']}"
    assert ok(viewer.get(one)) == made
    assert made in ok(viewer.get(T))
    answer = ok(analyst.call("POST", one + "/persons", json={"add": [u1, u2, u1, 999999]}))
    assert answer == {"added": 2, "removed": 0, "unknown": [999999]}
    again = ok(analyst.call("POST", one + "/persons", json={"add": [u1], "remove": [u2]}))
    assert again == {"added": 0, "removed": 1, "unknown": []}
    page = ok(viewer.get(one + "/persons"))
    assert page["has_more"] is False
    assert [p["person_id"] for p in page["persons"]] == [u1]
    assert set(page["persons"][0]) >= {"person_id", "display", "distinct_ids", "event_count"}
    [mine] = ok(viewer.get(f"{P}/{u1}/tags"))
    assert set(mine) == {"id", "name", "color", "kind", "since"}
    assert (mine["id"], mine["name"], mine["color"], mine["kind"]) == (
        made["id"], HOSTILE, "#f5222d", "manual")  # fmt: skip
    assert mine["since"].endswith("Z")
    assert ok(viewer.get(f"{P}/{u2}/tags")) == []
    assert ok(viewer.get(one))["persons"] == 1
    changed = ok(analyst.call("PUT", one, json={"name": "VIP", "color": "gold"}))
    assert (changed["name"], changed["color"], changed["description"], changed["persons"]) == (
        "VIP", "gold", "big spenders", 1)  # fmt: skip
    # Viewers read only.
    refused(viewer.call("POST", T, json={"name": "mine"}), 403, None)
    refused(viewer.call("POST", one + "/persons", json={"add": [u2]}), 403, None)
    refused(viewer.call("PUT", one, json={"name": "x"}), 403, None)
    refused(viewer.call("DELETE", one), 403, None)
    assert analyst.call("DELETE", one).status_code == 204
    refused(viewer.get(one), 404, "tag_id")
    assert ok(viewer.get(f"{P}/{u1}/tags")) == []


def test_rule_tags_and_whole_segments(served: dict[str, Any]) -> None:
    analyst, viewer = caller(served, "analyst"), caller(served, "viewer")
    persons = served["persons"]
    segment = create(analyst, {"name": "Payers", "definition": PAYERS},
                     "/api/projects/shop/segments")  # fmt: skip
    path = f"/api/projects/shop/segments/{segment['id']}"
    assert ok(analyst.call("POST", path + "/refresh"))["status"] == "ok"
    payers = sorted([persons["u1"], persons["d3"]])
    rule = create(analyst, {"name": "Paying", "segment_id": segment["id"]})
    assert (rule["kind"], rule["segment_id"], rule["persons"]) == ("rule", segment["id"], 2)
    one = f"{T}/{rule['id']}"
    assert [p["person_id"] for p in ok(viewer.get(one + "/persons"))["persons"]] == payers
    assert [p["person_id"] for p in ok(viewer.get(one + "/persons?limit=1"))["persons"]] == \
        payers[:1]  # fmt: skip
    assert ok(viewer.get(one + "/persons?limit=1"))["has_more"] is True
    refused(analyst.call("POST", one + "/persons", json={"add": [persons["u2"]]}), 409,
            "tag_id")  # fmt: skip
    refused(analyst.call("POST", one + "/segment", json={"segment_id": segment["id"],
                                                         "action": "remove"}), 409, "tag_id")
    used = refused(analyst.call("DELETE", path), 409, "segment_id")
    assert "Paying" in used["message"]
    [member] = ok(viewer.get(f"{P}/{persons['u1']}/segments"))
    assert (member["id"], member["name"]) == (segment["id"], "Payers")
    assert ok(viewer.get(f"{P}/{persons['u2']}/segments")) == []
    # A manual tag given to the whole segment, then taken again.
    hand = create(analyst, {"name": "Campaign"})
    bulk = f"{T}/{hand['id']}/segment"
    assert ok(analyst.call("POST", bulk, json={"segment_id": segment["id"],
                                               "action": "add"})) == {"added": 2}
    assert ok(viewer.get(f"{T}/{hand['id']}"))["persons"] == 2
    assert ok(analyst.call("POST", bulk, json={"segment_id": segment["id"],
                                               "action": "remove"})) == {"removed": 2}
    listed = {t["name"]: t["persons"] for t in ok(viewer.get(T))}
    assert (listed["Paying"], listed["Campaign"]) == (2, 0)
    # Once the rule tag is gone, so may the segment be.
    assert analyst.call("DELETE", one).status_code == 204
    assert analyst.call("DELETE", path).status_code == 204


def test_names_and_other_projects(served: dict[str, Any]) -> None:
    analyst, outsider = caller(served, "analyst"), caller(served, "outsider")
    first = create(analyst, {"name": "Taken"})
    refused(analyst.call("POST", T, json={"name": "Taken"}), 409, "name")
    other = create(analyst, {"name": "Other"})
    refused(analyst.call("PUT", f"{T}/{other['id']}", json={"name": " Taken "}), 409, "name")
    theirs = create(outsider, {"name": "Theirs"}, "/api/projects/elsewhere/tags")
    for method, tail in [("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/persons"),
                         ("GET", "/persons"), ("POST", "/segment")]:  # fmt: skip
        response = analyst.call(method, f"{T}/{theirs['id']}{tail}",
                                json={"segment_id": 1, "action": "add"})  # fmt: skip
        refused(response, 404, "tag_id")
    refused(analyst.get(f"{T}/abc"), 404, "tag_id")
    refused(analyst.get(f"{T}/{2**70}/persons"), 404, "tag_id")
    refused(analyst.get(f"{P}/999999/tags"), 404, "person_id")
    refused(analyst.get(f"{P}/x/segments"), 404, "person_id")
    for made in (first, other):
        assert analyst.call("DELETE", f"{T}/{made['id']}").status_code == 204


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": " "}, "name"),
    ({"name": "a\nb"}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x", "colour": "red"}, "colour"),
    ({"name": "x", "color": "<script>"}, "color"),
    ({"name": "x", "description": ["a"]}, "description"),
    ({"name": "x", "description": "a\x00b"}, "description"),
    ({"name": "x\x00"}, "name"),
    ({"name": "x", "segment_id": "1"}, "segment_id"),
    ({"name": "x", "segment_id": True}, "segment_id"),
    ({"name": "x", "segment_id": 0}, "segment_id"),
    ({"name": "x", "segment_id": 2**70}, "segment_id"),
    ({"name": "x", "segment_id": 999999}, "segment_id"),
])  # fmt: skip
def test_bad_tags_name_the_field(served: dict[str, Any], body: dict[str, Any],
                                 field: str) -> None:  # fmt: skip
    refused(caller(served, "analyst").call("POST", T, json=body), 400, field)


@pytest.mark.parametrize(("body", "field"), [
    ({"add": "1"}, "add"),
    ({"add": [1.5]}, "add[0]"),
    ({"add": [1, True]}, "add[1]"),
    ({"add": ["7"]}, "add[0]"),
    ({"add": [2**64]}, "add[0]"),
    ({"remove": [-1]}, "remove[0]"),
    ({"add": list(range(1, 10_002))}, "add"),
    ({"remove": list(range(1, 10_002))}, "remove"),
    ({"add": [1], "remove": [1]}, "remove"),
    ({"add": [], "everyone": True}, "everyone"),
    ([1, 2], None),
])  # fmt: skip
def test_bad_person_lists_name_the_field(served: dict[str, Any], body: Any,
                                         field: str | None) -> None:  # fmt: skip
    analyst = caller(served, "analyst")
    made = create(analyst, {"name": f"lists {field}"})
    try:
        refused(analyst.call("POST", f"{T}/{made['id']}/persons", json=body), 400, field)
    finally:
        analyst.call("DELETE", f"{T}/{made['id']}")


def test_bad_segment_bodies_and_pages(served: dict[str, Any]) -> None:
    analyst = caller(served, "analyst")
    made = create(analyst, {"name": "bodies"})
    one = f"{T}/{made['id']}"
    for body, field in [({}, "segment_id"), ({"segment_id": 1}, "action"),
                        ({"segment_id": 1, "action": "toggle"}, "action"),
                        ({"segment_id": "1", "action": "add"}, "segment_id"),
                        ({"segment_id": 999999, "action": "add"}, "segment_id"),
                        ({"segment_id": 1, "action": "add", "all": 1}, "all")]:  # fmt: skip
        refused(analyst.call("POST", one + "/segment", json=body), 400, field)
    refused(analyst.call("POST", one + "/persons", content=b"{nope"), 400, None)
    refused(analyst.get(one + "/persons?limit=0"), 400, "limit")
    refused(analyst.get(one + "/persons?limit=501"), 400, "limit")
    refused(analyst.get(one + "/persons?offset=-1"), 400, "offset")
    refused(analyst.call("PUT", one, json={"segment_id": None}), 400, "segment_id")
    refused(analyst.call("PUT", one, json={"kind": "rule"}), 400, "kind")
    assert ok(analyst.get(one + "/persons?offset=100000")) == {"persons": [], "has_more": False}
    assert analyst.call("DELETE", one).status_code == 204


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)  # fmt: skip
FIELDS = ["name", "description", "color", "segment_id", "add", "remove", "action", "x"]


@settings(max_examples=300, deadline=None, database=None)
@given(body=JSON | st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4))
def test_any_json_is_parsed_or_refused_naming_a_field(body: Any) -> None:
    # Every body parser of these routes: a value, or a BadRequest (a 400), nothing else.
    for parse in (parse_input, parse_persons, lambda b: parsed_body(BySegment, b)):
        try:
            parse(body)
        except BadRequest as exc:
            field = exc.field
            keys = list(body) if isinstance(body, dict) else []
            assert field is None or field in FIELDS or any(
                field.startswith(key[:100]) for key in keys), field
