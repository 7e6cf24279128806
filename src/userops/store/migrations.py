"""Versioned event-store schema, applied on start.

Each migration is a version, a description and statements that run unchanged on chDB and on a
ClickHouse server. A cluster deployment would swap the engines for Replicated*/Distributed ones
here and nowhere else. ``schema_migrations`` records what has been applied.

Why the events table looks like this (measured in benchmarks/events_table.py):
- ORDER BY (project_id, toDate(timestamp), event, person_id, timestamp): every query is scoped to
  one project and a date range, most name one or a few events; person_id then timestamp keeps a
  person's events together in time order for funnels and retention.
- PARTITION BY month: few parts on a laptop-sized store, whole months dropped cheaply.
- Promoted columns (UTM, os, browser, device type, app version, country) are the ones analyses
  group on daily; everything else stays as JSON text (ZSTD-compressed), read with JSONExtract.
  Their DEFAULT expressions extract them from `context` at insert time, in ClickHouse, from one
  parse of it per row (migration 2): doing it in Python cost about 2 us an event. A writer that
  knows better (the HTTP API parsing a user agent) sends the column and the default is unused.
- No skip index on message_id: bulk import checks 100k ids at a time, where a bloom filter made
  the lookup 500 times slower (107 s against 0.2 s for a scan of the column, measured).
- person_id is stamped at ingestion; person_overrides holds the current person of every
  distinct id whose person changed since (merges, unmerges), so queries resolve identity exactly
  with a small join instead of joining every event to a full id map.
- segment_changes (migration 3) is append-only: each refresh of a segment writes who entered and
  who left, under its refresh id. Whether a refresh completed is the metadata store's
  (segment_refreshes), and readers take only completed refreshes' rows, so a refresh that fails
  half-way leaves the previous membership as it was. ORDER BY (project, segment, person, at)
  keeps a segment's rows together and a person's changes in time order.
- person_stats (migration 4) holds computed person properties (userops.analysis.computed), a row
  per person and refresh; ReplacingMergeTree(refreshed_at) keeps the newest, read with FINAL.
- person_stages (migration 5): each person's lifecycle stage on the first day of a refreshed
  range and on every day it changed (userops.analysis.stages); readers take the project's
  newest refresh, so ORDER BY starts with it.
- person_rfm (migration 6): each person's RFM values, quintile scores and group as of the last
  refresh (userops.analysis.rfm); a person no longer scored gets a row with an empty group.
- segment_refreshes_done (migration 7): the refreshes that completed, written as a refresh's
  last step in the event store, so that analyses (which read only the event store) take a
  segment's membership from completed refreshes without asking the metadata store.
- person_tags (migration 8): tags added to and removed from persons, append-only; the newest
  row per (tag, person) wins. A manual row has refresh_id 0; a rule tag's rows carry the refresh
  of the segment that published them and count once that refresh completed. distinct_id is one
  of the person's ids when tagged, resolved through person_overrides like an event's, so a tag
  follows its person through merges and their undoing.
- person_tiers (migration 9): each person's value tier (core or mass) by the project's chosen
  metric and percentile as of the last refresh (userops.analysis.tiers).
- person_refreshes (migration 10): the person-layer refreshes that completed, written as a
  refresh's step after its rows are in (family 'stages', 'tiers'), with what it used as JSON
  (``detail``); readers take the newest completed refresh, so rows of a refresh that failed
  half-way are never read. Existing stage refreshes are marked complete as the migration runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from userops.store.base import EventStore, rows


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


def utm(campaign_key: str, url_parameter: str) -> str:
    """UTM from context.campaign, else from the page URL (context.page.url or properties.url).

    Version 1's expression, kept as migration 1 ran it; version 2 computes the same value."""
    page_url = (
        "if(JSONExtractString(context, 'page', 'url') != '', "
        "JSONExtractString(context, 'page', 'url'), JSONExtractString(properties, 'url'))"
    )
    return (
        "if(JSONHas(context, 'campaign'), "
        f"JSONExtractString(context, 'campaign', '{campaign_key}'), "
        f"extractURLParameter({page_url}, '{url_parameter}'))"
    )


# Version 2: the promoted columns' defaults read one EPHEMERAL tuple, parsed from `context` once
# per row, instead of parsing `context` again for each (up to 14 parses a row). Same values
# (tests/test_store_conformance.py compares them on awkward contexts); inserting 1M events
# into the events table took 4.6 s instead of 5.7 s (measured with chDB on this machine).
CONTEXT_FIELDS = (
    "Tuple(campaign Tuple(source String, medium String, name String), page Tuple(url String), "
    "os Tuple(name String), browser Tuple(name String), device Tuple(type String), "
    "app Tuple(version String), location Tuple(country String))"
)


def _context_field(*path: str) -> str:
    expression = "context_fields"
    for name in path:
        expression = f"tupleElement({expression}, '{name}')"
    return expression


def _utm_v2(campaign_key: str, url_parameter: str) -> str:
    """As ``utm``: context.campaign when present, else the page URL's query parameter."""
    page_url = _context_field("page", "url")
    url = f"if({page_url} != '', {page_url}, JSONExtractString(properties, 'url'))"
    return (
        f"if(has_campaign, {_context_field('campaign', campaign_key)}, "
        f"extractURLParameter({url}, '{url_parameter}'))"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events and person overrides",
        (
            f"""
            CREATE TABLE IF NOT EXISTS events (
                project_id UInt32,
                uuid UUID DEFAULT generateUUIDv4(),
                message_id String,
                type LowCardinality(String),
                event LowCardinality(String),
                timestamp DateTime64(3, 'UTC'),
                received_at DateTime64(3, 'UTC'),
                distinct_id String,
                person_id UInt64,
                anonymous_id String,
                user_id String,
                previous_id String,
                group_id String,
                name String,
                category String,
                properties String CODEC(ZSTD(3)),
                traits String CODEC(ZSTD(3)),
                traits_once String CODEC(ZSTD(3)),
                context String CODEC(ZSTD(3)),
                utm_source LowCardinality(String) DEFAULT {utm("source", "utm_source")},
                utm_medium LowCardinality(String) DEFAULT {utm("medium", "utm_medium")},
                utm_campaign LowCardinality(String) DEFAULT {utm("name", "utm_campaign")},
                os LowCardinality(String)
                    DEFAULT JSONExtractString(context, 'os', 'name'),
                browser LowCardinality(String)
                    DEFAULT JSONExtractString(context, 'browser', 'name'),
                device_type LowCardinality(String)
                    DEFAULT JSONExtractString(context, 'device', 'type'),
                app_version LowCardinality(String)
                    DEFAULT JSONExtractString(context, 'app', 'version'),
                country LowCardinality(String)
                    DEFAULT JSONExtractString(context, 'location', 'country')
            )
            ENGINE = MergeTree
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (project_id, toDate(timestamp), event, person_id, timestamp)
            """,
            """
            CREATE TABLE IF NOT EXISTS person_overrides (
                project_id UInt32,
                distinct_id String,
                person_id UInt64,
                version UInt64
            )
            ENGINE = ReplacingMergeTree(version)
            ORDER BY (project_id, distinct_id)
            """,
        ),
    ),
    Migration(
        2,
        "promoted columns from one parse of context",
        (
            "ALTER TABLE events ADD COLUMN IF NOT EXISTS has_campaign Bool "
            "EPHEMERAL JSONHas(context, 'campaign')",
            f"ALTER TABLE events ADD COLUMN IF NOT EXISTS context_fields {CONTEXT_FIELDS} "
            f"EPHEMERAL JSONExtract(context, '{CONTEXT_FIELDS}')",
            *(
                f"ALTER TABLE events MODIFY COLUMN {column} LowCardinality(String) DEFAULT {expr}"
                for column, expr in (
                    ("utm_source", _utm_v2("source", "utm_source")),
                    ("utm_medium", _utm_v2("medium", "utm_medium")),
                    ("utm_campaign", _utm_v2("name", "utm_campaign")),
                    ("os", _context_field("os", "name")),
                    ("browser", _context_field("browser", "name")),
                    ("device_type", _context_field("device", "type")),
                    ("app_version", _context_field("app", "version")),
                    ("country", _context_field("location", "country")),
                )
            ),
        ),
    ),
    Migration(
        3,
        "segment membership changes",
        (
            """
            CREATE TABLE IF NOT EXISTS segment_changes (
                project_id UInt32,
                segment_id UInt64,
                refresh_id UInt64,
                person_id UInt64,
                at DateTime64(3, 'UTC'),
                entered Bool
            )
            ENGINE = MergeTree
            ORDER BY (project_id, segment_id, person_id, at)
            """,
        ),
    ),
    Migration(
        4,
        "computed person properties",
        (
            """
            CREATE TABLE IF NOT EXISTS person_stats (
                project_id UInt32,
                person_id UInt64,
                refreshed_at DateTime64(3, 'UTC'),
                first_seen DateTime64(3, 'UTC'),
                last_seen DateTime64(3, 'UTC'),
                first_channel String,
                first_utm_medium String,
                first_utm_campaign String,
                events UInt64,
                events_30d UInt64,
                active_days_30d UInt32,
                orders UInt64,
                revenue Float64,
                revenue_30d Float64,
                last_order_at Nullable(DateTime64(3, 'UTC'))
            )
            ENGINE = ReplacingMergeTree(refreshed_at)
            ORDER BY (project_id, person_id)
            """,
        ),
    ),
    Migration(
        5,
        "lifecycle stages",
        (
            """
            CREATE TABLE IF NOT EXISTS person_stages (
                project_id UInt32,
                person_id UInt64,
                day Date,
                stage LowCardinality(String),
                previous LowCardinality(String),
                refreshed_at DateTime64(3, 'UTC')
            )
            ENGINE = MergeTree
            ORDER BY (project_id, refreshed_at, person_id, day)
            """,
        ),
    ),
    Migration(
        6,
        "RFM scores",
        (
            """
            CREATE TABLE IF NOT EXISTS person_rfm (
                project_id UInt32,
                person_id UInt64,
                refreshed_at DateTime64(3, 'UTC'),
                recency_days UInt32,
                frequency UInt64,
                monetary Float64,
                r UInt8,
                f UInt8,
                m UInt8,
                rfm_group LowCardinality(String)
            )
            ENGINE = ReplacingMergeTree(refreshed_at)
            ORDER BY (project_id, person_id)
            """,
        ),
    ),
    Migration(
        7,
        "completed segment refreshes",
        (
            """
            CREATE TABLE IF NOT EXISTS segment_refreshes_done (
                project_id UInt32,
                segment_id UInt64,
                refresh_id UInt64,
                at DateTime64(3, 'UTC')
            )
            ENGINE = MergeTree
            ORDER BY (project_id, segment_id, refresh_id)
            """,
        ),
    ),
    Migration(
        8,
        "person tags",
        (
            """
            CREATE TABLE IF NOT EXISTS person_tags (
                project_id UInt32,
                tag_id UInt64,
                person_id UInt64,
                distinct_id String,
                at DateTime64(3, 'UTC'),
                refresh_id UInt64,
                added Bool
            )
            ENGINE = MergeTree
            ORDER BY (project_id, tag_id, person_id, at)
            """,
        ),
    ),
    Migration(
        9,
        "value tiers",
        (
            """
            CREATE TABLE IF NOT EXISTS person_tiers (
                project_id UInt32,
                person_id UInt64,
                refreshed_at DateTime64(3, 'UTC'),
                metric LowCardinality(String),
                value Float64,
                tier LowCardinality(String)
            )
            ENGINE = ReplacingMergeTree(refreshed_at)
            ORDER BY (project_id, person_id)
            """,
        ),
    ),
    Migration(
        10,
        "completed person-layer refreshes",
        (
            """
            CREATE TABLE IF NOT EXISTS person_refreshes (
                project_id UInt32,
                family LowCardinality(String),
                refreshed_at DateTime64(3, 'UTC'),
                detail String
            )
            ENGINE = MergeTree
            ORDER BY (project_id, family, refreshed_at)
            """,
            # Stage rows written before this migration came from refreshes that completed as
            # far as anyone can tell: the newest per project stays readable.
            """
            INSERT INTO person_refreshes
            SELECT project_id, 'stages', max(refreshed_at), '' FROM person_stages
            GROUP BY project_id
            """,
        ),
    ),
)


def _ensure_ledger(store: EventStore) -> None:
    store.command(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version UInt32, description String, applied_at DateTime64(3, 'UTC')
        ) ENGINE = MergeTree ORDER BY version
        """
    )


def applied_versions(store: EventStore) -> set[int]:
    _ensure_ledger(store)
    return {int(r[0]) for r in rows(store, "SELECT version FROM schema_migrations")}


def migrate(store: EventStore) -> list[int]:
    """Apply every migration not yet applied, in order; return the versions applied now."""
    done = applied_versions(store)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.command(statement)
        store.command(
            "INSERT INTO schema_migrations VALUES ({v:UInt32}, {d:String}, {t:DateTime64(3)})",
            {"v": migration.version, "d": migration.description, "t": dt.datetime.now(dt.UTC)},
        )
        applied.append(migration.version)
    return applied
