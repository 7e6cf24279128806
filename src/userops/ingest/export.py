"""`userops export`: events with their resolved person, in a form `userops import` reads back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.store import EventStore

EXPORT_FORMATS = ("jsonl", "csv", "parquet")

_SELECT = f"""
    SELECT
        e.type AS type,
        if(e.type = 'track', toString(e.event), '') AS event,
        e.name AS name,
        e.category AS category,
        e.user_id AS userId,
        e.anonymous_id AS anonymousId,
        e.previous_id AS previousId,
        e.group_id AS groupId,
        e.message_id AS messageId,
        formatDateTime(e.timestamp, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS timestamp,
        formatDateTime(e.received_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS receivedAt,
        e.properties AS properties,
        e.traits AS traits,
        e.context AS context,
        e.traits_once AS setOnce,
        {RESOLVED_PERSON} AS person_id
    FROM {RESOLVED_EVENTS}
    WHERE e.project_id = {{project:UInt32}}
      AND e.timestamp >= {{start:DateTime64(3)}} AND e.timestamp < {{end:DateTime64(3)}}
    ORDER BY e.timestamp, e.message_id
"""  # noqa: S608 - only constants are formatted in; values are parameters

_JSON_COLUMNS = ("properties", "traits", "context", "setOnce")


def day_range(
    timezone: str, start: dt.date | None, end: dt.date | None
) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in the project's time zone, as UTC instants."""
    zone = ZoneInfo(timezone)
    low = (
        dt.datetime.combine(start, dt.time(), zone)
        if start
        else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    )
    high = (
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
        if end
        else dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
    )
    return low.astimezone(dt.UTC), high.astimezone(dt.UTC)


def _jsonl_rows(table: pa.Table) -> list[bytes]:
    lines = []
    for row in table.to_pylist():
        message: dict[str, Any] = {}
        for key, value in row.items():
            if key == "person_id":
                message["personId"] = str(value)
            elif key in _JSON_COLUMNS:
                if value:
                    # The stored text as is: decoding would turn integers past 64 bits into
                    # floats (orjson), changing the data on the way out.
                    message[key] = orjson.Fragment(value)
            elif value != "":
                message[key] = value
        lines.append(orjson.dumps(message))
    return lines


def export_events(
    store: EventStore, project_id: int, window: tuple[dt.datetime, dt.datetime], fmt: str, out: Path
) -> int:
    table = store.arrow(_SELECT, {"project": project_id, "start": window[0], "end": window[1]})
    table = table.set_column(
        table.schema.get_field_index("person_id"),
        "person_id",
        table.column("person_id").cast(pa.string()),
    )
    if fmt == "jsonl":
        with out.open("wb") as fh:
            for line in _jsonl_rows(table):
                fh.write(line + b"\n")
    elif fmt == "csv":
        pa_csv.write_csv(table, out)
    else:
        pq.write_table(table, out, compression="zstd")
    return int(table.num_rows)
