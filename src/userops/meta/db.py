"""Opening the metadata store: SQLite in the data directory, or PostgreSQL by URL.

Alembic migrations run on open, so every process sees the newest schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL keeps readers off the writer's back; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def database_url(data_dir: Path, configured: str) -> str:
    return configured or f"sqlite:///{data_dir / 'meta.sqlite3'}"


def create_meta_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upgrade(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_meta(data_dir: Path, configured_url: str = "") -> sessionmaker[Session]:
    """A session factory on the migrated metadata store."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_meta_engine(database_url(data_dir, configured_url))
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)
