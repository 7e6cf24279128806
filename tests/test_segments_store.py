"""Saved segments and their membership history on real stores (chDB, SQLite): refreshes as
events arrive, persons entering, leaving and coming back at the refreshes' times, compared with
the engine's ``members`` each time; a refresh that fails half-way changing nothing; references
checked when saved; scheduled jobs found again after a restart and run when due."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from analysis_reference import module_runtime, new_project, person_number, send, track
from userops.errors import BadRequest, Conflict, NotFound
from userops.meta import segments as saved
from userops.meta.db import create_meta_engine, open_meta
from userops.meta.models import Project, SegmentRefresh
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.segments import members, parse_definition
from userops.segments.refresh import (
    current_members,
    forget,
    history,
    member_changes,
    record_earlier_completions,
    refresh,
)
from userops.segments.scheduler import SegmentScheduler, job_id
from userops.store import EventStore, rows
from userops.store.embedded import StoreError

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime(2026, 5, 1, 12, tzinfo=SHANGHAI)
PAID = {"kind": "performed", "event": "pay", "window": {"last_days": 2}}


runtime = module_runtime("segments-store")


def create(runtime: Runtime, project: Project, name: str, definition: Any,
           **extra: Any) -> int:  # fmt: skip
    body = {"name": name, "definition": definition, **extra}
    return saved.create_segment(runtime.sessions, project.id, body, None).row.id


def state(runtime: Runtime, project: Project, segment_id: int) -> list[int]:
    return current_members(runtime.store, project.id, segment_id)


def engine_members(runtime: Runtime, project: Project, definition: Any,
                   now: dt.datetime) -> list[int]:  # fmt: skip
    with runtime.sessions() as session:
        return members(runtime.store, project, parse_definition(definition),
                       saved.resolver(session, project.id), now)  # fmt: skip


def changes(runtime: Runtime, project: Project, segment_id: int,
            person: int) -> list[tuple[dt.datetime, bool]]:  # fmt: skip
    return [(c.at, c.entered) for c in
            member_changes(runtime.store, project.id, segment_id, person)]  # fmt: skip


def test_membership_and_history_across_refreshes(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    segment = create(runtime, project, "paid lately", PAID)
    days = [DAY + dt.timedelta(days=n) for n in range(6)]
    arrivals = {
        0: [track("a", "pay", days[0]), track("b", "view", days[0])],
        1: [track("b", "pay", days[1]), track("c", "view", days[1])],
        2: [],  # a's pay leaves the window: a goes, b stays
        3: [],  # b goes too
        4: [track("a", "pay", days[4])],  # a comes back
        5: [track("c", "pay", days[5])],
    }
    expected = [["a"], ["a", "b"], ["b"], [], ["a"], ["a", "c"]]
    moments = []
    for n in range(6):
        if arrivals[n]:
            send(runtime, project.id, arrivals[n], batch=f"d{n}-")
        now = days[n] + dt.timedelta(hours=6)
        moments.append(now)
        record = refresh(runtime, project, segment, now)
        assert record.status == "ok", record.error
        ids = {u: person_number(runtime, project, u) for u in "abc"}
        want = sorted(ids[u] for u in expected[n])
        assert state(runtime, project, segment) == want
        assert engine_members(runtime, project, PAID, now) == want
        assert record.size == len(want)
    a, b, c = (person_number(runtime, project, u) for u in "abc")
    utc = [m.astimezone(dt.UTC) for m in moments]
    assert changes(runtime, project, segment, a) == [(utc[0], True), (utc[2], False),
                                                     (utc[4], True)]  # fmt: skip
    assert changes(runtime, project, segment, b) == [(utc[1], True), (utc[3], False)]
    assert changes(runtime, project, segment, c) == [(utc[5], True)]
    found = history(runtime.sessions, project.id, segment)
    assert [(h["at"], h["size"], h["entered"], h["exited"]) for h in found] == [
        (utc[0], 1, 1, 0), (utc[1], 2, 1, 0), (utc[2], 1, 0, 1), (utc[3], 0, 0, 1),
        (utc[4], 1, 1, 0), (utc[5], 2, 1, 0)]  # fmt: skip
    # Paging is by person number.
    assert current_members(runtime.store, project.id, segment, 1, 1) == [max(a, c)]
    # Nothing changed: an empty refresh, the same size.
    again = refresh(runtime, project, segment, moments[-1])
    assert (again.size, again.entered, again.exited) == (2, 0, 0)
    view = saved.get_segment(runtime.sessions, project.id, segment).to_json()
    assert (view["size"], view["status"]) == (2, "ok")


def test_refreshes_completed_before_the_event_store_recorded_them_still_count(
    runtime: Runtime,
) -> None:
    """A store from before migration 7: its refreshes are ok in the metadata store and not in
    segment_refreshes_done. Opening records them, so membership and history stand, and the
    next refresh changes nothing."""
    project = new_project(runtime, "UTC")
    segment = create(runtime, project, "paid", PAID)
    send(runtime, project.id, [track(u, "pay", DAY) for u in "abc"])
    first = refresh(runtime, project, segment, DAY + dt.timedelta(hours=1))
    members = state(runtime, project, segment)
    assert (first.status, len(members)) == ("ok", 3)
    runtime.store.command("DELETE FROM segment_refreshes_done WHERE project_id = "
                          "{p:UInt32}", {"p": project.id})  # as before the upgrade
    assert state(runtime, project, segment) == []
    assert record_earlier_completions(runtime.sessions, runtime.store) == 1
    assert record_earlier_completions(runtime.sessions, runtime.store) == 0  # once
    assert state(runtime, project, segment) == members
    again = refresh(runtime, project, segment, DAY + dt.timedelta(hours=2))
    assert (again.size, again.entered, again.exited) == (3, 0, 0)
    assert changes(runtime, project, segment, members[0]) == [(first.at, True)]


def test_a_failed_refresh_leaves_the_previous_membership(runtime: Runtime,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [track("a", "pay", DAY), track("b", "view", DAY)])
    segment = create(runtime, project, "payers", {"kind": "performed", "event": "pay"})
    first = refresh(runtime, project, segment, DAY + dt.timedelta(hours=1))
    a, b = person_number(runtime, project, "a"), person_number(runtime, project, "b")
    assert (first.status, state(runtime, project, segment)) == ("ok", [a])
    send(runtime, project.id, [track("a", "refund", DAY), track("b", "pay", DAY)], batch="x")
    store: EventStore = runtime.store
    real = store.command

    def half_written(sql: str, params: Any = None) -> None:
        real(sql, params)  # the rows go in, then the store fails before the refresh completes
        if "INSERT INTO segment_changes" in sql:
            raise StoreError("event store (chDB): connection lost")

    monkeypatch.setattr(store, "command", half_written)
    failed = refresh(runtime, project, segment, DAY + dt.timedelta(hours=2))
    monkeypatch.undo()
    assert (failed.status, failed.size) == ("failed", None)
    assert "connection lost" in (failed.error or "")
    assert state(runtime, project, segment) == [a]
    assert changes(runtime, project, segment, b) == []
    assert [h["size"] for h in history(runtime.sessions, project.id, segment)] == [1]
    view = saved.get_segment(runtime.sessions, project.id, segment).to_json()
    assert (view["size"], view["status"]) == (1, "failed")
    assert "connection lost" in view["last_refresh"]["error"]
    # The half-written rows stay unread: the next refresh starts from the last completed one.
    later = DAY + dt.timedelta(hours=3)
    ok = refresh(runtime, project, segment, later)
    assert (ok.status, ok.size, ok.entered, ok.exited) == ("ok", 2, 1, 0)
    assert state(runtime, project, segment) == sorted([a, b])
    assert changes(runtime, project, segment, b) == [(later.astimezone(dt.UTC), True)]


def test_a_definition_failing_at_run_time_is_recorded(runtime: Runtime,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [track("a", "pay", DAY)])
    segment = create(runtime, project, "payers", {"kind": "performed", "event": "pay"})
    assert refresh(runtime, project, segment, DAY).status == "ok"
    monkeypatch.setattr("userops.segments.refresh.compile_segment",
                        lambda *a, **k: (_ for _ in ()).throw(ValueError("no such column")))
    failed = refresh(runtime, project, segment, DAY)
    assert (failed.status, failed.error) == ("failed", "no such column")
    assert len(state(runtime, project, segment)) == 1


def test_references_checked_when_saved_and_inlined_when_refreshed(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    other = new_project(runtime, "UTC")
    send(runtime, project.id, [track("a", "pay", DAY), track("b", "view", DAY)])
    payers = create(runtime, project, "payers", {"kind": "performed", "event": "pay"})
    viewers = create(runtime, project, "not payers", {"not": {"kind": "segment", "id": payers}})
    elsewhere = create(runtime, other, "payers", {"kind": "performed", "event": "pay"})
    with pytest.raises(BadRequest) as cycle:
        saved.update_segment(runtime.sessions, project.id, payers,
                             {"definition": {"kind": "segment", "id": viewers}})  # fmt: skip
    assert cycle.value.field == "definition.id"
    assert f"{payers} -> {viewers} -> {payers}" in cycle.value.message
    for unknown in (elsewhere, 10**9):
        with pytest.raises(BadRequest) as missing:
            create(runtime, project, f"x{unknown}",
                   {"and": [{"kind": "person", "key": "k", "operator": "is_set"},
                            {"kind": "segment", "id": unknown}]})  # fmt: skip
        assert missing.value.field == "definition.and.1.id"
    with pytest.raises(BadRequest) as bad_count:
        create(runtime, project, "bad", {"kind": "performed", "event": "pay", "count": -1})
    assert bad_count.value.field == "definition.count"
    for minutes in (4, 10081, "60"):
        with pytest.raises(BadRequest) as interval:
            create(runtime, project, "often", PAID, refresh_minutes=minutes)
        assert interval.value.field == "refresh_minutes"
    with pytest.raises(Conflict) as taken:
        create(runtime, project, "payers", PAID)
    assert taken.value.field == "name"
    with pytest.raises(Conflict) as used:
        saved.delete_segment(runtime.sessions, project.id, payers)
    assert f"{viewers} ('not payers')" in used.value.message
    assert refresh(runtime, project, viewers, DAY).size == 1
    assert state(runtime, project, viewers) == [person_number(runtime, project, "b")]
    with pytest.raises(NotFound):
        refresh(runtime, project, elsewhere, DAY)
    saved.delete_segment(runtime.sessions, project.id, viewers)
    saved.delete_segment(runtime.sessions, project.id, payers)
    forget(runtime.store, project.id, viewers)
    assert rows(runtime.store, "SELECT count() FROM segment_changes WHERE segment_id = "
                "{s:UInt64}", {"s": viewers}) == [(0,)]  # fmt: skip
    with runtime.sessions() as session:
        assert session.scalars(select(SegmentRefresh).where(
            SegmentRefresh.segment_id == viewers)).all() == []  # fmt: skip
    assert saved.list_segments(runtime.sessions, project.id) == []


def test_jobs_survive_a_restart_and_run_when_due(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [track("a", "pay", DAY)])
    segment = create(runtime, project, "payers", {"kind": "performed", "event": "pay"},
                     refresh_minutes=30)  # fmt: skip
    gone = create(runtime, project, "gone", {"kind": "performed", "event": "pay"})
    url = runtime.sessions.kw["bind"].url
    first = SegmentScheduler(runtime, create_meta_engine(url)).start()
    try:
        planned = first.next_run(segment)
        assert planned is not None
        assert first.next_run(gone) is not None
    finally:
        first.stop()
    saved.delete_segment(runtime.sessions, project.id, gone)
    # A new process: a new engine on the same database file finds the job and its next run.
    engine = create_meta_engine(url)
    second = SegmentScheduler(runtime, engine)
    try:
        second.start(sync=False)
        job = second.scheduler.get_job(job_id(segment))
        assert job is not None and job.next_run_time == planned
        assert job.trigger.interval == dt.timedelta(minutes=30)
        second.sync()
        assert second.next_run(gone) is None
        assert second.next_run(segment) == planned  # unchanged interval: the same plan
        second.scheduler.modify_job(job_id(segment), next_run_time=dt.datetime.now(dt.UTC))
        deadline = time.monotonic() + 60
        done: list[int] = []
        while time.monotonic() < deadline and not done:
            with runtime.sessions() as session:
                done = saved.completed(session, segment)
            time.sleep(0.2)
        assert done, "the due job did not refresh the segment"
        assert state(runtime, project, segment) == [person_number(runtime, project, "a")]
        second.schedule(project.id, segment, 120)
        assert second.scheduler.get_job(job_id(segment)).trigger.interval == \
            dt.timedelta(hours=2)  # fmt: skip
        second.unschedule(segment)
        assert second.next_run(segment) is None
    finally:
        second.stop()
        engine.dispose()


def test_segments_and_jobs_on_either_metadata_store(tmp_path: Path, meta_url: str) -> None:
    """SQLite and PostgreSQL: the table, its rules, and the scheduler's jobs kept across a
    restart (no event store needed: nothing runs)."""
    sessions = open_meta(tmp_path / "meta", meta_url)
    engines = []
    try:
        project = create_project(sessions, "shop", "UTC")
        body = {"name": "payers", "definition": {"kind": "performed", "event": "pay"}}
        first_id = saved.create_segment(sessions, project.id, body, None).row.id
        ref = {"name": "uses", "definition": {"kind": "segment", "id": first_id}}
        user_id = saved.create_segment(sessions, project.id, ref, None).row.id
        with pytest.raises(Conflict):
            saved.create_segment(sessions, project.id, body, None)
        with pytest.raises(Conflict):
            saved.delete_segment(sessions, project.id, first_id)
        holder: Any = SimpleNamespace(sessions=sessions)
        url = sessions.kw["bind"].url
        engines = [create_meta_engine(url), create_meta_engine(url)]
        first = SegmentScheduler(holder, engines[0]).start()
        planned = {s: first.next_run(s) for s in (first_id, user_id)}
        first.stop()
        assert None not in planned.values()
        second = SegmentScheduler(holder, engines[1]).start(sync=False)
        try:
            assert {s: second.next_run(s) for s in (first_id, user_id)} == planned
        finally:
            second.stop()
        saved.delete_segment(sessions, project.id, user_id)
        assert [v.row.id for v in saved.list_segments(sessions, project.id)] == [first_id]
        # Ids are never handed out again after a delete.
        again = saved.create_segment(sessions, project.id, {**body, "name": "new"}, None)
        assert again.row.id > user_id
    finally:
        for engine in engines:
            engine.dispose()
        sessions.kw["bind"].dispose()


def test_a_merge_moves_membership_at_the_next_refresh(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    definition = {"kind": "performed", "event": "pay", "operator": "gte", "count": 2}
    send(runtime, project.id, [
        {"type": "track", "anonymousId": "d1", "event": "pay", "t": DAY},
        {"type": "track", "anonymousId": "d1", "event": "pay", "t": DAY},
        track("u", "pay", DAY),
    ])  # fmt: skip
    segment = create(runtime, project, "twice", definition)
    first = DAY + dt.timedelta(hours=1)
    refresh(runtime, project, segment, first)
    before = state(runtime, project, segment)
    assert before == engine_members(runtime, project, definition, first)
    assert len(before) == 1
    # d1 turns out to be u: one person with three pays (whichever number survives).
    send(runtime, project.id, [{"type": "identify", "anonymousId": "d1", "userId": "u",
                                "t": DAY + dt.timedelta(minutes=5)}], batch="merge")  # fmt: skip
    second = DAY + dt.timedelta(hours=2)
    record = refresh(runtime, project, segment, second)
    after = state(runtime, project, segment)
    assert after == engine_members(runtime, project, definition, second)
    assert len(after) == 1 and record.size == 1
    for gone in set(before) - set(after):
        assert changes(runtime, project, segment, gone)[-1] == (second.astimezone(dt.UTC), False)
    for came in set(after) - set(before):
        assert changes(runtime, project, segment, came) == [(second.astimezone(dt.UTC), True)]
