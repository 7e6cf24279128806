"""One conformance suite for every event-store engine.

Each test runs on chDB and, when USEROPS_TEST_CLICKHOUSE_URL names a server, on that server, in a
database of its own (``userops_test_<hex>``) that is dropped afterwards. What an engine cannot do
is skipped by name in the test, so a gap is visible rather than silent.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.errors import UserOpsError
from userops.store import EventStore, StoreError, open_store, rows, scalar
from userops.store.migrations import MIGRATIONS, applied_versions, migrate, utm

UTC = dt.UTC
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Location:
    """Where one test's store lives; ``open`` may be called again to reopen it."""

    url: str
    data_dir: Path
    opened: list[EventStore] = field(default_factory=list)

    def open(self) -> EventStore:
        store = open_store(self.data_dir, self.url)
        self.opened.append(store)
        return store


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.fixture
def location(store_url: str, tmp_path: Path) -> Iterator[Location]:
    if not store_url:
        where = Location("", tmp_path / "data")
        yield where
        for store in where.opened:
            store.close()
        return
    from userops.store.remote import RemoteStore

    database = f"userops_test_{uuid.uuid4().hex[:12]}"
    bootstrap = RemoteStore(store_url)
    bootstrap.command(f"CREATE DATABASE {database}")
    where = Location(_with_database(store_url, database), tmp_path)
    try:
        yield where
    finally:
        for store in where.opened:
            store.close()
        bootstrap.command(f"DROP DATABASE IF EXISTS {database} SYNC")
        bootstrap.close()


@pytest.fixture
def store(location: Location) -> EventStore:
    return location.open()


# --- data helpers -------------------------------------------------------------------------------

EVENT_COLUMNS: list[tuple[str, str]] = [
    ("project_id", "UInt32"),
    ("uuid", "UUID"),
    ("message_id", "String"),
    ("type", "LowCardinality(String)"),
    ("event", "LowCardinality(String)"),
    ("timestamp", "DateTime64(3, 'UTC')"),
    ("received_at", "DateTime64(3, 'UTC')"),
    ("distinct_id", "String"),
    ("person_id", "UInt64"),
    ("anonymous_id", "String"),
    ("user_id", "String"),
    ("previous_id", "String"),
    ("group_id", "String"),
    ("name", "String"),
    ("category", "String"),
    ("properties", "String"),
    ("traits", "String"),
    ("traits_once", "String"),
    ("context", "String"),
    ("utm_source", "LowCardinality(String)"),
    ("utm_medium", "LowCardinality(String)"),
    ("utm_campaign", "LowCardinality(String)"),
    ("os", "LowCardinality(String)"),
    ("browser", "LowCardinality(String)"),
    ("device_type", "LowCardinality(String)"),
    ("app_version", "LowCardinality(String)"),
    ("country", "LowCardinality(String)"),
]
STRING_COLUMNS = [name for name, type_ in EVENT_COLUMNS if "String" in type_]
ARROW_TYPES = {
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "UUID": pa.string(),
    "DateTime64(3, 'UTC')": pa.timestamp("ms", tz="UTC"),
}


def events_table(records: list[dict[str, Any]]) -> pa.Table:
    """Full event rows: unset strings are empty, unset numbers 0, unset times the epoch."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    defaults: dict[str, Any] = {"uuid": None, "timestamp": epoch, "received_at": epoch}
    columns: dict[str, pa.Array] = {}
    for name, type_ in EVENT_COLUMNS:
        default = defaults.get(name, "" if name in STRING_COLUMNS else 0)
        values = [r.get(name, default) for r in records]
        if name == "uuid":
            values = [str(v or uuid.uuid4()) for v in values]
        columns[name] = pa.array(values, ARROW_TYPES.get(type_, pa.string()))
    return pa.table(columns)


def overrides_table(records: list[tuple[int, str, int, int]]) -> pa.Table:
    project, distinct, person, version = zip(*records, strict=True)
    return pa.table(
        {
            "project_id": pa.array(project, pa.uint32()),
            "distinct_id": pa.array(distinct, pa.string()),
            "person_id": pa.array(person, pa.uint64()),
            "version": pa.array(version, pa.uint64()),
        }
    )


def column_types(store: EventStore, table: str) -> list[tuple[str, str]]:
    return [
        (str(n), str(t))
        for n, t in rows(
            store,
            # EPHEMERAL columns feed defaults at insert time and are never stored.
            "SELECT name, type FROM system.columns WHERE database = currentDatabase()"
            " AND table = {t:String} AND default_kind != 'EPHEMERAL' ORDER BY position",
            {"t": table},
        )
    ]


# --- schema and migrations ----------------------------------------------------------------------


def test_migrations_applied_on_open_and_idempotent_on_reopen(location: Location) -> None:
    every = {m.version for m in MIGRATIONS}
    store = location.open()
    assert applied_versions(store) == every
    ledger = rows(store, "SELECT version, description FROM schema_migrations ORDER BY version")
    assert ledger == [(m.version, m.description) for m in MIGRATIONS]
    store.insert_arrow("events", events_table([{"project_id": 1, "event": "kept"}]))
    assert migrate(store) == []
    store.close()

    reopened = location.open()
    assert migrate(reopened) == []
    again = rows(reopened, "SELECT version, description FROM schema_migrations ORDER BY version")
    assert again == ledger, "reopening must not apply a migration twice"
    assert rows(reopened, "SELECT project_id, event FROM events") == [(1, "kept")]


def test_migration_ledger_time_is_now(store: EventStore) -> None:
    applied = scalar(store, "SELECT max(applied_at) FROM schema_migrations")
    assert abs(applied - dt.datetime.now(UTC)) < dt.timedelta(minutes=5)


def test_events_table_has_exactly_the_contracted_columns(store: EventStore) -> None:
    assert column_types(store, "events") == EVENT_COLUMNS
    codecs = dict(
        rows(
            store,
            "SELECT name, compression_codec FROM system.columns"
            " WHERE database = currentDatabase() AND table = 'events'",
        )
    )
    for name in ("properties", "traits", "traits_once", "context"):
        assert codecs[name] == "CODEC(ZSTD(3))", name
    engine, sorting_key = rows(
        store,
        "SELECT engine, sorting_key FROM system.tables"
        " WHERE database = currentDatabase() AND name = 'events'",
    )[0]
    assert engine == "MergeTree"
    assert sorting_key.startswith("project_id, "), "every query is scoped to one project"


def test_person_overrides_table_has_exactly_the_contracted_columns(store: EventStore) -> None:
    assert column_types(store, "person_overrides") == [
        ("project_id", "UInt32"),
        ("distinct_id", "String"),
        ("person_id", "UInt64"),
        ("version", "UInt64"),
    ]
    engine, sorting_key = rows(
        store,
        "SELECT engine, sorting_key FROM system.tables"
        " WHERE database = currentDatabase() AND name = 'person_overrides'",
    )[0]
    assert (engine, sorting_key) == ("ReplacingMergeTree", "project_id, distinct_id")


# --- Arrow in and out ---------------------------------------------------------------------------

ROUND_TRIP = [
    {
        "project_id": 2**32 - 1,
        "uuid": uuid.UUID("00000000-0000-0000-0000-000000000001"),
        "message_id": "m-1",
        "type": "track",
        "event": "下单",
        "timestamp": dt.datetime(2024, 3, 10, 16, 0, 0, 1000, tzinfo=UTC),
        "received_at": dt.datetime(2024, 3, 10, 16, 0, 0, 999000, tzinfo=UTC),
        "distinct_id": "anon-😀",
        "person_id": 2**64 - 1,
        "properties": '{"category":"书","price":9.5}',
        "context": "{}",
        "utm_source": "微信",
        "os": "iOS",
        "country": "CN",
    },
    {
        # Every string empty, every number zero: empty is a value, not NULL.
        "uuid": uuid.UUID("ffffffff-ffff-4fff-bfff-ffffffffffff"),
        "timestamp": dt.datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        "received_at": dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC),
    },
]


def test_insert_arrow_then_arrow_round_trips_every_column(store: EventStore) -> None:
    store.insert_arrow("events", events_table(ROUND_TRIP))
    got = store.arrow("SELECT * FROM events ORDER BY uuid")

    assert got.column_names == [name for name, _ in EVENT_COLUMNS]
    assert got.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert got.schema.field("project_id").type == pa.uint32()
    assert got.schema.field("person_id").type == pa.uint64()
    expected = events_table(ROUND_TRIP).to_pylist()
    for want, have in zip(expected, got.to_pylist(), strict=True):
        assert have["uuid"] == uuid.UUID(want["uuid"]), "UUIDs come back as uuid.UUID"
        want["uuid"] = have["uuid"]
        assert have == want
    assert got.column("event").to_pylist() == ["下单", ""]
    assert got.column("message_id").to_pylist() == ["m-1", ""]


def test_millisecond_timestamps_are_exact_and_utc(store: EventStore) -> None:
    store.insert_arrow("events", events_table(ROUND_TRIP))
    millis = rows(
        store,
        "SELECT toUnixTimestamp64Milli(timestamp), toUnixTimestamp64Milli(received_at),"
        " toDate(timestamp, 'Asia/Shanghai') FROM events ORDER BY uuid",
    )
    assert millis[0] == (1710086400001, 1710086400999, dt.date(2024, 3, 11))
    assert millis[1] == (946684799999, 2147483648000, dt.date(2000, 1, 1))


def test_arrow_read_from_the_store_can_be_written_back(store: EventStore) -> None:
    store.insert_arrow("events", events_table(ROUND_TRIP[:1]))
    copy = store.arrow("SELECT * REPLACE (toUInt32(7) AS project_id) FROM events")
    store.insert_arrow("events", copy)
    pairs = rows(
        store,
        "SELECT project_id, toString(uuid), toUnixTimestamp64Milli(timestamp), event"
        " FROM events ORDER BY project_id",
    )
    assert pairs == [
        (7, "00000000-0000-0000-0000-000000000001", 1710086400001, "下单"),
        (2**32 - 1, "00000000-0000-0000-0000-000000000001", 1710086400001, "下单"),
    ]


def test_empty_insert_is_a_no_op(store: EventStore) -> None:
    store.insert_arrow("events", events_table([]))
    assert scalar(store, "SELECT count() FROM events") == 0


# --- parameters ---------------------------------------------------------------------------------

HOSTILE = [
    "",
    "'",
    "''",
    '"',
    "`",
    "\\",
    "\\\\",
    "\\'",
    "'\\",
    "a\tb",
    "a\nb",
    "a\rb",
    "\r\n",
    "a\0b",
    "\0",
    "\\N",
    "\\0",
    "\\x41",
    "NULL",
    "'); DROP TABLE events; --",
    "'; DROP TABLE events; SELECT '",
    "{x:String}",
    "{xs:Array(String)}",
    "{{x}}",
    "']; DROP TABLE events; --",
    "中文字符串",
    "😀👍🏽🇨🇳",
    "\u2028\u2029\ufeff",
    "\x01\x02\x1b\x7f",
    "  leading and trailing  ",
]


@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v) for v in HOSTILE])
def test_hostile_string_round_trips_as_data(store: EventStore, value: str) -> None:
    store.insert_arrow("events", events_table([{"project_id": 1, "message_id": value}]))

    assert scalar(store, "SELECT {x:String}", {"x": value}) == value
    assert scalar(store, "SELECT {xs:Array(String)}", {"xs": [value, "z", value]}) == [
        value,
        "z",
        value,
    ]
    found = "SELECT count() FROM events WHERE message_id = {x:String}"
    assert scalar(store, found, {"x": value}) == 1
    assert (
        scalar(
            store,
            "SELECT count() FROM events WHERE has({xs:Array(String)}, message_id)",
            {"xs": ["other", value]},
        )
        == 1
    )
    assert scalar(store, "SELECT length({x:String})", {"x": value}) == len(value.encode())
    assert scalar(store, "SELECT count() FROM events") == 1, "nothing dropped or inserted"


def test_every_hostile_string_in_one_array(store: EventStore) -> None:
    assert scalar(store, "SELECT {xs:Array(String)}", {"xs": HOSTILE}) == HOSTILE
    assert scalar(store, "SELECT length({xs:Array(String)})", {"xs": HOSTILE}) == len(HOSTILE)


AWKWARD_CONTEXTS = [
    "", "{}", '{"os":"iOS"}', '{"os":{"name":5}}', '{"os":{"name":{"x":1}}}', '{"os":null}',
    '{"os":{"name":null}}', '{"os":{"name":true}}', '{"os":{"name":"a\\"b"}}',
    '{"campaign":{}}', '{"campaign":{"source":7}}', '{"campaign":"x"}',
    '{"page":{"url":"https://a/?utm_source=p&utm_medium=m"}}',
    '{"campaign":{"source":"s"},"page":{"url":"https://a/?utm_source=p"}}',
    '{"location":{"country":"中国"},"app":{"version":"3.2"},"device":{"type":"mobile"}}',
    '{"browser":{"name":"Chrome","version":"1"},"os":{"name":"Android","version":"14"}}',
]
AWKWARD_PROPERTIES = ["", '{"url":"https://b/?utm_source=q&utm_campaign=c"}']
PROMOTED = ["utm_source", "utm_medium", "utm_campaign", "os", "browser", "device_type",
            "app_version", "country"]  # fmt: skip


def test_promoted_columns_equal_version_one_expressions(store: EventStore) -> None:
    """Migration 2 reads one parse of context; the values must be what version 1 computed."""
    pairs = [(c, p) for c in AWKWARD_CONTEXTS for p in AWKWARD_PROPERTIES]
    store.insert_arrow("events", events_table(
        [{"project_id": 1, "message_id": str(n), "context": c, "properties": p}
         for n, (c, p) in enumerate(pairs)]).drop_columns(PROMOTED))  # fmt: skip
    reference = {
        "utm_source": utm("source", "utm_source"),
        "utm_medium": utm("medium", "utm_medium"),
        "utm_campaign": utm("name", "utm_campaign"),
        "os": "JSONExtractString(context, 'os', 'name')",
        "browser": "JSONExtractString(context, 'browser', 'name')",
        "device_type": "JSONExtractString(context, 'device', 'type')",
        "app_version": "JSONExtractString(context, 'app', 'version')",
        "country": "JSONExtractString(context, 'location', 'country')",
    }
    got = rows(store, f"SELECT {', '.join(PROMOTED)} FROM events ORDER BY toUInt32(message_id)")  # noqa: S608
    want = rows(store, f"SELECT {', '.join(reference[c] for c in PROMOTED)} "  # noqa: S608
                       "FROM events ORDER BY toUInt32(message_id)")  # fmt: skip
    assert got == want
    assert ("s", "", "", "", "", "", "", "") in got  # context.campaign wins over the page URL
    assert ("q", "", "c", "", "", "", "", "") in got  # properties.url when nothing else
    assert ("", "", "", "", "", "mobile", "3.2", "中国") in got


def test_input_rows_are_data_joined_with_parameters(store: EventStore) -> None:
    store.insert_arrow("events", events_table([{"project_id": 1, "message_id": h}
                                               for h in HOSTILE[:5]]))  # fmt: skip
    probe = pa.table({"message_id": pa.array([*HOSTILE[:3], "absent"], pa.string()),
                      "n": pa.array([1, 2, 3, 4], pa.int64())})  # fmt: skip
    got = store.arrow(
        "SELECT message_id FROM events WHERE project_id = {p:UInt32} "
        "AND message_id IN (SELECT message_id FROM input_rows) ORDER BY message_id",
        {"p": 1},
        input_rows=probe,
    )
    assert got.column(0).to_pylist() == sorted(HOSTILE[:3])
    total = store.arrow("SELECT sum(n) AS s FROM input_rows", input_rows=probe)
    assert total.column(0).to_pylist() == [10]


def test_placeholder_text_in_a_value_is_never_substituted(store: EventStore) -> None:
    got = rows(store, "SELECT {x:String}, {y:String}", {"x": "{y:String}", "y": "{x:String}"})
    assert got == [("{y:String}", "{x:String}")]


def test_injection_attempt_leaves_tables_intact(store: EventStore) -> None:
    store.insert_arrow("events", events_table([{"project_id": 1}]))
    attack = "x'); DROP TABLE events; --"
    store.command("INSERT INTO person_overrides VALUES (1, {d:String}, 5, 1)", {"d": attack})
    assert scalar(store, "SELECT distinct_id FROM person_overrides") == attack
    assert scalar(store, "SELECT count() FROM events") == 1
    assert column_types(store, "events") == EVENT_COLUMNS


def test_ten_thousand_element_arrays(store: EventStore) -> None:
    values = [f"d-{i}-{HOSTILE[i % len(HOSTILE)]}" for i in range(10_000)]
    store.insert_arrow(
        "events",
        events_table([{"project_id": 1, "distinct_id": v} for v in values[::1000]]),
    )
    assert scalar(store, "SELECT {xs:Array(String)}", {"xs": values}) == values
    matched = "SELECT count() FROM events WHERE distinct_id IN {xs:Array(String)}"
    assert scalar(store, matched, {"xs": values}) == 10
    ids = list(range(2**64 - 10_000, 2**64))
    assert scalar(
        store,
        "SELECT arraySum(x -> x - {lo:UInt64}, {ids:Array(UInt64)})",
        {"ids": ids, "lo": ids[0]},
    ) == sum(range(10_000))


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("UInt32", 0),
        ("UInt32", 2**32 - 1),
        ("UInt64", 0),
        ("UInt64", 2**63),
        ("UInt64", 2**64 - 1),
        ("Int64", -(2**63)),
    ],
)
def test_integer_parameters_at_their_bounds(store: EventStore, type_: str, value: int) -> None:
    assert rows(store, f"SELECT {{v:{type_}}}, toTypeName({{v:{type_}}})", {"v": value}) == [
        (value, type_)
    ]


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("UInt32", 2**32),
        ("UInt32", 2**32 + 1),
        ("UInt32", -1),
        ("UInt64", 2**64),
        ("Array(UInt32)", [1, 2**32 + 1]),
        ("Nullable(UInt8)", 256),
    ],
)
def test_integer_parameters_out_of_range_are_refused(
    store: EventStore, type_: str, value: Any
) -> None:
    # ClickHouse itself wraps them: {p:UInt32} given 2**32 + 1 would read project 1.
    with pytest.raises(StoreError, match="out of range"):
        rows(store, f"SELECT {{v:{type_}}}", {"v": value})


def test_datetime64_parameters_are_instants(store: EventStore) -> None:
    instant = dt.datetime(2024, 3, 10, 16, 0, 0, 1000, tzinfo=UTC)
    same = instant.astimezone(SHANGHAI)
    millis = 1710086400001
    for placeholder in ("DateTime64(3)", "DateTime64(3, 'UTC')", "DateTime64(3, 'Asia/Shanghai')"):
        sql = f"SELECT toUnixTimestamp64Milli({{t:{placeholder}}})"
        assert scalar(store, sql, {"t": instant}) == millis, placeholder
        assert scalar(store, sql, {"t": same}) == millis, placeholder
    # A naive datetime is wall-clock time in the placeholder's zone.
    naive = dt.datetime(2024, 3, 11, 0, 0, 0, 1000)
    sql = "SELECT toUnixTimestamp64Milli({t:DateTime64(3, 'Asia/Shanghai')})"
    assert scalar(store, sql, {"t": naive}) == millis
    got = scalar(store, "SELECT {t:DateTime64(3, 'UTC')}", {"t": instant})
    assert got == instant
    # DateTime has no fraction of a second: the value is truncated, not refused.
    whole = scalar(store, "SELECT toUnixTimestamp({t:DateTime('UTC')})", {"t": instant})
    assert whole == millis // 1000
    listed = scalar(store, "SELECT {ts:Array(DateTime64(3, 'UTC'))}", {"ts": [instant, same]})
    assert listed == [instant, instant]


def test_datetime64_parameters_bound_ranges_to_the_millisecond(store: EventStore) -> None:
    base = dt.datetime(2024, 3, 10, 16, 0, tzinfo=UTC)
    ms = dt.timedelta(milliseconds=1)
    store.insert_arrow(
        "events",
        events_table(
            [{"project_id": 1, "event": str(i), "timestamp": base + i * ms} for i in range(5)]
        ),
    )
    window = (
        "SELECT groupArray(event) FROM (SELECT event FROM events"
        " WHERE timestamp >= {lo:DateTime64(3)} AND timestamp < {hi:DateTime64(3)} ORDER BY event)"
    )
    assert scalar(store, window, {"lo": base + ms, "hi": base + 3 * ms}) == ["1", "2"]
    local = {"lo": (base + ms).astimezone(SHANGHAI), "hi": (base + 3 * ms).astimezone(SHANGHAI)}
    assert scalar(store, window, local) == ["1", "2"]


def test_datetime_parameters_ignore_the_process_time_zone(store: EventStore) -> None:
    """chDB reads a zone-less DateTime64 parameter in the process's zone (TZ)."""
    if store.engine_name != "chdb":
        pytest.skip("a server's zone comes from its own configuration, not from this process")
    script = textwrap.dedent(
        """
        import datetime as dt, sys, tempfile
        from pathlib import Path
        from userops.store import open_store, rows
        store = open_store(Path(tempfile.mkdtemp()), "")
        t = dt.datetime(2024, 3, 10, 16, 0, 0, 1000, tzinfo=dt.UTC)
        print(rows(store, "SELECT timezone(), toUnixTimestamp64Milli({t:DateTime64(3)})",
                   {"t": t}))
        store.close()
        """
    )
    env = {**os.environ, "TZ": "Asia/Shanghai"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == "[('Asia/Shanghai', 1710086400001)]"


def test_other_parameter_types(store: EventStore) -> None:
    got = rows(
        store,
        "SELECT {d:Date}, {u:UUID}, {b:Bool}, {f:Float64}, {n:Nullable(String)},"
        " {t:Tuple(String, UInt8)}, {nested:Array(Array(String))}",
        {
            "d": dt.date(2024, 2, 29),
            "u": uuid.UUID("00000000-0000-0000-0000-000000000001"),
            "b": True,
            "f": 0.1,
            "n": None,
            "t": ("it's", 7),
            "nested": [["a'b", "\\"], []],
        },
    )
    assert got == [
        (
            dt.date(2024, 2, 29),
            uuid.UUID("00000000-0000-0000-0000-000000000001"),
            True,
            0.1,
            None,
            {"1": "it's", "2": 7},  # an unnamed Tuple comes back as an Arrow struct
            [["a'b", "\\"], []],
        )
    ]
    dates = scalar(store, "SELECT {ds:Array(Date)}", {"ds": [dt.date(2024, 1, 1)]})
    assert dates == [dt.date(2024, 1, 1)]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.text(), values=st.lists(st.text(), max_size=8))
def test_any_text_round_trips_through_parameters(
    store: EventStore, value: str, values: list[str]
) -> None:
    got = rows(store, "SELECT {x:String}, {xs:Array(String)}", {"x": value, "xs": values})
    assert got == [(value, values)]


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELEC 1", None),
        ("SELECT * FROM no_such_table", None),
        ("SELECT {x:UInt32}", None),
        ("SELECT {x:UInt32}", {"x": "not a number"}),
        ("SELECT throwIf(1, 'boom')", None),
    ],
)
def test_engine_errors_surface_as_store_error(
    store: EventStore, sql: str, params: dict[str, Any] | None
) -> None:
    for run in (store.arrow, store.command):
        with pytest.raises(StoreError) as caught:
            run(sql, params)
        assert type(caught.value) is StoreError
        assert isinstance(caught.value, UserOpsError)
        assert caught.value.message


def test_bad_insert_surfaces_as_store_error(store: EventStore) -> None:
    with pytest.raises(StoreError):
        store.insert_arrow("events", pa.table({"no_such_column": [1]}))
    with pytest.raises(StoreError):
        store.insert_arrow("no_such_table", events_table([{"project_id": 1}]))
    assert scalar(store, "SELECT count() FROM events") == 0


def test_closed_store_says_so(location: Location) -> None:
    store = location.open()
    store.close()
    with pytest.raises(StoreError):
        store.arrow("SELECT 1")


def test_a_second_data_path_is_refused_clearly(store: EventStore, tmp_path: Path) -> None:
    if store.engine_name != "chdb":
        pytest.skip("only chDB is limited to one data path per process")
    with pytest.raises(StoreError, match="one data path per process"):
        open_store(tmp_path / "elsewhere", "")
    assert scalar(store, "SELECT 1") == 1, "the open store keeps working"


# --- projects and identity ----------------------------------------------------------------------

RESOLVED = f"""
    SELECT e.project_id, e.distinct_id, {RESOLVED_PERSON} AS person
    FROM {RESOLVED_EVENTS}
    WHERE e.project_id = {{project:UInt32}}
    ORDER BY e.distinct_id, person
"""  # noqa: S608 - constants only; values are parameters


def test_a_project_never_sees_another_projects_rows(store: EventStore) -> None:
    store.insert_arrow(
        "events",
        events_table(
            [
                {"project_id": 1, "distinct_id": "shared", "person_id": 11},
                {"project_id": 1, "distinct_id": "only-1", "person_id": 12},
                {"project_id": 2, "distinct_id": "shared", "person_id": 21},
                {"project_id": 2**32 - 1, "distinct_id": "shared", "person_id": 99},
            ]
        ),
    )
    # Project 1 merged "shared" into person 500; project 2 must not see that.
    store.insert_arrow("person_overrides", overrides_table([(1, "shared", 500, 1)]))

    assert rows(store, RESOLVED, {"project": 2}) == [(2, "shared", 21)]
    assert rows(store, RESOLVED, {"project": 1}) == [(1, "only-1", 12), (1, "shared", 500)]
    assert rows(store, RESOLVED, {"project": 3}) == []
    with pytest.raises(StoreError, match="out of range"):
        rows(store, RESOLVED, {"project": 2**32 + 1})


def test_override_with_the_highest_version_wins(store: EventStore) -> None:
    store.insert_arrow(
        "events",
        events_table(
            [
                {"project_id": 1, "distinct_id": "merged", "person_id": 1},
                {"project_id": 1, "distinct_id": "merged", "person_id": 1},
                {"project_id": 1, "distinct_id": "untouched", "person_id": 2},
                {"project_id": 1, "distinct_id": "unmerged", "person_id": 3},
            ]
        ),
    )
    # Resolution must not depend on ReplacingMergeTree having collapsed the versions yet:
    # with merges stopped, every insert below stays a part of its own.
    store.command("SYSTEM STOP MERGES person_overrides")
    store.insert_arrow("person_overrides", overrides_table([(1, "merged", 10, 1)]))
    store.insert_arrow("person_overrides", overrides_table([(1, "merged", 30, 3)]))
    store.insert_arrow("person_overrides", overrides_table([(1, "merged", 20, 2)]))
    store.insert_arrow("person_overrides", overrides_table([(1, "unmerged", 40, 1)]))
    store.insert_arrow("person_overrides", overrides_table([(1, "unmerged", 3, 2)]))
    # A newer override in another project is ignored.
    store.insert_arrow("person_overrides", overrides_table([(2, "merged", 77, 9)]))

    assert rows(store, RESOLVED, {"project": 1}) == [
        (1, "merged", 30),
        (1, "merged", 30),
        (1, "unmerged", 3),
        (1, "untouched", 2),
    ]
    parts = scalar(
        store,
        "SELECT count() FROM system.parts WHERE database = currentDatabase()"
        " AND table = 'person_overrides' AND active",
    )
    assert parts == 6, "the test must exercise unmerged parts"
