"""Files to raw records: Segment JSONL lines, CSV rows, Parquet rows.

Readers yield chunks of ``(line_number, record)``: raw bytes for JSONL (validated by pydantic's
JSON parser in a worker), dicts shaped as Segment messages for CSV and Parquet. A problem with
the whole file (unknown columns, not a Parquet file) raises ``BadFile`` naming the file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from userops.errors import BadRequest

FORMATS = ("segment-jsonl", "csv", "parquet")
_EXTENSIONS = {".jsonl": "segment-jsonl", ".ndjson": "segment-jsonl", ".json": "segment-jsonl",
               ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip

SCALAR_FIELDS = frozenset({
    "type", "event", "name", "category", "userId", "anonymousId", "previousId", "groupId",
    "messageId", "timestamp", "originalTimestamp", "sentAt", "receivedAt", "channel", "version",
})  # fmt: skip
JSON_FIELDS = frozenset({"properties", "traits", "context", "integrations"})
# Written by `userops export` and ignored on import: identity is recomputed from the links.
IGNORED_FIELDS = frozenset({"person_id", "personId"})
NESTED_PREFIXES = ("properties.", "traits.", "context.")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+")

Chunk = list[tuple[int, Any]]


class BadFile(BadRequest):
    """The whole file cannot be read; nothing from it was imported."""


def guess_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise BadFile(f"{path}: cannot tell the format from the extension; pass --format "
                      f"({', '.join(FORMATS)})", field="format")  # fmt: skip
    return fmt


def _scalar(text: str) -> Any:
    """CSV cells are text; numbers and booleans that round-trip exactly become JSON values."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return float(text)
    return {"true": True, "false": False}.get(text, text)


def _check_columns(path: Path, columns: list[str]) -> None:
    unknown = [
        c for c in columns
        if c not in SCALAR_FIELDS | JSON_FIELDS | IGNORED_FIELDS and not c.startswith(NESTED_PREFIXES)
    ]  # fmt: skip
    if unknown:
        raise BadFile(f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; expected Segment "
                      "fields, JSON columns properties/traits/context, or dotted columns such as "
                      "properties.revenue", field="columns")  # fmt: skip


def record_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row (CSV, Parquet) as a Segment message; raises ValueError naming the column."""
    message: dict[str, Any] = {}
    for column, value in row.items():
        if value is None or value == "" or column in IGNORED_FIELDS:
            continue
        if column in JSON_FIELDS:
            if isinstance(value, str):
                try:
                    value = orjson.loads(value)
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"{column}: not valid JSON ({exc})") from None
            message[column] = value
        elif column.startswith(NESTED_PREFIXES):
            section, _, path = column.partition(".")
            target = message.setdefault(section, {})
            *parents, leaf = path.split(".")
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = _scalar(value) if isinstance(value, str) else value
        else:
            message[column] = value
    return message


@dataclass(frozen=True)
class JsonlBlock:
    """Whole lines of a JSONL file, read by the worker that parses them.

    The main process only finds line boundaries (a C-speed scan of each block), so it never
    iterates over lines or ships their bytes to the workers.
    """

    path: Path
    offset: int
    length: int
    first_line: int

    def lines(self) -> Chunk:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read(self.length)
        return [
            (number, line)
            for number, line in enumerate(data.split(b"\n"), start=self.first_line)
            if line.strip()
        ]


# Bytes per JSONL block: about as many lines as import_chunk_rows for typical 300-byte events.
BYTES_PER_ROW = 300


def read_jsonl(path: Path, chunk_rows: int) -> Iterator[tuple[Chunk | JsonlBlock, int]]:
    """Blocks of whole lines and the bytes each covers, for progress."""
    block_bytes = max(chunk_rows * BYTES_PER_ROW, 1 << 16)
    offset, line = 0, 1
    with path.open("rb") as fh:
        pending = b""
        while True:
            data = fh.read(block_bytes)
            if not data:
                break
            pending += data
            cut = pending.rfind(b"\n") + 1
            if cut == 0:
                continue  # one line longer than a block: read on until it ends
            yield JsonlBlock(path, offset, cut, line), cut
            line += pending.count(b"\n", 0, cut)
            offset += cut
            pending = pending[cut:]
        if pending:
            yield JsonlBlock(path, offset, len(pending), line), len(pending)


def read_csv(path: Path, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    with path.open("rb") as raw_fh:
        fh = io.TextIOWrapper(raw_fh, encoding="utf-8", errors="strict", newline="")
        try:
            reader = csv.DictReader(fh)
            _check_columns(path, list(reader.fieldnames or []))
            chunk: Chunk = []
            position = 0
            for row in reader:
                chunk.append((reader.line_num, row))
                if len(chunk) >= chunk_rows:
                    now = raw_fh.tell()
                    yield chunk, now - position
                    chunk, position = [], now
            yield chunk, raw_fh.tell() - position
        except UnicodeDecodeError as exc:
            raise BadFile(f"{path}: not UTF-8 text near byte {exc.start}", field="file") from None
        except csv.Error as exc:
            raise BadFile(f"{path}: malformed CSV: {exc}", field="file") from None


def read_parquet(path: Path, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise BadFile(f"{path}: not a readable Parquet file ({exc})", field="file") from None
    _check_columns(path, parquet.schema_arrow.names)
    size = path.stat().st_size
    total = max(parquet.metadata.num_rows, 1)
    row_no = 0
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        chunk: Chunk = []
        for row in batch.to_pylist():
            row_no += 1
            chunk.append((row_no, row))
        yield chunk, size * len(chunk) // total


def read_file(path: Path, fmt: str, chunk_rows: int) -> Iterator[tuple[Chunk | JsonlBlock, int]]:
    readers = {"segment-jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
    return readers[fmt](path, chunk_rows)
