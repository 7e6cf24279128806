"""Shared pieces of every analysis's brute-force reference: random event logs, loading them,
persons by union-find over identity links, person traits by folding identifies, and filters
evaluated in plain Python. Each analysis's own reference lives in its test module.

An event log is a list of dicts: ``event``, ``device`` (anonymous id number), ``user`` (user
id number or None: an event with both links them), ``minutes`` after ``BASE``, ``properties``,
and optionally ``traits`` (the event is then an ``identify`` carrying them; its ``event`` name
is ignored and it is not a tracked event).

Segment and tag memberships are per person, the same on all of a person's events: a test that
knows who is a member marks every entry with its person's memberships (``marked``) and turns
membership filters and breakdowns into event ones on those marks (``translated``), so every
analysis's reference answers them unchanged.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import strategies as st

from userops.analysis.spec import MEMBERSHIP, Breakdown, PropertyFilter
from userops.config import load_settings
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.schema.events import message_from_dict
from userops.store import rows

UTC = dt.UTC
EVENTS = ("view", "pay")
# Around 2026-11-01, when New York's clocks go back, and across Shanghai's midnight (16:00 UTC).
BASE = dt.datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
FIRST, LAST = dt.date(2026, 10, 31), dt.date(2026, 11, 2)
TIMEZONES = ["Asia/Shanghai", "America/New_York"]
_names = itertools.count()

values = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.5, -1.5]), st.booleans(),
                   st.sampled_from(["a", "ab", "b", "7", "12", "x y"]), st.none())  # fmt: skip
event_strategy = st.fixed_dictionaries({
    "event": st.sampled_from(EVENTS),
    "device": st.integers(0, 5),
    "user": st.one_of(st.none(), st.integers(0, 2)),
    "minutes": st.integers(0, 5 * 24 * 60),
    "properties": st.dictionaries(st.sampled_from(["a", "b"]), values, max_size=2),
})  # fmt: skip
identify_strategy = st.fixed_dictionaries({
    "event": st.just("identify"),
    "device": st.integers(0, 5),
    "user": st.one_of(st.none(), st.integers(0, 2)),
    "minutes": st.integers(0, 5 * 24 * 60),
    "properties": st.just({}),
    "traits": st.dictionaries(st.sampled_from(["plan", "age"]),
                              st.sampled_from(["free", "pro", 20, 35, "7"]), min_size=1,
                              max_size=2),
})  # fmt: skip
# Mostly tracked events, some identifies carrying traits.
log_entry = st.one_of(event_strategy, event_strategy, event_strategy, identify_strategy)

filter_strategy = st.one_of(
    st.builds(PropertyFilter, key=st.just("a"),
              operator=st.sampled_from(["eq", "neq", "contains", "regex"]),
              value=st.sampled_from(["a", "7", "true", "^a", "b$", "[0-9]+", "1"])),
    st.builds(PropertyFilter, key=st.just("a"), operator=st.sampled_from(["in", "not_in"]),
              value=st.lists(st.sampled_from(["a", "7", "2.5", "true", "0"]), min_size=1,
                             max_size=3)),
    st.builds(PropertyFilter, key=st.just("a"),
              operator=st.sampled_from(["gt", "gte", "lt", "lte"]),
              value=st.sampled_from([0, 1, 2.5, -1])),
    st.builds(PropertyFilter, key=st.just("a"), operator=st.just("between"),
              value=st.sampled_from([[0, 3], [-2, 0.5]])),
    st.builds(PropertyFilter, key=st.sampled_from(["a", "b"]),
              operator=st.sampled_from(["is_set", "is_not_set"])),
)  # fmt: skip
person_filter_strategy = st.one_of(
    st.builds(PropertyFilter, type=st.just("person"), key=st.just("plan"),
              operator=st.sampled_from(["eq", "neq"]), value=st.sampled_from(["free", "pro"])),
    st.builds(PropertyFilter, type=st.just("person"), key=st.just("age"),
              operator=st.sampled_from(["gt", "lte"]), value=st.sampled_from([7, 20, 30])),
    st.builds(PropertyFilter, type=st.just("person"), key=st.sampled_from(["plan", "age"]),
              operator=st.sampled_from(["is_set", "is_not_set"])),
)  # fmt: skip


def new_project(runtime: Runtime, timezone: str) -> Project:
    return create_project(runtime.sessions, f"p{next(_names)}", timezone)


def moment_of(entry: dict[str, Any]) -> dt.datetime:
    return BASE + dt.timedelta(minutes=entry["minutes"])


def ingest(runtime: Runtime, project_id: int, events: list[dict[str, Any]]) -> None:
    """Load an event log (message ids ``m0``, ``m1``, ... in log order)."""
    messages = []
    for n, spec in enumerate(events):
        message: dict[str, Any] = {
            "type": "track", "event": spec["event"], "messageId": f"m{n}",
            "anonymousId": f"device-{spec['device']}", "timestamp": moment_of(spec).isoformat(),
            "properties": spec["properties"],
        }  # fmt: skip
        if "traits" in spec:
            message = {key: value for key, value in message.items()
                       if key not in ("event", "properties")}  # fmt: skip
            message |= {"type": "identify", "traits": spec["traits"]}
        if spec["user"] is not None:
            message["userId"] = f"user-{spec['user']}"
        messages.append(message_from_dict(message))
    if messages:
        Ingestor(runtime.sessions, runtime.store, project_id).ingest(
            message_columns(messages, project_id, BASE + dt.timedelta(days=30))
        )


def send(runtime: Runtime, project_id: int, messages: list[dict[str, Any]],
         batch: str = "h") -> None:  # fmt: skip
    """Load hand-made messages with exact timestamps (``t``: an aware datetime); a message
    without ``event`` views, unless it identifies; ids ``{batch}0``, ``{batch}1``, ..."""
    parsed = []
    for n, message in enumerate(messages):
        body = {key: value for key, value in message.items() if key != "t"}
        if body.get("type") != "identify":
            body.setdefault("event", "view")
        parsed.append(message_from_dict({**body, "messageId": f"{batch}{n}",
                                         "timestamp": message["t"].isoformat()}))  # fmt: skip
    Ingestor(runtime.sessions, runtime.store, project_id).ingest(
        message_columns(parsed, project_id, BASE + dt.timedelta(days=30))
    )


def module_runtime(folder: str) -> Any:
    """A module-scoped ``runtime`` fixture on a new data directory named ``folder``: one store
    for the module (each test makes its own project), since opening one takes a second. Use as
    ``runtime = module_runtime("tags")``."""

    @pytest.fixture(scope="module")
    def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
        data_dir = tmp_path_factory.mktemp(folder) / "data"
        with Runtime.open(load_settings({"data_dir": str(data_dir)}, environ={})) as opened:
            yield opened

    return runtime


def track(user: str, event: str, t: dt.datetime, **properties: Any) -> dict[str, Any]:
    """A user's track message for ``send``."""
    message = {"type": "track", "userId": user, "event": event, "t": t}
    return {**message, "properties": properties} if properties else message


def person_number(runtime: Runtime, project: Project, distinct_id: str) -> int:
    """The person the id's events were stamped with at ingestion."""
    found = rows(runtime.store, "SELECT any(person_id) FROM events WHERE project_id = "
                 "{project:UInt32} AND distinct_id = {d:String}",
                 {"project": project.id, "d": distinct_id})  # fmt: skip
    return int(found[0][0])


def local(day: dt.date, zone: ZoneInfo, hour: int = 12) -> dt.datetime:
    """Noon (or ``hour``) of ``day`` in ``zone``."""
    return dt.datetime.combine(day, dt.time(hour), zone)



def tracked(events: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(log index, entry) of the tracked events: identifies are not tracked events."""
    return [(n, e) for n, e in enumerate(events) if "traits" not in e]


def persons_of(events: list[dict[str, Any]]) -> dict[str, str]:
    """Union-find over the ids messages carried together: each id's person (its root)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for spec in events:
        device = f"device-{spec['device']}"
        root(device)
        if spec["user"] is not None:
            a, b = root(device), root(f"user-{spec['user']}")
            parent[a] = b
    return {x: root(x) for x in parent}


def person_of(events: list[dict[str, Any]], entry: dict[str, Any]) -> str:
    return persons_of(events)[f"device-{entry['device']}"]


def person_traits(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each person's traits: identifies folded in (timestamp, message id) order, later wins."""
    persons = persons_of(events)
    out: dict[str, dict[str, Any]] = {}
    order = sorted(((moment_of(e), f"m{n}", e) for n, e in enumerate(events) if "traits" in e),
                   key=lambda t: (t[0], t[1]))  # fmt: skip
    for _, _, entry in order:
        out.setdefault(persons[f"device-{entry['device']}"], {}).update(entry["traits"])
    return out


def text(props: dict[str, Any], key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def number(props: dict[str, Any], key: str) -> float | None:
    value = props.get(key)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
        return float(value)
    return None


def matches(f: PropertyFilter, props: dict[str, Any]) -> bool:
    """``f`` on a property dict (the event's properties or the person's traits)."""
    t, n, v = text(props, f.key), number(props, f.key), f.value
    spelled = (lambda x: "true" if x is True else "false" if x is False else str(x))  # noqa: E731
    match f.operator:
        case "is_set":
            return f.key in props
        case "is_not_set":
            return f.key not in props
        case "eq":
            return t is not None and t == spelled(v)
        case "neq":
            return not (t is not None and t == spelled(v))
        case "in":
            assert isinstance(v, list)
            return t is not None and t in [spelled(x) for x in v]
        case "not_in":
            assert isinstance(v, list)
            return not (t is not None and t in [spelled(x) for x in v])
        case "contains":
            return t is not None and spelled(v) in t
        case "regex":
            return t is not None and re.search(str(v), t) is not None
        case "between":
            assert isinstance(v, list)
            return n is not None and float(v[0]) <= n <= float(v[1])
    assert isinstance(v, int | float)
    ops = {"gt": n is not None and n > v, "gte": n is not None and n >= v,
           "lt": n is not None and n < v, "lte": n is not None and n <= v}  # fmt: skip
    return ops[f.operator]


def passes(filters: list[PropertyFilter], events: list[dict[str, Any]],
           entry: dict[str, Any]) -> bool:  # fmt: skip
    """Every filter holds for a tracked event (person filters on its person's traits now)."""
    traits = person_traits(events).get(person_of(events, entry), {})
    return all(matches(f, traits if f.type == "person" else entry["properties"])
               for f in filters)  # fmt: skip


def local_bucket(moment: dt.datetime, interval: str, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if interval == "hour":
        return local.strftime("%Y-%m-%d %H:00")
    day = local.date()
    if interval == "week":
        return str(day - dt.timedelta(days=day.weekday()))
    if interval == "month":
        return str(day.replace(day=1))
    return str(day)


def local_window(first: dt.date, last: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[first 00:00, last+1 00:00) local, as aware datetimes."""
    return (dt.datetime.combine(first, dt.time(), zone),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone))  # fmt: skip


def midnights() -> list[int]:
    """Minutes after BASE of every local midnight of the log's days in both zones, and of the
    minute before each: where day and week edges bite."""
    out = set()
    for name in TIMEZONES:
        for day in range(6):
            midnight = dt.datetime.combine(BASE.date() + dt.timedelta(days=day), dt.time(),
                                           ZoneInfo(name))  # fmt: skip
            minutes = int((midnight - BASE).total_seconds()) // 60
            out |= {minutes - 1, minutes} if minutes > 0 else set()
    return sorted(out)


near_midnight = st.tuples(event_strategy, st.sampled_from(midnights())).map(
    lambda pair: {**pair[0], "minutes": pair[1]}
)
# Fewer devices than the shared strategy: persons with several events, and more merges.
dense_log = st.lists(
    st.one_of(log_entry, near_midnight).map(lambda entry: {**entry, "device": entry["device"] % 4}),
    min_size=10,
    max_size=40,
)
# No filter half the time: a filter often leaves nobody active.
some_filters = st.one_of(
    st.just([]),
    st.lists(st.one_of(filter_strategy, person_filter_strategy), min_size=1, max_size=2),
)


# -- memberships as event marks ----------------------------------------------------------------

Members = dict[tuple[str, str], set[str]]  # (type, id) -> reference persons (union-find roots)


def mark(type_: str, key: str) -> str:
    return f"{type_}:{key}"


def marked(events: list[dict[str, Any]], members: Members) -> list[dict[str, Any]]:
    """Every entry with its person's memberships as properties ("true" / "false")."""
    roots = persons_of(events)
    out = []
    for entry in events:
        person = roots[f"device-{entry['device']}"]
        marks = {mark(*k): "true" if person in who else "false" for k, who in members.items()}
        out.append({**entry, "properties": {**entry["properties"], **marks}})
    return out


def as_event_filters(filters: list[PropertyFilter]) -> list[PropertyFilter]:
    return [PropertyFilter(key=mark(f.type, f.key), value="true",
                           operator="eq" if f.operator == "is_set" else "neq")
            if f.type in MEMBERSHIP else f for f in filters]  # fmt: skip


def as_event_breakdown(breakdown: Breakdown | None) -> Breakdown | None:
    """A membership breakdown keeps both of its values whatever its limit."""
    if breakdown is None or breakdown.type not in MEMBERSHIP:
        return breakdown
    return Breakdown(key=mark(breakdown.type, breakdown.key), limit=max(breakdown.limit, 2))


def translated(spec: Any) -> Any:
    """The spec with membership filters (shared, and of each series, step, exclusion, start
    or return event) and breakdowns as event ones on the marks."""
    update: dict[str, Any] = {"filters": as_event_filters(spec.filters)}
    if getattr(spec, "breakdown", None) is not None:
        update["breakdown"] = as_event_breakdown(spec.breakdown)
    for name in ("series", "steps", "exclusions"):
        if hasattr(spec, name):
            update[name] = [s.model_copy(update={"filters": as_event_filters(s.filters)})
                            for s in getattr(spec, name)]  # fmt: skip
    for name in ("start", "return_event"):
        if hasattr(spec, name):
            side = getattr(spec, name)
            update[name] = side.model_copy(update={"filters": as_event_filters(side.filters)})
    return spec.model_copy(update=update)
