"""Identity persisted: the graph loaded from the metadata store, changes written back.

Events are stamped with their person at ingestion. Whenever a distinct id changes person (a merge
or an undone merge) its current person is written to the event store's ``person_overrides``, so
every query resolves ``if(override, override, stamped)`` exactly, whatever happened since.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Iterable

import pyarrow as pa
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import Conflict, NotFound
from userops.identity.graph import Changes, IdentityGraph
from userops.meta.models import DistinctId, IdentityLink, Merge, Person, utcnow
from userops.store import EventStore


def load_graph(sessions: sessionmaker[Session], project_id: int) -> IdentityGraph:
    with sessions() as session:
        person_of = dict(
            session.execute(
                select(DistinctId.distinct_id, DistinctId.person_id).where(
                    DistinctId.project_id == project_id
                )
            ).tuples().all()
        )
        links = set(
            session.execute(
                select(IdentityLink.id_a, IdentityLink.id_b).where(
                    IdentityLink.project_id == project_id, IdentityLink.undone_at.is_(None)
                )
            ).tuples().all()
        )
        last_person = session.scalar(select(func.max(Person.id))) or 0
    return IdentityGraph(person_of, links, next_person_id=last_person + 1)


def write_overrides(
    store: EventStore, project_id: int, assignments: Iterable[tuple[str, int]]
) -> None:
    pairs = list(assignments)
    if not pairs:
        return
    version = time.time_ns()
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


def persist(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, changes: Changes
) -> None:
    """Write one window of graph changes; overrides go to the event store after the commit."""
    if not changes:
        return
    with sessions.begin() as session:
        if changes.new_persons:
            session.execute(
                insert(Person),
                [{"id": p, "project_id": project_id} for p in changes.new_persons],
            )
        created = [
            {"project_id": project_id, "distinct_id": d, "person_id": changes.assigned[d]}
            for d in changes.created
        ]
        if created:
            session.execute(insert(DistinctId), created)
        for distinct_id in changes.moved - changes.created:
            session.execute(
                update(DistinctId)
                .where(DistinctId.project_id == project_id, DistinctId.distinct_id == distinct_id)
                .values(person_id=changes.assigned[distinct_id])
            )
        _persist_links_and_merges(session, project_id, changes)
    write_overrides(store, project_id, ((d, changes.assigned[d]) for d in changes.moved))


def _persist_links_and_merges(session: Session, project_id: int, changes: Changes) -> None:
    if not changes.links:
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
    link_ids = {(link.id_a, link.id_b): row_id for link, row_id in zip(changes.links, inserted, strict=True)}
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


def _components(ids: set[str], edges: list[tuple[str, str]]) -> list[set[str]]:
    adjacency: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        if a in adjacency and b in adjacency:
            adjacency[a].append(b)
            adjacency[b].append(a)
    seen: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(ids):
        if start in seen:
            continue
        component = {start}
        queue = deque([start])
        while queue:
            for neighbour in adjacency[queue.popleft()]:
                if neighbour not in component:
                    component.add(neighbour)
                    queue.append(neighbour)
        seen |= component
        components.append(component)
    return components


def unmerge(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, merge_id: int
) -> tuple[Merge, set[str]]:
    """Undo a merge: the absorbed person comes back with the ids on its side of the link.

    Refused (nothing changes) when other links still join the two sides: those merges must be
    undone first, and the error names them.
    """
    with sessions.begin() as session:
        merge = session.get(Merge, merge_id)
        if merge is None or merge.project_id != project_id:
            raise NotFound(f"no merge #{merge_id} in this project", field="merge_id")
        if merge.undone_at is not None:
            raise Conflict(f"merge #{merge_id} was already undone at {merge.undone_at:%Y-%m-%d %H:%M:%S}")
        ids = set(
            session.scalars(
                select(DistinctId.distinct_id).where(
                    DistinctId.project_id == project_id,
                    DistinctId.person_id == merge.survivor_id,
                )
            )
        )
        links = list(
            session.execute(
                select(IdentityLink.id, IdentityLink.id_a, IdentityLink.id_b).where(
                    IdentityLink.project_id == project_id,
                    IdentityLink.undone_at.is_(None),
                    IdentityLink.id != merge.link_id,
                    IdentityLink.id_a.in_(ids),
                )
            ).tuples().all()
        )
        parts = _components(ids, [(a, b) for _, a, b in links])
        absorbed_side = next((p for p in parts if merge.absorbed_anchor in p), set())
        if not absorbed_side or len(absorbed_side) == len(ids):
            raise Conflict(
                f"merge #{merge_id} cannot be undone alone: later links still join "
                f"{merge.absorbed_anchor!r} to person {merge.survivor_id}; undo the later merges "
                "of this person first (`userops persons show`)"
            )
        now = utcnow()
        session.execute(update(IdentityLink).where(IdentityLink.id == merge.link_id).values(undone_at=now))
        session.execute(update(Merge).where(Merge.id == merge_id).values(undone_at=now))
        session.execute(update(Person).where(Person.id == merge.absorbed_id).values(merged_into=None))
        session.execute(
            update(DistinctId)
            .where(DistinctId.project_id == project_id, DistinctId.distinct_id.in_(absorbed_side))
            .values(person_id=merge.absorbed_id)
        )
    write_overrides(store, project_id, ((d, merge.absorbed_id) for d in sorted(absorbed_side)))
    return merge, absorbed_side


def person_of(sessions: sessionmaker[Session], project_id: int, any_id: str) -> int:
    """A person by its number or by any of its distinct ids."""
    with sessions() as session:
        found = session.scalar(
            select(DistinctId.person_id).where(
                DistinctId.project_id == project_id, DistinctId.distinct_id == any_id
            )
        )
        if found is None and any_id.isdigit():
            person = session.get(Person, int(any_id))
            if person is not None and person.project_id == project_id:
                found = person.merged_into or person.id
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
