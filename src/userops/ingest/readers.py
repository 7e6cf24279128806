"""Files to raw records: Segment JSONL lines, CSV rows, Parquet rows.

Readers yield chunks of ``(line_number, record)``: raw bytes for JSONL (validated by pydantic's
JSON parser in a worker), dicts shaped as Segment messages for CSV and Parquet. A problem with
the whole file (unknown columns, not a Parquet file) raises ``BadFile`` naming the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from userops.errors import BadRequest

FORMATS = ("segment-jsonl", "csv", "parquet")
_EXTENSIONS = {".jsonl": "segment-jsonl", ".ndjson": "segment-jsonl", ".json": "segment-jsonl",
               ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip

SCALAR_FIELDS = frozenset({
    "type", "event", "name", "category", "userId", "anonymousId", "previousId", "groupId",
    "messageId", "timestamp", "originalTimestamp", "sentAt", "receivedAt", "channel", "version",
})  # fmt: skip
JSON_FIELDS = frozenset({"properties", "traits", "context", "integrations", "setOnce"})
# Written by `userops export` and ignored on import: identity is recomputed from the links.
IGNORED_FIELDS = frozenset({"person_id", "personId"})
NESTED_PREFIXES = ("properties.", "traits.", "context.")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+")

_BOM = b"\xef\xbb\xbf"
# csv's default cell limit (128 KiB) would fail a whole file over one big cell.
_MAX_CSV_FIELD = 16 * 1024 * 1024

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
    known = SCALAR_FIELDS | JSON_FIELDS | IGNORED_FIELDS
    unknown = [c for c in columns if c not in known and not c.startswith(NESTED_PREFIXES)]
    if unknown:
        raise BadFile(f"{path}: unknown column(s) {', '.join(map(_shown, unknown))}; expected "
                      "Segment fields, JSON columns properties/traits/context, or dotted columns "
                      "such as properties.revenue", field="columns")  # fmt: skip
    for column in columns:
        if not _is_utf8(column):
            raise BadFile(f"{path}: column {_shown(column)} is not UTF-8 text", field="columns")


def _shown(text: str) -> str:
    """repr() of text that may hold bytes that were not UTF-8 (decoded as surrogates)."""
    return repr(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(column: str, value: str) -> None:
    """CSV is decoded with surrogateescape: a byte that was not UTF-8 is a surrogate here."""
    if _is_utf8(value):
        return
    raw = value.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{column}: not UTF-8: byte {exc.start} of the cell is "
                         f"0x{raw[exc.start]:02x}") from None  # fmt: skip
    raise ValueError(f"{column}: not UTF-8 text")  # a lone surrogate that came as text


def record_from_row(row: dict[str | None, Any]) -> dict[str, Any]:
    """A flat row (CSV, Parquet) as a Segment message; raises ValueError naming the column.

    A JSON-text column is kept as the text it arrived as (like a JSON line's objects), unless
    dotted columns add keys to the same object, which then is the decoded object with them.
    """
    message: dict[str, Any] = {}
    decoded: dict[str, Any] = {}
    dotted: list[tuple[str, str, Any]] = []
    for column, value in row.items():
        if column is None:  # csv.DictReader's key for cells beyond the header's columns
            columns = len(row) - 1
            raise ValueError(f"(row): {columns + len(value)} cells, but the header has "
                             f"{columns} columns")  # fmt: skip
        if value is None or value == "" or column in IGNORED_FIELDS:
            continue
        if isinstance(value, str):
            _check_text(column, value)
        if column in JSON_FIELDS:
            if isinstance(value, str):
                try:
                    decoded[column] = orjson.loads(value)
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"{column}: not valid JSON ({exc})") from None
                value = orjson.Fragment(value)
            else:
                decoded[column] = value
            message[column] = value
        elif column.startswith(NESTED_PREFIXES):
            section, _, path = column.partition(".")
            dotted.append((section, path, _scalar(value) if isinstance(value, str) else value))
        else:
            message[column] = value
    for section, path, value in dotted:
        target = message.get(section)
        if not isinstance(target, dict):
            base = decoded.get(section, {})
            if not isinstance(base, dict):
                raise ValueError(f"{section}: must be a JSON object to add {section}.{path} to it")
            target = message[section] = dict(base)
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"{section}.{path}: {section}.{part} is already a value, "
                                 "not an object")  # fmt: skip
        target[leaf] = value
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
        if self.offset == 0 and data.startswith(_BOM):  # as some Windows tools write UTF-8
            data = data[len(_BOM) :]
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


def _line_breaks(row: dict[str | None, Any]) -> int:
    """Line breaks inside a row's quoted cells, as csv counts lines (\n, \r\n or \r)."""
    breaks = 0
    for value in row.values():
        if isinstance(value, str):
            if "\n" in value or "\r" in value:
                breaks += value.count("\n") + value.count("\r") - value.count("\r\n")
        elif isinstance(value, list):  # cells beyond the header's columns
            breaks += sum(_line_breaks({None: cell}) for cell in value)
    return breaks


def read_csv(path: Path, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    """Rows numbered by the line they start on. A byte that is not UTF-8 rejects its row only."""
    # An oversize cell is rejected with its row (max_event_bytes), not as a malformed file.
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CSV_FIELD))
    with path.open("rb") as raw_fh:
        fh = io.TextIOWrapper(raw_fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.DictReader(fh)
        try:
            _check_columns(path, list(reader.fieldnames or []))
            chunk: Chunk = []
            position = 0
            for row in reader:
                chunk.append((reader.line_num - _line_breaks(row), row))
                if len(chunk) >= chunk_rows:
                    now = raw_fh.tell()
                    yield chunk, now - position
                    chunk, position = [], now
            yield chunk, raw_fh.tell() - position
        except csv.Error as exc:
            raise BadFile(f"{path}: malformed CSV near line {reader.line_num}: {exc}",
                          field="file") from None  # fmt: skip


def read_parquet(path: Path, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise BadFile(f"{path}: not a readable Parquet file ({exc})", field="file") from None
    _check_columns(path, parquet.schema_arrow.names)
    size = path.stat().st_size
    total = max(parquet.metadata.num_rows, 1)
    row_no = 0
    batches = parquet.iter_batches(batch_size=chunk_rows)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:  # a corrupt page, a truncated file
            raise BadFile(f"{path}: unreadable Parquet data after row {row_no} ({exc})",
                          field="file") from None  # fmt: skip
        if batch is None:
            return
        chunk: Chunk = []
        for row in batch.to_pylist():
            row_no += 1
            chunk.append((row_no, row))
        yield chunk, size * len(chunk) // total


def read_file(path: Path, fmt: str, chunk_rows: int) -> Iterator[tuple[Chunk | JsonlBlock, int]]:
    """Raises BadFile for a compressed file (OSError if it cannot be opened)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    for magic, name, tool in _COMPRESSED:
        if head.startswith(magic):
            raise BadFile(f"{path}: {name}-compressed; decompress it first ({tool})",
                          field="file")  # fmt: skip
    readers = {"segment-jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
    return readers[fmt](path, chunk_rows)


# Read line by line, a compressed file would only give one reject per line of binary noise.
_COMPRESSED = ((b"\x1f\x8b", "gzip", "gunzip"), (b"\x28\xb5\x2f\xfd", "zstd", "unzstd"),
               (b"BZh", "bzip2", "bunzip2"), (b"\xfd7zXZ", "xz", "unxz"))  # fmt: skip
