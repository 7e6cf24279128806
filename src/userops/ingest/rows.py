"""Validated messages to event-table columns: promoted context fields, JSON text, stable uuids."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pyarrow as pa

from userops.schema.events import SegmentMessage

# uuid5 namespace for events: the same (project, messageId) always gets the same uuid.
EVENT_NAMESPACE = uuid.UUID("6f1c3a52-8f0e-4e7b-9a34-2f0b9d1e5c11")

STRING_COLUMNS = (
    "message_id", "type", "event", "distinct_id", "anonymous_id", "user_id", "previous_id",
    "group_id", "name", "properties", "traits", "traits_once", "context", "utm_source",
    "utm_medium", "utm_campaign", "os", "browser", "device_type", "app_version", "country",
)  # fmt: skip


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


def _ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1000)


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode() if value else ""


def message_columns(
    messages: Sequence[SegmentMessage], project_id: int, received_at: dt.datetime
) -> pa.Table:
    """The events-table columns for ``messages``, all but ``person_id``."""
    columns: dict[str, list[Any]] = {name: [] for name in STRING_COLUMNS}
    uuids: list[str] = []
    timestamps: list[int] = []
    received: list[int] = []
    default_received = _ms(received_at)
    prefix = f"{project_id}:"
    for m in messages:
        message_id = m.messageId or ""
        context = m.context
        source, medium, campaign = _utm(m)
        values = (
            message_id, m.type, m.event_name, m.distinct_id, m.anonymousId or "",
            m.userId or "", m.previousId or "", m.groupId or "", m.name or "",
            _json(m.properties), _json(m.traits), "", _json(context), source, medium, campaign,
            _sub(context, "os", "name"), _sub(context, "browser", "name"),
            _sub(context, "device", "type"), _sub(context, "app", "version"),
            _sub(context, "location", "country"),
        )  # fmt: skip
        for name, value in zip(STRING_COLUMNS, values, strict=True):
            columns[name].append(value)
        uuids.append(str(uuid.uuid5(EVENT_NAMESPACE, prefix + message_id)))
        event_time = m.event_time
        assert event_time is not None  # parse rejects messages without one
        timestamps.append(_ms(event_time))
        received.append(_ms(m.receivedAt) if m.receivedAt else default_received)
    arrays: dict[str, pa.Array] = {
        "project_id": pa.array([project_id] * len(messages), pa.uint32()),
        "uuid": pa.array(uuids, pa.string()),
        "timestamp": pa.array(timestamps, pa.timestamp("ms", tz="UTC")),
        "received_at": pa.array(received, pa.timestamp("ms", tz="UTC")),
    }
    arrays.update({name: pa.array(values, pa.string()) for name, values in columns.items()})
    return pa.table(arrays)
