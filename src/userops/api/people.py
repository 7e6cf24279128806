"""Computed person properties and lifecycle stages over REST: analysts and admins refresh them,
any member reads the stages' counts and transitions. What they mean is
``userops.analysis.computed``'s, ``userops.analysis.rfm``'s and ``userops.analysis.stages``'s.

    POST /api/projects/{project}/computed-properties/refresh
         {"stages"?: {"new_days", "active_days", "churn_days"}, "stage_days"?: 1..366,
          "rfm"?: {"window_days", "value_event", "value_property"}}
         -> {"persons", "rfm_scored", "stage_rows", "refreshed_at", "seconds"}: every computed
            property, RFM, and each person's stage on the last ``stage_days`` local days
            (default 90), as of now
    GET  /api/projects/{project}/rfm
         -> [{"group", "label": {"zh-CN", "en"}, "persons", "revenue", "revenue_share"}], the
            eight classic groups at the last refresh
    GET  /api/projects/{project}/lifecycle-stages?day=YYYY-MM-DD
         -> {"day", "counts": {"new", "active", "resurrected", "silent", "churned"}}; the day
            defaults to the newest refresh's
    GET  /api/projects/{project}/lifecycle-stages/transitions?start=YYYY-MM-DD&end=YYYY-MM-DD
         -> [{"from", "to", "persons"}], "from" '' for persons first seen then

The server also refreshes both once a day (``userops.segments.scheduler``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request

from userops.analysis import rfm, stages
from userops.analysis.daily import DEFAULT_STAGE_DAYS, refresh_people
from userops.api.access import Access, project_access
from userops.api.query import read_spec_body
from userops.api.resources import MAX_BODY_BYTES, in_thread
from userops.errors import BadRequest
from userops.runtime import Runtime

Reader = Annotated[Access, Depends(project_access("viewer"))]
Writer = Annotated[Access, Depends(project_access("analyst"))]


def _parse(body: Any) -> tuple[stages.StageConfig, int, rfm.RfmConfig]:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field=None)
    extra = sorted(set(body) - {"stages", "stage_days", "rfm"})
    if extra:
        raise BadRequest(f"{extra[0]}: unknown field", field=extra[0])
    try:
        config = stages.StageConfig.parse(body.get("stages") or {})
    except BadRequest as exc:
        raise BadRequest(f"stages.{exc.message}", field=f"stages.{exc.field}") from None
    days = body.get("stage_days", DEFAULT_STAGE_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= stages.MAX_DAYS:
        raise BadRequest(f"stage_days: a whole number of days from 1 to {stages.MAX_DAYS}",
                         field="stage_days")  # fmt: skip
    try:
        scoring = rfm.parse_rfm_config(body.get("rfm") or {})
    except BadRequest as exc:
        raise BadRequest(f"rfm.{exc.message}", field=f"rfm.{exc.field}") from None
    return config, days, scoring


def people_router(runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["persons"])
    base = "/api/projects/{project}"

    @router.post(base + "/computed-properties/refresh",
                 summary="Recompute computed person properties and lifecycle stages now")
    async def refresh(request: Request, access: Writer) -> dict[str, Any]:
        raw = await read_spec_body(request, MAX_BODY_BYTES)
        try:
            body = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not JSON: {exc}", field=None) from None
        config, days, scoring = _parse(body)
        return await in_thread(refresh_people, runtime(), access.project, config, days, scoring)

    @router.get(base + "/rfm", summary="Persons and revenue per RFM group at the last refresh")
    def rfm_groups(access: Reader) -> list[dict[str, Any]]:
        found = rfm.rfm_summary(runtime().store, access.project.id)
        return [{**group, "label": rfm.LABELS[group["group"]]} for group in found]

    @router.get(base + "/lifecycle-stages", summary="Persons per lifecycle stage on a day")
    def stage_counts(access: Reader, day: dt.date | None = None) -> dict[str, Any]:
        # By default the newest refreshed day: "today" before today's refresh has run would
        # show yesterday's stages as today's.
        on = day or stages.last_refreshed_day(runtime().store, access.project) \
            or stages.today_in(access.project)  # fmt: skip
        return {"day": on.isoformat(),
                "counts": stages.stage_counts(runtime().store, access.project.id, on)}  # fmt: skip

    @router.get(base + "/lifecycle-stages/transitions",
                summary="Persons who moved between stages in a date range")
    def transitions(access: Reader, start: Annotated[dt.date, Query()],
                    end: Annotated[dt.date, Query()]) -> list[dict[str, Any]]:  # fmt: skip
        if end < start:
            raise BadRequest("end: before start", field="end")
        found = stages.transitions(runtime().store, access.project.id, start, end)
        return [{"from": a, "to": b, "persons": n} for a, b, n in found]

    return router
