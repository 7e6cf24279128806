"""The ingestion log: what the HTTP API has acknowledged, on disk before the acknowledgement.

An append-only sequence of segment files in ``<data_dir>/ingest-log``. Each record is a frame:
4-byte little-endian length, 4-byte CRC-32 of the payload, the payload. ``append`` returns a
future that completes once the record is fsync'ed; one committer thread writes and fsyncs
everything queued meanwhile (group commit), so a busy server pays one fsync per group of
requests, not per request. The flusher reads committed records from the checkpoint on and
moves them to the event store; the checkpoint (an fsync'ed file, replaced atomically) says how
far that has got, so a restart replays exactly what was acknowledged and not yet stored.

A crash can leave a torn frame at the end of the last segment (written, never fsync'ed, never
acknowledged): reading stops at the first frame whose length or CRC does not check, and opening
the log cuts the segment back to its last whole frame before anything is appended after it.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import orjson

_HEADER = struct.Struct("<II")
_SEGMENT_PREFIX = "segment-"
_SEGMENT_SUFFIX = ".log"


@dataclass(frozen=True, order=True)
class Position:
    """A place in the log: a segment number and a byte offset in it."""

    segment: int
    offset: int


def _segment_name(number: int) -> str:
    return f"{_SEGMENT_PREFIX}{number:010d}{_SEGMENT_SUFFIX}"


def _fsync_directory(directory: Path) -> None:
    # A new or renamed file is durable only once its directory entry is.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _whole_frames_end(path: Path) -> int:
    """The offset just past the last whole, CRC-valid frame of a segment."""
    end = 0
    with path.open("rb") as fh:
        while True:
            header = fh.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return end
            length, crc = _HEADER.unpack(header)
            payload = fh.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return end
            end += _HEADER.size + length


class LogClosed(RuntimeError):
    pass


class IngestionLog:
    def __init__(self, directory: Path, segment_bytes: int = 64 << 20) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._checkpoint_path = directory / "checkpoint"
        segments = self.segments()
        self._segment = segments[-1] if segments else self.checkpoint().segment
        path = directory / _segment_name(self._segment)
        if path.exists():
            end = _whole_frames_end(path)
            if end != path.stat().st_size:
                with path.open("r+b") as fh:  # a torn, never-acknowledged tail
                    fh.truncate(end)
                    os.fsync(fh.fileno())
        self._file = path.open("ab")
        _fsync_directory(directory)
        self._committed = Position(self._segment, self._file.tell())
        self._pending: list[tuple[bytes, object, Future[Position]]] = []
        # What the writer already had in memory for a record (decoded messages), handed to the
        # reader so the flusher need not decode it again; lost on restart, where replay decodes.
        self._memos: dict[Position, object] = {}
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self.appended = threading.Condition()  # notified after each group commit
        self._closed = False
        self._failure: BaseException | None = None
        self._committer = threading.Thread(target=self._commit_loop, name="userops-log-commit",
                                           daemon=True)  # fmt: skip
        self._committer.start()

    # --- writing -------------------------------------------------------------------------
    def append(self, payload: bytes, memo: object = None) -> Future[Position]:
        """Queue ``payload``; the future resolves (to the end of its frame) once it is fsync'ed.
        ``memo``, if given, comes back with the record from ``read`` in this process."""
        future: Future[Position] = Future()
        with self._lock:
            if self._closed:
                raise LogClosed("the ingestion log is closed")
            if self._failure is not None:
                raise LogClosed(f"the ingestion log failed: {self._failure}")
            self._pending.append((payload, memo, future))
            self._work.notify()
        return future

    def _commit_loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._work.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            try:
                ends = self._write(batch)
            except BaseException as exc:  # disk full, I/O error: nothing in the batch is acked
                with self._lock:
                    self._failure = exc
                for _, _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, _, future), end in zip(batch, ends, strict=True):
                future.set_result(end)
            with self.appended:
                self.appended.notify_all()

    def _write(self, batch: list[tuple[bytes, object, Future[Position]]]) -> list[Position]:
        ends: list[Position] = []
        memos: dict[Position, object] = {}
        for payload, memo, _ in batch:
            if self._file.tell() >= self._segment_bytes:
                self._rotate()
            self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload)))
            self._file.write(payload)
            end = Position(self._segment, self._file.tell())
            ends.append(end)
            if memo is not None:
                memos[end] = memo
        self._file.flush()
        os.fsync(self._file.fileno())
        with self._lock:
            self._memos.update(memos)  # before the records become readable
            self._committed = ends[-1] if ends else self._committed
        return ends

    def _rotate(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._segment += 1
        self._file = (self.directory / _segment_name(self._segment)).open("ab")
        _fsync_directory(self.directory)

    # --- reading -------------------------------------------------------------------------
    @property
    def committed(self) -> Position:
        with self._lock:
            return self._committed

    def segments(self) -> list[int]:
        numbers = []
        for path in self.directory.glob(f"{_SEGMENT_PREFIX}*{_SEGMENT_SUFFIX}"):
            digits = path.name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)]
            if digits.isdigit():
                numbers.append(int(digits))
        return sorted(numbers)

    def read(
        self, start: Position, limit_bytes: int
    ) -> Iterator[tuple[bytes, Position, object]]:
        """Committed records from ``start`` on, each with the position after it and its memo
        (None after a restart); stops after about ``limit_bytes`` of payload."""
        end = self.committed
        read = 0
        for number in self.segments():
            if number < start.segment or number > end.segment:
                continue
            offset = start.offset if number == start.segment else 0
            stop = end.offset if number == end.segment else None
            with (self.directory / _segment_name(number)).open("rb") as fh:
                fh.seek(offset)
                while stop is None or offset < stop:
                    header = fh.read(_HEADER.size)
                    if len(header) < _HEADER.size:
                        break
                    length, crc = _HEADER.unpack(header)
                    payload = fh.read(length)
                    if len(payload) < length or zlib.crc32(payload) != crc:
                        break
                    offset += _HEADER.size + length
                    after = Position(number, offset)
                    with self._lock:
                        memo = self._memos.pop(after, None)
                    yield payload, after, memo
                    read += length
                    if read >= limit_bytes:
                        return

    def backlog_bytes(self, start: Position) -> int:
        """Committed bytes not yet flushed (segment headers included)."""
        end = self.committed
        total = 0
        for number in self.segments():
            if start.segment <= number <= end.segment:
                size = (
                    end.offset
                    if number == end.segment
                    else (self.directory / _segment_name(number)).stat().st_size
                )
                total += size - (start.offset if number == start.segment else 0)
        return max(total, 0)

    # --- the checkpoint ------------------------------------------------------------------
    def checkpoint(self) -> Position:
        try:
            saved = orjson.loads(self._checkpoint_path.read_bytes())
            return Position(int(saved["segment"]), int(saved["offset"]))
        except FileNotFoundError:
            first = self.segments()
            return Position(first[0] if first else 0, 0)

    def save_checkpoint(self, position: Position) -> None:
        """Record that everything before ``position`` is in the event store; drop what is done."""
        temporary = self._checkpoint_path.with_suffix(".tmp")
        with temporary.open("wb") as fh:
            fh.write(orjson.dumps({"segment": position.segment, "offset": position.offset}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, self._checkpoint_path)
        _fsync_directory(self.directory)
        for number in self.segments():
            if number < position.segment:
                (self.directory / _segment_name(number)).unlink(missing_ok=True)

    def close(self) -> None:
        """Commit what is queued, then stop; appends after this raise LogClosed."""
        with self._lock:
            self._closed = True
            self._work.notify()
        self._committer.join()
        self._file.close()
