"""The Segment message: the one wire contract every event enters UserOps through.

Bulk import, the HTTP Tracking API and the demo generator all produce these, so validation and
its error messages are the same everywhere. Unknown top-level fields are errors (they are almost
always typos such as ``userid``); ``context``, ``properties`` and ``traits`` are free-form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MessageType = Literal["track", "identify", "page", "screen", "group", "alias"]

MAX_ID_LENGTH = 400
MAX_EVENT_NAME_LENGTH = 200

# What each type is stored as in the events table's `event` column: the names PostHog uses, so
# PostHog's SDKs and Segment's land on the same events.
EVENT_NAME_BY_TYPE: dict[str, str] = {
    "identify": "$identify",
    "page": "$pageview",
    "screen": "$screen",
    "group": "$groupidentify",
    "alias": "$create_alias",
}


def _id(value: object) -> str | None:
    """Segment ids are strings; SDKs sometimes send numbers, which Segment accepts as text."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a string")
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        raise ValueError(f"longer than {MAX_ID_LENGTH} characters")
    return text or None


class SegmentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: MessageType = "track"
    event: str | None = Field(default=None, max_length=MAX_EVENT_NAME_LENGTH)
    name: str | None = Field(default=None, max_length=MAX_EVENT_NAME_LENGTH)
    category: str | None = Field(default=None, max_length=MAX_EVENT_NAME_LENGTH)
    userId: str | None = None
    anonymousId: str | None = None
    previousId: str | None = None
    groupId: str | None = None
    messageId: str | None = Field(default=None, max_length=MAX_ID_LENGTH)
    timestamp: dt.datetime | None = None
    originalTimestamp: dt.datetime | None = None
    sentAt: dt.datetime | None = None
    receivedAt: dt.datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)
    version: int | str | None = None
    channel: str | None = None
    writeKey: str | None = None
    metadata: dict[str, Any] | None = Field(default=None, alias="_metadata")
    # Written by `userops export`; identity is recomputed from the links, so it is ignored here.
    personId: str | int | None = None

    _normalise_ids = field_validator(
        "userId", "anonymousId", "previousId", "groupId", mode="before"
    )(lambda value: _id(value))

    @model_validator(mode="after")
    def _required_by_type(self) -> SegmentMessage:
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
        return self

    @property
    def distinct_id(self) -> str:
        """The id the event is counted under: the user id once known, else the device's."""
        identity = self.userId or self.anonymousId
        assert identity is not None  # the model validator guarantees one of them
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
