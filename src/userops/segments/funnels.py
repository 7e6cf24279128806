"""Each person's level in a funnel, from the funnel analysis's own query (one funnel, not two):
``run_funnel`` counts persons per level, a segment needs the level of each person.
"""

from __future__ import annotations

import datetime as dt

from userops.analysis.funnel import FunnelQuery, FunnelSpec
from userops.analysis.scope import Scope


def person_levels(q: Scope, spec: FunnelSpec, start: dt.datetime, end: dt.datetime) -> str:
    """A subquery of ``person`` and ``level`` (steps reached, 0 to n) for every person with a
    step event of the funnel; persons entering in [start, end) (UTC) have levels from 1."""
    return FunnelQuery(q, spec, start, end).person_levels()
