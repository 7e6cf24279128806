"""A ClickHouse server through clickhouse-connect: the same SQL as the embedded engine."""

from __future__ import annotations

import threading
from urllib.parse import unquote, urlsplit

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.external import ExternalData

from userops.errors import ConfigError
from userops.store.base import INPUT_ROWS, Params
from userops.store.embedded import StoreError
from userops.store.params import check_params


class RemoteStore:
    engine_name = "clickhouse"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"clickhouse_url {url!r}: expected http(s)://user:pass@host:port/db")
        database = parts.path.strip("/") or "default"
        # clickhouse-connect clients are not safe for concurrent queries on one session.
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._client = clickhouse_connect.get_client(
                host=parts.hostname,
                port=parts.port or (8443 if parts.scheme == "https" else 8123),
                username=unquote(parts.username or "default"),
                password=unquote(parts.password or ""),
                database=database,
                secure=parts.scheme == "https",
                autogenerate_session_id=False,
            )
        except Exception as exc:
            # The password stays out of the message: only host, port and database.
            where = f"{parts.hostname}:{parts.port or ''}/{database}"
            raise StoreError(f"event store (ClickHouse) at {where}: {exc}") from exc

    def _check_open(self) -> None:
        # A closed clickhouse-connect client quietly opens new connections; a closed store is
        # a bug in the caller, so say so as the embedded engine does.
        if self._closed:
            raise StoreError("event store (ClickHouse) is closed")

    def command(self, sql: str, params: Params = None) -> None:
        with self._lock:
            self._check_open()
            try:
                check_params(params, sql)
                self._client.command(sql, parameters=dict(params or {}))
            except Exception as exc:
                raise StoreError(f"event store (ClickHouse): {exc}") from exc

    def arrow(
        self, sql: str, params: Params = None, input_rows: pa.Table | None = None
    ) -> pa.Table:
        external = None if input_rows is None else _external_table(input_rows)
        with self._lock:
            self._check_open()
            try:
                check_params(params, sql)
                result = self._client.query_arrow(
                    sql, parameters=dict(params or {}), external_data=external
                )
            except Exception as exc:
                raise StoreError(f"event store (ClickHouse): {exc}") from exc
        assert isinstance(result, pa.Table)
        return result

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        data = _portable(data)
        with self._lock:
            self._check_open()
            try:
                self._client.insert_arrow(table, data)
            except Exception as exc:
                raise StoreError(f"event store (ClickHouse) insert into {table}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._client.close()


_EXTERNAL_TYPES = {pa.string(): "String", pa.large_string(): "String", pa.int64(): "Int64",
                   pa.uint64(): "UInt64", pa.int32(): "Int32", pa.uint32(): "UInt32"}  # fmt: skip


def _external_table(rows: pa.Table) -> ExternalData:
    """``rows`` as the server's external table ``input_rows``, sent as Arrow with the query."""
    try:
        structure = [f"{f.name} {_EXTERNAL_TYPES[f.type]}" for f in rows.schema]
    except KeyError as exc:
        raise StoreError(f"input_rows: column type {exc} is not supported") from exc
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return ExternalData(file_name=INPUT_ROWS, data=sink.getvalue().to_pybytes(),
                        fmt="ArrowStream", structure=structure)  # fmt: skip


def _portable(data: pa.Table) -> pa.Table:
    """``data`` with Arrow UUID columns as text, which every server version casts to UUID.

    Servers before Arrow's UUID extension read it as its 16-byte storage, and ClickHouse keeps a
    UUID's two halves in the other byte order, so the value would land scrambled. chDB reads the
    extension type; a table read back from either engine can be written to the other.
    """
    for index, field in enumerate(data.schema):
        kind = field.type
        if isinstance(kind, pa.BaseExtensionType) and kind.extension_name == "arrow.uuid":
            values = data.column(index).to_pylist()
            as_text = pa.array([None if u is None else str(u) for u in values], pa.string())
            text_field = pa.field(field.name, pa.string(), field.nullable)
            data = data.set_column(index, text_field, as_text)
    return data
