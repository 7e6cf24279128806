"""One entry point for every analysis: a spec (JSON text or dict) in, a typed result out.

REST, the CLI and the Python clients all call ``parse_spec`` and ``run_query``; validation
errors name the spec's field, as ``BadRequest`` with a dotted path such as
``series.0.filters.0.value``. Adding a kind: import its spec, result and runner, add them below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from userops.analysis.funnel import FunnelResult, FunnelSpec, run_funnel
from userops.analysis.lifecycle import LifecycleResult, LifecycleSpec, run_lifecycle
from userops.analysis.overview import OverviewResult, OverviewSpec, run_overview
from userops.analysis.retention import RetentionResult, RetentionSpec, run_retention
from userops.analysis.spec import AnalysisResult
from userops.analysis.stickiness import StickinessResult, StickinessSpec, run_stickiness
from userops.analysis.trends import TrendsResult, TrendsSpec, run_trends
from userops.errors import BadRequest
from userops.meta.models import Project
from userops.store import EventStore

Spec = Annotated[
    TrendsSpec | OverviewSpec | FunnelSpec | RetentionSpec | LifecycleSpec | StickinessSpec,
    Field(discriminator="kind"),
]
Result = Annotated[
    TrendsResult
    | OverviewResult
    | FunnelResult
    | RetentionResult
    | LifecycleResult
    | StickinessResult,
    Field(discriminator="kind"),
]
Runner = Callable[[EventStore, Project, Any, dt.date | None], AnalysisResult]

RUNNERS: dict[str, Runner] = {
    "trends": run_trends,
    "overview": run_overview,
    "funnel": run_funnel,
    "retention": run_retention,
    "lifecycle": run_lifecycle,
    "stickiness": run_stickiness,
}
KINDS = frozenset(RUNNERS)
_SPEC: TypeAdapter[Any] = TypeAdapter(Spec)
_RESULT: TypeAdapter[Any] = TypeAdapter(Result)


def parse_spec(spec: str | bytes | dict[str, Any]) -> Any:
    """The typed spec, or ``BadRequest`` naming the first bad field by its JSON path."""
    try:
        if isinstance(spec, dict):
            return _SPEC.validate_python(spec)
        return _SPEC.validate_json(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if loc and loc[0] in KINDS:  # the union's tag, not a field of the spec
            loc = loc[1:]
        if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["kind"]
        where = ".".join(str(part) for part in loc) or "(spec)"
        raise BadRequest(f"spec {where}: {first['msg']}", field=where) from None


def parse_result(result: str | bytes | dict[str, Any]) -> AnalysisResult:
    """A result as REST returned it (JSON), typed again by its ``kind``."""
    if isinstance(result, dict):
        parsed: AnalysisResult = _RESULT.validate_python(result)
    else:
        parsed = _RESULT.validate_json(result)
    return parsed


def run_query(
    store: EventStore, project: Project, spec: Any, today: dt.date | None = None
) -> AnalysisResult:
    return RUNNERS[spec.kind](store, project, spec, today)
