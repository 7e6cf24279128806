"""`userops import`: files through worker processes into the one ingestion path.

Workers (one per core) parse and validate chunks while this process resolves identity and
writes the previous chunk, so both cores stay busy. Rejects go to a JSONL file beside the
input, one object per bad line with its line number, field and reason.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa

from userops.ingest.parse import Limits, Reject
from userops.ingest.pipeline import Ingestor
from userops.ingest.readers import Chunk, JsonlBlock, read_file
from userops.ingest.worker import parse_chunk

Progress = Callable[[int], None]


@dataclass
class ImportSummary:
    files: list[str] = field(default_factory=list)
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects_files: list[str] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0


def rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def _write_rejects(
    fh: BinaryIO, path: Path, rejects: list[Reject], raw: list[tuple[int, str]]
) -> None:
    raw_by_line = dict(raw)
    for reject in rejects:
        fh.write(
            orjson.dumps(
                {
                    "file": str(path),
                    "line": reject.line,
                    "field": reject.field,
                    "reason": reject.reason,
                    "raw": raw_by_line.get(reject.line, ""),
                }
            )
            + b"\n"
        )


def import_file(
    path: Path,
    fmt: str,
    ingestor: Ingestor,
    project_id: int,
    limits: Limits,
    chunk_rows: int,
    summary: ImportSummary,
    progress: Progress = lambda _: None,
    workers: int | None = None,
) -> None:
    """Import one file; raises BadFile (nothing imported from it) or OSError if unreadable."""
    out = rejects_path(path)
    try:
        with out.open("wb") as reject_fh:
            import_chunks(
                read_file(path, fmt, chunk_rows), fmt, path, reject_fh, ingestor, project_id,
                limits, summary, progress, workers,
            )  # fmt: skip
    finally:
        # A file that could not be read leaves no empty rejects file behind (nor does a clean one).
        if out.is_file() and out.stat().st_size == 0:
            out.unlink()
    if out.is_file():
        summary.rejects_files.append(str(out))
    summary.files.append(str(path))


def import_chunks(
    chunks: Iterable[tuple[Chunk | JsonlBlock, int]],
    fmt: str,
    path: Path,
    reject_fh: BinaryIO,
    ingestor: Ingestor,
    project_id: int,
    limits: Limits,
    summary: ImportSummary,
    progress: Progress = lambda _: None,
    workers: int | None = None,
) -> None:
    """Validate chunks in worker processes and ingest them in order."""
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    workers = workers or max(1, min(os.cpu_count() or 1, 4))
    context = multiprocessing.get_context("spawn")  # chDB's threads make fork unsafe
    in_flight: deque[tuple[Future[Any], int]] = deque()
    # A stamped batch waits here until the next one is deduplicated against it; then it is
    # written on the writer thread while this one resolves the next batch's identities (chDB
    # releases the GIL while it inserts).
    held: tuple[pa.Table, int] | None = None
    with (
        ProcessPoolExecutor(workers, mp_context=context) as pool,
        ThreadPoolExecutor(1, thread_name_prefix="userops-writer") as writer,
    ):

        def drain_one() -> None:
            nonlocal held
            future, consumed = in_flight.popleft()
            table, rejects, raw = future.result()
            pending = held[0].column("message_id").combine_chunks() if held else None
            fresh, duplicates = ingestor.dedupe(table, pending)
            writing = writer.submit(ingestor.write, held[0]) if held else None
            try:
                stamped = ingestor.stamp(fresh)
            finally:
                if writing is not None:
                    wait([writing])
            if writing is not None and held is not None:
                writing.result()
                progress(held[1])
            held = (stamped, consumed)
            summary.read += table.num_rows + len(rejects)
            summary.imported += stamped.num_rows
            summary.duplicates += duplicates
            summary.rejected += len(rejects)
            _write_rejects(reject_fh, path, rejects, raw)

        for chunk, consumed in chunks:
            in_flight.append(
                (pool.submit(parse_chunk, fmt, chunk, project_id, limits, now), consumed)
            )
            if len(in_flight) > workers:
                drain_one()
        while in_flight:
            drain_one()
        if held is not None:
            ingestor.write(held[0])
            progress(held[1])
    summary.seconds += time.perf_counter() - started
