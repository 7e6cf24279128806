"""Lifecycle stages per person and day against a plain-Python reference of the definitions in
``userops.analysis.stages`` (random activity in Shanghai and New York, merges, local midnights),
a hand-made fixture with known stages and transitions, and bad thresholds."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_reference import BASE, TIMEZONES, midnights, moment_of, new_project, persons_of
from test_funnel import person_ids
from userops.analysis import computed, stages
from userops.analysis.scope import Scope
from userops.analysis.stages import StageConfig, refresh_stages
from userops.errors import BadRequest
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict
from userops.store import rows
from userops.store.migrations import migrate

pytestmark = pytest.mark.usefixtures("clean_environment")

REFRESHED = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
SPAN_DAYS = 60

entry = st.fixed_dictionaries({
    "event": st.sampled_from(["view", "view", "identify"]),
    "device": st.integers(0, 5),
    "user": st.one_of(st.none(), st.integers(0, 2)),
    "minutes": st.one_of(st.integers(0, SPAN_DAYS * 24 * 60),
                         st.sampled_from([m + d * 24 * 60 for m in midnights()
                                          for d in (0, 9, 30)])),
})  # fmt: skip
configs = st.builds(StageConfig, new_days=st.integers(1, 10), active_days=st.integers(1, 8),
                    churn_days=st.integers(9, 20))  # fmt: skip


def ingest(runtime: Runtime, project: Project, log: list[dict[str, Any]]) -> None:
    messages = []
    for n, spec in enumerate(log):
        message: dict[str, Any] = {"type": "track", "event": spec["event"], "messageId": f"m{n}",
                                   "anonymousId": f"device-{spec['device']}",
                                   "timestamp": moment_of(spec).isoformat()}  # fmt: skip
        if spec["event"] == "identify":  # not a tracked event: never makes anyone active
            message = {k: v for k, v in message.items() if k != "event"} | {"type": "identify"}
        if spec["user"] is not None:
            message["userId"] = f"user-{spec['user']}"
        messages.append(message_from_dict(message))
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(messages, project.id, REFRESHED)
    )


def stage_on(days: list[dt.date], day: dt.date, config: StageConfig) -> str:
    """The docstring's definitions, read literally."""
    seen = sorted(d for d in days if d <= day)
    if not seen:
        return ""
    if (day - seen[0]).days < config.new_days:
        return "new"
    recent = [d for d in seen if (day - d).days < config.active_days]
    if recent:
        before = [d for d in seen if (day - d).days >= config.active_days]
        if before and (recent[0] - before[-1]).days - 1 >= config.churn_days:
            return "resurrected"
        return "active"
    return "churned" if (day - seen[-1]).days >= config.churn_days else "silent"


def reference(log: list[dict[str, Any]], zone: ZoneInfo, config: StageConfig, first: dt.date,
              last: dt.date) -> dict[str, list[tuple[dt.date, str, str]]]:  # fmt: skip
    roots = persons_of(log)
    active: dict[str, set[dt.date]] = {}
    for spec in log:
        person = active.setdefault(roots[f"device-{spec['device']}"], set())
        if spec["event"] != "identify":
            person.add(moment_of(spec).astimezone(zone).date())
    out: dict[str, list[tuple[dt.date, str, str]]] = {}
    for person, days in active.items():
        changes = []
        day = first
        while day <= last:
            now = stage_on(sorted(days), day, config)
            before = stage_on(sorted(days), day - dt.timedelta(days=1), config)
            if (day == first and now) or now != before:
                changes.append((day, now, before))
            day += dt.timedelta(days=1)
        if changes:
            out[person] = changes
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(log=st.lists(entry, min_size=1, max_size=30), zone=st.sampled_from(TIMEZONES),
       config=configs, start=st.integers(-2, 40), length=st.integers(1, 30))  # fmt: skip
def test_stages_equal_the_definitions_day_by_day(
    runtime: Runtime, log: list[dict[str, Any]], zone: str, config: StageConfig, start: int,
    length: int,
) -> None:
    project = new_project(runtime, zone)
    ingest(runtime, project, log)
    first = BASE.date() + dt.timedelta(days=start)
    last = first + dt.timedelta(days=length - 1)
    refresh_stages(runtime.store, project, config, first, last, REFRESHED)
    want = reference(log, ZoneInfo(zone), config, first, last)
    ids = {root: number for root, number in person_ids(runtime, project, log).items()}
    for root, changes in want.items():
        assert stages.person_stages(runtime.store, project.id, ids[root]) == changes, root
    without = set(ids) - set(want)
    for root in without:
        assert stages.person_stages(runtime.store, project.id, ids[root]) == []
    # counts on the last day and transitions over the range, from the same rows
    counts = dict.fromkeys(stages.STAGES, 0)
    moves: dict[tuple[str, str], set[str]] = {}
    for root, changes in want.items():
        counts[changes[-1][1]] += 1
        for _day, now, before in changes:
            if now != before:
                moves.setdefault((before, now), set()).add(root)
    assert stages.stage_counts(runtime.store, project.id, last) == counts
    got = {(a, b): n for a, b, n in stages.transitions(runtime.store, project.id, first, last)}
    assert got == {move: len(persons) for move, persons in moves.items()}


def test_a_hand_made_year_of_one_person(runtime: Runtime, project: Project) -> None:
    zone = ZoneInfo(project.timezone)

    def at(day: str) -> dict[str, Any]:
        moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0, 30), zone)
        return {"event": "view", "device": 0, "user": None,
                "minutes": int((moment - BASE).total_seconds() // 60)}  # fmt: skip

    # active Nov 1 and Nov 5; silent; churned after 30 idle days; back Dec 20; active again
    ingest(runtime, project, [at("2026-11-01"), at("2026-11-05"), at("2026-12-20"),
                              at("2026-12-24")])  # fmt: skip
    config = StageConfig(new_days=3, active_days=7, churn_days=30)
    refresh_stages(runtime.store, project, config, dt.date(2026, 11, 1), dt.date(2026, 12, 31),
                   REFRESHED)  # fmt: skip
    [person] = {number for number in person_ids(runtime, project, [at("2026-11-01")]).values()}
    d = dt.date.fromisoformat
    assert stages.person_stages(runtime.store, project.id, person) == [
        (d("2026-11-01"), "new", ""),
        (d("2026-11-04"), "active", "new"),          # 3 days after the first
        (d("2026-11-12"), "silent", "active"),       # 7 days after Nov 5
        (d("2026-12-05"), "churned", "silent"),      # 30 days after Nov 5
        (d("2026-12-20"), "resurrected", "churned"),  # back after 44 idle days
        (d("2026-12-27"), "active", "resurrected"),  # Dec 20 left the window, Dec 24 in it
        (d("2026-12-31"), "silent", "active"),       # 7 days after Dec 24
    ]  # fmt: skip
    assert stages.stage_counts(runtime.store, project.id, d("2026-12-10"))["churned"] == 1
    assert stages.transitions(runtime.store, project.id, d("2026-12-14"), d("2026-12-27")) == [
        ("churned", "resurrected", 1), ("resurrected", "active", 1)]
    # a second refresh replaces the first: only its rows are read
    refresh_stages(runtime.store, project, config, d("2026-12-01"), d("2026-12-31"),
                   REFRESHED + dt.timedelta(hours=1))  # fmt: skip
    assert stages.person_stages(runtime.store, project.id, person)[0] == (
        d("2026-12-01"), "silent", "silent")


def test_a_refresh_that_failed_half_way_is_never_read(
    runtime: Runtime, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its rows are in, but it never completed: readers keep the last completed refresh, and
    the next completed refresh deletes the failed one's rows."""
    zone = ZoneInfo(project.timezone)

    def at(day: str) -> dict[str, Any]:
        moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), zone)
        return {"event": "view", "device": 0, "user": None,
                "minutes": int((moment - BASE).total_seconds() // 60)}  # fmt: skip

    ingest(runtime, project, [at("2026-11-01"), at("2026-11-20")])
    [person] = set(person_ids(runtime, project, [at("2026-11-01")]).values())
    d = dt.date.fromisoformat
    config = StageConfig(new_days=3, active_days=7, churn_days=30)
    refresh_stages(runtime.store, project, config, d("2026-11-01"), d("2026-11-30"), REFRESHED)
    done = stages.person_stages(runtime.store, project.id, person)
    assert done[0] == (d("2026-11-01"), "new", "")

    def fail(*args: Any) -> int:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(stages, "refresh_rows", fail)  # the step after the rows' INSERT
    with pytest.raises(RuntimeError):
        refresh_stages(runtime.store, project, config, d("2026-12-01"), d("2026-12-31"),
                       REFRESHED + dt.timedelta(hours=1))  # fmt: skip
    monkeypatch.undo()
    [(written,)] = rows(runtime.store, "SELECT count() FROM person_stages WHERE project_id = "
                        "{project:UInt32} AND day >= '2026-12-01'", {"project": project.id})
    assert written > 0  # the failed refresh's rows are there, unread:
    assert stages.person_stages(runtime.store, project.id, person) == done
    assert stages.stage_counts(runtime.store, project.id, d("2026-12-31"))["churned"] == 0
    assert stages.last_refreshed_day(runtime.store, project) == REFRESHED.astimezone(zone).date()
    q = Scope(project.id, project.timezone)
    sql = f"SELECT DISTINCT {q.text('person', '$lifecycle_stage')} FROM {q.from_events()} " \
          "WHERE e.project_id = {project:UInt32}"  # noqa: S608 # fmt: skip
    assert rows(runtime.store, sql, q.params) == [("silent",)]  # on Nov 30, not churned
    later = REFRESHED + dt.timedelta(hours=2)
    refresh_stages(runtime.store, project, config, d("2026-12-01"), d("2026-12-31"), later)
    assert stages.person_stages(runtime.store, project.id, person)[0] == (
        d("2026-12-01"), "silent", "silent")
    [(left,)] = rows(runtime.store, "SELECT uniqExact(refreshed_at) FROM person_stages "
                     "WHERE project_id = {project:UInt32}", {"project": project.id})
    assert left == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"new_days": 0}, "new_days"),
    ({"active_days": "seven"}, "active_days"),
    ({"active_days": 10, "churn_days": 10}, "churn_days"),
    ({"churn_days": 99999}, "churn_days"),
    ({"silent_days": 3}, "silent_days"),
    ({"new_days": True}, "new_days"),
    ({"churn_days": 30.0}, "churn_days"),
])  # fmt: skip
def test_bad_thresholds_name_their_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as raised:
        StageConfig.parse(body)
    assert raised.value.field == field


def test_a_range_too_long_or_backwards_is_refused(runtime: Runtime, project: Project) -> None:
    config = StageConfig()
    with pytest.raises(BadRequest):
        refresh_stages(runtime.store, project, config, dt.date(2026, 2, 1), dt.date(2026, 1, 1))
    with pytest.raises(BadRequest):
        refresh_stages(runtime.store, project, config, dt.date(2025, 1, 1), dt.date(2026, 6, 1))


@pytest.mark.parametrize(("back_after", "stage_before", "stage_back"), [
    (31, "churned", "resurrected"),  # 30 idle days (day 1 to 30): churned on day 30
    (30, "silent", "active"),        # 29 idle days: at risk, never churned
])  # fmt: skip
def test_coming_back_resurrects_exactly_after_the_churn_threshold(
    runtime: Runtime, project: Project, back_after: int, stage_before: str, stage_back: str
) -> None:
    zone = ZoneInfo(project.timezone)
    start = dt.date(2026, 11, 1)

    def on(offset: int) -> dict[str, Any]:
        moment = dt.datetime.combine(start + dt.timedelta(days=offset), dt.time(23, 59), zone)
        return {"event": "view", "device": 0, "user": None,
                "minutes": int((moment - BASE).total_seconds() // 60)}  # fmt: skip

    ingest(runtime, project, [on(0), on(back_after)])
    config = StageConfig(new_days=1, active_days=7, churn_days=30)
    back = start + dt.timedelta(days=back_after)
    refresh_stages(runtime.store, project, config, back - dt.timedelta(days=1), back,
                   REFRESHED)  # fmt: skip
    [person] = set(person_ids(runtime, project, [on(0)]).values())
    assert stages.person_stages(runtime.store, project.id, person) == [
        (back - dt.timedelta(days=1), stage_before, "silent"),  # the range's first day
        (back, stage_back, stage_before),
    ]


def test_the_current_stage_is_a_person_property_beside_other_computed_ones(
    runtime: Runtime, project: Project
) -> None:
    zone = ZoneInfo(project.timezone)
    today = dt.date(2026, 12, 1)
    messages = [
        ("a", "view", today - dt.timedelta(days=40)), ("a", "order_completed", today),
        ("b", "view", today - dt.timedelta(days=40)), ("b", "view", today - dt.timedelta(days=10)),
        ("c", "order_completed", today - dt.timedelta(days=1)),
    ]  # fmt: skip
    parsed = [message_from_dict({
        "type": "track", "event": event, "anonymousId": anon, "messageId": f"s{n}",
        "properties": {"revenue": 10}, "timestamp": dt.datetime.combine(
            day, dt.time(12), zone).isoformat()}) for n, (anon, event, day) in enumerate(messages)]
    Ingestor(runtime.sessions, runtime.store, project.id).ingest(
        message_columns(parsed, project.id, REFRESHED)
    )
    computed.refresh(runtime.store, project, dt.datetime.combine(today, dt.time(23), zone))
    refresh_stages(runtime.store, project, StageConfig(), today - dt.timedelta(days=3), today,
                   REFRESHED)  # fmt: skip
    q = Scope(project.id, project.timezone)
    stage, revenue = q.text("person", "$lifecycle_stage"), q.text("person", "$revenue")
    sql = f"SELECT DISTINCT e.anonymous_id, {stage}, {revenue} FROM {q.from_events()} " \
          "WHERE e.project_id = {project:UInt32} ORDER BY 1"  # noqa: S608 # fmt: skip
    assert rows(runtime.store, sql, q.params) == [
        ("a", "resurrected", "10"),  # back after 39 idle days
        ("b", "silent", "0"),        # idle 10 days: at risk
        ("c", "new", "10"),
    ]  # fmt: skip


def test_stages_refreshed_before_completions_were_recorded_stay_readable(
    runtime: Runtime, project: Project
) -> None:
    """Migration 10 marks each project's newest stage refresh of an older store complete."""
    runtime.store.command("DROP TABLE person_refreshes")
    runtime.store.command("DELETE FROM schema_migrations WHERE version = 10")
    for hours, stage in ((0, "new"), (1, "active")):  # two refreshes' rows: the newer is read
        at = REFRESHED + dt.timedelta(hours=hours)
        runtime.store.command(
            "INSERT INTO person_stages VALUES ({project:UInt32}, 7, '2026-11-01', {stage:String}, "
            "'', {at:DateTime64(3, 'UTC')})",
            {"project": project.id, "stage": stage, "at": at},
        )
    assert migrate(runtime.store) == [10]
    assert stages.person_stages(runtime.store, project.id, 7) == [
        (dt.date(2026, 11, 1), "active", "")]
