"""What the console's resource routers (insights, persons, definitions) share: reading a JSON
body, reading ids from the path, and running store work off the event loop.

An id that is not a positive 63-bit number names nothing, so it is the same 404 as an id that
does not exist (not a 400 or, past the database's integer range, a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import Request

from userops.api.query import read_spec_body
from userops.errors import BadRequest, NotFound

MAX_BODY_BYTES = 1 << 20
MAX_ID = 2**63 - 1
MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key (projects, segments, tags, insights, ...)
T = TypeVar("T")


async def json_body(request: Request) -> Any:
    """The body as JSON (whatever its Content-Type), refused with 413 past 1 MB."""
    raw = await read_spec_body(request, MAX_BODY_BYTES)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc}", field=None) from None


def path_id(text: str, field: str, what: str, limit: int = MAX_ROW_ID) -> int:
    """A numeric id from the path, or 404 naming it. ``limit``: the largest id the table's key
    holds (``MAX_ROW_ID`` for the metadata store's INTEGER keys; PostgreSQL refuses a larger
    value outright, as an error rather than no row)."""
    if text.isascii() and text.isdigit() and 0 < int(text) <= limit:
        return int(text)
    raise NotFound(f"no {what} {text!r} in this project", field=field)


async def in_thread(work: Callable[..., T], *args: Any) -> T:
    """Metadata and event-store calls block: run them in a worker thread."""
    return await anyio.to_thread.run_sync(work, *args)
