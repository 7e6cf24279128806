"""RFM (最近一次消费、消费频率、消费金额): each paying person's recency, frequency and monetary
value, their 1..5 scores and the eight classic value groups (用户分层), kept in the event
store's ``person_rfm`` table and read like computed properties (``$rfm_group``, ...).

Over the window, whole local days in the project's time zone (the refresh's day and the
``window_days - 1`` before it, up to the refresh's moment), a person with at least one value
event (``value_event``, by default the project's order event) has:

    recency_days   days from the local day of their last value event to the refresh's day
    frequency      their value events
    monetary       the sum of the value property (by default the project's revenue
                   property; a missing, non-numeric or non-finite value counts 0), rounded to
                   6 decimals so that equal amounts summed in another order still tie

Scores, per project among the n persons scored: a value's rank0 is the number of scored
persons with a strictly worse value (so equal values share the lowest rank), and

    score = 1 + floor(5 * rank0 / n)                                    (1..5)

where worse means a larger recency_days for R and a smaller frequency or monetary for F and
M: the most recent, most frequent and biggest spenders score 5, a lone person scores 111.
``$rfm_score`` is the three digits as text ("535").

Groups compare each raw value with the project's average over the scored persons: R is high
when recency_days < the average, F when frequency > the average, M when monetary > the
average; a value exactly at the average is low. Computed without division and in integers
(recency_days * n < the sum of recency_days, ...; monetary, which has 6 decimals, counted in
millionths), so every comparison is exact: in floats, 1.1 among 1.9, 0.3 and 1.1 would be above
their average, 1.1 * 3 being 3.3000000000000003. ``GROUPS`` gives the eight groups'
codes (stored in ``rfm_group``) and their zh-CN and en labels.

A refresh rewrites the project in one INSERT ... SELECT, one scan of the value events: each
person's values, then the ranks and sums as window functions over all of them. Persons scored
at the previous refresh and not now (no value event left in the window, or absorbed by a
merge) get a row with an empty ``rfm_group``: their properties read as not set, and
``rfm_summary`` leaves them out. Readers take each person's newest row (FINAL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict
from zoneinfo import ZoneInfo

import orjson
from pydantic import ConfigDict, Field

from userops.analysis.funnel import EventName
from userops.analysis.person_stats import TABLES, refresh_rows
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.scope import TRACKED, Scope
from userops.analysis.spec import PropertyKey, Strict
from userops.errors import BadRequest
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.schema.bodies import parsed_body
from userops.store import EventStore, rows

__all__ = [
    "GROUPS", "LABELS", "RFM_PROPERTIES", "GroupSummary", "RfmConfig",
    "RfmGroup", "parse_rfm_config", "refresh_rfm", "rfm_summary",
]  # fmt: skip

BINS = 5
MAX_WINDOW_DAYS = 3650

@dataclass(frozen=True)
class RfmGroup:
    code: str
    r_high: bool
    f_high: bool
    m_high: bool
    zh: str
    en: str


# The classic order, which the chart and ``rfm_summary`` keep.
GROUPS: tuple[RfmGroup, ...] = (
    RfmGroup("important_value", True, True, True, "重要价值客户", "Champions"),
    RfmGroup("important_develop", True, False, True, "重要发展客户", "Potential loyalists"),
    RfmGroup("important_retain", False, True, True, "重要保持客户", "At risk"),
    RfmGroup("important_win_back", False, False, True, "重要挽留客户", "Can't lose them"),
    RfmGroup("general_value", True, True, False, "一般价值客户", "Loyal customers"),
    RfmGroup("general_develop", True, False, False, "一般发展客户", "New customers"),
    RfmGroup("general_retain", False, True, False, "一般保持客户", "Need attention"),
    RfmGroup("general_win_back", False, False, False, "一般挽留客户", "Hibernating"),
)
LABELS: dict[str, dict[str, str]] = {g.code: {"zh-CN": g.zh, "en": g.en} for g in GROUPS}
# The group codes indexed by 1 + 4 * r_high + 2 * f_high + m_high (ClickHouse arrays from 1).
_BY_BITS = [next(g.code for g in GROUPS if (g.r_high, g.f_high, g.m_high) == (r, f, m))
            for r in (False, True) for f in (False, True) for m in (False, True)]  # fmt: skip


RFM_PROPERTIES = TABLES["person_rfm"]  # readable like traits, as ``person_stats`` wires them


class RfmConfig(Strict):
    """What RFM counts: value events in the last ``window_days`` local days, summing
    ``value_property`` (the project's order event and revenue property when not given)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    window_days: Annotated[int, Field(ge=1, le=MAX_WINDOW_DAYS)] = 365
    value_event: EventName | None = None
    value_property: PropertyKey | None = None
    bins: Literal[5] = 5  # quintiles; fixed, named so a config says what it assumes


def parse_rfm_config(config: str | bytes | Mapping[str, Any] | None) -> RfmConfig:
    """The typed config, or ``BadRequest`` naming the first bad field, as every request body's
    (``userops.schema.bodies``)."""
    if config is None:
        return RfmConfig()
    if isinstance(config, str | bytes):
        try:
            config = orjson.loads(config)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the rfm config is not JSON: {exc}", field=None) from None
    return parsed_body(RfmConfig, dict(config) if isinstance(config, Mapping) else config)


def refresh_sql(
    project: Project, config: RfmConfig, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    """The INSERT ... SELECT that rescores every person of the project as of ``now``."""
    zone = project.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    start, _ = day_range(zone, today - dt.timedelta(days=config.window_days - 1), today)
    q = Scope(project.id, zone)
    utc = "DateTime64(3, 'UTC')"
    at = q.param(now, utc)
    is_value = q.event_is(config.value_event or project.order_event)
    value = q.number("event", config.value_property or project.revenue_property)
    amount = f"ifNull(if(isFinite({value}), {value}, 0), 0)"
    bins = q.param(BINS, "UInt64")
    # Worse values first, so that rank() - 1 counts the persons strictly worse (ties share it).
    ranks = {"r": "recency_days DESC", "f": "frequency", "m": "monetary"}
    ranked = ", ".join(f"rank() OVER (ORDER BY {order}) - 1 AS {name}_rank"
                       for name, order in ranks.items())  # fmt: skip
    scores = ", ".join(f"toUInt8(1 + intDiv({bins} * {name}_rank, n)) AS {name}"
                       for name in ranks)  # fmt: skip
    bits = ("1 + 4 * (recency_days * n < recency_sum) + 2 * (frequency * n > frequency_sum)"
            " + (micros * n > micros_sum)")  # fmt: skip
    # Persons scored last time and not now (``old`` only) get the scored side's defaults, 0
    # and '' (join_use_nulls = 0): a row without a group, so their properties read as not set.
    sql = f"""
        INSERT INTO person_rfm
        SELECT {{project:UInt32}}, if(s.person != 0, s.person, old.person_id), {at},
               s.recency_days, s.frequency, s.monetary, s.r, s.f, s.m, s.rfm_group
        FROM (
            SELECT person, recency_days, frequency, monetary, {scores},
                   {q.param(_BY_BITS, "Array(String)")}[{bits}] AS rfm_group
            FROM (
                SELECT person, recency_days, frequency, monetary, micros, {ranked},
                       count() OVER () AS n,
                       sum(recency_days) OVER () AS recency_sum,
                       sum(frequency) OVER () AS frequency_sum,
                       sum(micros) OVER () AS micros_sum
                FROM (
                    SELECT {RESOLVED_PERSON} AS person,
                           toUInt32({q.param(today, "Date")}
                                    - toDate(max(e.timestamp), {{tz:String}})) AS recency_days,
                           count() AS frequency,
                           round(sum({amount}), 6) AS monetary,
                           toInt128(round(monetary * 1000000)) AS micros
                    FROM {RESOLVED_EVENTS}
                    WHERE e.project_id = {{project:UInt32}} AND {TRACKED} AND {is_value}
                      AND e.timestamp >= {q.param(start, utc)} AND e.timestamp < {at}
                    GROUP BY person
                )
            )
        ) AS s
        FULL OUTER JOIN (
            SELECT person_id FROM person_rfm FINAL
            WHERE project_id = {{project:UInt32}} AND rfm_group != ''
        ) AS old ON s.person = old.person_id
        SETTINGS join_use_nulls = 0
    """  # noqa: S608
    return sql, q.params


def refresh_rfm(
    store: EventStore,
    project: Project,
    config: RfmConfig | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Rescore every person of the project as of ``now``; the number of persons scored."""
    now = now or dt.datetime.now(dt.UTC)
    sql, params = refresh_sql(project, config or RfmConfig(), now)
    store.command(sql, params)
    return refresh_rows(store, "person_rfm", project.id, now, "rfm_group != ''")


class GroupSummary(TypedDict):
    group: str  # a code of ``GROUPS``; labels in ``LABELS``
    persons: int
    revenue: float  # the sum of the group's monetary values
    revenue_share: float  # of all groups' revenue; 0 when that is 0


def rfm_summary(store: EventStore, project_id: int) -> list[GroupSummary]:
    """Every group's persons and revenue at the last refresh, in ``GROUPS`` order, zeros
    included: the chart of group sizes and revenue shares."""
    found = rows(
        store,
        "SELECT rfm_group, count(), sum(monetary) FROM person_rfm FINAL "
        "WHERE project_id = {project:UInt32} AND rfm_group != '' GROUP BY rfm_group",
        {"project": project_id},
    )
    by_group = {str(group): (int(persons), float(revenue)) for group, persons, revenue in found}
    total = sum(revenue for _, revenue in by_group.values())
    out: list[GroupSummary] = []
    for group in GROUPS:
        persons, revenue = by_group.get(group.code, (0, 0.0))
        out.append(GroupSummary(group=group.code, persons=persons, revenue=revenue,
                                revenue_share=revenue / total if total else 0.0))  # fmt: skip
    return out
