"""Recent events of a project or a person, for `userops events` and profiles."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.identity.repository import person_ids, person_of
from userops.meta.models import Project
from userops.store import EventStore, rows


@dataclass(frozen=True)
class RecentEvent:
    local_time: str
    event: str
    distinct_id: str
    person_id: int
    properties: str


def recent_events(
    sessions: sessionmaker[Session],
    store: EventStore,
    project: Project,
    limit: int,
    person: str | None = None,
) -> list[RecentEvent]:
    params: dict[str, object] = {"project": project.id, "limit": limit}
    where = ""
    if person is not None:
        params["ids"] = person_ids(sessions, project.id, person_of(sessions, project.id, person))
        where = "AND e.distinct_id IN {ids:Array(String)}"
    found = rows(
        store,
        f"""
        SELECT e.timestamp, e.event, e.distinct_id, {RESOLVED_PERSON}, e.properties
        FROM {RESOLVED_EVENTS}
        WHERE e.project_id = {{project:UInt32}} {where}
        ORDER BY e.timestamp DESC, e.message_id DESC
        LIMIT {{limit:UInt32}}
        """,  # noqa: S608 - constants only; values are parameters
        params,
    )
    zone = ZoneInfo(project.timezone)
    return [
        RecentEvent(f"{ts.astimezone(zone):%Y-%m-%d %H:%M:%S}", event, did, pid, props)
        for ts, event, did, pid, props in found
    ]
