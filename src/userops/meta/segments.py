"""Saved segments (用户分群): a definition under a name, refreshed every ``refresh_minutes``.

A definition is checked with ``userops.segments.parse_definition`` and its references to other
segments are followed through ``resolver`` (this table, the project's own segments only), so an
unknown segment or a cycle is refused when it is saved, not when it is next refreshed. Errors
name the field as ``definition.<its dotted path>`` (``definition.and.0.count``). A segment that
another segment refers to cannot be deleted: ``Conflict`` names the segments referring to it.
Names are unique per project (``Conflict`` naming ``name``). Updates are partial.

The refreshes themselves are ``userops.segments.refresh``'s; this module reads their records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import BadRequest, Conflict, NotFound
from userops.meta.insights import author_emails
from userops.meta.models import Segment, SegmentRefresh, Tag, utcnow
from userops.schema.bodies import parsed_body
from userops.schema.times import iso
from userops.segments.references import SegmentResolver, expand
from userops.segments.spec import Definition, parse_definition

MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 5, 10_080, 60


class SegmentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = None
    definition: Any = None
    refresh_minutes: Annotated[int, Field(ge=MIN_MINUTES, le=MAX_MINUTES, strict=True)] | None \
        = None  # fmt: skip

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give a name")
        return value.strip() if value is not None else None


def parse_input(body: Any) -> SegmentInput:
    return parsed_body(SegmentInput, body)


def _field(exc: BadRequest) -> BadRequest:
    """The definition's error with ``definition.`` in front of its field, as the body has it."""
    where = exc.field or "(definition)"
    field = "definition" if where == "(definition)" else f"definition.{where}"
    message = exc.message.removeprefix("definition").lstrip(" :")
    return BadRequest(f"{field}: {message}", field=field)


def resolver(session: Session, project_id: int) -> SegmentResolver:
    """Segment ids to their saved definitions, the project's own segments only."""

    def resolve(segment_id: int) -> Mapping[str, Any] | None:
        row = session.get(Segment, segment_id)
        if row is None or row.project_id != project_id:
            return None
        return row.definition

    return resolve


def check_definition(session: Session, project_id: int, definition: Any,
                     segment_id: int | None = None) -> Definition:  # fmt: skip
    """The parsed definition, its references followed (unknown ids and cycles refused)."""
    if definition is None:
        raise BadRequest("definition: give a segment definition", field="definition")
    if not isinstance(definition, dict):
        raise BadRequest("definition: give a JSON object (a condition, or and / or / not)",
                         field="definition")  # fmt: skip
    try:
        parsed = parse_definition(definition)
        expand(parsed, resolver(session, project_id), segment_id)
    except BadRequest as exc:
        raise _field(exc) from None
    return parsed


def referenced(definition: Any) -> set[int]:
    """The ids of the segments a definition (as JSON data) refers to directly."""
    found: set[int] = set()
    stack = [definition]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("kind") == "segment" and isinstance(node.get("id"), int):
                found.add(node["id"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


# --- views -----------------------------------------------------------------------------------


def refresh_json(row: SegmentRefresh) -> dict[str, Any]:
    return {"id": row.id, "segment_id": row.segment_id, "at": iso(row.at),
            "started_at": iso(row.started_at), "finished_at": iso(row.finished_at),
            "status": row.status, "size": row.size, "entered": row.entered,
            "exited": row.exited, "error": row.error}  # fmt: skip


@dataclass(frozen=True)
class SegmentView:
    """A segment as the API shows it (``created_by`` is the author's email)."""

    row: Segment
    created_by: str | None

    def to_json(self) -> dict[str, Any]:
        row = self.row
        last = None if row.refresh_status is None else {
            "at": iso(row.refreshed_at), "status": row.refresh_status, "error": row.refresh_error,
        }  # fmt: skip
        return {"id": row.id, "name": row.name, "description": row.description,
                "definition": row.definition, "refresh_minutes": row.refresh_minutes,
                "size": row.size, "status": row.refresh_status, "last_refresh": last,
                "created_by": self.created_by, "created_at": iso(row.created_at),
                "updated_at": iso(row.updated_at)}  # fmt: skip


def _views(session: Session, rows: Sequence[Segment]) -> list[SegmentView]:
    emails = author_emails(session, (row.created_by for row in rows))
    return [SegmentView(row, emails.get(row.created_by) if row.created_by else None)
            for row in rows]  # fmt: skip


def segment_row(session: Session, project_id: int, segment_id: int) -> Segment:
    row = session.get(Segment, segment_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"no segment {segment_id} in this project", field="segment_id")
    return row


def _name_free(session: Session, project_id: int, name: str, segment_id: int | None) -> None:
    taken = session.scalar(select(Segment.id).where(Segment.project_id == project_id,
                                                    Segment.name == name))  # fmt: skip
    if taken is not None and taken != segment_id:
        raise Conflict(f"name: segment {taken} of this project is already named {name!r}",
                       field="name")  # fmt: skip


# --- CRUD ------------------------------------------------------------------------------------


def list_segments(sessions: sessionmaker[Session], project_id: int) -> list[SegmentView]:
    with sessions() as session:
        found = session.scalars(select(Segment).where(Segment.project_id == project_id)
                                .order_by(Segment.updated_at.desc(), Segment.id.desc())).all()
        return _views(session, found)


def all_segments(sessions: sessionmaker[Session]) -> list[tuple[int, int, int]]:
    """(project id, segment id, refresh minutes) of every segment, for the scheduler."""
    with sessions() as session:
        found = session.execute(select(Segment.project_id, Segment.id, Segment.refresh_minutes))
        return [(int(p), int(s), int(m)) for p, s, m in found]


def get_segment(sessions: sessionmaker[Session], project_id: int, segment_id: int) -> SegmentView:
    with sessions() as session:
        return _views(session, [segment_row(session, project_id, segment_id)])[0]


def create_segment(sessions: sessionmaker[Session], project_id: int, body: Any,
                   user_id: int | None) -> SegmentView:  # fmt: skip
    given = parse_input(body)
    if given.name is None:
        raise BadRequest("name: give a name", field="name")
    now = utcnow()
    try:
        with sessions.begin() as session:
            check_definition(session, project_id, given.definition)
            _name_free(session, project_id, given.name, None)
            row = Segment(project_id=project_id, name=given.name,
                          description=given.description or "", definition=given.definition,
                          refresh_minutes=given.refresh_minutes or DEFAULT_MINUTES,
                          created_by=user_id, created_at=now, updated_at=now)  # fmt: skip
            session.add(row)
            session.flush()
            return _views(session, [row])[0]
    except IntegrityError:  # the same name saved at the same moment by someone else
        raise Conflict(f"name: a segment of this project is already named {given.name!r}",
                       field="name") from None  # fmt: skip


def update_segment(sessions: sessionmaker[Session], project_id: int, segment_id: int,
                   body: Any) -> SegmentView:  # fmt: skip
    given = parse_input(body)
    try:
        with sessions.begin() as session:
            row = segment_row(session, project_id, segment_id)
            if given.definition is not None:
                check_definition(session, project_id, given.definition, segment_id)
                row.definition = given.definition
            if given.name is not None:
                _name_free(session, project_id, given.name, segment_id)
                row.name = given.name
            if given.description is not None:
                row.description = given.description
            if given.refresh_minutes is not None:
                row.refresh_minutes = given.refresh_minutes
            row.updated_at = utcnow()
            session.flush()
            return _views(session, [row])[0]
    except IntegrityError:
        raise Conflict(f"name: a segment of this project is already named {given.name!r}",
                       field="name") from None  # fmt: skip


def set_definition(sessions: sessionmaker[Session], project_id: int, segment_id: int,
                   definition: dict[str, Any]) -> SegmentView:  # fmt: skip
    """Replace the definition (a static list uploaded, for one), checked as any other."""
    return update_segment(sessions, project_id, segment_id, {"definition": definition})


def referrers(session: Session, project_id: int, segment_id: int) -> list[Segment]:
    rows = session.scalars(select(Segment).where(Segment.project_id == project_id)).all()
    return [row for row in rows if segment_id in referenced(row.definition)]


def delete_segment(sessions: sessionmaker[Session], project_id: int, segment_id: int) -> None:
    """Delete the segment and its refresh records (its rows in the event store are no longer
    read: their refreshes are gone, and ids are never reused); ``Conflict`` if another segment
    refers to it or it publishes a tag."""
    with sessions.begin() as session:
        row = segment_row(session, project_id, segment_id)
        using = [r for r in referrers(session, project_id, segment_id) if r.id != segment_id]
        if using:
            names = ", ".join(f"{r.id} ({r.name!r})" for r in using)
            raise Conflict(f"segment {segment_id} is used by segment(s) {names}: change or delete "
                           "them first", field="segment_id")  # fmt: skip
        tags = session.scalars(select(Tag).where(Tag.segment_id == segment_id)).all()
        if tags:  # its rows are the tags' holders: they would stop counting
            names = ", ".join(f"{t.id} ({t.name!r})" for t in tags)
            raise Conflict(f"segment {segment_id} publishes tag(s) {names}: move or delete "
                           "them first", field="segment_id")  # fmt: skip
        session.execute(delete(SegmentRefresh).where(SegmentRefresh.segment_id == segment_id))
        session.delete(row)


# --- refresh records -------------------------------------------------------------------------


def completed(session: Session, segment_id: int) -> list[int]:
    """The ids of the segment's completed refreshes, oldest first."""
    return list(session.scalars(
        select(SegmentRefresh.id)
        .where(SegmentRefresh.segment_id == segment_id, SegmentRefresh.status == "ok")
        .order_by(SegmentRefresh.id)
    ))  # fmt: skip


def refreshes(sessions: sessionmaker[Session], project_id: int, segment_id: int,
              only_completed: bool = True) -> Iterator[SegmentRefresh]:  # fmt: skip
    with sessions() as session:
        segment_row(session, project_id, segment_id)
        query = select(SegmentRefresh).where(SegmentRefresh.segment_id == segment_id)
        if only_completed:
            query = query.where(SegmentRefresh.status == "ok")
        yield from session.scalars(query.order_by(SegmentRefresh.id)).all()
