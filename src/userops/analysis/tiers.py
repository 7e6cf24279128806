"""Value tiers (核心用户 / 大众用户): core and mass persons by a chosen value metric, kept in the
event store's ``person_tiers`` table and read like a trait as ``$value_tier`` ("core" or
"mass", with the metric's value as ``$value_tier_metric_value``).

The metric is one of the numeric computed properties (``TIER_METRICS``: ``$revenue``,
``$orders``, ``$events_30d``, ... from ``person_stats``, or ``$rfm_monetary`` from
``person_rfm``), as their last refresh left it; the persons with the metric are the persons with
a row there (for ``$rfm_monetary``, the persons RFM scored). With p the core percentile (1..99)
and v_1 <= v_2 <= ... <= v_n the n positive values among them (a value of 0 or less, such as the
revenue of a person who never ordered, takes no part in the ranking),

    threshold = v_k  with  k = floor(n * p / 100) + 1      (1 <= k <= n, in integers)
    core      value >= threshold                            (ties at the threshold all core)
    mass      every other person with the metric

so at least n - floor(n * p / 100) persons are core (the top 100 - p percent of the positive
values, rounded up), more when several share the threshold's value; a lone positive value is
core. With no positive value there is no threshold and everyone is mass.

A refresh writes every person with the metric in one INSERT ... SELECT, records itself in
``person_refreshes`` (family 'tiers', with the metric, percentile and threshold it used), then
deletes earlier refreshes' rows, so persons that lost the metric (merged away) do not linger.
Readers take the rows of the newest completed refresh, so one that failed part-way is never read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from userops.analysis.layers import TierConfig
from userops.analysis.person_stats import SOURCES as SOURCES_BY_TABLE
from userops.analysis.person_stats import (
    completed_detail,
    drop_earlier,
    mark_completed,
    refresh_rows,
)
from userops.meta.models import Project
from userops.store import EventStore, rows

TIERS = ("core", "mass")
LABELS = {"core": {"zh-CN": "核心用户", "en": "Core"}, "mass": {"zh-CN": "大众用户", "en": "Mass"}}
_STATS = "SELECT person_id, toFloat64({column}) AS value FROM person_stats FINAL " \
         "WHERE project_id = {{project:UInt32}}"  # fmt: skip
# Each metric's (person_id, value) rows; fixed SQL, a setting only selects among them.
SOURCES: dict[str, str] = {
    "$revenue": _STATS.format(column="revenue"),
    "$revenue_30d": _STATS.format(column="revenue_30d"),
    "$orders": _STATS.format(column="orders"),
    "$events": _STATS.format(column="events"),
    "$events_30d": _STATS.format(column="events_30d"),
    "$active_days_30d": _STATS.format(column="active_days_30d"),
    "$rfm_monetary": "SELECT person_id, monetary AS value FROM person_rfm FINAL "
                     "WHERE project_id = {project:UInt32} AND rfm_group != ''",
}  # fmt: skip


def refresh_tiers(store: EventStore, project: Project, config: TierConfig,
                  now: dt.datetime | None = None) -> int:  # fmt: skip
    """Tier every person with the metric as of ``now``; the number of persons tiered."""
    now = now or dt.datetime.now(dt.UTC)
    source = SOURCES[config.metric]
    params: dict[str, Any] = {"project": project.id, "at": now, "metric": config.metric,
                              "p": config.core_percentile}  # fmt: skip
    # arraySort(...)[k] is 1-based; of no values it is 0, hence the NULL.
    store.command(
        f"""
        INSERT INTO person_tiers
        SELECT {{project:UInt32}}, v.person_id, {{at:DateTime64(3, 'UTC')}}, {{metric:String}},
               v.value, if(t.threshold IS NOT NULL AND v.value >= t.threshold, 'core', 'mass')
        FROM ({source}) AS v
        CROSS JOIN (
            SELECT if(count() = 0, NULL,
                      arraySort(groupArray(value))[intDiv(count() * {{p:UInt64}}, 100) + 1])
                   AS threshold
            FROM ({source}) WHERE value > 0
        ) AS t
        """,  # noqa: S608
        params,
    )
    tiered = refresh_rows(store, "person_tiers", project.id, now)
    [(least, core)] = rows(
        store,
        "SELECT minIf(value, tier = 'core'), countIf(tier = 'core') FROM person_tiers "
        "WHERE project_id = {project:UInt32} AND refreshed_at = {at:DateTime64(3, 'UTC')}",
        params,
    )
    threshold = float(least) if core else None
    mark_completed(store, "tiers", project.id, now,
                   {**config.model_dump(), "threshold": threshold})  # fmt: skip
    drop_earlier(store, "person_tiers", project.id, now)
    return tiered


class TierSummary(TypedDict):
    tier: str  # "core" or "mass"; labels in ``LABELS``
    persons: int
    value: float  # the sum of the tier's metric values
    share: float  # of all tiers' value; 0 when that is 0


def tier_summary(store: EventStore, project_id: int,
                 settings: TierConfig) -> dict[str, Any]:  # fmt: skip
    """The last refresh's metric, percentile and threshold (``settings``' metric and
    percentile, no threshold, before any) and both tiers' persons and value, core first."""
    found = rows(
        store,
        f"SELECT tier, count(), sum(value) FROM ({SOURCES_BY_TABLE['person_tiers']}) "  # noqa: S608
        "WHERE tier != '' GROUP BY tier",
        {"project": project_id},
    )
    by_tier = {str(tier): (int(persons), float(value)) for tier, persons, value in found}
    total = sum(value for _, value in by_tier.values())
    tiers: list[TierSummary] = []
    for tier in TIERS:
        persons, value = by_tier.get(tier, (0, 0.0))
        tiers.append(TierSummary(tier=tier, persons=persons, value=value,
                                 share=value / total if total else 0.0))  # fmt: skip
    done = completed_detail(store, "tiers", project_id)
    used = done[1] if done else {}
    return {"metric": used.get("metric", settings.metric),
            "core_percentile": used.get("core_percentile", settings.core_percentile),
            "threshold": used.get("threshold"),
            "refreshed_at": done[0] if done else None,
            "tiers": tiers}  # fmt: skip
