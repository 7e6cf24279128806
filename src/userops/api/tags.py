"""Tags (标签) over REST: any member of the project reads them, analysts and admins save them
and give them to persons. Names and segments are ``userops.meta.tags``'s rules; holders are
``userops.tags``'s.

    GET    /api/projects/{project}/tags                        [Tag], by name
    POST   /api/projects/{project}/tags                        {"name", "description"?,
                                                                "color"?, "segment_id"?} -> 201
                                                                (segment_id: a rule tag)
    GET|PUT|DELETE /api/projects/{project}/tags/{id}           PUT: fields left out are kept
    POST   /api/projects/{project}/tags/{id}/persons           {"add": [person ids],
                                                                "remove": [person ids]} ->
                                                                {"added", "removed", "unknown"}
    POST   /api/projects/{project}/tags/{id}/segment           {"segment_id", "action": "add" |
                                                                "remove"} -> {"added" | "removed"}
    GET    /api/projects/{project}/tags/{id}/persons?limit=&offset=
                                                               {"persons": [summary], "has_more"}

A Tag is ``{"id", "name", "description", "color", "kind": "manual" | "rule", "segment_id",
"persons", "created_at", "updated_at"}`` (``persons``: how many carry it now). A rule tag's
holders are its segment's members: giving or taking it by hand is a 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from userops.api.access import Access, project_access
from userops.api.persons import summary_json
from userops.api.resources import MAX_ID, MAX_ROW_ID, in_thread, json_body, path_id
from userops.errors import BadRequest
from userops.identity import search
from userops.meta import tags as meta
from userops.runtime import Runtime
from userops.schema.bodies import parsed_body
from userops.tags import saved
from userops.tags.store import holders

Reader = Annotated[Access, Depends(project_access("viewer"))]
Writer = Annotated[Access, Depends(project_access("analyst"))]
MAX_IDS = 10_000
MAX_HOLDERS_PAGE = 500


class BySegment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_id: Annotated[int, Field(ge=1, le=MAX_ROW_ID, strict=True)]
    action: Literal["add", "remove"]


def _ids(body: dict[str, Any], name: str) -> list[int]:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise BadRequest(f"{name}: give a list of person ids", field=name)
    if len(value) > MAX_IDS:
        raise BadRequest(f"{name}: give at most {MAX_IDS} person ids at once (tag a whole "
                         "segment with POST tags/{id}/segment)", field=name)  # fmt: skip
    for n, item in enumerate(value):
        if type(item) is not int or not 0 < item <= MAX_ID:
            shown = repr(item)[:40]
            raise BadRequest(f"{name}[{n}]: {shown} is not a person id (a positive number)",
                             field=f"{name}[{n}]")  # fmt: skip
    return value


def parse_persons(body: Any) -> tuple[list[int], list[int]]:
    """``{"add": [...], "remove": [...]}`` as the two lists; a person in both is refused."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field=None)
    extra = sorted(set(body) - {"add", "remove"})
    if extra:
        raise BadRequest(f"{extra[0][:100]}: unknown field; give add and remove",
                         field=extra[0][:100])  # fmt: skip
    add, remove = _ids(body, "add"), _ids(body, "remove")
    both = set(add) & set(remove)
    if both:
        raise BadRequest(f"remove: person {min(both)} is also in add; give each person once",
                         field="remove")  # fmt: skip
    return add, remove


def tags_router(runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["tags"])
    base = "/api/projects/{project}/tags"
    one = base + "/{tag_id}"

    def number(text: str) -> int:
        return path_id(text, "tag_id", "tag")

    @router.get(base, summary="Tags, by name, with how many persons carry each")
    def list_tags(access: Reader) -> list[dict[str, Any]]:
        return saved.list_tags(runtime(), access.project.id)

    @router.post(base, status_code=201, summary="Save a tag (with segment_id: a rule tag)")
    async def create_tag(request: Request, access: Writer) -> dict[str, Any]:
        """A taken name is a 409; a rule tag's holders are its segment's members at once."""
        body = await json_body(request)
        return await in_thread(saved.create_tag, runtime(), access.project.id, body,
                               access.principal.user_id)  # fmt: skip

    @router.get(one, summary="One tag")
    def get_tag(tag_id: str, access: Reader) -> dict[str, Any]:
        rt = runtime()
        return saved.tag_json(rt, meta.get_tag(rt.sessions, access.project.id, number(tag_id)))

    @router.put(one, summary="Change a tag (fields left out are kept)")
    async def update_tag(tag_id: str, request: Request, access: Writer) -> dict[str, Any]:
        """A new ``segment_id`` republishes the tag from that segment (a manual tag becomes a
        rule tag); a rule tag cannot lose its segment."""
        found = number(tag_id)
        body = await json_body(request)
        return await in_thread(saved.update_tag, runtime(), access.project.id, found, body)

    @router.delete(one, status_code=204, summary="Delete a tag, taking it from everyone")
    def delete_tag(tag_id: str, access: Writer) -> Response:
        saved.delete_tag(runtime(), access.project.id, number(tag_id))
        return Response(status_code=204)

    @router.post(one + "/persons", summary="Give the tag to persons, or take it from them")
    async def change_persons(tag_id: str, request: Request, access: Writer) -> dict[str, Any]:
        """Up to 10,000 person ids in each list. Answers how many persons' tag changed (a
        person who has it already is not counted) and the ids that are no person of the
        project holding ids now; the others are done. 409 for a rule tag."""
        found = number(tag_id)
        await in_thread(meta.get_tag, runtime().sessions, access.project.id, found)
        add, remove = parse_persons(await json_body(request))
        return await in_thread(saved.change_persons, runtime(), access.project.id, found, add,
                               remove)  # fmt: skip

    @router.post(one + "/segment", summary="Give the tag to a segment's members, or take it")
    async def change_by_segment(tag_id: str, request: Request,
                                access: Writer) -> dict[str, Any]:  # fmt: skip
        """The segment's members as of its last completed refresh. 409 for a rule tag."""
        found = number(tag_id)
        await in_thread(meta.get_tag, runtime().sessions, access.project.id, found)
        given = parsed_body(BySegment, await json_body(request))
        return await in_thread(saved.change_by_segment, runtime(), access.project.id, found,
                               given.segment_id, given.action == "add")  # fmt: skip

    @router.get(one + "/persons", summary="The persons who carry the tag, by person number")
    def tag_persons(
        tag_id: str,
        access: Reader,
        limit: Annotated[int, Query(ge=1, le=MAX_HOLDERS_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ) -> dict[str, Any]:
        rt = runtime()
        found = number(tag_id)
        meta.get_tag(rt.sessions, access.project.id, found)
        page = holders(rt.store, access.project.id, found, limit + 1, offset)
        persons = search.summaries(rt.sessions, rt.store, access.project.id, page[:limit])
        return {"persons": [summary_json(p) for p in persons], "has_more": len(page) > limit}

    return router
