"""How the console's REST resources spell a moment: UTC, milliseconds, ``Z``.

Milliseconds are what the event store keeps, so a time handed back (a timeline's
``next_before``) means exactly the stored instant; ``Z`` rather than ``+00:00`` leaves no ``+``
to be read as a space when the time goes back in a query string unescaped.
"""

from __future__ import annotations

import datetime as dt


def iso(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:  # the stores hand back UTC; a naive value is UTC too
        when = when.replace(tzinfo=dt.UTC)
    utc = when.astimezone(dt.UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> dt.datetime:
    """An ISO 8601 time (``Z`` or an offset; none means UTC), or ValueError."""
    value = dt.datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
