"""The Segment message: the one wire contract every event enters UserOps through.

Bulk import, the HTTP Tracking API and the demo generator all decode into this, so validation and
its error messages are the same everywhere. Unknown top-level fields are errors (they are almost
always typos such as ``userid``); ``context``, ``properties`` and ``traits`` are free-form.

Why msgspec and not pydantic here: this is the hot path of ingestion. Measured on this machine
(benchmarks/import_jsonl.py and a micro-benchmark of one 430-byte event), msgspec decodes and
validates a message in about 2 us, pydantic's ``model_validate_json`` in 6-8 us; bulk import's
target of 200k events/s on two cores leaves about 5 us per event for everything.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
import orjson

MessageType = Literal["track", "identify", "page", "screen", "group", "alias"]

MAX_ID_LENGTH = 400
MAX_NAME_LENGTH = 200

Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH)]
Ident = Annotated[str, msgspec.Meta(max_length=MAX_ID_LENGTH)] | int

# What each type is stored as in the events table's `event` column: the names PostHog uses, so
# PostHog's SDKs and Segment's land on the same events.
EVENT_NAME_BY_TYPE: dict[str, str] = {
    "identify": "$identify",
    "page": "$pageview",
    "screen": "$screen",
    "group": "$groupidentify",
    "alias": "$create_alias",
}


EMPTY = msgspec.Raw(b"")
OBJECT_FIELDS = ("properties", "traits", "context", "integrations", "setOnce")


def _id(value: str | int | None) -> str | None:
    """Segment ids are strings; SDKs sometimes send numbers, which Segment takes as text."""
    if value is None:
        return None
    return (value if isinstance(value, str) else str(value)).strip() or None


# gc=False: messages hold no reference cycles, and keeping a million of them out of the cyclic
# garbage collector's lists made decoding 2.5 times faster in import (measured, 1M events).
# omit_defaults: a message re-encoded for the ingestion log leaves absent fields out (an absent
# raw object would otherwise encode as nothing at all, which is not JSON).
class SegmentMessage(
    msgspec.Struct, forbid_unknown_fields=True, kw_only=True, gc=False, omit_defaults=True
):
    type: MessageType = "track"
    event: Name | None = None
    name: Name | None = None
    category: Name | None = None
    userId: Ident | None = None
    anonymousId: Ident | None = None
    previousId: Ident | None = None
    groupId: Ident | None = None
    messageId: Annotated[str, msgspec.Meta(max_length=MAX_ID_LENGTH)] | None = None
    timestamp: dt.datetime | None = None
    originalTimestamp: dt.datetime | None = None
    sentAt: dt.datetime | None = None
    receivedAt: dt.datetime | None = None
    # Kept as the JSON text they arrived as: the store keeps them as text anyway, and not
    # decoding and re-encoding them halves the cost of a message (measured, 430-byte event).
    properties: msgspec.Raw = EMPTY
    traits: msgspec.Raw = EMPTY
    context: msgspec.Raw = EMPTY
    integrations: msgspec.Raw = EMPTY
    # A UserOps extension for PostHog's $set_once person properties (the first value a person
    # gets is kept); stored as traits_once. Segment's own messages never carry it.
    setOnce: msgspec.Raw = EMPTY
    version: int | str | None = None
    channel: str | None = None
    writeKey: str | None = None
    _metadata: dict[str, Any] | None = msgspec.field(default=None, name="_metadata")
    # Written by `userops export`; identity is recomputed from the links, so it is ignored here.
    personId: str | int | None = None

    def __post_init__(self) -> None:
        for name in OBJECT_FIELDS:
            value = getattr(self, name)
            if value and memoryview(value)[0] != 0x7B:  # "{"
                raise ValueError(f"{name}: must be a JSON object")
        self.userId = _id(self.userId)
        self.anonymousId = _id(self.anonymousId)
        self.previousId = _id(self.previousId)
        self.groupId = _id(self.groupId)
        if self.type == "track" and not (self.event and self.event.strip()):
            raise ValueError("event: a track call needs a non-empty event name")
        if self.type == "alias":
            if not self.previousId:
                raise ValueError("previousId: an alias call needs previousId")
            if not self.userId:
                raise ValueError("userId: an alias call needs userId")
        elif not (self.userId or self.anonymousId):
            raise ValueError("userId: every call needs userId or anonymousId")
        if self.type == "group" and not self.groupId:
            raise ValueError("groupId: a group call needs groupId")

    @property
    def distinct_id(self) -> str:
        """The id the event is counted under: the user id once known, else the device's."""
        identity = self.userId or self.anonymousId
        assert isinstance(identity, str)  # __post_init__ guarantees one of them
        return identity

    @property
    def event_name(self) -> str:
        if self.type == "track":
            assert self.event is not None
            return self.event.strip()
        return EVENT_NAME_BY_TYPE[self.type]

    @property
    def event_time(self) -> dt.datetime | None:
        return self.timestamp or self.originalTimestamp or self.receivedAt


DECODER = msgspec.json.Decoder(SegmentMessage)


def decode_message(raw: bytes) -> SegmentMessage:
    """Raises msgspec.DecodeError (bad JSON) or msgspec.ValidationError (bad message)."""
    return DECODER.decode(raw)


def message_from_dict(record: dict[str, Any]) -> SegmentMessage:
    """The same validation for a message that arrives as a Python dict (CSV, Parquet, tests)."""
    return decode_message(orjson.dumps(record))


def raw_object(value: msgspec.Raw) -> dict[str, Any]:
    """One of the JSON-object fields, decoded (empty when absent)."""
    decoded = orjson.loads(bytes(value)) if value else {}
    assert isinstance(decoded, dict)
    return decoded
