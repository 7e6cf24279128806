"""JSON request bodies checked by a pydantic model, every refusal a ``BadRequest`` naming the
field by its JSON path (``tiles[2].w``, ``definition.and[0].count``), for the resources'
REST routes (insights, dashboards, segments, refresh settings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from userops.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


def json_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """``("tiles", 2, "w")`` as ``tiles[2].w``; ``prefix`` goes first (``spec.``)."""
    path = prefix
    for part in loc:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(body)"


def parsed_body(model: type[M], body: Any) -> M:
    """``body`` (a JSON object) as ``model``, or ``BadRequest`` naming its first bad field."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field=None)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = json_path(list(first["loc"]))
        message = first["msg"].removeprefix("Value error, ")
        raise BadRequest(f"{path}: {message}", field=path) from None
