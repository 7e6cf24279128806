"""A person as an operator sees it: ids, traits, first touch, merge history, recent events.

Traits are folded from the person's identify events in time order (later values overwrite;
``traits_once`` keeps the first), so they stay exact when a merge is undone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from userops.identity.repository import merge_history, person_ids
from userops.meta.models import Merge
from userops.store import EventStore, rows


@dataclass
class Profile:
    person_id: int
    distinct_ids: list[str]
    traits: dict[str, Any]
    first_touch: dict[str, Any]
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    event_count: int
    merges: list[Merge] = field(default_factory=list)


def fold_traits(updates: list[tuple[str, str]]) -> dict[str, Any]:
    """``(traits_json, traits_once_json)`` pairs in time order to the person's traits."""
    traits: dict[str, Any] = {}
    once: dict[str, Any] = {}
    for set_json, once_json in updates:
        if set_json:
            traits.update(orjson.loads(set_json))
        if once_json:
            for key, value in orjson.loads(once_json).items():
                once.setdefault(key, value)
    return {**once, **traits}


def _first_touch(store: EventStore, project_id: int, ids: list[str]) -> dict[str, Any]:
    found = rows(
        store,
        """
        SELECT utm_source, utm_medium, utm_campaign, timestamp FROM events
        WHERE project_id = {project:UInt32} AND distinct_id IN {ids:Array(String)}
          AND utm_source != ''
        ORDER BY timestamp, message_id LIMIT 1
        """,
        {"project": project_id, "ids": ids},
    )
    if not found:
        return {}
    source, medium, campaign, at = found[0]
    return {
        "initial_utm_source": source,
        "initial_utm_medium": medium,
        "initial_utm_campaign": campaign,
        "initial_touch_at": at.isoformat(),
    }


def load_profile(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, person_id: int
) -> Profile:
    ids = person_ids(sessions, project_id, person_id)
    params = {"project": project_id, "ids": ids}
    updates = rows(
        store,
        """
        SELECT traits, traits_once FROM events
        WHERE project_id = {project:UInt32} AND distinct_id IN {ids:Array(String)}
          AND (traits != '' OR traits_once != '')
        ORDER BY timestamp, message_id
        """,
        params,
    )
    count, first, last = rows(
        store,
        """
        SELECT count(), min(timestamp), max(timestamp) FROM events
        WHERE project_id = {project:UInt32} AND distinct_id IN {ids:Array(String)}
        """,
        params,
    )[0]
    return Profile(
        person_id=person_id,
        distinct_ids=ids,
        traits=fold_traits([(t, o) for t, o in updates]),
        first_touch=_first_touch(store, project_id, ids),
        first_seen=first if count else None,
        last_seen=last if count else None,
        event_count=int(count),
        merges=merge_history(sessions, project_id, person_id),
    )
