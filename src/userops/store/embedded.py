"""chDB: ClickHouse in this process, MergeTree tables in the data directory.

chDB allows one data path per process and its session is not safe for concurrent use, so every
call holds one lock; the data directory's own lock (``userops.lockfile``) keeps other processes out.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
from chdb import session as chdb_session

from userops.errors import UserOpsError
from userops.store.base import Params
from userops.store.params import format_params


class StoreError(UserOpsError):
    """The engine refused a statement; a bug or a broken store, never the user's input."""


class EmbeddedStore:
    engine_name = "chdb"

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._session = chdb_session.Session(str(path))

    def _query(self, sql: str, params: Params, fmt: str) -> object:
        with self._lock:
            try:
                return self._session.query(sql, fmt, params=format_params(params))
            except Exception as exc:
                raise StoreError(f"event store (chDB): {exc}") from exc

    def command(self, sql: str, params: Params = None) -> None:
        self._query(sql, params, "Null")

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        result = self._query(sql, params, "ArrowTable")
        assert isinstance(result, pa.Table)
        return result

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        # chDB reads the local variable named in Python(...) from the calling frame.
        columns = ", ".join(f"`{name}`" for name in data.column_names)
        with self._lock:
            try:
                self._session.query(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM Python(data)", "Null"
                )
            except Exception as exc:
                raise StoreError(f"event store (chDB) insert into {table}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._session.close()
