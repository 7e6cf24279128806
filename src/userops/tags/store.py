"""Who carries which tag: reading and writing the event store's ``person_tags``.

Rows are appended, never changed: one per person whose tag a write changed, ``added`` true or
false. The newest row per (tag, resolved person) by ``(at, refresh_id)`` wins, so every write
takes its moment from ``stamp``, which never goes backwards in this process (one process owns
a data directory): an add and a remove in the same millisecond still have an order. Writes are
diffs against the current holders, made one at a time (``_WRITING``), so adding a tag a person
has already writes nothing and the counts answered are real changes.

A manual row names the person's smallest distinct id (from the metadata store) at the time, so
the tag follows the person through merges and their undoing, as events do. Readers are
``userops.analysis.memberships.tag_holders`` and the queries here, which must agree with it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.memberships import segment_members, tag_holders
from userops.analysis.resolved import CURRENT_OVERRIDES
from userops.meta.models import DistinctId, Merge
from userops.store import EventStore, rows

log = logging.getLogger(__name__)
_WRITING = threading.Lock()
_CLOCK = threading.Lock()
_last = dt.datetime.min.replace(tzinfo=dt.UTC)
# Persons looked up in the metadata store at once (SQLite takes up to 32766 parameters).
CHUNK = 5_000
MS = dt.timedelta(milliseconds=1)

HOLDERS = tag_holders("{tg_tag:UInt64}")

# Every tag's holders with when they last got it: ``tag_holders`` for all tags at once.
HELD = f"""
    SELECT t.tag_id AS tag, if(o.person_id != 0, o.person_id, t.person_id) AS person,
           max(t.at) AS since
    FROM person_tags AS t
    LEFT JOIN ({CURRENT_OVERRIDES}) AS o ON t.distinct_id = o.distinct_id
    WHERE t.project_id = {{project:UInt32}}
      AND (t.refresh_id = 0 OR t.refresh_id IN (
          SELECT refresh_id FROM segment_refreshes_done WHERE project_id = {{project:UInt32}}))
    GROUP BY tag, person
    HAVING argMax(t.added, (t.at, t.refresh_id))
"""  # noqa: S608

SCHEMA = pa.schema([("project_id", pa.uint32()), ("tag_id", pa.uint64()),
                    ("person_id", pa.uint64()), ("distinct_id", pa.string()),
                    ("at", pa.timestamp("ms", tz="UTC")), ("refresh_id", pa.uint64()),
                    ("added", pa.bool_())])  # fmt: skip


def stamp() -> dt.datetime:
    """Now to the millisecond, later than any moment this process stamped before."""
    global _last
    with _CLOCK:
        now = dt.datetime.now(dt.UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        _last = now if now > _last else _last + MS
        return _last


# --- reading ---------------------------------------------------------------------------------


def holder_counts(store: EventStore, project_id: int) -> dict[int, int]:
    """Each tag's number of holders (tags without any left out), in one query."""
    found = rows(store, f"SELECT tag, count() FROM ({HELD}) GROUP BY tag",  # noqa: S608
                 {"project": project_id})  # fmt: skip
    return {int(tag): int(n) for tag, n in found}


def holders(store: EventStore, project_id: int, tag_id: int, limit: int | None = None,
            offset: int = 0) -> list[int]:  # fmt: skip
    """The tag's holders' person ids, ascending; a page of them with ``limit`` and ``offset``."""
    params: dict[str, Any] = {"project": project_id, "tg_tag": tag_id, "tg_offset": offset}
    page = " OFFSET {tg_offset:UInt64}"
    if limit is not None:
        params["tg_limit"] = limit
        page = " LIMIT {tg_limit:UInt64}" + page
    found = rows(store, f"SELECT person FROM ({HOLDERS}) ORDER BY person{page}",  # noqa: S608
                 params)  # fmt: skip
    return [int(person) for (person,) in found]


def held_by(store: EventStore, project_id: int, person_id: int) -> list[tuple[int, dt.datetime]]:
    """(tag id, since) of each tag the person carries now."""
    found = rows(store, f"SELECT tag, since FROM ({HELD}) "  # noqa: S608
                 "WHERE person = {tg_person:UInt64} ORDER BY tag",
                 {"project": project_id, "tg_person": person_id})  # fmt: skip
    return [(int(tag), _aware(since)) for tag, since in found]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def first_ids(sessions: sessionmaker[Session], project_id: int,
              persons: Iterable[int]) -> dict[int, str]:  # fmt: skip
    """For each of ``persons`` that holds ids now, the smallest of its own ids: not one that
    came with a person it absorbed (a merge not undone), which would carry the tag away to that
    person if the merge were undone. A person holding only absorbed ids gets the smallest."""
    wanted = list(dict.fromkeys(persons))
    found: dict[int, str] = {}
    with sessions() as session:
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            gained: dict[int, set[str]] = {}
            for survivor, moved in session.execute(
                select(Merge.survivor_id, Merge.moved_ids)
                .where(Merge.project_id == project_id, Merge.survivor_id.in_(chunk),
                       Merge.undone_at.is_(None))
            ):  # fmt: skip
                gained.setdefault(int(survivor), set()).update(str(i) for i in moved)
            held: dict[int, list[str]] = {}
            for person, distinct_id in session.execute(
                select(DistinctId.person_id, DistinctId.distinct_id)
                .where(DistinctId.project_id == project_id, DistinctId.person_id.in_(chunk))
            ):  # fmt: skip
                held.setdefault(int(person), []).append(str(distinct_id))
            for person, ids in held.items():
                own = [i for i in ids if i not in gained.get(person, ())]
                found[person] = min(own or ids)
    return found


# --- writing ---------------------------------------------------------------------------------


def _write(store: EventStore, project_id: int, tag_id: int, persons: Sequence[int],
           ids: dict[int, str], added: bool) -> None:  # fmt: skip
    if not persons:
        return
    n = len(persons)
    at = stamp()
    data = pa.table([[project_id] * n, [tag_id] * n, list(persons),
                     [ids.get(p, "") for p in persons], [at] * n, [0] * n, [added] * n],
                    schema=SCHEMA)  # fmt: skip
    store.insert_arrow("person_tags", data)


def _held_among(store: EventStore, project_id: int, tag_id: int, persons: list[int]) -> set[int]:
    if not persons:
        return set()
    found = rows(store, f"SELECT person FROM ({HOLDERS}) "  # noqa: S608
                 "WHERE person IN (SELECT arrayJoin({tg_persons:Array(UInt64)}))",
                 {"project": project_id, "tg_tag": tag_id, "tg_persons": persons})  # fmt: skip
    return {int(person) for (person,) in found}


@dataclass(frozen=True)
class Changed:
    added: int
    removed: int
    unknown: list[int] = field(default_factory=list)


def change(sessions: sessionmaker[Session], store: EventStore, project_id: int, tag_id: int,
           add: Sequence[int], remove: Sequence[int]) -> Changed:  # fmt: skip
    """Give the tag to ``add`` and take it from ``remove`` (person ids). Persons of the
    project holding no ids now (unknown, absorbed by a merge) are answered in ``unknown``; the
    others are written, only those whose tag changes."""
    asked = list(dict.fromkeys([*add, *remove]))
    with _WRITING:
        ids = first_ids(sessions, project_id, asked)
        held = _held_among(store, project_id, tag_id, [p for p in asked if p in ids])
        adding = [p for p in dict.fromkeys(add) if p in ids and p not in held]
        removing = [p for p in dict.fromkeys(remove) if p in ids and p in held]
        _write(store, project_id, tag_id, adding, ids, True)
        _write(store, project_id, tag_id, removing, ids, False)
    return Changed(len(adding), len(removing), [p for p in asked if p not in ids])


def change_by_segment(sessions: sessionmaker[Session], store: EventStore, project_id: int,
                      tag_id: int, segment_id: int, add: bool) -> int:  # fmt: skip
    """Give the tag to the segment's current members (``add``), or take it from them; the
    number of persons whose tag changed. Members absorbed by a merge since the segment's last
    refresh hold no ids: they are skipped when adding (their survivor is a member from the
    next refresh on if the segment holds for them)."""
    members = segment_members("{tg_segment:UInt64}")
    side = "NOT IN" if add else "IN"
    params = {"project": project_id, "tg_tag": tag_id, "tg_segment": segment_id}
    with _WRITING:
        found = rows(store, f"SELECT person FROM ({members}) "  # noqa: S608
                     f"WHERE person {side} ({HOLDERS}) ORDER BY person", params)  # fmt: skip
        persons = [int(person) for (person,) in found]
        ids = first_ids(sessions, project_id, persons)
        if add:
            persons = [p for p in persons if p in ids]
        _write(store, project_id, tag_id, persons, ids, add)
    return len(persons)


def forget(store: EventStore, project_id: int, tag_id: int) -> None:
    """Drop a deleted tag's rows. Tag ids are never reused, so rows left behind are never read
    as another tag's: a failure is logged, not raised."""
    try:
        store.command("DELETE FROM person_tags WHERE project_id = {project:UInt32} "
                      "AND tag_id = {tg_tag:UInt64}", {"project": project_id, "tg_tag": tag_id})
    except Exception:
        log.warning("could not delete tag %s's rows from the event store", tag_id,
                    exc_info=True)  # fmt: skip
