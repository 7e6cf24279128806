"""Static segments from a CSV of ids, and segments out to CSV with chosen traits.

Upload: one user or anonymous id per line (a first line ``id``, ``distinct_id``, ``user_id`` or
``anonymous_id`` is a header, unless it is a known id); blank lines are skipped; a quoted cell
may hold commas. Each id is looked up in the metadata store's distinct ids; the unknown ones
come back with their line numbers, never dropped in silence. A line with more than one cell,
a broken quote, a NUL or an id over 400 characters is a 400 naming the line; more than
``MAX_LINES`` lines is a 413.

Export: ``person_id``, ``distinct_ids`` (space-separated) and each property asked for, a trait
or a computed property, its current value as filters read it (strings as they are, other
values as JSON). Names travel as query parameters, never as SQL. A cell that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
is prefixed with ``'`` (OWASP's advice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.scope import Scope
from userops.errors import BadRequest, PayloadTooLarge
from userops.meta.models import DistinctId
from userops.store import EventStore, rows

MAX_LINES = 100_000
MAX_ID = 400  # DistinctId.distinct_id's length
HEADERS = frozenset({"id", "ids", "distinct_id", "user_id", "userid", "anonymous_id",
                     "anonymousid"})  # fmt: skip
CHUNK = 500  # ids per IN (...) of the metadata store (SQLite's variable limit is far above)
FORMULA = ("=", "+", "-", "@", "\t", "\r")
MAX_TRAITS = 50


def _bad(line: int, message: str) -> BadRequest:
    return BadRequest(f"line {line}: {message}", field=f"line {line}")


def parse_ids(data: bytes) -> list[tuple[int, str]]:
    """``(line number, id)`` of every id in the CSV text, in order (repeats kept)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _bad(line, "not UTF-8 text") from None
    if "\x00" in text:
        raise _bad(text[: text.index("\x00")].count("\n") + 1, "a NUL character")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    found: list[tuple[int, str]] = []
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if line > MAX_LINES:
                raise PayloadTooLarge(f"line {line}: more than {MAX_LINES} lines; upload at "
                                      f"most {MAX_LINES} ids at once", field=f"line {line}")
            cells = [cell.strip() for cell in row]
            filled = [cell for cell in cells if cell]
            if not filled:
                continue
            if len(cells) > 1:
                raise _bad(line, f"{len(cells)} cells; give one id per line")
            if len(filled[0]) > MAX_ID:
                raise _bad(line, f"an id of {len(filled[0])} characters (at most {MAX_ID})")
            found.append((line, filled[0]))
    except csv.Error as exc:
        raise _bad(reader.line_num or start, f"not valid CSV ({exc})") from None
    return found


@dataclass(frozen=True)
class Matched:
    persons: list[int]  # ascending, each once
    known: int  # lines whose id is known
    unknown: list[tuple[int, str]]  # (line, id)
    ids: list[str]  # the known ids, each once, in the file's order: what the list keeps


def match_ids(sessions: sessionmaker[Session], project_id: int,
              ids: Sequence[tuple[int, str]]) -> Matched:  # fmt: skip
    """The persons holding the ids now; the lines whose id no person holds. A first line that
    reads as a header and is no known id is skipped."""
    wanted = sorted({distinct_id for _, distinct_id in ids})
    owner: dict[str, int] = {}
    with sessions() as session:
        for n in range(0, len(wanted), CHUNK):
            for distinct_id, person in session.execute(
                select(DistinctId.distinct_id, DistinctId.person_id).where(
                    DistinctId.project_id == project_id,
                    DistinctId.distinct_id.in_(wanted[n : n + CHUNK]),
                )
            ):
                owner[distinct_id] = person
    lines = list(ids)
    if lines and lines[0][0] == 1 and lines[0][1].lower() in HEADERS and lines[0][1] not in owner:
        lines = lines[1:]
    unknown = [(line, value) for line, value in lines if value not in owner]
    persons = sorted({owner[value] for _, value in lines if value in owner})
    kept = list(dict.fromkeys(value for _, value in lines if value in owner))
    return Matched(persons, len(lines) - len(unknown), unknown, kept)


# --- export ----------------------------------------------------------------------------------


def safe_cell(value: str) -> str:
    """The cell as text a spreadsheet shows rather than runs."""
    return "'" + value if value.startswith(FORMULA) else value


def trait_names(text: str) -> list[str]:
    """``email,name`` as ``["email", "name"]`` (repeats and blanks left out)."""
    names: dict[str, None] = {}
    for part in text.split(","):
        name = part.strip()
        if name:
            if len(name) > 200 or "\x00" in name:
                raise BadRequest("traits: a trait name is at most 200 characters, without NUL",
                                 field="traits")  # fmt: skip
            names.setdefault(name, None)
    if len(names) > MAX_TRAITS:
        raise BadRequest(f"traits: at most {MAX_TRAITS} traits", field="traits")
    return list(names)


def _text(raw: str) -> str:
    value: Any = orjson.loads(raw)
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def traits_of(store: EventStore, project_id: int, persons: Sequence[int],
              names: Sequence[str]) -> dict[int, dict[str, str]]:  # fmt: skip
    """Each person's current value of each named property, as text: traits as filters read
    them, and computed properties (``$revenue``, ``$rfm_group``, ...) as of their last refresh.
    One query for all the persons: the fold over the events is the expensive part."""
    if not persons or not names:
        return {}
    scope = Scope(project_id, "UTC")
    for name in names:  # asking for each property's text joins its column, as v0, v1, ...
        scope.text("person", name)
    columns = ", ".join(f"v{n}" for n in range(len(names)))
    found: dict[int, dict[str, str]] = {}
    for person, *raws in rows(store, f"""
        SELECT person_id, {columns} FROM ({scope.person_properties()})
        WHERE person_id IN (SELECT arrayJoin({{x_persons:Array(UInt64)}}))
    """, {**scope.params, "x_persons": list(persons)}):  # noqa: S608  # fmt: skip
        found[int(person)] = {name: _text(raw) for name, raw in zip(names, raws, strict=True)
                              if raw != ""}  # fmt: skip
    return found


def ids_of(sessions: sessionmaker[Session], project_id: int,
           persons: Sequence[int]) -> dict[int, list[str]]:  # fmt: skip
    found: dict[int, list[str]] = {}
    with sessions() as session:
        for n in range(0, len(persons), CHUNK):
            for distinct_id, person in session.execute(
                select(DistinctId.distinct_id, DistinctId.person_id).where(
                    DistinctId.project_id == project_id,
                    DistinctId.person_id.in_(persons[n : n + CHUNK]),
                )
            ):
                found.setdefault(person, []).append(distinct_id)
    return {person: sorted(ids) for person, ids in found.items()}


def export_csv(sessions: sessionmaker[Session], store: EventStore, project_id: int,
               persons: Sequence[int], names: Sequence[str]) -> Iterable[str]:  # fmt: skip
    """The CSV's text, a page of persons at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in ("person_id", "distinct_ids", *names)])
    yield out.getvalue()
    traits = traits_of(store, project_id, persons, names)
    page = 5000
    for n in range(0, len(persons), page):
        chunk = list(persons[n : n + page])
        ids = ids_of(sessions, project_id, chunk)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for person in chunk:
            values = traits.get(person, {})
            writer.writerow([str(person), safe_cell(" ".join(ids.get(person, []))),
                             *(safe_cell(values.get(name, "")) for name in names)])  # fmt: skip
        yield out.getvalue()
