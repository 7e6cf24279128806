"""Property filters to SQL conditions whose every key and value is a query parameter."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from typing import Any

from userops.analysis.spec import PropertyFilter

# The property's text: strings unquoted, other JSON values as their JSON text; NULL if missing.
_TEXT = "JSONExtract(e.properties, {%s:String}, 'Nullable(String)')"
# The property as a number (numbers, numeric text, booleans as 1/0); NULL otherwise.
_NUMBER = "JSONExtract(e.properties, {%s:String}, 'Nullable(Float64)')"


def _text_of(value: Any) -> str:
    """A filter value as the property text it must equal (JSON's spelling of booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Conditions:
    """Builds ``AND``-ed conditions; ``params`` holds their values under fresh names."""

    def __init__(self, prefix: str = "f") -> None:
        self._names = (f"{prefix}{n}" for n in count())
        self.params: dict[str, Any] = {}

    def _param(self, value: Any) -> str:
        name = next(self._names)
        self.params[name] = value
        return name

    def sql(self, filters: Sequence[PropertyFilter]) -> str:
        return " AND ".join(self.one(f) for f in filters) or "1"

    def one(self, spec: PropertyFilter) -> str:
        key = self._param(spec.key)
        text, number = _TEXT % key, _NUMBER % key
        op, value = spec.operator, spec.value
        if op == "is_set":
            return f"JSONHas(e.properties, {{{key}:String}})"
        if op == "is_not_set":
            return f"NOT JSONHas(e.properties, {{{key}:String}})"
        if op in ("eq", "neq"):
            v = self._param(_text_of(value))
            equal = f"ifNull({text} = {{{v}:String}}, 0)"
            return equal if op == "eq" else f"NOT {equal}"
        if op in ("in", "not_in"):
            assert isinstance(value, list)
            v = self._param([_text_of(item) for item in value])
            member = f"ifNull(has({{{v}:Array(String)}}, {text}), 0)"
            return member if op == "in" else f"NOT {member}"
        if op == "contains":
            v = self._param(_text_of(value))
            return f"ifNull(positionUTF8({text}, {{{v}:String}}) > 0, 0)"
        if op == "regex":  # RE2: linear time whatever the pattern
            v = self._param(_text_of(value))
            return f"ifNull(match({text}, {{{v}:String}}), 0)"
        if op == "between":
            assert isinstance(value, list)
            low, high = self._param(float(value[0])), self._param(float(value[1]))
            return (f"ifNull({number} >= {{{low}:Float64}} AND {number} <= {{{high}:Float64}}, 0)")
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        assert not isinstance(value, list | str | bool) and value is not None
        v = self._param(float(value))
        return f"ifNull({number} {sign} {{{v}:Float64}}, 0)"
