"""Every route of the app, called as every kind of caller, on a real `userops serve`.

The routes come from the app itself, so a route added later is covered at once: one missing from
``REQUIRED`` (or ``PUBLIC``) fails ``test_every_route_has_a_rule``, and so nobody adds a route
without deciding who may call it. Callers: the instance owner, a project's admin, analyst and
viewer (console sessions), an admin of another project, a viewer's personal API key, a key made
by `userops keys create` (an analyst), the server's local token, and nobody.

Allowed means the request got past access control: not 401 or 403, and no 404 for the project
(a sub-resource the test names, such as insight 999999, may well be missing: that 404 names its
own field). Bodies are ``{}``, so a write that passes is refused as a bad body, not carried out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import fastapi.routing
import httpx
import pytest

from server_helpers import Server
from userops.config import load_settings
from userops.meta import users
from userops.meta.keys import create_key, read_local_token
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.web.server import create_app

Rule = Literal["public", "session", "signed_in", "owner", "viewer", "analyst", "admin"]
P = "/api/projects/{project}"

# Public by design: ingestion takes write keys (its own tests cover them), the health and metrics
# endpoints carry no project data, and setup/login run before anyone is signed in.
PUBLIC: set[tuple[str, str]] = {
    *{("POST", f"/v1/{kind}") for kind in
      ("import", "batch", "track", "identify", "page", "screen", "group", "alias",
       "t", "i", "p", "s", "g", "a")},  # analytics.js's one-letter paths
    *{("POST", path + tail) for path in ("/batch", "/capture", "/e", "/i/v0/e", "/track",
                                         "/engage") for tail in ("", "/")},
    ("GET", "/healthz"), ("GET", "/metrics"),
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/api/setup"), ("POST", "/api/setup"), ("POST", "/api/auth/login"),
    ("GET", "/{path:path}"),  # the console's files; it answers no /api path (see below)
}  # fmt: skip

# The least each route needs: a role in the project, or one of
#   session    a console sign-in (not a key, not the local token)
#   signed_in  any credential
#   owner      the instance owner (a user with is_owner, or the local token)
REQUIRED: dict[tuple[str, str], Rule] = {
    ("POST", "/api/auth/logout"): "session",
    ("GET", "/api/auth/me"): "session",
    ("GET", "/api/projects"): "signed_in",
    ("POST", "/api/projects"): "owner",
    ("GET", P): "viewer",
    ("PATCH", P): "admin",
    ("POST", P + "/write-key"): "admin",
    ("GET", P + "/members"): "viewer",
    ("POST", P + "/members"): "admin",
    ("PATCH", P + "/members/{user_id}"): "admin",
    ("DELETE", P + "/members/{user_id}"): "admin",
    ("GET", P + "/keys"): "viewer",
    ("POST", P + "/keys"): "viewer",
    ("DELETE", P + "/keys/{key_id}"): "viewer",
    ("POST", P + "/query"): "viewer",
    ("GET", P + "/insights"): "viewer",
    ("POST", P + "/insights"): "analyst",
    ("GET", P + "/insights/{insight_id}"): "viewer",
    ("PUT", P + "/insights/{insight_id}"): "analyst",
    ("DELETE", P + "/insights/{insight_id}"): "analyst",
    ("GET", P + "/dashboards"): "viewer",
    ("POST", P + "/dashboards"): "analyst",
    ("GET", P + "/dashboards/{dashboard_id}"): "viewer",
    ("PUT", P + "/dashboards/{dashboard_id}"): "analyst",
    ("DELETE", P + "/dashboards/{dashboard_id}"): "analyst",
    ("GET", P + "/persons"): "viewer",
    ("GET", P + "/persons/{person_id}"): "viewer",
    ("GET", P + "/persons/{person_id}/events"): "viewer",
    ("POST", P + "/persons/{person_id}/unmerge"): "admin",
    ("GET", P + "/event-definitions"): "viewer",
    ("GET", P + "/property-definitions"): "viewer",
    ("GET", P + "/person-properties"): "viewer",
    ("GET", P + "/snippets"): "viewer",
    ("GET", P + "/segments"): "viewer",
    ("POST", P + "/segments"): "analyst",
    ("POST", P + "/segments/preview"): "viewer",
    ("GET", P + "/segments/{segment_id}"): "viewer",
    ("PUT", P + "/segments/{segment_id}"): "analyst",
    ("DELETE", P + "/segments/{segment_id}"): "analyst",
    ("POST", P + "/segments/{segment_id}/refresh"): "analyst",
    ("GET", P + "/segments/{segment_id}/members"): "viewer",
    ("GET", P + "/segments/{segment_id}/history"): "viewer",
    ("GET", P + "/segments/{segment_id}/export.csv"): "viewer",
    ("POST", P + "/segments/{segment_id}/static"): "analyst",
    ("GET", P + "/tags"): "viewer",
    ("POST", P + "/tags"): "analyst",
    ("GET", P + "/tags/{tag_id}"): "viewer",
    ("PUT", P + "/tags/{tag_id}"): "analyst",
    ("DELETE", P + "/tags/{tag_id}"): "analyst",
    ("POST", P + "/tags/{tag_id}/persons"): "analyst",
    ("GET", P + "/tags/{tag_id}/persons"): "viewer",
    ("POST", P + "/tags/{tag_id}/segment"): "analyst",
    ("GET", P + "/persons/{person_id}/tags"): "viewer",
    ("GET", P + "/persons/{person_id}/segments"): "viewer",
    ("POST", P + "/computed-properties/refresh"): "analyst",
    ("GET", P + "/lifecycle-stages"): "viewer",
    ("GET", P + "/lifecycle-stages/transitions"): "viewer",
    ("GET", P + "/people-settings"): "viewer",
    ("PUT", P + "/people-settings"): "analyst",
    ("GET", P + "/value-tiers"): "viewer",
    ("GET", P + "/rfm"): "viewer",
}
RANK = {"viewer": 0, "analyst": 1, "admin": 2}


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers' routes among them."""
    app = create_app(load_settings({"data_dir": "/nonexistent"}, environ={}))
    # FastAPI 0.165 keeps included routers as one entry each; iter_route_contexts opens them.
    expand = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: list[Any] = list(expand(app.routes)) if expand else list(app.routes)
    found: set[tuple[str, str]] = set()
    for route in routes:
        path = getattr(route, "path", None)
        methods = getattr(route, "methods", None) or set()
        assert path is not None, route
        if not methods:  # a mount (the console's files): never under /api
            assert not str(path).startswith("/api"), path
            continue
        found |= {(method, str(path)) for method in methods if method != "HEAD"}
    return found


def test_every_route_has_a_rule() -> None:
    routes = app_routes()
    missing = sorted(r for r in routes if r not in PUBLIC and r not in REQUIRED)
    assert not missing, f"routes without an access rule in this test: {missing}"
    stale = sorted(r for r in set(REQUIRED) | PUBLIC if r not in routes)
    assert not stale, f"rules for routes the app no longer has: {stale}"
    assert not {r for r in routes if r[1].startswith("/api")} & PUBLIC - {
        ("GET", "/api/setup"), ("POST", "/api/setup"), ("POST", "/api/auth/login")}


# --- the callers -----------------------------------------------------------------------------


@dataclass
class Caller:
    name: str
    kind: Literal["session", "key", "local", "anonymous"]
    role: str | None  # in project "shop"
    is_owner: bool = False
    email: str = ""
    headers: dict[str, str] | None = None
    cookies: dict[str, str] | None = None
    csrf: str = ""


PASSWORD = "matrix password"
SESSION_USERS = [("owner", "owner@example.com", "admin", True),
                 ("admin", "admin@example.com", "admin", False),
                 ("analyst", "analyst@example.com", "analyst", False),
                 ("viewer", "viewer@example.com", "viewer", False),
                 ("outsider", "outsider@example.com", None, False)]  # fmt: skip


def login(url: str, email: str, ip: str) -> tuple[dict[str, str], str]:
    response = httpx.post(url + "/api/auth/login", json={"email": email, "password": PASSWORD},
                          headers={"X-Forwarded-For": ip})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"userops_session": response.cookies["userops_session"]}, response.json()["csrf_token"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, list[Caller]]]:
    data_dir = tmp_path_factory.mktemp("matrix") / "data"
    with Runtime.open(load_settings({"data_dir": str(data_dir)}, environ={})) as runtime:
        sessions = runtime.sessions
        shop = create_project(sessions, "shop", "Asia/Shanghai")
        other = create_project(sessions, "other", "UTC")
        ids = {}
        for name, email, role, owner in SESSION_USERS:
            user = users.create_user(sessions, email, name, PASSWORD, is_owner=owner)
            ids[name] = user.id
            if role is not None and not owner:
                users.add_member(sessions, shop.id, user.id, role)
        users.add_member(sessions, other.id, ids["outsider"], "admin")
        viewer_key = create_key(sessions, "shop", "viewer's", user_id=ids["viewer"]).secret
        cli_key = create_key(sessions, "shop", "cli").secret
    server = Server(data_dir)
    server.start()
    try:
        callers = []
        for n, (name, email, role, owner) in enumerate(SESSION_USERS):
            cookies, csrf = login(server.url, email, f"10.9.0.{n + 1}")
            callers.append(Caller(name, "session", role, owner, email, cookies=cookies,
                                  csrf=csrf))  # fmt: skip
        token = read_local_token(data_dir)
        assert token is not None
        callers += [
            Caller("viewer key", "key", "viewer",
                   headers={"Authorization": f"Bearer {viewer_key}"}),
            Caller("cli key", "key", "analyst", headers={"Authorization": f"Bearer {cli_key}"}),
            Caller("local token", "local", "admin", is_owner=True,
                   headers={"Authorization": f"Bearer {token}"}),
            Caller("anonymous", "anonymous", None),
        ]  # fmt: skip
        yield server, callers
    finally:
        server.stop()


def call(server: Server, caller: Caller, method: str, template: str,
         csrf: bool = True) -> httpx.Response:  # fmt: skip
    path = template.replace("{project}", "shop")
    for name in ("user_id", "key_id", "insight_id", "dashboard_id", "person_id", "segment_id",
                 "tag_id"):
        path = path.replace("{" + name + "}", "999999")
    assert "{" not in path, f"the test does not know how to fill {template}"
    headers = dict(caller.headers or {})
    cookies = caller.cookies
    if (method, template) == ("POST", "/api/auth/logout") and caller.kind == "session":
        # Signing out ends the session: sign out a session of its own.
        cookies, token = login(server.url, caller.email, "10.9.1.1")
        caller = Caller(caller.name, caller.kind, caller.role, csrf=token)
    if csrf and caller.csrf and method != "GET":
        headers["X-CSRF-Token"] = caller.csrf
    body = None if method in ("GET", "DELETE") else {}
    return httpx.request(method, server.url + path, headers=headers, cookies=cookies, json=body,
                         timeout=60)  # fmt: skip


def expected(rule: Rule, caller: Caller) -> str:
    """"allowed", or the refusal: "401", "403" or "404" (the project, as if unknown)."""
    if rule == "public":
        return "allowed"
    if caller.kind == "anonymous":
        return "401"
    if rule == "session":
        return "allowed" if caller.kind == "session" else "401"
    if rule == "signed_in":
        return "allowed"
    if rule == "owner":
        return "allowed" if caller.is_owner else "403"
    if caller.role is None:
        return "404"
    return "allowed" if RANK[caller.role] >= RANK[rule] else "403"


def outcome(response: httpx.Response) -> str:
    assert response.status_code < 500, response.text
    body = response.json() if "json" in response.headers.get("content-type", "") else {}
    if response.status_code in (401, 403):
        return str(response.status_code)
    if response.status_code == 404 and isinstance(body, dict) and body.get("field") == "project":
        return "404"
    return "allowed"


API_ROUTES = sorted(r for r in REQUIRED) + sorted(r for r in PUBLIC if r[1].startswith("/api"))


@pytest.mark.parametrize(("method", "template"), API_ROUTES)
def test_each_route_as_each_caller(world: tuple[Server, list[Caller]], method: str,
                                   template: str) -> None:  # fmt: skip
    server, callers = world
    rule: Rule = REQUIRED.get((method, template), "public")
    got = {c.name: outcome(call(server, c, method, template)) for c in callers}
    assert got == {c.name: expected(rule, c) for c in callers}


def test_the_console_page_answers_no_api_path(world: tuple[Server, list[Caller]]) -> None:
    # The console's catch-all route must not turn an API path into a page anyone can load.
    server, _ = world
    for path in ("/api/nope", "/api/projects/shop/nope", "/api/auth/nope"):
        response = httpx.get(server.url + path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path


def test_the_matrix_calls_every_api_route() -> None:
    assert {r for r in app_routes() if r[1].startswith("/api")} == set(API_ROUTES)


@pytest.mark.parametrize(("method", "template"),
                         [r for r in sorted(REQUIRED) if r[0] != "GET"])  # fmt: skip
def test_every_cookie_signed_change_needs_the_csrf_token(
    world: tuple[Server, list[Caller]], method: str, template: str
) -> None:
    server, callers = world
    (owner,) = [c for c in callers if c.name == "owner"]
    response = call(server, owner, method, template, csrf=False)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "CsrfRejected"


def test_refusals_say_why_without_naming_other_projects(
    world: tuple[Server, list[Caller]],
) -> None:
    server, callers = world
    by_name = {c.name: c for c in callers}
    hidden = call(server, by_name["outsider"], "GET", P)
    unknown = httpx.get(server.url + "/api/projects/nope", cookies=by_name["outsider"].cookies)
    assert hidden.json() == {"error": "NotFound", "field": "project",
                             "message": "no project 'shop' for this account"}  # fmt: skip
    assert unknown.json()["message"] == "no project 'nope' for this account"
    low = call(server, by_name["viewer"], "PATCH", P)
    assert low.json()["error"] == "Forbidden"
    assert "admin" in low.json()["message"]
    # Each caller lists only the projects it may see.
    listed = {c.name: sorted(p["name"] for p in call(server, c, "GET", "/api/projects").json())
              for c in callers if c.kind != "anonymous"}  # fmt: skip
    assert listed == {"owner": ["other", "shop"], "admin": ["shop"], "analyst": ["shop"],
                      "viewer": ["shop"], "outsider": ["other"], "viewer key": ["shop"],
                      "cli key": ["shop"], "local token": ["other", "shop"]}  # fmt: skip


def test_settings_show_the_write_key_to_admins_only(world: tuple[Server, list[Caller]]) -> None:
    server, callers = world
    seen = {c.name: call(server, c, "GET", P).json().get("write_key") for c in callers
            if c.role is not None}  # fmt: skip
    assert all(seen[name] for name in ("owner", "admin", "local token"))
    assert all(seen[name] is None for name in ("analyst", "viewer", "viewer key", "cli key"))
