"""Analysis specs: what an operator asks, as data (pydantic), the same from REST, CLI and Python.

This module holds what every kind shares (date ranges, property filters, breakdowns, the result
base class); each kind's own spec and result (with a ``kind`` discriminator) live in its module
beside its runner. Names in a spec (events, property keys) only ever reach SQL as query
parameters.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

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

# Breakdown values for "every value beyond the top N" and "the property is missing".
OTHER = "$other"
NONE = "$none"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Dates an analysis may name: within what ClickHouse's DateTime64 holds, with room for the
# previous period of a comparison; a range spans at most ten years.
EARLIEST, LATEST = dt.date(1971, 1, 1), dt.date(2199, 12, 31)
MAX_RANGE_DAYS = 3660
Day = Annotated[dt.date, Field(ge=EARLIEST, le=LATEST)]


class DateRange(Strict):
    """Absolute dates (inclusive, in the project's time zone) or the last N days up to today."""

    start: Day | None = None
    end: Day | None = None
    last_days: Annotated[int, Field(ge=1, le=MAX_RANGE_DAYS)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> DateRange:
        if self.last_days is not None and (self.start or self.end):
            raise ValueError("give either last_days or start/end, not both")
        if self.last_days is None and not (self.start and self.end):
            raise ValueError("give start and end, or last_days")
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")
        if self.start and self.end and (self.end - self.start).days >= MAX_RANGE_DAYS:
            raise ValueError(f"a range spans at most {MAX_RANGE_DAYS} days")
        return self

    def dates(self, today: dt.date) -> tuple[dt.date, dt.date]:
        if self.last_days is not None:
            return today - dt.timedelta(days=self.last_days - 1), today
        assert self.start is not None and self.end is not None
        return self.start, self.end

    def previous(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The period of the same length that ends the day before this one starts."""
        first, last = self.dates(today)
        length = last - first + dt.timedelta(days=1)
        return first - length, first - dt.timedelta(days=1)


class Breakdown(Strict):
    """Split results by a property's value: the ``limit`` most frequent values in the range
    each get their own result; every other value is folded into ``$other``, a missing one
    is ``$none``. A segment or tag (``key`` its id) splits persons into ``true`` (members,
    holders) and ``false``, never ``$none`` or ``$other``."""

    key: PropertyKey
    type: PropertyType = "event"
    limit: Annotated[int, Field(ge=1, le=100)] = 10

    @model_validator(mode="after")
    def _id_key(self) -> Breakdown:
        if self.type in MEMBERSHIP:
            check_id_key(self.type, self.key)
        return self

    @property
    def top(self) -> int:
        """How many values keep their own result: a membership's two values always do."""
        return max(self.limit, 2) if self.type in MEMBERSHIP else self.limit


PropertyKey = Annotated[str, Field(min_length=1, max_length=400)]
# segment: membership of a saved segment (the key is its id) as of its completed refreshes;
# tag: carrying a tag (the key is its id). Both are per person, as person properties are, and
# read as the text "true" for members; only is_set / is_not_set test them.
PropertyType = Literal["event", "person", "segment", "tag"]
MEMBERSHIP = frozenset({"segment", "tag"})
PER_PERSON = frozenset({"person", *MEMBERSHIP})
# A membership's key: a segment's or tag's id, within what every store's integers hold.
_ID = re.compile(r"[0-9]{1,18}")


def _field_error(field: str, kind: str, message: str, value: Any) -> ValidationError:
    """An error located at ``field`` of the model being validated (pydantic prefixes the
    model's own path), so that a spec's 400 names ``...filters.1.key``, not the filter."""
    error = InitErrorDetails(type=PydanticCustomError(kind, message), loc=(field,), input=value)
    return ValidationError.from_exception_data("PropertyFilter", [error])


def check_id_key(type_: str, key: str) -> None:
    if not _ID.fullmatch(key):
        raise _field_error("key", "membership_id", f"a {type_}'s key is its id (decimal digits)",
                           key)  # fmt: skip


class PropertyFilter(Strict):
    """A condition on an event property or on the person's current property (trait). Text
    operators compare the property's text (numbers and booleans as their JSON text); numeric
    ones read it as a number (numeric text counts). Event keys ``$utm_source``,
    ``$utm_medium``, ``$utm_campaign``, ``$os``, ``$browser``, ``$device_type``,
    ``$app_version`` and ``$country`` read the columns promoted from the event's context.
    ``{"type": "segment" | "tag", "key": "<id>", "operator": "is_set" | "is_not_set"}``: the
    event's person is (is not) a member of the saved segment now, carries (does not carry) the
    tag; other operators are refused."""

    key: PropertyKey
    type: PropertyType = "event"
    operator: Operator = "eq"
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyFilter:
        op, value = self.operator, self.value
        if self.type in MEMBERSHIP:
            check_id_key(self.type, self.key)
            if op not in NO_VALUE:
                raise _field_error("operator", "membership_operator",
                                   f"a {self.type} filter's operator is is_set or is_not_set",
                                   op)  # fmt: skip
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
        if op == "regex":
            check_re2(str(value))
        return self


# Python's re accepts these and RE2 (ClickHouse's match) refuses them: lookaround,
# backreferences, conditionals, possessive and atomic groups.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?\(|\(\?>|[*+?}]\+")
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def check_re2(pattern: str) -> None:
    """Refuse a pattern ClickHouse's RE2 would reject at query time (so it is a 400, not a
    store error): bad syntax, constructs RE2 lacks, repeat counts over RE2's 1000."""
    if len(pattern) > 1000:
        raise ValueError("regex: at most 1000 characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"regex: {exc}") from None
    if _NOT_RE2.search(pattern):
        raise ValueError("regex: lookaround, backreferences, conditionals and possessive or "
                         "atomic groups are not supported (RE2 syntax)")  # fmt: skip
    for low, high in _REPEAT.findall(pattern):
        if int(low) > 1000 or (high and int(high) > 1000):
            raise ValueError("regex: repeat counts go up to 1000")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class AnalysisResult(BaseModel):
    """What every runner returns: a typed result that also flattens to one table (the CLI's
    table and CSV output, and ``to_pandas``)."""

    # Set where results are kept (``userops.analysis.cache``, the query API): when the answer
    # was computed, in UTC, and whether it was kept from an earlier asking. Runners leave them.
    computed_at: dt.datetime | None = None
    cached: bool = False

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """Column names and rows: the result as one flat table."""
        raise NotImplementedError

    def footer(self) -> list[list[Any]]:
        """Summary rows (such as totals) the CLI prints under the table; not in ``to_pandas``."""
        return []

    def to_pandas(self) -> Any:  # pandas.DataFrame; pandas is imported only when asked for
        import pandas as pd

        header, body = self.table()
        return pd.DataFrame(body, columns=header)
