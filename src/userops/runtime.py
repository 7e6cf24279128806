"""One open data directory: its lock, metadata store and event store.

DESIGN.md's process model: one process owns a data directory. The lock file says who holds it, so
a second process can tell the user exactly what to do instead of corrupting the store.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

from sqlalchemy.orm import Session, sessionmaker

from userops.config import Settings
from userops.errors import ConfigError, StoreLocked
from userops.meta.db import open_meta
from userops.store import EventStore, open_store

LOCK_NAME = "userops.lock"


def _acquire(data_dir: Path, holder: str) -> IO[str]:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = (data_dir / LOCK_NAME).open("a+")
    except OSError as exc:  # a file in the way, no permission, a read-only disk
        raise ConfigError(
            f"data directory {data_dir}: cannot use it ({exc.strerror}); pass another --data-dir "
            "or set USEROPS_DATA_DIR",
            field="data_dir",
        ) from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        owner = fh.read().strip() or "another process"
        fh.close()
        raise StoreLocked(
            f"data directory {data_dir} is in use by {owner}. Send the command to that server "
            "(its API), or stop it and run the command again; or pass another --data-dir."
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{holder} (pid {os.getpid()})")
    fh.flush()
    return fh


@dataclass
class Runtime:
    settings: Settings
    sessions: sessionmaker[Session]
    store: EventStore
    _lock: IO[str]

    @classmethod
    def open(cls, settings: Settings, holder: str = "a userops command") -> Self:
        data_dir = settings.data_path
        lock = _acquire(data_dir, holder)
        try:
            sessions = open_meta(data_dir, settings.database_url)
            try:
                store = open_store(data_dir, settings.clickhouse_url)
            except BaseException:
                sessions.kw["bind"].dispose()
                raise
        except BaseException:
            lock.close()
            raise
        runtime = cls(settings, sessions, store, lock)
        try:
            # Where both stores meet: what one recorded before the other could (an upgrade).
            from userops.segments.refresh import record_earlier_completions

            record_earlier_completions(sessions, store)
        except BaseException:
            runtime.close()
            raise
        return runtime

    def close(self) -> None:
        # The lock goes last and always: a failed close must not leave the directory held.
        try:
            self.store.close()
        finally:
            try:
                self.sessions.kw["bind"].dispose()
            finally:
                self._lock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
