"""Analysis specs: what an operator asks, as data (pydantic), the same from REST, CLI and Python.

Each kind has a ``kind`` discriminator. So far: ``trends`` (series of events over time buckets in
the project's time zone, with property filters). Names in a spec (events, property keys) only
ever reach SQL as query parameters.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Interval = Literal["hour", "day", "week", "month"]
Operator = Literal[
    "eq", "neq", "in", "not_in", "contains", "regex", "gt", "gte", "lt", "lte", "between",
    "is_set", "is_not_set",
]  # fmt: skip

# Operators that need no value, one scalar, a list, or a [low, high] pair.
NO_VALUE = frozenset({"is_set", "is_not_set"})
LIST_VALUE = frozenset({"in", "not_in"})
NUMERIC = frozenset({"gt", "gte", "lt", "lte", "between"})

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRange(_Strict):
    """Absolute dates (inclusive, in the project's time zone) or the last N days up to today."""

    start: dt.date | None = None
    end: dt.date | None = None
    last_days: Annotated[int, Field(ge=1, le=3660)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DateRange:
        if self.last_days is not None and (self.start or self.end):
            raise ValueError("give either last_days or start/end, not both")
        if self.last_days is None and not (self.start and self.end):
            raise ValueError("give start and end, or last_days")
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")
        return self

    def dates(self, today: dt.date) -> tuple[dt.date, dt.date]:
        if self.last_days is not None:
            return today - dt.timedelta(days=self.last_days - 1), today
        assert self.start is not None and self.end is not None
        return self.start, self.end


class PropertyFilter(_Strict):
    """A condition on an event property. Text operators compare the property's text (numbers
    and booleans as their JSON text); numeric ones read it as a number (numeric text counts)."""

    key: Annotated[str, Field(min_length=1, max_length=400)]
    operator: Operator = "eq"
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyFilter:
        op, value = self.operator, self.value
        if op in NO_VALUE:
            if value is not None:
                raise ValueError(f"{op} takes no value")
        elif op in LIST_VALUE:
            if not isinstance(value, list) or not value:
                raise ValueError(f"{op} needs a non-empty list of values")
        elif op == "between":
            if not (isinstance(value, list) and len(value) == 2
                    and all(_is_number(v) for v in value)):  # fmt: skip
                raise ValueError("between needs [low, high] numbers")
        elif op in NUMERIC:
            if not _is_number(value):
                raise ValueError(f"{op} needs a number")
        elif value is None or isinstance(value, list):
            raise ValueError(f"{op} needs one value")
        return self


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class EventSeries(_Strict):
    event: Annotated[str, Field(min_length=1, max_length=200)]
    math: Literal["total", "unique_persons"] = "total"
    filters: list[PropertyFilter] = []
    label: str | None = None


class TrendsSpec(_Strict):
    kind: Literal["trends"] = "trends"
    series: Annotated[list[EventSeries], Field(min_length=1, max_length=20)]
    date_range: DateRange
    interval: Interval = "day"
    filters: list[PropertyFilter] = []  # applied to every series


class SeriesResult(BaseModel):
    label: str
    values: list[float]
    total: float


class TrendsResult(BaseModel):
    kind: Literal["trends"] = "trends"
    interval: Interval
    buckets: list[str]  # local bucket starts: YYYY-MM-DD, or YYYY-MM-DD HH:00 for hours
    series: list[SeriesResult]
