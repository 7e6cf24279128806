"""Computed person properties, lifecycle stages and value tiers over REST: analysts and admins
refresh them and change the people settings, any member reads them. What they mean is
``userops.analysis.computed``'s, ``rfm``'s, ``tiers``'s, ``stages``'s and ``layers``'s.

    GET  /api/projects/{project}/people-settings
         -> {"stages": {"new_days", "active_days", "churn_days"},
             "rfm": {"window_days", "value_event", "value_property"},
             "tier": {"metric", "core_percentile"}}, every field present (defaults filled in)
    PUT  /api/projects/{project}/people-settings   (analysts and admins)
         the same shape; a missing section or field takes its default -> the settings stored
    POST /api/projects/{project}/computed-properties/refresh
         {"stages"?: {...}, "stage_days"?: 1..366, "rfm"?: {...}, "tier"?: {...}}
         -> {"persons", "rfm_scored", "tiered", "stage_rows", "refreshed_at", "seconds"}: every
            computed property, RFM, value tiers and each person's stage on the last
            ``stage_days`` local days (default 90), as of now, with the stored people settings;
            a field given here overrides the stored one for this run only
    GET  /api/projects/{project}/value-tiers
         -> {"metric", "core_percentile", "threshold", "refreshed_at",
             "tiers": [{"tier", "label": {"zh-CN", "en"}, "persons", "value", "share"}]}: core
            then mass at the last refresh, ``value`` the sum of the tier's metric values and
            ``share`` its part of both tiers' sum; metric, percentile and threshold are those
            the last refresh used (threshold null when no one is core; before any refresh, the
            stored settings' and null)
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
from pydantic import BaseModel, ConfigDict, Field

from userops.analysis import rfm, stages, tiers
from userops.analysis.daily import DEFAULT_STAGE_DAYS, refresh_people
from userops.analysis.layers import PeopleSettings, people_settings, save_people_settings
from userops.api.access import Access, project_access
from userops.api.query import read_spec_body
from userops.api.resources import MAX_BODY_BYTES, in_thread
from userops.errors import BadRequest
from userops.runtime import Runtime
from userops.schema.bodies import parsed_body
from userops.schema.times import iso

Reader = Annotated[Access, Depends(project_access("viewer"))]
Writer = Annotated[Access, Depends(project_access("analyst"))]
Section = dict[str, Any] | None
MAX_STAGE_DAYS = stages.MAX_DAYS  # apart: a field of RefreshBody is named `stages`


class RefreshBody(BaseModel):
    """``POST computed-properties/refresh``: sections of the people settings to override for
    this run (checked once merged over the stored ones), and the days of stages to compute."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stages: Section = None
    rfm: Section = None
    tier: Section = None
    stage_days: Annotated[int, Field(ge=1, le=MAX_STAGE_DAYS)] = DEFAULT_STAGE_DAYS


def _refresh_settings(stored: PeopleSettings, body: Any) -> tuple[PeopleSettings, int]:
    asked = parsed_body(RefreshBody, {} if body is None else body)
    merged = stored.stored()
    for section in ("stages", "rfm", "tier"):
        merged[section] |= getattr(asked, section) or {}
    return PeopleSettings.parse(merged), asked.stage_days


async def _json_body(request: Request) -> Any:
    """The request's JSON body; ``None`` when it is empty."""
    raw = await read_spec_body(request, MAX_BODY_BYTES)
    try:
        return orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc}", field=None) from None


def people_router(runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["persons"])
    base = "/api/projects/{project}"

    @router.post(base + "/computed-properties/refresh",
                 summary="Recompute computed person properties and lifecycle stages now")
    async def refresh(request: Request, access: Writer) -> dict[str, Any]:
        body = await _json_body(request)
        settings, days = _refresh_settings(people_settings(access.project), body)
        return await in_thread(refresh_people, runtime(), access.project, settings, days)

    @router.get(base + "/people-settings",
                summary="How persons are layered: stage thresholds, RFM, value tier")
    def read_settings(access: Reader) -> dict[str, Any]:
        return people_settings(access.project).stored()

    @router.put(base + "/people-settings", summary="Change how persons are layered")
    async def write_settings(request: Request, access: Writer) -> dict[str, Any]:
        settings = PeopleSettings.parse(await _json_body(request))
        saved = save_people_settings(runtime().sessions, access.project.id, settings)
        return saved.stored()

    @router.get(base + "/value-tiers", summary="Core and mass persons at the last refresh")
    def value_tiers(access: Reader) -> dict[str, Any]:
        found = tiers.tier_summary(runtime().store, access.project.id,
                                   people_settings(access.project).tier)  # fmt: skip
        return {**found, "refreshed_at": iso(found["refreshed_at"]),
                "tiers": [{**t, "label": tiers.LABELS[t["tier"]]} for t in found["tiers"]]}

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
