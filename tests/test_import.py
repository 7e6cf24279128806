"""`userops import` end to end: JSONL, CSV and Parquet files into the event store.

Commands run in-process through typer's CliRunner. The CLI opens the data directory itself, so
the store is only opened here (``stored``) between commands, never while one runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.cli.main import app
from userops.config import load_settings
from userops.ingest.readers import record_from_row
from userops.meta.projects import get_project
from userops.runtime import Runtime

runner = CliRunner()
UTC = dt.UTC


pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
def shop(data_dir: Path) -> Path:
    """A data directory with the project `shop` (Asia/Shanghai)."""
    result = cli(
        "projects", "create", "shop", "--timezone", "Asia/Shanghai", "--data-dir", data_dir
    )
    assert result.exit_code == 0, result.output
    return data_dir


def cli(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def import_files(
    data_dir: Path, *files: Path, fmt: str | None = None, project: str = "shop"
) -> Result:
    extra = ["--format", fmt] if fmt else []
    return cli("import", *files, "--project", project, *extra, "--data-dir", data_dir)


def summary_of(result: Result) -> dict[str, int]:
    """The summary table printed by `userops import`, as numbers by column name."""
    lines = [line for line in result.stdout.splitlines() if "│" in line or "┃" in line]
    header = [cell.strip() for cell in re.split(r"[┃│]", lines[0])[1:-1]]
    values = [cell.strip().replace(",", "") for cell in re.split(r"[┃│]", lines[1])[1:-1]]
    assert header == ["read", "imported", "duplicates", "rejected", "seconds", "events/s"], header
    return {name: int(float(value)) for name, value in zip(header, values, strict=True)}


def write_jsonl(path: Path, messages: list[Any]) -> Path:
    """Messages (dicts, or bytes/str written as they are) one per line."""
    with path.open("wb") as fh:
        for message in messages:
            if isinstance(message, dict):
                line = orjson.dumps(message)
            elif isinstance(message, str):
                line = message.encode()
            else:
                line = message
            fh.write(line + b"\n")
    return path


def rejects_of(path: Path) -> dict[int, dict[str, Any]]:
    rejects_file = path.with_name(path.name + ".rejects.jsonl")
    found = [json.loads(line) for line in rejects_file.read_text("utf-8").splitlines()]
    by_line = {r["line"]: r for r in found}
    assert len(by_line) == len(found), "one reject per line"
    return by_line


def stored(data_dir: Path, columns: str, project: str = "shop") -> list[dict[str, Any]]:
    """Rows of a project's events (with `person`, the resolved person), oldest first."""
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        project_id = get_project(runtime.sessions, project).id
        table = runtime.store.arrow(
            f"SELECT {columns}, {RESOLVED_PERSON} AS person FROM {RESOLVED_EVENTS} "  # noqa: S608
            "WHERE e.project_id = {project:UInt32} ORDER BY e.timestamp, e.message_id",
            {"project": project_id},
        )
    found: list[dict[str, Any]] = table.to_pylist()
    return found


def at(text: str) -> dt.datetime:
    """A UTC instant written as 2026-03-01T02:00:00.123."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def ok(i: int) -> dict[str, Any]:
    return {"type": "track", "event": "ok_event", "anonymousId": "good-device",
            "messageId": f"ok-{i}", "timestamp": "2026-03-01T00:00:00Z"}  # fmt: skip


# --- JSONL: every stored column ----------------------------------------------------------------

FULL_CONTEXT = {
    "campaign": {"source": "baidu", "medium": "cpc", "name": "spring_sale"},
    "os": {"name": "iOS", "version": "17.1"},
    "device": {"type": "mobile", "model": "iPhone15,2"},
    "app": {"version": "3.2.1", "build": "321"},
    "location": {"country": "CN", "city": "上海"},
    "ip": "203.0.113.9",
}
ORDER_PROPERTIES = {
    "revenue": 99.5,
    "items": [{"sku": "A1", "qty": 2}],
    "note": "中文 ✓",
    "paid": True,
}
TRAITS = {"email": "li@example.cn", "plan": "pro", "age": 31}

MESSAGES: list[dict[str, Any]] = [
    {"type": "track", "event": "order_completed", "anonymousId": "anon-1", "messageId": "m-1",
     "timestamp": "2026-03-01T10:00:00.123+08:00", "properties": ORDER_PROPERTIES,
     "context": FULL_CONTEXT},
    # UTM from the page URL in properties (no context.campaign).
    {"type": "page", "name": "首页", "anonymousId": "anon-1", "messageId": "m-2",
     "timestamp": "2026-03-01T02:01:00.5Z",
     "properties": {"url": "https://shop.example.cn/?utm_source=wechat&utm_medium=social&utm_campaign=cny"},
     "context": {"os": {"name": "Android"}}},
    # UTM from context.page.url.
    {"type": "page", "name": "商品", "anonymousId": "anon-1", "messageId": "m-3",
     "timestamp": "2026-03-01T02:01:30Z",
     "context": {"page": {"url": "https://shop.example.cn/p/1?utm_source=douyin&utm_medium=video&utm_campaign=live"}}},
    # context.campaign wins over the URL.
    {"type": "page", "name": "活动", "anonymousId": "anon-1", "messageId": "m-4",
     "timestamp": "2026-03-01T02:01:40Z",
     "properties": {"url": "https://shop.example.cn/?utm_source=url_source&utm_medium=url_medium"},
     "context": {"campaign": {"source": "newsletter", "medium": "email", "name": "march"}}},
    {"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "messageId": "m-5",
     "timestamp": "2026-03-01T02:02:00-05:00", "traits": TRAITS},
    {"type": "alias", "previousId": "crm-7", "userId": "user-1", "messageId": "m-6",
     "timestamp": "2026-03-01T07:03:00Z"},
    # No messageId: deduplicated by content.
    {"type": "track", "event": "app_opened", "userId": "user-1",
     "timestamp": "2026-03-01T07:04:00.999Z"},
    # The same messageId again in the same file: stored once (the first).
    {"type": "track", "event": "order_completed", "anonymousId": "anon-1", "messageId": "m-1",
     "timestamp": "2026-03-01T03:00:00Z"},
]  # fmt: skip

# message_id, type, event, timestamp (UTC), distinct_id, anonymous_id, user_id, previous_id, name,
# utm source/medium/campaign, os, device_type, app_version, country
EXPECTED = [
    ("m-1", "track", "order_completed", at("2026-03-01T02:00:00.123"), "anon-1", "anon-1", "", "",
     "", "baidu", "cpc", "spring_sale", "iOS", "mobile", "3.2.1", "CN"),
    ("m-2", "page", "$pageview", at("2026-03-01T02:01:00.500"), "anon-1", "anon-1", "", "",
     "首页", "wechat", "social", "cny", "Android", "", "", ""),
    ("m-3", "page", "$pageview", at("2026-03-01T02:01:30"), "anon-1", "anon-1", "", "",
     "商品", "douyin", "video", "live", "", "", "", ""),
    ("m-4", "page", "$pageview", at("2026-03-01T02:01:40"), "anon-1", "anon-1", "", "",
     "活动", "newsletter", "email", "march", "", "", "", ""),
    ("m-6", "alias", "$create_alias", at("2026-03-01T07:03:00"), "user-1", "", "user-1", "crm-7",
     "", "", "", "", "", "", "", ""),
    ("m-5", "identify", "$identify", at("2026-03-01T07:02:00"), "user-1", "anon-1", "user-1", "",
     "", "", "", "", "", "", "", ""),
    (None, "track", "app_opened", at("2026-03-01T07:04:00.999"), "user-1", "", "user-1", "",
     "", "", "", "", "", "", "", ""),
]  # fmt: skip
EXPECTED.sort(key=lambda row: row[3])
COLUMNS = (
    "message_id, type, event, timestamp, distinct_id, anonymous_id, user_id, previous_id, "
    "name, utm_source, utm_medium, utm_campaign, os, device_type, app_version, country"
)


def test_jsonl_import_stores_every_column(shop: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", MESSAGES)
    before = dt.datetime.now(UTC)
    result = import_files(shop, path)
    after = dt.datetime.now(UTC)
    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    assert summary["read"] == 8 and summary["imported"] == 7, summary
    assert summary["duplicates"] == 1 and summary["rejected"] == 0, summary
    assert summary["events/s"] > 0
    assert not path.with_name("events.jsonl.rejects.jsonl").exists()

    names = [c.strip() for c in COLUMNS.split(",")]
    found = stored(shop, COLUMNS + ", received_at, properties, traits, context")
    assert len(found) == len(EXPECTED)
    for row, expected in zip(found, EXPECTED, strict=True):
        got = tuple(row[name] for name in names)
        if expected[0] is None:  # content-derived id
            assert str(got[0]).startswith("sha1:") and len(got[0]) == 45, got[0]
            got = (None, *got[1:])
        assert got == expected
        assert row["timestamp"].tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= row["received_at"] <= after
    by_id = {row["message_id"]: row for row in found}

    # JSON columns keep the text they arrived as; absent ones are empty.
    assert by_id["m-1"]["properties"] == orjson.dumps(ORDER_PROPERTIES).decode()
    assert json.loads(by_id["m-1"]["context"]) == FULL_CONTEXT
    assert by_id["m-1"]["traits"] == ""
    assert json.loads(by_id["m-5"]["traits"]) == TRAITS
    assert by_id["m-5"]["properties"] == "" and by_id["m-6"]["context"] == ""
    # The first of two lines with the same messageId is the one kept.
    assert by_id["m-1"]["timestamp"] == at("2026-03-01T02:00:00.123")

    # anon-1, user-1 and crm-7 are one person: events before identify included.
    assert len({row["person"] for row in found}) == 1


def test_reimport_adds_nothing(shop: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", MESSAGES)
    first = import_files(shop, path)
    assert first.exit_code == 0, first.output
    ids_before = sorted(row["message_id"] for row in stored(shop, "message_id"))

    again = import_files(shop, path)
    assert again.exit_code == 0, again.output
    summary = summary_of(again)
    assert (summary["read"], summary["imported"], summary["duplicates"]) == (8, 0, 8), summary
    assert sorted(row["message_id"] for row in stored(shop, "message_id")) == ids_before
    assert len(ids_before) == 7

    # The id-less line, re-sent in another file with other lines, is still recognised.
    id_less = [m for m in MESSAGES if "messageId" not in m]
    other = write_jsonl(tmp_path / "other.jsonl", [*id_less, {**id_less[0], "event": "app_closed"}])
    third = import_files(shop, other)
    assert third.exit_code == 0, third.output
    assert (summary_of(third)["imported"], summary_of(third)["duplicates"]) == (1, 1)


# --- bad lines among valid ones ----------------------------------------------------------------

TS = '"timestamp":"2026-03-01T00:00:00Z"'
HOSTILE = [
    "'); DROP TABLE events; --",
    "{x:String}",
    "{project:UInt32}",
    'she said "hi"',
    "it's",
    "back\\slash \\\\ \\n",
    "nul\x00byte",
    "emoji 🎉👩‍👩‍👧 中文",
    "line\u2028separator\ttab\nnewline",
    "%s %d {} {0} $1 ?",
]


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


# (line, expected field, words the reason must contain); None for a valid line.
def _sized(size: int, message_id: str) -> bytes:
    """A valid event of exactly ``size`` bytes."""
    line = orjson.dumps({**ok(0), "messageId": message_id, "properties": {"pad": ""}})
    padded = line.replace(b'"pad":""', b'"pad":"' + b"p" * (size - len(line)) + b'"')
    assert len(padded) == size
    return padded


BAD_LINES: list[tuple[bytes, tuple[str, list[str]] | None]] = [
    (b"\xef\xbb\xbf" + orjson.dumps(ok(1)), None),  # a UTF-8 byte order mark starts the file
    (_sized(32 * 1024, "at-size-limit"), None),
    (_sized(32 * 1024 + 1, "over-size-limit"), ("(line)", ["32769 bytes", "32768"])),
    (orjson.dumps(ok(5)) + b"\r", None),  # CRLF line ending
    (b'{"type":"track","event":"x","anonymousId":"a",', ("(line)", ["malformed JSON"])),
    (b'[{"type":"track","event":"x","anonymousId":"a"}]', ("(message)", ["object", "array"])),
    (b'{"type":"track","event":5,"anonymousId":"a",' + TS.encode() + b"}",
     ("event", ["str", "int"])),
    (b'{"type":"track","event":"x","userId":true,' + TS.encode() + b"}", ("userId", ["bool"])),
    (orjson.dumps(ok(2)), None),
    (b'{"type":"track","event":"x","userId":"u","properties":"x",' + TS.encode() + b"}",
     ("properties", ["JSON object"])),
    (b'{"type":"track","anonymousId":"a",' + TS.encode() + b"}", ("event", ["event name"])),
    (b'{"type":"track","event":"x",' + TS.encode() + b"}", ("userId", ["userId or anonymousId"])),
    (b'{"type":"alias","userId":"u",' + TS.encode() + b"}", ("previousId", ["previousId"])),
    (b'{"type":"track","event":"x","userid":"u","anonymousId":"a",' + TS.encode() + b"}",
     ("userid", ["unknown field"])),
    (b'{"type":"track","event":"x","anonymousId":"a","timestamp":"2026-13-45T00:00:00Z"}',
     ("timestamp", ["datetime"])),
    (b'{"type":"track","event":"x","anonymousId":"a","timestamp":"2026-02-30T12:00:00Z"}',
     ("timestamp", ["datetime"])),
    (b'{"type":"track","event":"x","anonymousId":"a","timestamp":"2099-01-01T00:00:00Z"}',
     ("timestamp", ["future"])),
    (b"", None),  # blank lines are skipped, not counted
    (b" \t ", None),
    (b'{"type":"track","event":"caf\xe9","anonymousId":"a",' + TS.encode() + b"}",
     ("(line)", ["UTF-8", "0xe9"])),
    (b'{"type":"track","event":"x","anonymousId":"a","properties":{"s":"' + b"x" * 33_000 + b'"},'
     + TS.encode() + b"}", ("(line)", ["32768"])),
    (b'{"type":"track","event":"x","anonymousId":"a","properties":' + _deep(40).encode() + b","
     + TS.encode() + b"}", ("properties", ["nested deeper than 32"])),
    (orjson.dumps(ok(3)), None),
    (b'{"type":"track","event":"x","anonymousId":"a","properties":{"a":' + b"[" * 3000
     + b"]" * 3000 + b"}," + TS.encode() + b"}", ("(line)", ["nested deeper than 32"])),
    *[
        (orjson.dumps({"type": "track", "event": h, "anonymousId": h, "messageId": f"h-{i}",
                       "timestamp": "2026-03-01T01:00:00Z",
                       "properties": {"v": h, h: "key"}}), None)
        for i, h in enumerate(HOSTILE)
    ],
    (b'{"type":"track","event":"x","anonymousId":"a","properties":{"k":"\xc3\x28"},' + TS.encode()
     + b"}", ("(line)", ["UTF-8"])),
    (orjson.dumps(ok(4)), None),
]  # fmt: skip


def test_bad_lines_are_rejected_with_line_field_and_reason(shop: Path, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line, _ in BAD_LINES))
    result = import_files(shop, path)
    assert result.exit_code == 1, result.output

    expected_rejects = {n: e for n, (_, e) in enumerate(BAD_LINES, 1) if e is not None}
    blank = sum(1 for line, _ in BAD_LINES if not line.strip())
    valid = len(BAD_LINES) - len(expected_rejects) - blank
    summary = summary_of(result)
    assert summary["read"] == valid + len(expected_rejects), summary
    assert summary["imported"] == valid and summary["rejected"] == len(expected_rejects), summary
    assert str(path.with_name("mixed.jsonl.rejects.jsonl")) in result.stdout.replace("\n", "")

    rejects = rejects_of(path)
    assert sorted(rejects) == sorted(expected_rejects)
    for line_no, (field, words) in expected_rejects.items():
        reject = rejects[line_no]
        assert reject["field"] == field, (line_no, reject)
        for word in words:
            assert word in reject["reason"], (line_no, reject)
        assert reject["file"] == str(path)
        raw = BAD_LINES[line_no - 1][0]
        if len(raw) < 1000 and raw.isascii():
            assert reject["raw"] == raw.decode(), (line_no, reject)

    found = stored(shop, "message_id, event, anonymous_id, properties")
    ids = sorted(row["message_id"] for row in found)
    expected_ids = [f"ok-{i}" for i in (1, 2, 3, 4, 5)] + [f"h-{i}" for i in range(len(HOSTILE))]
    assert ids == sorted([*expected_ids, "at-size-limit"])
    by_id = {row["message_id"]: row for row in found}
    for i, hostile in enumerate(HOSTILE):
        row = by_id[f"h-{i}"]
        assert row["event"] == hostile
        assert row["anonymous_id"] == hostile
        assert json.loads(row["properties"]) == {"v": hostile, hostile: "key"}


def test_nesting_at_the_limit_is_accepted_however_many_brackets_strings_hold(
    shop: Path, tmp_path: Path
) -> None:
    """32 levels (the event object counted) are allowed; 33 are not, braces in strings aside."""
    at_limit = _deep(31)  # properties and 30 objects inside it: 32 levels with the event
    head = '{"type":"track","event":"a","anonymousId":"a",' + TS
    lines = [
        head + ',"messageId":"limit","properties":' + at_limit + "}",
        head + ',"messageId":"limit-braces","properties":' + at_limit
        + ',"context":{"note":"{{{{[[[["}}',
        head + ',"messageId":"over","properties":' + _deep(32) + "}",
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "deep.jsonl", lines)
    result = import_files(shop, path)
    assert result.exit_code == 1, result.output
    assert sorted(rejects_of(path)) == [3], rejects_of(path)
    assert sorted(r["message_id"] for r in stored(shop, "message_id")) == ["limit", "limit-braces"]


# --- whole-file problems -----------------------------------------------------------------------


def test_missing_file_and_directory_fail_others_import(shop: Path, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [ok(1), ok(2)])
    missing = tmp_path / "missing.jsonl"
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    result = import_files(shop, missing, folder, good)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert str(missing) in result.stderr
    assert str(folder) in result.stderr
    assert summary_of(result)["imported"] == 2
    assert sorted(r["message_id"] for r in stored(shop, "message_id")) == ["ok-1", "ok-2"]
    assert not (tmp_path / "missing.jsonl.rejects.jsonl").exists()
    assert not (tmp_path / "folder.jsonl.rejects.jsonl").exists()


def test_unreadable_file_fails_others_import(shop: Path, tmp_path: Path) -> None:
    locked = write_jsonl(tmp_path / "locked.jsonl", [ok(9)])
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who can read a mode-000 file (root)")
        good = write_jsonl(tmp_path / "good.jsonl", [ok(1)])
        result = import_files(shop, locked, good)
        assert result.exit_code == 2, result.output
        assert str(locked) in result.stderr and "Traceback" not in result.output
        assert [r["message_id"] for r in stored(shop, "message_id")] == ["ok-1"]
        assert not (tmp_path / "locked.jsonl.rejects.jsonl").exists()
    finally:
        locked.chmod(0o600)


def test_files_that_cannot_be_read_as_their_format(shop: Path, tmp_path: Path) -> None:
    # Unknown extension: exit 2 and the hint to pass --format; with --format it imports.
    text = write_jsonl(tmp_path / "events.txt", [ok(1)])
    result = import_files(shop, text)
    assert result.exit_code == 2, result.output
    assert str(text) in result.stderr and "--format" in result.stderr

    # A CSV with a column that is not a Segment field: the column is named, nothing imported.
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("type,event,anonymousId,timestamp,colour,[/b]\n"
                       "track,x,a,2026-03-01T00:00:00Z,red,1\n")  # fmt: skip
    result = import_files(shop, bad_csv)
    assert result.exit_code == 2, result.output
    assert "'colour', '[/b]'" in result.stderr and str(bad_csv) in result.stderr

    # Not a Parquet file.
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"type,event\ntrack,x\n")
    result = import_files(shop, fake)
    assert result.exit_code == 2, result.output
    assert str(fake) in result.stderr and "Parquet" in result.stderr

    # A compressed file: said so, not read as lines of binary noise.
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(orjson.dumps(ok(1)) + b"\n"))
    result = import_files(shop, packed)
    assert result.exit_code == 2, result.output
    assert str(packed) in result.stderr and "gzip" in result.stderr

    for path in (text, bad_csv, fake, packed):  # no rejects file is left for a file never read
        assert not path.with_name(path.name + ".rejects.jsonl").exists()

    # Unknown project and unknown --format: exit 2 in one line.
    result = import_files(shop, text, fmt="segment-jsonl", project="nope")
    assert result.exit_code == 2 and "nope" in result.stderr, result.output
    result = import_files(shop, text, fmt="xml")
    assert result.exit_code == 2 and "xml" in result.stderr, result.output

    assert stored(shop, "message_id") == []
    result = import_files(shop, text, fmt="segment-jsonl")
    assert result.exit_code == 0, result.output
    assert [r["message_id"] for r in stored(shop, "message_id")] == ["ok-1"]


# --- CSV and Parquet ---------------------------------------------------------------------------

# properties.revenue comes before properties: the dotted column and the JSON one are combined.
CSV_HEADER = [
    "type", "event", "userId", "anonymousId", "timestamp", "messageId",
    "properties.revenue", "properties", "context.campaign.source", "properties.code",
]  # fmt: skip
CSV_ROWS = [
    ["track", "order_completed", "u1", "", "2026-03-01T10:00:00.250+08:00", "c-1", "99.5",
     '{"sku": "A1", "tags": ["x", "y"]}', "baidu", "007"],
    ["track", "order_completed", "", "anon-2", "2026-03-01T03:00:00Z", "c-2", "120", "", "", "1e3"],
    ["identify", "", "u1", "anon-2", "2026-03-01T04:00:00Z", "c-3", "", "", "", "true"],
    ["track", "order_completed", "u1", "", "2026-03-01T05:00:00Z", "c-bad", "1",
     '{"sku": "A1",\n "broken"}', "", ""],  # a malformed JSON cell spanning two lines
    ["track", "", "u1", "", "2026-03-01T06:00:00Z", "c-noname", "", "", "", ""],
    ["track", "viewed", "u1", "", "2026-03-01T07:00:00Z", "c-4", "", '{"note":\n "a\\nb"}',
     "", "-2"],
]  # fmt: skip


def test_csv_import(shop: Path, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        writer.writerows(CSV_ROWS)
        fh.write("track,x,u1\n")  # fewer cells than columns: still a row, missing timestamp
        fh.write("track,x,u1,,2026-03-01T08:00:00Z,c-extra,,,,,surplus\n")  # one cell too many
    result = import_files(shop, path)
    assert result.exit_code == 1, result.output
    assert summary_of(result)["imported"] == 4

    rejects = rejects_of(path)
    # Lines: header 1, c-1 2, c-2 3, c-3 4, c-bad 5-6, c-noname 7, c-4 8-9, short 10, long 11.
    assert sorted(rejects) == [5, 7, 10, 11], rejects
    assert rejects[5]["field"] == "properties" and "JSON" in rejects[5]["reason"]
    assert rejects[7]["field"] == "event"
    assert rejects[10]["field"] == "timestamp"
    assert "surplus" in rejects[11]["raw"] and "11 cells" in rejects[11]["reason"], rejects[11]

    found = {r["message_id"]: r for r in stored(shop, "message_id, event, timestamp, distinct_id, "
                                                 "properties, context, utm_source")}  # fmt: skip
    assert sorted(found) == ["c-1", "c-2", "c-3", "c-4"]
    first = found["c-1"]
    assert first["timestamp"] == at("2026-03-01T02:00:00.250")
    assert json.loads(first["properties"]) == {"sku": "A1", "tags": ["x", "y"], "revenue": 99.5,
                                               "code": "007"}  # fmt: skip
    assert json.loads(first["context"]) == {"campaign": {"source": "baidu"}}
    assert first["utm_source"] == "baidu"
    assert json.loads(found["c-2"]["properties"]) == {"revenue": 120, "code": "1e3"}
    assert found["c-2"]["distinct_id"] == "anon-2"
    assert found["c-3"]["event"] == "$identify"
    assert json.loads(found["c-3"]["properties"]) == {"code": True}
    assert json.loads(found["c-4"]["properties"]) == {"note": "a\nb", "code": -2}
    assert len({r["person"] for r in found.values()}) == 1  # identify joined u1 and anon-2


def test_csv_with_a_byte_order_mark_and_non_utf8_cells(shop: Path, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufefftype,event,anonymousId,timestamp,messageId\n".encode()
        + b"track,x,a,2026-03-01T00:00:00Z,e-1\n"
        + b"track,caf\xe9,a,2026-03-01T00:00:00Z,e-2\n"
        + b"track,y,a,2026-03-01T00:00:00Z,e-3\n"
    )
    result = import_files(shop, path)
    assert result.exit_code == 1, result.output
    rejects = rejects_of(path)
    assert sorted(rejects) == [3]
    assert rejects[3]["field"] == "event" and "UTF-8" in rejects[3]["reason"], rejects[3]
    assert sorted(r["message_id"] for r in stored(shop, "message_id")) == ["e-1", "e-3"]


def test_parquet_import(shop: Path, tmp_path: Path) -> None:
    table = pa.table({
        "type": ["track", "track", "identify", "track", "track"],
        "event": ["order_completed", "order_completed", None, "order_completed", "viewed"],
        "userId": ["u1", None, "u1", "u1", "u1"],
        "anonymousId": [None, "anon-2", "anon-2", None, None],
        "timestamp": pa.array([at("2026-03-01T02:00:00.250"), at("2026-03-01T03:00:00"),
                               at("2026-03-01T04:00:00"), at("2026-03-01T05:00:00"),
                               at("2026-03-01T06:00:00")], pa.timestamp("ms", tz="UTC")),
        "messageId": ["p-1", "p-2", "p-3", "p-bad", "p-4"],
        "properties": ['{"sku": "A1"}', None, None, '{"sku": ',
                       '{"big": 123456789012345678901234567890}'],
        "properties.revenue": pa.array([99.5, 120.0, None, 1.0, None], pa.float64()),
        "properties.qty": pa.array([2, None, None, None, None], pa.int64()),
        "context.campaign.source": ["baidu", None, None, None, None],
        "traits.plan": [None, None, "pro", None, None],
    })  # fmt: skip
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    result = import_files(shop, path)
    assert result.exit_code == 1, result.output
    rejects = rejects_of(path)
    assert sorted(rejects) == [4] and rejects[4]["field"] == "properties", rejects

    found = {r["message_id"]: r for r in stored(shop, "message_id, event, timestamp, properties, "
                                                 "traits, utm_source")}  # fmt: skip
    assert sorted(found) == ["p-1", "p-2", "p-3", "p-4"]
    assert found["p-1"]["timestamp"] == at("2026-03-01T02:00:00.250")
    assert json.loads(found["p-1"]["properties"]) == {"sku": "A1", "revenue": 99.5, "qty": 2}
    assert found["p-1"]["utm_source"] == "baidu"
    assert json.loads(found["p-2"]["properties"]) == {"revenue": 120.0}
    assert json.loads(found["p-3"]["traits"]) == {"plan": "pro"}
    assert found["p-3"]["event"] == "$identify"
    # JSON text is kept as written: a big integer keeps every digit.
    assert "123456789012345678901234567890" in found["p-4"]["properties"]
    assert len({r["person"] for r in found.values()}) == 1


def test_flat_rows_that_cannot_be_one_message_name_the_column() -> None:
    """Unit level: the row shapes CSV and Parquet can produce that do not make a message."""
    conflicting: dict[str | None, Any] = {
        "type": "track",
        "properties.a": "1",
        "properties.a.b": "2",
    }
    with pytest.raises(ValueError, match=r"^properties\.a\.b: properties\.a is already a value"):
        record_from_row(conflicting)
    with pytest.raises(ValueError, match=r"^properties: must be a JSON object to add"):
        record_from_row({"properties": "[1]", "properties.x": "1"})
    with pytest.raises(ValueError, match=r"^context: not valid JSON"):
        record_from_row({"context": "{'single': 'quotes'}"})
    # A Parquet struct and dotted columns combine; JSON text alone is kept as written.
    merged = record_from_row({"properties": {"a": 1}, "properties.b.c": 2.5, "userId": 7})
    assert merged == {"properties": {"a": 1, "b": {"c": 2.5}}, "userId": 7}
    kept = record_from_row({"properties": '{"n": 1.10}'})
    assert orjson.dumps(kept) == b'{"properties":{"n": 1.10}}'
