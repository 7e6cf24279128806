"""Computed person properties (计算属性): facts folded from each person's tracked events, kept in
the event store's ``person_stats`` table, and read in filters, breakdowns and segments like any
trait, under names that start with ``$`` (a trait cannot be named so by the SDKs' conventions,
and these never collide with one).

    $first_seen, $last_seen           first and last tracked event (ISO text, UTC)
    $first_channel                    utm_source of the first event that has one (first touch)
    $first_utm_medium, $first_utm_campaign   that same event's medium and campaign
    $events, $events_30d              tracked events, all time and in the last 30 days
    $active_days_30d                  local days with a tracked event in the last 30 days
    $orders, $revenue, $revenue_30d   the project's order event: count, revenue (the project's
                                      revenue property) all time and in the last 30 days
    $last_order_at                    the last order's time (ISO text, UTC)

"Last 30 days" are whole local days in the project's time zone: the refresh's day and the 29
before it. A refresh recomputes every person of the project in one INSERT ... SELECT and marks
the rows with its time, then deletes the rows of earlier refreshes (a person merged away since
keeps none); readers take each person's newest row (ReplacingMergeTree, FINAL).
Rows belong to the person each event resolved to at the refresh: after a merge, the surviving
person's properties cover the absorbed person's events from the next refresh on.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from userops.analysis.person_stats import COMPUTED, drop_earlier, is_computed, refresh_rows
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.scope import TRACKED, Scope
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.store import EventStore, rows

RECENT_DAYS = 30
__all__ = ["COMPUTED", "is_computed", "last_refresh", "refresh"]

def refresh_sql(project: Project, now: dt.datetime) -> tuple[str, dict[str, object]]:
    """The INSERT ... SELECT that recomputes every person of the project as of ``now``."""
    zone = project.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    recent_start, _ = day_range(zone, today - dt.timedelta(days=RECENT_DAYS - 1), today)
    q = Scope(project.id, zone)
    utc = "DateTime64(3, 'UTC')"
    recent = f"e.timestamp >= {q.param(recent_start, utc)}"
    is_order = q.event_is(project.order_event)
    amount = f"ifNull({q.number('event', project.revenue_property)}, 0)"
    at = q.param(now, utc)
    # First touch: the earliest event with a utm_source, ties by message id as everywhere.
    touch = "(e.timestamp, e.message_id)"
    sql = f"""
        INSERT INTO person_stats
        SELECT {{project:UInt32}}, person, {at}, first_seen, last_seen, first_channel,
               first_medium, first_campaign, events, events_30d, active_days_30d, orders,
               revenue, revenue_30d, last_order_at
        FROM (
            SELECT {RESOLVED_PERSON} AS person,
                   min(e.timestamp) AS first_seen,
                   max(e.timestamp) AS last_seen,
                   argMinIf(e.utm_source, {touch}, e.utm_source != '') AS first_channel,
                   argMinIf(e.utm_medium, {touch}, e.utm_source != '') AS first_medium,
                   argMinIf(e.utm_campaign, {touch}, e.utm_source != '') AS first_campaign,
                   count() AS events,
                   countIf({recent}) AS events_30d,
                   uniqExactIf(toDate(e.timestamp, {{tz:String}}), {recent}) AS active_days_30d,
                   countIf({is_order}) AS orders,
                   sumIf({amount}, {is_order}) AS revenue,
                   sumIf({amount}, {is_order} AND {recent}) AS revenue_30d,
                   if(orders = 0, NULL, maxIf(e.timestamp, {is_order})) AS last_order_at
            FROM {RESOLVED_EVENTS}
            WHERE e.project_id = {{project:UInt32}} AND {TRACKED}
              AND e.timestamp < {at}
            GROUP BY person
        )
    """  # noqa: S608
    return sql, q.params


def refresh(store: EventStore, project: Project, now: dt.datetime | None = None) -> int:
    """Recompute every person's properties as of ``now``; the number of persons computed."""
    now = now or dt.datetime.now(dt.UTC)
    sql, params = refresh_sql(project, now)
    store.command(sql, params)
    persons = refresh_rows(store, "person_stats", project.id, now)
    drop_earlier(store, "person_stats", project.id, now)
    return persons


def last_refresh(store: EventStore, project_id: int) -> dt.datetime | None:
    found = rows(
        store,
        "SELECT max(refreshed_at), count() FROM person_stats WHERE project_id = {project:UInt32}",
        {"project": project_id},
    )
    if not found or not found[0][1]:
        return None
    moment: dt.datetime = found[0][0]
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
