"""Scheduled segment refreshes that survive restarts: APScheduler 3 with its jobs in the
metadata database.

One interval job per segment, id ``segment-<id>``, every ``refresh_minutes``; added, changed and
removed with the segment, and checked against the segments table on start (a segment saved
while no server ran gets its job then). Jobs live in ``apscheduler_jobs`` in the metadata store
(``SQLAlchemyJobStore`` on its engine: with SQLite, the same file), so a restarted server finds
them with their next run times. Missed runs coalesce into one; a run more than its own interval
late is skipped. One worker thread runs them, and ``refresh`` takes a process-wide lock, so two
refreshes never run at once.

Beside them, one daily job per project, id ``persons-<project id>``, at 00:30 in the project's
time zone: the computed person properties, RFM, value tiers and lifecycle stages
(``userops.analysis.daily``), with the project's people settings as they are when it runs.
Projects are created by the REST API and by the CLI (another process), and a project's time zone
can change, so a job ``projects-sync`` checks the daily jobs against the projects table every
minute (``PROJECT_SYNC``): a new project gets its daily job within a minute, not at the next
restart.

A job is stored as a reference to ``run_job`` and its arguments (no pickled objects of ours);
``run_job`` finds the open runtime through the scheduler that started last in this process.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from apscheduler.executors.pool import (  # type: ignore[import-untyped]
    ThreadPoolExecutor,
)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import (  # type: ignore[import-untyped]
    BackgroundScheduler,
)
from sqlalchemy import Engine, select

from userops.analysis.daily import refresh_people
from userops.errors import NotFound
from userops.meta import segments as saved
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.segments.refresh import refresh

log = logging.getLogger(__name__)
JOB_FUNCTION = "userops.segments.scheduler:run_job"
DAILY_FUNCTION = "userops.segments.scheduler:run_daily_job"
SYNC_FUNCTION = "userops.segments.scheduler:run_project_sync"
SYNC_JOB = "projects-sync"
PROJECT_SYNC = dt.timedelta(minutes=1)
DAILY = dt.timedelta(days=1)
_runtime: Runtime | None = None
_scheduler: SegmentScheduler | None = None


def job_id(segment_id: int) -> str:
    return f"segment-{segment_id}"


def run_job(project_id: int, segment_id: int) -> None:
    """A due job: refresh the segment (a failure is recorded on the refresh, not raised)."""
    runtime = _runtime
    if runtime is None:
        log.warning("segment %s: no open data directory to refresh it in", segment_id)
        return
    with runtime.sessions() as session:
        project = session.get(Project, project_id)
    if project is None:
        return
    try:
        refresh(runtime, project, segment_id)
    except NotFound:  # deleted since: its job goes too
        log.info("segment %s no longer exists", segment_id)


def daily_job_id(project_id: int) -> str:
    return f"persons-{project_id}"


def run_daily_job(project_id: int) -> None:
    """The project's daily refresh of computed properties and stages; failures are logged."""
    runtime = _runtime
    if runtime is None:
        return
    with runtime.sessions() as session:
        project = session.get(Project, project_id)
    if project is None:
        return
    try:
        refresh_people(runtime, project)  # the stored settings
    except Exception:
        log.exception("daily refresh of project %s's persons failed", project_id)


def run_project_sync() -> None:
    """The periodic check: a daily job for every project, with its current time zone."""
    scheduler = _scheduler
    if scheduler is None:
        return
    try:
        scheduler.sync_projects()
    except Exception:  # the next run tries again
        log.exception("checking the projects' daily jobs failed")


class SegmentScheduler:
    """A ``BackgroundScheduler`` with its jobs in the metadata store."""

    def __init__(self, runtime: Runtime, engine: Engine | None = None,
                 project_sync: dt.timedelta = PROJECT_SYNC) -> None:  # fmt: skip
        self.runtime = runtime
        self.project_sync = project_sync
        bind = engine if engine is not None else runtime.sessions.kw["bind"]
        self.scheduler: Any = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=bind)},
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=dt.UTC,
        )

    def start(self, sync: bool = True) -> SegmentScheduler:
        global _runtime, _scheduler
        _runtime, _scheduler = self.runtime, self
        self.scheduler.start()
        if sync:
            self.sync()
        return self

    def stop(self) -> None:
        global _runtime, _scheduler
        self.scheduler.shutdown(wait=True)
        if _runtime is self.runtime:
            _runtime = None
        if _scheduler is self:
            _scheduler = None

    def sync(self) -> None:
        """A job for every segment, none for segments that are gone; jobs whose interval still
        matches keep their next run time."""
        wanted = {job_id(s): (p, s, m) for p, s, m in saved.all_segments(self.runtime.sessions)}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("segment-") and job.id not in wanted:
                job.remove()
        for project_id, segment_id, minutes in wanted.values():
            self.schedule(project_id, segment_id, minutes)
        self.sync_projects()
        job = self.scheduler.get_job(SYNC_JOB)
        if job is None or getattr(job.trigger, "interval", None) != self.project_sync:
            seconds = max(1, int(self.project_sync.total_seconds()))
            self.scheduler.add_job(SYNC_FUNCTION, "interval", seconds=seconds, id=SYNC_JOB,
                                   replace_existing=True, misfire_grace_time=seconds)  # fmt: skip

    def sync_projects(self) -> None:
        """A daily job for every project, in its time zone; none for projects that are gone."""
        with self.runtime.sessions() as session:
            found = session.execute(select(Project.id, Project.timezone)).all()
            projects = {project_id: zone for project_id, zone in found}
        daily = {daily_job_id(project_id) for project_id in projects}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("persons-") and job.id not in daily:
                job.remove()
        for project_id, zone in projects.items():
            self.schedule_daily(project_id, zone)

    def schedule_daily(self, project_id: int, timezone: str) -> None:
        """The project's daily refresh at 00:30 in its time zone, just after its day ends; an
        unchanged job keeps its next run time."""
        job = self.scheduler.get_job(daily_job_id(project_id))
        if job is not None and str(getattr(job.trigger, "timezone", "")) == timezone:
            return
        self.scheduler.add_job(DAILY_FUNCTION, "cron", hour=0, minute=30, timezone=timezone,
                               id=daily_job_id(project_id), args=[project_id],
                               replace_existing=True,
                               misfire_grace_time=int(DAILY.total_seconds()))  # fmt: skip

    def schedule(self, project_id: int, segment_id: int, minutes: int) -> None:
        """Add or change the segment's job; unchanged, it keeps its next run time."""
        job = self.scheduler.get_job(job_id(segment_id))
        interval = dt.timedelta(minutes=minutes)
        if job is not None and getattr(job.trigger, "interval", None) == interval:
            return
        self.scheduler.add_job(JOB_FUNCTION, "interval", minutes=minutes, id=job_id(segment_id),
                               args=[project_id, segment_id], replace_existing=True,
                               misfire_grace_time=minutes * 60)  # fmt: skip

    def unschedule(self, segment_id: int) -> None:
        if self.scheduler.get_job(job_id(segment_id)) is not None:
            self.scheduler.remove_job(job_id(segment_id))

    def next_run(self, segment_id: int) -> dt.datetime | None:
        job = self.scheduler.get_job(job_id(segment_id))
        return None if job is None else job.next_run_time
