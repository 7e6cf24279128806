"""Validated messages to event-table columns: promoted context fields, JSON text, stable uuids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pyarrow as pa

from userops.schema.events import SegmentMessage

def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _sub(context: dict[str, Any], key: str, field: str) -> str:
    section = context.get(key)
    return _text(section.get(field)) if isinstance(section, dict) else ""


def _utm(message: SegmentMessage) -> tuple[str, str, str]:
    """UTM from context.campaign, else from the page URL's query string."""
    campaign = message.context.get("campaign")
    if isinstance(campaign, dict) and campaign:
        return (
            _text(campaign.get("source")),
            _text(campaign.get("medium")),
            _text(campaign.get("name")),
        )
    url = _sub(message.context, "page", "url") or _text(message.properties.get("url"))
    if "utm_" not in url:
        return "", "", ""
    query = parse_qs(urlsplit(url).query)
    return tuple(query.get(f"utm_{k}", [""])[0] for k in ("source", "medium", "campaign"))  # type: ignore[return-value]


def _ms(value: dt.datetime | None, default: int) -> int:
    """Epoch milliseconds; pyarrow converts aware datetimes 20 times slower than this."""
    if value is None:
        return default
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1000)


def _timestamps(values: list[int]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode() if value else ""


def message_columns(
    messages: Sequence[SegmentMessage], project_id: int, received_at: dt.datetime
) -> pa.Table:
    """The events-table columns for ``messages``, all but ``person_id`` (and ``uuid``, which the
    store generates: duplicates are found by messageId, so the uuid need not be derived)."""
    # Column-at-a-time comprehensions: about three times faster than one loop filling 20 lists.
    contexts = [m.context for m in messages]
    utms = [_utm(m) for m in messages]
    columns: dict[str, list[Any]] = {
        "message_id": [m.messageId or "" for m in messages],
        "type": [m.type for m in messages],
        "event": [m.event_name for m in messages],
        "distinct_id": [m.distinct_id for m in messages],
        "anonymous_id": [m.anonymousId or "" for m in messages],
        "user_id": [m.userId or "" for m in messages],
        "previous_id": [m.previousId or "" for m in messages],
        "group_id": [m.groupId or "" for m in messages],
        "name": [m.name or "" for m in messages],
        "properties": [_json(m.properties) for m in messages],
        "traits": [_json(m.traits) for m in messages],
        "traits_once": [""] * len(messages),
        "context": [_json(c) for c in contexts],
        "utm_source": [u[0] for u in utms],
        "utm_medium": [u[1] for u in utms],
        "utm_campaign": [u[2] for u in utms],
        "os": [_sub(c, "os", "name") for c in contexts],
        "browser": [_sub(c, "browser", "name") for c in contexts],
        "device_type": [_sub(c, "device", "type") for c in contexts],
        "app_version": [_sub(c, "app", "version") for c in contexts],
        "country": [_sub(c, "location", "country") for c in contexts],
    }
    received_ms = _ms(received_at, 0)
    arrays: dict[str, pa.Array] = {
        "project_id": pa.array([project_id] * len(messages), pa.uint32()),
        "timestamp": _timestamps([_ms(m.event_time, received_ms) for m in messages]),
        "received_at": _timestamps([_ms(m.receivedAt, received_ms) for m in messages]),
    }
    arrays.update({name: pa.array(values, pa.string()) for name, values in columns.items()})
    return pa.table(arrays)
