"""Segment's HTTP Tracking API, as Segment's own SDKs call it.

POST /v1/batch (and /v1/import, its older name) and one endpoint per call type. The write key
comes as HTTP Basic user name (password empty), as Segment's libraries send it, or as
``writeKey`` in the body.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from userops.api.intake import HttpError, Intake, client_ip

CALL_TYPES = ("track", "identify", "page", "screen", "group", "alias")

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Segment message (https://segment.com/docs/connections/spec/common/).",
    "additionalProperties": True,
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
        "writeKey": {"type": "string"},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
        "sentAt": {"type": "string"},
    },
    "required": ["batch"],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Accepted (durable); `errors` lists refused events by index."},
    400: {"description": "Malformed body, or no event in it was valid."},
    401: {"description": "Missing or wrong write key."},
    413: {"description": "Body over the batch limit (`max_batch_bytes`)."},
    503: {"description": "The ingestion log cannot take writes; retry later."},
}


class _FastBatch(msgspec.Struct):
    """A /v1/batch body as most SDKs send it; anything else takes the general path."""

    batch: list[msgspec.Raw]
    writeKey: str | None = None
    sentAt: dt.datetime | None = None
    context: msgspec.Raw | None = None
    integrations: msgspec.Raw | None = None


_BATCH = msgspec.json.Decoder(_FastBatch)


def basic_user(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _write_key(request: Request, body: dict[str, Any]) -> str | None:
    key = basic_user(request)
    if key is None and isinstance(body.get("writeKey"), str):
        key = body["writeKey"]
    return key



def segment_router(get_intake: Callable[[], Intake]) -> APIRouter:
    router = APIRouter(tags=["Segment tracking API"])

    async def object_body(request: Request) -> dict[str, Any]:
        intake = get_intake()
        body = intake.parse_json(await intake.read_body(request))
        if not isinstance(body, dict):
            raise HttpError(400, {"error": "body must be a JSON object"}, "bad_body")
        return body

    @router.post("/v1/batch", responses=_RESPONSES,
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": _BATCH_SCHEMA}}}})  # fmt: skip
    @router.post("/v1/import", include_in_schema=False)
    async def batch(request: Request) -> JSONResponse:
        intake = get_intake()
        raw = await intake.read_body(request)
        try:
            fast = _BATCH.decode(raw)
        except msgspec.DecodeError:
            fast = None  # the general path below gives the precise error
        if fast is not None and fast.context is None and fast.integrations is None:
            project = intake.project_for(basic_user(request) or fast.writeKey)
            return await intake.accept(project, list(fast.batch), client_ip(request),
                                       raw_sent_at=fast.sentAt)  # fmt: skip
        body = intake.parse_json(raw)
        if not isinstance(body, dict):
            raise HttpError(400, {"error": "body must be a JSON object"}, "bad_body")
        project = intake.project_for(_write_key(request, body))
        messages = body.get("batch")
        if not isinstance(messages, list):
            raise HttpError(400, {"error": "batch: expected an array of messages"}, "bad_body")
        shared: dict[str, Any] = {
            k: body[k] for k in ("context", "integrations", "sentAt") if k in body
        }
        return await intake.accept(project, messages, client_ip(request), shared)

    def single(call: str, path: str) -> None:
        async def endpoint(request: Request) -> JSONResponse:
            body = await object_body(request)
            intake = get_intake()
            project = intake.project_for(_write_key(request, body))
            # The endpoint says what the call is, as Segment's API does.
            message = {**body, "type": call}
            return await intake.accept(project, [message], client_ip(request))

        short = path != call
        router.add_api_route(
            f"/v1/{path}", endpoint, methods=["POST"], name=f"segment_{path}",
            responses=_RESPONSES, include_in_schema=not short,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": _MESSAGE_SCHEMA}}}},
        )  # fmt: skip

    for call in CALL_TYPES:
        single(call, call)
        # analytics.js (Segment's browser SDK) posts each call to its one-letter path: /v1/t
        # for track, /v1/p for page and so on.
        single(call, call[0])
    return router
