"""UserOps (用户运营平台): self-hosted user operations.

``userops.Client(url, key)`` asks a running server; ``userops.open(data_dir)`` opens a data
directory (see ``userops.client``). Both load on first use, so importing any ``userops``
module stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Client", "LocalClient", "open"]

if TYPE_CHECKING:
    from userops.client import Client, LocalClient
    from userops.client import open_data_dir as open

_EXPORTS = {"Client": "Client", "LocalClient": "LocalClient", "open": "open_data_dir"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module("userops.client"), _EXPORTS[name])
    raise AttributeError(f"module 'userops' has no attribute {name!r}")
