"""Segments (用户分群) over REST: any member of the project reads them, analysts and admins save,
refresh and upload them. Definitions, names and references are ``userops.meta.segments``'s
rules; membership and history are ``userops.segments.refresh``'s.

    GET    /api/projects/{project}/segments                    [Segment], last updated first
    POST   /api/projects/{project}/segments                    {"name", "description"?,
                                                                "definition",
                                                                "refresh_minutes"?} -> 201
    POST   /api/projects/{project}/segments/preview            {"definition"} -> {"count",
                                                                "seconds"} (nothing stored)
    GET|PUT|DELETE /api/projects/{project}/segments/{id}       DELETE: 409 while another
                                                                segment refers to it
    POST   /api/projects/{project}/segments/{id}/refresh       runs now -> the refresh record
    GET    /api/projects/{project}/segments/{id}/members?limit=&offset=
    GET    /api/projects/{project}/segments/{id}/history       size per completed refresh
    GET    /api/projects/{project}/segments/{id}/export.csv?traits=email,name
    POST   /api/projects/{project}/segments/{id}/static        a CSV of ids (text/csv, or a
                                                                multipart file): the segment
                                                                becomes that static list

A Segment is ``{"id", "name", "description", "definition", "refresh_minutes", "size",
"status", "last_refresh": {"at", "status", "error"} or null, "created_by", "created_at",
"updated_at"}``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from userops.api.access import Access, project_access
from userops.api.persons import summary_json
from userops.api.query import read_spec_body
from userops.api.resources import in_thread, json_body, path_id
from userops.errors import BadRequest
from userops.identity import search
from userops.meta import segments as saved
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.times import iso
from userops.segments import lists
from userops.segments.membership import count
from userops.segments.refresh import current_members, forget, history, refresh
from userops.segments.scheduler import SegmentScheduler

Reader = Annotated[Access, Depends(project_access("viewer"))]
Writer = Annotated[Access, Depends(project_access("analyst"))]
MAX_UPLOAD_BYTES = 48 << 20  # 100k ids of up to 400 characters, and some room
MAX_MEMBERS_PAGE = 500


def _preview(runtime: Runtime, project: Project, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field=None)
    extra = sorted(set(body) - {"definition"})
    if extra:
        raise BadRequest(f"{extra[0]}: unknown field; give only definition", field=extra[0])
    with runtime.sessions() as session:
        parsed = saved.check_definition(session, project.id, body.get("definition"))
        resolver = saved.resolver(session, project.id)
        started = time.perf_counter()
        found = count(runtime.store, project, parsed, resolver, dt.datetime.now(dt.UTC))
    return {"count": found, "seconds": round(time.perf_counter() - started, 3)}


def _csv_of(content_type: str, raw: bytes) -> bytes:
    """The uploaded file: the body itself, or a multipart form's first file (or field)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return raw
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw)  # fmt: skip
    if not message.is_multipart():
        raise BadRequest("file: a multipart body without parts", field="file")
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload
    raise BadRequest("file: give a CSV file of ids", field="file")


def segments_router(runtime: Callable[[], Runtime],
                    scheduler: Callable[[], SegmentScheduler | None]) -> APIRouter:  # fmt: skip
    router = APIRouter(tags=["segments"])
    base = "/api/projects/{project}/segments"
    one = base + "/{segment_id}"

    def number(text: str) -> int:
        return path_id(text, "segment_id", "segment")

    def scheduled(view: saved.SegmentView) -> None:
        jobs = scheduler()
        if jobs is not None:
            jobs.schedule(view.row.project_id, view.row.id, view.row.refresh_minutes)

    @router.get(base, summary="Segments, last updated first, with size and last refresh")
    def list_segments(access: Reader) -> list[dict[str, Any]]:
        return [v.to_json() for v in saved.list_segments(runtime().sessions, access.project.id)]

    @router.post(base, status_code=201, summary="Save a segment definition under a name")
    async def create_segment(request: Request, access: Writer) -> dict[str, Any]:
        """A bad definition is a 400 naming ``definition.<its path>``; a taken name, 409."""
        body = await json_body(request)
        view = await in_thread(saved.create_segment, runtime().sessions, access.project.id,
                               body, access.principal.user_id)  # fmt: skip
        scheduled(view)
        return view.to_json()

    @router.post(base + "/preview", summary="Count a definition's members now (nothing stored)")
    async def preview(request: Request, access: Reader) -> dict[str, Any]:
        body = await json_body(request)
        return await in_thread(_preview, runtime(), access.project, body)

    @router.get(one, summary="One segment")
    def get_segment(segment_id: str, access: Reader) -> dict[str, Any]:
        return saved.get_segment(runtime().sessions, access.project.id,
                                 number(segment_id)).to_json()  # fmt: skip

    @router.put(one, summary="Change a segment (fields left out are kept)")
    async def update_segment(segment_id: str, request: Request, access: Writer) -> dict[str, Any]:
        found = number(segment_id)
        body = await json_body(request)
        view = await in_thread(saved.update_segment, runtime().sessions, access.project.id,
                               found, body)  # fmt: skip
        scheduled(view)
        return view.to_json()

    @router.delete(one, status_code=204, summary="Delete a segment (409 while it is referred to)")
    def delete_segment(segment_id: str, access: Writer) -> Response:
        found = number(segment_id)
        rt = runtime()
        saved.delete_segment(rt.sessions, access.project.id, found)
        jobs = scheduler()
        if jobs is not None:
            jobs.unschedule(found)
        forget(rt.store, access.project.id, found)
        return Response(status_code=204)

    @router.post(one + "/refresh", summary="Refresh the membership now")
    def refresh_segment(segment_id: str, access: Writer) -> dict[str, Any]:
        """Runs now and answers the refresh's record: status ``ok`` with its size and how
        many entered and left, or ``failed`` with its error (the previous membership stays)."""
        record = refresh(runtime(), access.project, number(segment_id))
        return saved.refresh_json(record)

    @router.get(one + "/members", summary="The current members, by person number")
    def segment_members(
        segment_id: str,
        access: Reader,
        limit: Annotated[int, Query(ge=1, le=MAX_MEMBERS_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """As of the last completed refresh: ``{"persons": [summary], "size", "has_more"}``."""
        rt = runtime()
        found = number(segment_id)
        with rt.sessions() as session:
            row = saved.segment_row(session, access.project.id, found)
        page = current_members(rt.store, access.project.id, found, limit + 1, offset)
        persons = search.summaries(rt.sessions, rt.store, access.project.id, page[:limit])
        return {"persons": [summary_json(p) for p in persons], "size": row.size,
                "has_more": len(page) > limit}  # fmt: skip

    @router.get(one + "/history", summary="Size over time: each completed refresh")
    def segment_history(segment_id: str, access: Reader) -> list[dict[str, Any]]:
        found = history(runtime().sessions, access.project.id, number(segment_id))
        return [{**entry, "at": iso(entry["at"])} for entry in found]

    @router.get(one + "/export.csv", summary="The members as CSV, with chosen traits")
    def export(
        segment_id: str,
        access: Reader,
        traits: Annotated[str, Query(max_length=20_000)] = "",
    ) -> StreamingResponse:
        rt = runtime()
        found = number(segment_id)
        names = lists.trait_names(traits)
        with rt.sessions() as session:
            saved.segment_row(session, access.project.id, found)
        persons = current_members(rt.store, access.project.id, found)
        body = lists.export_csv(rt.sessions, rt.store, access.project.id, persons, names)
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="segment-{found}.csv"'})  # fmt: skip

    @router.post(one + "/static", summary="Make the segment a static list from a CSV of ids")
    async def upload(segment_id: str, request: Request, access: Writer) -> dict[str, Any]:
        """The body is the CSV (``text/csv``), or a multipart form with the file. Answers
        ``{"segment", "persons", "known", "unknown": [{"line", "id"}]}``; the unknown ids are
        left out of the list and named with their lines."""
        found = number(segment_id)
        rt = runtime()
        await in_thread(saved.get_segment, rt.sessions, access.project.id, found)
        raw = await read_spec_body(request, MAX_UPLOAD_BYTES)
        data = _csv_of(request.headers.get("content-type", ""), raw)
        ids = await in_thread(lists.parse_ids, data)
        matched = await in_thread(lists.match_ids, rt.sessions, access.project.id, ids)
        view = await in_thread(saved.set_definition, rt.sessions, access.project.id, found,
                               {"kind": "distinct_ids", "ids": matched.ids})  # fmt: skip
        return {"segment": view.to_json(), "persons": len(matched.persons),
                "known": matched.known,
                "unknown": [{"line": line, "id": value} for line, value in matched.unknown]}

    return router
