"""The read side of computed person properties (``userops.analysis.computed``): each property
as raw JSON text, the form trait values take, for ``Scope`` to join beside the traits. Apart
from ``computed`` so that ``scope`` can import it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from userops.store import EventStore, rows

# ISO 8601 in UTC with milliseconds, as the API writes instants: 2026-11-20T04:00:00.000Z.
_ISO = "concat(replaceOne(toString({0}), ' ', 'T'), 'Z')"


def _scored(expression: str) -> str:
    """A property of a person_rfm row as raw JSON, not set ('') on a row of an unscored
    person."""
    return f"if(rfm_group = '', '', {expression})"


# The RFM family (userops.analysis.rfm), over a person_rfm row.
_RFM: dict[str, str] = {
    "$rfm_recency_days": _scored("toString(recency_days)"),
    "$rfm_frequency": _scored("toString(frequency)"),
    "$rfm_monetary": _scored("toJSONString(monetary)"),
    "$rfm_r": _scored("toString(r)"),
    "$rfm_f": _scored("toString(f)"),
    "$rfm_m": _scored("toString(m)"),
    "$rfm_score": _scored("toJSONString(concat(toString(r), toString(f), toString(m)))"),
    "$rfm_group": _scored("toJSONString(rfm_group)"),
}


# Per table of the event store (a ReplacingMergeTree by refresh time, one row per person and
# project), each property it holds as raw JSON text, the form trait values take ('' when not
# set). Names are fixed here; a spec's key only selects among them.
TABLES: dict[str, dict[str, str]] = {
    "person_stats": {
        "$first_seen": "toJSONString(" + _ISO.format("first_seen") + ")",
        "$last_seen": "toJSONString(" + _ISO.format("last_seen") + ")",
        "$first_channel": "if(first_channel = '', '', toJSONString(first_channel))",
        "$first_utm_medium": "if(first_utm_medium = '', '', toJSONString(first_utm_medium))",
        "$first_utm_campaign": "if(first_utm_campaign = '', '', "
                               "toJSONString(first_utm_campaign))",
        "$events": "toString(events)",
        "$events_30d": "toString(events_30d)",
        "$active_days_30d": "toString(active_days_30d)",
        "$orders": "toString(orders)",
        "$revenue": "toJSONString(revenue)",
        "$revenue_30d": "toJSONString(revenue_30d)",
        "$last_order_at": "if(last_order_at IS NULL, '', "
                          "toJSONString(" + _ISO.format("assumeNotNull(last_order_at)") + "))",
    },
    # RFM scores and group at the last refresh (analysis.rfm).
    "person_rfm": _RFM,
    # Each person's stage at the end of the newest refresh's range (analysis.stages).
    "person_stages": {"$lifecycle_stage": "toJSONString(stage)"},
    # Core or mass by the project's value metric at the last refresh (analysis.tiers).
    "person_tiers": {
        "$value_tier": "if(tier = '', '', toJSONString(tier))",
        "$value_tier_metric_value": "if(tier = '', '', toJSONString(value))",
    },
}  # fmt: skip
# The newest completed refresh of a family of ``person_refreshes`` (analysis.stages, tiers):
# ``.format(family=...)`` with a fixed family name, never a spec's text.
COMPLETED = """
    SELECT max(refreshed_at) FROM person_refreshes
    WHERE project_id = {{project:UInt32}} AND family = '{family}'
"""
# Where a family's rows are not one per person in a ReplacingMergeTree: the subquery giving one.
SOURCES: dict[str, str] = {
    "person_stages": f"""
        SELECT person_id, argMax(stage, day) AS stage FROM person_stages
        WHERE project_id = {{project:UInt32}}
          AND refreshed_at = ({COMPLETED.format(family="stages")})
        GROUP BY person_id
    """,  # noqa: S608
    # A refresh that failed part-way leaves rows no reader takes: only the completed one's.
    "person_tiers": f"""
        SELECT * FROM person_tiers
        WHERE project_id = {{project:UInt32}}
          AND refreshed_at = ({COMPLETED.format(family="tiers")})
    """,  # noqa: S608
}
COMPUTED: dict[str, tuple[str, str]] = {
    name: (table, expression) for table, names in TABLES.items()
    for name, expression in names.items()
}  # fmt: skip


def is_computed(key: str) -> bool:
    return key in COMPUTED


def stats_columns(keys: list[str]) -> str:
    """The subquery of each person's computed properties ``keys`` as raw JSON, named ``c0``,
    ``c1``, ... in order, for ``Scope`` to join beside the traits: one subquery per table
    they live in, fully joined on the person (a person missing from one has '' there)."""
    by_table: dict[str, list[int]] = {}
    for n, key in enumerate(keys):
        by_table.setdefault(COMPUTED[key][0], []).append(n)
    parts = []
    for table, numbers in by_table.items():
        columns = ", ".join(f"{COMPUTED[keys[n]][1]} AS c{n}" for n in numbers)
        source = SOURCES.get(table, f"SELECT * FROM {table} FINAL "  # noqa: S608
                                    "WHERE project_id = {project:UInt32}")
        parts.append(f"SELECT person_id, {columns} FROM ({source})")  # noqa: S608
    if len(parts) == 1:
        return parts[0]
    joined = f"({parts[0]}) AS s0"
    person = "s0.person_id"
    for m, part in enumerate(parts[1:], start=1):
        joined += f" FULL OUTER JOIN ({part}) AS s{m} ON {person} = s{m}.person_id"
        person = f"if({person} != 0, {person}, s{m}.person_id)"
    columns = ", ".join(f"c{n}" for n in range(len(keys)))
    return f"SELECT {person} AS person_id, {columns} FROM {joined}"  # noqa: S608


# -- the write side's bookkeeping, the same for every family: `table` is one of TABLES' names,
# fixed in code, never a spec's text.


def refresh_rows(store: EventStore, table: str, project_id: int, at: dt.datetime,
                 where: str = "1") -> int:  # fmt: skip
    """How many rows (matching ``where``) the project's refresh at ``at`` wrote."""
    [(found,)] = rows(
        store,
        f"SELECT count() FROM {table} WHERE project_id = {{project:UInt32}} "  # noqa: S608
        f"AND refreshed_at = {{at:DateTime64(3, 'UTC')}} AND {where}",
        {"project": project_id, "at": at},
    )
    return int(found)


def drop_earlier(store: EventStore, table: str, project_id: int, at: dt.datetime) -> None:
    """Delete the project's rows of refreshes before ``at`` (a lightweight delete: readers
    stop seeing them at once): rows of persons the refresh at ``at`` did not write, such as
    persons merged away since, must not linger."""
    store.command(
        f"DELETE FROM {table} WHERE project_id = {{project:UInt32}} "  # noqa: S608
        "AND refreshed_at < {at:DateTime64(3, 'UTC')}",
        {"project": project_id, "at": at},
    )


def mark_completed(store: EventStore, family: str, project_id: int, at: dt.datetime,
                   detail: dict[str, Any]) -> None:  # fmt: skip
    """Record that the project's refresh of ``family`` at ``at`` has all its rows in, with what
    it used (``detail``, kept as JSON): readers of ``COMPLETED`` see it from now on."""
    params = {"project": project_id, "family": family, "at": at,
              "detail": orjson.dumps(detail).decode()}  # fmt: skip
    store.command(
        "INSERT INTO person_refreshes VALUES ({project:UInt32}, {family:String}, "
        "{at:DateTime64(3, 'UTC')}, {detail:String})",
        params,
    )


def completed_detail(store: EventStore, family: str,
                     project_id: int) -> tuple[dt.datetime, dict[str, Any]] | None:  # fmt: skip
    """When the project's newest completed refresh of ``family`` ran and what it used."""
    found = rows(
        store,
        "SELECT refreshed_at, detail FROM person_refreshes "
        "WHERE project_id = {project:UInt32} AND family = {family:String} "
        "ORDER BY refreshed_at DESC LIMIT 1",
        {"project": project_id, "family": family},
    )
    if not found:
        return None
    at, detail = found[0]
    moment = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return moment, (orjson.loads(detail) if detail else {})
