"""Who is in a segment now: its members' person ids, or how many (the live preview).

``now`` picks "today" in the project's time zone for windows such as the last 30 days; it is
passed in so that tests and scheduled refreshes are deterministic. Windows are whole local
days, as in the analyses: the last 7 days are today and the 6 days before it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from userops.meta.models import Project
from userops.segments.compiler import SegmentQuery
from userops.segments.references import SegmentResolver, expand
from userops.segments.spec import Definition
from userops.store import EventStore, scalar


def compile_segment(project: Project, definition: Definition,
                    resolver: SegmentResolver | None = None, now: dt.datetime | None = None,
                    segment_id: int | None = None) -> SegmentQuery:  # fmt: skip
    """The definition's query, the segments it refers to inlined (``BadRequest`` for a cycle,
    an unknown segment, or a definition too large once inlined). ``segment_id`` is the
    definition's own id when it is a saved segment."""
    now = now or dt.datetime.now(dt.UTC)
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    today = now.astimezone(ZoneInfo(project.timezone)).date()
    return SegmentQuery(project.id, project.timezone, today,
                        expand(definition, resolver, segment_id))  # fmt: skip


def members(store: EventStore, project: Project, definition: Definition,
            resolver: SegmentResolver | None = None, now: dt.datetime | None = None,
            segment_id: int | None = None) -> list[int]:  # fmt: skip
    """The members' person ids, ascending."""
    query = compile_segment(project, definition, resolver, now, segment_id)
    table = store.arrow(query.members_sql(), query.params)
    return [int(person) for person in table.column("person").to_pylist()]


def count(store: EventStore, project: Project, definition: Definition,
          resolver: SegmentResolver | None = None, now: dt.datetime | None = None,
          segment_id: int | None = None) -> int:  # fmt: skip
    """How many members (the builder's live preview)."""
    query = compile_segment(project, definition, resolver, now, segment_id)
    return int(scalar(store, query.count_sql(), query.params) or 0)
