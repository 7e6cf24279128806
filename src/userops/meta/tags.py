"""Tags (标签) as saved things: a name, a description and a colour, and for a rule tag the
segment that publishes it. Who carries a tag is the event store's (``userops.tags``).

Names are unique per project (``Conflict`` naming ``name``). Updates are partial. A tag with a
``segment_id`` is a ``rule`` tag; the segment must be the project's own (400 naming
``segment_id``). A rule tag stays one: it may move to another segment, but not lose its
segment (its holders were computed, not chosen; make a manual tag instead).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import BadRequest, Conflict, NotFound
from userops.meta.models import Segment, Tag, utcnow
from userops.schema.bodies import parsed_body
from userops.schema.times import iso

MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MAX_ID = 2**31 - 1  # segments.id is an INTEGER key
# A colour as the console picks it: "#1677ff", or a preset's name ("geekblue").
COLOR = r"^#?[0-9A-Za-z]{0,15}$"


class TagInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)] | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = None
    color: Annotated[str, Field(max_length=16, pattern=COLOR)] | None = None
    segment_id: Annotated[int, Field(ge=1, le=MAX_ID, strict=True)] | None = None

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("give a name")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a name cannot hold control characters (line breaks, tabs)")
        return value.strip()

    @field_validator("description")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:  # PostgreSQL's text cannot hold it
            raise ValueError("a description cannot hold NUL characters")
        return value


def parse_input(body: Any) -> TagInput:
    return parsed_body(TagInput, body)


def tag_json(row: Tag, persons: int) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description,
            "color": row.color, "kind": row.kind, "segment_id": row.segment_id,
            "persons": persons, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}  # fmt: skip


def tag_row(session: Session, project_id: int, tag_id: int) -> Tag:
    row = session.get(Tag, tag_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"no tag {tag_id} in this project", field="tag_id")
    return row


def get_tag(sessions: sessionmaker[Session], project_id: int, tag_id: int) -> Tag:
    with sessions() as session:
        return tag_row(session, project_id, tag_id)


def check_segment(session: Session, project_id: int, segment_id: int) -> None:
    row = session.get(Segment, segment_id)
    if row is None or row.project_id != project_id:
        raise BadRequest(f"segment_id: no segment {segment_id} in this project",
                         field="segment_id")  # fmt: skip


def _name_free(session: Session, project_id: int, name: str, tag_id: int | None) -> None:
    taken = session.scalar(select(Tag.id).where(Tag.project_id == project_id, Tag.name == name))
    if taken is not None and taken != tag_id:
        raise Conflict(f"name: tag {taken} of this project is already named {name!r}",
                       field="name")  # fmt: skip


def _taken(name: str | None) -> Conflict:
    return Conflict(f"name: a tag of this project is already named {name!r}", field="name")


def list_tags(sessions: sessionmaker[Session], project_id: int) -> list[Tag]:
    with sessions() as session:
        return list(session.scalars(select(Tag).where(Tag.project_id == project_id)
                                    .order_by(Tag.name, Tag.id)).all())  # fmt: skip


def rule_tags(sessions: sessionmaker[Session], project_id: int, segment_id: int) -> list[int]:
    """The ids of the rule tags the segment publishes."""
    with sessions() as session:
        return list(session.scalars(select(Tag.id).where(
            Tag.project_id == project_id, Tag.segment_id == segment_id, Tag.kind == "rule")))


def create_tag(sessions: sessionmaker[Session], project_id: int, body: Any,
               user_id: int | None) -> Tag:  # fmt: skip
    given = parse_input(body)
    if given.name is None:
        raise BadRequest("name: give a name", field="name")
    now = utcnow()
    try:
        with sessions.begin() as session:
            if given.segment_id is not None:
                check_segment(session, project_id, given.segment_id)
            _name_free(session, project_id, given.name, None)
            row = Tag(project_id=project_id, name=given.name,
                      description=given.description or "", color=given.color or "",
                      kind="manual" if given.segment_id is None else "rule",
                      segment_id=given.segment_id, created_by=user_id, created_at=now,
                      updated_at=now)  # fmt: skip
            session.add(row)
            session.flush()
            return row
    except IntegrityError:  # the same name saved at the same moment by someone else
        raise _taken(given.name) from None


def update_tag(sessions: sessionmaker[Session], project_id: int, tag_id: int,
               body: Any) -> tuple[Tag, int | None]:  # fmt: skip
    """The tag afterwards, and the segment it publishes when that changed (None otherwise):
    the caller republishes it."""
    get_tag(sessions, project_id, tag_id)  # another project's tag is a 404 whatever the body
    given = parse_input(body)
    if "segment_id" in given.model_fields_set and given.segment_id is None:
        raise BadRequest("segment_id: a rule tag keeps a segment (move it to another one, or "
                         "delete the tag); a manual tag has none to clear", field="segment_id")
    moved = None
    try:
        with sessions.begin() as session:
            row = tag_row(session, project_id, tag_id)
            if given.segment_id is not None and given.segment_id != row.segment_id:
                check_segment(session, project_id, given.segment_id)
                row.segment_id, row.kind, moved = given.segment_id, "rule", given.segment_id
            if given.name is not None:
                _name_free(session, project_id, given.name, tag_id)
                row.name = given.name
            if given.description is not None:
                row.description = given.description
            if given.color is not None:
                row.color = given.color
            row.updated_at = utcnow()
            session.flush()
            return row, moved
    except IntegrityError:
        raise _taken(given.name) from None


def delete_tag(sessions: sessionmaker[Session], project_id: int, tag_id: int) -> None:
    with sessions.begin() as session:
        session.delete(tag_row(session, project_id, tag_id))
