"""The daily refresh of what is computed per person: the computed properties
(``userops.analysis.computed``), RFM scores and groups (``userops.analysis.rfm``) and each
person's lifecycle stage on the last days (``userops.analysis.stages``). The server runs it once
a day per project (``userops.segments.scheduler``); ``POST .../computed-properties/refresh``
runs it on demand.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from userops.analysis import computed, rfm, stages
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.schema.times import iso

DEFAULT_STAGE_DAYS = 90
# One refresh at a time per project: the daily job and an on-demand refresh would otherwise
# write the same tables at once, and the second's deletes would race the first's inserts.
_RUNNING: dict[int, threading.Lock] = {}
_GUARD = threading.Lock()


def refresh_people(runtime: Runtime, project: Project, config: stages.StageConfig,
                   stage_days: int = DEFAULT_STAGE_DAYS, rfm_config: rfm.RfmConfig | None = None,
                   now: dt.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """The three refreshes, as of ``now``; what the REST answer and the daily job report."""
    with _GUARD:
        lock = _RUNNING.setdefault(project.id, threading.Lock())
    with lock:
        now = now or dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        persons = computed.refresh(runtime.store, project, now)
        scored = rfm.refresh_rfm(runtime.store, project, rfm_config, now)
        today = stages.today_in(project, now)
        first = today - dt.timedelta(days=stage_days - 1)
        stage_rows = stages.refresh_stages(runtime.store, project, config, first, today, now)
    return {"persons": persons, "rfm_scored": scored, "stage_rows": stage_rows,
            "refreshed_at": iso(now),
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip
