"""Query parameters as ClickHouse's text format.

Every value from a user reaches SQL only as a server-side parameter (``{name:Type}``). chDB takes
parameter values as text in ClickHouse's escaped format, so this module is the one place that
turns Python values into that text. ``clickhouse-connect`` formats values itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


def _quoted(value: str) -> str:
    return "'" + value.translate(_ESCAPES).replace("'", "\\'") + "'"


def _element(value: Any) -> str:
    """A value inside an array or tuple: strings quoted, the rest as literals."""
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, dt.datetime):
        return _quoted(format_datetime(value))
    return format_param(value)


def format_datetime(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(sep=" ", timespec="milliseconds")


def format_param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Sequence):
        return "[" + ",".join(_element(v) for v in value) + "]"
    raise TypeError(f"unsupported query parameter type {type(value).__name__}")


def format_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {name: format_param(value) for name, value in (params or {}).items()}
