"""Identity resolution against a brute-force reference, on random Segment traffic.

Hypothesis writes random track / page / identify / alias calls over a small pool of anonymous ids
and user ids (so links collide and persons merge often), with tied timestamps and re-sent
messageIds, and feeds them through the real path: ``SegmentMessage`` -> ``message_columns`` ->
``Ingestor.ingest`` in random batches, sometimes through a fresh ``Ingestor`` that has to reload
the graph from the stores. Every stored event's person is then read back with the SQL every
analysis uses (``RESOLVED_EVENTS``) and compared with a plain union-find written here: two events
share a person iff their distinct ids are in one union-find set (partitions, never id numbers).

The second property undoes random merges with ``unmerge``: it must succeed exactly when the
merge's link is a bridge of the remaining link graph (else ``Conflict`` and nothing changes), and
the result must again match the union-find over the links not undone, also after more traffic.
An undone link stays undone: the same pair seen again in a later message is not linked again.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.config import load_settings
from userops.errors import Conflict
from userops.identity.repository import unmerge
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import DistinctId, IdentityLink, Merge, Project
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.schema.events import SegmentMessage, message_from_dict
from userops.store import rows

ANON_IDS = ("a0", "a1", "a2", "a3", "a4", "a5")
USER_IDS = ("u0", "u1", "u2", "u3", "u4")
BASE = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)
RECEIVED = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)

_project_names = itertools.count()


# --- random traffic -------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    type: str
    anonymous_id: str | None
    user_id: str | None
    previous_id: str | None
    second: int  # seconds after BASE: few values, so timestamps tie often
    message_ref: int  # which messageId: refs repeat, so some messages are re-sent


# Which ids a call carries: one id (no link) more often than both, so that many links are
# bridges (undoable) and many are not.
SHAPES = ("anon", "anon", "user", "user", "both")


@st.composite
def calls(draw: st.DrawFn) -> Call:
    kind = draw(st.sampled_from(("track", "track", "page", "identify", "identify", "alias")))
    shape = draw(st.sampled_from(SHAPES))
    anon = draw(st.sampled_from(ANON_IDS)) if shape in ("anon", "both") else None
    user = draw(st.sampled_from(USER_IDS)) if shape in ("user", "both") else None
    previous = None
    if kind == "alias":
        previous = draw(st.sampled_from(ANON_IDS + USER_IDS))
        user = user or draw(st.sampled_from(USER_IDS))
    return Call(kind, anon, user, previous, draw(st.integers(0, 4)), draw(st.integers(0, 40)))


def to_messages(batch: list[Call], prefix: str) -> list[SegmentMessage]:
    """The calls as the wire would carry them, validated like every ingested message."""
    messages = []
    for c in batch:
        record: dict[str, Any] = {
            "type": c.type,
            "event": "clicked" if c.type == "track" else None,
            "anonymousId": c.anonymous_id,
            "userId": c.user_id,
            "previousId": c.previous_id,
            "messageId": f"{prefix}{c.message_ref}",
            "timestamp": BASE + dt.timedelta(seconds=c.second),
            "traits": {"plan": f"p{c.second}"} if c.type == "identify" else None,
        }
        messages.append(message_from_dict({k: v for k, v in record.items() if v is not None}))
    return messages


# --- the reference ----------------------------------------------------------------------------


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def pairs_of(call: Call) -> list[tuple[str, str]]:
    """The id pairs a message says are one person (Segment semantics, as the brief states)."""
    found: list[tuple[str, str]] = []
    if call.type == "alias":
        assert call.previous_id is not None and call.user_id is not None
        found.append((call.previous_id, call.user_id))
    if call.anonymous_id and call.user_id:
        found.append((call.anonymous_id, call.user_id))
    return [tuple(sorted(p)) for p in found if p[0] != p[1]]  # type: ignore[misc]


def ids_of(call: Call) -> set[str]:
    return {i for i in (call.anonymous_id, call.user_id, call.previous_id) if i}


class Reference:
    """What the stores must say, computed from the calls alone."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.events: dict[str, str] = {}  # messageId -> distinct id, first occurrence wins
        self.ids: set[str] = set()
        self.links: set[tuple[str, str]] = set()
        self.undone: set[tuple[str, str]] = set()

    def add(self, batch: list[Call]) -> None:
        for call in batch:
            message_id = f"{self.prefix}{call.message_ref}"
            if message_id in self.events:
                continue  # a re-sent messageId: dropped, its links too
            self.events[message_id] = call.user_id or call.anonymous_id or ""
            self.ids |= ids_of(call)
            self.links |= {p for p in pairs_of(call) if p not in self.undone}

    def union_find(self, without: tuple[str, str] | None = None) -> UnionFind:
        uf = UnionFind()
        for i in self.ids:
            uf.find(i)
        for pair in self.links:
            if pair != without:
                uf.union(*pair)
        return uf

    def is_bridge(self, pair: tuple[str, str]) -> bool:
        uf = self.union_find(without=pair)
        return uf.find(pair[0]) != uf.find(pair[1])

    def undo(self, pair: tuple[str, str]) -> None:
        self.links.discard(pair)
        self.undone.add(pair)

    def event_partition(self) -> set[frozenset[str]]:
        uf = self.union_find()
        groups: dict[str, set[str]] = {}
        for message_id, distinct_id in self.events.items():
            groups.setdefault(uf.find(distinct_id), set()).add(message_id)
        return {frozenset(g) for g in groups.values()}

    def id_partition(self) -> set[frozenset[str]]:
        uf = self.union_find()
        groups: dict[str, set[str]] = {}
        for i in self.ids:
            groups.setdefault(uf.find(i), set()).add(i)
        return {frozenset(g) for g in groups.values()}


# --- what the stores say ------------------------------------------------------------------------


def stored_events(runtime: Runtime, project_id: int) -> list[tuple[str, str, int]]:
    return [
        (str(m), str(d), int(p))
        for m, d, p in rows(
            runtime.store,
            f"SELECT e.message_id, e.distinct_id, {RESOLVED_PERSON} "  # noqa: S608
            f"FROM {RESOLVED_EVENTS} WHERE e.project_id = {{project:UInt32}}",
            {"project": project_id},
        )
    ]


def stored_ids(runtime: Runtime, project_id: int) -> dict[str, int]:
    with runtime.sessions() as session:
        return dict(
            session.execute(
                select(DistinctId.distinct_id, DistinctId.person_id).where(
                    DistinctId.project_id == project_id
                )
            ).all()
        )


def active_merges(runtime: Runtime, project_id: int) -> list[tuple[int, tuple[str, str]]]:
    with runtime.sessions() as session:
        found = session.execute(
            select(Merge.id, IdentityLink.id_a, IdentityLink.id_b)
            .join(IdentityLink, IdentityLink.id == Merge.link_id)
            .where(Merge.project_id == project_id, Merge.undone_at.is_(None))
            .order_by(Merge.id)
        ).all()
        return [(merge_id, (a, b)) for merge_id, a, b in found]


def partition(pairs: Iterator[tuple[str, int]] | list[tuple[str, int]]) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for key, person in pairs:
        groups.setdefault(person, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def check_against(runtime: Runtime, project_id: int, reference: Reference) -> None:
    events = stored_events(runtime, project_id)
    message_ids = [m for m, _, _ in events]
    assert len(message_ids) == len(set(message_ids)), "a messageId was stored twice"
    assert {m: d for m, d, _ in events} == reference.events
    assert partition((m, p) for m, _, p in events) == reference.event_partition()
    ids = stored_ids(runtime, project_id)
    assert set(ids) == reference.ids
    assert partition(ids.items()) == reference.id_partition()
    # the event store (stamp + overrides) and the metadata store agree on every event's person
    for message_id, distinct_id, person in events:
        assert person == ids[distinct_id], (message_id, distinct_id)


# --- driving the real path ----------------------------------------------------------------------


@dataclass
class Feeder:
    runtime: Runtime
    project: Project
    reference: Reference
    ingestor: Ingestor | None = None

    def feed(self, batch: list[Call], fresh_ingestor: bool) -> None:
        if self.ingestor is None or fresh_ingestor:
            self.ingestor = Ingestor(self.runtime.sessions, self.runtime.store, self.project.id)
        messages = to_messages(batch, self.reference.prefix)
        table = message_columns(messages, self.project.id, RECEIVED)
        result = self.ingestor.ingest(table)
        before = len(self.reference.events)
        self.reference.add(batch)
        assert result.stored == len(self.reference.events) - before
        assert result.duplicates == len(batch) - result.stored


def split(items: list[Call], cuts: list[int]) -> list[list[Call]]:
    bounds = [0, *sorted({c % (len(items) + 1) for c in cuts}), len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@st.composite
def traffic(draw: st.DrawFn) -> list[Call]:
    """Random calls, often after single-id calls that give many ids their own person first, so
    that later links merge persons (and merges chain: a survivor absorbed in turn) often."""
    pool = draw(st.permutations(ANON_IDS + USER_IDS))
    first = [
        Call("page", i if i in ANON_IDS else None, i if i in USER_IDS else None, None, 0, 100 + n)
        for n, i in enumerate(pool[: draw(st.integers(0, len(pool)))])
    ]
    return first + draw(st.lists(calls(), min_size=1, max_size=35))
cut_points = st.lists(st.integers(0, 50), max_size=4)
fresh_flags = st.lists(st.booleans(), min_size=6, max_size=6)


def new_feeder(runtime: Runtime) -> Feeder:
    n = next(_project_names)
    project = create_project(runtime.sessions, f"prop{n}", "Asia/Shanghai")
    # Message ids are per project, so reusing the prefix in every project also checks isolation.
    return Feeder(runtime, project, Reference("m"))


def check_merges(
    feeder: Feeder, traffic_calls: list[Call], cuts: list[int], fresh: list[bool]
) -> None:
    batches = split(traffic_calls, cuts)
    for batch, fresh_ingestor in zip(batches, itertools.cycle(fresh), strict=False):
        feeder.feed(batch, fresh_ingestor)
    check_against(feeder.runtime, feeder.project.id, feeder.reference)


def check_unmerges(
    feeder: Feeder,
    traffic_calls: list[Call],
    later_calls: list[Call],
    fresh: list[bool],
    choose: Callable[[int], int],
    attempts: int,
) -> None:
    runtime, project_id, reference = feeder.runtime, feeder.project.id, feeder.reference
    feeder.feed(traffic_calls, fresh_ingestor=False)
    check_against(runtime, project_id, reference)
    undid = 0
    for _ in range(attempts):
        merges = active_merges(runtime, project_id)
        if not merges:
            break
        merge_id, pair = merges[choose(len(merges))]
        bridge = reference.is_bridge(pair)
        before = (stored_events(runtime, project_id), stored_ids(runtime, project_id))
        try:
            merge, moved = unmerge(runtime.sessions, runtime.store, project_id, merge_id)
        except Conflict:
            event("unmerge refused")
            assert not bridge, f"merge #{merge_id} over bridge {pair} was refused"
            after = (stored_events(runtime, project_id), stored_ids(runtime, project_id))
            assert sorted(after[0]) == sorted(before[0]) and after[1] == before[1]
            continue
        assert bridge, f"merge #{merge_id} undone though {pair} is not a bridge"
        event("unmerge done")
        uf = reference.union_find(without=pair)
        anchor_root = uf.find(merge.absorbed_anchor)
        assert moved == {i for i in reference.ids if uf.find(i) == anchor_root}
        reference.undo(pair)
        undid += 1
        check_against(runtime, project_id, reference)
        # the absorbed person is back under its own number, with exactly the anchor's side
        ids = stored_ids(runtime, project_id)
        assert {i for i, p in ids.items() if p == merge.absorbed_id} == moved
    # More traffic after the undo, through the running ingestor or a fresh one.
    feeder.feed(later_calls, fresh_ingestor=fresh[0])
    check_against(runtime, project_id, reference)


# --- the properties ---------------------------------------------------------------------------


def open_runtime(tmp_path: Path, meta_url: str) -> Runtime:
    return Runtime.open(
        load_settings({"data_dir": str(tmp_path / "data"), "database_url": meta_url}, environ={})
    )


def examples(meta_url: str, sqlite: int, postgres: int) -> Any:
    return settings(
        max_examples=postgres if meta_url else sqlite,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def test_resolved_persons_match_union_find(meta_url: str, tmp_path: Path) -> None:
    with open_runtime(tmp_path, meta_url) as runtime:

        @examples(meta_url, sqlite=80, postgres=25)
        @given(traffic(), cut_points, fresh_flags)
        def prop(traffic_calls: list[Call], cuts: list[int], fresh: list[bool]) -> None:
            check_merges(new_feeder(runtime), traffic_calls, cuts, fresh)

        prop()


def test_unmerge_matches_union_find_without_the_link(meta_url: str, tmp_path: Path) -> None:
    with open_runtime(tmp_path, meta_url) as runtime:

        @examples(meta_url, sqlite=60, postgres=20)
        @given(traffic(), st.lists(calls(), max_size=10), fresh_flags, st.data(), st.integers(1, 5))
        def prop(
            traffic_calls: list[Call],
            later_calls: list[Call],
            fresh: list[bool],
            data: st.DataObject,
            attempts: int,
        ) -> None:
            def choose(n: int) -> int:
                return data.draw(st.integers(0, n - 1), label="merge")

            check_unmerges(new_feeder(runtime), traffic_calls, later_calls, fresh, choose, attempts)

        prop()


@pytest.mark.parametrize("fresh", [False, True])
def test_resend_after_unmerge_does_not_merge_again(runtime: Runtime, fresh: bool) -> None:
    """The case the property found first, written out: undo, then the same pair again."""
    feeder = new_feeder(runtime)
    first = [
        Call("track", "a0", None, None, 0, 1),
        Call("track", None, "u0", None, 0, 4),
        Call("identify", "a0", "u0", None, 1, 2),
    ]
    feeder.feed(first, fresh_ingestor=False)
    [(merge_id, pair)] = active_merges(runtime, feeder.project.id)
    unmerge(runtime.sessions, runtime.store, feeder.project.id, merge_id)
    feeder.reference.undo(pair)
    check_against(runtime, feeder.project.id, feeder.reference)
    # The SDK keeps sending both ids on later calls: the undo stands. A new device of u0 joins
    # u0's person, not a0's (the running ingestor must not keep its graph from before the undo).
    feeder.feed(
        [Call("track", "a0", "u0", None, 2, 3), Call("identify", "a1", "u0", None, 2, 5)],
        fresh_ingestor=fresh,
    )
    check_against(runtime, feeder.project.id, feeder.reference)
    assert feeder.reference.id_partition() == {frozenset({"a0"}), frozenset({"a1", "u0"})}
