"""What a project's data holds: event names with their volumes, the properties events carry and
the traits persons have, each with an inferred type, counts, last-seen time and example values.

The data-management screen and the builders' pickers read these. Volumes cover the last ``days``
local days (today included, as an analysis's ``last_days`` does); an event's first and last seen
times are over all time, so an event that stopped arriving still shows, with count 0, and when it
was last seen. Event and property names only reach SQL as query parameters.

A property's type is the most common type among its values (ties go to the first of string,
number, boolean, datetime); a string that reads as an ISO 8601 date or time counts as datetime;
``null`` values count as present (as the ``is_set`` filter sees them) but give no type and no
example. Examples are the five most frequent values as their filter text (strings unquoted,
other values as JSON text, cut to 200 characters), ties in text order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from userops.analysis.person_stats import TABLES, stats_columns
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.scope import PROMOTED
from userops.store import EventStore, rows

PropertyKind = Literal["string", "number", "boolean", "datetime"]
KINDS: tuple[PropertyKind, ...] = ("string", "number", "boolean", "datetime")
MAX_DAYS = 3660
EXAMPLES = 5
EXAMPLE_CHARS = 200
# ISO 8601 dates and times as SDKs write them (Python's isoformat, JavaScript's toISOString).
DATETIME_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)


@dataclass(frozen=True)
class EventDefinition:
    name: str
    count: int  # events in the window
    persons: int  # distinct persons (identity links applied) in the window
    first_seen: dt.datetime  # over all time
    last_seen: dt.datetime


@dataclass(frozen=True)
class PropertyDefinition:
    name: str
    type: PropertyKind
    count: int  # events (or persons, for traits) that carry the key
    last_seen: dt.datetime
    examples: list[str]


def window_start(timezone: str, days: int, today: dt.date | None = None) -> dt.datetime:
    """The UTC instant the last ``days`` local days start at (today is the last of them)."""
    zone = ZoneInfo(timezone)
    today = today or dt.datetime.now(zone).date()
    first = today - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)


def event_definitions(
    store: EventStore, project_id: int, since: dt.datetime
) -> list[EventDefinition]:
    """Every event name the project ever received, by events since ``since`` (most first)."""
    params = {"project": project_id, "since": since}
    # Two passes: all-time first/last seen needs no identity join, persons only the window's.
    totals = rows(
        store,
        """
        SELECT e.event, countIf(e.timestamp >= {since:DateTime64(3, 'UTC')}),
               min(e.timestamp), max(e.timestamp)
        FROM events AS e WHERE e.project_id = {project:UInt32}
        GROUP BY e.event
        """,
        params,
    )
    persons = dict(
        rows(
            store,
            f"""
            SELECT e.event, uniqExact({RESOLVED_PERSON}) FROM {RESOLVED_EVENTS}
            WHERE e.project_id = {{project:UInt32}}
              AND e.timestamp >= {{since:DateTime64(3, 'UTC')}}
            GROUP BY e.event
            """,  # noqa: S608
            params,
        )
    )
    found = [
        EventDefinition(name, int(count), int(persons.get(name, 0)), first, last)
        for name, count, first, last in totals
    ]
    return sorted(found, key=lambda d: (-d.count, d.name))


# A raw JSON value's text as filters compare it (strings unquoted, other values as JSON).
_TEXT = "if(startsWith(raw, '\"'), JSONExtractString(raw), raw)"
# Types told apart by a raw value's first character; a datetime is a string holding an ISO
# 8601 form, which needs no escapes, so the pattern can read the raw text between its quotes.
_STRING = "(startsWith(raw, '\"') AND NOT match(raw, {datetime:String}) " \
          "OR startsWith(raw, '{') OR startsWith(raw, '['))"  # fmt: skip
_TYPES = f"""
    sumIf(c, {_STRING}) AS strings, sumIf(c, match(raw, '^-?[0-9]')) AS numbers,
    sumIf(c, raw IN ('true', 'false')) AS booleans,
    sumIf(c, match(raw, {{datetime:String}})) AS datetimes
"""


def infer_kind(counts: dict[PropertyKind, int]) -> PropertyKind:
    best = max(counts.values(), default=0)
    return next((kind for kind in KINDS if counts.get(kind, 0) == best), "string")


def _definitions(store: EventStore, values_sql: str, params: dict[str, Any]) -> list[Any]:
    """Definitions from ``values_sql``: rows of (key, raw JSON value, c: how many carry that
    value, seen: when last). Types and texts are worked out once per distinct value."""
    params = {**params, "datetime": '^"' + DATETIME_PATTERN[1:-1] + '"$'}
    found = []
    for key, count, seen, strings, numbers, booleans, datetimes, examples in rows(
        store,
        f"""
        SELECT key, sum(n), max(last), sum(strings), sum(numbers), sum(booleans),
               sum(datetimes),
               arrayMap(x -> leftUTF8(x.2, {EXAMPLE_CHARS}),
                        groupArraySortedIf({EXAMPLES})((-valued, text), valued > 0))
        FROM (
            SELECT key, {_TEXT} AS text, sum(c) AS n, sumIf(c, raw != 'null') AS valued,
                   max(seen) AS last, {_TYPES}
            FROM ({values_sql}) GROUP BY key, text
        ) GROUP BY key
        """,  # noqa: S608
        params,
    ):
        kind = infer_kind({"string": strings, "number": numbers, "boolean": booleans,
                           "datetime": datetimes})  # fmt: skip
        found.append(PropertyDefinition(key, kind, int(count), seen, list(examples)))
    return sorted(found, key=lambda d: (-d.count, d.name))


def property_definitions(
    store: EventStore, project_id: int, since: dt.datetime, event: str | None = None
) -> list[PropertyDefinition]:
    """The properties of the project's events since ``since`` (of one event name if given),
    with the promoted context columns under their filter keys ($os, $utm_source, ...): filters
    on those keys read the column, so a same-named key in the properties JSON is left out."""
    params: dict[str, Any] = {"project": project_id, "since": since, "promoted": list(PROMOTED)}
    where = "e.project_id = {project:UInt32} AND e.timestamp >= {since:DateTime64(3, 'UTC')}"
    if event is not None:
        params["event"] = event
        where += " AND e.event = {event:String}"
    # One small aggregation per promoted column: each reads a single LowCardinality column,
    # where building (key, value) pairs of all of them for every event took longer than the
    # properties' own pass.
    promoted = "".join(
        f"""
        UNION ALL
        SELECT '{key}' AS key, toJSONString(e.{column}) AS raw, count() AS c,
               max(e.timestamp) AS seen
        FROM events AS e WHERE {where} AND e.{column} != '' GROUP BY e.{column}
        """  # noqa: S608
        for key, column in PROMOTED.items()
    )
    values = f"""
        SELECT kv.1 AS key, kv.2 AS raw, count() AS c, max(e.timestamp) AS seen
        FROM events AS e ARRAY JOIN JSONExtractKeysAndValuesRaw(e.properties) AS kv
        WHERE {where} AND NOT has({{promoted:Array(String)}}, kv.1)
        GROUP BY key, raw
        {promoted}
    """  # noqa: S608
    result: list[PropertyDefinition] = _definitions(store, values, params)
    return result


# Each person's current traits, one row per (person, key): the latest `traits` value by
# (timestamp, message_id), else the first `traits_once` one, the fold that
# identity.profile.fold_traits does; `seen` is when the key was last sent.
CURRENT_TRAITS = f"""
    SELECT person_id, key, if(latest != '', latest, first) AS raw, seen FROM (
        SELECT {RESOLVED_PERSON} AS person_id, kv.1 AS key,
               argMaxIf(kv.2, (e.timestamp, e.message_id), kv.3) AS latest,
               argMinIf(kv.2, (e.timestamp, e.message_id), NOT kv.3) AS first,
               max(e.timestamp) AS seen
        FROM {RESOLVED_EVENTS}
        ARRAY JOIN arrayConcat(
            arrayMap(x -> (x.1, x.2, true), JSONExtractKeysAndValuesRaw(e.traits)),
            arrayMap(x -> (x.1, x.2, false), JSONExtractKeysAndValuesRaw(e.traits_once))) AS kv
        WHERE e.project_id = {{project:UInt32}} AND (e.traits != '' OR e.traits_once != '')
        GROUP BY person_id, key
    )
"""  # noqa: S608
TRAIT_TEXT = _TEXT


def person_properties(store: EventStore, project_id: int) -> list[PropertyDefinition]:
    """Persons' current traits: how many persons have each, of what type, when last sent."""
    values = f"""
        SELECT key, raw, count() AS c, max(seen) AS seen FROM ({CURRENT_TRAITS})
        GROUP BY key, raw
    """  # noqa: S608
    result: list[PropertyDefinition] = _definitions(store, values, {"project": project_id})
    return result


def computed_properties(store: EventStore, project_id: int) -> list[PropertyDefinition]:
    """The computed person properties (``userops.analysis.computed``, stages, ...) as they stood
    at their family's last refresh: how many persons have each, of what type; ``last_seen`` is
    that refresh. Nothing for a family never refreshed."""
    found: list[PropertyDefinition] = []
    for table, family in TABLES.items():
        names = list(family)
        values = ", ".join(f"c{n}" for n in range(len(names)))
        sql = f"""
            SELECT kv.1 AS key, kv.2 AS raw, count() AS c,
                   any((SELECT max(refreshed_at) FROM {table}
                        WHERE project_id = {{project:UInt32}})) AS seen
            FROM ({stats_columns(names)})
            ARRAY JOIN arrayZip({{names:Array(String)}}, [{values}]) AS kv
            WHERE kv.2 != ''
            GROUP BY key, raw
        """  # noqa: S608
        found += _definitions(store, sql, {"project": project_id, "names": names})
    return sorted(found, key=lambda d: (-d.count, d.name))
