"""Event store: engines behind one interface, schema migrations, and opening by settings."""

from __future__ import annotations

from pathlib import Path

from userops.store.base import EventStore, rows, scalar
from userops.store.embedded import EmbeddedStore, StoreError
from userops.store.migrations import migrate

__all__ = ["EventStore", "StoreError", "open_store", "rows", "scalar"]


def open_store(data_dir: Path, clickhouse_url: str = "") -> EventStore:
    """The configured engine with its schema migrated to the newest version."""
    store: EventStore
    if clickhouse_url:
        from userops.store.remote import RemoteStore

        store = RemoteStore(clickhouse_url)
    else:
        store = EmbeddedStore(data_dir / "events")
    try:
        migrate(store)
    except BaseException:
        store.close()  # chDB keeps its one data path until the session closes
        raise
    return store
