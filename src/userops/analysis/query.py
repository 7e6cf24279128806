"""One entry point for every analysis: a spec (JSON text or dict) in, a typed result out.

The CLI, the Python API and (later) REST all call ``run_query``; validation errors name the
spec's field, as ``BadRequest`` with a dotted path such as ``series.0.filters.0.value``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from userops.analysis.trends import TrendsResult, TrendsSpec, run_trends
from userops.errors import BadRequest
from userops.meta.models import Project
from userops.store import EventStore

# A discriminated union as more kinds arrive (funnel, retention, ...); one kind for now.
Spec = Annotated[TrendsSpec, Field(discriminator="kind")]
Result = TrendsResult
_SPEC: TypeAdapter[TrendsSpec] = TypeAdapter(Spec)
KINDS = frozenset({"trends"})


def parse_spec(spec: str | bytes | dict[str, Any]) -> TrendsSpec:
    try:
        if isinstance(spec, dict):
            return _SPEC.validate_python(spec)
        return _SPEC.validate_json(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if loc and loc[0] in KINDS:  # the union's tag, not a field of the spec
            loc = loc[1:]
        if first["type"] == "union_tag_invalid":
            loc = ["kind"]
        where = ".".join(str(part) for part in loc) or "(spec)"
        raise BadRequest(f"spec {where}: {first['msg']}", field=where) from None


def run_query(
    store: EventStore, project: Project, spec: TrendsSpec, today: dt.date | None = None
) -> Result:
    return run_trends(store, project, spec, today)
