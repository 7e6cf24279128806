"""PostHog's capture API to Segment messages: real SDK payloads, hand-written edge cases.

The SDK tests run the official posthog-python client with its HTTP session replaced, so the bytes
and headers checked are exactly what it would have sent to PostHog.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from userops.errors import BadRequest
from userops.identity.graph import IdentityGraph
from userops.ingest.pipeline import resolve_persons
from userops.ingest.posthog import (
    MappedEvent,
    MappingError,
    PosthogBodyError,
    PosthogPayload,
    PosthogTooLarge,
    map_event,
    parse_posthog_body,
)
from userops.ingest.rows import message_columns
from userops.schema.events import SegmentMessage, message_from_dict, raw_object

try:  # the official SDK: only the tests that run it need it
    import posthog
    import posthog.request as posthog_request
    from posthog.version import VERSION as SDK_VERSION
except ImportError:  # pragma: no cover
    posthog = None  # type: ignore[assignment]

NOW = dt.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
UUID1 = "0190e0a8-0000-7000-8000-000000000001"
MOVED = {"distinct_id", "token", "$set", "$set_once"}


# --- helpers -------------------------------------------------------------------------------


def parse(
    body: bytes | str,
    content_type: str | None = "application/json",
    encoding: str | None = None,
    query: dict[str, str] | None = None,
    **kwargs: Any,
) -> PosthogPayload:
    raw = body.encode() if isinstance(body, str) else body
    return parse_posthog_body(raw, content_type, encoding, query or {}, **kwargs)


def mapped(event: Any, sent_at: str | None = None, now: dt.datetime = NOW) -> MappedEvent:
    result = map_event(event, sent_at, now)
    assert isinstance(result, MappedEvent), result
    return result


def rejected(event: Any, sent_at: str | None = None) -> MappingError:
    result = map_event(event, sent_at, NOW)
    assert isinstance(result, MappingError), result
    return result


def validated(result: MappedEvent) -> SegmentMessage:
    return message_from_dict(result.message)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def same_person(messages: list[SegmentMessage]) -> bool:
    """Whether UserOps' identity resolution puts all the messages' ids in one person."""
    persons = resolve_persons(IdentityGraph(), message_columns(messages, 1, NOW))
    return len(set(persons.to_pylist())) == 1


# --- the official SDK, intercepted ---------------------------------------------------------


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]

    def payload(self) -> PosthogPayload:
        return parse_posthog_body(
            self.body, self.headers.get("Content-Type"), self.headers.get("Content-Encoding"), {}
        )


@dataclass
class Wire:
    requests: list[Sent] = field(default_factory=list)

    def last(self) -> PosthogPayload:
        return self.requests[-1].payload()

    def one_event(self) -> tuple[dict[str, Any], PosthogPayload]:
        payload = self.last()
        assert len(payload.events) == 1
        event = payload.events[0]
        assert isinstance(event, dict)
        return event, payload


class _Response:
    status_code = 200
    text = ""


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    if posthog is None:
        pytest.skip("the posthog SDK is not installed (pip install posthog)")
    captured = Wire()

    class Session:
        # posthog.request.post() sends every /batch/ request through this session's post().
        def post(self, url: str, data: bytes | str, headers: dict[str, str], timeout: float) -> Any:
            # Uncompressed, the SDK passes json.dumps()' ASCII text; requests sends its bytes.
            body = data.encode("ascii") if isinstance(data, str) else data
            captured.requests.append(Sent(url, body, dict(headers)))
            return _Response()

    monkeypatch.setattr(posthog_request, "_get_session", lambda: Session())
    return captured


@pytest.fixture(params=[True, False], ids=["gzip", "plain"])
def client(request: pytest.FixtureRequest, wire: Wire) -> Iterator[Any]:
    sdk = posthog.Posthog(
        project_api_key="phc_test",
        host="http://127.0.0.1:1",
        sync_mode=True,
        gzip=request.param,
        enable_exception_autocapture=False,
    )
    yield sdk
    sdk.shutdown()


def skew_corrected(event: dict[str, Any], payload: PosthogPayload) -> dt.datetime:
    """PostHog's rule on what the SDK sent: now - (sent_at - timestamp)."""
    assert payload.sent_at is not None
    return NOW - (parse_time(payload.sent_at) - parse_time(event["timestamp"]))


def test_sdk_capture_maps_to_track(client: Any, wire: Wire) -> None:
    client.capture(
        "signed up",
        distinct_id="user-1",
        properties={
            "plan": "pro",
            "$set": {"email": "a@example.com"},
            "$set_once": {"first_plan": "pro"},
        },
        groups={"company": "acme"},
        timestamp=dt.datetime(2024, 5, 1, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        uuid=UUID1,
    )
    sent = wire.requests[-1]
    assert sent.url == "http://127.0.0.1:1/batch/"
    event, payload = wire.one_event()
    assert payload.api_key == "phc_test"
    assert payload.historical_migration is False

    result = mapped(event, payload.sent_at)
    message = result.message
    assert message["type"] == "track"
    assert message["event"] == "signed up"
    assert message["userId"] == "user-1"
    assert "anonymousId" not in message
    assert message["messageId"] == UUID1
    assert parse_time(message["timestamp"]) == skew_corrected(event, payload)
    assert message["receivedAt"] == NOW.isoformat()
    assert message["traits"] == {"email": "a@example.com"}
    assert result.set_once == {"first_plan": "pro"}
    props = message["properties"]
    assert props["plan"] == "pro"
    assert props["$groups"] == {"company": "acme"}
    assert props["$lib"] == "posthog-python"
    assert not MOVED & props.keys()
    assert message["context"]["library"] == {"name": "posthog-python", "version": SDK_VERSION}
    assert message["context"]["os"]["name"] == event["properties"]["$os"]

    segment = validated(result)
    assert (segment.type, segment.userId, segment.event) == ("track", "user-1", "signed up")
    assert segment.anonymousId is None
    assert segment.timestamp == skew_corrected(event, payload)
    assert segment.messageId == UUID1


def test_sdk_capture_without_skew_keeps_the_timestamp(client: Any, wire: Wire) -> None:
    client.capture("x", distinct_id="u", timestamp="2024-05-01T12:00:00Z")
    event, payload = wire.one_event()
    assert event["timestamp"] == "2024-05-01T12:00:00+00:00"
    # The SDK's own clock is this machine's: sent_at - timestamp is how long ago 2024-05-01 was.
    assert validated(mapped(event, payload.sent_at)).timestamp == skew_corrected(event, payload)
    assert validated(mapped(event, None)).timestamp == parse_time("2024-05-01T12:00:00+00:00")


def test_sdk_set_and_set_once_map_to_identify(client: Any, wire: Wire) -> None:
    client.set(distinct_id="user-1", properties={"name": "Max"})
    event, payload = wire.one_event()
    assert event["event"] == "$set"
    result = mapped(event, payload.sent_at)
    assert result.message["type"] == "identify"
    assert result.message["userId"] == "user-1"
    assert result.message["traits"] == {"name": "Max"}
    assert result.set_once == {}
    assert validated(result).type == "identify"

    client.set_once(distinct_id="user-1", properties={"first_seen_via": "api"})
    event, payload = wire.one_event()
    result = mapped(event, payload.sent_at)
    assert result.message["type"] == "identify"
    assert "traits" not in result.message
    assert result.set_once == {"first_seen_via": "api"}
    assert validated(result).userId == "user-1"


def test_sdk_alias_links_previous_id_to_new_id(client: Any, wire: Wire) -> None:
    client.capture("browsed", distinct_id="anon-1")
    before = mapped(*_event_and_sent_at(wire))
    client.alias(previous_id="anon-1", distinct_id="user-1")
    event, payload = wire.one_event()
    # posthog-python: the event's distinct_id is previous_id, properties.alias the new id.
    assert event["distinct_id"] == "anon-1"
    assert event["properties"]["alias"] == "user-1"
    result = mapped(event, payload.sent_at)
    assert result.message["type"] == "alias"
    assert result.message["previousId"] == "anon-1"
    assert result.message["userId"] == "user-1"
    assert "alias" not in result.message.get("properties", {})
    assert "distinct_id" not in result.message.get("properties", {})
    alias = validated(result)
    assert (alias.previousId, alias.userId) == ("anon-1", "user-1")
    client.capture("bought", distinct_id="user-1")
    after = mapped(*_event_and_sent_at(wire))
    assert same_person([validated(before), alias, validated(after)])


def _event_and_sent_at(wire: Wire) -> tuple[dict[str, Any], str | None]:
    event, payload = wire.one_event()
    return event, payload.sent_at


def test_sdk_identify_event_links_anonymous_id(client: Any, wire: Wire) -> None:
    # posthog-python 7 has no identify(); this is the event posthog-js and posthog-node send.
    client.capture("browsed", distinct_id="anon-7")
    before = validated(mapped(*_event_and_sent_at(wire)))
    client.capture(
        "$identify",
        distinct_id="user-7",
        properties={
            "$anon_distinct_id": "anon-7",
            "$set": {"email": "u7@example.com"},
            "$set_once": {"signup": "2024"},
        },
    )
    result = mapped(*_event_and_sent_at(wire))
    message = result.message
    assert message["type"] == "identify"
    assert message["userId"] == "user-7"
    assert message["anonymousId"] == "anon-7"
    assert message["traits"] == {"email": "u7@example.com"}
    assert result.set_once == {"signup": "2024"}
    assert "$anon_distinct_id" not in message["properties"]
    identify = validated(result)
    assert (identify.userId, identify.anonymousId) == ("user-7", "anon-7")
    assert same_person([before, identify])


def test_sdk_group_identify_maps_to_group(client: Any, wire: Wire) -> None:
    client.group_identify("company", "acme-42", {"name": "Acme", "seats": 11}, distinct_id="user-1")
    result = mapped(*_event_and_sent_at(wire))
    message = result.message
    assert message["type"] == "group"
    assert message["groupId"] == "acme-42"
    assert message["userId"] == "user-1"
    assert message["traits"] == {"name": "Acme", "seats": 11}
    assert message["properties"]["$group_type"] == "company"
    assert not {"$group_key", "$group_set"} & message["properties"].keys()
    group = validated(result)
    assert (group.type, group.groupId) == ("group", "acme-42")


def test_sdk_pageview_and_screen(client: Any, wire: Wire) -> None:
    url = "https://shop.example.com/p?utm_source=google&utm_medium=cpc"
    client.capture(
        "$pageview", distinct_id="u", properties={"$current_url": url, "$title": "Product"}
    )
    message = mapped(*_event_and_sent_at(wire)).message
    assert message["type"] == "page"
    assert message["name"] == "Product"
    assert message["properties"]["url"] == url
    assert message["properties"]["$current_url"] == url
    assert message["context"]["page"]["url"] == url
    assert message_from_dict(message).event_name == "$pageview"

    client.capture("$screen", distinct_id="u", properties={"$screen_name": "Checkout"})
    message = mapped(*_event_and_sent_at(wire)).message
    assert (message["type"], message["name"]) == ("screen", "Checkout")
    assert message_from_dict(message).event_name == "$screen"


def test_sdk_personless_event_is_anonymous(client: Any, wire: Wire) -> None:
    client.capture("api called")  # no distinct_id: the SDK makes one up, personless
    event, payload = wire.one_event()
    assert event["properties"]["$process_person_profile"] is False
    segment = validated(mapped(event, payload.sent_at))
    assert segment.anonymousId == event["distinct_id"]
    assert segment.userId is None


# --- decoding the body ---------------------------------------------------------------------


_FORM = "application/x-www-form-urlencoded"
EVENT = {"event": "e", "distinct_id": "d1", "properties": {"token": "phc_1", "k": "v"}}


def test_gzip_body_with_content_encoding() -> None:
    body = orjson.dumps({"api_key": "phc_b", "batch": [EVENT, EVENT]})
    payload = parse(gzip.compress(body), encoding="gzip")
    assert payload.api_key == "phc_b"
    assert payload.events == [EVENT, EVENT]


def test_gzip_js_query_parameter() -> None:
    # posthog-js: raw gzip bytes, text/plain, ?compression=gzip-js&_=<ms>&ver=...
    body = gzip.compress(orjson.dumps([EVENT]))
    payload = parse(body, "text/plain", query={"compression": "gzip-js", "_": "1735787045000"})
    assert payload.events == [EVENT]
    assert payload.api_key == "phc_1"
    assert payload.sent_at is not None
    assert parse_time(payload.sent_at) == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_gzip_is_recognised_without_a_hint() -> None:
    assert parse(gzip.compress(orjson.dumps(EVENT)), None).events == [EVENT]


def test_multi_member_gzip() -> None:
    json_text = orjson.dumps([EVENT])
    body = gzip.compress(json_text[:10]) + gzip.compress(json_text[10:])
    assert parse(body, encoding="gzip").events == [EVENT]


def test_form_data_base64() -> None:
    data = base64.b64encode(orjson.dumps(EVENT)).decode()
    payload = parse(f"data={quote(data, safe='')}", "application/x-www-form-urlencoded")
    assert payload.events == [EVENT]
    assert payload.api_key == "phc_1"


def test_form_data_base64_with_unescaped_plus_and_no_padding() -> None:
    event = {"event": "e>>>?", "distinct_id": "d~~~"}  # base64 of these contains "+" and "/"
    data = base64.b64encode(orjson.dumps(event)).decode()
    assert "+" in data or "/" in data
    body = "data=" + data.rstrip("=")  # "+" left unescaped: form decoding makes it a space
    assert parse(body, "application/x-www-form-urlencoded").events == [event]


def test_form_data_urlencoded_json_without_content_type() -> None:
    payload = parse("data=" + quote(orjson.dumps([EVENT]).decode(), safe=""), None)
    assert payload.events == [EVENT]


def test_form_with_gzip_compression_parameter_in_the_query() -> None:
    data = base64.b64encode(orjson.dumps(EVENT)).decode()
    body = f"data={quote(data, safe='')}&compression=base64"
    assert parse(
        body, "application/x-www-form-urlencoded", query={"compression": "base64"}
    ).events == [EVENT]


def test_list_body_and_tokens() -> None:
    other = {"event": "f", "distinct_id": "d2", "token": "phc_1"}
    payload = parse(orjson.dumps([EVENT, other]))
    assert payload.events == [EVENT, other]
    assert payload.api_key == "phc_1"
    assert payload.sent_at is None
    with pytest.raises(PosthogBodyError, match="different api keys"):
        parse(orjson.dumps([EVENT, {**other, "token": "phc_2"}]))


def test_batch_body() -> None:
    batch = [EVENT, {**EVENT, "token": "ignored"}]
    body = {
        "api_key": "phc_batch",
        "sent_at": "2025-01-02T03:00:00Z",
        "historical_migration": True,
        "batch": batch,
    }
    payload = parse(orjson.dumps(body))
    assert payload == PosthogPayload(batch, "phc_batch", "2025-01-02T03:00:00Z", True)


def test_single_event_body_and_its_api_key() -> None:
    event = {"event": "e", "distinct_id": "d", "api_key": "phc_single", "sent_at": "x"}
    payload = parse(orjson.dumps(event))
    assert (payload.events, payload.api_key, payload.sent_at) == ([event], "phc_single", "x")
    assert parse(orjson.dumps({"event": "e", "$token": "phc_t"})).api_key == "phc_t"
    assert parse(orjson.dumps({"event": "e"})).api_key is None


def test_body_sent_at_wins_over_query() -> None:
    body = orjson.dumps({"api_key": "k", "sent_at": "2025-01-01T00:00:00Z", "batch": []})
    assert parse(body, query={"_": "1735787045000"}).sent_at == "2025-01-01T00:00:00Z"
    # Seconds (older SDKs) are not milliseconds; PostHog ignores them too.
    assert parse(orjson.dumps([EVENT]), query={"_": "1735787045"}).sent_at is None
    assert parse(orjson.dumps([EVENT]), query={"_": "soon"}).sent_at is None


def test_gzip_bomb_is_stopped_at_the_limit() -> None:
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]", compresslevel=9)
    assert len(bomb) < 10_000
    with pytest.raises(PosthogTooLarge, match="1000000-byte limit") as caught:
        parse(bomb, encoding="gzip", max_bytes=1_000_000)
    assert caught.value.status == 413
    assert isinstance(caught.value, ValueError)
    assert parse(bomb, encoding="gzip", max_bytes=6_000_000).events == []


def test_plain_body_over_the_limit() -> None:
    with pytest.raises(PosthogTooLarge):
        parse(orjson.dumps([EVENT] * 100), max_bytes=1000)


@pytest.mark.parametrize(
    ("body", "kwargs", "message"),
    [
        (b'{"event": "e", "distinct_id": ', {}, "malformed JSON"),
        (b"{'event': 'e'}", {}, "malformed JSON"),
        (b'{"event": "e", "n": NaN}', {}, "malformed JSON"),
        (b"not gzip at all", {"encoding": "gzip"}, "bad gzip data"),
        (gzip.compress(b"[]")[:-6], {"encoding": "gzip"}, "bad gzip data: truncated"),
        (b"data=abcde", {"content_type": _FORM}, "bad base64"),
        (b"data=%%%", {"content_type": _FORM}, "malformed JSON"),
        (b"data=eyJldmVudCI6ICJlIn0$$", {"content_type": _FORM}, "malformed JSON"),
        (b"data=aGVsbG8gd29ybGQ=", {"content_type": _FORM}, "after base64 decoding"),
        (b"other=1", {"content_type": _FORM}, "no `data` field"),
        (b'{"event": "\xff\xfe"}', {}, "not UTF-8: byte 11 is 0xff"),
        (b"42", {}, "expected a JSON object or array, got number"),
        (b'"text"', {}, "got string"),
        (b"null", {}, "got null"),
        (b'{"api_key": "k", "batch": {"event": "e"}}', {}, "batch: expected a JSON array"),
        (b'{"batch": [], "sent_at": 17}', {}, "sent_at: expected an ISO-8601 string"),
        (b"", {}, "empty body"),
        (b"   ", {}, "empty body"),
        (b"[]", {"encoding": "br"}, "unsupported compression 'br'"),
        (b"[]", {"query": {"compression": "lz64"}}, "unsupported compression 'lz64'"),
    ],
)
def test_bad_bodies(body: bytes, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PosthogBodyError, match=message.replace("(", r"\(")) as caught:
        parse(body, **kwargs)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, BadRequest)
    assert caught.value.status == 400


# --- mapping one event ---------------------------------------------------------------------


def test_missing_or_empty_distinct_id() -> None:
    for event in (
        {"event": "e"},
        {"event": "e", "distinct_id": None},
        {"event": "e", "distinct_id": ""},
        {"event": "e", "distinct_id": "   "},
        {"event": "e", "properties": {"distinct_id": None}},
    ):
        error = rejected(event)
        assert error.field == "distinct_id"
        assert "required" in error.reason


def test_distinct_id_sources_and_forms() -> None:
    from_props = {"event": "e", "properties": {"distinct_id": "p1"}}
    assert mapped(from_props).message["userId"] == "p1"
    assert mapped({"event": "e", "$distinct_id": "d$"}).message["userId"] == "d$"
    top_wins = {"event": "e", "distinct_id": 23, "properties": {"distinct_id": "p"}}
    assert mapped(top_wins).message["userId"] == "23"
    as_json = {"event": "e", "distinct_id": {"string": "a", "number": 3}}
    assert mapped(as_json).message["userId"] == '{"number":3,"string":"a"}'
    long_id = "x" * 250
    assert mapped({"event": "e", "distinct_id": long_id}).message["userId"] == "x" * 200


def test_bad_events() -> None:
    assert rejected(["e"]).field == "(event)"
    assert rejected({"distinct_id": "d"}).field == "event"
    assert rejected({"event": "  ", "distinct_id": "d"}).field == "event"
    assert rejected({"event": 5, "distinct_id": "d"}).field == "event"
    assert rejected({"event": "e", "distinct_id": "d", "properties": [1]}).field == "properties"
    bad_uuid = rejected({"event": "e", "distinct_id": "d", "uuid": "not-a-uuid"})
    assert (bad_uuid.field, bad_uuid.reason) == ("uuid", "not a UUID: 'not-a-uuid'")
    assert rejected({"event": "e", "distinct_id": "d", "uuid": 7}).field == "uuid"
    bad_set = {"event": "e", "distinct_id": "d", "properties": {"$set": "x"}}
    assert rejected(bad_set).field == "properties.$set"
    assert rejected({"event": "e", "distinct_id": "d", "$set_once": [1]}).field == "$set_once"
    no_alias = rejected({"event": "$create_alias", "distinct_id": "d", "properties": {}})
    assert no_alias.field == "properties.alias"
    no_key = rejected({"event": "$groupidentify", "distinct_id": "d", "properties": {}})
    assert no_key.field == "properties.$group_key"


def test_bad_timestamps_name_their_field() -> None:
    base = {"event": "e", "distinct_id": "d"}
    error = rejected({**base, "timestamp": "yesterday"})
    assert (error.field, error.reason) == ("timestamp", "not an ISO-8601 time: 'yesterday'")
    assert rejected({**base, "timestamp": 1735787045}).field == "timestamp"
    assert rejected({**base, "timestamp": "2025-13-01T00:00:00Z"}).field == "timestamp"
    assert rejected({**base, "timestamp": "2025-01-01T00:00:00Z"}, "garbage").field == "sent_at"
    assert rejected({**base, "timestamp": "2025-01-01T00:00:00Z", "sent_at": 5}).field == "sent_at"
    assert rejected({**base, "offset": "100"}).field == "offset"
    assert rejected({**base, "offset": True}).field == "offset"
    assert rejected({**base, "offset": 10**20}).field == "offset"
    far = rejected({**base, "timestamp": "0001-01-01T00:00:00Z"}, "9999-12-31T00:00:00Z")
    assert far.field == "timestamp"
    long_bad = rejected({**base, "timestamp": "z" * 10_000})
    assert len(long_bad.reason) < 120


def test_offset_rule() -> None:
    event = {"event": "e", "distinct_id": "d", "offset": 1500}
    assert validated(mapped(event)).timestamp == NOW - dt.timedelta(milliseconds=1500)
    # offset wins over timestamp and sent_at, as in PostHog's ingestion.
    both = {**event, "timestamp": "2020-01-01T00:00:00Z"}
    assert validated(mapped(both, "2020-01-01T00:00:05Z")).timestamp == NOW - dt.timedelta(
        milliseconds=1500
    )
    assert mapped(event).message["timestamp"] == "2025-01-02T03:04:04.178000+00:00"


def test_sent_at_skew_rule() -> None:
    # The client's clock is 1 h 10 min behind: it stamped the event 2 s before sending.
    event = {"event": "e", "distinct_id": "d", "timestamp": "2025-01-02T01:54:03.678+00:00"}
    result = mapped(event, "2025-01-02T01:54:05.678Z")
    assert result.message["timestamp"] == "2025-01-02T03:04:03.678000+00:00"
    assert result.message["receivedAt"] == "2025-01-02T03:04:05.678000+00:00"
    # Any offsets: the same instants written in +08:00 and -05:30.
    shifted = {**event, "timestamp": "2025-01-02T09:54:03.678+08:00"}
    assert mapped(shifted, "2025-01-01T20:24:05.678-05:30").message["timestamp"] == (
        "2025-01-02T03:04:03.678000+00:00"
    )
    # The event's own sent_at wins over the request's.
    own = {**event, "sent_at": "2025-01-02T01:54:13.678Z"}
    assert mapped(own, "2025-01-02T01:54:05.678Z").message["timestamp"] == (
        "2025-01-02T03:03:55.678000+00:00"
    )


def test_timestamp_without_sent_at_or_with_ignore_sent_at() -> None:
    event = {"event": "e", "distinct_id": "d", "timestamp": "2024-06-01T10:00:00+02:00"}
    assert mapped(event).message["timestamp"] == "2024-06-01T08:00:00+00:00"
    ignoring = {**event, "properties": {"$ignore_sent_at": True}}
    assert mapped(ignoring, "2025-01-01T00:00:00Z").message["timestamp"] == (
        "2024-06-01T08:00:00+00:00"
    )
    naive = {**event, "timestamp": "2024-06-01T10:00:00"}  # no offset: UTC, as PostHog reads it
    assert mapped(naive).message["timestamp"] == "2024-06-01T10:00:00+00:00"


def test_no_time_at_all_is_now() -> None:
    result = mapped({"event": "e", "distinct_id": "d"})
    assert result.message["timestamp"] == result.message["receivedAt"] == NOW.isoformat()
    naive_now = mapped({"event": "e", "distinct_id": "d"}, now=NOW.replace(tzinfo=None))
    assert naive_now.message["receivedAt"] == NOW.isoformat()


def test_posthog_js_identify_with_top_level_set() -> None:
    event = {
        "event": "$identify",
        "distinct_id": "user-9",
        "uuid": UUID1,
        "properties": {
            "$anon_distinct_id": "0190-anon",
            "$set": {"a": 1, "b": 1},
            "$set_once": {"c": 1},
            "token": "phc_js",
            "$is_identified": False,
        },
        "$set": {"b": 2},
        "$set_once": {"d": 1},
    }
    result = mapped(event)
    assert result.message["userId"] == "user-9"
    assert result.message["anonymousId"] == "0190-anon"
    assert result.message["traits"] == {"a": 1, "b": 2}  # the top level wins, as in PostHog
    assert result.set_once == {"c": 1, "d": 1}
    assert result.message["properties"] == {"$is_identified": False}
    assert validated(result).type == "identify"


def test_identify_without_anonymous_id() -> None:
    result = mapped({"event": "$identify", "distinct_id": "u", "properties": {"$set": {"x": 1}}})
    assert "anonymousId" not in result.message
    assert validated(result).userId == "u"


def test_posthog_js_alias_and_merge_dangerously() -> None:
    # posthog-js alias(alias): distinct_id is the current id, properties.alias the new one.
    for name in ("$create_alias", "$merge_dangerously"):
        event = {"event": name, "properties": {"distinct_id": "current", "alias": 99}}
        segment = validated(mapped(event))
        assert (segment.type, segment.previousId, segment.userId) == ("alias", "current", "99")


def test_posthog_js_context_and_campaign() -> None:
    props = {
        "$os": "Mac OS X",
        "$os_version": "14.4",
        "$browser": "Chrome",
        "$browser_version": 125,
        "$device_type": "Desktop",
        "$current_url": "https://a.example/x?utm_source=s",
        "$pathname": "/x",
        "$referrer": "$direct",
        "$ip": "203.0.113.9",
        "$raw_user_agent": "Mozilla/5.0",
        "$screen_width": 1440,
        "$screen_height": 900,
        "utm_source": "s",
        "utm_medium": "m",
        "$lib": "web",
        "$lib_version": "1.200.0",
        "$app_version": "3.1.0",
        "$device_model": {"hostile": "object"},
        "title": "Home",
    }
    result = mapped({"event": "$pageview", "distinct_id": "d", "properties": props})
    assert result.message["context"] == {
        "os": {"name": "Mac OS X", "version": "14.4"},
        "browser": {"name": "Chrome"},  # a number is not a version string
        "device": {"type": "Desktop"},
        "page": {"url": "https://a.example/x?utm_source=s", "path": "/x"},
        "ip": "203.0.113.9",
        "userAgent": "Mozilla/5.0",
        "screen": {"width": 1440, "height": 900},
        "campaign": {"source": "s", "medium": "m"},
        "library": {"name": "web", "version": "1.200.0"},
        "app": {"version": "3.1.0"},
    }
    assert result.message["name"] == "Home"
    assert result.message["properties"] == {**props, "url": props["$current_url"]}
    assert validated(result).type == "page"


def test_page_keeps_its_own_url_and_truncates_long_titles() -> None:
    props = {
        "url": "https://mine.example",
        "$current_url": "https://other.example",
        "$title": "t" * 500,
    }
    result = mapped({"event": "$pageview", "distinct_id": "d", "properties": props})
    assert result.message["properties"]["url"] == "https://mine.example"
    assert result.message["name"] == "t" * 200
    assert result.message["properties"]["$title"] == "t" * 500
    assert validated(result).name == "t" * 200


def test_group_keeps_person_set_as_a_property() -> None:
    props = {
        "$group_type": "org",
        "$group_key": 7,
        "$group_set": {"n": 1},
        "$set": {"p": 1},
        "$set_once": {"q": 1},
    }
    result = mapped({"event": "$groupidentify", "distinct_id": "d", "properties": props})
    assert result.message["groupId"] == "7"
    assert result.message["traits"] == {"n": 1}
    assert result.message["properties"] == {"$group_type": "org", "$set": {"p": 1}}
    assert result.set_once == {"q": 1}


def test_anonymous_events_from_posthog_js() -> None:
    event = {"event": "clicked", "distinct_id": "anon", "properties": {"$is_identified": False}}
    segment = validated(mapped(event))
    assert (segment.anonymousId, segment.userId) == ("anon", None)


HOSTILE = [
    "'; DROP TABLE events; --",
    '"quoted" \\ back\\slash',
    "nul\x00byte",
    "</script><script>alert(1)</script>",
    "\u202eRTL override",
    "emoji 🧨 and 中文",
    "{{7*7}} ${jndi:ldap://x}",
    "\ufeffbom\r\nnewline\ttab",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_round_trip_as_data(value: str) -> None:
    event = {
        "event": value,
        "distinct_id": value,
        "uuid": UUID1,
        "properties": {
            value: value,
            "nested": {value: [value]},
            "$current_url": value,
            "$anon_distinct_id": value,
        },
        "$set": {value: value},
    }
    body = gzip.compress(orjson.dumps({"api_key": value, "batch": [event]}))
    payload = parse(body, encoding="gzip")
    assert payload.api_key == value
    result = mapped(payload.events[0])
    segment = validated(result)
    assert segment.event == value
    assert segment.userId == value.strip()  # UserOps strips ids (SegmentMessage._id)
    properties = raw_object(segment.properties)
    assert properties[value] == value
    assert properties["nested"] == {value: [value]}
    assert raw_object(segment.traits) == {value: value}
    assert raw_object(segment.context)["page"]["url"] == value


# --- a property: the properties survive mapping --------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_properties = st.dictionaries(st.text().filter(lambda k: k not in MOVED), _json, max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    properties=_properties,
    name=st.text(min_size=1, max_size=50).filter(str.strip),
    extra=st.dictionaries(st.sampled_from(sorted(MOVED - {"$set", "$set_once"})), _json),
)
def test_properties_round_trip(
    properties: dict[str, Any], name: str, extra: dict[str, Any]
) -> None:
    # Not $-events with a shape of their own: those move more keys or need some.
    name = f"x{name}" if name.startswith("$") else name
    event = {"event": name, "distinct_id": "d", "properties": {**properties, **extra}}
    result = mapped(event)
    segment = validated(result)
    assert raw_object(segment.properties) == properties
    assert segment.event == name


def test_mapping_is_a_plain_value() -> None:
    # MappedEvent.message goes through orjson and msgspec unchanged (nothing but JSON in it).
    result = mapped({"event": "e", "distinct_id": "d", "properties": {"a": [1, {"b": None}]}})
    assert orjson.loads(orjson.dumps(result.message)) == result.message
    decoded = msgspec.json.decode(orjson.dumps(result.message))
    assert decoded["properties"] == {"a": [1, {"b": None}]}
