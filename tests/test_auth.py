"""Signing in to the console on a real `userops serve`: first-start setup (once only), login and
logout, the cookie's flags, CSRF refusals, the failed-login limit; and, in-process, argon2 hashes,
rehashing, session expiry and sliding, and the limit surviving a restart."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select, update

from server_helpers import Server
from userops.config import Settings, load_settings
from userops.errors import Conflict, RateLimited, Unauthorized
from userops.meta import users
from userops.meta.keys import create_key
from userops.meta.models import LoginFailure, User, WebSession
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.web.server import create_app

OWNER = {"email": "Ana@Example.com", "name": "Ana", "password": "correct horse battery"}
SPEC = {"kind": "trends", "series": [{"event": "view"}],
        "date_range": {"start": "2026-11-01", "end": "2026-11-02"}}  # fmt: skip


def settings_of(data_dir: Path, meta_url: str = "") -> Settings:
    return load_settings({"data_dir": str(data_dir), "database_url": meta_url}, environ={})


class Setup:
    """The server, what GET /api/setup said before setup, and the setup's answer."""

    def __init__(self, server: Server, before: dict[str, Any], response: httpx.Response) -> None:
        self.server, self.before, self.response = server, before, response
        self.url = server.url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    data_dir = tmp_path_factory.mktemp("auth") / "data"
    with Runtime.open(settings_of(data_dir)) as runtime:
        create_project(runtime.sessions, "shop", "Asia/Shanghai")
    server = Server(data_dir)
    server.start()
    try:
        before = httpx.get(server.url + "/api/setup").json()
        response = httpx.post(server.url + "/api/setup", json=OWNER)
        yield Setup(server, before, response)
    finally:
        server.stop()


def login(url: str, email: str, password: str, ip: str, **kwargs: Any) -> httpx.Response:
    # uvicorn takes the client's address from X-Forwarded-For when the peer is 127.0.0.1 (a
    # reverse proxy on the same machine): each test signs in from an address of its own, so
    # the per-address limit of one test never refuses another's sign-ins.
    headers = {"X-Forwarded-For": ip, **kwargs.pop("headers", {})}
    return httpx.post(url + "/api/auth/login", json={"email": email, "password": password},
                      headers=headers, **kwargs)  # fmt: skip


def signed_in(setup: Setup, ip: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=setup.url)
    response = client.post("/api/auth/login", json={"email": OWNER["email"],
                           "password": OWNER["password"]}, headers={"X-Forwarded-For": ip})
    assert response.status_code == 200, response.text
    return client, response.json()["csrf_token"]


# --- setup -----------------------------------------------------------------------------------


def test_setup_creates_the_owner_once_and_signs_in(served: Setup) -> None:
    assert served.before == {"needs_setup": True}
    response = served.response
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == "ana@example.com"  # lowercased
    assert body["user"]["is_owner"] is True
    assert set(body["user"]) == {"id", "email", "name", "is_owner", "created_at",
                                 "last_login_at"}  # fmt: skip
    assert len(body["csrf_token"]) >= 40
    assert "userops_session" in response.cookies
    me = httpx.get(served.url + "/api/auth/me", cookies=response.cookies).json()
    assert me["user"] == body["user"] and me["csrf_token"] == body["csrf_token"]
    assert me["projects"] == [{"name": "shop", "timezone": "Asia/Shanghai", "role": "admin"}]

    assert httpx.get(served.url + "/api/setup").json() == {"needs_setup": False}
    again = httpx.post(served.url + "/api/setup", json={**OWNER, "email": "eve@example.com"})
    assert (again.status_code, again.json()["error"]) == (409, "Conflict")
    assert "userops_session" not in again.cookies


def test_setup_and_login_take_json_only(served: Setup) -> None:
    for path in ("/api/setup", "/api/auth/login"):
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"Content-Type": content_type} if content_type else {}
            response = httpx.post(served.url + path, headers=headers,
                                  content=b'{"email": "a@b.c", "password": "p"}')  # fmt: skip
            assert response.status_code == 400, (path, content_type)
            assert response.json()["field"] == "Content-Type"


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "name": "N", "password": "long enough"}, "email"),
    ({"email": "a@b.c", "name": "N", "password": "short"}, "password"),
    ({"email": "a@b.c", "name": "N", "password": "x" * 257}, "password"),
    ({"email": "a@b.c", "password": "long enough"}, "name"),
])  # fmt: skip
def test_bad_setup_bodies_name_the_field(tmp_path: Path, body: dict[str, str], field: str) -> None:
    settings = settings_of(tmp_path / "data")
    with Runtime.open(settings) as runtime, TestClient(create_app(settings, runtime)) as client:
        response = client.post("/api/setup", json=body)
        assert (response.status_code, response.json()["field"]) == (400, field)
        assert client.get("/api/setup").json() == {"needs_setup": True}  # nothing was created


# --- login, cookie, logout -------------------------------------------------------------------


def test_login_sets_an_http_only_same_site_cookie(served: Setup) -> None:
    response = login(served.url, "ANA@example.com ", OWNER["password"], "10.0.1.1")
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert flags[0].startswith("userops_session=")
    assert {"httponly", "samesite=lax", "path=/"} <= set(flags)
    assert "secure" not in flags  # plain http here; see the https test
    assert f"max-age={14 * 86400}" in flags
    body = response.json()
    assert body["user"]["last_login_at"] is not None
    assert body["csrf_token"] not in cookie


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    settings = settings_of(tmp_path / "data")
    with Runtime.open(settings) as runtime, \
            TestClient(create_app(settings, runtime), base_url="https://testserver") as client:
        response = client.post("/api/setup", json=OWNER)
        assert response.status_code == 201
        assert "secure" in [p.strip().lower() for p in response.headers["set-cookie"].split(";")]


def test_a_wrong_email_and_a_wrong_password_get_one_answer(served: Setup) -> None:
    wrong_password = login(served.url, OWNER["email"], "wrong password", "10.0.2.1")
    wrong_email = login(served.url, "nobody@example.com", OWNER["password"], "10.0.2.1")
    assert wrong_password.status_code == wrong_email.status_code == 401
    assert wrong_password.json() == wrong_email.json() == {
        "error": "Unauthorized", "message": "wrong email or password"}
    assert "userops_session" not in wrong_password.cookies


def test_logout_ends_the_session(served: Setup) -> None:
    client, csrf = signed_in(served, "10.0.3.1")
    token = client.cookies["userops_session"]
    assert client.get("/api/auth/me").status_code == 200
    refused = client.post("/api/auth/logout")  # no CSRF token
    assert (refused.status_code, refused.json()["error"]) == (403, "CsrfRejected")
    assert client.get("/api/auth/me").status_code == 200  # still signed in
    response = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert 'userops_session=""' in response.headers["set-cookie"]
    assert "max-age=0" in response.headers["set-cookie"].lower()
    # The old token is dead on the server, not just forgotten by this browser.
    stale = httpx.get(served.url + "/api/auth/me", cookies={"userops_session": token})
    assert stale.status_code == 401
    assert "expired or was signed out" in stale.json()["message"]


def test_me_needs_a_session(served: Setup) -> None:
    assert httpx.get(served.url + "/api/auth/me").status_code == 401
    forged = httpx.get(served.url + "/api/auth/me", cookies={"userops_session": "x" * 43})
    assert forged.status_code == 401


# --- CSRF ------------------------------------------------------------------------------------


def test_a_cookie_signed_change_needs_the_csrf_token(served: Setup) -> None:
    client, csrf = signed_in(served, "10.0.4.1")
    keys = "/api/projects/shop/keys"
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": csrf[:-1]},
                    {"X-CSRF-Token": ""}):  # fmt: skip
        response = client.post(keys, json={"name": "ci"}, headers=headers)
        assert response.status_code == 403, headers
        assert response.json()["error"] == "CsrfRejected"
        assert response.json()["field"] == "X-CSRF-Token"
    # Nothing was created by the refused requests.
    assert client.get(keys).json() == []
    accepted = client.post(keys, json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201, accepted.text
    assert [k["name"] for k in client.get(keys).json()] == ["ci"]
    # Another session's token does not do either.
    _, other_csrf = signed_in(served, "10.0.4.2")
    crossed = client.post(keys, json={"name": "x"}, headers={"X-CSRF-Token": other_csrf})
    assert crossed.status_code == 403


def test_the_query_takes_the_session_with_its_csrf_token(served: Setup) -> None:
    client, csrf = signed_in(served, "10.0.5.1")
    query = "/api/projects/shop/query"
    assert client.post(query, json=SPEC).status_code == 403
    response = client.post(query, json=SPEC, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "trends"


def test_bearer_requests_need_no_csrf_token(served: Setup) -> None:
    client, csrf = signed_in(served, "10.0.6.1")
    created = client.post("/api/projects/shop/keys", json={"name": "script"},
                          headers={"X-CSRF-Token": csrf}).json()  # fmt: skip
    bearer = {"Authorization": f"Bearer {created['secret']}"}
    response = httpx.post(served.url + "/api/projects/shop/query", json=SPEC, headers=bearer)
    assert response.status_code == 200, response.text
    # The key is the owner's: it lists as such, and the owner's role goes with it.
    listed = httpx.get(served.url + "/api/projects/shop/keys", headers=bearer).json()
    assert {"script": "ana@example.com"}.items() <= {k["name"]: k["user_email"]
                                                     for k in listed}.items()  # fmt: skip


# --- the failed-login limit ------------------------------------------------------------------


def test_five_failures_for_an_email_refuse_even_the_right_password(served: Setup) -> None:
    email, ip = "limited@example.com", "10.0.7.1"
    # The owner adds the account the test locks out.
    client, csrf = signed_in(served, "10.0.7.9")
    added = client.post("/api/projects/shop/members", headers={"X-CSRF-Token": csrf},
                        json={"email": email, "role": "viewer", "name": "Li",
                              "password": "the right one"})  # fmt: skip
    assert added.status_code == 201, added.text
    for _ in range(5):
        assert login(served.url, email, "a wrong guess", ip).status_code == 401
    for from_ip in (ip, "10.0.7.2"):  # the email is limited from any address
        refused = login(served.url, email, "the right one", from_ip)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "RateLimited"
        assert "userops_session" not in refused.cookies
        wait = int(refused.headers["retry-after"])
        assert 800 < wait <= 15 * 60
        assert str(wait) in refused.json()["message"]
    # Other accounts from the same address still sign in (5 < 20 failures from it).
    assert login(served.url, OWNER["email"], OWNER["password"], ip).status_code == 200


def test_twenty_failures_from_an_address_refuse_every_email(served: Setup) -> None:
    ip = "10.0.8.1"
    for n in range(20):
        assert login(served.url, f"guess{n}@example.com", "nope nope", ip).status_code == 401
    refused = login(served.url, OWNER["email"], OWNER["password"], ip)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    # The owner is not locked out from elsewhere: the address is limited, not the account.
    assert login(served.url, OWNER["email"], OWNER["password"], "10.0.8.2").status_code == 200


# --- in-process: hashes, sessions, the limit's store -----------------------------------------


@pytest.fixture
def rt(tmp_path: Path, meta_url: str) -> Iterator[Runtime]:
    with Runtime.open(settings_of(tmp_path / "data", meta_url)) as runtime:
        yield runtime


def every_stored_value(runtime: Runtime) -> list[str]:
    engine = runtime.sessions.kw["bind"]
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as conn:
        return [str(value) for table in reflected.sorted_tables
                for row in conn.execute(select(table)) for value in row]  # fmt: skip


def test_passwords_are_stored_as_argon2id_hashes_only(rt: Runtime) -> None:
    password = "a very secret phrase"
    user = users.create_user(rt.sessions, "Bo@Example.com", " Bo ", password)
    assert (user.email, user.name) == ("bo@example.com", "Bo")
    signed = users.create_session(rt.sessions, user.id)
    stored = every_stored_value(rt)
    assert not any(password in value for value in stored)
    assert not any(signed.token in value for value in stored)  # sessions: only the hash
    assert hashlib.sha256(signed.token.encode()).hexdigest() in stored
    (hashed,) = [v for v in stored if v.startswith("$argon2")]
    assert hashed.startswith("$argon2id$")
    assert PasswordHasher().verify(hashed, password)
    assert users.authenticate(rt.sessions, "bo@example.COM", password, "1.2.3.4").id == user.id


def test_an_old_hash_is_replaced_at_the_next_sign_in(rt: Runtime) -> None:
    user = users.create_user(rt.sessions, "c@example.com", "C", "first password")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("first password")
    with rt.sessions.begin() as session:
        session.execute(update(User).where(User.id == user.id).values(password_hash=weak))
    users.authenticate(rt.sessions, "c@example.com", "first password", "1.2.3.4")
    with rt.sessions() as session:
        rehashed = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert rehashed is not None and rehashed != weak
    assert not PasswordHasher().check_needs_rehash(rehashed)
    assert users.authenticate(rt.sessions, "c@example.com", "first password", "1.2.3.4")


def test_a_duplicate_email_is_a_conflict(rt: Runtime) -> None:
    users.create_user(rt.sessions, "d@example.com", "D", "password one")
    with pytest.raises(Conflict, match="already exists"):
        users.create_user(rt.sessions, "D@EXAMPLE.com", "D2", "password two")


def test_a_disabled_user_neither_signs_in_nor_keeps_a_session(rt: Runtime) -> None:
    user = users.create_user(rt.sessions, "e@example.com", "E", "password one")
    signed = users.create_session(rt.sessions, user.id)
    assert users.lookup_session(rt.sessions, signed.token) is not None
    with rt.sessions.begin() as session:
        session.execute(update(User).where(User.id == user.id).values(
            disabled_at=dt.datetime.now(dt.UTC)))  # fmt: skip
    assert users.lookup_session(rt.sessions, signed.token) is None
    with pytest.raises(Unauthorized, match="wrong email or password"):
        users.authenticate(rt.sessions, "e@example.com", "password one", "1.2.3.4")


def test_sessions_expire_and_slide(rt: Runtime) -> None:
    user = users.create_user(rt.sessions, "f@example.com", "F", "password one")
    signed = users.create_session(rt.sessions, user.id)
    now = dt.datetime.now(dt.UTC)
    first = users.lookup_session(rt.sessions, signed.token)
    assert first is not None
    assert abs(first[0].expires_at - (now + dt.timedelta(days=14))) < dt.timedelta(minutes=1)
    # Seen ten days ago: this use moves the expiry fourteen days past now.
    with rt.sessions.begin() as session:
        session.execute(update(WebSession).values(
            last_seen_at=now - dt.timedelta(days=10), expires_at=now + dt.timedelta(days=4)))
    slid = users.lookup_session(rt.sessions, signed.token)
    assert slid is not None and slid[0].expires_at > now + dt.timedelta(days=13)
    # Past its expiry it is gone, and stays gone.
    with rt.sessions.begin() as session:
        session.execute(update(WebSession).values(expires_at=now - dt.timedelta(seconds=1)))
    assert users.lookup_session(rt.sessions, signed.token) is None
    with rt.sessions() as session:
        assert session.scalar(select(WebSession)) is None


def test_the_limit_survives_a_restart_and_ages_out(tmp_path: Path, meta_url: str) -> None:
    settings = settings_of(tmp_path / "data", meta_url)
    with Runtime.open(settings) as runtime:
        users.create_user(runtime.sessions, "g@example.com", "G", "password one")
        for _ in range(users.FAILURES_PER_EMAIL):
            with pytest.raises(Unauthorized):
                users.authenticate(runtime.sessions, "g@example.com", "wrong one", "1.1.1.1")
    with Runtime.open(settings) as runtime:
        with pytest.raises(RateLimited) as limited:
            users.authenticate(runtime.sessions, "g@example.com", "password one", "2.2.2.2")
        assert 0 < limited.value.retry_after <= 900
        # Fifteen minutes later the failures count no more.
        with runtime.sessions.begin() as session:
            session.execute(update(LoginFailure).values(
                at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15, seconds=1)))  # fmt: skip
        assert users.authenticate(runtime.sessions, "g@example.com", "password one", "2.2.2.2")


def test_retry_after_counts_from_the_oldest_failure_that_still_counts(rt: Runtime) -> None:
    now = dt.datetime.now(dt.UTC)
    with rt.sessions.begin() as session:  # failures 14, 10, 9, 8, 7 and 1 minutes ago
        for minutes in (14, 10, 9, 8, 7, 1):
            session.add(LoginFailure(email="h@example.com", client_ip="9.9.9.9",
                                     at=now - dt.timedelta(minutes=minutes)))  # fmt: skip
    wait = users.login_limited(rt.sessions, "h@example.com", "8.8.8.8")
    # Six failures: the limit lifts when the fifth newest (10 minutes ago) ages out.
    assert wait is not None and 4 * 60 <= wait <= 5 * 60 + 1


def test_a_key_of_a_removed_member_opens_nothing(rt: Runtime) -> None:
    project = create_project(rt.sessions, "shop", "UTC")
    user = users.create_user(rt.sessions, "k@example.com", "K", "password one")
    users.add_member(rt.sessions, project.id, user.id, "viewer")
    secret = create_key(rt.sessions, "shop", "mine", user_id=user.id).secret
    with TestClient(create_app(rt.settings, rt)) as client:
        bearer = {"Authorization": f"Bearer {secret}"}
        allowed = client.post("/api/projects/shop/query", json=SPEC, headers=bearer)
        assert allowed.status_code == 200, allowed.text
        users.remove_member(rt.sessions, project.id, user.id)
        response = client.post("/api/projects/shop/query", json=SPEC, headers=bearer)
        assert (response.status_code, response.json()["field"]) == (404, "project")
