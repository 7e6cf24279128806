"""Ids past the metadata store's INTEGER keys are refused as ids that name nothing (404 in a
path, 400 naming the field in a body or a spec), never a 500: PostgreSQL refuses to even look a
larger value up, where SQLite finds no row (both stores run this)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from userops.config import load_settings
from userops.meta.keys import create_key
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.web.server import create_app

pytestmark = pytest.mark.usefixtures("clean_environment")

BIG = 3_000_000_000  # past 2**31 - 1
P = "/api/projects/shop"
TRENDS = {"kind": "trends", "series": [{"event": None}], "date_range": {"last_days": 7}}


@pytest.fixture
def client(tmp_path: Path, meta_url: str) -> Iterator[TestClient]:
    settings = load_settings({"data_dir": str(tmp_path / "data"), "database_url": meta_url},
                             environ={})  # fmt: skip
    with Runtime.open(settings) as runtime:
        create_project(runtime.sessions, "shop", "UTC")
        secret = create_key(runtime.sessions, "shop").secret
        with TestClient(create_app(settings, runtime), raise_server_exceptions=False) as client:
            client.headers["Authorization"] = f"Bearer {secret}"
            yield client


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("GET", f"{P}/tags/{BIG}", None, 404, "tag_id"),
    ("GET", f"{P}/segments/{BIG}", None, 404, "segment_id"),
    ("GET", f"{P}/insights/{BIG}", None, 404, "insight_id"),
    ("GET", f"{P}/dashboards/{BIG}", None, 404, "dashboard_id"),
    ("POST", f"{P}/tags", {"name": "x", "segment_id": BIG}, 400, "segment_id"),
    ("POST", f"{P}/segments/preview", {"definition": {"kind": "segment", "id": BIG}}, 400,
     "definition.id"),
    ("POST", f"{P}/query", {**TRENDS, "filters": [
        {"type": "tag", "key": str(BIG), "operator": "is_set"}]}, 400, "filters.0.key"),
    ("POST", f"{P}/query", {**TRENDS, "breakdown": {"type": "segment", "key": str(BIG)}}, 400,
     "breakdown.key"),
])  # fmt: skip
def test_ids_past_an_integer_key_name_nothing(
    client: TestClient, method: str, path: str, body: Any, status: int, field: str
) -> None:
    answer = client.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field, answer.text
