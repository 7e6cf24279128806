"""Segments (用户分群): definitions as a boolean tree of conditions on persons, compiled to one
ClickHouse query of their members.

    spec.py        the definition's models, limits and ``parse_definition`` (errors by JSON path)
    references.py  segments referring to segments: inlined through the caller's resolver,
                   cycles refused with the chain named
    compiler.py    the definition as one parameterised query (one scan of events, folded per
                   person, the tree evaluated over the folds)
    funnels.py     each person's level in a funnel, from the funnel analysis's query
    membership.py  ``members`` and ``count`` (the live preview)
    refresh.py     saved segments' membership with history (``segment_changes``), refreshed
    scheduler.py   a refresh job per saved segment (APScheduler, jobs kept across restarts)
    lists.py       static lists from a CSV of ids; members out as CSV with chosen traits
"""

from __future__ import annotations

from userops.segments.compiler import SegmentQuery
from userops.segments.membership import compile_segment, count, members
from userops.segments.references import ResolvedIds, SegmentResolver, expand
from userops.segments.spec import Definition, definition_json, parse_definition

__all__ = [
    "Definition",
    "ResolvedIds",
    "SegmentQuery",
    "SegmentResolver",
    "compile_segment",
    "count",
    "definition_json",
    "expand",
    "members",
    "parse_definition",
]
