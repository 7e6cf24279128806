"""The Python clients and `userops query`: asking a real `userops serve`, or opening the data
directory when no server holds it; typed results, DataFrames, and errors as `userops.errors`."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import userops
from cli_helpers import cli, ok
from server_helpers import Server, free_port
from userops.analysis.trends import TrendsResult, TrendsSpec
from userops.client import Client, LocalClient, error_from
from userops.config import load_settings
from userops.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    StoreLocked,
    Unauthorized,
    UserOpsError,
)
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.keys import create_key
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict

SPEC: dict[str, Any] = {
    "kind": "trends",
    "series": [{"event": "view"}, {"event": "view", "math": "unique_persons", "label": "people"}],
    "date_range": {"start": "2026-11-01", "end": "2026-11-03"},
}
# Shanghai days: d1 views twice on the 1st, d2 once on the 2nd (16:30 UTC) and once later.
VIEWS = [("d1", "2026-11-01T01:00:00+08:00"), ("d1", "2026-11-01T23:59:00+08:00"),
         ("d2", "2026-11-01T16:30:00Z"), ("d2", "2026-11-05T00:00:00Z")]  # fmt: skip
BUCKETS = ["2026-11-01", "2026-11-02", "2026-11-03"]
VALUES = [[2.0, 1.0, 0.0], [1.0, 1.0, 0.0]]


def without_userops_environment(mp: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("USEROPS_")]:
        mp.delenv(name)


@pytest.fixture(autouse=True)
def _no_userops_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    without_userops_environment(monkeypatch)


def prepare(data_dir: Path) -> str:
    """Project "shop" with the views, and an API key for it."""
    with Runtime.open(load_settings({"data_dir": str(data_dir)}, environ={})) as runtime:
        project = create_project(runtime.sessions, "shop", "Asia/Shanghai")
        messages = [message_from_dict({"type": "track", "event": "view", "anonymousId": d,
                                       "messageId": f"m{n}", "timestamp": t})
                    for n, (d, t) in enumerate(VIEWS)]  # fmt: skip
        Ingestor(runtime.sessions, runtime.store, project.id).ingest(
            message_columns(messages, project.id, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
        )
        return create_key(runtime.sessions, "shop").secret


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path_factory.mktemp("client") / "data"
    with pytest.MonkeyPatch.context() as mp:
        without_userops_environment(mp)
        key = prepare(data_dir)
    server = Server(data_dir)
    server.start()
    yield server, key
    server.stop()
    # The local token lives exactly as long as the server.
    assert not (data_dir / "serve.token").exists()


@pytest.fixture(scope="module")
def unserved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same events in a data directory no server holds."""
    data_dir = tmp_path_factory.mktemp("local") / "data"
    with pytest.MonkeyPatch.context() as mp:
        without_userops_environment(mp)
        prepare(data_dir)
    return data_dir


def check(result: Any) -> None:
    assert isinstance(result, TrendsResult)
    assert result.buckets == BUCKETS
    assert [s.values for s in result.series] == VALUES
    assert [s.label for s in result.series] == ["view", "people"]


# --- Client against a running server ---------------------------------------------------------


def answer(result: Any) -> dict[str, Any]:
    """A result without when and how it was computed (``computed_at``, ``cached``)."""
    dumped: dict[str, Any] = result.model_dump(exclude={"computed_at", "cached"})
    return dumped


def test_client_takes_a_dict_json_text_or_a_spec_model(served: tuple[Server, str]) -> None:
    server, key = served
    with userops.Client(server.url + "/", key) as client:
        specs = (SPEC, json.dumps(SPEC), json.dumps(SPEC).encode(), TrendsSpec(**SPEC))
        results = [client.query(spec, project="shop") for spec in specs]
    for result in results:
        check(result)
    assert all(answer(result) == answer(results[0]) for result in results)
    # the same spec in four spellings is one answer, kept by the server after the first
    assert [result.cached for result in results][1:] == [True, True, True]


def test_to_pandas_has_a_row_per_bucket_and_a_column_per_series(
    served: tuple[Server, str],
) -> None:
    server, key = served
    frame = Client(server.url, key).query(SPEC, project="shop").to_pandas()
    assert frame.shape == (3, 3)
    assert list(frame.columns) == ["bucket", "view", "people"]
    assert frame["bucket"].tolist() == BUCKETS
    assert frame["view"].tolist() == VALUES[0] and frame["people"].tolist() == VALUES[1]


def test_client_raises_userops_errors(served: tuple[Server, str]) -> None:
    server, key = served
    client = Client(server.url, key)
    with pytest.raises(BadRequest) as bad:
        client.query({**SPEC, "series": [{"event": "view", "filters": [
            {"key": "a", "operator": "gt", "value": "x"}]}]}, project="shop")  # fmt: skip
    assert bad.value.field == "series.0.filters.0" and bad.value.status == 400
    with pytest.raises(BadRequest) as malformed:
        client.query("{not json", project="shop")
    assert malformed.value.field == "(spec)"
    with pytest.raises(NotFound) as missing:
        client.query(SPEC, project="nope")
    assert missing.value.field == "project"
    with pytest.raises(PayloadTooLarge):
        client.query(json.dumps({**SPEC, "pad": "x" * (1 << 20)}), project="shop")
    with pytest.raises(Unauthorized, match="invalid API key"):
        Client(server.url, "uok_" + "x" * 43).query(SPEC, project="shop")


def test_an_unreachable_server_is_a_userops_error() -> None:
    with pytest.raises(UserOpsError, match=r"cannot reach the server at http://127\.0\.0\.1:"):
        Client(f"http://127.0.0.1:{free_port()}", "uok_x").query(SPEC, project="shop")


@pytest.mark.parametrize(("status", "body", "expected", "field"), [
    (400, {"error": "BadRequest", "message": "m", "field": "series"}, BadRequest, "series"),
    (413, {"error": "PayloadTooLarge", "message": "m"}, PayloadTooLarge, None),
    (409, {"error": "StoreLocked", "message": "m"}, StoreLocked, None),
    (400, {"error": "SomethingNew", "message": "m", "field": 3}, BadRequest, None),
    (404, "<html>not here</html>", NotFound, None),
    (502, "<html>Bad Gateway</html>", UserOpsError, None),
])  # fmt: skip
def test_error_responses_map_to_userops_errors(
    status: int, body: Any, expected: type[UserOpsError], field: str | None
) -> None:
    content = json.dumps(body) if isinstance(body, dict) else body
    error = error_from(httpx.Response(status, content=content))
    assert type(error) is expected
    assert error.field == field
    if not isinstance(body, dict):
        assert f"the server answered {status}" in error.message


def test_open_asks_the_server_that_holds_the_directory(served: tuple[Server, str]) -> None:
    server, _ = served
    with userops.open(server.data_dir) as client:
        assert isinstance(client, Client) and client.url == server.url
        check(client.query(SPEC, project="shop"))


# --- `userops query` ---------------------------------------------------------------------------


def test_cli_asks_the_running_server_and_says_so(served: tuple[Server, str]) -> None:
    server, _ = served
    result = ok("query", json.dumps(SPEC), "--project", "shop", "--format", "json",
                "--data-dir", server.data_dir)  # fmt: skip
    assert f"asked the server at {server.url}" in result.stderr
    check(TrendsResult.model_validate_json(result.stdout))
    csv = ok("query", json.dumps(SPEC), "--project", "shop", "--format", "csv",
             "--data-dir", server.data_dir).stdout  # fmt: skip
    assert csv.splitlines() == ["bucket,view,people", "2026-11-01,2,1", "2026-11-02,1,1",
                                "2026-11-03,0,0", "total,3,2"]  # fmt: skip


def test_cli_errors_through_the_server_name_the_field(served: tuple[Server, str]) -> None:
    server, _ = served
    bad = cli("query", json.dumps({**SPEC, "interval": "minute"}), "--project", "shop",
              "--data-dir", server.data_dir)  # fmt: skip
    assert bad.exit_code == 2 and "spec interval" in bad.output
    missing = cli("query", json.dumps(SPEC), "--project", "nope", "--data-dir", server.data_dir)
    assert missing.exit_code == 2
    assert "asked the server" in missing.stderr and "unknown project 'nope'" in missing.stderr


def test_cli_opens_the_directory_when_no_server_holds_it(unserved: Path) -> None:
    result = ok("query", json.dumps(SPEC), "--project", "shop", "--format", "json",
                "--data-dir", unserved)  # fmt: skip
    assert f"opened the data directory {unserved}" in result.stderr
    check(TrendsResult.model_validate_json(result.stdout))
    bad = cli("query", json.dumps({**SPEC, "series": []}), "--project", "shop",
              "--data-dir", unserved)  # fmt: skip
    assert bad.exit_code == 2 and "spec series" in bad.output


def test_cli_refuses_when_the_holder_is_no_server(unserved: Path) -> None:
    settings = load_settings({"data_dir": str(unserved)}, environ={})
    with Runtime.open(settings, holder="`userops import`"):
        result = cli("query", json.dumps(SPEC), "--project", "shop", "--data-dir", unserved)
    assert result.exit_code == 3
    assert "in use by `userops import`" in result.output


# --- userops.open on a data directory ----------------------------------------------------------


def test_open_runs_queries_in_process(unserved: Path, served: tuple[Server, str]) -> None:
    server, key = served
    with userops.open(unserved) as local:
        assert isinstance(local, LocalClient)
        results = [local.query(spec, project="shop")
                   for spec in (SPEC, json.dumps(SPEC), TrendsSpec(**SPEC))]  # fmt: skip
        with pytest.raises(BadRequest) as bad:
            local.query({**SPEC, "colour": "red"}, project="shop")
        with pytest.raises(NotFound):
            local.query(SPEC, project="nope")
    assert bad.value.field == "colour"
    for result in results:
        check(result)
    # The same events give the same answer whichever way they are asked.
    assert answer(results[0]) == answer(Client(server.url, key).query(SPEC, project="shop"))
    assert results[0].to_pandas().shape == (3, 3)
    # Leaving the block released the directory.
    with userops.open(unserved) as again:
        assert isinstance(again, LocalClient)
