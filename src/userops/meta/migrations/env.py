"""Alembic environment: runs on the connection handed over by ``userops.meta.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from userops.meta.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    # `alembic revision --autogenerate` from a shell: a scratch SQLite database.
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///alembic-scratch.sqlite3"
    connection = create_engine(url).connect()

# Tables that live in the metadata database but are not ours to migrate: APScheduler's job
# store (userops.segments.scheduler) creates and owns its own.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    include_object=ours,
)
with context.begin_transaction():
    context.run_migrations()
