"""Identity persisted: the graph loaded from the metadata store, changes written back.

Events are stamped with their person at ingestion. Whenever a distinct id changes person (a merge
or an undone merge) its current person is written to the event store's ``person_overrides``, so
every query resolves ``if(override, override, stamped)`` exactly, whatever happened since.

An undone link stays undone: the graph keeps knowing the pair, so a later message carrying the
same two ids (SDKs send anonymousId and userId on every call) does not merge them again.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import cast

import pyarrow as pa
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import Conflict, NotFound
from userops.identity.graph import Changes, IdentityGraph
from userops.meta.bulk import insert_rows
from userops.meta.models import DistinctId, IdentityLink, Merge, Person, utcnow
from userops.store import EventStore

# Bumped (in this process) whenever a project's identities change outside its ingestor, so a
# running ``Ingestor`` knows to reload its graph. One process owns a data directory (DESIGN.md),
# so in-process bookkeeping sees every such change.
_generations: dict[tuple[str, int], int] = {}
_generations_lock = threading.Lock()


def _store_key(sessions: sessionmaker[Session]) -> str:
    bind = sessions.kw.get("bind")
    return str(bind.url) if bind is not None else str(id(sessions))


def graph_generation(sessions: sessionmaker[Session], project_id: int) -> int:
    """Changes whenever ``unmerge`` changed the project's identities since it was last read."""
    with _generations_lock:
        return _generations.get((_store_key(sessions), project_id), 0)


def _bump_generation(sessions: sessionmaker[Session], project_id: int) -> None:
    key = (_store_key(sessions), project_id)
    with _generations_lock:
        _generations[key] = _generations.get(key, 0) + 1


def last_person_id(sessions: sessionmaker[Session]) -> int:
    """The highest person number taken in any project (persons are numbered globally)."""
    with sessions() as session:
        return session.scalar(select(func.max(Person.id))) or 0


# Core tables, for bulk inserts at the driver (meta/bulk.py).
PERSONS = cast(Table, Person.__table__)
DISTINCT_IDS = cast(Table, DistinctId.__table__)
LINKS = cast(Table, IdentityLink.__table__)


def load_graph(sessions: sessionmaker[Session], project_id: int) -> IdentityGraph:
    with sessions() as session:
        person_of: dict[str, int] = {
            distinct_id: person_id
            for distinct_id, person_id in session.execute(
                select(DistinctId.distinct_id, DistinctId.person_id).where(
                    DistinctId.project_id == project_id
                )
            )
        }
        # Undone links too: the operator said these two are not one person, and that stands.
        links: set[tuple[str, str]] = {
            (id_a, id_b)
            for id_a, id_b in session.execute(
                select(IdentityLink.id_a, IdentityLink.id_b).where(
                    IdentityLink.project_id == project_id
                )
            )
        }
        last_person = session.scalar(select(func.max(Person.id))) or 0
    return IdentityGraph(person_of, links, next_person_id=last_person + 1)


_version_lock = threading.Lock()
_last_version = 0


def _next_version() -> int:
    """Override versions strictly increase in this process, even if the wall clock steps back
    or two writes land in the same nanosecond (argMax on a tie would pick either)."""
    global _last_version
    with _version_lock:
        _last_version = max(time.time_ns(), _last_version + 1)
        return _last_version


def write_overrides(
    store: EventStore, project_id: int, assignments: Iterable[tuple[str, int]]
) -> None:
    pairs = list(assignments)
    if not pairs:
        return
    version = _next_version()
    store.insert_arrow(
        "person_overrides",
        pa.table(
            {
                "project_id": pa.array([project_id] * len(pairs), pa.uint32()),
                "distinct_id": pa.array([d for d, _ in pairs], pa.string()),
                "person_id": pa.array([p for _, p in pairs], pa.uint64()),
                "version": pa.array([version] * len(pairs), pa.uint64()),
            }
        ),
    )


_IN_CHUNK = 1000


def persist(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, changes: Changes
) -> None:
    """Write one window of graph changes; overrides go to the event store after the commit."""
    if not changes:
        return
    with sessions.begin() as session:
        now = utcnow()
        insert_rows(session, PERSONS, ["id"], [(p,) for p in changes.new_persons],
                    {"project_id": project_id, "created_at": now})  # fmt: skip
        assigned = changes.assigned
        insert_rows(
            session,
            DISTINCT_IDS,
            ["distinct_id", "person_id"],
            [(d, assigned[d]) for d in changes.created],
            {"project_id": project_id},
        )
        # One UPDATE per target person and chunk, not one per id: a merge can move many ids.
        by_person: dict[int, list[str]] = {}
        for distinct_id in sorted(changes.moved - changes.created):
            by_person.setdefault(changes.assigned[distinct_id], []).append(distinct_id)
        for person_id, moved in by_person.items():
            for start in range(0, len(moved), _IN_CHUNK):
                session.execute(
                    update(DistinctId)
                    .where(
                        DistinctId.project_id == project_id,
                        DistinctId.distinct_id.in_(moved[start : start + _IN_CHUNK]),
                    )
                    .values(person_id=person_id)
                )
        _persist_links_and_merges(session, project_id, changes)
    write_overrides(store, project_id, ((d, changes.assigned[d]) for d in changes.moved))


def _persist_links_and_merges(session: Session, project_id: int, changes: Changes) -> None:
    if not changes.links:
        return
    if not changes.merges:  # no merge needs the new links' row ids: the bulk path
        insert_rows(
            session,
            LINKS,
            ["id_a", "id_b", "kind", "message_id"],
            [(link.id_a, link.id_b, link.kind, link.message_id) for link in changes.links],
            {"project_id": project_id, "created_at": utcnow()},
        )
        return
    inserted = session.scalars(
        insert(IdentityLink).returning(IdentityLink.id, sort_by_parameter_order=True),
        [
            {
                "project_id": project_id,
                "id_a": link.id_a,
                "id_b": link.id_b,
                "kind": link.kind,
                "message_id": link.message_id,
            }
            for link in changes.links
        ],
    ).all()
    link_ids = {
        (link.id_a, link.id_b): row_id
        for link, row_id in zip(changes.links, inserted, strict=True)
    }
    for merge in changes.merges:
        session.add(
            Merge(
                project_id=project_id,
                link_id=link_ids[(merge.link.id_a, merge.link.id_b)],
                survivor_id=merge.survivor_id,
                absorbed_id=merge.absorbed_id,
                absorbed_anchor=merge.absorbed_anchor,
                moved_ids=list(merge.moved_ids),
                kind=merge.link.kind,
                message_id=merge.link.message_id,
            )
        )
        session.execute(
            update(Person).where(Person.id == merge.absorbed_id).values(
                merged_into=merge.survivor_id
            )
        )


def _adjacency(
    ids: set[str], edges: Iterable[tuple[int, str, str]]
) -> dict[str, list[tuple[str, int]]]:
    adjacency: dict[str, list[tuple[str, int]]] = {i: [] for i in ids}
    for link_id, a, b in edges:
        if a in adjacency and b in adjacency:
            adjacency[a].append((b, link_id))
            adjacency[b].append((a, link_id))
    return adjacency


def _reach(adjacency: dict[str, list[tuple[str, int]]], start: str) -> dict[str, tuple[str, int]]:
    """Every id reachable from ``start``, each with the (id, link) it was reached through."""
    came_from: dict[str, tuple[str, int]] = {start: (start, 0)}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for neighbour, link_id in adjacency[here]:
            if neighbour not in came_from:
                came_from[neighbour] = (here, link_id)
                queue.append(neighbour)
    return came_from


def unmerge(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, merge_id: int
) -> tuple[Merge, set[str]]:
    """Undo a merge: the absorbed person comes back with the ids on its side of the link.

    The ids are split where they are now: the person currently holding the merge's ids (the
    survivor, or whoever absorbed the survivor since) keeps the side away from the absorbed
    anchor. Refused (nothing changes) when other links still join the two sides; the error names
    the links (and their merges) on a path that still joins them.
    """
    with sessions.begin() as session:
        merge = session.get(Merge, merge_id)
        if merge is None or merge.project_id != project_id:
            raise NotFound(f"no merge #{merge_id} in this project", field="merge_id")
        if merge.undone_at is not None:
            raise Conflict(
                f"merge #{merge_id} was already undone at {merge.undone_at:%Y-%m-%d %H:%M:%S}"
            )
        link = session.get(IdentityLink, merge.link_id)
        owner = session.scalar(
            select(DistinctId.person_id).where(
                DistinctId.project_id == project_id,
                DistinctId.distinct_id == merge.absorbed_anchor,
            )
        )
        if link is None or owner is None:
            raise Conflict(f"merge #{merge_id}: its link or its ids are missing from the store")
        other_end = link.id_b if link.id_a == merge.absorbed_anchor else link.id_a
        ids = set(
            session.scalars(
                select(DistinctId.distinct_id).where(
                    DistinctId.project_id == project_id, DistinctId.person_id == owner
                )
            )
        )
        edges = [
            (link_id, a, b)
            for link_id, a, b in session.execute(
                select(IdentityLink.id, IdentityLink.id_a, IdentityLink.id_b).where(
                    IdentityLink.project_id == project_id,
                    IdentityLink.undone_at.is_(None),
                    IdentityLink.id != merge.link_id,
                    IdentityLink.id_a.in_(ids),
                )
            )
        ]
        reached = _reach(_adjacency(ids, edges), merge.absorbed_anchor)
        if other_end in reached:
            raise Conflict(_still_joined(session, merge, other_end, reached, owner))
        absorbed_side = set(reached)
        now = utcnow()
        session.execute(
            update(IdentityLink).where(IdentityLink.id == merge.link_id).values(undone_at=now)
        )
        session.execute(update(Merge).where(Merge.id == merge_id).values(undone_at=now))
        session.execute(
            update(Person).where(Person.id == merge.absorbed_id).values(merged_into=None)
        )
        # Persons absorbed by other merges whose ids came back with this side are now in the
        # restored person.
        session.execute(
            update(Person)
            .where(
                Person.id.in_(
                    select(Merge.absorbed_id).where(
                        Merge.project_id == project_id,
                        Merge.undone_at.is_(None),
                        Merge.absorbed_anchor.in_(absorbed_side),
                    )
                )
            )
            .values(merged_into=merge.absorbed_id)
        )
        session.execute(
            update(DistinctId)
            .where(DistinctId.project_id == project_id, DistinctId.distinct_id.in_(absorbed_side))
            .values(person_id=merge.absorbed_id)
        )
    write_overrides(store, project_id, ((d, merge.absorbed_id) for d in sorted(absorbed_side)))
    _bump_generation(sessions, project_id)
    return merge, absorbed_side


def _still_joined(
    session: Session,
    merge: Merge,
    other_end: str,
    reached: dict[str, tuple[str, int]],
    owner: int,
) -> str:
    path_links: list[int] = []
    here = other_end
    while here != merge.absorbed_anchor:
        here, link_id = reached[here]
        path_links.append(link_id)
    found = session.execute(
        select(IdentityLink.id, IdentityLink.id_a, IdentityLink.id_b).where(
            IdentityLink.id.in_(path_links)
        )
    )
    pairs = {link_id: f"{a}-{b}" for link_id, a, b in found}
    merge_of = {
        link_id: merge_id
        for merge_id, link_id in session.execute(
            select(Merge.id, Merge.link_id).where(
                Merge.link_id.in_(path_links), Merge.undone_at.is_(None)
            )
        )
    }
    steps = ", ".join(
        pairs[i] + (f" (merge #{merge_of[i]})" if i in merge_of else "") for i in path_links
    )
    return (
        f"merge #{merge.id} cannot be undone alone: other links still join "
        f"{merge.absorbed_anchor!r} to {other_end!r} in person {owner}: {steps}; "
        "undo those merges first (`userops persons show`)"
    )


def person_of(sessions: sessionmaker[Session], project_id: int, any_id: str) -> int:
    """A person by its number or by any of its distinct ids.

    An absorbed person's number leads to whoever holds its ids now: the person currently owning
    the anchor of the merge that absorbed it (the survivor may itself have been absorbed since).
    """
    with sessions() as session:
        found = session.scalar(
            select(DistinctId.person_id).where(
                DistinctId.project_id == project_id, DistinctId.distinct_id == any_id
            )
        )
        if found is None and any_id.isdigit():
            person = session.get(Person, int(any_id))
            if person is not None and person.project_id == project_id:
                found = person.id
                if person.merged_into is not None:
                    anchor = session.scalar(
                        select(Merge.absorbed_anchor)
                        .where(Merge.absorbed_id == person.id, Merge.undone_at.is_(None))
                        .order_by(Merge.id.desc())
                        .limit(1)
                    )
                    holder = None
                    if anchor is not None:
                        holder = session.scalar(
                            select(DistinctId.person_id).where(
                                DistinctId.project_id == project_id,
                                DistinctId.distinct_id == anchor,
                            )
                        )
                    found = holder or person.merged_into
    if found is None:
        raise NotFound(f"no person with id or distinct id {any_id!r}", field="person")
    return found


def person_ids(sessions: sessionmaker[Session], project_id: int, person_id: int) -> list[str]:
    with sessions() as session:
        return sorted(
            session.scalars(
                select(DistinctId.distinct_id).where(
                    DistinctId.project_id == project_id, DistinctId.person_id == person_id
                )
            )
        )


def merge_history(sessions: sessionmaker[Session], project_id: int, person_id: int) -> list[Merge]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Merge)
                .where(
                    Merge.project_id == project_id,
                    (Merge.survivor_id == person_id) | (Merge.absorbed_id == person_id),
                )
                .order_by(Merge.id)
            )
        )


def created_at(sessions: sessionmaker[Session], person_id: int) -> dt.datetime | None:
    with sessions() as session:
        person = session.get(Person, person_id)
        return person.created_at if person else None
