"""Persons as the console lists them: search by any id or trait, pages of summaries, and one
person's events newest first.

A person here is one that holds distinct ids now (an absorbed person holds none until its merge
is undone). Lists are ordered by person number, newest first: cheap to page in the metadata
store, and stable while events arrive. A search matches, ignoring case, any part of any distinct
id, any part of any current trait value (its filter text: strings unquoted, other values as JSON
text), or the person's number. The search text only ever reaches SQL as a bind parameter.
Summaries can also be asked for by person number (``by_numbers``), as the funnel's list of
persons does for the numbers it shows.

The event timeline pages by time: ``before`` is exclusive, and a page that would end inside a
run of events sharing one millisecond takes the whole run, so the next page (everything before
that millisecond) neither repeats nor skips an event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.definitions import CURRENT_TRAITS, TRAIT_TEXT
from userops.errors import BadRequest, NotFound
from userops.identity.profile import fold_traits
from userops.meta.models import DistinctId, Merge, Person
from userops.store import EventStore, rows

MAX_LIMIT = 200
MAX_OFFSET = 10_000
MAX_EVENTS = 500
MAX_NUMBERS = 500  # persons asked for by number at once
BIGINT = 2**63 - 1
# Traits that name a person, in the order the list's `display` prefers them.
DISPLAY_TRAITS = ("email", "name")


@dataclass(frozen=True)
class PersonSummary:
    person_id: int
    display: str
    distinct_ids: list[str]
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    event_count: int


@dataclass(frozen=True)
class PersonPage:
    persons: list[PersonSummary]
    has_more: bool


@dataclass(frozen=True)
class TimelineEvent:
    uuid: str
    event: str
    type: str
    timestamp: dt.datetime
    distinct_id: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Timeline:
    events: list[TimelineEvent]
    next_before: dt.datetime | None


def current_person(sessions: sessionmaker[Session], project_id: int, person_id: int) -> int:
    """The person holding ``person_id``'s ids now: itself, or, for an absorbed person, whoever
    holds the anchor of the merge that absorbed it (as ``repository.person_of`` follows it,
    without reading the number as a distinct id first)."""
    with sessions() as session:
        person = session.get(Person, person_id)
        if person is None or person.project_id != project_id:
            raise NotFound(f"no person {person_id} in this project", field="person_id")
        if person.merged_into is None:
            return person.id
        anchor = session.scalar(
            select(Merge.absorbed_anchor)
            .where(Merge.absorbed_id == person.id, Merge.undone_at.is_(None))
            .order_by(Merge.id.desc())
            .limit(1)
        )
        holder = None
        if anchor is not None:
            holder = session.scalar(
                select(DistinctId.person_id).where(
                    DistinctId.project_id == project_id, DistinctId.distinct_id == anchor
                )
            )
        return holder or person.merged_into


# --- which persons ---------------------------------------------------------------------------


def _listed(sessions: sessionmaker[Session], project_id: int, skip: int, take: int) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(DistinctId.person_id)
                .where(DistinctId.project_id == project_id)
                .distinct()
                .order_by(DistinctId.person_id.desc())
                .offset(skip)
                .limit(take)
            )
        )


def _by_id(sessions: sessionmaker[Session], project_id: int, text: str, take: int) -> list[int]:
    """Persons with a distinct id containing ``text``, or numbered ``text``."""
    with sessions() as session:
        found = set(
            session.scalars(
                select(DistinctId.person_id)
                .where(
                    DistinctId.project_id == project_id,
                    DistinctId.distinct_id.icontains(text, autoescape=True),
                )
                .distinct()
                .order_by(DistinctId.person_id.desc())
                .limit(take)
            )
        )
        if text.isdigit() and len(text) < 19:  # a person number (fits a BIGINT)
            holds = session.scalar(
                select(DistinctId.person_id)
                .where(DistinctId.project_id == project_id, DistinctId.person_id == int(text))
                .limit(1)
            )
            if holds is not None:
                found.add(holds)
    return sorted(found, reverse=True)[:take]


def _by_trait(store: EventStore, project_id: int, text: str, take: int) -> list[int]:
    """Persons with a current trait value containing ``text``."""
    found = rows(
        store,
        f"""
        SELECT person_id FROM ({CURRENT_TRAITS})
        WHERE raw != 'null'
          AND positionCaseInsensitiveUTF8({TRAIT_TEXT}, {{needle:String}}) > 0
        GROUP BY person_id ORDER BY person_id DESC LIMIT {{take:UInt32}}
        """,  # noqa: S608
        {"project": project_id, "needle": text, "take": take},
    )
    return [int(person) for (person,) in found]


def _matching(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, text: str, take: int
) -> list[int]:
    """The first ``take`` matching persons, newest first: the union's first ``take`` are among
    each source's first ``take``."""
    found = set(_by_id(sessions, project_id, text, take))
    found.update(_by_trait(store, project_id, text, take))
    if found:  # a trait match holds ids now (resolved through the overrides); check anyway
        with sessions() as session:
            found &= set(
                session.scalars(
                    select(DistinctId.person_id).where(
                        DistinctId.project_id == project_id, DistinctId.person_id.in_(found)
                    )
                )
            )
    return sorted(found, reverse=True)[:take]


# --- what each person looks like ------------------------------------------------------------


def _ids_of(
    sessions: sessionmaker[Session], project_id: int, persons: list[int]
) -> dict[int, list[str]]:
    ids: dict[int, list[str]] = {person: [] for person in persons}
    with sessions() as session:
        for distinct_id, person in session.execute(
            select(DistinctId.distinct_id, DistinctId.person_id).where(
                DistinctId.project_id == project_id, DistinctId.person_id.in_(persons)
            )
        ):
            ids[person].append(distinct_id)
    return {person: sorted(found) for person, found in ids.items()}


def _display(traits: dict[str, Any], ids: list[str]) -> str:
    for key in DISPLAY_TRAITS:
        value = traits.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ids[0] if ids else ""


def summaries(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, persons: list[int]
) -> list[PersonSummary]:
    """Each person's ids, display name, event count and first/last seen, in ``persons``' order."""
    ids = _ids_of(sessions, project_id, persons)
    owner = {distinct_id: person for person, found in ids.items() for distinct_id in found}
    params = {"project": project_id, "ids": list(owner)}
    where = ("e.project_id = {project:UInt32} "
             "AND e.distinct_id IN (SELECT arrayJoin({ids:Array(String)}))")  # fmt: skip
    stats: dict[int, tuple[int, dt.datetime | None, dt.datetime | None]] = {}
    for distinct_id, count, first, last in rows(
        store,
        f"""
        SELECT e.distinct_id, count(), min(e.timestamp), max(e.timestamp) FROM events AS e
        WHERE {where} GROUP BY e.distinct_id
        """,  # noqa: S608
        params,
    ):
        n, low, high = stats.get(owner[distinct_id], (0, None, None))
        stats[owner[distinct_id]] = (n + int(count), min(low or first, first),
                                     max(high or last, last))  # fmt: skip
    updates: dict[int, list[tuple[str, str]]] = {}
    for distinct_id, traits, once in rows(
        store,
        f"""
        SELECT e.distinct_id, e.traits, e.traits_once FROM events AS e
        WHERE {where} AND (e.traits != '' OR e.traits_once != '')
        ORDER BY e.timestamp, e.message_id
        """,  # noqa: S608
        params,
    ):
        updates.setdefault(owner[distinct_id], []).append((traits, once))
    found = []
    for person in persons:
        count, first, last = stats.get(person, (0, None, None))
        traits = fold_traits(updates.get(person, []))
        found.append(PersonSummary(person, _display(traits, ids[person]), ids[person], first,
                                   last, count))  # fmt: skip
    return found


def parse_numbers(text: str) -> list[int]:
    """``"12,7, 12"`` as ``[12, 7]``: person numbers, comma-separated, the first of repeats
    kept; BadRequest naming ``ids`` for anything else or more than ``MAX_NUMBERS``."""
    parts = [part.strip() for part in text.split(",")]
    numbers: dict[int, None] = {}
    for part in parts:
        if not (part.isascii() and part.isdigit()) or not 0 < int(part) <= BIGINT:
            shown = part if len(part) <= 40 else part[:40] + "…"
            raise BadRequest(f"ids: {shown!r} is not a person number; give numbers separated by "
                             "commas", field="ids")  # fmt: skip
        numbers.setdefault(int(part), None)
    if len(numbers) > MAX_NUMBERS:
        raise BadRequest(f"ids: give at most {MAX_NUMBERS} persons at once", field="ids")
    return list(numbers)


def by_numbers(
    sessions: sessionmaker[Session], store: EventStore, project_id: int, numbers: list[int]
) -> list[PersonSummary]:
    """The summaries of those of ``numbers`` that are persons of the project holding ids now,
    in the order given; any other number (another project's, an absorbed person's, none) is
    left out."""
    if not numbers:
        return []
    with sessions() as session:
        holding = set(
            session.scalars(
                select(DistinctId.person_id)
                .where(DistinctId.project_id == project_id, DistinctId.person_id.in_(numbers))
                .distinct()
            )
        )
    return summaries(sessions, store, project_id, [n for n in numbers if n in holding])


def list_persons(
    sessions: sessionmaker[Session],
    store: EventStore,
    project_id: int,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
) -> PersonPage:
    """A page of persons (newest first), of those matching ``search`` when it is not blank."""
    text = search.strip()
    if "\x00" in text:  # SQLite's LIKE reads text only up to a NUL, which then matches all
        raise BadRequest("search: the text may not contain NUL characters", field="search")
    if text:
        persons = _matching(sessions, store, project_id, text, offset + limit + 1)[offset:]
    else:
        persons = _listed(sessions, project_id, offset, limit + 1)
    return PersonPage(summaries(sessions, store, project_id, persons[:limit]),
                      has_more=len(persons) > limit)  # fmt: skip


# --- a person's events -----------------------------------------------------------------------

_TIMELINE = """
    SELECT toString(e.uuid), e.event, e.type, e.timestamp, e.distinct_id, e.properties
    FROM events AS e
    WHERE e.project_id = {project:UInt32}
      AND e.distinct_id IN (SELECT arrayJoin({ids:Array(String)}))
      AND %s
    ORDER BY e.timestamp DESC, e.uuid DESC
"""


def _events(found: Iterable[tuple[Any, ...]]) -> list[TimelineEvent]:
    return [
        TimelineEvent(uuid, event, type_, at, distinct_id, orjson.loads(props) if props else {})
        for uuid, event, type_, at, distinct_id, props in found
    ]


def timeline(
    store: EventStore,
    project_id: int,
    ids: list[str],
    before: dt.datetime | None = None,
    limit: int = 50,
) -> Timeline:
    """The events of a person with ``ids`` before ``before`` (all when None), newest first."""
    params: dict[str, Any] = {"project": project_id, "ids": ids, "limit": limit + 1}
    condition = "1"
    if before is not None:
        params["before"] = before
        condition = "e.timestamp < {before:DateTime64(3, 'UTC')}"
    found = rows(store, _TIMELINE % condition + " LIMIT {limit:UInt32}", params)
    if len(found) <= limit:
        return Timeline(_events(found), None)
    edge = found[limit - 1][3]
    if found[limit][3] != edge:
        return Timeline(_events(found[:limit]), edge)
    # The page ends inside a run of events at one millisecond: take the whole run.
    params["at"] = edge
    run = rows(store, _TIMELINE % "e.timestamp = {at:DateTime64(3, 'UTC')}", params)
    earlier = rows(store, _TIMELINE % "e.timestamp < {at:DateTime64(3, 'UTC')}" + " LIMIT 1",
                   params)  # fmt: skip
    page = [row for row in found if row[3] > edge] + run
    return Timeline(_events(page), edge if earlier else None)
