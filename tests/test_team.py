"""Projects, settings, write keys, members and personal API keys through the console's REST API
on a real `userops serve`, each user a browser of its own (cookie jar and CSRF token)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import httpx
import pytest

from server_helpers import Server
from userops.config import load_settings
from userops.meta import users
from userops.meta.projects import create_project
from userops.runtime import Runtime

PASSWORD = "team password"
P = "/api/projects/shop"
_addresses = count(1)


class Browser(httpx.Client):
    """A signed-in user: the session cookie in the jar, the CSRF token on every request."""

    def __init__(self, url: str, email: str, password: str = PASSWORD) -> None:
        super().__init__(base_url=url, timeout=60)
        response = self.post("/api/auth/login", json={"email": email, "password": password},
                             headers={"X-Forwarded-For": f"10.7.0.{next(_addresses)}"})
        assert response.status_code == 200, response.text
        self.headers["X-CSRF-Token"] = response.json()["csrf_token"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("team") / "data"
    with Runtime.open(load_settings({"data_dir": str(data_dir)}, environ={})) as runtime:
        sessions = runtime.sessions
        shop = create_project(sessions, "shop", "Asia/Shanghai")
        owner = users.create_user(sessions, "owner@example.com", "Owner", PASSWORD, is_owner=True)
        admin = users.create_user(sessions, "admin@example.com", "Admin", PASSWORD)
        users.add_member(sessions, shop.id, admin.id, "admin")
        users.create_user(sessions, "loner@example.com", "Loner", PASSWORD)
        assert owner.id
    started = Server(data_dir)
    started.start()
    try:
        yield started
    finally:
        started.stop()


def members(browser: Browser) -> dict[str, str]:
    response = browser.get(P + "/members")
    assert response.status_code == 200, response.text
    return {m["user"]["email"]: m["role"] for m in response.json()}


def test_members_are_added_changed_and_removed(server: Server) -> None:
    admin = Browser(server.url, "admin@example.com")
    # An existing user by email (any case); a new one with name and password.
    added = admin.post(P + "/members", json={"email": "LONER@example.com", "role": "viewer"})
    assert added.status_code == 201, added.text
    assert added.json()["user"]["email"] == "loner@example.com"
    created = admin.post(P + "/members", json={"email": "new@example.com", "role": "analyst",
                                               "name": "New", "password": "new password"})
    assert (created.status_code, created.json()["role"]) == (201, "analyst")
    assert members(admin) == {"admin@example.com": "admin", "loner@example.com": "viewer",
                              "new@example.com": "analyst"}  # fmt: skip
    new = Browser(server.url, "new@example.com", "new password")  # the new user signs in
    assert members(new) == members(admin)  # any member reads the list

    refusals = [
        ({"email": "loner@example.com", "role": "viewer"}, 409, "email"),
        ({"email": "ghost@example.com", "role": "viewer"}, 404, "email"),
        ({"email": "ghost@example.com", "role": "boss", "name": "G", "password": "pw pw pw pw"},
         400, "role"),
        ({"email": "ghost@example.com", "role": "viewer", "name": "G", "password": "short"},
         400, "password"),
        ({"email": "ghost@example.com"}, 400, "role"),
    ]  # fmt: skip
    for body, status, field in refusals:
        response = admin.post(P + "/members", json=body)
        assert (response.status_code, response.json()["field"]) == (status, field), body
    assert "ghost@example.com" not in members(admin)

    loner_id = added.json()["user"]["id"]
    promoted = admin.patch(f"{P}/members/{loner_id}", json={"role": "analyst"})
    assert (promoted.status_code, promoted.json()["role"]) == (200, "analyst")
    assert admin.delete(f"{P}/members/{loner_id}").status_code == 204
    assert "loner@example.com" not in members(admin)
    # Removed: the project is gone for them, the same 404 as a project that does not exist.
    loner = Browser(server.url, "loner@example.com")
    assert loner.get(P).status_code == 404
    assert loner.get("/api/projects").json() == []
    assert admin.delete(f"{P}/members/{loner_id}").status_code == 404
    assert admin.patch(f"{P}/members/abc", json={"role": "viewer"}).status_code == 404


def test_the_last_admin_stays(server: Server) -> None:
    owner = Browser(server.url, "owner@example.com")
    made = owner.post("/api/projects", json={"name": "solo", "timezone": "Europe/Berlin"})
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "admin" and made.json()["write_key"]
    solo = "/api/projects/solo/members"
    (me,) = owner.get(solo).json()  # the creator is its first admin
    assert (me["user"]["email"], me["role"]) == ("owner@example.com", "admin")
    demote = owner.patch(f"{solo}/{me['user']['id']}", json={"role": "viewer"})
    remove = owner.delete(f"{solo}/{me['user']['id']}")
    assert demote.status_code == remove.status_code == 409
    assert "last admin" in demote.json()["message"]
    second = owner.post(solo, json={"email": "admin@example.com", "role": "admin"}).json()
    assert owner.patch(f"{solo}/{me['user']['id']}", json={"role": "viewer"}).status_code == 200
    last = owner.patch(f"{solo}/{second['user']['id']}", json={"role": "analyst"})
    assert last.status_code == 409


def test_projects_are_created_by_the_owner_only(server: Server) -> None:
    owner = Browser(server.url, "owner@example.com")
    admin = Browser(server.url, "admin@example.com")
    refused = admin.post("/api/projects", json={"name": "mine", "timezone": "UTC"})
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")
    for body, status, field in [({"name": "shop", "timezone": "UTC"}, 409, "name"),
                                ({"name": "bad name!", "timezone": "UTC"}, 400, "name"),
                                ({"name": "ok", "timezone": "Mars/Base"}, 400, "timezone"),
                                ({"name": "ok"}, 400, "timezone")]:  # fmt: skip
        response = owner.post("/api/projects", json=body)
        assert (response.status_code, response.json()["field"]) == (status, field), body


def test_settings_change_by_field(server: Server) -> None:
    admin = Browser(server.url, "admin@example.com")
    changed = admin.patch(P, json={"currency": "USD", "order_event": "purchase"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["currency"], changed.json()["order_event"]) == ("USD", "purchase")
    assert changed.json()["timezone"] == "Asia/Shanghai"  # left out: kept
    assert admin.get(P).json()["currency"] == "USD"
    for body, field in [({"currency": "dollars"}, "currency"), ({"timezone": "X/Y"}, "timezone"),
                        ({"name": "renamed"}, "name"), ({"store_client_ip": "maybe"},
                                                        "store_client_ip")]:  # fmt: skip
        response = admin.patch(P, json=body)
        assert (response.status_code, response.json()["field"]) == (400, field), body


def test_rotating_the_write_key_stops_the_old_one_at_once(server: Server) -> None:
    admin = Browser(server.url, "admin@example.com")
    old = admin.get(P).json()["write_key"]
    event = {"type": "track", "event": "tick", "anonymousId": "a1"}

    def send(write_key: str) -> int:
        return httpx.post(server.url + "/v1/track", json=event, auth=(write_key, "")).status_code

    assert send(old) == 200  # now cached by the intake
    rotated = admin.post(P + "/write-key")
    assert rotated.status_code == 200
    new = rotated.json()["write_key"]
    assert new != old and len(new) >= 32
    assert admin.get(P).json()["write_key"] == new
    assert send(old) == 401
    assert send(new) == 200


def test_personal_keys_are_their_users(server: Server) -> None:
    admin = Browser(server.url, "admin@example.com")
    admin.post(P + "/members", json={"email": "kay@example.com", "role": "viewer", "name": "Kay",
                                     "password": PASSWORD})  # fmt: skip
    kay = Browser(server.url, "kay@example.com")
    mine = kay.post(P + "/keys", json={"name": "notebook"})
    assert mine.status_code == 201, mine.text
    secret = mine.json()["secret"]
    assert secret.startswith("uok_") and mine.json()["prefix"] == secret[:12]
    theirs = admin.post(P + "/keys", json={"name": "admin's"}).json()

    listed = kay.get(P + "/keys").json()
    assert [(k["name"], k["user_email"]) for k in listed] == [("notebook", "kay@example.com")]
    assert "secret" not in listed[0] and set(listed[0]) == {
        "id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "user_email"}
    assert {"notebook", "admin's"} <= {k["name"] for k in admin.get(P + "/keys").json()}
    # A viewer cannot revoke another's key; the answer does not tell it exists.
    assert kay.delete(f"{P}/keys/{theirs['id']}").status_code == 404

    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(server.url + P, headers=bearer).json()["role"] == "viewer"
    assert httpx.patch(server.url + P, json={}, headers=bearer).status_code == 403
    # The key follows its user's role as it changes.
    admin.patch(f"{P}/members/{kay.get('/api/auth/me').json()['user']['id']}",
                json={"role": "admin"})  # fmt: skip
    assert httpx.patch(server.url + P, json={}, headers=bearer).status_code == 200

    assert admin.delete(f"{P}/keys/{mine.json()['id']}").status_code == 204
    revoked = httpx.get(server.url + P, headers=bearer)
    assert (revoked.status_code, revoked.json()["error"]) == (401, "Unauthorized")
    (row,) = [k for k in kay.get(P + "/keys").json() if k["id"] == mine.json()["id"]]
    assert row["revoked_at"] is not None
