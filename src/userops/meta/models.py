"""Metadata tables: projects and identities (persons, their ids, links and merges); accounts
(users, memberships, web sessions, failed logins) and API keys; saved insights and dashboards;
segments and their refreshes (the members themselves live in the event store).

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
    Text,
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
    # How persons are layered (lifecycle-stage thresholds, the RFM window and value event, the
    # value tier's metric and percentile), as ``userops.analysis.layers.PeopleSettings``
    # dumps it; {} means every default.
    people_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
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
    # A key made in the console belongs to its user and acts with that user's role in the
    # project; a key from `userops keys create` has no user and acts as an analyst.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)


# --- accounts ----------------------------------------------------------------------------------


class User(Base):
    """A person who signs in to the console. ``is_owner``: admin of every project, may create
    projects. ``password_hash`` is an argon2id hash (see ``userops.meta.users``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lowercased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Membership(Base):
    """A user's role in one project: ``admin``, ``analyst`` or ``viewer``."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A console sign-in. The cookie holds a random token; only its SHA-256 is kept here, so a
    copy of the table signs nobody in."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """One failed sign-in, counted per email and per client address for the rate limit.

    Kept in the metadata store rather than in memory, so the limit survives a restart and holds
    across several server processes.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_client_ip_at", "client_ip", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- saved analyses ----------------------------------------------------------------------------


class SavedInsight(Base):
    """An analysis spec saved under a name; ``kind`` repeats the spec's, for listings."""

    __tablename__ = "saved_insights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dashboard(Base):
    """A grid of saved insights: ``tiles`` is a list of ``{insight_id, x, y, w, h}``;
    ``date_range``, when set, is an analysis ``DateRange`` applied to every tile (NULL: each
    tile keeps its own)."""

    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tiles: Mapped[list[Any]] = mapped_column(JSON)
    date_range: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- segments ----------------------------------------------------------------------------------


class Segment(Base):
    """A saved segment (用户分群): a definition (``userops.segments.spec``) refreshed every
    ``refresh_minutes``; the ``refresh_*`` columns and ``size`` repeat its last refresh's."""

    __tablename__ = "segments"
    # AUTOINCREMENT on SQLite: an id is never handed out again after a delete, so the event
    # store's rows of a deleted segment can never be read as a new one's.
    __table_args__ = (UniqueConstraint("project_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    refresh_minutes: Mapped[int] = mapped_column(Integer, default=60)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refresh_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    refresh_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class SegmentRefresh(Base):
    """One refresh of a segment: ``running``, then ``ok`` or ``failed``. Its changes sit in the
    event store's ``segment_changes`` under its id, and count only once it is ``ok``. ``at`` is
    the moment the membership is as of (the changes' time); started and finished are the
    clock's."""

    __tablename__ = "segment_refreshes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    entered: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    exited: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Tag(Base):
    """A tag (标签) persons carry. ``manual``: added and removed by hand, one person or a whole
    segment at once; ``rule``: published by a segment (``segment_id``), its members carry it
    from each completed refresh on. Who carries it is the event store's ``person_tags``."""

    __tablename__ = "tags"
    # AUTOINCREMENT on SQLite, as segments: the event store's rows of a deleted tag can never
    # be read as a new one's.
    __table_args__ = (UniqueConstraint("project_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str] = mapped_column(String(16), default="")
    kind: Mapped[str] = mapped_column(String(16), default="manual")
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
