"""Persons over REST: search and list, a profile, the event timeline, and undoing a merge.

    GET  /api/projects/{project}/persons?search=TEXT&limit=50&offset=0
         {"persons": [{"person_id", "display", "distinct_ids", "distinct_id_count",
                       "first_seen", "last_seen", "event_count"}], "has_more"}
    GET  /api/projects/{project}/persons?ids=12,7,...
         the same summaries of those persons (at most 500), in that order; a number that is
         no person of the project holding ids now is left out; has_more is false
    GET  /api/projects/{project}/persons/{person_id}               the profile
    GET  /api/projects/{project}/persons/{person_id}/events?before=ISO&limit=50
         {"events": [{"uuid", "event", "type", "timestamp", "distinct_id", "properties"}],
          "next_before": ISO or null}
    POST /api/projects/{project}/persons/{person_id}/unmerge       {"merge_id"} (admins)
    GET  /api/projects/{project}/persons/{person_id}/tags
         [{"id", "name", "color", "kind", "since"}]: the tags the person carries now
    GET  /api/projects/{project}/persons/{person_id}/segments
         [{"id", "name", "since"}]: the saved segments the person is a member of now (as of
         their completed refreshes), since they last entered

Any member reads; undoing a merge takes an admin. A person absorbed by a merge is answered by
whoever holds its ids now (the profile's ``person_id`` says who). Search semantics and timeline
paging are ``userops.identity.search``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from userops.analysis.person_computed import computed_of
from userops.api.access import Access, project_access
from userops.api.resources import MAX_ID, in_thread, json_body, path_id
from userops.errors import BadRequest
from userops.identity import search
from userops.identity.profile import Profile, load_profile
from userops.identity.repository import person_ids, unmerge
from userops.meta.models import Merge
from userops.runtime import Runtime
from userops.schema.times import iso, parse_iso
from userops.tags.profile import person_segments, person_tags

Reader = Annotated[Access, Depends(project_access("viewer"))]
Admin = Annotated[Access, Depends(project_access("admin"))]
# A list shows this many of a person's ids; the profile shows them all.
LISTED_IDS = 50
# Room for MAX_NUMBERS person numbers of up to 19 digits, commas and spaces.
IDS_TEXT = search.MAX_NUMBERS * 21


def merge_json(merge: Merge) -> dict[str, Any]:
    return {"id": merge.id, "kept_id": merge.survivor_id, "merged_id": merge.absorbed_id,
            "at": iso(merge.created_at), "undone_at": iso(merge.undone_at), "kind": merge.kind,
            "moved_ids": merge.moved_ids, "message_id": merge.message_id}  # fmt: skip


def person_number(text: str) -> int:
    """A person number from the path (persons' keys are 64-bit), or 404."""
    return path_id(text, "person_id", "person", MAX_ID)


def profile_json(profile: Profile) -> dict[str, Any]:
    return {"person_id": profile.person_id, "distinct_ids": profile.distinct_ids,
            "traits": profile.traits, "first_seen": iso(profile.first_seen),
            "last_seen": iso(profile.last_seen), "event_count": profile.event_count,
            "first_touch": profile.first_touch,
            "merges": [merge_json(m) for m in profile.merges]}  # fmt: skip


def summary_json(person: search.PersonSummary) -> dict[str, Any]:
    return {"person_id": person.person_id, "display": person.display,
            "distinct_ids": person.distinct_ids[:LISTED_IDS],
            "distinct_id_count": len(person.distinct_ids), "first_seen": iso(person.first_seen),
            "last_seen": iso(person.last_seen), "event_count": person.event_count}  # fmt: skip


def event_json(event: search.TimelineEvent) -> dict[str, Any]:
    return {"uuid": event.uuid, "event": event.event, "type": event.type,
            "timestamp": iso(event.timestamp), "distinct_id": event.distinct_id,
            "properties": event.properties}  # fmt: skip


def persons_router(runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["persons"])
    base = "/api/projects/{project}/persons"

    def profile_of(project_id: int, person_text: str) -> dict[str, Any]:
        rt = runtime()
        person = search.current_person(rt.sessions, project_id,
                                       person_number(person_text))  # fmt: skip
        return profile_json(load_profile(rt.sessions, rt.store, project_id, person))

    @router.get(base, summary="Persons, newest first; search any id or trait value")
    def list_persons(
        access: Reader,
        search_text: Annotated[str, Query(alias="search", max_length=400)] = "",
        limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 50,
        offset: Annotated[int, Query(ge=0, le=search.MAX_OFFSET)] = 0,
        ids: Annotated[str | None, Query(max_length=IDS_TEXT)] = None,
    ) -> dict[str, Any]:
        """``ids`` (person numbers, comma-separated) asks for those persons instead of a page:
        ``search``, ``limit`` and ``offset`` do not apply."""
        rt = runtime()
        if ids is not None:
            if search_text.strip():
                raise BadRequest("ids: give either ids or search, not both", field="ids")
            found = search.by_numbers(rt.sessions, rt.store, access.project.id,
                                      search.parse_numbers(ids))  # fmt: skip
            return {"persons": [summary_json(p) for p in found], "has_more": False}
        page = search.list_persons(rt.sessions, rt.store, access.project.id, search_text,
                                   limit, offset)  # fmt: skip
        return {"persons": [summary_json(p) for p in page.persons], "has_more": page.has_more}

    @router.get(base + "/{person_id}", summary="A person's profile: ids, traits, merges")
    def get_person(person_id: str, access: Reader) -> dict[str, Any]:
        """With ``computed``: the person's computed properties ($revenue, $rfm_group,
        $lifecycle_stage, $value_tier, ...) as of their last refresh, as filters read them."""
        found = profile_of(access.project.id, person_id)
        found["computed"] = computed_of(runtime().store, access.project.id, found["person_id"])
        return found

    @router.get(base + "/{person_id}/events", summary="A person's events, newest first")
    def person_events(
        person_id: str,
        access: Reader,
        before: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=search.MAX_EVENTS)] = 50,
    ) -> dict[str, Any]:
        """Pass the answer's ``next_before`` as ``before`` for the next page; it is null after
        the last one. A page may hold more than ``limit`` events when several share the
        millisecond it ends at."""
        rt = runtime()
        project_id = access.project.id
        person = search.current_person(rt.sessions, project_id,
                                       person_number(person_id))  # fmt: skip
        moment = None
        if before is not None and before.strip():
            try:
                moment = parse_iso(before)
            except ValueError:
                raise BadRequest(f"before: {before!r} is not an ISO 8601 time",
                                 field="before") from None  # fmt: skip
        ids = person_ids(rt.sessions, project_id, person)
        page = search.timeline(rt.store, project_id, ids, moment, limit)
        return {"events": [event_json(e) for e in page.events],
                "next_before": iso(page.next_before)}  # fmt: skip

    @router.get(base + "/{person_id}/tags", summary="The tags a person carries, by name")
    def tags_of_person(person_id: str, access: Reader) -> list[dict[str, Any]]:
        rt = runtime()
        person = search.current_person(rt.sessions, access.project.id,
                                       person_number(person_id))  # fmt: skip
        return person_tags(rt, access.project.id, person)

    @router.get(base + "/{person_id}/segments", summary="The segments a person is in, by name")
    def segments_of_person(person_id: str, access: Reader) -> list[dict[str, Any]]:
        rt = runtime()
        person = search.current_person(rt.sessions, access.project.id,
                                       person_number(person_id))  # fmt: skip
        return person_segments(rt, access.project.id, person)

    @router.post(base + "/{person_id}/unmerge", summary="Undo a merge (admins)")
    async def unmerge_person(person_id: str, request: Request, access: Admin) -> dict[str, Any]:
        """Body: ``{"merge_id"}`` (from the profile's ``merges``). The answer is the person's
        profile afterwards. 409 when the merge was undone already or other links still join
        the two sides (the message names them)."""
        rt = runtime()
        number = person_number(person_id)
        await in_thread(search.current_person, rt.sessions, access.project.id, number)
        body = await json_body(request)
        merge_id = body.get("merge_id") if isinstance(body, dict) else None
        if type(merge_id) is not int or not 0 < merge_id <= 2**63 - 1:
            raise BadRequest("merge_id: give the number of a merge from the person's profile",
                             field="merge_id")  # fmt: skip
        await in_thread(unmerge, rt.sessions, rt.store, access.project.id, merge_id)
        return await in_thread(profile_of, access.project.id, person_id)

    return router
