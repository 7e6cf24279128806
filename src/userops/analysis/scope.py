"""One analysis query's SQL pieces: events with their current person, property filters on
events or persons, breakdown values, time windows. Every name and value from a spec becomes a
query parameter (``{p3:String}``); only fixed SQL written here is ever text.

Usage: build the WHERE conditions and breakdown expressions first, then ``from_events()``,
since the FROM clause joins the person properties the conditions asked for::

    q = Scope(project_id, timezone)
    where = q.where(filters)
    sql = f"SELECT {q.person} AS person, count() FROM {q.from_events()} WHERE {q.base(start, end)}"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import count
from typing import Any

from userops.analysis.memberships import segment_members, tag_holders
from userops.analysis.person_stats import is_computed, stats_columns
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.spec import (
    MEMBERSHIP,
    NONE,
    OTHER,
    Breakdown,
    PropertyFilter,
    PropertyType,
)
from userops.store import EventStore, rows

# Event keys that read a column promoted from the context instead of the properties JSON
# (PostHog's spelling). The column names are fixed here, never taken from a spec.
PROMOTED: dict[str, str] = {
    "$utm_source": "utm_source",
    "$utm_medium": "utm_medium",
    "$utm_campaign": "utm_campaign",
    "$os": "os",
    "$browser": "browser",
    "$device_type": "device_type",
    "$app_version": "app_version",
    "$country": "country",
}

# A person column to join: a trait's or computed property's key, or (type, id) of a segment or
# tag membership, a tuple so that no trait key can ever name one.
PersonKey = str | tuple[str, str]

# A tracked event: what makes a person active. identify, alias and group calls are not.
TRACKED = "e.type IN ('track', 'page', 'screen')"


def text_of(value: Any) -> str:
    """A filter value as the property text it must equal (JSON's spelling of booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Scope:
    """Parameters and SQL fragments for one query over one project's events."""

    person = RESOLVED_PERSON  # the event's current person (identity links applied)

    def __init__(self, project_id: int, timezone: str) -> None:
        self.params: dict[str, Any] = {"project": project_id, "tz": timezone}
        self._names = (f"p{n}" for n in count())
        self._person_keys: list[PersonKey] = []  # person columns to join, as p.v0, p.v1, ...

    # -- parameters -------------------------------------------------------------------------

    def param(self, value: Any, type_: str) -> str:
        """A fresh parameter holding ``value``; returns its placeholder, e.g. ``{p0:String}``."""
        name = next(self._names)
        self.params[name] = value
        return f"{{{name}:{type_}}}"

    def nested(self) -> Scope:
        """A scope for a subquery of this query: the same parameters (so names never clash),
        its own person properties to join."""
        child = Scope.__new__(Scope)
        child.params, child._names, child._person_keys = self.params, self._names, []
        return child

    def window(self, start: dt.datetime, end: dt.datetime, column: str = "e.timestamp") -> str:
        """``column`` in [start, end) (UTC instants)."""
        low = self.param(start, "DateTime64(3, 'UTC')")
        high = self.param(end, "DateTime64(3, 'UTC')")
        return f"{column} >= {low} AND {column} < {high}"

    def base(self, start: dt.datetime, end: dt.datetime) -> str:
        """The project's events in [start, end)."""
        return f"e.project_id = {{project:UInt32}} AND {self.window(start, end)}"

    def event_is(self, event: str) -> str:
        return f"e.event = {self.param(event, 'String')}"

    # -- properties -------------------------------------------------------------------------

    def _person_column(self, key: PersonKey) -> str:
        if key not in self._person_keys:
            self._person_keys.append(key)
        return f"p.v{self._person_keys.index(key)}"

    def text(self, type_: PropertyType, key: str) -> str:
        """The property's text (strings unquoted, other JSON values as JSON text), or NULL; a
        membership's is 'true' or 'false', never NULL."""
        if type_ in MEMBERSHIP:
            return f"if({self._person_column((type_, key))} != '', 'true', 'false')"
        if type_ == "person":
            return f"JSONExtract({self._person_column(key)}, 'Nullable(String)')"
        if key in PROMOTED:
            return f"nullIf(e.{PROMOTED[key]}, '')"
        return f"JSONExtract(e.properties, {self.param(key, 'String')}, 'Nullable(String)')"

    def number(self, type_: PropertyType, key: str) -> str:
        """The property as a number (numbers, numeric text, booleans as 1/0), or NULL."""
        if type_ in MEMBERSHIP:
            return f"toFloat64({self._person_column((type_, key))} != '')"
        if type_ == "person":
            return f"JSONExtract({self._person_column(key)}, 'Nullable(Float64)')"
        if key in PROMOTED:
            return f"toFloat64OrNull(e.{PROMOTED[key]})"
        return f"JSONExtract(e.properties, {self.param(key, 'String')}, 'Nullable(Float64)')"

    def is_set(self, type_: PropertyType, key: str) -> str:
        if type_ in MEMBERSHIP:  # members have 'true', everyone else no row: ''
            return f"{self._person_column((type_, key))} != ''"
        if type_ == "person":
            return f"{self._person_column(key)} != ''"
        if key in PROMOTED:
            return f"e.{PROMOTED[key]} != ''"
        return f"JSONHas(e.properties, {self.param(key, 'String')})"

    # -- filters ----------------------------------------------------------------------------

    def where(self, filters: Sequence[PropertyFilter]) -> str:
        """All ``filters`` AND-ed ("1" when there are none)."""
        return " AND ".join(f"({self.condition(f)})" for f in filters) or "1"

    def condition(self, spec: PropertyFilter) -> str:
        op, value, kind, key = spec.operator, spec.value, spec.type, spec.key
        if op == "is_set":
            return self.is_set(kind, key)
        if op == "is_not_set":
            return f"NOT ({self.is_set(kind, key)})"
        if op in ("eq", "neq"):
            equal = f"ifNull({self.text(kind, key)} = {self.param(text_of(value), 'String')}, 0)"
            return equal if op == "eq" else f"NOT {equal}"
        if op in ("in", "not_in"):
            assert isinstance(value, list)
            values = self.param([text_of(item) for item in value], "Array(String)")
            member = f"ifNull(has({values}, {self.text(kind, key)}), 0)"
            return member if op == "in" else f"NOT {member}"
        if op == "contains":
            needle = self.param(text_of(value), "String")
            return f"ifNull(positionUTF8({self.text(kind, key)}, {needle}) > 0, 0)"
        if op == "regex":  # RE2: linear time whatever the pattern
            pattern = self.param(text_of(value), "String")
            return f"ifNull(match({self.text(kind, key)}, {pattern}), 0)"
        number = self.number(kind, key)
        if op == "between":
            assert isinstance(value, list)
            low = self.param(float(value[0]), "Float64")
            high = self.param(float(value[1]), "Float64")
            return f"ifNull({number} >= {low} AND {number} <= {high}, 0)"
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        assert isinstance(value, int | float) and not isinstance(value, bool)
        return f"ifNull({number} {sign} {self.param(float(value), 'Float64')}, 0)"

    # -- breakdown --------------------------------------------------------------------------

    def breakdown_value(self, breakdown: Breakdown) -> str:
        """The breakdown property's text, ``$none`` where it is missing."""
        none = self.param(NONE, "String")
        return f"ifNull({self.text(breakdown.type, breakdown.key)}, {none})"

    def breakdown_bucket(self, breakdown: Breakdown, top: Sequence[str]) -> str:
        """The breakdown value where it is one of ``top``, else ``$other``."""
        value = self.breakdown_value(breakdown)
        return f"if(has({self.param(list(top), 'Array(String)')}, {value}), {value}, " \
               f"{self.param(OTHER, 'String')})"  # fmt: skip

    # -- FROM -------------------------------------------------------------------------------

    def from_events(self) -> str:
        """Events ``e`` with their person's overrides ``o`` and, when a condition asked for
        one, the person's current properties ``p`` (call after building the conditions)."""
        if not self._person_keys:
            return RESOLVED_EVENTS
        return f"{RESOLVED_EVENTS} LEFT JOIN ({self._person_properties()}) AS p " \
               f"ON p.person_id = {RESOLVED_PERSON}"  # fmt: skip

    @property
    def has_person_properties(self) -> bool:
        """Whether a condition built so far reads a person property (``p.v0``, ...)."""
        return bool(self._person_keys)

    def person_properties(self) -> str:
        """The subquery of every person's requested properties (``person_id``, ``v0``, ...),
        to join as ``p`` where conditions are evaluated per person instead of per event
        (call after building the conditions)."""
        return self._person_properties()

    def _person_properties(self) -> str:
        """Each person's current value of every requested key, as raw JSON ('' if never set):
        for a trait, the latest ``traits`` value by (timestamp, message_id), else the first
        ``traits_once`` value, the fold ``identity.profile.fold_traits`` does; for a computed
        property (``$revenue``, ...) its value at the last refresh (``analysis.computed``); for
        a segment or tag, 'true' for its members (``analysis.memberships``)."""
        keys = [(n, key) for n, key in enumerate(self._person_keys) if isinstance(key, str)]
        members = [(n, key) for n, key in enumerate(self._person_keys)
                   if isinstance(key, tuple)]  # fmt: skip
        if not members:
            return self._properties(keys)
        # One row per person and source, each source's column filled and the rest '', folded
        # by max ('' sorts first): members of nothing and persons without properties stay ''.
        width = range(len(self._person_keys))

        def source(person: str, filled: dict[int, str], subquery: str) -> str:
            empty = "''"
            columns = ", ".join(f"{filled.get(n, empty)} AS v{n}" for n in width)
            return f"SELECT {person} AS person_id, {columns} FROM ({subquery})"  # noqa: S608

        parts = [source("person_id", {n: f"v{n}" for n, _ in keys}, self._properties(keys))
                 ] if keys else []  # fmt: skip
        for n, (kind, id_) in members:
            placeholder = self.param(int(id_), "UInt64")
            found = segment_members(placeholder) if kind == "segment" else tag_holders(placeholder)
            parts.append(source("person", {n: "'true'"}, found))
        folded = ", ".join(f"max(v{n}) AS v{n}" for n in width)
        return f"""
            SELECT person_id, {folded} FROM ({" UNION ALL ".join(parts)}) GROUP BY person_id
        """  # noqa: S608

    def _properties(self, keys: Sequence[tuple[int, str]]) -> str:
        """Person properties (``person_id``, ``v{n}`` for each of ``keys``'s (n, key))."""
        traits = [(n, key) for n, key in keys if not is_computed(key)]
        computed = [(n, key) for n, key in keys if is_computed(key)]
        columns = []
        for n, key in traits:
            name = self.param(key, "String")
            latest = (f"argMaxIf(JSONExtractRaw(e.traits, {name}), (e.timestamp, e.message_id), "
                      f"JSONHas(e.traits, {name}))")  # fmt: skip
            first = (f"argMinIf(JSONExtractRaw(e.traits_once, {name}), "
                     f"(e.timestamp, e.message_id), JSONHas(e.traits_once, {name}))")  # fmt: skip
            columns.append(f"if({latest} != '', {latest}, {first}) AS v{n}")
        folded = f"""
            SELECT {RESOLVED_PERSON} AS person_id, {", ".join(columns)}
            FROM {RESOLVED_EVENTS}
            WHERE e.project_id = {{project:UInt32}} AND (e.traits != '' OR e.traits_once != '')
            GROUP BY person_id
        """  # noqa: S608
        if not computed:
            return folded
        stats = stats_columns([key for _, key in computed])
        renamed = ", ".join(f"c.c{m} AS v{n}" for m, (n, _) in enumerate(computed))
        if not traits:
            return f"SELECT c.person_id AS person_id, {renamed} FROM ({stats}) AS c"  # noqa: S608
        # Either side may lack a person (no traits, or not computed yet): a full join, the
        # missing side's columns '' (not set).
        kept = ", ".join(f"t.v{n} AS v{n}" for n, _ in traits)
        return f"""
            SELECT if(t.person_id != 0, t.person_id, c.person_id) AS person_id, {kept}, {renamed}
            FROM ({folded}) AS t FULL OUTER JOIN ({stats}) AS c ON t.person_id = c.person_id
        """  # noqa: S608


def top_values(
    store: EventStore, scope: Scope, breakdown: Breakdown, where: str, limit: int | None = None
) -> list[str]:
    """The breakdown's most frequent values among the events ``where`` selects (by events,
    ties by value), at most ``breakdown.limit``. ``where`` must come from ``scope``."""
    value = scope.breakdown_value(breakdown)
    found = rows(
        store,
        f"SELECT {value} AS value, count() AS n FROM {scope.from_events()} WHERE {where} "  # noqa: S608
        f"GROUP BY value ORDER BY n DESC, value LIMIT {int(limit or breakdown.limit)}",
        scope.params,
    )
    return [str(v) for v, _ in found]
