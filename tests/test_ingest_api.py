"""The Segment HTTP Tracking API in process: auth, limits, per-event errors, durability paths.

Leaving the TestClient block shuts the app down, which flushes the ingestion log into the event
store; the runtime fixture stays open to read what was stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from userops.config import Settings, load_settings
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.store import rows
from userops.web.server import create_app

UTC = dt.UTC


def auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def track(n: int, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "view_item", "anonymousId": f"anon-{n}",
            "messageId": f"m-{n}", "timestamp": "2026-11-20T10:00:00+08:00", **extra}  # fmt: skip


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client


def stored(runtime: Runtime, columns: str = "message_id") -> list[tuple[Any, ...]]:
    return rows(runtime.store, f"SELECT {columns} FROM events ORDER BY message_id")  # noqa: S608


def test_batch_is_stored_after_shutdown_flush(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    with TestClient(create_app(settings, runtime)) as client:
        response = client.post("/v1/batch", json={"batch": [track(1), track(2)]},
                               headers=auth(project.write_key))  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "status": 1, "accepted": 2}
    assert stored(runtime, "message_id, event, distinct_id, timestamp") == [
        ("m-1", "view_item", "anon-1", dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        ("m-2", "view_item", "anon-2", dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
    ]


def test_write_key_in_body_and_per_call_endpoints(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    with TestClient(create_app(settings, runtime)) as client:
        for call, body in [
            ("track", {"event": "search", "userId": "u1", "messageId": "t"}),
            ("identify", {"userId": "u1", "anonymousId": "a1", "traits": {"city": "上海"},
                          "messageId": "i"}),
            ("page", {"anonymousId": "a1", "name": "Home", "messageId": "p"}),
            ("screen", {"anonymousId": "a1", "name": "Cart", "messageId": "s"}),
            ("group", {"userId": "u1", "groupId": "g1", "messageId": "g"}),
            ("alias", {"userId": "u1", "previousId": "old", "messageId": "al"}),
        ]:  # fmt: skip
            response = client.post(f"/v1/{call}", json={**body, "writeKey": project.write_key})
            assert response.status_code == 200, (call, response.text)
    got = dict(stored(runtime, "message_id, event"))
    assert got == {"t": "search", "i": "$identify", "p": "$pageview", "s": "$screen",
                   "g": "$groupidentify", "al": "$create_alias"}  # fmt: skip
    # identify linked a1 to u1 and alias linked old to u1: one person for all three ids.
    persons = rows(runtime.store, "SELECT uniqExact(person_id) FROM events")
    assert persons == [(1,)]


def test_the_browser_sdks_one_letter_paths_take_their_call_type(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    # analytics.js posts track to /v1/t, page to /v1/p and so on, as text/plain to skip CORS
    # preflights; each path must take its own call type.
    with TestClient(create_app(settings, runtime)) as client:
        for path, body in [
            ("t", {"event": "search", "anonymousId": "a1", "messageId": "t"}),
            ("p", {"anonymousId": "a1", "name": "Home", "messageId": "p"}),
            ("i", {"userId": "u1", "anonymousId": "a1", "messageId": "i"}),
        ]:  # fmt: skip
            response = client.post(
                f"/v1/{path}", content=json.dumps({**body, "writeKey": project.write_key}),
                headers={"Content-Type": "text/plain"},
            )  # fmt: skip
            assert response.status_code == 200, (path, response.text)
    got = dict(stored(runtime, "message_id, event"))
    assert got == {"t": "search", "p": "$pageview", "i": "$identify"}


@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": "Basic !!!"},
                                     {"Authorization": "Bearer x"}])  # fmt: skip
def test_missing_or_wrong_key_is_401_and_says_nothing_else(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    response = client.post("/v1/batch", json={"batch": [track(1)]}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] in ("missing write key", "invalid write key")
    assert project.name not in response.text


def test_per_event_errors_come_back_by_index_and_valid_events_are_kept(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    batch = [
        track(1),
        {"type": "track", "anonymousId": "x", "messageId": "no-event"},
        track(3, timestamp="yesterday"),
        "not an object",
        track(5, userId=["a", "list"]),
        track(6, timestamp="2099-01-01T00:00:00Z"),
        track(7, properties={"deep": nested(40)}),
        track(8),
    ]
    with TestClient(create_app(settings, runtime)) as client:
        response = client.post("/v1/batch", json={"batch": batch}, headers=auth(project.write_key))
        assert response.status_code == 200
        body = response.json()
    assert body["accepted"] == 2
    by_index = {e["index"]: e for e in body["errors"]}
    assert sorted(by_index) == [1, 2, 3, 4, 5, 6]
    assert by_index[1]["field"] == "event"
    assert by_index[2]["field"] == "timestamp"
    assert by_index[3]["field"] == "(message)"
    assert by_index[4]["field"] == "userId"
    assert by_index[5]["field"] == "timestamp" and "future" in by_index[5]["reason"]
    assert by_index[6]["field"] == "properties" and "nested" in by_index[6]["reason"]
    assert stored(runtime) == [("m-1",), ("m-8",)]


def test_nothing_valid_is_400(client: TestClient, project: Project) -> None:
    response = client.post("/v1/batch", json={"batch": [{"type": "track"}]},
                           headers=auth(project.write_key))  # fmt: skip
    assert response.status_code == 400
    assert response.json()["errors"][0]["index"] == 0


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {}, 400),
        (b"[1, 2]", {}, 400),
        (b'{"batch": {"a": 1}}', {}, 400),
        (b"\xff\xfe", {}, 400),
        (b"not gzip at all", {"Content-Encoding": "gzip"}, 400),
        (gzip.compress(b'{"batch": []}')[:-5], {"Content-Encoding": "gzip"}, 400),
        (b"{}", {"Content-Encoding": "br"}, 415),
    ],
)
def test_bad_bodies_are_4xx(
    client: TestClient, project: Project, body: bytes, headers: dict[str, str], status: int
) -> None:
    response = client.post("/v1/batch", content=body,
                           headers={**auth(project.write_key), **headers})  # fmt: skip
    assert response.status_code == status, response.text
    assert response.json()["error"]


def test_oversize_batch_and_gzip_bomb_are_413_naming_the_limit(
    client: TestClient, project: Project, settings: Settings
) -> None:
    big = b'{"batch": [' + b",".join([b'{"type":"track","event":"x"}'] * 30000) + b"]}"
    assert len(big) > settings.max_batch_bytes
    zipped = {"Content-Encoding": "gzip"}
    bomb = gzip.compress(b" " * 50_000_000)  # 50 MB of spaces in about 50 KB
    for body, headers in [(big, {}), (gzip.compress(big), zipped), (bomb, zipped)]:
        response = client.post("/v1/batch", content=body,
                               headers={**auth(project.write_key), **headers})  # fmt: skip
        assert response.status_code == 413
        assert response.json()["limit"] == "max_batch_bytes"


def test_oversize_event_is_refused_by_index(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    huge = track(2, properties={"blob": "x" * (settings.max_event_bytes + 1)})
    with TestClient(create_app(settings, runtime)) as client:
        response = client.post("/v1/batch", json={"batch": [track(1), huge]},
                               headers=auth(project.write_key))  # fmt: skip
    assert response.json()["errors"][0]["index"] == 1
    assert "byte limit" in response.json()["errors"][0]["reason"]
    assert stored(runtime) == [("m-1",)]


def test_gzip_body_is_accepted(settings: Settings, runtime: Runtime, project: Project) -> None:
    import orjson

    with TestClient(create_app(settings, runtime)) as client:
        response = client.post(
            "/v1/batch", content=gzip.compress(orjson.dumps({"batch": [track(1)]})),
            headers={**auth(project.write_key), "Content-Encoding": "gzip"},
        )  # fmt: skip
        assert response.status_code == 200
    assert stored(runtime) == [("m-1",)]


def test_every_batch_sent_twice_is_stored_once_even_across_restarts(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    batches = [[track(n), track(n + 1000)] for n in range(5)]
    no_id = {"type": "track", "event": "tap", "anonymousId": "z",
             "timestamp": "2026-11-20T00:00:00Z"}  # fmt: skip
    for _ in range(2):  # the second round is a new server on the same data directory
        with TestClient(create_app(settings, runtime)) as client:
            for batch in batches:
                for _ in range(2):
                    response = client.post("/v1/batch", json={"batch": [*batch, no_id]},
                                           headers=auth(project.write_key))  # fmt: skip
                    assert response.status_code == 200
    got = stored(runtime)
    assert len(got) == len(set(got)) == 11


def test_clock_skew_is_corrected_from_sent_at(
    settings: Settings, runtime: Runtime, project: Project
) -> None:
    # The device clock is two days fast: both its times are, so the gap between them is real.
    now = dt.datetime.now(UTC)
    skewed = now + dt.timedelta(days=2)
    message = {"type": "track", "event": "tap", "anonymousId": "a", "messageId": "skew",
               "originalTimestamp": (skewed - dt.timedelta(seconds=30)).isoformat(),
               "sentAt": skewed.isoformat()}  # fmt: skip
    with TestClient(create_app(settings, runtime)) as client:
        response = client.post("/v1/batch", json={"batch": [message]},
                               headers=auth(project.write_key))  # fmt: skip
        assert response.status_code == 200, response.text
    ((timestamp, received),) = stored(runtime, "timestamp, received_at")
    assert abs((received - timestamp) - dt.timedelta(seconds=30)) < dt.timedelta(seconds=1)


def test_client_ip_only_when_the_project_allows_it(data_dir: Any, settings: Settings) -> None:
    with Runtime.open(settings) as runtime:
        closed = create_project(runtime.sessions, "closed", "Asia/Shanghai")
        open_ = create_project(runtime.sessions, "open", "Asia/Shanghai")
        with runtime.sessions.begin() as session:
            session.get(Project, open_.id).store_client_ip = True  # type: ignore[union-attr]
        with TestClient(create_app(settings, runtime)) as client:
            for project in (closed, open_):
                sent = track(1, context={"ip": "203.0.113.9"})
                client.post("/v1/batch", json={"batch": [sent, track(2)]},
                            headers=auth(project.write_key))  # fmt: skip
        got = rows(runtime.store, "SELECT project_id, message_id, JSONExtractString(context, 'ip')"
                                  " FROM events ORDER BY project_id, message_id")  # fmt: skip
    assert got == [
        (closed.id, "m-1", ""),  # PIPL: not kept, even when the client sent it
        (closed.id, "m-2", ""),
        # Allowed: an IP a server-side SDK sends for its end user is kept, as Segment does;
        # otherwise the connection's address.
        (open_.id, "m-1", "203.0.113.9"),
        (open_.id, "m-2", "testclient"),
    ]


def test_metrics_and_health(settings: Settings, runtime: Runtime, project: Project) -> None:
    with TestClient(create_app(settings, runtime)) as client:
        client.post("/v1/batch", json={"batch": [track(1), {"type": "track"}]},
                    headers=auth(project.write_key))  # fmt: skip
        client.post("/v1/batch", json={"batch": []})
        text = client.get("/metrics").text
        health = client.get("/healthz").json()
    assert "userops_ingest_received_events_total 2.0" in text
    assert "userops_ingest_accepted_events_total 1.0" in text
    assert 'userops_ingest_rejected_events_total{reason="invalid"} 1.0' in text
    assert 'userops_ingest_refused_requests_total{reason="auth"} 1.0' in text
    assert "userops_ingest_log_backlog_bytes" in text
    assert health["status"] == "ok"
    assert set(health["ingestion_log"]) == {"backlog_bytes", "flush_error"}


def test_settings_limits_apply(data_dir: Any) -> None:
    settings = load_settings({"data_dir": str(data_dir), "max_batch_bytes": "1000"}, environ={})
    with Runtime.open(settings) as runtime:
        project = create_project(runtime.sessions, "shop", "Asia/Shanghai")
        with TestClient(create_app(settings, runtime)) as client:
            response = client.post("/v1/batch", json={"batch": [track(n) for n in range(20)]},
                                   headers=auth(project.write_key))  # fmt: skip
    assert response.status_code == 413
    assert response.json()["max_bytes"] == 1000


def test_fast_and_general_batch_paths_agree(data_dir: Any, settings: Settings) -> None:
    """A batch without shared context is validated from its bytes; with one, as dicts. Both
    must store the same events and refuse the same ones for the same reasons."""
    now = dt.datetime.now(UTC)
    ua = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")  # fmt: skip
    batch = [
        track(1, context={"userAgent": ua, "ip": "198.51.100.1", "locale": "zh-CN"}),
        {"type": "identify", "userId": "u", "anonymousId": "anon-1", "traits": {"vip": True},
         "timestamp": "2026-11-20T00:00:00Z"},  # no messageId: derived from the content
        {"type": "track", "event": "skewed", "anonymousId": "s", "messageId": "skew",
         "originalTimestamp": (now + dt.timedelta(days=3, seconds=-5)).isoformat(),
         "sentAt": (now + dt.timedelta(days=3)).isoformat()},
        track(4, properties={"big": 12345678901234567890}),
        {"type": "track", "anonymousId": "x"},
        track(6, timestamp="2026-02-30T00:00:00Z"),
        [1, 2],
    ]  # fmt: skip
    with Runtime.open(settings) as runtime:
        fast = create_project(runtime.sessions, "fast", "Asia/Shanghai")
        general = create_project(runtime.sessions, "general", "Asia/Shanghai")
        with TestClient(create_app(settings, runtime)) as client:
            answers = [
                client.post("/v1/batch", json={"batch": batch}, headers=auth(fast.write_key)),
                client.post("/v1/batch", json={"batch": batch, "context": {}},
                            headers=auth(general.write_key)),
            ]  # fmt: skip
        columns = ("message_id, type, event, distinct_id, timestamp, properties, traits, context, "
                   "os, browser, device_type")  # fmt: skip
        stored_by = [
            rows(runtime.store, f"SELECT {columns} FROM events WHERE project_id = {{p:UInt32}} "  # noqa: S608
                                "ORDER BY message_id", {"p": project.id})
            for project in (fast, general)
        ]  # fmt: skip
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["accepted"] == 4
    fast_rows, general_rows = stored_by
    assert len(fast_rows) == 4
    for mine, theirs in zip(fast_rows, general_rows, strict=True):
        # Same content; JSON text may differ in spacing only, and the skew-corrected time by
        # the moments the two requests arrived.
        assert mine[:4] == theirs[:4]
        assert [orjson.loads(v or "{}") for v in mine[5:8]] == [
            orjson.loads(v or "{}") for v in theirs[5:8]]  # fmt: skip
        assert mine[8:] == theirs[8:]
        assert abs(mine[4] - theirs[4]) < dt.timedelta(seconds=5)


def test_health_says_when_the_store_is_down(
    settings: Settings, runtime: Runtime, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from userops.store.embedded import StoreError

    with TestClient(create_app(settings, runtime)) as client:
        assert client.get("/healthz").json()["status"] == "ok"

        def broken(*_: Any, **__: Any) -> Any:
            raise StoreError("event store (chDB): disk full")

        monkeypatch.setattr(runtime.store, "arrow", broken)
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "disk full" in response.json()["event_store_error"]
        monkeypatch.undo()


def test_browsers_may_send_events_cross_origin_but_not_call_the_api(
    client: TestClient, project: Project
) -> None:
    origin = {"Origin": "https://shop.example.com"}
    preflight = {**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}  # fmt: skip
    for path in ("/v1/t", "/v1/batch", "/e/", "/batch/"):
        answer = client.options(path, headers=preflight)
        assert answer.status_code == 200, path
        assert answer.headers["access-control-allow-origin"] == "*"
    sent = client.post("/v1/t", headers={**origin, "Content-Type": "text/plain"},
                       content=json.dumps({"event": "x", "anonymousId": "a",
                                           "writeKey": project.write_key}))  # fmt: skip
    assert sent.status_code == 200
    assert sent.headers["access-control-allow-origin"] == "*"
    # The console's API is same-origin only: no CORS header, so no cross-site script reads it.
    for path in ("/api/auth/me", "/api/projects"):
        answer = client.get(path, headers=origin)
        assert "access-control-allow-origin" not in answer.headers, path
    refused = client.options("/api/auth/login", headers=preflight)
    assert "access-control-allow-origin" not in refused.headers
