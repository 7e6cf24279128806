"""The query API on a real `userops serve`: keys made by the CLI, every refusal's exact body,
results equal to running the spec in-process, OpenAPI, and queries while events stream in."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cli_helpers import ok
from server_helpers import Server
from userops.analysis.query import KINDS, parse_result, parse_spec, run_query
from userops.config import Settings, load_settings
from userops.errors import BadRequest
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.keys import create_key, read_local_token, revoke_key
from userops.meta.projects import create_project, get_project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict
from userops.web.server import create_app

SPEC: dict[str, Any] = {
    "kind": "trends",
    "series": [{"event": "view"}, {"event": "view", "math": "unique_persons"}],
    "date_range": {"start": "2026-11-01", "end": "2026-11-03"},
}
# Shanghai days: d1 views twice on the 1st; d2 once on the 2nd (16:30 UTC) and once after the
# range. "other" has a view on the 1st that must not count for "shop".
EVENTS = {
    "shop": [("view", "d1", "2026-11-01T01:00:00+08:00"),
             ("view", "d1", "2026-11-01T23:59:00+08:00"),
             ("view", "d2", "2026-11-01T16:30:00Z"), ("view", "d2", "2026-11-05T00:00:00Z"),
             ("pay", "d1", "2026-11-02T10:00:00+08:00")],
    "other": [("view", "o1", "2026-11-01T12:00:00+08:00")],
}  # fmt: skip
EXPECTED = {"buckets": ["2026-11-01", "2026-11-02", "2026-11-03"],
            "values": [[2.0, 1.0, 0.0], [1.0, 1.0, 0.0]], "totals": [3.0, 2.0]}  # fmt: skip


def settings_of(data_dir: Path) -> Settings:
    return load_settings({"data_dir": str(data_dir)}, environ={})


def load_events(runtime: Runtime) -> None:
    """Both projects and their events, in one opening of the data directory."""
    received = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    for name, events in EVENTS.items():
        project = create_project(runtime.sessions, name, "Asia/Shanghai")
        messages = [message_from_dict({"type": "track", "event": e, "anonymousId": d,
                                       "messageId": f"{name}-{n}", "timestamp": t})
                    for n, (e, d, t) in enumerate(events)]  # fmt: skip
        Ingestor(runtime.sessions, runtime.store, project.id).ingest(
            message_columns(messages, project.id, received)
        )


def prepare(data_dir: Path) -> dict[str, str]:
    """The events, and a key per project: the one for "shop" made by `userops keys create`."""
    with Runtime.open(settings_of(data_dir)) as runtime:
        load_events(runtime)
        keys = {"other": create_key(runtime.sessions, "other").secret}
    created = ok("keys", "create", "--project", "shop", "--name", "tests", "--data-dir", data_dir)
    keys["shop"] = created.stdout.strip()
    return keys


def post(url: str, key: str | None, body: Any = SPEC, project: str = "shop",
         **kwargs: Any) -> httpx.Response:  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kwargs.pop("headers", {}))
    if "content" not in kwargs:
        kwargs["json"] = body
    return httpx.post(f"{url}/api/projects/{project}/query", headers=headers, timeout=120,
                      **kwargs)  # fmt: skip


def without_userops_environment(mp: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("USEROPS_")]:
        mp.delenv(name)


@pytest.fixture(autouse=True)
def _no_userops_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    without_userops_environment(monkeypatch)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("query-api")
    with pytest.MonkeyPatch.context() as mp:
        without_userops_environment(mp)
        keys = prepare(tmp / "data")
    server = Server(tmp / "data")
    server.start()
    try:
        yield server, keys
    finally:
        if server.process and server.process.poll() is None:
            server.stop()


def check_expected(result: Any) -> None:
    assert result.buckets == EXPECTED["buckets"]
    assert [s.values for s in result.series] == EXPECTED["values"]
    assert [s.total for s in result.series] == EXPECTED["totals"]


# --- answers ---------------------------------------------------------------------------------


def test_a_key_made_by_the_cli_runs_the_spec(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    response = post(server.url, keys["shop"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    check_expected(parse_result(response.content))


def test_the_body_is_json_whatever_its_content_type(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = post(server.url, keys["shop"], content=json.dumps(SPEC), headers=headers)
        assert response.status_code == 200, (content_type, response.text)


def test_the_result_equals_run_query_in_process(
    served: tuple[Server, dict[str, str]], settings: Settings, runtime: Runtime
) -> None:
    # The same events in a data directory of this process's own (the server holds its own).
    server, keys = served
    load_events(runtime)
    in_process = run_query(runtime.store, get_project(runtime.sessions, "shop"), parse_spec(SPEC))
    answer = post(server.url, keys["shop"]).json()
    computed_at = dt.datetime.fromisoformat(answer.pop("computed_at"))
    answer.pop("cached")
    assert answer == json.loads(in_process.model_dump_json(exclude={"computed_at", "cached"}))
    assert abs(dt.datetime.now(dt.UTC) - computed_at) < dt.timedelta(hours=1)
    check_expected(in_process)


def test_answers_are_kept_and_cache_control_asks_for_a_new_one(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, keys = served
    spec = {**SPEC, "interval": "week"}  # a spec of this test's own: nothing kept yet
    first = post(server.url, keys["shop"], spec).json()
    kept = post(server.url, keys["shop"], spec).json()
    assert (first["cached"], kept["cached"]) == (False, True)
    assert kept["computed_at"] == first["computed_at"]
    assert kept["series"] == first["series"]
    # the same spec written differently (key order, defaults spelled out) is the same answer
    reordered = {"date_range": SPEC["date_range"], "interval": "week", "kind": "trends",
                 "series": SPEC["series"], "filters": []}  # fmt: skip
    assert post(server.url, keys["shop"], reordered).json()["cached"] is True
    for header in ("no-cache", "max-age=0", "private, no-store"):
        fresh = post(server.url, keys["shop"], spec, headers={"Cache-Control": header}).json()
        assert fresh["cached"] is False, header
        assert fresh["computed_at"] > first["computed_at"]
    aged = post(server.url, keys["shop"], spec, headers={"Cache-Control": "max-age=600"})
    assert aged.json()["cached"] is True
    # "²" is a digit to Python's isdigit, sent as its Latin-1 byte
    for value in (b"max-age=soon", "max-age=\u00b2".encode("latin-1"), b"max-age=-1"):
        bad = post(server.url, keys["shop"], spec, headers={"Cache-Control": value})
        assert (bad.status_code, bad.json()["field"]) == (400, "Cache-Control"), value


# --- refusals, with their exact bodies -------------------------------------------------------

MISSING = {"error": "Unauthorized",
           "message": "missing API key: send `Authorization: Bearer <key>` (create a key with "
                      "`userops keys create --project NAME`), or sign in to the "
                      "console"}  # fmt: skip
INVALID = {"error": "Unauthorized", "message": "invalid API key"}


@pytest.mark.parametrize(("authorization", "body"), [
    (None, MISSING),
    ("Bearer", MISSING),
    ("Basic dW9rX3g6", MISSING),  # HTTP Basic, as the ingestion endpoints take write keys
    ("Token uok_abc", MISSING),
    ("Bearer uok_" + "A" * 43, INVALID),
    ("Bearer not-a-key", INVALID),
    ("bearer uok_ünïcode", INVALID),
    ("Bearer uol_" + "A" * 43, INVALID),  # shaped like a local token, but not the server's
])  # fmt: skip
def test_no_valid_key_is_401(
    served: tuple[Server, dict[str, str]], authorization: str | None, body: dict[str, str]
) -> None:
    server, _ = served
    headers = {"Authorization": authorization.encode()} if authorization else {}
    response = post(server.url, None, headers=headers)
    assert response.status_code == 401
    assert response.json() == body
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_write_key_is_not_an_api_key(served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    response = post(server.url, _write_key(server))
    assert (response.status_code, response.json()) == (401, INVALID)


def _write_key(server: Server) -> str:
    # The server holds the data directory: read the write key from SQLite without the runtime.
    import sqlite3

    with sqlite3.connect(server.data_dir / "meta.sqlite3") as db:
        (key,) = db.execute("SELECT write_key FROM projects WHERE name = 'shop'").fetchone()
    return str(key)


def test_another_projects_key_gets_the_same_404_as_a_missing_project(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, keys = served
    wrong = post(server.url, keys["other"], project="shop")
    missing = post(server.url, keys["other"], project="shop-typo")
    assert wrong.status_code == missing.status_code == 404
    assert wrong.json() == {"error": "NotFound", "message": "no project 'shop' for this API key",
                            "field": "project"}  # fmt: skip
    assert missing.json() == {"error": "NotFound",
                              "message": "no project 'shop-typo' for this API key",
                              "field": "project"}  # fmt: skip
    # A key's own project still answers, so the 404 is about the project, not the key.
    assert post(server.url, keys["other"], project="other").status_code == 200


def test_the_local_token_opens_every_project(served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    token = read_local_token(server.data_dir)
    assert token is not None and token.startswith("uol_")
    assert (server.data_dir / "serve.token").stat().st_mode & 0o777 == 0o600
    for project in EVENTS:
        assert post(server.url, token, project=project).status_code == 200
    unknown = post(server.url, token, project="nope")
    assert unknown.status_code == 404
    assert unknown.json()["message"].startswith("unknown project 'nope' (projects: other, shop;")


BAD_SPECS = [
    ({**SPEC, "series": []}, "series"),
    ({**SPEC, "kind": "nonsense"}, "kind"),
    ({k: v for k, v in SPEC.items() if k != "kind"}, "kind"),
    ({**SPEC, "colour": "red"}, "colour"),
    ({**SPEC, "date_range": {"start": "2026-11-03", "end": "2026-11-01"}}, "date_range"),
    ({**SPEC, "series": [{"event": "view", "filters": [{"key": "a", "operator": "gt",
                                                        "value": "x"}]}]}, "series.0.filters.0"),
    ({**SPEC, "series": [{"event": "view", "math": "no-such-math"}]}, "series.0.math"),
    ([SPEC], "(spec)"),
    ("trends", "(spec)"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "field"), BAD_SPECS)
def test_a_bad_spec_is_400_naming_the_field(
    served: tuple[Server, dict[str, str]], spec: Any, field: str
) -> None:
    server, keys = served
    response = post(server.url, keys["shop"], spec)
    assert response.status_code == 400
    with pytest.raises(BadRequest) as raised:  # the body is the shared parser's error, as is
        parse_spec(json.dumps(spec))
    assert response.json() == raised.value.to_dict()
    assert response.json()["field"] == field
    assert response.json()["message"].startswith(f"spec {field}")


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"kind": "trends",', b"\xff\xfe{}",
                                     b"[" * 10_000, b"null", b'"\\ud800"'])  # fmt: skip
def test_a_body_that_is_no_json_object_is_400(
    served: tuple[Server, dict[str, str]], content: bytes
) -> None:
    server, keys = served
    response = post(server.url, keys["shop"], content=content)
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["error"], body["field"]) == ("BadRequest", "(spec)")


def test_a_compressed_body_is_400_naming_the_encoding(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, keys = served
    response = post(server.url, keys["shop"], content=b"\x1f\x8b...",
                    headers={"Content-Encoding": "gzip"})  # fmt: skip
    assert (response.status_code, response.json()) == (400, {
        "error": "BadRequest", "field": "Content-Encoding",
        "message": "Content-Encoding 'gzip' is not supported; send plain JSON"})  # fmt: skip


TOO_LARGE = {"error": "PayloadTooLarge",
             "message": "request body over the 1048576-byte limit for a spec"}  # fmt: skip


def test_a_body_over_one_megabyte_is_413(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    padded = json.dumps({**SPEC, "pad": " " * (1 << 20)}).encode()
    response = post(server.url, keys["shop"], content=padded)
    assert (response.status_code, response.json()) == (413, TOO_LARGE)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b" " * 65536

    response = post(server.url, keys["shop"], content=chunks())
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    # Exactly at the limit is still read, and then judged as a spec.
    exact = json.dumps(SPEC).encode().ljust(1 << 20)
    assert post(server.url, keys["shop"], content=exact).status_code == 200


def test_unauthenticated_requests_learn_nothing_about_specs_or_projects(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, _ = served
    for project, spec in [("nope", SPEC), ("shop", {"kind": "nonsense"})]:
        response = post(server.url, "uok_wrong", spec, project=project)
        assert (response.status_code, response.json()) == (401, INVALID)


# --- revocation ------------------------------------------------------------------------------


def test_revoking_with_the_cli_takes_effect(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", data_dir)
    secret = ok("keys", "create", "--project", "shop", "--data-dir", data_dir).stdout.strip()

    def status() -> tuple[int, Any]:
        settings = settings_of(data_dir)
        with Runtime.open(settings) as runtime, TestClient(create_app(settings, runtime)) as app:
            response = app.post("/api/projects/shop/query", json=SPEC,
                                headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        return response.status_code, response.json()

    assert status()[0] == 200
    listed = ok("keys", "list", "--project", "shop", "--data-dir", data_dir).stdout
    (row,) = [line for line in listed.splitlines() if secret[:12] + "…" in line]
    ok("keys", "revoke", row.split()[0], "--data-dir", data_dir)
    assert status() == (401, {"error": "Unauthorized",
                              "message": f"API key {secret[:12]}… was revoked"})  # fmt: skip


@pytest.mark.usefixtures("project")
def test_a_revoked_key_is_refused_on_its_next_request(settings: Settings, runtime: Runtime) -> None:
    created = create_key(runtime.sessions, "shop")
    headers = {"Authorization": f"Bearer {created.secret}"}
    with TestClient(create_app(settings, runtime)) as client:
        assert client.post("/api/projects/shop/query", json=SPEC,
                           headers=headers).status_code == 200  # fmt: skip
        revoke_key(runtime.sessions, created.key.id)  # while the server runs: nothing cached
        response = client.post("/api/projects/shop/query", json=SPEC, headers=headers)
    assert response.status_code == 401
    assert not (settings.data_path / "serve.token").exists()  # removed when the app stopped


# --- OpenAPI ---------------------------------------------------------------------------------


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_openapi_documents_the_spec_and_result_unions(
    served: tuple[Server, dict[str, str]],
) -> None:
    server, _ = served
    document = httpx.get(server.url + "/openapi.json").json()
    operation = document["paths"]["/api/projects/{project}/query"]["post"]
    schemas = document["components"]["schemas"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/QuerySpec"}
    for union in ("QuerySpec", "QueryResult"):
        assert schemas[union]["discriminator"]["propertyName"] == "kind"
        assert set(schemas[union]["discriminator"]["mapping"]) == KINDS
    assert schemas["TrendsSpec"]["additionalProperties"] is False
    ok_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok_schema == {"$ref": "#/components/schemas/QueryResult"}
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "413"}  # no 422
    assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    for ref in refs(document):  # every reference resolves
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


# --- concurrency -----------------------------------------------------------------------------


def test_queries_run_while_events_stream_in(served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    auth = (_write_key(server), "")
    spec = {**SPEC, "series": [{"event": "tick"}],
            "date_range": {"start": "2026-11-10", "end": "2026-11-10"}}  # fmt: skip
    statuses: list[int] = []
    failures: list[BaseException] = []

    def ingest() -> None:
        for batch in range(20):
            messages = [{"type": "track", "event": "tick", "anonymousId": f"t{i % 7}",
                         "messageId": f"tick-{batch}-{i}",
                         "timestamp": "2026-11-10T12:00:00+08:00"} for i in range(50)]  # fmt: skip
            response = httpx.post(server.url + "/v1/batch", json={"batch": messages}, auth=auth,
                                  timeout=60)  # fmt: skip
            assert response.status_code == 200

    def query() -> None:
        for _ in range(5):
            statuses.append(post(server.url, keys["shop"], spec).status_code)

    def guarded(target: Any) -> Any:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                failures.append(exc)

        return run

    threads = [threading.Thread(target=guarded(ingest))]
    threads += [threading.Thread(target=guarded(query)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert statuses == [200] * 30
    deadline = dt.datetime.now() + dt.timedelta(seconds=60)
    total = 0.0
    while dt.datetime.now() < deadline:  # the flusher stores the last batches within a second
        total = post(server.url, keys["shop"], spec).json()["series"][0]["total"]
        if total == 1000:
            break
    assert total == 1000
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


# --- fuzzing ---------------------------------------------------------------------------------


def test_no_spec_makes_a_server_error(served: tuple[Server, dict[str, str]]) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    server, keys = served
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operation = schema["/api/projects/{project}/query"]["POST"]

    statuses: list[int] = []

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=30, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))  # fmt: skip
    def no_5xx(case: schemathesis.Case) -> None:
        case.path_parameters = {"project": "shop"}
        response = case.call(headers={"Authorization": f"Bearer {keys['shop']}"}, timeout=60)
        statuses.append(response.status_code)
        assert response.status_code in (200, 400), (case.body, response.text[:500])

    no_5xx()
    assert statuses


# Inputs that look like a spec and that the store could not run (dates beyond DateTime64, ranges
# of decades, patterns RE2 refuses, text that is not Unicode): refused as 400s naming the field
# before any SQL runs, never a store error's 500.


def _filtered(value: str) -> dict[str, Any]:
    return {**SPEC, "series": [{"event": "view", "filters": [
        {"key": "a", "operator": "regex", "value": value}]}]}  # fmt: skip


@pytest.mark.parametrize("body", [
    pytest.param({**SPEC, "date_range": {"start": "0001-01-01", "end": "0001-01-02"}},
                 id="year-1"),
    pytest.param({**SPEC, "date_range": {"start": "9999-12-30", "end": "9999-12-31"}},
                 id="year-9999"),
    pytest.param({**SPEC, "date_range": {"start": "1971-01-01", "end": "2026-01-01"}},
                 id="decades"),
    pytest.param(_filtered("("), id="bad-regex"),
    pytest.param(_filtered("(?<=a)b"), id="lookbehind"),
    pytest.param(json.dumps(_filtered("x")).replace('"x"', '"\\ud800"').encode(),
                 id="lone-surrogate"),  # the JSON parser refuses it before the store sees it
])  # fmt: skip
def test_specs_the_store_cannot_run_are_400(
    served: tuple[Server, dict[str, str]], body: Any
) -> None:
    server, keys = served
    response = (post(server.url, keys["shop"], content=body) if isinstance(body, bytes)
                else post(server.url, keys["shop"], body))  # fmt: skip
    assert response.status_code == 400, response.text
