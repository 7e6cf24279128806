"""The metadata store on SQLite and PostgreSQL: migrations, projects, write keys, clear errors.

Every test that takes ``meta_url`` runs on both engines (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text, update

from userops.config import Settings, load_settings
from userops.errors import BadRequest, ConfigError, Conflict, NotFound, StoreLocked
from userops.meta.db import MIGRATIONS_DIR, open_meta
from userops.meta.models import Base, Project
from userops.meta.projects import (
    create_project,
    get_project,
    list_projects,
    project_by_write_key,
)
from userops.runtime import Runtime


def meta_settings(data_dir: Path, meta_url: str) -> Settings:
    return load_settings({"data_dir": str(data_dir), "database_url": meta_url}, environ={})


@pytest.fixture
def rt(tmp_path: Path, meta_url: str) -> Iterator[Runtime]:
    with Runtime.open(meta_settings(tmp_path, meta_url)) as runtime:
        yield runtime


def engine_of(runtime: Runtime) -> Engine:
    engine = runtime.sessions.kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def recorded_revisions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT version_num FROM alembic_version")))


# --- migrations -------------------------------------------------------------------------------


def test_migrations_create_every_table_and_column(rt: Runtime, meta_url: str) -> None:
    engine = engine_of(rt)
    assert engine.dialect.name == ("postgresql" if meta_url else "sqlite")
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} <= tables
    assert {"projects", "persons", "distinct_ids", "identity_links", "merges"} <= tables
    for name, table in Base.metadata.tables.items():
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == set(table.columns.keys()), name
    assert recorded_revisions(engine) == [head_revision()]


def test_migrations_match_the_models(rt: Runtime) -> None:
    # A model changed without a migration shows up here as a difference.
    with engine_of(rt).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_lives_in_the_data_directory(rt: Runtime, meta_url: str, tmp_path: Path) -> None:
    if meta_url:
        pytest.skip("PostgreSQL keeps no file in the data directory")
    assert (tmp_path / "meta.sqlite3").is_file()


def test_reopening_is_idempotent(tmp_path: Path, meta_url: str) -> None:
    settings = meta_settings(tmp_path, meta_url)
    with Runtime.open(settings) as first:
        created = create_project(first.sessions, "shop", "Asia/Shanghai")
    for _ in range(2):
        with Runtime.open(settings) as again:
            assert recorded_revisions(engine_of(again)) == [head_revision()]
            (kept,) = list_projects(again.sessions)
            assert (kept.id, kept.name, kept.write_key) == (created.id, "shop", created.write_key)


def test_a_store_migrated_by_a_newer_version_is_a_clear_error(
    tmp_path: Path, meta_url: str
) -> None:
    sessions = open_meta(tmp_path, meta_url)
    with sessions.kw["bind"].begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    sessions.kw["bind"].dispose()
    with pytest.raises(ConfigError) as info:
        open_meta(tmp_path, meta_url)
    assert "9999" in info.value.message
    assert "another version of UserOps" in info.value.message
    assert info.value.field == "database_url"


# --- projects ---------------------------------------------------------------------------------


def test_create_list_get(rt: Runtime) -> None:
    before = dt.datetime.now(dt.UTC)
    shop = create_project(rt.sessions, "shop", "Asia/Shanghai")
    blog = create_project(rt.sessions, "Blog-2.0_cn", "Europe/London")
    after = dt.datetime.now(dt.UTC)

    assert shop.id != blog.id
    assert shop.timezone == "Asia/Shanghai"
    assert (shop.order_event, shop.revenue_property, shop.currency) == (
        "order_completed", "revenue", "CNY")  # fmt: skip
    assert shop.store_client_ip is False
    assert [p.name for p in list_projects(rt.sessions)] == ["Blog-2.0_cn", "shop"]

    loaded = get_project(rt.sessions, "shop")
    assert (loaded.id, loaded.timezone, loaded.write_key) == (shop.id, "Asia/Shanghai",
                                                              shop.write_key)  # fmt: skip
    # Read back as an aware UTC moment on both engines (SQLite used to give a naive one).
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == dt.timedelta(0)
    assert before - dt.timedelta(seconds=1) <= loaded.created_at <= after + dt.timedelta(seconds=1)


def test_moments_keep_their_instant(rt: Runtime) -> None:
    create_project(rt.sessions, "shop", "Asia/Shanghai")
    shanghai_noon = dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with rt.sessions.begin() as session:
        session.execute(update(Project).values(created_at=shanghai_noon))
    with rt.sessions() as session:
        stored = session.scalar(select(Project.created_at))
    assert stored == shanghai_noon
    assert stored is not None and stored.tzinfo is not None and stored.hour == 4


def test_empty_store(rt: Runtime) -> None:
    assert list_projects(rt.sessions) == []
    with pytest.raises(NotFound, match="none yet"):
        get_project(rt.sessions, "shop")


def test_duplicate_name_is_a_conflict(rt: Runtime) -> None:
    first = create_project(rt.sessions, "shop", "Asia/Shanghai")
    with pytest.raises(Conflict) as info:
        create_project(rt.sessions, "shop", "UTC")
    assert info.value.field == "name"
    assert "'shop' already exists" in info.value.message
    # The failed insert left nothing behind and the store still takes writes.
    (kept,) = list_projects(rt.sessions)
    assert (kept.id, kept.timezone) == (first.id, "Asia/Shanghai")
    create_project(rt.sessions, "shop2", "UTC")
    assert [p.name for p in list_projects(rt.sessions)] == ["shop", "shop2"]


BAD_NAMES = [
    "",
    " ",
    "my shop",
    " shop",
    "shop ",
    "shop\n",
    "sh'op",
    "'shop'",
    'sh"op',
    "`shop`",
    "x'; DROP TABLE projects; --",
    "' OR '1'='1",
    "shop;DELETE FROM projects",
    "a" * 65,
    "-shop",
    ".shop",
    "_shop",
    "商店",
    "ｓｈｏｐ",
    "shop/../x",
    "[/]",
]


def test_bad_names_are_rejected_by_field(rt: Runtime) -> None:
    # One store for all names: validation comes before SQL, and opening a store per name is slow.
    for name in BAD_NAMES:
        with pytest.raises(BadRequest) as info:
            create_project(rt.sessions, name, "Asia/Shanghai")
        assert info.value.field == "name", name
        assert repr(name) in info.value.message
        assert "1-64 letters, digits" in info.value.message
    assert list_projects(rt.sessions) == []
    assert "projects" in inspect(engine_of(rt)).get_table_names()


def test_longest_and_odd_but_valid_names(rt: Runtime) -> None:
    names = ["a" * 64, "A", "9", "shop.cn", "shop-cn_2"]
    for name in names:
        create_project(rt.sessions, name, "UTC")
    assert sorted(p.name for p in list_projects(rt.sessions)) == sorted(names)


BAD_ZONES = ["Mars/Olympus", "", "Asia", "America", "asia/shanghai ", "../etc/passwd",
             "/usr/share/zoneinfo/UTC", "GMT+25", "Asia/Shanghai\x00"]  # fmt: skip


def test_bad_time_zone(rt: Runtime) -> None:
    for zone in BAD_ZONES:
        with pytest.raises(BadRequest) as info:
            create_project(rt.sessions, "shop", zone)
        assert info.value.field == "timezone", zone
        assert f"unknown IANA time zone {zone!r}" in info.value.message
    assert list_projects(rt.sessions) == []


def test_any_iana_zone(rt: Runtime) -> None:
    zones = ["America/New_York", "Asia/Kolkata", "UTC", "Europe/London", "Pacific/Chatham",
             "Asia/Kathmandu", "America/Argentina/ComodRivadavia", "Etc/GMT-14"]  # fmt: skip
    for number, zone in enumerate(zones):
        create_project(rt.sessions, f"p{number}", zone)
    for number, zone in enumerate(zones):
        assert get_project(rt.sessions, f"p{number}").timezone == zone


def test_unknown_project_lists_known_ones(rt: Runtime) -> None:
    for name in ("shop", "blog"):
        create_project(rt.sessions, name, "UTC")
    with pytest.raises(NotFound) as info:
        get_project(rt.sessions, "shoop")
    assert info.value.field == "project"
    assert "unknown project 'shoop'" in info.value.message
    assert "projects: blog, shop" in info.value.message
    assert "userops projects create" in info.value.message
    with pytest.raises(NotFound):
        get_project(rt.sessions, "SHOP")  # names are case-sensitive on both engines


def test_write_keys_are_long_unique_and_url_safe(rt: Runtime) -> None:
    projects = [create_project(rt.sessions, f"p{n}", "UTC") for n in range(25)]
    keys = [p.write_key for p in projects]
    assert len(set(keys)) == len(keys)
    allowed = set(string.ascii_letters + string.digits + "-_")
    for key in keys:
        assert len(key) >= 32
        assert set(key) <= allowed
    assert len({k for k in keys if re.fullmatch(r"[A-Za-z0-9_-]{32,}", k)}) == len(keys)


def test_project_by_write_key(rt: Runtime) -> None:
    shop = create_project(rt.sessions, "shop", "Asia/Shanghai")
    blog = create_project(rt.sessions, "blog", "UTC")
    found = project_by_write_key(rt.sessions, shop.write_key)
    assert found is not None and (found.id, found.name) == (shop.id, "shop")
    found = project_by_write_key(rt.sessions, blog.write_key)
    assert found is not None and found.name == "blog"
    assert project_by_write_key(rt.sessions, "") is None
    assert project_by_write_key(rt.sessions, shop.write_key[:-1]) is None
    assert project_by_write_key(rt.sessions, shop.write_key.upper()) is None
    assert project_by_write_key(rt.sessions, "' OR '1'='1") is None


# --- opening the store: locks and clear errors ------------------------------------------------


def test_a_second_open_of_one_directory_is_locked(
    rt: Runtime, tmp_path: Path, meta_url: str
) -> None:
    with pytest.raises(StoreLocked) as info:
        Runtime.open(meta_settings(tmp_path, meta_url), holder="second")
    assert info.value.exit_code == 3
    assert f"data directory {tmp_path} is in use by a userops command (pid" in info.value.message
    assert "stop it and run the command again" in info.value.message


def test_unparsable_database_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        open_meta(tmp_path, "not a url")
    assert info.value.field == "database_url"
    assert "setting database_url" in info.value.message


def test_unknown_database_driver(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="setting database_url"):
        open_meta(tmp_path, "nosuchdb://user@host/db")


def test_unreachable_database_hides_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://ops:s3cret@127.0.0.1:1/userops?connect_timeout=2"
    with pytest.raises(ConfigError) as info:
        open_meta(tmp_path, url)
    message = info.value.message
    assert "cannot open the metadata store postgresql+psycopg://ops:***@127.0.0.1:1" in message
    assert "s3cret" not in message
    assert "\n" not in message


def test_sqlite_path_with_url_characters(tmp_path: Path) -> None:
    # The SQLite URL was built as text: a '?' in the path started a query string and the database
    # landed outside the data directory.
    data_dir = tmp_path / "odd?dir#1"
    sessions = open_meta(data_dir)
    try:
        create_project(sessions, "shop", "UTC")
    finally:
        sessions.kw["bind"].dispose()
    assert (data_dir / "meta.sqlite3").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd?dir#1"]
