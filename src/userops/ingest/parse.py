"""One raw record (a JSON line or a decoded row) to a validated message, or a reason it is not.

Pure functions of their input, so import workers run them in parallel processes. Every reject
names the line and the field, the way an operator fixing the file needs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from userops.schema.events import SegmentMessage


@dataclass(frozen=True)
class Limits:
    max_event_bytes: int
    max_json_depth: int
    max_future_seconds: int
    max_age_days: int


@dataclass(frozen=True)
class Reject:
    line: int
    field: str
    reason: str


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _describe_validation_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return loc, "unknown field (check its spelling against the Segment spec)"
    if not loc and ": " in message:  # our model validator says "field: reason"
        loc, message = message.split(": ", 1)
    return loc or "(message)", message


def _describe_bad_json(raw: bytes) -> tuple[str, str]:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "(line)", f"not UTF-8: byte {exc.start} is 0x{raw[exc.start]:02x}"
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return "(line)", f"malformed JSON: {exc}"
    if not isinstance(value, dict):
        return "(line)", f"expected a JSON object, got {type(value).__name__}"
    return "(line)", "malformed JSON"


def _check_time(message: SegmentMessage, limits: Limits, now: dt.datetime) -> Reject | str:
    when = message.event_time
    if when is None:
        return "timestamp: required (timestamp, originalTimestamp or receivedAt)"
    if when.tzinfo is None:  # Segment reads an ISO time without offset as UTC
        when = when.replace(tzinfo=dt.UTC)
    if when > now + dt.timedelta(seconds=limits.max_future_seconds):
        return f"timestamp: {when.isoformat()} is more than {limits.max_future_seconds} s in the future"
    if when < now - dt.timedelta(days=limits.max_age_days):
        return f"timestamp: {when.isoformat()} is more than {limits.max_age_days} days old"
    return ""


def parse_json_line(
    line_no: int, raw: bytes, limits: Limits, now: dt.datetime
) -> SegmentMessage | Reject:
    if len(raw) > limits.max_event_bytes:
        return Reject(line_no, "(line)", f"{len(raw)} bytes, over the {limits.max_event_bytes}-byte limit per event")
    try:
        message = SegmentMessage.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"].startswith("json"):
            return Reject(line_no, *_describe_bad_json(raw))
        return Reject(line_no, *_describe_validation_error(exc))
    if message.messageId is None:
        # Content-derived ids make re-importing the same file idempotent.
        message.messageId = "sha1:" + hashlib.sha1(raw.strip()).hexdigest()
    return _finish(line_no, message, raw.count(b"{") + raw.count(b"["), limits, now)


def parse_record(
    line_no: int, record: dict[str, Any], limits: Limits, now: dt.datetime
) -> SegmentMessage | Reject:
    """A row from CSV or Parquet, already shaped as a Segment message."""
    raw = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    if len(raw) > limits.max_event_bytes:
        return Reject(line_no, "(row)", f"{len(raw)} bytes, over the {limits.max_event_bytes}-byte limit per event")
    try:
        message = SegmentMessage.model_validate(record)
    except ValidationError as exc:
        return Reject(line_no, *_describe_validation_error(exc))
    if message.messageId is None:
        message.messageId = "sha1:" + hashlib.sha1(raw).hexdigest()
    return _finish(line_no, message, raw.count(b"{") + raw.count(b"["), limits, now)


def _finish(
    line_no: int, message: SegmentMessage, brackets: int, limits: Limits, now: dt.datetime
) -> SegmentMessage | Reject:
    # Counting brackets is cheap and bounds the depth; only suspicious events are walked.
    if brackets > limits.max_json_depth:
        for name in ("properties", "traits", "context"):
            if _too_deep(getattr(message, name), limits.max_json_depth - 1):
                return Reject(line_no, name, f"nested deeper than {limits.max_json_depth} levels")
    problem = _check_time(message, limits, now)
    if problem:
        assert isinstance(problem, str)
        field, reason = problem.split(": ", 1)
        return Reject(line_no, field, reason)
    return message
