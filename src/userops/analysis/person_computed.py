"""One person's computed properties (``$revenue``, ``$rfm_group``, ``$lifecycle_stage``, ...)
as of their last refresh, for the profile: read through ``Scope`` exactly as filters read them,
so the profile never shows a value a filter would not match."""

from __future__ import annotations

from typing import Any

import orjson

from userops.analysis.person_stats import COMPUTED
from userops.analysis.scope import Scope
from userops.store import EventStore, rows


def computed_of(store: EventStore, project_id: int, person_id: int) -> dict[str, Any]:
    """The person's computed properties that are set, by name (values as JSON reads them)."""
    names = sorted(COMPUTED)
    scope = Scope(project_id, "UTC")
    for name in names:  # asking for each property's text joins its column, as v0, v1, ...
        scope.text("person", name)
    columns = ", ".join(f"v{n}" for n in range(len(names)))
    found = rows(store, f"""
        SELECT {columns} FROM ({scope.person_properties()})
        WHERE person_id = {{x_person:UInt64}}
    """, {**scope.params, "x_person": person_id})  # noqa: S608  # fmt: skip
    if not found:
        return {}
    return {name: orjson.loads(raw) for name, raw in zip(names, found[0], strict=True) if raw}
