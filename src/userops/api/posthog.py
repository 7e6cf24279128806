"""PostHog's capture API, as PostHog's own SDKs call it: /batch/, /capture/, /e/, /i/v0/e/.

The project's write key is PostHog's project API key (``api_key`` or ``token`` in the body).
Events are mapped onto Segment messages (``ingest/posthog.py``) and then take the same path as
Segment's: validation, enrichment, the ingestion log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from userops.api.intake import HttpError, Intake, client_ip
from userops.ingest.parse import Reject
from userops.ingest.posthog import (
    MappingError,
    PosthogBodyError,
    PosthogTooLarge,
    map_event,
    parse_posthog_body,
)

PATHS = ("/batch", "/capture", "/e", "/i/v0/e", "/track", "/engage")

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A PostHog event (event, distinct_id, properties, timestamp, uuid).",
    "additionalProperties": True,
}
_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "api_key": {"type": "string"},
        "batch": {"type": "array", "items": _EVENT_SCHEMA},
        "sent_at": {"type": "string"},
    },
}



def posthog_router(get_intake: Callable[[], Intake]) -> APIRouter:
    router = APIRouter(tags=["PostHog capture API"])

    async def capture(request: Request) -> JSONResponse:
        intake = get_intake()
        raw = await intake.read_body(request, decompress=False)
        try:
            payload = parse_posthog_body(
                raw, request.headers.get("content-type"),
                request.headers.get("content-encoding"), dict(request.query_params),
                max_bytes=intake.max_batch_bytes,
            )  # fmt: skip
        except PosthogTooLarge:
            raise intake.too_large() from None
        except PosthogBodyError as exc:
            raise HttpError(400, {"error": str(exc)}, "bad_body") from None
        project = intake.project_for(payload.api_key)
        now = dt.datetime.now(dt.UTC)
        messages: list[Any] = []
        for index, event in enumerate(payload.events):
            mapped = map_event(event, payload.sent_at, now)
            if isinstance(mapped, MappingError):
                messages.append(Reject(index, mapped.field, mapped.reason))
                continue
            message = mapped.message
            if not project.store_client_ip and isinstance(message.get("properties"), dict):
                # PostHog SDKs put the IP in properties too; PIPL: not kept unless allowed.
                message["properties"] = {k: v for k, v in message["properties"].items()
                                         if k != "$ip"}  # fmt: skip
            if mapped.set_once:
                message["setOnce"] = mapped.set_once
            messages.append(message)
        return await intake.accept(project, messages, client_ip(request))

    for path in PATHS:
        for variant in (path, path + "/"):
            router.add_api_route(
                variant, capture, methods=["POST"], name=f"posthog{variant.replace('/', '_')}",
                include_in_schema=variant.endswith("/"),
                openapi_extra={"requestBody": {"required": True, "content": {
                    "application/json": {"schema": _BODY_SCHEMA}}}},
            )  # fmt: skip
    return router


__all__ = ["posthog_router"]
