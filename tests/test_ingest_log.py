"""The ingestion log on its own: durability boundaries, torn tails, rotation, checkpoints."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from userops.config import Settings
from userops.ingest.flusher import Flusher, Memo, encode_record
from userops.ingest.log import IngestionLog, Position
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.events import decode_message
from userops.store import rows


def read_all(log: IngestionLog) -> list[bytes]:
    return [payload for payload, _, _ in log.read(log.checkpoint(), 1 << 30)]


def test_appends_survive_reopening_in_order(tmp_path: Path) -> None:
    log = IngestionLog(tmp_path)
    futures = [log.append(f"record {n}".encode()) for n in range(50)]
    ends = [f.result(10) for f in futures]
    assert ends == sorted(ends)
    log.close()
    again = IngestionLog(tmp_path)
    assert read_all(again) == [f"record {n}".encode() for n in range(50)]
    again.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(payloads=st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=20),
       cut=st.integers(min_value=1, max_value=400))  # fmt: skip
def test_a_torn_tail_is_cut_back_to_the_last_whole_record(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[bytes], cut: int
) -> None:
    directory = tmp_path_factory.mktemp("log")
    log = IngestionLog(directory)
    for payload in payloads:
        log.append(payload).result(10)
    log.close()
    (segment,) = directory.glob("segment-*.log")
    data = segment.read_bytes()
    segment.write_bytes(data[: max(0, len(data) - cut)])  # a crash mid-write of the last ones
    reopened = IngestionLog(directory)
    survivors = read_all(reopened)
    assert survivors == payloads[: len(survivors)]  # a prefix, never garbage
    reopened.append(b"after the crash").result(10)
    assert read_all(reopened) == [*survivors, b"after the crash"]
    reopened.close()


def test_a_corrupted_record_stops_reading_there(tmp_path: Path) -> None:
    log = IngestionLog(tmp_path)
    for n in range(3):
        log.append(b"x" * 10 + bytes([n])).result(10)
    log.close()
    (segment,) = tmp_path.glob("segment-*.log")
    data = bytearray(segment.read_bytes())
    data[8 + 11 + 8 + 3] ^= 0xFF  # a byte inside the second record's payload
    segment.write_bytes(bytes(data))
    reopened = IngestionLog(tmp_path)
    assert read_all(reopened) == [b"x" * 10 + b"\x00"]
    reopened.close()


def test_rotation_and_checkpoint_drop_finished_segments(tmp_path: Path) -> None:
    log = IngestionLog(tmp_path, segment_bytes=100)
    ends = [log.append(bytes(60)).result(10) for _ in range(6)]
    assert len(log.segments()) >= 3
    log.save_checkpoint(ends[3])
    assert min(log.segments()) == ends[3].segment
    assert len(read_all(log)) == 2
    log.close()
    reopened = IngestionLog(tmp_path, segment_bytes=100)
    assert reopened.checkpoint() == ends[3]
    assert len(read_all(reopened)) == 2
    reopened.close()


def test_concurrent_appends_share_fsyncs_and_all_commit(tmp_path: Path) -> None:
    log = IngestionLog(tmp_path)
    results: list[Position] = []

    def writer(n: int) -> None:
        results.extend(log.append(f"{n}-{i}".encode()).result(10) for i in range(100))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 400
    log.close()
    assert len(read_all(IngestionLog(tmp_path))) == 400


def test_appending_after_close_is_refused(tmp_path: Path) -> None:
    log = IngestionLog(tmp_path)
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        log.append(b"late")


MESSAGES = [
    b'{"type":"track","event":"pay","anonymousId":"a","userId":"u","messageId":"m1",'
    b'"timestamp":"2026-11-20T08:00:00.123+08:00","properties":{"revenue":9.5,"n":12345678901234567890},'
    b'"context":{"os":{"name":"iOS"}},"receivedAt":"2026-11-20T00:00:01Z"}',
    b'{"type":"identify","userId":"u","traits":{"city":"\\u4e0a\\u6d77"},"messageId":"m2",'
    b'"timestamp":"2026-11-20T00:00:00Z","receivedAt":"2026-11-20T00:00:01Z",'
    b'"setOnce":{"first":"x"}}',
]  # fmt: skip


def test_memo_and_replay_store_the_same_rows(settings: Settings, runtime: Runtime,
                                             project: Project) -> None:  # fmt: skip
    """The flusher uses the API's decoded messages when it has them, the log's bytes after a
    restart: both must give identical rows."""
    columns = ("message_id, type, event, distinct_id, user_id, timestamp, received_at, "
               "properties, traits, traits_once, context, os")  # fmt: skip
    got = []
    for use_memo in (True, False):
        log = IngestionLog(settings.data_path / f"log-{use_memo}")
        messages = [decode_message(m) for m in MESSAGES]
        memo = Memo(project.id, messages) if use_memo else None
        log.append(encode_record(project.id, 0, MESSAGES), memo).result(10)
        flusher = Flusher(log, runtime.sessions, runtime.store, dt.timedelta(days=7))
        assert flusher.flush_once() == 1
        log.close()
        got.append(rows(runtime.store, f"SELECT {columns} FROM events ORDER BY message_id"))  # noqa: S608
        runtime.store.command("TRUNCATE TABLE events")
    assert got[0] == got[1]
    assert got[0][0][7] == '{"revenue":9.5,"n":12345678901234567890}'  # the client's text
