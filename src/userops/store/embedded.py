"""chDB: ClickHouse in this process, MergeTree tables in the data directory.

chDB allows one data path per process and its session is not safe for concurrent use, so every
call holds one lock; the data directory's own lock (``userops.lockfile``) keeps other processes out.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
from chdb import session as chdb_session

from userops.errors import ConfigError, UserOpsError
from userops.store.base import INPUT_ROWS, Params
from userops.store.params import format_params

# chDB ships py.typed but leaves its session's methods unannotated.
_Session: Any = chdb_session.Session


class StoreError(UserOpsError):
    """The engine refused a statement; a bug or a broken store, never the user's input."""


class EmbeddedStore:
    engine_name = "chdb"

    def __init__(self, path: Path) -> None:
        if "?" in str(path):
            # chDB reads what follows '?' as connection options and would store data elsewhere.
            raise ConfigError(f"data_dir {str(path.parent)!r}: chDB cannot use a path with '?'",
                              field="data_dir")  # fmt: skip
        path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._session: Any = _Session(str(path))
        except Exception as exc:
            # Typically a second data path in this process: chDB keeps one per process.
            raise StoreError(
                f"event store (chDB) at {path}: {exc}; chDB opens one data path per process, "
                "so close the other store first"
            ) from exc
        # Datetime parameters are written as wall-clock time in the zone chDB reads them in;
        # without a zone in the placeholder's type that is the session's (the process's TZ).
        self._zone = "UTC"
        try:
            self._zone = str(self.arrow("SELECT timezone() AS tz").column(0)[0].as_py())
        except StoreError:
            self.close()
            raise

    def _query(
        self, sql: str, params: Params, fmt: str, input_rows: pa.Table | None = None
    ) -> object:
        if input_rows is not None:
            # chDB's Python(name) reads the variable `name` from the calling frame: this one.
            sql = re.sub(rf"\b{INPUT_ROWS}\b", f"Python({INPUT_ROWS})", sql)
        with self._lock:
            if self._session is None:
                raise StoreError("event store (chDB) is closed")
            try:
                text_params = format_params(params, sql, self._zone)
                return self._session.query(sql, fmt, params=text_params)
            except Exception as exc:
                raise StoreError(f"event store (chDB): {exc}") from exc

    def command(self, sql: str, params: Params = None) -> None:
        self._query(sql, params, "Null")

    def arrow(
        self, sql: str, params: Params = None, input_rows: pa.Table | None = None
    ) -> pa.Table:
        result = self._query(sql, params, "ArrowTable", input_rows)
        assert isinstance(result, pa.Table)
        return result

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        # chDB reads the local variable named in Python(...) from the calling frame. Names come
        # from code, never from users; rows travel as Arrow, not as SQL text.
        columns = ", ".join("`" + name.replace("`", "``") + "`" for name in data.column_names)
        sql = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM Python(data)"  # noqa: S608
        with self._lock:
            if self._session is None:
                raise StoreError("event store (chDB) is closed")
            try:
                self._session.query(sql, "Null")
            except Exception as exc:
                raise StoreError(f"event store (chDB) insert into {table}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
