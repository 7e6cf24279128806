"""Segments that refer to other segments: inlined before compiling, cycles refused.

The caller passes a ``SegmentResolver``: given a segment id it returns that segment's
definition (typed, or as the JSON data ``parse_definition`` reads), which is compiled inline,
or a fixed list of person ids (membership stored elsewhere), or None if there is no such
segment. ``expand`` replaces every ``{"kind": "segment", "id": n}`` by what the resolver gives,
following references inside referenced definitions, and refuses a chain that comes back to a
segment already on it (naming the chain), an unknown segment and a definition that grows past
``MAX_EXPANDED`` conditions once inlined. Errors name the field of the definition being
compiled, the reference that leads there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from userops.errors import BadRequest
from userops.segments.spec import (
    MAX_DEPTH,
    MAX_EXPANDED,
    And,
    Condition,
    Definition,
    Not,
    Or,
    SegmentRef,
    bad,
    children,
    parse_definition,
)

MAX_NESTING = 4 * MAX_DEPTH  # and / or / not levels once referenced definitions are inlined


@dataclass(frozen=True)
class ResolvedIds:
    """A referenced segment's members as the resolver gave them (person ids)."""

    segment_id: int
    ids: Sequence[int]


class SegmentResolver(Protocol):
    def __call__(self, segment_id: int) -> Definition | Mapping[str, Any] | Sequence[int] | None:
        """Segment ``segment_id``'s definition, its members' person ids, or None if unknown."""
        ...


BranchOp = Literal["and", "or", "not"]


@dataclass(frozen=True)
class Branch:
    """``and`` / ``or`` / ``not`` (one child) of expanded nodes."""

    op: BranchOp
    children: tuple[Expanded, ...]


# A definition with its and / or / not as Branch and its SegmentRef conditions replaced by the
# referenced definitions, expanded, or their ResolvedIds.
Expanded = Branch | Condition | ResolvedIds


@dataclass
class _Expander:
    resolver: SegmentResolver | None
    conditions: int = 0
    parsed: dict[int, Definition | ResolvedIds] = field(default_factory=dict)

    def node(self, node: Definition, chain: tuple[int, ...], outer: tuple[str | int, ...] | None,
             path: tuple[str | int, ...], depth: int) -> Expanded:  # fmt: skip
        """``node`` expanded. ``path`` is its place in the root definition while ``outer`` is
        None; inside a referenced segment, ``outer`` is the root's reference leading there."""
        where = path if outer is None else outer
        if depth > MAX_NESTING:
            raise bad(where, f"segments nested deeper than {MAX_NESTING} levels, with the "
                             "segments they refer to")  # fmt: skip
        if isinstance(node, And | Or | Not):
            op: BranchOp = "and" if isinstance(node, And) else "or" if isinstance(node, Or) \
                else "not"  # fmt: skip
            return Branch(op, tuple(self.node(child, chain, outer, (*path, *sub), depth + 1)
                                    for sub, child in children(node)))  # fmt: skip
        self.conditions += 1
        if self.conditions > MAX_EXPANDED:
            raise bad(where, f"more than {MAX_EXPANDED} conditions with the segments it "
                             "refers to")  # fmt: skip
        if not isinstance(node, SegmentRef):
            return node
        if node.id in chain:
            names = " -> ".join(str(n) for n in (*chain, node.id))
            raise bad((*where, "id"), f"segments refer to each other in a cycle: {names}")
        target = self.resolve(node.id, (*where, "id"))
        if isinstance(target, ResolvedIds):
            return target
        return self.node(target, (*chain, node.id), where, where, depth + 1)

    def resolve(self, segment_id: int, where: tuple[str | int, ...]) -> Definition | ResolvedIds:
        if segment_id in self.parsed:
            return self.parsed[segment_id]
        found = None if self.resolver is None else self.resolver(segment_id)
        if found is None:
            raise bad(where, f"segment {segment_id} does not exist")
        target: Definition | ResolvedIds
        if isinstance(found, BaseModel):
            target = found
        elif isinstance(found, Mapping):
            try:
                target = parse_definition(found)
            except BadRequest as exc:
                raise bad(where, f"segment {segment_id}'s {exc.message}") from None
        else:
            target = ResolvedIds(segment_id, tuple(int(person) for person in found))
        self.parsed[segment_id] = target
        return target


def expand(definition: Definition, resolver: SegmentResolver | None = None,
           segment_id: int | None = None) -> Expanded:  # fmt: skip
    """``definition`` with every segment it refers to inlined; ``segment_id`` is its own id
    when it is a saved segment, so that a reference back to it is a cycle."""
    chain = () if segment_id is None else (segment_id,)
    return _Expander(resolver).node(definition, chain, None, (), 0)
