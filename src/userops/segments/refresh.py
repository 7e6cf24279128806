"""Saved segments' membership with history: refreshes write who entered and who left.

The event store's ``segment_changes`` is append-only: one row per person whose membership a
refresh changed, under the refresh's id, at the refresh's moment. A person is a member now when
their latest change among *completed* refreshes says entered. A refresh:

1. records itself ``running`` in the metadata store (``segment_refreshes``);
2. computes the new members with the engine's query and, in one ``INSERT ... SELECT``, writes
   the difference against the current membership (a full join of the two sets);
3. records itself completed in the event store (``segment_refreshes_done``, the one row
   readers count its rows by: ``userops.analysis.memberships``), then marks itself ``ok`` with
   its size and counts in the metadata store. Readers take only completed refreshes' rows, so
   one that fails at any point before (its rows half written or not at all) leaves the previous
   membership and history as they were; it is recorded ``failed`` with its error. Should the
   metadata store fail after the event store's row, the membership is complete and counted and
   only the record says otherwise.

Refreshes run one at a time in this process (``_ONE_AT_A_TIME``): the scheduler's worker and
an on-demand refresh from the API never compute against the same "current" at once.

Membership is by person id as the engine resolves identities at each refresh. A person merged
into another later keeps their past rows under their old id: the old id leaves at the next
refresh (it has no events of its own any more) and the survivor enters if the segment holds
for them.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.memberships import segment_members
from userops.meta import segments as saved
from userops.meta.models import Project, Segment, SegmentRefresh, utcnow
from userops.runtime import Runtime
from userops.segments.membership import compile_segment
from userops.segments.spec import parse_definition
from userops.store import EventStore, rows, scalar
from userops.tags.publish import publish_refresh

log = logging.getLogger(__name__)
_ONE_AT_A_TIME = threading.Lock()
MAX_ERROR = 2000

# The members as of the completed refreshes: each person's latest change's side.
CURRENT = segment_members("{seg_segment:UInt64}")


def _changes_sql(members_sql: str) -> str:
    # Persons are numbered from 1, so 0 is the side of the full join that has no row.
    return f"""
        INSERT INTO segment_changes (project_id, segment_id, refresh_id, person_id, at, entered)
        SELECT {{project:UInt32}}, {{seg_segment:UInt64}}, {{seg_refresh:UInt64}},
               if(n.person != 0, n.person, c.person), {{seg_at:DateTime64(3, 'UTC')}},
               n.person != 0
        FROM ({members_sql}) AS n
        FULL OUTER JOIN ({CURRENT}) AS c ON n.person = c.person
        WHERE (n.person = 0) != (c.person = 0)
        SETTINGS join_use_nulls = 0
    """  # noqa: S608


@dataclass(frozen=True)
class Counts:
    size: int
    entered: int
    exited: int


def _counts(store: EventStore, params: dict[str, Any]) -> Counts:
    found = rows(store, """
        SELECT countIf(entered), countIf(NOT entered) FROM segment_changes
        WHERE project_id = {project:UInt32} AND segment_id = {seg_segment:UInt64}
          AND refresh_id = {seg_refresh:UInt64}
    """, params)  # fmt: skip
    entered, exited = (int(found[0][0]), int(found[0][1])) if found else (0, 0)
    size = scalar(store, "SELECT count() FROM ("  # noqa: S608
                  f"{segment_members('{seg_segment:UInt64}', '{seg_refresh:UInt64}')})", params)
    return Counts(int(size or 0), entered, exited)


def refresh(runtime: Runtime, project: Project, segment_id: int,
            now: dt.datetime | None = None) -> SegmentRefresh:  # fmt: skip
    """Refresh the segment's membership as of ``now`` (an aware time; the clock's when None).
    Returns the refresh's record, ``ok`` or ``failed`` (with its error); ``NotFound`` when the
    project has no such segment."""
    at = now or dt.datetime.now(dt.UTC)
    if at.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    with _ONE_AT_A_TIME:
        return _refresh(runtime.sessions, runtime.store, project, segment_id, at)


def _refresh(sessions: sessionmaker[Session], store: EventStore, project: Project,
             segment_id: int, at: dt.datetime) -> SegmentRefresh:  # fmt: skip
    with sessions.begin() as session:
        segment = saved.segment_row(session, project.id, segment_id)
        record = SegmentRefresh(project_id=project.id, segment_id=segment_id, at=at,
                                started_at=utcnow(), status="running")  # fmt: skip
        session.add(record)
        session.flush()
        refresh_id = record.id
    try:
        with sessions() as session:
            query = compile_segment(project, parse_definition(segment.definition),
                                    saved.resolver(session, project.id), at,
                                    segment_id)  # fmt: skip
        sql = _changes_sql(query.members_sql())  # (first: building it adds parameters)
        params = {**query.params, "seg_segment": segment_id, "seg_refresh": refresh_id,
                  "seg_at": at}  # fmt: skip
        store.command(sql, params)
        counts = _counts(store, params)
        # Its rule tags' changes, under its id: they count when it completes, as its own do.
        publish_refresh(sessions, store, project.id, segment_id, refresh_id)
        store.command("INSERT INTO segment_refreshes_done (project_id, segment_id, refresh_id, at) "
                      "VALUES ({project:UInt32}, {seg_segment:UInt64}, {seg_refresh:UInt64}, "
                      "{seg_at:DateTime64(3, 'UTC')})", params)  # fmt: skip
    except Exception as exc:  # recorded, and the previous membership stands
        log.warning("refresh of segment %s failed", segment_id, exc_info=True)
        error = (getattr(exc, "message", None) or str(exc) or type(exc).__name__)[:MAX_ERROR]
        return _finish(sessions, refresh_id, "failed", None, error)
    return _finish(sessions, refresh_id, "ok", counts, None)


def _finish(sessions: sessionmaker[Session], refresh_id: int, status: str,
            counts: Counts | None, error: str | None) -> SegmentRefresh:  # fmt: skip
    with sessions.begin() as session:
        record = session.get(SegmentRefresh, refresh_id)
        if record is None:  # the segment was deleted while it ran, its records with it
            return SegmentRefresh(id=refresh_id, status=status, error=error,
                                  finished_at=utcnow())  # fmt: skip
        record.status, record.error, record.finished_at = status, error, utcnow()
        if counts is not None:
            record.size, record.entered, record.exited = counts.size, counts.entered, \
                counts.exited  # fmt: skip
        segment = session.get(Segment, record.segment_id)
        if segment is not None:
            segment.refreshed_at, segment.refresh_status = record.finished_at, status
            segment.refresh_error = error
            if counts is not None:
                segment.size = counts.size
        session.flush()
        return record


def record_earlier_completions(sessions: sessionmaker[Session], store: EventStore) -> int:
    """Record in the event store the refreshes the metadata store has as ``ok`` but the event
    store lacks: those completed before the event store recorded completions (a store from
    before its migration 7), whose membership readers would otherwise not count. Cheap when
    there are none (two counts); run where both stores open. The number recorded."""
    with sessions() as session:
        ok = session.scalar(select(func.count()).select_from(SegmentRefresh)
                            .where(SegmentRefresh.status == "ok"))  # fmt: skip
        if not ok or ok <= int(scalar(store, "SELECT count() FROM segment_refreshes_done") or 0):
            return 0
        recorded = {int(r) for (r,) in rows(store, "SELECT refresh_id FROM segment_refreshes_done")}
        missing = [row for row in session.execute(
            select(SegmentRefresh.project_id, SegmentRefresh.segment_id, SegmentRefresh.id,
                   SegmentRefresh.at).where(SegmentRefresh.status == "ok")
        ) if row.id not in recorded]  # fmt: skip
    if missing:
        store.command(
            "INSERT INTO segment_refreshes_done (project_id, segment_id, refresh_id, at) "
            "SELECT x.1, x.2, x.3, x.4 FROM (SELECT arrayJoin(arrayZip({p:Array(UInt32)}, "
            "{s:Array(UInt64)}, {r:Array(UInt64)}, {a:Array(DateTime64(3, 'UTC'))})) AS x)",
            {"p": [m.project_id for m in missing], "s": [m.segment_id for m in missing],
             "r": [m.id for m in missing], "a": [m.at for m in missing]},
        )  # fmt: skip
        log.info("recorded %d segment refreshes completed before the event store kept them",
                 len(missing))  # fmt: skip
    return len(missing)


# --- reading ---------------------------------------------------------------------------------


def current_members(store: EventStore, project_id: int, segment_id: int,
                    limit: int | None = None, offset: int = 0) -> list[int]:  # fmt: skip
    """The members' person ids as of the completed refreshes, ascending; a page of them with
    ``limit`` and ``offset``."""
    params: dict[str, Any] = {"project": project_id, "seg_segment": segment_id,
                              "seg_offset": offset}  # fmt: skip
    page = " OFFSET {seg_offset:UInt64}"
    if limit is not None:
        params["seg_limit"] = limit
        page = " LIMIT {seg_limit:UInt64}" + page
    found = rows(store, f"SELECT person FROM ({CURRENT}) ORDER BY person{page}",  # noqa: S608
                 params)
    return [int(person) for (person,) in found]


@dataclass(frozen=True)
class Change:
    refresh_id: int
    at: dt.datetime
    entered: bool


def member_changes(store: EventStore, project_id: int, segment_id: int,
                   person_id: int) -> list[Change]:  # fmt: skip
    """When the person entered and left the segment, oldest first (completed refreshes only)."""
    found = rows(store, """
        SELECT refresh_id, at, entered FROM segment_changes
        WHERE project_id = {project:UInt32} AND segment_id = {seg_segment:UInt64}
          AND person_id = {seg_person:UInt64}
          AND refresh_id IN (SELECT refresh_id FROM segment_refreshes_done
              WHERE project_id = {project:UInt32} AND segment_id = {seg_segment:UInt64})
        ORDER BY refresh_id
    """, {"project": project_id, "seg_segment": segment_id, "seg_person": person_id})  # fmt: skip
    return [Change(int(r), at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at, bool(e))
            for r, at, e in found]  # fmt: skip


def history(sessions: sessionmaker[Session], project_id: int,
            segment_id: int) -> list[dict[str, Any]]:  # fmt: skip
    """Size over time: each completed refresh's moment, size, and how many entered and left."""
    return [{"refresh_id": r.id, "at": r.at, "size": r.size, "entered": r.entered,
             "exited": r.exited} for r in saved.refreshes(sessions, project_id, segment_id)]


def forget(store: EventStore, project_id: int, segment_id: int) -> None:
    """Drop a deleted segment's rows from the event store. Readers ignore them already (their
    refreshes are gone and ids are never reused), so a failure is logged, not raised."""
    try:
        for table in ("segment_changes", "segment_refreshes_done"):
            store.command(f"DELETE FROM {table} WHERE project_id = {{project:UInt32}} "  # noqa: S608
                          "AND segment_id = {seg_segment:UInt64}",
                          {"project": project_id, "seg_segment": segment_id})  # fmt: skip
    except Exception:
        log.warning("could not delete segment %s's rows from the event store", segment_id,
                    exc_info=True)  # fmt: skip
