"""Kept analysis answers: served exactly while the events and identities stand still, within a
client's max-age after they moved, never across the project's midnight or time zone, computed
again on demand, and bounded in memory."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from analysis_reference import send
from userops.analysis import computed
from userops.analysis.cache import ResultCache, data_version, result_key
from userops.analysis.query import parse_spec, run_query
from userops.analysis.spec import AnalysisResult
from userops.identity.repository import unmerge
from userops.meta.models import Merge, Project
from userops.runtime import Runtime

pytestmark = pytest.mark.usefixtures("clean_environment")

WHEN = dt.datetime(2026, 11, 20, 4, tzinfo=dt.UTC)
SPEC = parse_spec(
    {
        "kind": "trends",
        "date_range": {"start": "2026-11-18", "end": "2026-11-21"},
        "series": [{"event": None, "math": "total"}],
    }
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def total(result: AnalysisResult) -> int:
    return int(result.series[0].total)  # type: ignore[attr-defined]


def test_an_answer_is_kept_exactly_while_the_data_stands_still(
    runtime: Runtime, project: Project
) -> None:
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "a"}])
    cache = ResultCache()
    runs: list[int] = []

    def compute() -> AnalysisResult:
        runs.append(1)
        return run_query(runtime.store, project, SPEC)

    key = result_key(project, SPEC.model_dump_json())
    first = cache.get(runtime.store, key, compute)
    again = cache.get(runtime.store, key, compute)
    assert (len(runs), first.cached, again.cached) == (1, False, True)
    assert first.computed_at is not None and again.computed_at == first.computed_at
    assert total(again) == total(first) == 1

    send(runtime, project.id, [{"t": WHEN, "anonymousId": "b"}], batch="b")  # an insert
    after_insert = cache.get(runtime.store, key, compute)
    assert (len(runs), after_insert.cached, total(after_insert)) == (2, False, 2)

    send(runtime, project.id, [{"t": WHEN, "type": "identify", "anonymousId": "b",
                                "userId": "u"}], batch="i")  # fmt: skip
    assert cache.get(runtime.store, key, compute).cached is False  # a merge moves it too
    assert cache.get(runtime.store, key, compute, force=True).cached is False
    assert len(runs) == 4
    computed.refresh(runtime.store, project, WHEN + dt.timedelta(hours=1))  # $revenue, ...
    assert cache.get(runtime.store, key, compute).cached is False
    assert len(runs) == 5


def test_an_undone_merge_never_brings_an_old_version_back(
    runtime: Runtime, project: Project
) -> None:
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "a"}, {"t": WHEN, "userId": "u"}])
    versions = [data_version(runtime.store)]
    send(runtime, project.id, [{"t": WHEN, "type": "identify", "anonymousId": "a",
                                "userId": "u"}], batch="i")  # a merges into u's person
    versions.append(data_version(runtime.store))
    with runtime.sessions() as session:
        merge_id = session.scalars(select(Merge.id)).one()
    unmerge(runtime.sessions, runtime.store, project.id, merge_id)
    runtime.store.command("OPTIMIZE TABLE person_overrides FINAL")  # the fold a merge would do
    versions.append(data_version(runtime.store))
    assert len(set(versions)) == 3, versions


def test_max_age_accepts_an_older_answer_after_events_arrived(
    runtime: Runtime, project: Project
) -> None:
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "a"}])
    clock = Clock()
    cache = ResultCache(clock=clock)
    runs: list[int] = []

    def compute() -> AnalysisResult:
        runs.append(1)
        return run_query(runtime.store, project, SPEC)

    key = result_key(project, SPEC.model_dump_json())
    cache.get(runtime.store, key, compute)
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "b"}], batch="b")
    clock.now += 300
    kept = cache.get(runtime.store, key, compute, max_age=300)  # exactly at the limit
    assert (kept.cached, total(kept), len(runs)) == (True, 1, 1)
    clock.now += 1
    new = cache.get(runtime.store, key, compute, max_age=300)  # one second past it
    assert (new.cached, total(new), len(runs)) == (False, 2, 2)
    # without max-age, a changed store is never served from memory, however young the answer
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "c"}], batch="c")
    assert total(cache.get(runtime.store, key, compute)) == 3


def test_keys_change_at_the_projects_midnight_and_with_its_settings(project: Project) -> None:
    spec = SPEC.model_dump_json()
    # 15:59:59 and 16:00 UTC are 23:59:59 and 00:00 the next day in Shanghai (UTC+8)
    before = result_key(project, spec, dt.datetime(2026, 11, 20, 15, 59, 59, tzinfo=dt.UTC))
    same_day = result_key(project, spec, dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.UTC))
    after = result_key(project, spec, dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC))
    assert before == same_day and before != after
    at = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    same = Project(id=project.id, name=project.name, timezone=project.timezone, write_key="w",
                   order_event=project.order_event, revenue_property=project.revenue_property)
    assert result_key(same, spec, at) == result_key(project, spec, at)
    for change in ({"timezone": "UTC"}, {"order_event": "purchase"},
                   {"revenue_property": "amount"}):  # fmt: skip
        moved = Project(**{"id": project.id, "name": project.name, "write_key": "w",
                           "timezone": project.timezone, "order_event": project.order_event,
                           "revenue_property": project.revenue_property, **change})  # fmt: skip
        assert result_key(moved, spec, at) != result_key(project, spec, at), change
    other = parse_spec({**SPEC.model_dump(mode="json"), "interval": "week"}).model_dump_json()
    assert result_key(project, other, at) != result_key(project, spec, at)


def test_memory_is_bounded_least_recently_used_first(runtime: Runtime, project: Project) -> None:
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "a"}])
    answer = run_query(runtime.store, project, SPEC)
    size = len(answer.model_copy(update={"computed_at": WHEN}).model_dump_json())
    cache = ResultCache(max_bytes=size * 2 + size // 2)  # room for two answers
    runs: list[str] = []

    def compute(name: str) -> AnalysisResult:
        runs.append(name)
        return answer

    for name in ("a", "b", "a", "c"):  # "a" used again before "c" arrives: "b" leaves
        cache.get(runtime.store, name, lambda n=name: compute(n))  # type: ignore[misc]
    assert cache.size <= cache.max_bytes
    assert cache.get(runtime.store, "a", lambda: compute("a")).cached is True
    assert cache.get(runtime.store, "b", lambda: compute("b")).cached is False
    assert runs == ["a", "b", "c", "b"]
    huge = ResultCache(max_bytes=size // 2)  # an answer larger than the whole room
    huge.get(runtime.store, "a", lambda: answer)
    assert (huge.size, huge.get(runtime.store, "a", lambda: answer).cached) == (0, False)


def test_concurrent_askers_of_one_spec_wait_for_one_computation(
    runtime: Runtime, project: Project
) -> None:
    send(runtime, project.id, [{"t": WHEN, "anonymousId": "a"}])
    cache = ResultCache()
    arrived = threading.Semaphore(0)

    class Counted:
        """A stripe lock that tells when an asker reaches it, before it waits."""

        def __init__(self) -> None:
            self.lock = threading.Lock()

        def __enter__(self) -> None:
            arrived.release()
            self.lock.acquire()

        def __exit__(self, *_: object) -> None:
            self.lock.release()

    cache._locks = [Counted() for _ in cache._locks]  # type: ignore[misc]
    runs: list[int] = []

    def slow() -> AnalysisResult:
        runs.append(1)
        for _ in range(3):  # every asker has reached the lock: two now wait on this one
            assert arrived.acquire(timeout=10)
        return run_query(runtime.store, project, SPEC)

    answers: list[AnalysisResult] = []

    def ask() -> None:
        answers.append(cache.get(runtime.store, "k", slow))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(runs) == 1
    assert sorted(a.cached for a in answers) == [False, True, True]


def test_an_answer_asked_while_stages_refresh_is_not_kept_past_their_record(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stages are read once their refresh is recorded complete, after its rows are written: an
    answer computed in between (from the previous refresh) must be computed again after it."""
    from analysis_reference import new_project
    from userops.analysis import stages

    day = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    project = new_project(runtime, "UTC")
    send(runtime, project.id, [{"type": "track", "userId": "a", "event": "view", "t": day}])
    spec = parse_spec({"kind": "trends", "series": [{"event": None, "math": "unique_persons"}],
                       "date_range": {"start": "2026-11-01", "end": "2026-11-01"},
                       "breakdown": {"type": "person", "key": "$lifecycle_stage"}})  # fmt: skip
    cache = ResultCache()
    key = result_key(project, spec.model_dump_json(), day)

    def ask() -> list[str | None]:
        found = cache.get(runtime.store, key,
                          lambda: run_query(runtime.store, project, spec, day.date()))
        return [line.breakdown_value for line in found.series]  # type: ignore[attr-defined]

    config = stages.StageConfig()
    stages.refresh_stages(runtime.store, project, config, day.date(), day.date(), day)
    assert ask() == ["new"]
    record = stages.mark_completed
    asked: list[list[str | None]] = []

    def ask_first(*args: object, **kwargs: object) -> None:
        asked.append(ask())  # a dashboard asking between the rows and their record
        record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stages, "mark_completed", ask_first)
    later = day + dt.timedelta(days=40)  # 40 idle days: churned
    stages.refresh_stages(runtime.store, project, config, later.date(), later.date(), later)
    assert asked == [["new"]]
    assert ask() == ["churned"]
