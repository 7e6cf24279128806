"""The CPU-heavy half of import, run in worker processes: parse, validate, build columns."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pyarrow as pa

from userops.ingest.parse import Limits, Reject, parse_json_line, parse_record
from userops.ingest.readers import JsonlBlock, record_from_row
from userops.ingest.rows import message_columns
from userops.schema.events import SegmentMessage


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
    for line_no, record in chunk:
        if fmt == "segment-jsonl":
            parsed = parse_json_line(line_no, record, limits, now)
            raw = record
        else:
            try:
                parsed = parse_record(line_no, record_from_row(record), limits, now)
            except ValueError as exc:
                field, _, reason = str(exc).partition(": ")
                parsed = Reject(line_no, field, reason)
            raw = orjson.dumps(record, default=str)
        if isinstance(parsed, Reject):
            rejects.append(parsed)
            raw_of_rejects.append((line_no, raw[:2000].decode("utf-8", "replace").rstrip("\n")))
        else:
            messages.append(parsed)
    return message_columns(messages, project_id, now), rejects, raw_of_rejects
