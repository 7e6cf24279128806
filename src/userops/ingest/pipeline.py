"""The one write path for events: dedupe by messageId, resolve identity, stamp, store.

Bulk import and the HTTP API both hand validated rows (``rows.message_columns``) to
``Ingestor.ingest``. Order matters and is kept: identity is resolved message by message, so an
``identify`` affects the events after it, and events before it are fixed by overrides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from userops.identity.graph import IdentityGraph
from userops.identity.repository import graph_generation, last_person_id, load_graph, persist
from userops.store import EventStore


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int


def new_rows(
    store: EventStore,
    project_id: int,
    message_ids: pa.Array,
    pending: pa.Array | None = None,
    since: dt.datetime | None = None,
) -> pa.Array:
    """Row numbers to keep: the first row of each messageId the project has not stored yet
    (received ``since`` then, when given: the dedupe window), nor is about to store
    (``pending``: a batch prepared and not yet written)."""
    batch = pa.table({"message_id": message_ids,
                      "row": pa.array(np.arange(len(message_ids), dtype=np.int64))})  # fmt: skip
    first = _first_rows(batch, ["message_id"])
    window = "" if since is None else "AND received_at >= {since:DateTime64(3, 'UTC')} "
    stored = store.arrow(
        "SELECT DISTINCT message_id FROM events WHERE project_id = {project:UInt32} "  # noqa: S608 - code, not input
        f"{window}AND message_id IN (SELECT message_id FROM input_rows)",
        {"project": project_id, "since": since} if since else {"project": project_id},
        input_rows=batch.select(["message_id"]),
    ).column(0)
    for known in (stored, pending):
        if known is not None and len(known):
            first = first.filter(pc.invert(pc.is_in(batch.column("message_id").take(first), known)))
    return first.sort()


def _first_rows(table: pa.Table, keys: list[str]) -> pa.Array:
    """Row numbers of the first row of each distinct combination of ``keys`` (a hash group-by)."""
    return table.group_by(keys, use_threads=False).aggregate([("row", "min")]).column("row_min")


def resolve_persons(graph: IdentityGraph, table: pa.Table) -> pa.Array:
    """Apply the batch's links in message order and return the person each event is stamped with.

    ``alias`` links previousId to userId; every message carrying both anonymousId and userId
    (``identify``, ``track``, ..., and an ``alias`` sent with its anonymousId) links those two.

    Only rows that can change the graph are visited, in order: the first row of each distinct
    link and the first row of each distinct id. Every other row would repeat a known link or look
    up a known id, so the graph ends the same and person numbers are handed out in the same order
    as a row-by-row pass. Events are stamped with the person their id belongs to after the batch;
    ids that changed person are in ``person_overrides`` either way, so resolved answers agree.
    """
    kind, anonymous, user = (table.column(name) for name in ("type", "anonymous_id", "user_id"))
    indexed = table.select(["type", "distinct_id", "anonymous_id", "user_id", "previous_id"])
    indexed = indexed.append_column("row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    links = pc.or_(pc.equal(kind, "alias"), pc.and_(pc.not_equal(anonymous, ""),
                                                   pc.not_equal(user, "")))  # fmt: skip
    link_rows = _first_rows(
        indexed.filter(links), ["type", "anonymous_id", "user_id", "previous_id"]
    ).to_numpy()
    # Codes number the distinct ids in order of first appearance; ids the graph already knows
    # cannot change it by being looked up.
    encoded = table.column("distinct_id").combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    distinct_ids = encoded.dictionary.to_pylist()
    _, first_row_of_code = np.unique(codes, return_index=True)
    person_of = graph.person_of
    new_codes = [code for code, p in enumerate(map(person_of.get, distinct_ids)) if p is None]
    visit = pa.array(np.union1d(link_rows, first_row_of_code[new_codes]))
    visited = indexed.take(visit)
    person_for = graph.person_for
    for row_kind, distinct_id, anonymous_id, user_id, previous_id, message_id in zip(
        *(visited.column(name).to_pylist() for name in indexed.column_names[:5]),
        table.column("message_id").take(visit).to_pylist(),
        strict=True,
    ):
        if row_kind == "alias":
            graph.link(previous_id, user_id, "alias", message_id)
        if anonymous_id and user_id:
            graph.link(anonymous_id, user_id, row_kind, message_id)
        person_for(distinct_id)
    persons = pa.array(list(map(person_of.__getitem__, distinct_ids)), pa.uint64())
    return persons.take(encoded.indices)


# A batch whose new person numbers were taken meanwhile by another project's writer is resolved
# again on a freshly loaded graph, this many times at most.
ATTEMPTS = 3


class Ingestor:
    """Holds one project's identity graph across batches; one writer per project at a time.

    The graph is reloaded from the metadata store when it may no longer match it: after
    ``unmerge`` changed the project's identities, or after a batch failed half-way (the
    graph had applied links that were never committed).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: EventStore,
        project_id: int,
        dedupe_window: dt.timedelta | None = None,
    ) -> None:
        """``dedupe_window``: how far back a re-sent messageId is found (None: all time, as
        bulk import does, so re-importing an old file adds nothing)."""
        self._sessions = sessions
        self._store = store
        self._project_id = project_id
        self._dedupe_window = dedupe_window
        self._generation = -1
        self._reload()

    def _reload(self) -> None:
        self._generation = -1  # stays stale if loading fails
        generation = graph_generation(self._sessions, self._project_id)
        self.graph = load_graph(self._sessions, self._project_id)
        self._generation = generation

    def _resolve_and_persist(self, table: pa.Table) -> pa.Array:
        for attempt in range(1, ATTEMPTS + 1):
            if self._generation != graph_generation(self._sessions, self._project_id):
                self._reload()
            self.graph.reserve_person_ids(last_person_id(self._sessions))
            try:
                persons = resolve_persons(self.graph, table)
                persist(self._sessions, self._store, self._project_id, self.graph.take_changes())
            except IntegrityError:
                self._generation = -1
                if attempt == ATTEMPTS:
                    raise
                continue
            except BaseException:
                self._generation = -1
                raise
            return persons
        raise AssertionError("unreachable")

    def dedupe(self, table: pa.Table, pending: pa.Array | None = None) -> tuple[pa.Table, int]:
        """The rows to store (first of each new messageId) and how many were duplicates."""
        if table.num_rows == 0:
            return table, 0
        ids = table.column("message_id").combine_chunks()
        since = None
        if self._dedupe_window is not None:
            since = dt.datetime.now(dt.UTC) - self._dedupe_window
        keep = new_rows(self._store, self._project_id, ids, pending, since)
        duplicates = table.num_rows - len(keep)
        return (table.take(keep) if duplicates else table), duplicates

    def stamp(self, table: pa.Table) -> pa.Table:
        """Resolve and persist identity; the rows with their ``person_id``, ready to write."""
        if table.num_rows == 0:
            return table
        return table.append_column("person_id", self._resolve_and_persist(table))

    def write(self, stamped: pa.Table) -> None:
        if stamped.num_rows:
            self._store.insert_arrow("events", stamped)

    def ingest(self, table: pa.Table) -> IngestResult:
        table, duplicates = self.dedupe(table)
        stamped = self.stamp(table)
        self.write(stamped)
        return IngestResult(stamped.num_rows, duplicates)
