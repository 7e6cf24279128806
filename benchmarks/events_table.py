"""Which sort key should the events table have? Three candidate layouts on the same data.

    python benchmarks/events_table.py --events 2000000 --seed 7

Generates synthetic events (about 50k persons with skewed activity, 20 event names with a Zipf
distribution, 90 days with a daily rhythm in Asia/Shanghai, 90% of rows in project 1 and the rest
in project 2), loads the same rows into one table per layout in one chDB session, and times the
queries analyses run most, best of ``--runs``:

    a  ORDER BY (project_id, toDate(timestamp), event, person_id, timestamp)   the current one
    b  ORDER BY (project_id, event, toDate(timestamp), person_id, timestamp)
    c  ORDER BY (project_id, person_id, timestamp)
    d  layout a with properties as Map(String, String), for the property filter only

Every table is created from the real DDL in ``userops.store.migrations`` with only the sort key
(and for d the properties column) swapped, and merged to one part per partition so that no layout
is measured mid-merge. Every layout must return the same answer to every query, or the script
stops. Prints seconds per query per layout, the ratio to layout a, and bytes on disk per layout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from userops.store.base import EventStore, rows
from userops.store.embedded import EmbeddedStore
from userops.store.migrations import MIGRATIONS

EVENT_NAMES = (
    "$pageview", "view_item", "app_open", "search", "$screen", "add_to_cart", "click_banner",
    "login", "share", "checkout", "order_completed", "check_in", "add_favorite", "coupon_claim",
    "signup", "comment", "refund", "invite_friend", "subscribe", "logout",
)  # fmt: skip
CATEGORIES = ("书", "电子", "服装", "食品", "美妆", "家居", "运动", "母婴", "x", "玩具")
START_MS = 1_704_038_400_000  # 2024-01-01 00:00 Asia/Shanghai, in UTC milliseconds
DAY_MS = 86_400_000
DAYS = 90


@dataclass(frozen=True)
class Layout:
    key: str
    table: str
    order_by: str
    map_properties: bool = False


LAYOUTS = (
    Layout("a", "events_a", "project_id, toDate(timestamp), event, person_id, timestamp"),
    Layout("b", "events_b", "project_id, event, toDate(timestamp), person_id, timestamp"),
    Layout("c", "events_c", "project_id, person_id, timestamp"),
    Layout("d", "events_d", "project_id, toDate(timestamp), event, person_id, timestamp", True),
)


def generate(count: int, persons: int, seed: int) -> pa.Table:
    """``count`` events as an Arrow table with the events table's columns."""
    rng = np.random.default_rng(seed)
    # A few heavy users and a long tail, as in product analytics data.
    activity = rng.lognormal(0.0, 1.2, persons)
    person = rng.choice(persons, size=count, p=activity / activity.sum()).astype(np.uint64) + 1
    rank = np.arange(1, len(EVENT_NAMES) + 1)
    name_p = 1 / rank**1.2
    event = rng.choice(len(EVENT_NAMES), size=count, p=name_p / name_p.sum())
    # Days uniform; hours of the day peak in the Shanghai evening.
    day = rng.integers(0, DAYS, count)
    hour_p = np.array([1, 1, 1, 1, 1, 2, 3, 5, 7, 7, 6, 6, 7, 6, 6, 6, 6, 7, 8, 10, 11, 10, 7, 3.0])
    hour = rng.choice(24, size=count, p=hour_p / hour_p.sum())
    millis = START_MS + day * DAY_MS + hour * 3_600_000 + rng.integers(0, 3_600_000, count)
    project = np.where(rng.random(count) < 0.9, 1, 2).astype(np.uint32)

    category = pa.array(np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), count)])
    price = pc.cast(pa.array(rng.integers(100, 100_000, count) / 100), pa.string())
    item = pc.cast(pa.array(rng.integers(1, 5_000, count)), pa.string())
    properties = pc.binary_join_element_wise(
        '{"category":"', category, '","price":', price, ',"item_id":"', item, '"}', ""
    )
    distinct = pc.binary_join_element_wise("u-", pc.cast(pa.array(person), pa.string()), "")
    uuids = pa.ExtensionArray.from_storage(
        pa.uuid(), pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(16), count, [None, pa.py_buffer(rng.bytes(16 * count))]
        )
    )  # fmt: skip

    def pick(values: tuple[str, ...], p: tuple[float, ...]) -> pa.Array:
        return pa.array(np.array(values, dtype=object)[rng.choice(len(values), count, p=p)])

    return pa.table(
        {
            "project_id": pa.array(project),
            "uuid": uuids,
            "message_id": pc.binary_join_element_wise(
                "m-", pc.cast(pa.array(np.arange(count)), pa.string()), ""
            ),
            "type": pa.array(np.full(count, "track", dtype=object)),
            "event": pa.array(np.array(EVENT_NAMES, dtype=object)[event]),
            "timestamp": pa.array(millis, pa.timestamp("ms", tz="UTC")),
            "received_at": pa.array(millis + 150, pa.timestamp("ms", tz="UTC")),
            "distinct_id": distinct,
            "person_id": pa.array(person),
            "properties": properties,
            "context": pa.array(np.full(count, '{"locale":"zh-CN"}', dtype=object)),
            "utm_source": pick(
                ("", "wechat", "douyin", "baidu", "xiaohongshu"), (0.5, 0.2, 0.15, 0.1, 0.05)
            ),
            "os": pick(("iOS", "Android", "Windows", "macOS"), (0.4, 0.45, 0.1, 0.05)),
            "country": pick(("CN", "HK", "SG", "US"), (0.94, 0.03, 0.02, 0.01)),
        }
    )  # fmt: skip


def layout_ddl(layout: Layout) -> str:
    """The real events DDL with this layout's table name, sort key and properties type."""
    ddl = MIGRATIONS[0].statements[0]
    ddl = ddl.replace("CREATE TABLE IF NOT EXISTS events (", f"CREATE TABLE {layout.table} (", 1)
    ddl, swapped = re.subn(r"ORDER BY \(.*\)", f"ORDER BY ({layout.order_by})", ddl)
    if swapped != 1 or layout.table not in ddl:
        raise SystemExit("the events DDL in migrations.py changed shape: update this benchmark")
    if layout.map_properties:
        ddl = ddl.replace("properties String CODEC(ZSTD(3))", "properties Map(String, String)")
    return ddl


# One part per partition straight from the copy: no layout is measured mid-merge.
ONE_PART = (
    " SETTINGS max_insert_block_size = 100000000, min_insert_block_size_rows = 100000000,"
    " min_insert_block_size_bytes = 0, max_block_size = 100000000"
)


def load(store: EventStore, data: pa.Table) -> None:
    """The same rows into every layout, each merged to one part per month."""
    # Arrow lands in memory first: a MergeTree insert would sort and compress it once more.
    store.command(f"CREATE TABLE stage ENGINE = Memory AS SELECT * FROM {LAYOUTS[0].table} LIMIT 0")  # noqa: S608
    store.insert_arrow("stage", data)
    for layout in LAYOUTS:
        # Raw JSON values keep their quotes; the map holds them as plain text.
        select = (
            "* REPLACE (CAST(arrayMap(kv -> (kv.1, trim(BOTH '\"' FROM kv.2)),"
            " JSONExtractKeysAndValuesRaw(properties)), 'Map(String, String)') AS properties)"
            if layout.map_properties
            else "*"
        )
        store.command(f"INSERT INTO {layout.table} SELECT {select} FROM stage{ONE_PART}")  # noqa: S608
        parts, partitions = rows(
            store,
            "SELECT count(), uniqExact(partition) FROM system.parts"
            " WHERE database = currentDatabase() AND table = {t:String} AND active",
            {"t": layout.table},
        )[0]
        if parts != partitions:
            store.command(f"OPTIMIZE TABLE {layout.table} FINAL")
    store.command("DROP TABLE stage")


# Query templates: {t} is the table; values are parameters. Ranges are whole Shanghai days.
QUERIES: dict[str, str] = {
    "DAU 30d": """
        SELECT toDate(timestamp, 'Asia/Shanghai') AS day, uniqExact(person_id)
        FROM {t}
        WHERE project_id = {{project:UInt32}}
          AND timestamp >= {{from30:DateTime64(3)}} AND timestamp < {{to:DateTime64(3)}}
        GROUP BY day ORDER BY day
    """,
    "funnel 3 steps 7d": """
        SELECT level, count() FROM (
            SELECT person_id,
                   windowFunnel(86400000)(toUInt64(toUnixTimestamp64Milli(timestamp)),
                       event = 'view_item', event = 'add_to_cart', event = 'order_completed'
                   ) AS level
            FROM {t}
            WHERE project_id = {{project:UInt32}}
              AND timestamp >= {{from7:DateTime64(3)}} AND timestamp < {{to:DateTime64(3)}}
              AND event IN ('view_item', 'add_to_cart', 'order_completed')
            GROUP BY person_id
        ) GROUP BY level ORDER BY level
    """,
    "count 1 event 7d": """
        SELECT count() FROM {t}
        WHERE project_id = {{project:UInt32}} AND event = 'add_to_cart'
          AND timestamp >= {{from7:DateTime64(3)}} AND timestamp < {{to:DateTime64(3)}}
    """,
    "property filter 30d": """
        SELECT count() FROM {t}
        WHERE project_id = {{project:UInt32}} AND event = 'view_item'
          AND timestamp >= {{from30:DateTime64(3)}} AND timestamp < {{to:DateTime64(3)}}
          AND {prop} = {{category:String}}
    """,
    "retention arrays 30d": """
        SELECT first, count(), countIf(has(days, first + 1)), countIf(has(days, first + 7))
        FROM (
            SELECT person_id, groupUniqArray(toDate(timestamp, 'Asia/Shanghai')) AS days,
                   arrayMin(days) AS first
            FROM {t}
            WHERE project_id = {{project:UInt32}}
              AND timestamp >= {{from30:DateTime64(3)}} AND timestamp < {{to:DateTime64(3)}}
            GROUP BY person_id
        ) GROUP BY first ORDER BY first
    """,
    "one person's timeline": """
        SELECT timestamp, event FROM {t}
        WHERE project_id = {{project:UInt32}} AND person_id = {{person:UInt64}}
        ORDER BY timestamp DESC, event LIMIT 100
    """,
}
JSON_PROPERTY = "JSONExtractString(properties, 'category')"
MAP_PROPERTY = "properties['category']"


def sql_for(name: str, layout: Layout) -> str:
    prop = MAP_PROPERTY if layout.map_properties else JSON_PROPERTY
    return QUERIES[name].format(t=layout.table, prop=prop)


def applies(name: str, layout: Layout) -> bool:
    """Layout d differs from a only in properties, so it runs the property filter alone."""
    return not layout.map_properties or name == "property filter 30d"


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result


def marks_read(store: EventStore, sql: str, params: dict[str, Any]) -> int:
    """Granules the primary key and partitions leave to read: the layout's effect, noise-free."""
    return sum(int(r[4]) for r in rows(store, f"EXPLAIN ESTIMATE {sql}", params))


def on_disk(store: EventStore, table: str) -> tuple[int, int, int]:
    found = rows(
        store,
        "SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes), count()"
        " FROM system.parts WHERE database = currentDatabase() AND table = {t:String} AND active",
        {"t": table},
    )
    return int(found[0][0]), int(found[0][1]), int(found[0][2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query; best is kept")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    data = generate(args.events, args.persons, args.seed)
    print(f"generated {data.num_rows:,} events in {time.perf_counter() - began:.1f}s", flush=True)

    with tempfile.TemporaryDirectory(prefix="userops-bench-") as tmp:
        store = EmbeddedStore(Path(tmp) / "events")
        try:
            loaded = time.perf_counter()
            for layout in LAYOUTS:
                store.command(layout_ddl(layout))
            load(store, data)
            del data
            print(
                f"loaded {len(LAYOUTS)} layouts in {time.perf_counter() - loaded:.1f}s", flush=True
            )
            report(store, args.runs)
        finally:
            store.close()
    print(f"total {time.perf_counter() - began:.1f}s")
    return 0


def report(store: EventStore, runs: int) -> None:
    to_ms = START_MS + 60 * DAY_MS  # the windows end on day 60 of 90: data before and after
    heavy = rows(
        store,
        "SELECT person_id FROM events_a WHERE project_id = 1"
        " GROUP BY person_id ORDER BY count() DESC LIMIT 1",
    )[0][0]
    params: dict[str, Any] = {
        "project": 1,
        "to": _utc(to_ms),
        "from7": _utc(to_ms - 7 * DAY_MS),
        "from30": _utc(to_ms - 30 * DAY_MS),
        "category": "x",
        "person": heavy,
    }
    plans = [(name, layout) for name in QUERIES for layout in LAYOUTS if applies(name, layout)]
    seconds = dict.fromkeys(((n, lay.key) for n, lay in plans), float("inf"))
    answers: dict[tuple[str, str], Any] = {}
    marks = {(n, lay.key): marks_read(store, sql_for(n, lay), params) for n, lay in plans}
    # Warm-up, then rounds that visit every layout in turn: a burst of load from other processes
    # on a shared machine then slows one round of every layout, not every run of one layout.
    for round_ in range(runs + 1):
        for name, layout in plans:
            took, answer = timed(partial(rows, store, sql_for(name, layout), params))
            if round_:
                seconds[name, layout.key] = min(seconds[name, layout.key], took)
            answers[name, layout.key] = answer
    for name in QUERIES:
        differing = {repr(a) for (n, _), a in answers.items() if n == name}
        if len(differing) != 1:
            print(f"layouts disagree on {name!r}: {differing}", file=sys.stderr)
            raise SystemExit(1)

    keys = [layout.key for layout in LAYOUTS]
    print()
    print(
        f"best of {runs} runs: seconds, ratio to a, granules (8192 rows) the index leaves to read;"
    )
    print("every layout gave the same answer to every query")
    print(f"{'query':<22}" + "".join(f"{k:>20}" for k in keys) + "   answer (layout a)")
    for name in QUERIES:
        cells = []
        for key in keys:
            if (name, key) not in seconds:
                cells.append(f"{'-':>20}")
                continue
            took = seconds[name, key]
            ratio = took / seconds[name, "a"]
            cells.append(f"{took:>8.3f} {ratio:4.2f}x {marks[name, key]:>4}g")
        answer = answers[name, "a"]
        summary = f"{len(answer)} rows, first {answer[0]}" if len(answer) > 1 else str(answer[0])
        print(f"{name:<22}" + "".join(cells) + f"   {summary[:60]}")
    total = {k: sum(t for (n, key), t in seconds.items() if key == k) for k in keys[:3]}
    cells = [f"{total[k]:>8.3f} {total[k] / total['a']:4.2f}x      " for k in keys[:3]]
    print(f"{'all six, summed':<22}" + "".join(cells))
    print()
    print(f"{'layout':<8}{'compressed MB':>15}{'uncompressed MB':>17}{'parts':>7}  order by")
    for layout in LAYOUTS:
        compressed, raw, parts = on_disk(store, layout.table)
        order = layout.order_by + ("  (properties as Map)" if layout.map_properties else "")
        print(f"{layout.key:<8}{compressed / 1e6:>15.1f}{raw / 1e6:>17.1f}{parts:>7}  {order}")


def _utc(millis: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


if __name__ == "__main__":
    raise SystemExit(main())
