"""Each analysis runner, spec to result, against hand-written ClickHouse SQL on the same store.

    python benchmarks/analyses.py --events 10000000
    python benchmarks/analyses.py --events 50000000 --runs 3

Generates ``--events`` synthetic events straight into a fresh data directory's events table with
chDB's own generators (no Python per row): about one person per 50 events with skewed activity,
20 event names with a Zipf-like mix (the purchase funnel view_item -> add_to_cart -> checkout ->
order_completed among them), 90 days ending yesterday in Asia/Shanghai, a revenue property on
orders, a first-touch channel on a fifth of events, and anonymous ids for a tenth of events
whose person was merged later (rows in ``person_overrides``), so every query resolves persons
the way real data needs.

Then, per analysis, it times the runner's full path (``parse_spec`` + ``run_query``: the same
call REST and the CLI make) and the SQL an expert would write by hand for the same answer with
ClickHouse's own functions (uniqExact for active users, windowFunnel for funnels, per-person
arrays for retention), best of ``--runs`` each, alternating, and prints both times and the ratio
runner / hand-written. Target (issue 5): at most 1.2 at 10M and at 50M events. The hand-written
queries resolve persons through the same overrides, or they would answer another question.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from userops.analysis.query import KINDS, parse_spec, run_query
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.config import load_settings
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.store import EventStore, rows, scalar

TIMEZONE = "Asia/Shanghai"
DAYS = 90
FUNNEL = ("view_item", "add_to_cart", "checkout", "order_completed")
EVENT_NAMES = (
    "$pageview", "view_item", "app_open", "search", "$screen", "add_to_cart", "click_banner",
    "login", "share", "checkout", "order_completed", "check_in", "add_favorite", "coupon_claim",
    "signup", "comment", "refund", "invite_friend", "subscribe", "logout",
)  # fmt: skip
CHANNELS = ("baidu", "douyin", "wechat", "xiaohongshu", "weibo", "organic")

# Rows straight from chDB's generators. ``n`` is the row number; rand(k) are independent.
# Persons: skewed so a few are heavy users. An anonymous tenth of events carries a stale person
# id (person + 100M) that person_overrides maps back to the real person for persons p % 3 = 0.
GENERATE = """
INSERT INTO events (project_id, message_id, type, event, timestamp, received_at, distinct_id,
                    person_id, anonymous_id, user_id, properties, context)
SELECT
    {project:UInt32}, toString(number), 'track', event, ts, ts,
    if(anonymous, concat('a', toString(person)), concat('u', toString(person))),
    if(anonymous, person + 100000000, person),
    if(anonymous, concat('a', toString(person)), ''),
    if(anonymous, '', concat('u', toString(person))),
    if(event = 'order_completed',
       concat('{"revenue":', toString(round(10 + (rand(3) % 50000) / 100, 2)),
              ',"category":"c', toString(rand(4) % 10), '"}'),
       concat('{"category":"c', toString(rand(4) % 10), '","price":', toString(rand(5) % 500),
              '}')),
    if(rand(6) % 5 = 0,
       concat('{"campaign":{"source":"', {channels:Array(String)}[1 + rand(7) % 6], '"}}'), '')
FROM (
    SELECT number,
        1 + toUInt64(pow(rand(1) / 4294967296.0, 2.5) * {persons:UInt64}) AS person,
        {names:Array(String)}[1 + toUInt32(pow(rand(2) / 4294967296.0, 1.6) * 20)] AS event,
        toDateTime64({start:Int64} + rand(8) % ({days:UInt32} * 86400)
                     + (rand(9) % 1000) / 1000.0, 3, 'UTC') AS ts,
        rand(10) % 10 = 0 AS anonymous
    FROM numbers({count:UInt64})
)
"""
OVERRIDES = """
INSERT INTO person_overrides
SELECT {project:UInt32}, concat('a', toString(number)), number, 1
FROM numbers(1, {persons:UInt64}) WHERE number % 3 = 0
"""


@dataclass(frozen=True)
class Case:
    name: str
    spec: dict[str, Any]
    # SQL with {project}, {tz}, {start}, {end} and its own parameters; several run one by one.
    handwritten: str | tuple[str, ...]
    params: dict[str, Any]


def load(store: EventStore, project_id: int, count: int, last_day: dt.date) -> None:
    first_day = last_day - dt.timedelta(days=DAYS - 1)
    start, _ = day_range(TIMEZONE, first_day, last_day)
    persons = max(1, count // 50)
    began = time.perf_counter()
    chunk = 5_000_000  # keeps memory flat at 50M rows
    for offset in range(0, count, chunk):
        store.command(GENERATE.replace("FROM numbers({count:UInt64})",
                                     f"FROM numbers({offset}, {{count:UInt64}})"),
             {"project": project_id, "persons": persons, "names": list(EVENT_NAMES),
              "channels": list(CHANNELS), "start": int(start.timestamp()), "days": DAYS,
              "count": min(chunk, count - offset)})  # fmt: skip
    store.command(OVERRIDES, {"project": project_id, "persons": persons})
    store.command("OPTIMIZE TABLE events FINAL")
    took = time.perf_counter() - began
    total = scalar(store, "SELECT count() FROM events")
    print(f"loaded {total:,} events for {persons:,} persons in {took:.1f} s", file=sys.stderr)


def cases(last_day: dt.date) -> list[Case]:
    first_30 = last_day - dt.timedelta(days=29)
    start, end = day_range(TIMEZONE, first_30, last_day)
    window = {"start": start, "end": end}
    scope = f"FROM {RESOLVED_EVENTS} WHERE e.project_id = {{project:UInt32}} " \
            "AND e.timestamp >= {start:DateTime64(3, 'UTC')} " \
            "AND e.timestamp < {end:DateTime64(3, 'UTC')}"  # fmt: skip
    dates = {"start": str(first_30), "end": str(last_day)}
    out = [
        Case(
            "trends: daily active persons (uniqExact)",
            {"kind": "trends", "date_range": dates, "interval": "day",
             "series": [{"event": "view_item", "math": "unique_persons"}]},
            # Per day and over the whole range, as the runner answers (GROUPING SETS).
            f"SELECT toDate(e.timestamp, {{tz:String}}) AS day, uniqExact({RESOLVED_PERSON}) "
            f"{scope} AND e.event = 'view_item' GROUP BY GROUPING SETS ((day), ()) ORDER BY day",
            window,
        ),
        Case(
            "trends: event totals per day (count)",
            {"kind": "trends", "date_range": dates, "interval": "day",
             "series": [{"event": "$pageview"}]},
            "SELECT toDate(e.timestamp, {tz:String}) AS day, count() FROM events AS e "
            "WHERE e.project_id = {project:UInt32} AND e.event = '$pageview' "
            "AND e.timestamp >= {start:DateTime64(3, 'UTC')} "
            "AND e.timestamp < {end:DateTime64(3, 'UTC')} GROUP BY day ORDER BY day",
            window,
        ),
        Case(
            "trends: daily unique persons by channel (breakdown, top 5 + $other)",
            {"kind": "trends", "date_range": dates, "interval": "day",
             "series": [{"event": "view_item", "math": "unique_persons"}],
             "breakdown": {"key": "$utm_source", "limit": 5}},
            # One scan: states per (channel, day), channels ranked by events (ties by name),
            # those after the top 5 merged as $other, per day and over the range.
            f"""
            SELECT if(rank <= 5, channel, '$other') AS value, day, uniqExactMerge(s),
                   min(rank)
            FROM (
                SELECT channel, day, s, dense_rank() OVER (ORDER BY n DESC, channel) AS rank
                FROM (
                    SELECT channel, day, s, sum(n) OVER (PARTITION BY channel) AS n
                    FROM (
                        SELECT if(e.utm_source = '', '$none', e.utm_source) AS channel,
                               toDate(e.timestamp, {{tz:String}}) AS day,
                               uniqExactState({RESOLVED_PERSON}) AS s, count() AS n
                        {scope} AND e.event = 'view_item'
                        GROUP BY channel, day
                    )
                )
            )
            GROUP BY GROUPING SETS ((value, day), (value))
            """,  # noqa: S608
            window,
        ),
    ]  # fmt: skip
    tracked = f"{scope} AND e.type IN ('track', 'page', 'screen')"
    out.append(Case(
        "stickiness: persons by active days in 30 (uniqExact per person)",
        {"kind": "stickiness", "date_range": dates, "interval": "day"},
        f"""
        SELECT days, count() FROM (
            SELECT {RESOLVED_PERSON} AS person,
                   uniqExact(toDate(e.timestamp, {{tz:String}})) AS days
            {tracked} GROUP BY person
        ) GROUP BY days ORDER BY days
        """,  # noqa: S608
        window,
    ))  # fmt: skip
    out.append(Case(
        "lifecycle: daily new/returning/resurrecting/dormant (per-person arrays)",
        {"kind": "lifecycle", "date_range": dates, "interval": "day"},
        f"""
        SELECT day, status, count() FROM (
            SELECT day,
                   multiIf(day = first_day, 'new', has(days, day - 1), 'returning',
                           'resurrecting') AS status
            FROM (
                SELECT {RESOLVED_PERSON} AS person,
                       min(toDate(e.timestamp, {{tz:String}})) AS first_day,
                       groupUniqArrayIf(toDate(e.timestamp, {{tz:String}}),
                                        e.timestamp >= {{before:DateTime64(3, 'UTC')}}) AS days
                FROM {RESOLVED_EVENTS}
                WHERE e.project_id = {{project:UInt32}}
                  AND e.timestamp < {{end:DateTime64(3, 'UTC')}}
                  AND e.type IN ('track', 'page', 'screen')
                GROUP BY person
            ) ARRAY JOIN days AS day
            WHERE day >= {{first:Date}}
            UNION ALL
            SELECT day + 1 AS day, 'dormant' AS status FROM (
                SELECT {RESOLVED_PERSON} AS person,
                       groupUniqArray(toDate(e.timestamp, {{tz:String}})) AS days
                FROM {RESOLVED_EVENTS}
                WHERE e.project_id = {{project:UInt32}}
                  AND e.timestamp >= {{before:DateTime64(3, 'UTC')}}
                  AND e.timestamp < {{end:DateTime64(3, 'UTC')}}
                  AND e.type IN ('track', 'page', 'screen')
                GROUP BY person
            ) ARRAY JOIN days AS day
            WHERE NOT has(days, day + 1) AND day + 1 <= {{last:Date}}
        ) GROUP BY day, status ORDER BY day, status
        """,  # noqa: S608
        {**window, "before": start - dt.timedelta(days=1), "first": first_30, "last": last_day},
    ))  # fmt: skip
    # The board as an expert would write it by hand: the KPIs with uniqExact over per-day
    # states (one scan of both periods and the days MAU reads), then each person's first day,
    # active days and first touch (one scan of all history) for new persons per day, D1/D7/D30
    # retention of each period's new persons (the current period's whole curve, k = 0..30)
    # and the current period's new persons by channel (top 10, $other, $none). The first touch
    # is argMin by timestamp alone: the runner also breaks same-millisecond ties by message
    # id, which a (timestamp, message_id) key here would cost about 1.1 s of 4.8 at 10M.
    previous_first = first_30 - dt.timedelta(days=30)
    previous_last = first_30 - dt.timedelta(days=1)
    today = last_day  # what compare() passes the runner
    low = min(previous_first, previous_last - dt.timedelta(days=29))
    high = max(last_day, min(last_day + dt.timedelta(days=30), today))
    order = "e.event = 'order_completed'"

    def period(name: str, first: str, last: str) -> str:
        days = f"day BETWEEN {first} AND {last}"
        return f"""
            sumIf(finalizeAggregation(persons), {days}) / ({last} - {first} + 1) AS {name}_dau,
            uniqExactMergeIf(persons, day BETWEEN {last} - 6 AND {last}) AS {name}_wau,
            uniqExactMergeIf(persons, day BETWEEN {last} - 29 AND {last}) AS {name}_mau,
            {name}_dau / {name}_mau AS {name}_stickiness,
            uniqExactMergeIf(persons, {days}) AS {name}_active,
            sumIf(revenue, {days}) AS {name}_revenue,
            sumIf(orders, {days}) AS {name}_orders,
            uniqExactMergeIf(payers, {days}) AS {name}_paying_persons,
            {name}_paying_persons / {name}_active AS {name}_paying_rate,
            {name}_revenue / {name}_active AS {name}_arpu,
            {name}_revenue / {name}_paying_persons AS {name}_arppu"""

    def retention(name: str, first: str, last: str, offsets: str) -> str:
        cohort = f"first_day BETWEEN {first} AND {last}"
        return f"""
            arrayMap((r, c) -> if(c = 0, NULL, r / c),
                sumForEachIf(arrayMap(k -> toUInt64(has(days, first_day + k)), {offsets}),
                             {cohort}),
                sumForEachIf(arrayMap(k -> toUInt64(first_day + k <= {{today:Date}}),
                                      {offsets}), {cohort})) AS {name}_retention"""

    out.append(Case(
        "overview: KPIs, previous period, new by day/channel, retention",
        {"kind": "overview", "date_range": dates},
        (
            f"""
            SELECT
                arraySort(groupArrayIf((day, finalizeAggregation(persons)),
                                       day >= {{first:Date}})) AS active_by_day,
                {period("previous", "{previous_first:Date}", "{previous_last:Date}")},
                {period("current", "{first:Date}", "{last:Date}")}
            FROM (
                SELECT toDate(e.timestamp, {{tz:String}}) AS day,
                       uniqExactState({RESOLVED_PERSON}) AS persons,
                       uniqExactStateIf({RESOLVED_PERSON}, {order}) AS payers,
                       countIf({order}) AS orders,
                       sum(if({order}, JSONExtractFloat(e.properties, 'revenue'), 0)) AS revenue
                FROM {RESOLVED_EVENTS}
                WHERE e.project_id = {{project:UInt32}}
                  AND e.timestamp >= {{low:DateTime64(3, 'UTC')}}
                  AND e.timestamp < {{end:DateTime64(3, 'UTC')}}
                  AND e.type IN ('track', 'page', 'screen')
                GROUP BY day
            )
            """,  # noqa: S608
            f"""
            SELECT new_by_day, previous_new, current_new, previous_retention,
                   current_retention,
                   arraySort(x -> (-toInt64(x.2), x.1),
                             arrayFilter(x -> x.1 != '', arrayZip(channels.1, channels.2)))
                       AS named,
                   arrayConcat(
                       arraySlice(named, 1, 10),
                       if(length(named) > 10,
                          [('$other', arraySum(x -> x.2, arraySlice(named, 11)))], []),
                       if(has(channels.1, ''),
                          [('$none', channels.2[indexOf(channels.1, '')])], []))
                       AS new_by_channel
            FROM (
                SELECT
                    sumMapIf([first_day], [toUInt64(1)], first_day >= {{first:Date}})
                        AS new_by_day,
                    countIf(first_day BETWEEN {{previous_first:Date}} AND {{previous_last:Date}})
                        AS previous_new,
                    countIf(first_day BETWEEN {{first:Date}} AND {{last:Date}}) AS current_new,
                    {retention("previous", "{previous_first:Date}", "{previous_last:Date}",
                               "[1, 7, 30]")},
                    {retention("current", "{first:Date}", "{last:Date}", "range(31)")},
                    sumMapIf([channel], [toUInt64(1)],
                             first_day BETWEEN {{first:Date}} AND {{last:Date}}) AS channels
                FROM (
                    SELECT toDate(min(e.timestamp), {{tz:String}}) AS first_day,
                           groupUniqArrayIf(toDate(e.timestamp, {{tz:String}}),
                                            e.timestamp >= {{low:DateTime64(3, 'UTC')}}) AS days,
                           argMinIf(e.utm_source, e.timestamp, e.utm_source != ''
                                    AND e.timestamp < {{end:DateTime64(3, 'UTC')}}) AS channel
                    FROM {RESOLVED_EVENTS}
                    WHERE e.project_id = {{project:UInt32}}
                      AND e.timestamp < {{high:DateTime64(3, 'UTC')}}
                      AND e.type IN ('track', 'page', 'screen')
                    GROUP BY {RESOLVED_PERSON}
                    HAVING first_day BETWEEN {{previous_first:Date}} AND {{last:Date}}
                )
            )
            """,  # noqa: S608
        ),
        {**window, "first": first_30, "last": last_day, "previous_first": previous_first,
         "previous_last": previous_last, "today": today,
         "low": day_range(TIMEZONE, low, low)[0], "high": day_range(TIMEZONE, high, high)[1]},
    ))  # fmt: skip
    if "funnel" in KINDS:
        funnel_end = end + dt.timedelta(days=7)
        steps = ", ".join(f"e.event = '{name}'" for name in FUNNEL)
        # (windowFunnel alone answers less than the runner: levels at second precision, no
        # time to convert, which the runner adds for its converted persons.)
        out.append(Case(
            "funnel: 4 steps, 7-day window (windowFunnel)",
            {"kind": "funnel", "date_range": dates, "window": {"value": 7, "unit": "day"},
             "steps": [{"event": name} for name in FUNNEL]},
            f"""
            SELECT level, count() FROM (
                SELECT {RESOLVED_PERSON} AS person,
                       windowFunnel(604800)(toDateTime(e.timestamp), {steps}) AS level
                FROM {RESOLVED_EVENTS}
                WHERE e.project_id = {{project:UInt32}}
                  AND e.event IN {{names:Array(String)}}
                  AND e.timestamp >= {{start:DateTime64(3, 'UTC')}}
                  AND e.timestamp < {{funnel_end:DateTime64(3, 'UTC')}}
                GROUP BY person
            ) WHERE level > 0 GROUP BY level ORDER BY level
            """,  # noqa: S608
            {**window, "funnel_end": funnel_end, "names": list(FUNNEL)},
        ))  # fmt: skip
    if "retention" in KINDS:
        out.append(Case(
            "retention: any event, 30 daily cohorts x 14 days (per-person arrays)",
            {"kind": "retention", "date_range": dates, "period": "day", "periods": 14,
             "start": {"event": None}, "return_event": {"event": None},
             "start_mode": "any_time", "mode": "bounded"},
            f"""
            SELECT cohort, k, count() FROM (
                SELECT person, days, arrayJoin(arrayFilter(
                    d -> d <= {{last:Date}} - 0, days)) AS cohort,
                    arrayJoin(range(0, 15)) AS k
                FROM (
                    SELECT {RESOLVED_PERSON} AS person,
                           groupUniqArray(toDate(e.timestamp, {{tz:String}})) AS days
                    FROM {RESOLVED_EVENTS}
                    WHERE e.project_id = {{project:UInt32}}
                      AND e.timestamp >= {{start:DateTime64(3, 'UTC')}}
                      AND e.timestamp < {{retention_end:DateTime64(3, 'UTC')}}
                    GROUP BY person
                )
            ) WHERE has(days, cohort + k) AND cohort <= {{last:Date}}
            GROUP BY cohort, k ORDER BY cohort, k
            """,  # noqa: S608
            {**window, "last": last_day, "retention_end": end + dt.timedelta(days=14)},
        ))  # fmt: skip
        out.append(Case(
            "retention: first time, 30 daily cohorts x 14 days (per-person arrays)",
            {"kind": "retention", "date_range": dates, "period": "day", "periods": 14,
             "start": {"event": None}, "return_event": {"event": None},
             "start_mode": "first_time", "mode": "bounded"},
            # A person's cohort is the day of their first tracked event ever (so all history
            # up to the range's end is read); returns are the days after it, to today.
            f"""
            SELECT cohort, sumForEach(arrayMap(k -> toUInt32(has(days, cohort + k)),
                                               range(1, 15))), count()
            FROM (
                SELECT toDate(min(e.timestamp), {{tz:String}}) AS cohort,
                       groupUniqArrayIf(toDate(e.timestamp, {{tz:String}}),
                                        e.timestamp >= {{returns:DateTime64(3, 'UTC')}}) AS days
                FROM {RESOLVED_EVENTS}
                WHERE e.project_id = {{project:UInt32}}
                  AND e.timestamp < {{end:DateTime64(3, 'UTC')}}
                  AND e.type IN ('track', 'page', 'screen')
                GROUP BY {RESOLVED_PERSON}
            ) WHERE cohort >= {{first:Date}}
            GROUP BY cohort ORDER BY cohort
            """,  # noqa: S608
            {**window, "first": first_30, "returns": start + dt.timedelta(days=1)},
        ))  # fmt: skip
    return out


def timed(run: Callable[[], object]) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def compare(runtime: Runtime, project: Project, case: Case, last_day: dt.date,
            runs: int) -> tuple[float, float]:  # fmt: skip
    """Best seconds of the runner and of the hand-written SQL, alternating so that drift on a
    shared machine hits both."""
    spec = parse_spec(case.spec)
    params = {"project": project.id, "tz": TIMEZONE, **case.params}
    queries = (case.handwritten,) if isinstance(case.handwritten, str) else case.handwritten
    runner_s = hand_s = float("inf")
    for _ in range(runs):
        runner_s = min(runner_s, timed(lambda: run_query(runtime.store, project, spec, last_day)))
        hand_s = min(hand_s, timed(lambda: [rows(runtime.store, sql, params) for sql in queries]))
    return runner_s, hand_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="run the cases whose name starts with this")
    args = parser.parse_args()
    last_day = dt.date.today() - dt.timedelta(days=1)
    with (
        tempfile.TemporaryDirectory(prefix="userops-bench-") as tmp,
        Runtime.open(load_settings({"data_dir": tmp}, environ={})) as runtime,
    ):
        project = create_project(runtime.sessions, "bench", TIMEZONE)
        load(runtime.store, project.id, args.events, last_day)
        print(f"{'analysis':<70} {'runner s':>9} {'by hand s':>9} {'ratio':>6}")
        for case in cases(last_day):
            if not case.name.startswith(args.only):
                continue
            runner_s, hand_s = compare(runtime, project, case, last_day, args.runs)
            print(f"{case.name:<70} {runner_s:>9.3f} {hand_s:>9.3f} {runner_s / hand_s:>6.2f}")


if __name__ == "__main__":
    main()
