"""The segment builder's live count preview against hand-written ClickHouse SQL on the same store.

    python benchmarks/segments.py --events 10000000
    python benchmarks/segments.py --events 1000000 --runs 3

Loads ``--events`` synthetic events with ``benchmarks/analyses.py``'s generator (persons with
skewed activity, 20 event names, a purchase funnel, revenue on orders, anonymous ids merged
later through ``person_overrides``, 90 days ending yesterday in Asia/Shanghai), then gives every
second person an identify event with traits (plan, city), so that person-property conditions
have something to read.

Per definition it times ``userops.segments.count`` (parse, compile, run: what the console's
preview calls) and the SQL an expert would write by hand for the same count, best of
``--runs`` each, alternating, and prints both and the ratio. The counts must agree, or the
script stops. Target (issue 7): the preview under 2 s at 10M events.

Then, per definition saved as a segment, the time of its first refresh (every member enters:
the membership history is written) and of a second one as of the same moment (nothing changes),
and the daily refresh of computed properties, RFM, value tiers and 90 days of lifecycle stages
(``userops.analysis.daily``).

Last, a saved segment in an analysis: daily active persons over the last 30 days kept to the
first case's members (a filter), and split into members and the rest (a breakdown), against
hand-written SQL reading the same membership rows; the numbers must agree.
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
from zoneinfo import ZoneInfo

from analyses import FUNNEL, TIMEZONE, load
from userops.analysis.daily import refresh_people
from userops.analysis.memberships import segment_members
from userops.analysis.query import parse_spec, run_query
from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.analysis.trends import TrendsResult
from userops.config import load_settings
from userops.ingest.export import day_range
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.meta.segments import create_segment
from userops.runtime import Runtime
from userops.segments import count, parse_definition
from userops.segments.refresh import refresh
from userops.store import EventStore, rows, scalar

PLANS = ("free", "free", "free", "pro", "vip")
CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都")

# One identify per even person, a day before the range ends, with a plan and a city.
TRAITS = """
INSERT INTO events (project_id, message_id, type, event, timestamp, received_at, distinct_id,
                    person_id, user_id, traits)
SELECT {project:UInt32}, concat('t', toString(number)), 'identify', '$identify', {at:DateTime64(3)},
       {at:DateTime64(3)}, concat('u', toString(number)), number, concat('u', toString(number)),
       concat('{"plan":"', {plans:Array(String)}[1 + rand(1) % 5], '","city":"',
              {cities:Array(String)}[1 + rand(2) % 6], '"}')
FROM numbers(2, {persons:UInt64}) WHERE number % 2 = 0
"""


@dataclass(frozen=True)
class Case:
    name: str
    definition: dict[str, Any]
    handwritten: str  # a count; {project}, {tz} and ``params``
    params: dict[str, Any]


def load_traits(store: EventStore, project_id: int, events: int, last_day: dt.date) -> None:
    at = dt.datetime.combine(last_day, dt.time(12), dt.UTC)
    store.command(TRAITS, {"project": project_id, "at": at, "persons": max(1, events // 50),
                           "plans": list(PLANS), "cities": list(CITIES)})  # fmt: skip
    store.command("OPTIMIZE TABLE events FINAL")


def cases(last_day: dt.date) -> list[Case]:
    def days(n: int) -> dict[str, Any]:
        start, end = day_range(TIMEZONE, last_day - dt.timedelta(days=n - 1), last_day)
        return {f"start{n}": start, f"end{n}": end}

    def within(n: int) -> str:
        return f"e.timestamp >= {{start{n}:DateTime64(3, 'UTC')}} " \
               f"AND e.timestamp < {{end{n}:DateTime64(3, 'UTC')}}"  # fmt: skip

    per_person = f"SELECT {RESOLVED_PERSON} AS person"
    events = f"FROM {RESOLVED_EVENTS} WHERE e.project_id = {{project:UInt32}}"
    order = "e.event = 'order_completed'"
    out = [
        Case(
            "orders >= 2 and revenue >= 500 in 30 days",
            {"and": [
                {"kind": "performed", "event": "order_completed", "operator": "gte", "count": 2,
                 "window": {"last_days": 30}},
                {"kind": "aggregate", "event": "order_completed", "property": "revenue",
                 "math": "sum", "operator": "gte", "value": 500, "window": {"last_days": 30}},
            ]},
            f"""
            SELECT count() FROM (
                {per_person}, count() AS orders,
                       sum(JSONExtract(e.properties, 'revenue', 'Nullable(Float64)')) AS revenue
                {events} AND {order} AND {within(30)}
                GROUP BY person HAVING orders >= 2 AND revenue >= 500
            )
            """,  # noqa: S608
            days(30),
        ),
        Case(
            "signed up in 7 days and no checkout since",
            {"and": [
                {"kind": "first_performed", "event": "signup", "window": {"last_days": 7}},
                {"kind": "not_performed", "event": "checkout", "window": {"last_days": 7}},
            ]},
            f"""
            SELECT count() FROM (
                {per_person}, minIf(e.timestamp, e.event = 'signup') AS first_signup,
                       countIf(e.event = 'checkout' AND {within(7)}) AS checkouts
                {events} AND e.event IN ('signup', 'checkout')
                GROUP BY person
                HAVING first_signup >= {{start7:DateTime64(3, 'UTC')}}
                   AND first_signup < {{end7:DateTime64(3, 'UTC')}} AND checkouts = 0
            )
            """,  # noqa: S608
            days(7),
        ),
        Case(
            "funnel: reached checkout, no order (30 days, 7-day window)",
            {"kind": "funnel", "step": 3, "status": "dropped",
             "funnel": {"steps": [{"event": name} for name in FUNNEL],
                        "date_range": {"last_days": 30}, "window": {"value": 7, "unit": "day"}}},
            f"""
            SELECT countIf(level = 3) FROM (
                {per_person}, windowFunnel(604800000)(
                    toUInt64(toUnixTimestamp64Milli(e.timestamp)),
                    e.event = 'view_item' AND e.timestamp < {{end30:DateTime64(3, 'UTC')}},
                    e.event = 'add_to_cart', e.event = 'checkout',
                    e.event = 'order_completed') AS level
                {events} AND e.event IN {{funnel:Array(String)}}
                  AND e.timestamp >= {{start30:DateTime64(3, 'UTC')}}
                  AND e.timestamp < {{end30:DateTime64(3, 'UTC')}} + INTERVAL 7 DAY
                GROUP BY person
            )
            """,  # noqa: S608
            {**days(30), "funnel": list(FUNNEL)},
        ),
        Case(
            "(plan pro/vip or city 上海) and no refund in 90 days",
            {"and": [
                {"or": [{"kind": "person", "key": "plan", "operator": "in",
                         "value": ["pro", "vip"]},
                        {"kind": "person", "key": "city", "operator": "eq", "value": "上海"}]},
                {"kind": "not_performed", "event": "refund", "window": {"last_days": 90}},
            ]},
            f"""
            SELECT count() FROM (
                {per_person}, countIf(e.event = 'refund' AND {within(90)}) AS refunds,
                       argMaxIf(JSONExtractString(e.traits, 'plan'), e.timestamp,
                                JSONHas(e.traits, 'plan')) AS plan,
                       argMaxIf(JSONExtractString(e.traits, 'city'), e.timestamp,
                                JSONHas(e.traits, 'city')) AS city
                {events}
                GROUP BY person
                HAVING (plan IN ('pro', 'vip') OR city = '上海') AND refunds = 0
            )
            """,  # noqa: S608
            days(90),
        ),
    ]  # fmt: skip
    return out


def timed(run: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = run()
    return time.perf_counter() - began, result


def compare(runtime: Runtime, project: Project, case: Case, now: dt.datetime,
            runs: int) -> tuple[float, float, int]:  # fmt: skip
    """Best seconds of the preview and of the hand-written SQL (alternating, so that drift on
    a shared machine hits both), and the count, which both must agree on."""
    params = {"project": project.id, "tz": TIMEZONE, **case.params}
    preview_s = hand_s = float("inf")
    got = want = None
    for _ in range(runs):
        took, got = timed(lambda: count(runtime.store, project, parse_definition(case.definition),
                                        now=now))  # fmt: skip
        preview_s = min(preview_s, took)
        took, want = timed(lambda: scalar(runtime.store, case.handwritten, params))
        hand_s = min(hand_s, took)
    if got != want:
        sys.exit(f"{case.name}: the preview counts {got}, the hand-written SQL {want}")
    assert isinstance(got, int)
    return preview_s, hand_s, got


# Daily active persons in [start, end) among the segment's members (the filter) or split by
# membership (the breakdown), written by hand over the same rows the engine reads.
HAND_DAU = f"""
    SELECT toString(toDate(e.timestamp, {{tz:String}})) AS day, {{split}} AS side,
           uniqExact({RESOLVED_PERSON}) AS persons
    FROM {RESOLVED_EVENTS}
    WHERE e.project_id = {{project:UInt32}} AND e.type IN ('track', 'page', 'screen')
      AND e.timestamp >= {{start:DateTime64(3, 'UTC')}}
      AND e.timestamp < {{end:DateTime64(3, 'UTC')}}
      {{keep}}
    GROUP BY day, side
"""  # noqa: S608


def in_analyses(runtime: Runtime, project: Project, segment_id: int, last_day: dt.date,
                runs: int) -> None:  # fmt: skip
    """Trends with the segment as a filter and as a breakdown against hand-written SQL."""
    first = last_day - dt.timedelta(days=29)
    start, end = day_range(TIMEZONE, first, last_day)
    members = segment_members("{segment:UInt64}")
    member = f"{RESOLVED_PERSON} IN ({members})"
    params = {"project": project.id, "tz": TIMEZONE, "segment": segment_id, "start": start,
              "end": end}  # fmt: skip
    key = {"type": "segment", "key": str(segment_id)}
    shapes = {
        "filter": ({"filters": [{**key, "operator": "is_set"}]}, "'true'", f"AND {member}"),
        "breakdown": ({"breakdown": key}, f"if({member}, 'true', 'false')", ""),
    }
    print(f"\n{'segment in trends (DAU, 30 days)':<57} {'member-days':>13} {'query s':>9} "
          f"{'by hand s':>9} {'ratio':>6}")  # fmt: skip
    for name, (extra, split, keep) in shapes.items():
        spec = parse_spec({"kind": "trends", "interval": "day",
                           "date_range": {"start": first.isoformat(), "end": last_day.isoformat()},
                           "series": [{"event": None, "math": "unique_persons"}], **extra})
        sql = HAND_DAU.replace("{split}", split).replace("{keep}", keep)
        query_s = hand_s = float("inf")
        for _ in range(runs):
            took, result = timed(lambda spec=spec: run_query(runtime.store, project, spec,
                                                             last_day))  # fmt: skip
            query_s = min(query_s, took)
            took, found = timed(lambda sql=sql: rows(runtime.store, sql, params))
            hand_s = min(hand_s, took)
        assert isinstance(result, TrendsResult) and isinstance(found, list)
        got = {(day, line.breakdown_value or "true"): value for line in result.series
               for day, value in zip(result.buckets, line.values, strict=True) if value}
        want = {(str(day), str(side)): float(n) for day, side, n in found}
        if got != want:
            sys.exit(f"segment {name}: the query and the hand-written SQL disagree")
        total = int(sum(v for (_, side), v in got.items() if side == "true"))
        print(f"{'segment as a ' + name:<57} {total:>13} {query_s:>9.3f} {hand_s:>9.3f} "
              f"{query_s / hand_s:>6.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="run the cases whose name starts with this")
    args = parser.parse_args()
    last_day = dt.date.today() - dt.timedelta(days=1)
    now = dt.datetime.combine(last_day, dt.time(20), ZoneInfo(TIMEZONE))  # the data's last day
    with (
        tempfile.TemporaryDirectory(prefix="userops-bench-") as tmp,
        Runtime.open(load_settings({"data_dir": tmp}, environ={})) as runtime,
    ):
        project = create_project(runtime.sessions, "bench", TIMEZONE)
        load(runtime.store, project.id, args.events, last_day)
        load_traits(runtime.store, project.id, args.events, last_day)
        print(f"{'segment (count preview)':<62} {'persons':>8} {'preview s':>9} "
              f"{'by hand s':>9} {'ratio':>6}")  # fmt: skip
        for case in cases(last_day):
            if not case.name.startswith(args.only):
                continue
            preview_s, hand_s, members = compare(runtime, project, case, now, args.runs)
            print(f"{case.name:<62} {members:>8} {preview_s:>9.3f} {hand_s:>9.3f} "
                  f"{preview_s / hand_s:>6.2f}")  # fmt: skip
        print(f"\n{'segment (refresh)':<62} {'size':>8} {'first s':>9} {'again s':>9}")
        segments: list[int] = []
        for n, case in enumerate(cases(last_day)):
            if not case.name.startswith(args.only):
                continue
            saved = create_segment(runtime.sessions, project.id,
                                   {"name": f"case {n}", "definition": case.definition}, None)
            timings = []
            for _ in range(2):
                began = time.perf_counter()
                done = refresh(runtime, project, saved.row.id, now)
                timings.append(time.perf_counter() - began)
                if done.status != "ok":
                    sys.exit(f"{case.name}: the refresh failed: {done.error}")
            print(f"{case.name:<62} {done.size:>8} {timings[0]:>9.3f} {timings[1]:>9.3f}")
            segments.append(saved.row.id)
        answer = refresh_people(runtime, project, now=now)
        print(f"\ndaily refresh: {answer['persons']} persons' computed properties, "
              f"{answer['rfm_scored']} scored by RFM, {answer['tiered']} tiered, "
              f"{answer['stage_rows']} stage rows in {answer['seconds']:.2f} s")
        if segments:
            in_analyses(runtime, project, segments[0], last_day, args.runs)


if __name__ == "__main__":
    main()
