"""PostHog's capture API, as the official SDKs send it, to UserOps' Segment messages.

Pure functions, no I/O: the HTTP server hands over the request's bytes and headers and gets back
events ready for ``message_from_dict`` (or ``parse.parse_record``, which adds the size, depth and
time-window limits). Two steps, because they fail differently:

- ``parse_posthog_body`` decodes the request (gzip, form ``data=``, base64, JSON) and finds the
  project's api key. A body it cannot read fails the whole request (``PosthogBodyError``, 400;
  ``PosthogTooLarge``, 413).
- ``map_event`` maps one event. A bad event is a ``MappingError`` naming the field; the caller
  adds the event's index, the way ``parse.Reject`` names the line.

The rules follow PostHog's own server (the Rust capture service and its ingestion pipeline), so
that an SDK pointed at UserOps means the same thing it means to PostHog:

- ``$identify``: ``distinct_id`` is the user's new id and ``properties.$anon_distinct_id`` the
  anonymous id it replaces (posthog-js ``identify()``); PostHog merges the latter into the former.
- ``$create_alias``: posthog-python's ``alias(previous_id, distinct_id)`` sends the *previous* id
  as the event's ``distinct_id`` (and ``properties.distinct_id``) and the new one as
  ``properties.alias``; PostHog merges ``alias`` into ``distinct_id``'s person.
- ``$set`` / ``$set_once`` (top level, as posthog-python's ``set()``/``set_once()`` and posthog-js
  send them, or in ``properties``) update the person; the top-level values win, as in PostHog.
- Time: ``offset`` (ms before the server received it) wins; else ``timestamp`` corrected by the
  client's clock skew (``now - (sent_at - timestamp)``) when the request has ``sent_at``; else
  ``timestamp``; else the time it was received.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

from userops.errors import BadRequest, PayloadTooLarge
from userops.ingest.inflate import BadGzip, OverLimit, gunzip_bounded
from userops.schema.events import MAX_NAME_LENGTH

# PostHog's capture service accepts request bodies up to 20 MB; a gzip body is limited by what it
# expands to, so a few KB of zeros cannot make the server allocate gigabytes.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# PostHog truncates distinct ids to 200 characters; doing the same keeps an id that an SDK sends
# to both PostHog and UserOps the same person in both.
MAX_DISTINCT_ID_CHARS = 200

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_TOKENS = frozenset({"gzip", "gzip-js", "x-gzip"})
_PLAIN_TOKENS = frozenset({"", "identity", "base64"})
_FORM = "application/x-www-form-urlencoded"
# Text that can only be base64 (standard or URL-safe, with form decoding's "+" -> " " damage).
_BASE64 = re.compile(rb"[A-Za-z0-9+/=_\-\s]+")
# posthog-js sends the time it sent the request as `_=<epoch ms>` in the query; PostHog ignores
# values before this year, which are older SDKs' seconds.
_QUERY_SENT_AT_MIN_YEAR = 2021
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class PosthogBodyError(BadRequest, ValueError):
    """The request body cannot be read as PostHog events (a 400 for the whole request)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="body")


class PosthogTooLarge(PayloadTooLarge, ValueError):
    """The body, once decompressed, is over the limit (a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body expands past the {limit}-byte limit", field="body")
        self.limit = limit


@dataclass(frozen=True)
class PosthogPayload:
    events: list[Any]  # each as decoded: map_event checks that it is an event object
    api_key: str | None  # the project token; None when the request carries none
    sent_at: str | None  # when the client sent the request, for clock-skew correction
    historical_migration: bool = False


@dataclass(frozen=True)
class MappedEvent:
    message: dict[str, Any]  # a Segment message for message_from_dict
    set_once: dict[str, Any]  # PostHog's $set_once person properties (stored as traits_once)


@dataclass(frozen=True)
class MappingError:
    field: str
    reason: str


# --- the request body ----------------------------------------------------------------------


def parse_posthog_body(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    query: Mapping[str, str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> PosthogPayload:
    """Decode a capture request (``/batch/``, ``/capture/``, ``/e/``, ``/i/v0/e/``)."""
    return _payload(_decode_body(body, content_type, content_encoding, query, max_bytes), query)


def _decode_body(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    query: Mapping[str, str],
    max_bytes: int,
) -> Any:
    compression = _token(content_encoding) or _token(query.get("compression"))
    if compression in _GZIP_TOKENS or body.startswith(_GZIP_MAGIC):
        # Sniffing the magic bytes too, as PostHog does: some posthog-js requests arrive
        # gzipped without the compression parameter.
        body = _gunzip(body, max_bytes)
    elif compression not in _PLAIN_TOKENS:
        raise PosthogBodyError(f"unsupported compression {compression!r} (use gzip or none)")
    elif len(body) > max_bytes:
        raise PosthogTooLarge(max_bytes)
    if _is_form(content_type, body):
        body = _form_data(body)
        if body.startswith(_GZIP_MAGIC):
            body = _gunzip(body, max_bytes)
    if not body.strip():
        raise PosthogBodyError("empty body: expected a JSON event, array of events or batch")
    return _loads(body, max_bytes)


def _token(value: str | None) -> str:
    return (value or "").strip().lower()


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    try:
        return gunzip_bounded(data, max_bytes)
    except BadGzip as exc:
        raise PosthogBodyError(f"bad gzip data: {exc}") from None
    except OverLimit:
        raise PosthogTooLarge(max_bytes) from None


def _is_form(content_type: str | None, body: bytes) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    # posthog-js' sendBeacon and older SDKs post `data=...` without always saying so.
    return media_type == _FORM or (media_type in ("", "text/plain") and body.startswith(b"data="))


def _form_data(body: bytes) -> bytes:
    try:
        fields = parse_qs(body.decode("utf-8"), errors="strict", max_num_fields=16)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PosthogBodyError(f"bad form body: {exc}") from None
    values = fields.get("data")
    if not values:
        raise PosthogBodyError("form body has no `data` field")
    return values[0].encode("utf-8")


def _loads(raw: bytes, max_bytes: int) -> Any:
    """JSON, or base64 of JSON (posthog-js' `data=` form and older SDKs)."""
    _check_utf8(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not _BASE64.fullmatch(raw):
            raise PosthogBodyError(f"malformed JSON: {exc}") from None
    decoded = _b64decode(raw)
    if decoded.startswith(_GZIP_MAGIC):
        decoded = _gunzip(decoded, max_bytes)
    _check_utf8(decoded)
    try:
        return orjson.loads(decoded)
    except orjson.JSONDecodeError as exc:
        raise PosthogBodyError(f"malformed JSON (after base64 decoding): {exc}") from None


def _check_utf8(raw: bytes) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        raise PosthogBodyError(f"body is not UTF-8: byte {exc.start} is 0x{byte:02x}") from None


def _b64decode(raw: bytes) -> bytes:
    # Form decoding turns an unescaped "+" into a space; URL-safe base64 uses "-" and "_".
    text = b"".join(raw.replace(b" ", b"+").split()).translate(bytes.maketrans(b"-_", b"+/"))
    text = text.rstrip(b"=")
    try:
        return base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise PosthogBodyError(f"bad base64: {exc}") from None


def _payload(data: Any, query: Mapping[str, str]) -> PosthogPayload:
    if isinstance(data, list):
        return PosthogPayload(data, _events_api_key(data), _query_sent_at(query))
    if not isinstance(data, dict):
        raise PosthogBodyError(f"expected a JSON object or array, got {_kind(data)}")
    sent_at = data.get("sent_at")
    if sent_at is not None and not isinstance(sent_at, str):
        raise PosthogBodyError(f"sent_at: expected an ISO-8601 string, got {_kind(sent_at)}")
    sent_at = sent_at or _query_sent_at(query)
    if "batch" not in data:
        return PosthogPayload([data], _events_api_key([data]), sent_at)
    batch = data["batch"]
    if not isinstance(batch, list):
        raise PosthogBodyError(f"batch: expected a JSON array, got {_kind(batch)}")
    # PostHog reads a batch's token from the batch only; the events' are a fallback here.
    api_key = _text(data.get("api_key")) or _text(data.get("token")) or _events_api_key(batch)
    return PosthogPayload(batch, api_key, sent_at, data.get("historical_migration") is True)


def _events_api_key(events: list[Any]) -> str | None:
    tokens = {token for event in events if (token := _event_token(event))}
    if len(tokens) > 1:
        # One request is one project; PostHog refuses mixed tokens the same way.
        raise PosthogBodyError("events carry different api keys (token); send one per request")
    return tokens.pop() if tokens else None


def _event_token(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    for key in ("token", "$token", "api_key"):
        if token := _text(event.get(key)):
            return token
    properties = event.get("properties")
    return _text(properties.get("token")) if isinstance(properties, dict) else None


def _query_sent_at(query: Mapping[str, str]) -> str | None:
    try:
        sent = _EPOCH + dt.timedelta(milliseconds=int(query.get("_", "")))
    except (ValueError, OverflowError):
        return None
    return sent.isoformat() if sent.year >= _QUERY_SENT_AT_MIN_YEAR else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


# --- one event -----------------------------------------------------------------------------


class _Invalid(Exception):
    """Raised deep in the mapping, turned into a MappingError at the top."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class _Shape:
    """What an event's kind decides: the Segment fields and which properties were moved."""

    fields: dict[str, Any]
    moved: frozenset[str] = frozenset()
    added: dict[str, Any] = field(default_factory=dict)  # properties added if absent
    person_traits: bool = True  # False: `traits` belong to a group, not the person


# Moved out of every event's properties: the id is the message's, the token is the request's
# credential (not about the event), and $set/$set_once become traits/traits_once, where keeping a
# second copy would only double the stored size. $anon_distinct_id and alias are moved only by
# the events whose ids they are; on other events they are ordinary data and stay.
_MOVED = frozenset({"distinct_id", "token", "$set", "$set_once"})


def map_event(event: Any, sent_at: str | None, now: dt.datetime) -> MappedEvent | MappingError:
    """One PostHog event to a Segment message (``sent_at``: the request's, if any)."""
    try:
        return _map(event, sent_at, _utc(now))
    except _Invalid as exc:
        return MappingError(exc.field, exc.reason)


def _map(event: Any, sent_at: str | None, now: dt.datetime) -> MappedEvent:
    if not isinstance(event, dict):
        raise _Invalid("(event)", f"expected a JSON object, got {_kind(event)}")
    name = event.get("event")
    if not isinstance(name, str) or not name.strip():
        raise _Invalid("event", "required: a non-empty event name")
    properties = _object(event.get("properties"), "properties")
    distinct_id = _distinct_id(event, properties)
    shape = _SHAPES.get(name, _track)(name, distinct_id, properties)
    message = dict(shape.fields)
    message_id = _message_id(event.get("uuid"))
    if message_id is not None:
        message["messageId"] = message_id  # PostHog dedupes by uuid; so does UserOps
    when = _event_time(event, properties, sent_at, now)
    message["timestamp"] = when.isoformat()
    message["receivedAt"] = now.isoformat()
    kept = {k: v for k, v in properties.items() if k not in shape.moved}
    kept.update((k, v) for k, v in shape.added.items() if k not in kept)
    if kept:
        message["properties"] = kept
    person = _person_properties(event, properties, "$set")
    if shape.person_traits and person:
        message["traits"] = person
    if context := _context(properties):
        message["context"] = context
    return MappedEvent(message, _person_properties(event, properties, "$set_once"))


def _utc(now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(name, f"expected a JSON object, got {_kind(value)}")
    return value


def _person_properties(event: dict[str, Any], props: dict[str, Any], key: str) -> dict[str, Any]:
    """``properties[key]`` updated by the top-level ``key``: PostHog's precedence."""
    nested = _object(props.get(key), f"properties.{key}")
    top = _object(event.get(key), key)
    return {**nested, **top} if top else nested


# --- ids -----------------------------------------------------------------------------------


def _distinct_id(event: dict[str, Any], properties: dict[str, Any]) -> str:
    # PostHog takes the top-level id (also spelt $distinct_id), else properties.distinct_id.
    value = event.get("distinct_id")
    if value is None:
        value = event.get("$distinct_id")
    if value is None:
        value = properties.get("distinct_id")
    identity = _id_text(value)
    if identity is None:
        raise _Invalid("distinct_id", "required: a non-empty id (top level or in properties)")
    return identity


def _id_text(value: Any) -> str | None:
    """An id as PostHog stores it: strings as is, other JSON as its text, 200 characters at most.

    posthog-js accepts any value as an id, and PostHog keeps numbers and objects as their JSON.
    """
    if value is None:
        return None
    if isinstance(value, str):
        identity = value
    else:
        identity = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    return identity[:MAX_DISTINCT_ID_CHARS] if identity.strip() else None


def _message_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid("uuid", f"expected a UUID string, got {_kind(value)}")
    try:
        uuid.UUID(value)
    except ValueError:
        raise _Invalid("uuid", f"not a UUID: {_show(value)}") from None
    return value  # kept as sent: it is the dedupe key the client will send again on retry


def _subject(distinct_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Who an ordinary event is about. PostHog has one id; Segment says if it is known.

    Events the SDK marks as anonymous (posthog-js ``$is_identified: false``, personless events'
    ``$process_person_profile: false``) carry it as anonymousId. Only one of the two is set:
    UserOps links the anonymousId and userId of every message, and PostHog links ids only on
    $identify and $create_alias.
    """
    if properties.get("$is_identified") is False or (
        properties.get("$process_person_profile") is False
    ):
        return {"anonymousId": distinct_id}
    return {"userId": distinct_id}


# --- the kinds of event --------------------------------------------------------------------


def _track(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    return _Shape({"type": "track", "event": name, **_subject(distinct_id, properties)}, _MOVED)


def _identify(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    fields: dict[str, Any] = {"type": "identify", "userId": distinct_id}
    anonymous = _id_text(properties.get("$anon_distinct_id"))
    if anonymous is not None:
        fields["anonymousId"] = anonymous  # linked to userId: PostHog's merge of the two
    return _Shape(fields, _MOVED | {"$anon_distinct_id"})


def _set_person(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    # posthog-python's set()/set_once(): only person properties, which Segment calls identify.
    return _Shape({"type": "identify", "userId": distinct_id}, _MOVED)


def _alias(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    # The event's distinct_id is the id that already exists (posthog-python: previous_id) and
    # `alias` the id joining it; Segment's alias has the same two as previousId and userId.
    alias = _id_text(properties.get("alias"))
    if alias is None:
        raise _Invalid("properties.alias", f"required: the id to link {name} to distinct_id")
    return _Shape({"type": "alias", "previousId": distinct_id, "userId": alias}, _MOVED | {"alias"})


def _page(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    fields: dict[str, Any] = {"type": "page", **_subject(distinct_id, properties)}
    # posthog-js sends the document title as `title`; $title is also seen from other SDKs.
    title = _name(properties.get("$title")) or _name(properties.get("title"))
    if title:
        fields["name"] = title
    url = properties.get("$current_url")
    # Segment's page properties carry `url`, which UserOps reads UTM parameters from.
    added = {"url": url} if isinstance(url, str) and url else {}
    return _Shape(fields, _MOVED, added)


def _screen(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    fields: dict[str, Any] = {"type": "screen", **_subject(distinct_id, properties)}
    screen_name = _name(properties.get("$screen_name"))
    if screen_name:
        fields["name"] = screen_name
    return _Shape(fields, _MOVED)


def _group(name: str, distinct_id: str, properties: dict[str, Any]) -> _Shape:
    group_id = _id_text(properties.get("$group_key"))
    if group_id is None:
        raise _Invalid("properties.$group_key", "required: the group's key")
    fields: dict[str, Any] = {"type": "group", **_subject(distinct_id, properties)}
    fields["groupId"] = group_id
    group_traits = _object(properties.get("$group_set"), "properties.$group_set")
    if group_traits:
        fields["traits"] = group_traits
    # `traits` are the group's here, so a person's $set (rare on this event) stays a property.
    moved = (_MOVED - {"$set"}) | {"$group_key", "$group_set"}
    return _Shape(fields, moved, person_traits=False)


def _name(value: Any) -> str | None:
    # Names are labels (at most MAX_NAME_LENGTH); a long page title is cut, not the event
    # rejected, and its full text stays in the properties.
    if not isinstance(value, str):
        return None
    return value.strip()[:MAX_NAME_LENGTH] or None


_ShapeOf = Callable[[str, str, dict[str, Any]], _Shape]
_SHAPES: dict[str, _ShapeOf] = {
    "$identify": _identify,
    "$set": _set_person,
    "$set_once": _set_person,
    "$create_alias": _alias,
    # posthog-js' merge_dangerously(): the same shape as $create_alias; UserOps merges either way.
    "$merge_dangerously": _alias,
    "$pageview": _page,
    "$screen": _screen,
    "$groupidentify": _group,
}


# --- context -------------------------------------------------------------------------------

# PostHog property -> where Segment's context keeps it. UserOps promotes context.os.name,
# .browser.name (not a Segment field, but where UserOps reads it), .device.type, .app.version and
# the UTM parameters in .campaign; the rest is kept for whoever reads the context.
_CONTEXT_TEXT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("$lib", ("library", "name")),
    ("$lib_version", ("library", "version")),
    ("$os", ("os", "name")),
    ("$os_version", ("os", "version")),
    ("$browser", ("browser", "name")),
    ("$browser_version", ("browser", "version")),
    ("$device_type", ("device", "type")),
    ("$device_manufacturer", ("device", "manufacturer")),
    ("$device_model", ("device", "model")),
    ("$device_name", ("device", "name")),
    ("$app_name", ("app", "name")),
    ("$app_version", ("app", "version")),
    ("$app_build", ("app", "build")),
    ("$app_namespace", ("app", "namespace")),
    ("$current_url", ("page", "url")),
    ("$pathname", ("page", "path")),
    ("$referrer", ("page", "referrer")),
    ("$ip", ("ip",)),
    ("$locale", ("locale",)),
    ("$timezone", ("timezone",)),
    ("$raw_user_agent", ("userAgent",)),
    # posthog-js sends the page URL's UTM parameters as properties too.
    ("utm_source", ("campaign", "source")),
    ("utm_medium", ("campaign", "medium")),
    ("utm_campaign", ("campaign", "name")),
    ("utm_term", ("campaign", "term")),
    ("utm_content", ("campaign", "content")),
)
_CONTEXT_NUMBER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("$screen_width", ("screen", "width")),
    ("$screen_height", ("screen", "height")),
)
# posthog-js' $referrer when there was none: not a URL.
_NO_REFERRER = "$direct"


def _context(properties: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key, path in _CONTEXT_TEXT:
        value = properties.get(key)
        # Only strings: UserOps extracts these as String and a hostile object there would
        # only be noise; the property itself is kept either way.
        if isinstance(value, str) and value and value != _NO_REFERRER:
            _put(context, path, value)
    for key, path in _CONTEXT_NUMBER:
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            _put(context, path, value)
    return context


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


# --- time ----------------------------------------------------------------------------------


def _event_time(
    event: dict[str, Any], properties: dict[str, Any], sent_at: str | None, now: dt.datetime
) -> dt.datetime:
    """PostHog's rule: offset, else timestamp corrected for clock skew, else timestamp, else now."""
    offset = event.get("offset")
    if offset is not None:
        return _shift(now, -_offset(offset), "offset")
    raw = event.get("timestamp")
    if raw is None:
        return now
    timestamp = _parse_time(raw, "timestamp")
    raw_sent = event.get("sent_at") or sent_at
    # $ignore_sent_at: the client says its timestamps are right (imports of old events).
    if raw_sent is None or properties.get("$ignore_sent_at"):
        return timestamp
    # The client's clock is off by (sent_at - now); its timestamp by as much.
    return _shift(now, timestamp - _parse_time(raw_sent, "sent_at"), "timestamp")


def _offset(value: Any) -> dt.timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("offset", f"expected milliseconds as a number, got {_kind(value)}")
    try:
        return dt.timedelta(milliseconds=value)
    except (OverflowError, ValueError):
        raise _Invalid("offset", f"{value!r} ms is out of range") from None


def _shift(now: dt.datetime, delta: dt.timedelta, name: str) -> dt.datetime:
    try:
        return now + delta
    except OverflowError:
        raise _Invalid(name, "the corrected time is out of range") from None


def _parse_time(value: Any, name: str) -> dt.datetime:
    """ISO-8601 with an offset, Z, or none (UTC, as PostHog reads it); as UTC."""
    if not isinstance(value, str):
        raise _Invalid(name, f"expected an ISO-8601 string, got {_kind(value)}")
    try:
        return _utc(dt.datetime.fromisoformat(value.strip()))
    except ValueError:
        raise _Invalid(name, f"not an ISO-8601 time: {_show(value)}") from None
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00, before datetime's year 1 in UTC
        raise _Invalid(name, f"out of range: {_show(value)}") from None


def _show(value: str, limit: int = 64) -> str:
    """A hostile value quoted for an error message, never its whole length."""
    return repr(value if len(value) <= limit else value[:limit] + "...")
