"""Schemathesis over the ingestion endpoints' OpenAPI: whatever it sends, never a 5xx.

Runs against a real `userops serve`, with a valid write key on some requests (via HTTP Basic,
as the Segment SDKs send it) so the fuzzing reaches past authentication into validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from server_helpers import Server, new_project

pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data_dir = Path(tmp_path_factory.mktemp("fuzz")) / "data"
    key = new_project(data_dir)
    server = Server(data_dir)
    server.start()
    yield server, key
    server.stop()


def test_no_server_errors(served: tuple[Server, str]) -> None:
    server, key = served
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "POST":
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)  # fmt: skip
        def no_5xx(case: schemathesis.Case) -> None:
            for auth in ((key, ""), None):  # past authentication, and without it
                response = case.call(auth=auth, timeout=30)
                assert response.status_code < 500, (
                    case.path, response.status_code, response.text[:500])  # fmt: skip

        no_5xx()
        checked.append(operation.path)
    assert {"/v1/batch", "/v1/track", "/batch/", "/i/v0/e/"} <= set(checked)
