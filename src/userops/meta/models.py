"""Metadata tables: projects and identities (persons, their ids, links and merges).

Events live in the event store; these rows are the source of truth for who is who. A person's
traits are not copied here: they are folded from the person's identify events on read, which keeps
them exact when a merge is undone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its 64-bit rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A moment, always read back as an aware UTC datetime, on every engine.

    SQLite stores DateTime without its offset and reads it back naive; PostgreSQL reads it back in
    the session's time zone. Both are stored as UTC here, and read as UTC, so code can compare and
    format them the same way on either store. The DDL is plain ``DateTime(timezone=True)``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    write_key: Mapped[str] = mapped_column(String(64), unique=True)
    order_event: Mapped[str] = mapped_column(String(200), default="order_completed")
    revenue_property: Mapped[str] = mapped_column(String(200), default="revenue")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    store_client_ip: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set while this person is absorbed by a merge; cleared when the merge is undone.
    merged_into: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DistinctId(Base):
    __tablename__ = "distinct_ids"
    __table_args__ = (UniqueConstraint("project_id", "distinct_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    distinct_id: Mapped[str] = mapped_column(String(400))
    person_id: Mapped[int] = mapped_column(BigInteger, index=True)


class IdentityLink(Base):
    """One edge of the identity graph: two ids a message said belong to one person."""

    __tablename__ = "identity_links"
    __table_args__ = (
        UniqueConstraint("project_id", "id_a", "id_b"),
        Index("ix_identity_links_b", "project_id", "id_b"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    id_a: Mapped[str] = mapped_column(String(400))
    id_b: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Merge(Base):
    """A link that joined two persons: who absorbed whom, which ids moved, by what message."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    link_id: Mapped[int] = mapped_column(BigInteger)
    survivor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    absorbed_id: Mapped[int] = mapped_column(BigInteger, index=True)
    absorbed_anchor: Mapped[str] = mapped_column(String(400))
    moved_ids: Mapped[list[Any]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(Base):
    """A personal API key for the query API: one project, shown once, stored as its SHA-256.

    ``prefix`` is the key's first characters, enough to tell keys apart in a listing and never
    enough to use one.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
