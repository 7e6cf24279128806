"""Shared fixtures: a fresh data directory, an open runtime, a project.

Metadata tests that take ``meta_url`` run once on SQLite and once on PostgreSQL (the server named
by USEROPS_TEST_DATABASE_URL, which `.ci/run` and `make test` provide); event-store tests that
take ``store_url`` run on chDB and, when USEROPS_TEST_CLICKHOUSE_URL is set, on that server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from userops.config import SETTINGS, Settings, load_settings
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime

POSTGRES_URL = os.environ.get("USEROPS_TEST_DATABASE_URL", "")
CLICKHOUSE_URL = os.environ.get("USEROPS_TEST_CLICKHOUSE_URL", "")


def _fresh_postgres_schema(base_url: str) -> Iterator[str]:
    """A throwaway schema per test, so tests never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def meta_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    if not POSTGRES_URL:
        pytest.skip("USEROPS_TEST_DATABASE_URL is not set (make test sets it)")
    yield from _fresh_postgres_schema(POSTGRES_URL)


@pytest.fixture(params=["chdb", pytest.param("clickhouse", marks=pytest.mark.clickhouse)])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "chdb":
        return ""
    if not CLICKHOUSE_URL:
        pytest.skip("USEROPS_TEST_CLICKHOUSE_URL is not set: no ClickHouse server to test against")
    return CLICKHOUSE_URL


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings({"data_dir": str(data_dir)}, environ={})


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with Runtime.open(settings) as rt:
        yield rt


@pytest.fixture
def project(runtime: Runtime) -> Project:
    return create_project(runtime.sessions, "shop", "Asia/Shanghai")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No USEROPS_* variable from the shell; a working directory of the test's own."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env_var, raising=False)
    monkeypatch.chdir(tmp_path)
