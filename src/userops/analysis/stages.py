"""Lifecycle stages per person (用户生命周期分层): new, active, silent (at risk), churned and
resurrected, on every local day, kept as dated rows so that transitions can be charted: how many
moved from active to silent this week, how many churned persons came back.

A person's stage on local day D, from the local days A on which they sent tracked events (f, the
first of them, at or before D) and the thresholds N (new), K (active) and C (churn):

    new          D - f < N: first seen within the last N days
    resurrected  active within the last K days (a day of A in (D - K, D]), and the first such day
                 r came after at least C idle days: r - 1 - p >= C, where p is the last day of A
                 before the window (a person with no earlier day is active, not resurrected)
    active       active within the last K days, otherwise
    churned      idle for C days or more: D - last >= C, last the latest day of A up to D
    silent       idle for K to C - 1 days (at risk)

A stage changes only on a day of A, K or C days after one, or N days after f, so a refresh
evaluates each person on those days only (and on the range's first day), in one query over the
events. It writes a row for the range's first day (the stage then) and for every day the stage
changed, with the stage before; rows carry the refresh's time, and readers take only the newest
completed refresh of the project (a later refresh may move or remove a change when late events
arrive). A refresh completes when, its rows all in, it records itself in ``person_refreshes``
(family 'stages'): rows of a refresh whose insert failed half-way are never read, and the next
refresh deletes them. The current stage is also the computed person property
``$lifecycle_stage``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from userops.analysis.person_stats import (
    COMPLETED,
    drop_earlier,
    mark_completed,
    refresh_rows,
)
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.scope import TRACKED, Scope
from userops.analysis.spec import Strict
from userops.errors import BadRequest
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.schema.bodies import parsed_body
from userops.store import EventStore, rows

Stage = Literal["new", "active", "resurrected", "silent", "churned"]
STAGES: tuple[Stage, ...] = ("new", "active", "resurrected", "silent", "churned")
LABELS = {
    "new": ("New", "新用户"),
    "active": ("Active", "活跃用户"),
    "resurrected": ("Resurrected", "回流用户"),
    "silent": ("Silent (at risk)", "沉默用户"),
    "churned": ("Churned", "流失用户"),
}
EPOCH = dt.date(1970, 1, 1)
MAX_DAYS = 366  # days of stages one refresh computes

class StageConfig(Strict):
    """Thresholds in days (the project's local days)."""

    # Strict: JSON's true is not a number of days.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    new_days: Annotated[int, Field(ge=1, le=365)] = 7
    active_days: Annotated[int, Field(ge=1, le=365)] = 7
    churn_days: Annotated[int, Field(ge=2, le=3650)] = 30

    @field_validator("churn_days")
    @classmethod
    def _after_active(cls, churn_days: int, info: ValidationInfo) -> int:
        active_days = info.data.get("active_days")
        if active_days is not None and churn_days <= active_days:
            raise ValueError("churn_days must be more than active_days")
        return churn_days

    @classmethod
    def parse(cls, body: object) -> StageConfig:
        """The config, or ``BadRequest`` naming the first bad field."""
        return parsed_body(cls, body)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def _stage_sql(day: str, q: Scope, config: StageConfig) -> str:
    """The stage on day number ``day`` of a person whose sorted local day numbers are ``days``
    ('' before their first day)."""
    n_new = q.param(config.new_days, "Int32")
    k = q.param(config.active_days, "Int32")
    c = q.param(config.churn_days, "Int32")
    recent = f"arrayExists(a -> a > {day} - {k} AND a <= {day}, days)"
    first_recent = f"arrayFirst(a -> a > {day} - {k}, days)"
    before = f"arrayLast(a -> a <= {day} - {k}, days)"  # 0 when none: day numbers are > 0
    last = f"arrayLast(a -> a <= {day}, days)"
    return f"""multiIf(
        days[1] > {day}, '',
        {day} - days[1] < {n_new}, 'new',
        {recent}, if({before} > 0 AND {first_recent} - 1 - {before} >= {c},
                     'resurrected', 'active'),
        {day} - {last} >= {c}, 'churned',
        'silent')"""


def refresh_stages(store: EventStore, project: Project, config: StageConfig, first: dt.date,
                   last: dt.date, now: dt.datetime | None = None) -> int:  # fmt: skip
    """Compute every person's stages on the local days ``first`` to ``last`` and keep them as
    the project's newest refresh; the number of rows written. Earlier refreshes' rows are
    deleted once the new ones are in."""
    if last < first:
        raise BadRequest("the range ends before it starts", field="start")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(f"at most {MAX_DAYS} days at once", field="end")
    now = now or dt.datetime.now(dt.UTC)
    q = Scope(project.id, project.timezone)
    _, end = day_range(project.timezone, last, last)
    d0 = q.param(day_number(first), "Int32")
    d1 = q.param(day_number(last), "Int32")
    k = q.param(config.active_days, "Int32")
    c = q.param(config.churn_days, "Int32")
    n_new = q.param(config.new_days, "Int32")
    at = q.param(now, "DateTime64(3, 'UTC')")
    stage, previous = _stage_sql("day", q, config), _stage_sql("day - 1", q, config)
    sql = f"""
        INSERT INTO person_stages
        SELECT {{project:UInt32}}, person, addDays(toDate(0), day), stage, previous, {at}
        FROM (
            SELECT person, days, day, {stage} AS stage, {previous} AS previous
            FROM (
                SELECT person, days,
                       arraySort(arrayDistinct(arrayFilter(x -> x >= {d0} AND x <= {d1},
                           arrayConcat([{d0}, days[1] + {n_new}], days,
                                       arrayMap(a -> a + {k}, days),
                                       arrayMap(a -> a + {c}, days))))) AS candidates
                FROM (
                    SELECT {RESOLVED_PERSON} AS person,
                           arraySort(groupUniqArray(toInt32(toDate(e.timestamp, {{tz:String}}))))
                               AS days
                    FROM {RESOLVED_EVENTS}
                    WHERE e.project_id = {{project:UInt32}} AND {TRACKED}
                      AND e.timestamp < {q.param(end, "DateTime64(3, 'UTC')")}
                    GROUP BY person
                )
            )
            ARRAY JOIN candidates AS day
        )
        WHERE (day = {d0} AND stage != '') OR stage != previous
    """  # noqa: S608
    store.command(sql, q.params)
    written = refresh_rows(store, "person_stages", project.id, now)
    mark_completed(store, "stages", project.id, now, config.model_dump())
    drop_earlier(store, "person_stages", project.id, now)
    return written


# The rows of the project's newest completed refresh.
LATEST = f"""
    SELECT * FROM person_stages
    WHERE project_id = {{project:UInt32}} AND refreshed_at = ({COMPLETED.format(family="stages")})
"""  # noqa: S608


def stage_counts(store: EventStore, project_id: int, day: dt.date) -> dict[str, int]:
    """Persons per stage on ``day`` (within the refreshed range), every stage named."""
    found = rows(
        store,
        f"""
        SELECT stage, count() FROM (
            SELECT person_id, argMax(stage, day) AS stage FROM ({LATEST})
            WHERE day <= {{day:Date}} GROUP BY person_id
        ) GROUP BY stage
        """,  # noqa: S608
        {"project": project_id, "day": day},
    )
    counts: dict[str, int] = dict.fromkeys(STAGES, 0)
    counts.update({str(stage): int(n) for stage, n in found})
    return counts


def transitions(store: EventStore, project_id: int, first: dt.date,
                last: dt.date) -> list[tuple[str, str, int]]:  # fmt: skip
    """(from, to, persons) for every change of stage on the days ``first`` to ``last``; ``from``
    is '' for persons first seen then. Most frequent first."""
    found = rows(
        store,
        f"""
        SELECT previous, stage, uniqExact(person_id) AS persons FROM ({LATEST})
        WHERE day >= {{first:Date}} AND day <= {{last:Date}} AND previous != stage
        GROUP BY previous, stage ORDER BY persons DESC, previous, stage
        """,  # noqa: S608
        {"project": project_id, "first": first, "last": last},
    )
    return [(str(a), str(b), int(n)) for a, b, n in found]


def person_stages(store: EventStore, project_id: int,
                  person_id: int) -> list[tuple[dt.date, str, str]]:  # fmt: skip
    """One person's dated stages: (day, stage, previous), oldest first."""
    found = rows(
        store,
        f"SELECT day, stage, previous FROM ({LATEST}) WHERE person_id = {{person:UInt64}} "  # noqa: S608
        "ORDER BY day",
        {"project": project_id, "person": person_id},
    )
    return [(day, str(stage), str(previous)) for day, stage, previous in found]


def today_in(project: Project, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(project.timezone)).date()


def last_refreshed_day(store: EventStore, project: Project) -> dt.date | None:
    """The local day the project's newest completed refresh computed up to (its ``today``)."""
    [(at,)] = rows(store, COMPLETED.format(family="stages"), {"project": project.id})
    if at is None or at.year <= 1970:  # max() of no rows
        return None
    moment = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return today_in(project, moment)
