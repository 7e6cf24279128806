"""Moves acknowledged events from the ingestion log into the event store, in batches.

One thread. Each round reads committed log records from the checkpoint on (up to a byte
budget), decodes their messages, groups them by project, hands each group to that project's
``Ingestor`` (dedupe by messageId within the window, identity, store), and only then moves the
checkpoint past them. A crash between storing and checkpointing replays the same records on
start; their messageIds are already stored, so they are counted as duplicates, not stored twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from sqlalchemy.orm import Session, sessionmaker

from userops.ingest.log import IngestionLog, Position
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.schema.events import SegmentMessage, decode_message
from userops.store import EventStore

logger = logging.getLogger(__name__)


class LogRecord(msgspec.Struct):
    """One acknowledged request: its project, when it arrived, its messages as JSON."""

    p: int
    r: int  # received at, epoch milliseconds
    m: list[msgspec.Raw]


_RECORD = msgspec.json.Decoder(LogRecord)


def encode_record(project_id: int, received_ms: int, messages: list[bytes]) -> bytes:
    """The log payload for one request's accepted messages (each already-validated JSON)."""
    return b'{"p":%d,"r":%d,"m":[%s]}' % (project_id, received_ms, b",".join(messages))


@dataclass(frozen=True)
class Memo:
    """The messages of one log record as the API validated them, so the flusher skips decoding
    them again. Their JSON in the log is what counts; this is the same, already in memory."""

    project_id: int
    messages: list[SegmentMessage]


@dataclass
class FlushStats:
    flushed: int
    duplicates: int
    seconds: float


class Flusher:
    def __init__(
        self,
        log: IngestionLog,
        sessions: sessionmaker[Session],
        store: EventStore,
        dedupe_window: dt.timedelta,
        on_flush: Callable[[FlushStats], None] = lambda _: None,
        batch_bytes: int = 16 << 20,
        interval_seconds: float = 1.0,
    ) -> None:
        """``interval_seconds``: how long acknowledged events may wait before a round starts
        (sooner when a batch's worth has piled up). Fewer, larger inserts cost the store less
        per event: one part each, fewer merges."""
        self._log = log
        self._sessions = sessions
        self._store = store
        self._dedupe_window = dedupe_window
        self._on_flush = on_flush
        self._batch_bytes = batch_bytes
        self._interval_seconds = interval_seconds
        self._ingestors: dict[int, Ingestor] = {}
        self.position = log.checkpoint()
        self.last_error: str | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="userops-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Flush everything committed, then stop (the log should be closed first)."""
        self._stopping.set()
        with self._log.appended:
            self._log.appended.notify_all()
        self._thread.join()
        while self.flush_once():  # whatever arrived after the thread's last round
            pass

    @property
    def backlog_bytes(self) -> int:
        return self._log.backlog_bytes(self.position)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wait_for_work()
            try:
                self.flush_once()
                failures = 0
                self.last_error = None
            except Exception as exc:  # the store is down or full: keep the log, retry later
                failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.exception("flushing the ingestion log failed (attempt %d)", failures)
                self._stopping.wait(min(30.0, 0.5 * 2**failures))

    def _piled_up(self, committed: Position) -> bool:
        """A batch's worth waits (cheap: woken on every commit, this must not list files)."""
        if committed.segment != self.position.segment:
            return True
        return committed.offset - self.position.offset >= self._batch_bytes // 2

    def _wait_for_work(self) -> None:
        """Until the interval is over with something to flush, a batch has piled up, or stop."""
        deadline = time.monotonic() + self._interval_seconds
        with self._log.appended:
            while not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                committed = self._log.committed
                if committed != self.position and (
                    remaining <= 0 or self._piled_up(committed)
                ):
                    return
                self._log.appended.wait(remaining if remaining > 0 else self._interval_seconds)

    def flush_once(self) -> int:
        """One round; returns how many records it moved (0 when there was nothing new)."""
        started = time.perf_counter()
        by_project: dict[int, list[SegmentMessage]] = {}
        end: Position | None = None
        records = 0
        for payload, after, memo in self._log.read(self.position, self._batch_bytes):
            if isinstance(memo, Memo):  # the request's own decoded messages, same process
                by_project.setdefault(memo.project_id, []).extend(memo.messages)
            else:  # replayed after a restart: decode what the log holds
                record = _RECORD.decode(payload)
                by_project.setdefault(record.p, []).extend(decode_message(m) for m in record.m)
            end = after
            records += 1
        if end is None:
            return 0
        flushed = duplicates = 0
        for project_id, messages in by_project.items():
            ingestor = self._ingestors.get(project_id)
            if ingestor is None:
                ingestor = Ingestor(self._sessions, self._store, project_id, self._dedupe_window)
                self._ingestors[project_id] = ingestor
            # receivedAt is in every message (the API sets it), so this time is never used.
            result = ingestor.ingest(message_columns(messages, project_id, dt.datetime.now(dt.UTC)))
            flushed += result.stored
            duplicates += result.duplicates
        self._log.save_checkpoint(end)
        self.position = end
        self._on_flush(FlushStats(flushed, duplicates, time.perf_counter() - started))
        return records
