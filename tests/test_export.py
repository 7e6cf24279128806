"""`userops export`: events with their resolved person, re-importable, by days in the project zone.

Commands run in-process through typer's CliRunner; the store is opened here only between commands.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from cli_helpers import cli, ok
from userops.config import load_settings
from userops.identity.repository import person_of
from userops.meta.projects import get_project
from userops.runtime import Runtime

BIG = "123456789012345678901234567890"
# Device B is identified as u1 first; later u1 signs in on device A, whose earlier events (and
# the page view that is on 2026-11-02 in Shanghai) then belong to u1 too. anon-c stays alone.
MESSAGES: list[bytes] = [
    orjson.dumps(m)
    for m in [
        {"type": "track", "event": "product_viewed", "anonymousId": "anon-b", "messageId": "e1",
         "timestamp": "2026-10-30T02:00:00Z", "properties": {"sku": "A1"},
         "context": {"os": {"name": "Android"}}},
        {"type": "identify", "userId": "u1", "anonymousId": "anon-b", "messageId": "e2",
         "timestamp": "2026-10-30T02:05:00Z", "traits": {"name": "李雷", "plan": "pro"}},
        {"type": "track", "event": "order_completed", "userId": "u1", "messageId": "e3",
         "timestamp": "2026-10-30T03:00:00.250Z", "properties": {"revenue": 99.5}},
        {"type": "track", "event": "product_viewed", "anonymousId": "anon-a", "messageId": "e4",
         "timestamp": "2026-11-01T10:00:00Z", "properties": {"sku": "B2"}},
        {"type": "page", "name": "首页", "anonymousId": "anon-a", "messageId": "e5",
         "timestamp": "2026-11-01T16:30:00Z",
         "properties": {"url": "https://shop.example.cn/?utm_source=wechat&utm_medium=social"}},
        {"type": "identify", "userId": "u1", "anonymousId": "anon-a", "messageId": "e6",
         "timestamp": "2026-11-01T17:00:00Z"},
        {"type": "track", "event": "app_opened", "anonymousId": "anon-c", "messageId": "e7",
         "timestamp": "2026-11-01T15:59:59.999Z"},
        {"type": "track", "event": "app_opened", "anonymousId": "anon-c",
         "timestamp": "2026-11-02T16:00:00Z"},  # no messageId; 2026-11-03 00:00 in Shanghai
        {"type": "alias", "previousId": "crm-9", "userId": "u1", "messageId": "e9",
         "timestamp": "2026-11-02T01:00:00Z"},
    ]
]  # fmt: skip
# Written by hand: the text must survive as sent (a big integer, 1.10, quotes, NUL, emoji).
MESSAGES.append(
    b'{"type":"track","event":"odd \\"quoted\\" \'name\' {x:String}","anonymousId":"anon-c",'
    b'"messageId":"e10","timestamp":"2026-10-31T00:00:00Z",'
    b'"properties":{"big":' + BIG.encode() + b',"price":1.10,"s":"a\\\\b\\u0000c \xf0\x9f\x8e\x89",'
    b'"nested":{"list":[1,{"k":null}]}},"context":{"campaign":{"source":"baidu"}}}'
)
U1 = {"e1", "e2", "e3", "e4", "e5", "e6", "e9"}


pytestmark = pytest.mark.usefixtures("clean_environment")



def loaded(data_dir: Path, source: Path, fmt: str | None = None) -> Path:
    """A fresh data directory with project `shop` (Asia/Shanghai) holding ``source``."""
    ok("projects", "create", "shop", "--timezone", "Asia/Shanghai", "--data-dir", data_dir)
    extra = ["--format", fmt] if fmt else []
    ok("import", source, "--project", "shop", *extra, "--data-dir", data_dir)
    return data_dir


def export(data_dir: Path, out: Path, fmt: str, *window: str) -> list[dict[str, Any]]:
    result = ok(
        "export", out, "--project", "shop", "--format", fmt, *window, "--data-dir", data_dir
    )
    rows = read_export(out, fmt)
    assert f"exported {len(rows)} events" in result.stdout
    return rows


def read_export(path: Path, fmt: str) -> list[dict[str, Any]]:
    """Rows as dicts; the person id under `person`, JSON columns decoded."""
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        for row in rows:
            row["person"] = row.pop("personId")
        return rows
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    else:
        rows = pq.read_table(path).to_pylist()
    out = []
    for row in rows:
        row["person"] = row.pop("person_id")
        # Empty cells are absent values, as in JSONL.
        row = {k: v for k, v in row.items() if v not in ("", None)}
        for key in ("properties", "traits", "context"):
            if key in row:
                row[key] = json.loads(row[key])
        out.append(row)
    return out


def partition(rows: list[dict[str, Any]]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row in rows:
        groups.setdefault(str(row["person"]), set()).add(row["messageId"])
    return {frozenset(g) for g in groups.values()}


def without_person(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "person"} for row in rows]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.jsonl"
    path.write_bytes(b"".join(m + b"\n" for m in MESSAGES))
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_round_trip(fmt: str, source: Path, tmp_path: Path) -> None:
    first_dir = loaded(tmp_path / "first", source)
    first = export(first_dir, tmp_path / f"first.{fmt}", fmt)
    assert len(first) == len(MESSAGES)

    # Every event carries the person its distinct id resolves to now, the events sent before
    # identify included.
    settings = load_settings({"data_dir": str(first_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        project_id = get_project(runtime.sessions, "shop").id
        for row in first:
            distinct_id = row.get("userId") or row["anonymousId"]
            assert int(row["person"]) == person_of(runtime.sessions, project_id, distinct_id), row
    groups = partition(first)
    assert frozenset(U1) in groups and len(groups) == 2, groups

    # The fields as sent: names, times to the millisecond in UTC, JSON text as written.
    by_id = {row["messageId"]: row for row in first}
    assert by_id["e2"]["type"] == "identify" and "event" not in by_id["e2"]
    assert by_id["e2"]["traits"] == {"name": "李雷", "plan": "pro"}
    assert by_id["e3"]["timestamp"].startswith("2026-10-30T03:00:00.250")
    assert by_id["e5"]["name"] == "首页" and by_id["e9"]["previousId"] == "crm-9"
    odd = by_id["e10"]
    assert odd["event"] == "odd \"quoted\" 'name' {x:String}"
    assert odd["properties"]["big"] == int(BIG)
    assert odd["properties"]["s"] == "a\\b\x00c 🎉"
    assert odd["properties"]["nested"] == {"list": [1, {"k": None}]}
    raw = (tmp_path / f"first.{fmt}").read_bytes()
    if fmt != "parquet":  # compressed
        assert BIG.encode() in raw and b"1.10" in raw  # the text, not a float's rendering
    sha = [row for row in first if row["messageId"].startswith("sha1:")]
    assert len(sha) == 1 and sha[0]["anonymousId"] == "anon-c"

    # The export imports into a fresh store and exports the same, person numbers aside.
    second_dir = loaded(tmp_path / "second", tmp_path / f"first.{fmt}")
    second = export(second_dir, tmp_path / f"second.{fmt}", fmt)
    assert without_person(second) == without_person(first)
    assert partition(second) == partition(first)


def test_days_are_taken_in_the_project_time_zone(source: Path, tmp_path: Path) -> None:
    data_dir = loaded(tmp_path / "data", source)
    out = tmp_path / "out.jsonl"

    def ids(*window: str) -> set[str]:
        return {row["messageId"] for row in export(data_dir, out, "jsonl", *window)}

    # e5 at 2026-11-01T16:30Z is 2026-11-02 00:30 in Shanghai; e7 at 15:59:59.999Z is the last
    # millisecond of 2026-11-01; the id-less event at 2026-11-02T16:00Z starts 2026-11-03.
    assert ids("--from", "2026-11-02", "--to", "2026-11-02") == {"e5", "e6", "e9"}
    assert ids("--to", "2026-11-01") == {"e1", "e2", "e3", "e4", "e7", "e10"}
    assert {i[:5] for i in ids("--from", "2026-11-03")} == {"sha1:"}
    assert ids("--from", "2026-11-04") == set()
    assert len(ids()) == len(MESSAGES)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "xml"], ["'xml'", "jsonl"]),
        (["--from", "2026-02-30"], ["--from", "2026-02-30"]),
        (["--to", "11/02/2026"], ["--to", "11/02/2026"]),
        (["--from", "2026-11-03", "--to", "2026-11-02"], ["after"]),
    ],
)
def test_bad_options_exit_2(args: list[str], words: list[str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", data_dir)
    result = cli("export", tmp_path / "out", "--project", "shop", *args, "--data-dir", data_dir)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    for word in words:
        assert word in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_project_and_unwritable_output_exit_2(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", data_dir)
    result = cli("export", tmp_path / "out.jsonl", "--project", "nope", "--data-dir", data_dir)
    assert result.exit_code == 2 and "nope" in result.stderr, result.output
    missing_dir = tmp_path / "no" / "such" / "out.jsonl"
    result = cli("export", missing_dir, "--project", "shop", "--data-dir", data_dir)
    assert result.exit_code == 2, result.output
    assert str(missing_dir) in result.stderr and "Traceback" not in result.output
