"""Bulk import throughput: `userops import` of Segment JSONL vs ClickHouse reading the same file.

    python benchmarks/import_jsonl.py --events 1000000

Writes a synthetic Segment JSONL file (tracks, pages and identify calls over ~10% as many
anonymous ids as events, a third of them later identified), imports it into a fresh data
directory through the full path (validation, dedupe, identity, store), then times chDB's own
`INSERT ... SELECT FROM file(..., JSONEachRow)` of the same file into a plain table as the
reference: the floor for getting these bytes into ClickHouse at all; and chDB parsing the same
file straight into UserOps' events table (promoted columns computed, no validation, dedupe or
identity): the floor for any import into that table. Prints events/s for each and the ratios.
Target (issue 3): at least 200k events/s for the full path on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

from userops.config import load_settings
from userops.ingest.importer import ImportSummary, import_file
from userops.ingest.pipeline import Ingestor
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.store import scalar

EVENTS = (
    "app_open",
    "view_item",
    "search",
    "add_to_cart",
    "checkout",
    "order_completed",
    "check_in",
)


def write_events(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    devices = max(1, count // 10)
    with path.open("wb") as fh:
        for n in range(count):
            device = rng.randrange(devices)
            anonymous_id = f"anon-{device:08d}"
            user_id = f"user-{device:08d}" if device % 3 == 0 and rng.random() < 0.5 else None
            when = start + dt.timedelta(seconds=rng.randrange(60 * 86400))
            message: dict[str, object] = {
                "messageId": f"m-{seed}-{n}",
                "anonymousId": anonymous_id,
                "timestamp": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "context": {
                    "campaign": {
                        "source": rng.choice(("douyin", "wechat", "baidu")),
                        "medium": "cpc",
                    },
                    "os": {"name": rng.choice(("iOS", "Android")), "version": "17.1"},
                    "app": {"version": "3.2.1"},
                    "locale": "zh-CN",
                },
            }
            if user_id and rng.random() < 0.05:
                message.update(type="identify", userId=user_id, traits={"city": "上海", "age": 30})
            elif rng.random() < 0.15:
                message.update(
                    type="page", name="商品详情", properties={"url": "https://shop.example/p/1"}
                )
            else:
                if user_id:
                    message["userId"] = user_id
                event = rng.choice(EVENTS)
                properties: dict[str, object] = {
                    "product_id": f"p{rng.randrange(5000)}",
                    "price": 199.0,
                }
                if event == "order_completed":
                    properties.update(revenue=round(rng.uniform(10, 2000), 2), currency="CNY")
                message.update(type="track", event=event, properties=properties)
            fh.write(orjson.dumps(message) + b"\n")


def time_userops(path: Path, data_dir: Path) -> ImportSummary:
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        project = create_project(runtime.sessions, "bench", "Asia/Shanghai")
        from userops.ingest.parse import limits_from

        summary = ImportSummary()
        ingestor = Ingestor(runtime.sessions, runtime.store, project.id)
        import_file(path, "segment-jsonl", ingestor, project.id, limits_from(settings),
                    settings.import_chunk_rows, summary)  # fmt: skip
        stored = scalar(runtime.store, "SELECT count() FROM events")
        assert stored == summary.imported, (stored, summary)
    return summary


def time_clickhouse_native(path: Path, data_dir: Path) -> float:
    from chdb import session

    s = session.Session(str(data_dir / "native"))
    s.query(
        "CREATE TABLE raw (messageId String, anonymousId String, userId String, type String, "
        "event String, timestamp DateTime64(3, 'UTC'), properties String, context String) "
        "ENGINE = MergeTree ORDER BY timestamp"
    )
    started = time.perf_counter()
    s.query(
        f"INSERT INTO raw SELECT * FROM file('{path}', JSONEachRow, "  # noqa: S608 - a temp path
        "'messageId String, anonymousId String, userId String, type String, event String, "
        "timestamp DateTime64(3, \\'UTC\\'), properties String, context String') "
        "SETTINGS input_format_skip_unknown_fields = 1, "
        "input_format_json_read_objects_as_strings = 1"
    )
    seconds = time.perf_counter() - started
    s.close()
    return seconds


def time_clickhouse_into_events(path: Path, data_dir: Path) -> float:
    """chDB alone parsing the file into UserOps' own events table (migrations applied, promoted
    columns computed, no validation, dedupe or identity): no import into this table can be
    faster on this machine."""
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        started = time.perf_counter()
        runtime.store.command(
            "INSERT INTO events (project_id, message_id, type, event, timestamp, received_at, "  # noqa: S608 - a temp path
            "distinct_id, anonymous_id, user_id, name, properties, traits, context) "
            "SELECT 1, messageId, type, if(type = 'track', event, '$' || type), timestamp, "
            "now64(3), if(userId != '', userId, anonymousId), anonymousId, userId, name, "
            f"properties, traits, context FROM file('{path}', JSONEachRow, "
            "'messageId String, anonymousId String, userId String, type String, event String, "
            "name String, timestamp DateTime64(3, \\'UTC\\'), properties String, "
            "traits String, context String') "
            "SETTINGS input_format_skip_unknown_fields = 1, "
            "input_format_json_read_objects_as_strings = 1"
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="userops-bench-") as tmp:
        work = Path(tmp)
        path = work / "events.jsonl"
        write_events(path, args.events, args.seed)
        size_mb = path.stat().st_size / 1e6
        summary = time_userops(path, work / "data")
        native = time_clickhouse_native(path, work)
        floor = time_clickhouse_into_events(path, work / "floor")
    ours = summary.events_per_second
    theirs = args.events / native
    print(f"file: {args.events:,} events, {size_mb:,.0f} MB of Segment JSONL")
    print(
        f"userops import (validate, dedupe, identity, store): {summary.seconds:6.2f} s  "
        f"{ours:>10,.0f} events/s  (imported {summary.imported:,}, rejected {summary.rejected})"
    )
    print(
        f"chDB INSERT FROM file JSONEachRow (reference):      {native:6.2f} s  "
        f"{theirs:>10,.0f} events/s"
    )
    print(
        f"chDB INSERT FROM file into the events table (floor): {floor:6.2f} s  "
        f"{args.events / floor:>10,.0f} events/s"
    )
    print(f"ratio userops / reference time: {summary.seconds / native:.2f}")
    print(f"ratio userops / events-table floor time: {summary.seconds / floor:.2f}")
    print(f"target >= 200,000 events/s: {'met' if ours >= 200_000 else 'NOT met'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
