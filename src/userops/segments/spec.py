"""Segment definitions (用户分群): a boolean tree of conditions on persons, as data (pydantic).

A node is ``{"and": [node, ...]}``, ``{"or": [node, ...]}``, ``{"not": node}`` or a condition
with a ``kind``::

    {"and": [
        {"kind": "performed", "event": "order_completed", "operator": "gte", "count": 2,
         "window": {"last_days": 30}},
        {"kind": "aggregate", "event": "order_completed", "property": "revenue",
         "math": "sum", "operator": "gte", "value": 500, "window": {"last_days": 30}},
        {"not": {"kind": "person", "key": "plan", "operator": "eq", "value": "free"}}
    ]}

The kinds (``filters`` are the analyses' ``PropertyFilter`` list, on the event's properties or,
with ``"type": "person"``, on the person's; ``operator`` compares with gt, gte, lt, lte, eq, neq):

    person           key, operator, value: a person property, as the analyses' filters
    performed        event, filters, operator (gte), count (1), window: performed n times
    not_performed    event, filters, window: performed 0 times
    first_performed  event, filters, window: the first such event ever is in the window
    aggregate        event, filters, property, math (sum, count, avg, min, max), operator,
                     value, window: e.g. revenue summed over 30 days >= 500
    funnel           funnel (the funnel analysis's spec), step (0-based), status (converted:
                     reached the step; dropped: reached the step before, not this one)
    segment          id: a member of another segment (``references.py``)
    distinct_ids     ids: a static list of user or anonymous ids (an uploaded CSV's), each
                     the person holding it at each refresh (so a list follows merges)
    persons          ids: a static list of person ids

Windows are the analyses' ``DateRange``: ``{"last_days": k}`` (today, in the project's time
zone, and the k - 1 days before it) or ``{"start": date, "end": date}`` (local dates,
inclusive); no window means all time. Every person with at least one event in the project is
a candidate, so a person without any ``E`` matches "performed E at most 2 times" and "did not
perform E". ``parse_definition`` names a bad field by its JSON path (``and.0.count``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from userops.analysis.funnel import EventName, FunnelSpec
from userops.analysis.spec import MEMBERSHIP, DateRange, PropertyFilter, PropertyKey, Strict
from userops.errors import BadRequest

MAX_WIDTH = 50  # children of one and / or
MAX_DEPTH = 10  # and / or / not levels of one definition
MAX_CONDITIONS = 200  # conditions of one definition
MAX_EXPANDED = 500  # conditions once the segments it refers to are inlined
MAX_COUNT = 1_000_000
MAX_IDS = 100_000  # a static list's ids travel as one query parameter

Compare = Literal["gt", "gte", "lt", "lte", "eq", "neq"]
Math = Literal["sum", "count", "avg", "min", "max"]


def _no_memberships(filters: list[PropertyFilter]) -> list[PropertyFilter]:
    """Segment and tag filters are the analyses'; a definition names a segment by a segment
    condition, and behaviour conditions would otherwise leave such a filter unread."""
    for f in filters:
        if f.type in MEMBERSHIP:
            raise ValueError(f"a {f.type} filter is not a behaviour filter; use a segment "
                             "condition")  # fmt: skip
    return filters


FILTERS = Annotated[list[PropertyFilter], Field(max_length=20), AfterValidator(_no_memberships)]


class PersonCondition(PropertyFilter):
    """The person's current property (trait) compared as the analyses' filters do."""

    kind: Literal["person"]
    type: Literal["person"] = "person"


class Performed(Strict):
    """Performed ``event`` (with ``filters``) ``count`` times or more, fewer, exactly ... in
    the window (all time without one). Filters on person properties hold for all of a
    person's events or none."""

    kind: Literal["performed"]
    event: EventName
    filters: FILTERS = Field(default_factory=list)
    operator: Compare = "gte"
    count: Annotated[int, Field(ge=0, le=MAX_COUNT)] = 1
    window: DateRange | None = None


class NotPerformed(Strict):
    """Did not perform ``event`` (with ``filters``) in the window: ``performed`` 0 times."""

    kind: Literal["not_performed"]
    event: EventName
    filters: FILTERS = Field(default_factory=list)
    window: DateRange | None = None


class FirstPerformed(Strict):
    """The person's first ``event`` (with ``filters``) ever falls in the window."""

    kind: Literal["first_performed"]
    event: EventName
    filters: FILTERS = Field(default_factory=list)
    window: DateRange


class Aggregate(Strict):
    """``math`` of ``property`` (read as a number, as filters read one; events without a
    number are skipped) over the person's ``event`` in the window, compared to ``value``. With
    no such event ``sum`` and ``count`` are 0; ``avg``, ``min`` and ``max`` have no value, and
    the condition does not hold."""

    kind: Literal["aggregate"]
    event: EventName
    filters: FILTERS = Field(default_factory=list)
    property: PropertyKey
    math: Math = "sum"
    operator: Compare = "gte"
    value: float
    window: DateRange | None = None


class SegmentFunnel(FunnelSpec):
    """A funnel as the analyses take it, without the breakdown and the person list."""

    breakdown: None = None
    persons: None = None

    @model_validator(mode="after")
    def _no_memberships(self) -> SegmentFunnel:
        _no_memberships(self.filters)
        for step in self.steps:
            _no_memberships(step.filters)
        for exclusion in self.exclusions:
            _no_memberships(exclusion.filters)
        return self


class FunnelCondition(Strict):
    """Converted: reached ``step`` (0-based) of the funnel; dropped: reached the step before
    it but not it (as the funnel's own person lists count)."""

    kind: Literal["funnel"]
    funnel: SegmentFunnel
    step: Annotated[int, Field(ge=0)]
    status: Literal["converted", "dropped"] = "converted"

    @field_validator("step")
    @classmethod
    def _step_fits(cls, value: int, info: ValidationInfo) -> int:
        funnel = info.data.get("funnel")
        if funnel is not None and value >= len(funnel.steps):
            raise ValueError(f"step is {value}, but the last step is {len(funnel.steps) - 1} "
                             "(steps count from 0)")  # fmt: skip
        return value

    @field_validator("status")
    @classmethod
    def _drop_after_a_step(cls, value: str, info: ValidationInfo) -> str:
        if value == "dropped" and info.data.get("step") == 0:
            raise ValueError("step 0 with status dropped: no one drops before the first step")
        return value


class SegmentRef(Strict):
    """Member of another segment, by id (resolved by the caller's ``SegmentResolver``)."""

    kind: Literal["segment"]
    id: Annotated[int, Field(ge=1, le=2**31 - 1)]  # segments.id is an INTEGER key


class PersonList(Strict):
    """A static list of person ids."""

    kind: Literal["persons"]
    ids: Annotated[list[Annotated[int, Field(ge=1, lt=2**64)]], Field(max_length=MAX_IDS)]


class DistinctIdList(Strict):
    """A static list of user or anonymous ids: a member is the person holding one of them as
    the analyses resolve identities when the segment is computed. Keeping the ids, not the
    persons they named at upload, lets the list follow merges and their undoing."""

    kind: Literal["distinct_ids"]
    ids: Annotated[list[Annotated[str, Field(min_length=1, max_length=400)]],
                   Field(max_length=MAX_IDS)]  # fmt: skip


Condition = (
    PersonCondition | Performed | NotPerformed | FirstPerformed | Aggregate | FunnelCondition
    | SegmentRef | PersonList | DistinctIdList
)  # fmt: skip
CONDITION_KINDS = ("person", "performed", "not_performed", "first_performed", "aggregate",
                   "funnel", "segment", "persons", "distinct_ids")  # fmt: skip
BRANCHES = ("and", "or", "not")


def tag(value: Any) -> str | None:
    """Which model a node is: and / or / not by its key, a condition by its ``kind``."""
    if isinstance(value, Mapping):
        for key in BRANCHES:
            if key in value:
                return key
        kind = value.get("kind")
        return kind if isinstance(kind, str) else None
    if isinstance(value, And | Or | Not):
        return type(value).__name__.lower()
    kind = getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


Node = Annotated[
    Annotated["And", Tag("and")] | Annotated["Or", Tag("or")] | Annotated["Not", Tag("not")]
    | Annotated[PersonCondition, Tag("person")] | Annotated[Performed, Tag("performed")]
    | Annotated[NotPerformed, Tag("not_performed")]
    | Annotated[FirstPerformed, Tag("first_performed")] | Annotated[Aggregate, Tag("aggregate")]
    | Annotated[FunnelCondition, Tag("funnel")] | Annotated[SegmentRef, Tag("segment")]
    | Annotated[PersonList, Tag("persons")] | Annotated[DistinctIdList, Tag("distinct_ids")],
    Discriminator(
        tag,
        custom_error_type="invalid_node",
        custom_error_message="a node is {\"and\": [...]}, {\"or\": [...]}, {\"not\": node} "
                             f"or a condition whose kind is one of {', '.join(CONDITION_KINDS)}",
    ),
]  # fmt: skip
Children = Annotated[list[Node], Field(min_length=1, max_length=MAX_WIDTH)]


class And(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    and_: Children = Field(alias="and")


class Or(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    or_: Children = Field(alias="or")


class Not(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    not_: Node = Field(alias="not")


Definition = Node
_DEFINITION: TypeAdapter[Any] = TypeAdapter(Definition)


def children(node: Any) -> list[tuple[tuple[str | int, ...], Any]]:
    """A branch's children with their path below it; none for a condition."""
    if isinstance(node, And):
        return [(("and", n), child) for n, child in enumerate(node.and_)]
    if isinstance(node, Or):
        return [(("or", n), child) for n, child in enumerate(node.or_)]
    if isinstance(node, Not):
        return [(("not",), node.not_)]
    return []


def walk(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...],
                                                                      int, Any]]:  # fmt: skip
    """Every node with its JSON path and its depth in and / or / not levels (0: the root)."""
    stack = [(path, 0, node)]
    while stack:
        where, depth, item = stack.pop()
        yield where, depth, item
        stack += [(where + sub, depth + 1, child) for sub, child in reversed(children(item))]


def dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in path)


def bad(path: Sequence[str | int], message: str) -> BadRequest:
    """The error for the definition's field at ``path`` (the root when empty)."""
    where = dotted(path)
    return BadRequest(f"definition {where}: {message}" if where else f"definition: {message}",
                      field=where or "(definition)")  # fmt: skip


def definition_json(definition: Definition) -> Any:
    """The definition as JSON data, in the shape ``parse_definition`` reads."""
    return _DEFINITION.dump_python(definition, mode="json", by_alias=True, exclude_defaults=True)


def parse_definition(definition: str | bytes | Mapping[str, Any]) -> Definition:
    """The typed definition, or ``BadRequest`` naming the first bad field by its JSON path."""
    try:
        if isinstance(definition, Mapping):
            parsed: Definition = _DEFINITION.validate_python(definition)
        else:
            parsed = _DEFINITION.validate_json(definition)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = _without_tags(list(first["loc"]))
        raise bad(path, first["msg"]) from None
    check_size(parsed)
    return parsed


def check_size(definition: Definition, prefix: tuple[str | int, ...] = ()) -> None:
    """Refuse a tree deeper than ``MAX_DEPTH`` levels or with more than ``MAX_CONDITIONS``
    conditions, naming where it goes over."""
    conditions = 0
    for path, depth, node in walk(definition, prefix):
        if depth > MAX_DEPTH:
            raise bad(path, f"nested deeper than {MAX_DEPTH} levels of and / or / not")
        if not children(node):
            conditions += 1
            if conditions > MAX_CONDITIONS:
                raise bad(path, f"more than {MAX_CONDITIONS} conditions")


def _without_tags(loc: list[Any]) -> list[Any]:
    """An error's location without the union tags pydantic puts in it: one at the root and
    one below each ``and.<n>``, ``or.<n>`` and ``not``."""
    out: list[Any] = []
    i, node = 0, True  # node: loc[i] is where a node's tag would be
    while i < len(loc):
        part = loc[i]
        if node and part in BRANCHES + CONDITION_KINDS:
            node = False
            if part in BRANCHES and i + 1 < len(loc) and loc[i + 1] == part:
                out.append(part)  # the tag, then the branch's own field
                i += 2
                if part != "not" and i < len(loc):
                    out.append(loc[i])  # the child's index
                    i += 1
                node = True
                continue
            i += 1
            continue
        out.append(part)
        node = False
        i += 1
    return out
