"""The CPU-heavy half of import, run in worker processes: parse, validate, build columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pyarrow as pa

from userops.ingest.parse import Limits, Reject, TimeWindow, parse_json_line, parse_record
from userops.ingest.readers import JsonlBlock, record_from_row
from userops.ingest.rows import message_columns
from userops.schema.events import SegmentMessage


def _row_text(row: dict[str | None, Any]) -> bytes:
    """A CSV or Parquet row as JSON for the rejects file, whatever it holds."""
    try:
        return orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # text with bytes that were not UTF-8 (surrogates): shown as U+FFFD
        printable = {
            str(key): value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            if isinstance(value, str) else value
            for key, value in row.items()
        }  # fmt: skip
        return orjson.dumps(printable, default=str)


def parse_chunk(
    fmt: str,
    chunk: list[tuple[int, Any]] | JsonlBlock,
    project_id: int,
    limits: Limits,
    now: dt.datetime,
) -> tuple[pa.Table, list[Reject], list[tuple[int, str]]]:
    """Valid events as columns, the rejects, and each reject's raw text for the rejects file."""
    messages: list[SegmentMessage] = []
    rejects: list[Reject] = []
    raw_of_rejects: list[tuple[int, str]] = []
    if isinstance(chunk, JsonlBlock):
        chunk = chunk.lines()
    too_deep = f"nested deeper than {limits.max_json_depth} levels"
    window = TimeWindow.around(now, limits)
    for line_no, record in chunk:
        if fmt == "segment-jsonl":
            try:
                parsed = parse_json_line(line_no, record, window)
            except RecursionError:  # msgspec gives up near 1,000 levels, before our depth check
                parsed = Reject(line_no, "(line)", too_deep)
            raw = record
        else:
            try:
                parsed = parse_record(line_no, record_from_row(record), window)
            except ValueError as exc:
                field, _, reason = str(exc).partition(": ")
                parsed = Reject(line_no, field, reason)
            except RecursionError:
                parsed = Reject(line_no, "(row)", too_deep)
            raw = _row_text(record)
        if isinstance(parsed, Reject):
            rejects.append(parsed)
            raw_of_rejects.append((line_no, raw[:2000].decode("utf-8", "replace").rstrip("\n")))
        else:
            messages.append(parsed)
    return message_columns(messages, project_id, now), rejects, raw_of_rejects
