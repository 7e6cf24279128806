"""What a person's profile shows of tags and segments: the tags they carry and the saved
segments they are a member of now, each with when they last got it or entered."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from userops.meta.models import Segment, Tag
from userops.runtime import Runtime
from userops.schema.times import iso
from userops.store import rows
from userops.tags.store import held_by

# The person's segments as of the completed refreshes: their latest change's side, and when.
MEMBER_OF = """
    SELECT segment_id, argMax(at, refresh_id) FROM segment_changes
    WHERE project_id = {project:UInt32} AND person_id = {tg_person:UInt64}
      AND refresh_id IN (SELECT refresh_id FROM segment_refreshes_done
                         WHERE project_id = {project:UInt32})
    GROUP BY segment_id
    HAVING argMax(entered, refresh_id)
"""


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def person_tags(runtime: Runtime, project_id: int, person_id: int) -> list[dict[str, Any]]:
    """``[{"id", "name", "color", "kind", "since"}]`` by name."""
    since = dict(held_by(runtime.store, project_id, person_id))
    if not since:
        return []
    with runtime.sessions() as session:
        found = session.scalars(select(Tag).where(Tag.project_id == project_id,
                                                  Tag.id.in_(list(since)))
                                .order_by(Tag.name, Tag.id)).all()  # fmt: skip
    return [{"id": t.id, "name": t.name, "color": t.color, "kind": t.kind,
             "since": iso(since[t.id])} for t in found]  # fmt: skip


def person_segments(runtime: Runtime, project_id: int, person_id: int) -> list[dict[str, Any]]:
    """``[{"id", "name", "since"}]`` by name; a deleted segment's leftover rows are not shown."""
    found = rows(runtime.store, MEMBER_OF, {"project": project_id, "tg_person": person_id})
    since = {int(segment): _aware(at) for segment, at in found}
    if not since:
        return []
    with runtime.sessions() as session:
        segments = session.scalars(select(Segment).where(Segment.project_id == project_id,
                                                         Segment.id.in_(list(since)))
                                   .order_by(Segment.name, Segment.id)).all()  # fmt: skip
    return [{"id": s.id, "name": s.name, "since": iso(since[s.id])} for s in segments]
