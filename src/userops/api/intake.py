"""What every ingestion endpoint does with a request: limits, body, auth, per-event checks, log.

The Segment and PostHog routers differ only in how they find the write key and turn their wire
format into Segment message dicts; from there on both go through ``accept``: each message is
validated by the same code as bulk import (``parse_json_line``), clock skew is corrected, the
client IP is kept or dropped as the project allows, and the accepted messages are appended to
the ingestion log. The response waits for the fsync: a 2xx means the events are durable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from userops.api.metrics import IngestMetrics
from userops.ingest.enrich import enrich_context
from userops.ingest.flusher import Memo, encode_record
from userops.ingest.inflate import BadGzip, OverLimit, gunzip_bounded
from userops.ingest.log import IngestionLog, LogClosed
from userops.ingest.parse import Limits, Reject, TimeWindow, check_time, parse_json_line
from userops.ingest.rows import epoch_ms
from userops.meta.projects import project_by_write_key
from userops.schema.events import SegmentMessage

_ENCODER = msgspec.json.Encoder()


class HttpError(Exception):
    """A whole request refused: the status, a JSON body, and the metrics reason."""

    def __init__(self, status: int, body: dict[str, Any], reason: str) -> None:
        super().__init__(body.get("error", ""))
        self.status = status
        self.body = body
        self.reason = reason


@dataclass(frozen=True)
class ProjectKey:
    project_id: int
    store_client_ip: bool


class Intake:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        log: IngestionLog,
        limits: Limits,
        max_batch_bytes: int,
        metrics: IngestMetrics,
    ) -> None:
        self._sessions = sessions
        self._log = log
        self.limits = limits
        self.max_batch_bytes = max_batch_bytes
        self.metrics = metrics
        # Write keys and store_client_ip are cached: they change rarely, and only through this
        # server's own routes, which call ``forget_keys``. A miss (a wrong key) is looked up
        # again every time.
        self._keys: dict[str, ProjectKey] = {}

    def forget_keys(self) -> None:
        """Drop the cached write keys: a rotation or a settings change takes effect at once."""
        self._keys.clear()

    # --- the request as bytes --------------------------------------------------------------
    async def read_body(self, request: Request, decompress: bool = True) -> bytes:
        """The body, decompressed if gzip'ed, never more than ``max_batch_bytes`` of it."""
        limit = self.max_batch_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self.too_large()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise self.too_large()
            chunks.append(chunk)
        body = b"".join(chunks)
        if not decompress:
            return body
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding == "gzip" or request.query_params.get("compression") == "gzip-js":
            body = self.gunzip(body)
        elif encoding not in ("", "identity"):
            raise HttpError(415, {"error": f"Content-Encoding {encoding!r} is not supported; "
                                           "send gzip or nothing"}, "bad_body")  # fmt: skip
        return body

    def gunzip(self, body: bytes) -> bytes:
        try:
            return gunzip_bounded(body, self.max_batch_bytes)
        except BadGzip as exc:
            raise HttpError(400, {"error": f"body is not valid gzip: {exc}"}, "bad_body") from None
        except OverLimit:
            raise self.too_large() from None

    def too_large(self) -> HttpError:
        return HttpError(
            413,
            {"error": f"request body over the {self.max_batch_bytes}-byte batch limit",
             "limit": "max_batch_bytes", "max_bytes": self.max_batch_bytes},
            "too_large",
        )  # fmt: skip

    @staticmethod
    def parse_json(body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise HttpError(400, {"error": f"malformed JSON: {exc}"}, "bad_body") from None

    # --- who is sending ----------------------------------------------------------------------
    def project_for(self, write_key: str | None) -> ProjectKey:
        if not write_key:
            raise HttpError(401, {"error": "missing write key"}, "auth")
        known = self._keys.get(write_key)
        if known is None:
            project = project_by_write_key(self._sessions, write_key)
            if project is None:
                # The same answer for every wrong key: nothing about which projects exist.
                raise HttpError(401, {"error": "invalid write key"}, "auth")
            known = ProjectKey(project.id, project.store_client_ip)
            self._keys[write_key] = known
        return known

    # --- the events ------------------------------------------------------------------------
    async def accept(
        self,
        project: ProjectKey,
        messages: list[Any],
        client_ip: str | None,
        shared: Mapping[str, Any] | None = None,
        raw_sent_at: dt.datetime | None = None,
    ) -> JSONResponse:
        """Validate each message, log the valid ones durably, answer with per-index errors.

        A message may come as a dict, or as ``msgspec.Raw`` JSON text (the fast path of a batch
        that shares no context, with its ``raw_sent_at``): validated straight from its bytes,
        its context decoded only when it needs enriching. Same checks, same results.

        ``shared``: Segment batch-level ``context``/``integrations``/``sentAt``, under each
        message's own values.
        """
        now = dt.datetime.now(dt.UTC)
        received_ms = epoch_ms(now, 0)
        window = TimeWindow.around(now, self.limits)
        now_text = now.isoformat()
        accepted: list[SegmentMessage] = []
        errors: list[dict[str, Any]] = []
        self.metrics.received.inc(len(messages))
        for index, message in enumerate(messages):
            if isinstance(message, Reject):  # refused before: a PostHog event that did not map
                outcome: SegmentMessage | Reject = message
            elif isinstance(message, msgspec.Raw):
                outcome = self._one_raw(index, message, (now, now_text), window, project,
                                        client_ip, raw_sent_at)  # fmt: skip
            else:
                outcome = self._one(index, message, (now, now_text), window, project,
                                    client_ip, shared or {})  # fmt: skip
            if isinstance(outcome, Reject):
                errors.append({"index": index, "field": outcome.field, "reason": outcome.reason})
                self.metrics.rejected.labels(_reason(outcome)).inc()
            else:
                accepted.append(outcome)
        if accepted:
            encoded = [_ENCODER.encode(message) for message in accepted]
            payload = encode_record(project.project_id, received_ms, encoded)
            memo = Memo(project.project_id, accepted)
            try:
                await asyncio.wrap_future(self._log.append(payload, memo))
            except (LogClosed, OSError) as exc:
                # Not acknowledged: the SDK keeps the batch and retries (they retry 5xx).
                return JSONResponse({"success": False, "error": f"ingestion log: {exc}"}, 503)
            self.metrics.accepted.inc(len(accepted))
        ok = bool(accepted) or not errors
        # "status": 1 is PostHog's success answer; Segment's SDKs look at the HTTP status only.
        body: dict[str, Any] = {"success": ok, "status": int(ok), "accepted": len(accepted)}
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=200 if accepted or not errors else 400)

    def _one_raw(
        self,
        index: int,
        raw: msgspec.Raw,
        received: tuple[dt.datetime, str],
        window: TimeWindow,
        project: ProjectKey,
        client_ip: str | None,
        sent_at: dt.datetime | None,
    ) -> SegmentMessage | Reject:
        data = bytes(raw)
        if not data.startswith(b"{"):  # msgspec.Raw holds the value's text, no padding
            kind = _json_type(orjson.loads(data))
            return Reject(index, "(message)", f"expected a JSON object, got {kind}")
        parsed = parse_json_line(index, data, window, check_window=False, content_id=False)
        if isinstance(parsed, Reject):
            return parsed
        if parsed.messageId is None:
            parsed.messageId = content_id(orjson.loads(data))
        context = bytes(parsed.context)
        if project.store_client_ip or b'"ip"' in context or b'"userAgent"' in context:
            decoded = orjson.loads(context) if context else {}
            enriched = enrich_context(decoded, client_ip=client_ip,
                                      store_ip=project.store_client_ip)  # fmt: skip
            parsed.context = msgspec.Raw(orjson.dumps(enriched))
        if parsed.sentAt is None and sent_at is not None:
            parsed.sentAt = sent_at
        now = received[0]
        parsed.receivedAt = now
        return self._finish(index, parsed, now, window)

    def _finish(
        self, index: int, parsed: SegmentMessage, now: dt.datetime, window: TimeWindow
    ) -> SegmentMessage | Reject:
        if parsed.timestamp is None and parsed.originalTimestamp and parsed.sentAt:
            # Segment's rule: the device's clock may be off, but by as much at sentAt as at
            # originalTimestamp, so timestamp = receivedAt - (sentAt - originalTimestamp).
            sent, original = _aware(parsed.sentAt), _aware(parsed.originalTimestamp)
            parsed.timestamp = now - (sent - original)
        problem = check_time(parsed.event_time, window)
        if problem:
            return Reject(index, *problem)
        return parsed

    def _one(
        self,
        index: int,
        message: Any,
        received: tuple[dt.datetime, str],
        window: TimeWindow,
        project: ProjectKey,
        client_ip: str | None,
        shared: Mapping[str, Any],
    ) -> SegmentMessage | Reject:
        if not isinstance(message, dict):
            return Reject(index, "(message)", f"expected a JSON object, got {_json_type(message)}")
        message = dict(message)
        if "messageId" not in message or message["messageId"] is None:
            message["messageId"] = content_id(message)
        for key in ("integrations",):
            if isinstance(shared.get(key), dict) and key not in message:
                message[key] = shared[key]
        context = message.get("context")
        shared_context = shared.get("context")
        if context is None or isinstance(context, dict):
            merged = {**(shared_context if isinstance(shared_context, dict) else {}),
                      **(context or {})}  # fmt: skip
            message["context"] = enrich_context(merged, client_ip=client_ip,
                                                store_ip=project.store_client_ip)  # fmt: skip
        if "sentAt" not in message and isinstance(shared.get("sentAt"), str):
            message["sentAt"] = shared["sentAt"]
        now, message["receivedAt"] = received
        try:
            raw = orjson.dumps(message)
        except orjson.JSONEncodeError as exc:  # e.g. integers beyond 64 bits
            return Reject(index, "(message)", f"cannot be stored as JSON: {exc}")
        # Time bounds are checked after the clock-skew correction below.
        parsed = parse_json_line(index, raw, window, check_window=False)
        if isinstance(parsed, Reject):
            return parsed
        return self._finish(index, parsed, now, window)


def client_ip(request: Request) -> str | None:
    """The connection's address (what ``store_client_ip`` keeps)."""
    return request.client.host if request.client else None


def content_id(message: Mapping[str, Any]) -> str:
    """An id for a message sent without one, from what the client sent (sorted keys, before the
    server adds anything): a retry of the same message is recognised as the same message."""
    return "sha1:" + hashlib.sha1(orjson.dumps(message, option=orjson.OPT_SORT_KEYS)).hexdigest()




def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _reason(reject: Reject) -> str:
    """A fixed metrics label for a reject (its text may hold anything the client sent)."""
    text = reject.reason
    if "-byte limit" in text:
        return "size"
    if text.startswith("not UTF-8"):
        return "encoding"
    if text.startswith("malformed JSON") or text.startswith("expected a JSON"):
        return "json"
    if text.startswith("nested deeper"):
        return "depth"
    if reject.field in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
        return "timestamp"
    return "invalid"
