"""The identity graph in memory: which person owns each distinct id, and what changed.

Segment semantics: ``identify`` links an anonymousId to a userId, ``alias`` links previousId to
userId, and a person owns every id connected to it by links. Linking two ids of two different
persons merges them; the older person (lower id) survives so that fewer ids change hands. Pure
code, no I/O: the repository loads it, feeds it messages, then persists ``changes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class LinkRecord(NamedTuple):
    """A NamedTuple, not a frozen dataclass: built once per new link, four times cheaper."""

    id_a: str
    id_b: str
    kind: str
    message_id: str


@dataclass(frozen=True)
class MergeRecord:
    link: LinkRecord
    survivor_id: int
    absorbed_id: int
    absorbed_anchor: str
    moved_ids: tuple[str, ...]


@dataclass
class Changes:
    """Everything the graph did since the last ``take_changes``, in the order it happened."""

    new_persons: list[int] = field(default_factory=list)
    assigned: dict[str, int] = field(default_factory=dict)  # distinct id -> its person now
    created: set[str] = field(default_factory=set)  # ids first seen in this window
    moved: set[str] = field(default_factory=set)  # ids whose person changed (need overrides)
    links: list[LinkRecord] = field(default_factory=list)
    merges: list[MergeRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_persons or self.assigned or self.links)


def link_key(id_a: str, id_b: str) -> tuple[str, str]:
    """Links are undirected; one key per pair."""
    return (id_a, id_b) if id_a <= id_b else (id_b, id_a)


class IdentityGraph:
    def __init__(
        self,
        person_of: dict[str, int] | None = None,
        known_links: set[tuple[str, str]] | None = None,
        next_person_id: int = 1,
    ) -> None:
        self.person_of: dict[str, int] = dict(person_of or {})
        self._members: dict[int, set[str]] = {}
        for distinct_id, person in self.person_of.items():
            self._members.setdefault(person, set()).add(distinct_id)
        self._known_links = set(known_links or ())
        self._next_person_id = next_person_id
        self.changes = Changes()

    def reserve_person_ids(self, last_taken: int) -> None:
        """Never hand out a person number at or below ``last_taken`` (persons are numbered
        across all projects, so other projects' writers take numbers too)."""
        self._next_person_id = max(self._next_person_id, last_taken + 1)

    def members(self, person_id: int) -> frozenset[str]:
        return frozenset(self._members.get(person_id, ()))

    def person_for(self, distinct_id: str) -> int:
        """The person owning ``distinct_id``, created on first sight."""
        person = self.person_of.get(distinct_id)
        if person is None:
            person = self._next_person_id
            self._next_person_id += 1
            self.changes.new_persons.append(person)
            self._assign(distinct_id, person)
        return person

    def link(self, id_a: str, id_b: str, kind: str, message_id: str) -> MergeRecord | None:
        """Say that two ids are one person; returns the merge if two persons became one."""
        if id_a == id_b:
            self.person_for(id_a)
            return None
        key = link_key(id_a, id_b)
        if key in self._known_links:
            return None
        self._known_links.add(key)
        record = LinkRecord(key[0], key[1], kind, message_id)
        self.changes.links.append(record)
        person_a, person_b = self.person_of.get(id_a), self.person_of.get(id_b)
        if person_a is None and person_b is None:
            self._assign(id_b, self.person_for(id_a))
            return None
        if person_a is None or person_b is None:
            known, new = (id_b, id_a) if person_a is None else (id_a, id_b)
            self._assign(new, self.person_of[known])
            return None
        if person_a == person_b:
            return None
        return self._merge(record, id_a, id_b)

    def _merge(self, record: LinkRecord, id_a: str, id_b: str) -> MergeRecord:
        person_a, person_b = self.person_of[id_a], self.person_of[id_b]
        survivor, absorbed = sorted((person_a, person_b))
        anchor = id_a if person_a == absorbed else id_b
        moved = tuple(sorted(self._members.get(absorbed, ())))
        for distinct_id in moved:
            self._assign(distinct_id, survivor)
        merge = MergeRecord(record, survivor, absorbed, anchor, moved)
        self.changes.merges.append(merge)
        return merge

    def _assign(self, distinct_id: str, person_id: int) -> None:
        previous = self.person_of.get(distinct_id)
        if previous == person_id:
            return
        if previous is None:
            self.changes.created.add(distinct_id)
        else:
            self._members[previous].discard(distinct_id)
            if not self._members[previous]:
                del self._members[previous]
            self.changes.moved.add(distinct_id)
        self.person_of[distinct_id] = person_id
        self._members.setdefault(person_id, set()).add(distinct_id)
        self.changes.assigned[distinct_id] = person_id

    def take_changes(self) -> Changes:
        changes, self.changes = self.changes, Changes()
        return changes
