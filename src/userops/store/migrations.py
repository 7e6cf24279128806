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
  Their DEFAULT expressions extract them from `context` at insert time, in ClickHouse: doing it
  in Python cost about 2 us an event, a tenth of bulk import's budget. A writer that knows
  better (the HTTP API parsing a user agent) sends the column and the default is not used.
- No skip index on message_id: bulk import checks 100k ids at a time, where a bloom filter made
  the lookup 500 times slower (107 s against 0.2 s for a scan of the column, measured).
- person_id is stamped at ingestion; person_overrides holds the current person of every
  distinct id whose person changed since (merges, unmerges), so queries resolve identity exactly
  with a small join instead of joining every event to a full id map.
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
    """UTM from context.campaign, else from the page URL (context.page.url or properties.url)."""
    page_url = (
        "if(JSONExtractString(context, 'page', 'url') != '', "
        "JSONExtractString(context, 'page', 'url'), JSONExtractString(properties, 'url'))"
    )
    return (
        "if(JSONHas(context, 'campaign'), "
        f"JSONExtractString(context, 'campaign', '{campaign_key}'), "
        f"extractURLParameter({page_url}, '{url_parameter}'))"
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
