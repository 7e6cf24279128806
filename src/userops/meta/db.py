"""Opening the metadata store: SQLite in the data directory, or PostgreSQL by URL.

Alembic migrations run on open, so every process sees the newest schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL keeps readers off the writer's back; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def database_url(data_dir: Path, configured: str) -> str | URL:
    # Built as a URL object, not text: a '?' or '#' in the path would otherwise start a query
    # string and put the database somewhere else.
    return configured or URL.create("sqlite", database=str(data_dir / "meta.sqlite3"))


def _shown(url: str | URL) -> str:
    """The URL for messages, password hidden; nothing when it does not even parse."""
    try:
        return " " + make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return ""


def create_meta_engine(url: str | URL) -> Engine:
    try:
        engine = create_engine(url)
    except ArgumentError as exc:  # also an unknown dialect or a missing driver
        raise ConfigError(f"setting database_url{_shown(url)}: {exc}",
                          field="database_url") from None  # fmt: skip
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upgrade(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    shown = _shown(engine.url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise ConfigError(
            f"cannot open the metadata store{shown}: {' '.join(str(exc.orig).split())}; "
            "check the database_url setting and that the server is up",
            field="database_url",
        ) from None
    except CommandError as exc:
        # The usual cause: a newer UserOps migrated this store, and this one cannot go back.
        raise ConfigError(
            f"metadata store{shown}: {exc}; it was migrated by another version of UserOps, "
            "so run that version (or a newer one)",
            field="database_url",
        ) from None


def open_meta(data_dir: Path, configured_url: str = "") -> sessionmaker[Session]:
    """A session factory on the migrated metadata store."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_meta_engine(database_url(data_dir, configured_url))
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return sessionmaker(engine, expire_on_commit=False)
