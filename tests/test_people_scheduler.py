"""The daily person refresh's jobs: a project created (or moved to another time zone) while the
scheduler runs gets its job from the periodic check, without a restart, and the job refreshes
with the project's stored people settings."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from userops.analysis.layers import PeopleSettings, save_people_settings
from userops.analysis.person_stats import completed_detail
from userops.meta.models import Project
from userops.meta.projects import create_project, update_project
from userops.runtime import Runtime
from userops.segments.scheduler import (
    SYNC_JOB,
    SegmentScheduler,
    daily_job_id,
    run_daily_job,
)

pytestmark = pytest.mark.usefixtures("clean_environment")


def wait_for(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    return check()


def test_a_project_created_while_running_gets_its_daily_job(runtime: Runtime) -> None:
    first = create_project(runtime.sessions, "first", "Asia/Shanghai")
    jobs = SegmentScheduler(runtime, project_sync=dt.timedelta(seconds=1)).start()
    try:
        assert jobs.scheduler.get_job(daily_job_id(first.id)) is not None
        assert jobs.scheduler.get_job(SYNC_JOB).trigger.interval == dt.timedelta(seconds=1)
        # as the REST API or the CLI (another process) would: no call to the scheduler
        later = create_project(runtime.sessions, "later", "America/New_York")
        job = wait_for(lambda: jobs.scheduler.get_job(daily_job_id(later.id)))
        assert job is not None, "the new project got no daily job"
        assert str(job.trigger.timezone) == "America/New_York"
        update_project(runtime.sessions, "later", timezone="Europe/Berlin")
        moved = wait_for(lambda: str(jobs.scheduler.get_job(daily_job_id(later.id))
                                     .trigger.timezone) == "Europe/Berlin")  # fmt: skip
        assert moved, "the job kept the old time zone"
    finally:
        jobs.stop()


def test_the_daily_job_uses_the_stored_settings(runtime: Runtime) -> None:
    project = create_project(runtime.sessions, "shop", "Asia/Shanghai")
    settings = PeopleSettings.parse({"stages": {"new_days": 2, "active_days": 5,
                                                "churn_days": 40},
                                     "tier": {"metric": "$orders", "core_percentile": 90}})
    save_people_settings(runtime.sessions, project.id, settings)
    jobs = SegmentScheduler(runtime).start(sync=False)
    try:
        run_daily_job(project.id)
    finally:
        jobs.stop()
    stages_done = completed_detail(runtime.store, "stages", project.id)
    tiers_done = completed_detail(runtime.store, "tiers", project.id)
    assert stages_done is not None and tiers_done is not None
    assert stages_done[1] == {"new_days": 2, "active_days": 5, "churn_days": 40}
    assert tiers_done[1] == {"metric": "$orders", "core_percentile": 90, "threshold": None}
    with runtime.sessions() as session:
        stored = session.get(Project, project.id)
        assert stored is not None and stored.people_settings == settings.stored()
