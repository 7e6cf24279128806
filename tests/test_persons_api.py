"""Persons on a real `userops serve`, against brute force over the event log that was loaded:
every person once across pages, each with its ids, events and display name; search by id, by
trait and by number, with hostile text; summaries by person number (``ids``); the timeline paged
newest first without gaps or repeats (ties included); the profile; unmerge for admins only;
unknown ids 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from analysis_reference import ingest, moment_of, person_of, person_traits, persons_of
from resource_helpers import Caller, serve_shop, text_of
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime

pytestmark = pytest.mark.usefixtures("clean_environment")

HOSTILE = "O'Brien \"quoted\" 100% _x_ \\ ' OR '1'='1 -- {project:UInt32} 名前"


def event(device: int, minutes: int, user: int | None = None, name: str = "view",
          **properties: Any) -> dict[str, Any]:  # fmt: skip
    return {"event": name, "device": device, "user": user, "minutes": minutes,
            "properties": properties}  # fmt: skip


def identify(device: int, user: int | None, minutes: int, **traits: Any) -> dict[str, Any]:
    return {**event(device, minutes, user), "event": "identify", "traits": traits}


def event_log() -> list[dict[str, Any]]:
    """23 devices and 6 users: anonymous browsing, sign-ups with traits, a merge (device 5 logs
    in as user 0, who is device 0's), runs of events in one minute, a hostile trait value."""
    log: list[dict[str, Any]] = []
    for device in range(23):
        for n in range(device % 4 + 1):
            log.append(event(device, 60 * device + 7 * n, plan=n, ok=n % 2 == 0))
    log += [event(3, 2000, n=k) for k in range(6)]  # six events in one millisecond
    log += [event(3, 1990), event(3, 1990), event(3, 2010)]
    log += [
        identify(0, 0, 100, email="Ann@Example.com", name="Ann"),
        identify(5, 0, 400),  # device 5's person merges with user 0's
        identify(1, 1, 200, name="Bob"),
        identify(1, 1, 900, name="Robert"),  # the later name wins
        identify(2, 2, 300, email="  "),  # blank: not a display name
        identify(4, 3, 300, note=HOSTILE),
        identify(6, 4, 600, email="old@example.com"),
        identify(6, 4, 700, email="new@example.com"),
        identify(7, 5, 800, age=41, vip=True),
        event(8, 950, user=5, name="pay"),  # device 8 logs in as user 5: another merge
    ]  # fmt: skip
    return log


LOG = event_log()
TIES_DEVICE = 3


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def fill(runtime: Runtime, shop: Project) -> dict[str, Any]:
        ingest(runtime, shop.id, LOG)
        split = create_project(runtime.sessions, "split", "UTC")
        ingest(runtime, split.id, LOG)
        return {}

    with serve_shop(tmp_path_factory.mktemp("persons-api") / "data", fill) as served:
        yield served


def viewer(served: dict[str, Any]) -> Caller:
    caller: Caller = served["callers"]["viewer"]
    return caller


# --- brute force -----------------------------------------------------------------------------


def reference() -> dict[frozenset[str], dict[str, Any]]:
    """Each person (by its set of ids) as the list should show it."""
    roots = persons_of(LOG)
    traits = person_traits(LOG)
    persons: dict[str, dict[str, Any]] = {}
    for entry in LOG:
        root = person_of(LOG, entry)
        person = persons.setdefault(root, {"moments": []})
        person["moments"].append(moment_of(entry))
    found = {}
    for root, person in persons.items():
        ids = sorted(i for i, r in roots.items() if r == root)
        current = traits.get(root, {})
        names = [current[k] for k in ("email", "name")
                 if isinstance(current.get(k), str) and current[k].strip()]  # fmt: skip
        display = names[0] if names else ids[0]
        found[frozenset(ids)] = {
            "distinct_ids": ids, "display": display, "event_count": len(person["moments"]),
            "first_seen": iso(min(person["moments"])), "last_seen": iso(max(person["moments"])),
            "traits": current,
        }  # fmt: skip
    return found


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def search_reference(text: str) -> set[frozenset[str]]:
    needle = text.strip().lower()
    return {ids for ids, person in reference().items()
            if any(needle in i.lower() for i in ids)
            or any(needle in text_of(v).lower() for v in person["traits"].values())}  # fmt: skip


def every_page(caller: Caller, search: str | None, limit: int,
               project: str = "shop") -> list[dict[str, Any]]:  # fmt: skip
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if search is not None:
            params["search"] = search
        response = caller.get(f"/api/projects/{project}/persons", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["persons"]) <= limit
        found += page["persons"]
        if not page["has_more"]:
            return found
        assert len(page["persons"]) == limit
        offset += limit


# --- the list --------------------------------------------------------------------------------


def test_every_person_once_across_pages(served: dict[str, Any]) -> None:
    expected = reference()
    for limit in (1, 4, 7, 200):
        listed = every_page(viewer(served), None, limit)
        numbers = [p["person_id"] for p in listed]
        assert numbers == sorted(numbers, reverse=True)  # newest first, no repeats
        assert len(set(numbers)) == len(numbers) == len(expected)
        by_ids = {frozenset(p["distinct_ids"]): p for p in listed}
        assert set(by_ids) == set(expected)
        for ids, person in by_ids.items():
            want = expected[ids]
            got = {k: person[k] for k in ("distinct_ids", "display", "event_count",
                                          "first_seen", "last_seen")}  # fmt: skip
            assert got == {k: want[k] for k in got}, ids
            assert person["distinct_id_count"] == len(ids)


# Traits match by their current value: Bob is Robert now, old@ was replaced by new@.
PAST_VALUES = ("bob", "old@")


@pytest.mark.parametrize("text", ["device-1", "DEVICE-2", "user", "example.com", "ann@",
                                  "robert", "41", "true", "  new@  ", *PAST_VALUES])  # fmt: skip
def test_search_by_id_and_trait(served: dict[str, Any], text: str) -> None:
    listed = every_page(viewer(served), text, 3)
    found = [frozenset(p["distinct_ids"]) for p in listed]
    assert len(found) == len(set(found))
    assert set(found) == search_reference(text), text
    assert bool(found) == (text not in PAST_VALUES)


@pytest.mark.parametrize("text", ["'", '"', "%", "_", "\\", "' OR '1'='1", "device-1' --",
                                  "{project:UInt32}", "名前", "%_%", "a" * 400,
                                  "O'Brien \"quoted\" 100% _x_"])  # fmt: skip
def test_hostile_search_text_is_data(served: dict[str, Any], text: str) -> None:
    listed = every_page(viewer(served), text, 5)
    assert {frozenset(p["distinct_ids"]) for p in listed} == search_reference(text), text


def test_search_by_person_number_and_blank(served: dict[str, Any]) -> None:
    everyone = every_page(viewer(served), None, 200)
    someone = everyone[len(everyone) // 2]
    found = every_page(viewer(served), str(someone["person_id"]), 200)
    assert someone in found
    assert every_page(viewer(served), "   ", 200) == everyone


@pytest.mark.parametrize(("params", "field"), [({"limit": 0}, "limit"), ({"limit": 201}, "limit"),
                                               ({"offset": -1}, "offset"),
                                               ({"limit": "ten"}, "limit"),
                                               ({"search": "x" * 401}, "search"),
                                               ({"search": "a\x00b"}, "search")])  # fmt: skip
def test_bad_list_parameters_are_400s(
    served: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    response = viewer(served).get("/api/projects/shop/persons", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


# --- by number -------------------------------------------------------------------------------


def by_ids(caller: Caller, ids: str, project: str = "shop") -> list[dict[str, Any]]:
    response = caller.get(f"/api/projects/{project}/persons", params={"ids": ids})
    assert response.status_code == 200, response.text
    assert response.json()["has_more"] is False
    found: list[dict[str, Any]] = response.json()["persons"]
    return found


def test_persons_by_number_are_the_lists_summaries(served: dict[str, Any]) -> None:
    caller = viewer(served)
    everyone = {p["person_id"]: p for p in every_page(caller, None, 200)}
    numbers = sorted(everyone)
    picked = [numbers[3], numbers[0], numbers[-1], numbers[0], numbers[7]]
    found = by_ids(caller, ",".join(str(n) for n in picked))
    # In the order asked, each once, each exactly as the list shows it.
    assert found == [everyone[n] for n in dict.fromkeys(picked)]
    named = person_with(caller, "device-1")
    assert by_ids(caller, f" {named['person_id']} ") == [named]
    assert named["display"] == "Robert"
    assert by_ids(caller, ",".join(str(n) for n in numbers)) == [everyone[n] for n in numbers]


def test_another_projects_persons_are_left_out(served: dict[str, Any]) -> None:
    caller = viewer(served)
    local: Caller = served["local"]
    theirs = [p["person_id"] for p in every_page(local, None, 200, "split")]
    mine = person_with(caller, "device-2")
    assert not set(theirs) & {p["person_id"] for p in every_page(caller, None, 200)}
    assert by_ids(caller, ",".join(str(n) for n in theirs)) == []
    assert by_ids(caller, f"{theirs[0]},{mine['person_id']},{theirs[1]}") == [mine]
    # An absorbed person holds no ids: its number is left out too (its profile leads on).
    merged = person_with(caller, "user-0")
    absorbed = caller.get(f"/api/projects/shop/persons/{merged['person_id']}").json()
    absorbed_id = next(m["merged_id"] for m in absorbed["merges"]
                       if m["merged_id"] != merged["person_id"])  # fmt: skip
    assert by_ids(caller, f"{absorbed_id},{merged['person_id']}") == [merged]
    assert by_ids(caller, "999999") == []
    outsider: Caller = served["callers"]["outsider"]
    assert outsider.get("/api/projects/shop/persons", params={"ids": "1"}).status_code == 404


@pytest.mark.parametrize("ids", ["", " ", "a", "1,,2", "1;2", "1,", "-1", "0", "1.5", "1e3",
                                 "１", "99999999999999999999", "1 OR 1=1", "2" * 400,
                                 ",".join(str(n) for n in range(1, 502))])  # fmt: skip
def test_bad_ids_are_400s(served: dict[str, Any], ids: str) -> None:
    response = viewer(served).get("/api/projects/shop/persons", params={"ids": ids})
    assert (response.status_code, response.json()["field"]) == (400, "ids"), response.text


def test_ids_take_at_most_500_and_no_search(served: dict[str, Any]) -> None:
    caller = viewer(served)
    numbers = sorted(p["person_id"] for p in every_page(caller, None, 200))
    ids = ",".join(str(n) for n in [*numbers, *range(10**6, 10**6 + 500 - len(numbers))])
    assert [p["person_id"] for p in by_ids(caller, ids)] == numbers
    response = caller.get("/api/projects/shop/persons", params={"ids": "1", "search": "device"})
    assert (response.status_code, response.json()["field"]) == (400, "ids")


# --- a person --------------------------------------------------------------------------------


def person_with(caller: Caller, distinct_id: str, project: str = "shop") -> dict[str, Any]:
    for person in every_page(caller, None, 200, project):
        if distinct_id in person["distinct_ids"]:
            return person
    raise AssertionError(distinct_id)


def test_the_profile(served: dict[str, Any]) -> None:
    caller = viewer(served)
    expected = reference()
    for device in (0, 1, 4, 7, 22):
        listed = person_with(caller, f"device-{device}")
        profile = caller.get(f"/api/projects/shop/persons/{listed['person_id']}").json()
        want = expected[frozenset(listed["distinct_ids"])]
        assert profile["person_id"] == listed["person_id"]
        assert profile["distinct_ids"] == want["distinct_ids"]
        assert profile["traits"] == want["traits"]
        assert (profile["first_seen"], profile["last_seen"], profile["event_count"]) == (
            want["first_seen"], want["last_seen"], want["event_count"])  # fmt: skip
    merged = caller.get(f"/api/projects/shop/persons/{person_with(caller, 'user-0')['person_id']}")
    merges = merged.json()["merges"]
    assert len(merges) == 1 and merges[0]["undone_at"] is None
    assert {merges[0]["kept_id"], merges[0]["merged_id"]} >= {merged.json()["person_id"]}
    # The absorbed person's number leads to the person holding its ids now.
    absorbed = merges[0]["merged_id"]
    again = caller.get(f"/api/projects/shop/persons/{absorbed}").json()
    assert again["person_id"] == merged.json()["person_id"]


def test_the_timeline_pages_without_gaps_or_repeats(served: dict[str, Any]) -> None:
    caller = viewer(served)
    person = person_with(caller, f"device-{TIES_DEVICE}")
    ids = set(person["distinct_ids"])
    entries = [e for e in LOG if {f"device-{e['device']}"} & ids]
    expected = sorted((iso(moment_of(e)) for e in entries), reverse=True)
    for limit in (1, 4, 5, 50):
        seen: list[dict[str, Any]] = []
        before = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": limit}
            if before is not None:
                params["before"] = before
            response = caller.get(f"/api/projects/shop/persons/{person['person_id']}/events",
                                  params=params)  # fmt: skip
            assert response.status_code == 200, response.text
            page = response.json()
            stamps = [e["timestamp"] for e in page["events"]]
            # A page is over the limit only to finish a run of one millisecond.
            if len(stamps) > limit:
                assert stamps.count(stamps[-1]) > 1 and len(set(stamps[limit - 1 :])) == 1
            seen += page["events"]
            pages += 1
            if page["next_before"] is None:
                break
            assert page["next_before"] == stamps[-1]
            before = page["next_before"]
        assert [e["timestamp"] for e in seen] == expected, limit
        assert len({e["uuid"] for e in seen}) == len(seen)
        assert pages >= len(set(expected)) // limit
    first = caller.get(f"/api/projects/shop/persons/{person['person_id']}/events",
                       params={"limit": 4}).json()  # fmt: skip
    assert len(first["events"]) == 7  # 2010 alone, then the six at minute 2000 together
    assert first["events"][1]["properties"] in [{"n": k} for k in range(6)]
    assert first["events"][0]["distinct_id"] == f"device-{TIES_DEVICE}"


def test_before_takes_offsets_and_refuses_nonsense(served: dict[str, Any]) -> None:
    caller = viewer(served)
    person = person_with(caller, f"device-{TIES_DEVICE}")
    path = f"/api/projects/shop/persons/{person['person_id']}/events"
    cut = moment_of({"minutes": 2000})
    for spelled in (iso(cut), cut.isoformat(), cut.astimezone(dt.timezone(dt.timedelta(hours=8)))
                    .isoformat(), cut.replace(tzinfo=None).isoformat()):  # fmt: skip
        events = caller.get(path, params={"before": spelled, "limit": 500}).json()["events"]
        assert all(e["timestamp"] < iso(cut) for e in events) and len(events) == 4 + 2, spelled
    for bad in ("yesterday", "2026-13-01", "' OR 1=1"):
        response = caller.get(path, params={"before": bad})
        assert (response.status_code, response.json()["field"]) == (400, "before")
    response = caller.get(path, params={"limit": 501})
    assert (response.status_code, response.json()["field"]) == (400, "limit")


@pytest.mark.parametrize("person_id", ["999999", "0", "-3", "abc", "device-1", "1.5",
                                       "99999999999999999999", quote("1 OR 1=1")])  # fmt: skip
def test_unknown_persons_are_404(served: dict[str, Any], person_id: str) -> None:
    caller = viewer(served)
    for suffix in ("", "/events"):
        response = caller.get(f"/api/projects/shop/persons/{person_id}{suffix}")
        assert (response.status_code, response.json()["field"]) == (404, "person_id"), suffix
    admin: Caller = served["callers"]["admin"]
    response = admin.call("POST", f"/api/projects/shop/persons/{person_id}/unmerge",
                          json={"merge_id": 1})  # fmt: skip
    assert (response.status_code, response.json()["field"]) == (404, "person_id")


def test_another_projects_person_is_not_found(served: dict[str, Any]) -> None:
    local: Caller = served["local"]
    theirs = person_with(local, "device-0", "split")["person_id"]
    mine = {p["person_id"] for p in every_page(viewer(served), None, 200)}
    assert theirs not in mine
    response = viewer(served).get(f"/api/projects/shop/persons/{theirs}")
    assert response.status_code == 404
    outsider: Caller = served["callers"]["outsider"]
    assert outsider.get("/api/projects/shop/persons").status_code == 404


# --- unmerge ---------------------------------------------------------------------------------


def test_only_admins_unmerge(served: dict[str, Any]) -> None:
    callers: dict[str, Caller] = served["callers"]
    person = person_with(callers["viewer"], "user-0")
    path = f"/api/projects/shop/persons/{person['person_id']}"
    merge_id = callers["viewer"].get(path).json()["merges"][0]["id"]
    for role in ("viewer", "analyst"):
        response = callers[role].call("POST", path + "/unmerge", json={"merge_id": merge_id})
        assert (response.status_code, response.json()["error"]) == (403, "Forbidden"), role
    response = callers["admin"].client.post(path + "/unmerge", json={"merge_id": merge_id})
    assert (response.status_code, response.json()["error"]) == (403, "CsrfRejected")
    for body, status, field in (({"merge_id": "1"}, 400, "merge_id"), ({}, 400, "merge_id"),
                                ([merge_id], 400, "merge_id"), ({"merge_id": 10**30}, 400,
                                                                "merge_id"),
                                ({"merge_id": 999999}, 404, "merge_id")):  # fmt: skip
        response = callers["admin"].call("POST", path + "/unmerge", json=body)
        assert (response.status_code, response.json().get("field")) == (status, field), body
    assert callers["viewer"].get(path).json()["merges"][0]["undone_at"] is None


def test_an_admin_unmerges(served: dict[str, Any]) -> None:
    local: Caller = served["local"]  # the owner: admin of "split"
    person = person_with(local, "user-0", "split")
    path = f"/api/projects/split/persons/{person['person_id']}"
    merge = local.get(path).json()["merges"][0]
    response = local.call("POST", path + "/unmerge", json={"merge_id": merge["id"]})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["merges"][0]["undone_at"] is not None
    back = local.get(f"/api/projects/split/persons/{merge['merged_id']}").json()
    assert back["person_id"] == merge["merged_id"]
    # The two persons split the ids the merged one had, and each has events again.
    assert sorted(after["distinct_ids"] + back["distinct_ids"]) == person["distinct_ids"]
    assert after["distinct_ids"] and back["distinct_ids"]
    assert after["event_count"] + back["event_count"] == person["event_count"]
    listed = {p["person_id"] for p in every_page(local, None, 200, "split")}
    assert {after["person_id"], back["person_id"]} <= listed
    again = local.call("POST", path + "/unmerge", json={"merge_id": merge["id"]})
    assert again.status_code == 409
