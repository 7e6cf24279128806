"""The daily refresh of what is computed per person: the computed properties
(``userops.analysis.computed``), RFM scores and groups (``userops.analysis.rfm``), value tiers
(``userops.analysis.tiers``, after both: they rank persons by one of their values) and each
person's lifecycle stage on the last days (``userops.analysis.stages``), with the project's
people settings (``userops.analysis.layers``). The server runs it once a day per project
(``userops.segments.scheduler``); ``POST .../computed-properties/refresh`` runs it on demand.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from userops.analysis import computed, rfm, stages, tiers
from userops.analysis.layers import PeopleSettings, people_settings
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.times import iso

DEFAULT_STAGE_DAYS = 90
# One refresh at a time per project: the daily job and an on-demand refresh would otherwise
# write the same tables at once, and the second's deletes would race the first's inserts.
_RUNNING: dict[int, threading.Lock] = {}
_GUARD = threading.Lock()


def refresh_people(runtime: Runtime, project: Project, settings: PeopleSettings | None = None,
                   stage_days: int = DEFAULT_STAGE_DAYS,
                   now: dt.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """The four refreshes, as of ``now``, with ``settings`` (by default the project's stored
    ones); what the REST answer and the daily job report."""
    settings = settings or people_settings(project)
    with _GUARD:
        lock = _RUNNING.setdefault(project.id, threading.Lock())
    with lock:
        now = now or dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        persons = computed.refresh(runtime.store, project, now)
        scored = rfm.refresh_rfm(runtime.store, project, settings.rfm, now)
        tiered = tiers.refresh_tiers(runtime.store, project, settings.tier, now)
        today = stages.today_in(project, now)
        first = today - dt.timedelta(days=stage_days - 1)
        stage_rows = stages.refresh_stages(runtime.store, project, settings.stages, first, today,
                                           now)  # fmt: skip
    return {"persons": persons, "rfm_scored": scored, "tiered": tiered,
            "stage_rows": stage_rows, "refreshed_at": iso(now),
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
