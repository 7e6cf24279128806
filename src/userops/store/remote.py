"""A ClickHouse server through clickhouse-connect: the same SQL as the embedded engine."""

from __future__ import annotations

import threading
from urllib.parse import unquote, urlsplit

import clickhouse_connect
import pyarrow as pa

from userops.errors import ConfigError
from userops.store.base import Params
from userops.store.embedded import StoreError


class RemoteStore:
    engine_name = "clickhouse"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"clickhouse_url {url!r}: expected http(s)://user:pass@host:port/db")
        database = parts.path.strip("/") or "default"
        # clickhouse-connect clients are not safe for concurrent queries on one session.
        self._lock = threading.Lock()
        self._client = clickhouse_connect.get_client(
            host=parts.hostname,
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=database,
            secure=parts.scheme == "https",
            autogenerate_session_id=False,
        )

    def command(self, sql: str, params: Params = None) -> None:
        with self._lock:
            try:
                self._client.command(sql, parameters=dict(params or {}))
            except Exception as exc:
                raise StoreError(f"event store (ClickHouse): {exc}") from exc

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        with self._lock:
            try:
                result = self._client.query_arrow(sql, parameters=dict(params or {}))
            except Exception as exc:
                raise StoreError(f"event store (ClickHouse): {exc}") from exc
        assert isinstance(result, pa.Table)
        return result

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        with self._lock:
            try:
                self._client.insert_arrow(table, data)
            except Exception as exc:
                raise StoreError(f"event store (ClickHouse) insert into {table}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._client.close()
