"""Data management on a real `userops serve`: event names, event properties and person traits
with counts, types, last-seen times and examples, each compared with brute force over the events
loaded; hostile names as data; SDK snippets that, run as they are, send events here."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analysis_reference import send
from resource_helpers import Caller, load, serve_shop, text_of
from userops.api.definitions import DefinitionsCache
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.runtime import Runtime

pytestmark = pytest.mark.usefixtures("clean_environment")

ZONE = ZoneInfo("Asia/Shanghai")
TODAY = dt.datetime.now(ZONE).date()
HOSTILE_EVENT = 'it\'s "x"; DROP TABLE events; -- {event:String}'
HOSTILE_KEY = "k'ey\" OR 1=1"
LONG = "x" * 300
# ISO dates and times, as the definitions call them datetime (RE2's \d is ASCII: so is [0-9]).
DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)
PROMOTED = {"$os": ("os", "name"), "$utm_source": ("campaign", "source")}


def noon(days_ago: int, minute: int = 0) -> dt.datetime:
    """Local noon ``days_ago`` days before today: far from the midnights windows start at."""
    day = TODAY - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(12, minute), ZONE).astimezone(dt.UTC)


def messages() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def track(event: str, anon: str, days_ago: int, minute: int = 0, user: str | None = None,
              context: dict[str, Any] | None = None, **properties: Any) -> None:  # fmt: skip
        message = {"type": "track", "event": event, "anonymousId": anon,
                   "timestamp": noon(days_ago, minute), "properties": properties}  # fmt: skip
        if user:
            message["userId"] = user
        if context:
            message["context"] = context
        found.append(message)

    def identify(anon: str, user: str | None, days_ago: int, minute: int, **traits: Any) -> None:
        message = {"type": "identify", "anonymousId": anon, "timestamp": noon(days_ago, minute),
                   "traits": traits}  # fmt: skip
        if user:
            message["userId"] = user
        found.append(message)

    for n in range(40):
        device, days_ago = f"d{n % 9}", n % 12 * 3  # days 0..33 ago
        track("view", device, days_ago, n, price=[3, 2.5, 10, -1][n % 4],
              sku=["a", "b", "b", "c", "d", "e", "f"][n % 7], flag=n % 3 == 0,
              at=["2026-11-01", "2026-11-01T10:00:00Z", "2026-11-01 10:00:00.123+08:00",
                  "2026-11-1"][n % 4],
              mixed=[1, "one", 2, 3][n % 4], nothing=None, cart={"items": n % 2},
              context={"os": {"name": ["iOS", "Android", ""][n % 3]}})  # fmt: skip
    track("view", "d1", 2, 59, **{"$os": "in properties", HOSTILE_KEY: LONG},
          context={"campaign": {"source": "wechat"}})  # fmt: skip
    track("pay", "d2", 1, 0, user="u1", revenue=99.5)
    track("pay", "d3", 10, 0, user="u1", revenue=12)
    track(HOSTILE_EVENT, "d4", 3, 0, **{HOSTILE_KEY: 1})
    track("legacy", "d5", 45, 0, version="1")
    track("legacy", "d5", 41, 0, version="2")
    identify("d1", "u1", 5, 1, email="ann@example.com", plan="pro", age=30)
    identify("d1", "u1", 4, 1, plan="team", signed="2026-11-01T08:00:00Z")  # plan changes
    identify("d6", "u2", 20, 1, email="bob@example.com", plan="free", age="41")
    identify("d7", None, 2, 1, plan="free", vip=True, age=None)
    return found


MESSAGES = messages()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    def fill(runtime: Runtime, shop: Project) -> dict[str, Any]:
        load(runtime, shop.id, MESSAGES)
        sdk = create_project(runtime.sessions, "sdk", "UTC")
        return {"write_keys": {"shop": shop.write_key, "sdk": sdk.write_key}}

    with serve_shop(tmp_path_factory.mktemp("definitions-api") / "data", fill) as served:
        yield served


def viewer(served: dict[str, Any]) -> Caller:
    caller: Caller = served["callers"]["viewer"]
    return caller


def get(caller: Caller, path: str, **params: Any) -> Any:
    response = caller.get(f"/api/projects/shop/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- brute force -----------------------------------------------------------------------------


def since(days: int) -> dt.datetime:
    first = TODAY - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first, dt.time(), ZONE).astimezone(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def person_of() -> dict[str, str]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for m in MESSAGES:
        if m.get("userId"):
            parent[root(m["anonymousId"])] = root(m["userId"])
    return {m["anonymousId"]: root(m["anonymousId"]) for m in MESSAGES}


def name_of(message: dict[str, Any]) -> str:
    return str(message["event"]) if message["type"] == "track" else "$identify"


def kind_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str) and DATETIME.match(value):
        return "datetime"
    return "string"


def definition(values: list[Any], moments: list[dt.datetime], count: int) -> dict[str, Any]:
    kinds = Counter(k for k in map(kind_of, values) if k is not None)
    order = ["string", "number", "boolean", "datetime"]
    kind = max(order, key=lambda k: (kinds[k], -order.index(k)))
    texts = Counter(text_of(v) for v in values if v is not None)
    examples = sorted(texts, key=lambda t: (-texts[t], t))[:5]
    return {"type": kind, "count": count, "last_seen": iso(max(moments)),
            "examples": [e[:200] for e in examples]}  # fmt: skip


def expected_events(days: int) -> list[dict[str, Any]]:
    persons = person_of()
    by_name: dict[str, list[dict[str, Any]]] = {}
    for m in MESSAGES:
        by_name.setdefault(name_of(m), []).append(m)
    found = []
    for name, group in by_name.items():
        recent = [m for m in group if m["timestamp"] >= since(days)]
        found.append({"name": name, "count": len(recent),
                      "persons": len({persons[m["anonymousId"]] for m in recent}),
                      "first_seen": iso(min(m["timestamp"] for m in group)),
                      "last_seen": iso(max(m["timestamp"] for m in group))})  # fmt: skip
    return sorted(found, key=lambda d: (-d["count"], d["name"]))


def expected_properties(days: int, event: str | None) -> list[dict[str, Any]]:
    pairs: dict[str, list[tuple[Any, dt.datetime]]] = {}
    for m in MESSAGES:
        if m["timestamp"] < since(days) or (event is not None and name_of(m) != event):
            continue
        for key, value in m.get("properties", {}).items():
            if key not in PROMOTED:  # filters on these keys read the context's column
                pairs.setdefault(key, []).append((value, m["timestamp"]))
        for key, (outer, inner) in PROMOTED.items():
            value = m.get("context", {}).get(outer, {}).get(inner, "")
            if value:
                pairs.setdefault(key, []).append((value, m["timestamp"]))
    found = [{"name": key, **definition([v for v, _ in seen], [t for _, t in seen], len(seen))}
             for key, seen in pairs.items()]  # fmt: skip
    return sorted(found, key=lambda d: (-d["count"], d["name"]))


def expected_traits() -> list[dict[str, Any]]:
    persons = person_of()
    current: dict[str, dict[str, Any]] = {}
    sent: dict[str, list[dt.datetime]] = {}
    for m in sorted((m for m in MESSAGES if m["type"] == "identify"),
                    key=lambda m: m["timestamp"]):  # fmt: skip
        current.setdefault(persons[m["anonymousId"]], {}).update(m["traits"])
        for key in m["traits"]:
            sent.setdefault(key, []).append(m["timestamp"])
    found = []
    for key, moments in sent.items():
        values = [traits[key] for traits in current.values() if key in traits]
        found.append({"name": key, **definition(values, moments, len(values))})
    return sorted(found, key=lambda d: (-d["count"], d["name"]))


# --- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 3, 7, 30, 60])
def test_event_definitions(served: dict[str, Any], days: int) -> None:
    assert get(viewer(served), "event-definitions", days=days) == expected_events(days)


def test_event_definitions_default_to_30_days(served: dict[str, Any]) -> None:
    found = get(viewer(served), "event-definitions")
    assert found == expected_events(30)
    # An event that stopped arriving still shows, with when it was last seen.
    legacy = next(d for d in found if d["name"] == "legacy")
    assert (legacy["count"], legacy["persons"], legacy["last_seen"]) == (0, 0, iso(noon(41)))
    assert {"view", "pay", "$identify", HOSTILE_EVENT} <= {d["name"] for d in found}


@pytest.mark.parametrize(("event", "days"), [("view", 30), ("view", 7), ("view", 1),
                                             ("pay", 30), (HOSTILE_EVENT, 30), (None, 60),
                                             ("legacy", 60), ("legacy", 30)])  # fmt: skip
def test_property_definitions(served: dict[str, Any], event: str | None, days: int) -> None:
    params: dict[str, Any] = {"days": days}
    if event is not None:
        params["event"] = event
    found = get(viewer(served), "property-definitions", **params)
    assert found == expected_properties(days, event)


def test_property_types_and_examples(served: dict[str, Any]) -> None:
    listed = get(viewer(served), "property-definitions", event="view", days=60)
    found = {d["name"]: d for d in listed}
    types = {"price": "number", "sku": "string", "flag": "boolean", "at": "datetime",
             "mixed": "number", "nothing": "string", "cart": "string", "$os": "string"}  # fmt: skip
    assert {k: found[k]["type"] for k in types} == types
    assert found["nothing"]["examples"] == [] and found["nothing"]["count"] == 40
    assert found["$os"]["examples"] == ["iOS", "Android"]  # the properties' $os is not it
    assert found[HOSTILE_KEY]["examples"] == ["x" * 200]
    assert found["sku"]["examples"][0] == "b"


def test_blank_or_unknown_events_and_bad_days(served: dict[str, Any]) -> None:
    caller = viewer(served)
    assert get(caller, "property-definitions", event="  ") == expected_properties(30, None)
    for name in ("nope", "' OR 1=1 --", "view' OR '1'='1", "{event:String}", "%", "视图"):
        assert get(caller, "property-definitions", event=name) == []
    for path in ("event-definitions", "property-definitions"):
        for days in ("0", "3661", "-1", "ten", "1.5"):
            response = caller.get(f"/api/projects/shop/{path}", params={"days": days})
            assert (response.status_code, response.json()["field"]) == (400, "days"), days


def test_person_properties(served: dict[str, Any]) -> None:
    found = get(viewer(served), "person-properties")
    assert found == expected_traits()
    by_name = {d["name"]: d for d in found}
    # u1's plan went from pro to team: persons count current values only.
    assert by_name["plan"]["examples"] == ["free", "team"]
    # 30 and "41" tie (a null has no type): the tie goes to string; the null counts as set.
    assert by_name["age"]["type"] == "string" and by_name["age"]["count"] == 3


def test_who_may_read(served: dict[str, Any]) -> None:
    outsider: Caller = served["callers"]["outsider"]
    for path in ("event-definitions", "property-definitions", "person-properties", "snippets"):
        assert viewer(served).get(f"/api/projects/shop/{path}").status_code == 200
        response = outsider.get(f"/api/projects/shop/{path}")
        assert (response.status_code, response.json()["field"]) == (404, "project")
        anonymous = served["local"].client.get(f"/api/projects/shop/{path}",
                                               headers={"Authorization": ""})  # fmt: skip
        assert anonymous.status_code == 401


# --- snippets --------------------------------------------------------------------------------


def test_snippets_point_here_and_work(served: dict[str, Any]) -> None:
    server, local = served["server"], served["local"]
    shown = get(viewer(served), "snippets")
    assert (shown["host"], shown["write_key"]) == (server.url, served["write_keys"]["shop"])
    host = server.url.removeprefix("http://")
    assert f'apiHost: "{host}/v1", protocol: "http"' in shown["segment"]
    assert f'api_host: "{server.url}"' in shown["posthog"]
    for code in (shown["segment"], shown["posthog"]):
        assert code.count(f'"{served["write_keys"]["shop"]}"') >= 1

    # The Python snippets, run as they are for project "sdk", deliver their events.
    sdk = local.get("/api/projects/sdk/snippets").json()
    assert sdk["write_key"] == served["write_keys"]["sdk"]
    for code in (sdk["segment_python"], sdk["posthog_python"]):
        exec(compile(code, "snippet", "exec"), {})  # our own snippet, run as it is shown
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = {d["name"]: d["count"] for d in
                  local.get("/api/projects/sdk/event-definitions").json()}  # fmt: skip
        if counts.get("order_completed") == 2 and counts.get("$identify") == 1:
            break
        time.sleep(0.2)
    assert counts == {"order_completed": 2, "$identify": 1}
    traits = local.get("/api/projects/sdk/person-properties").json()
    assert [(t["name"], t["examples"]) for t in traits] == [("email", ["user@example.com"])]


# --- the answers' cache ------------------------------------------------------------------------


def test_definitions_are_scanned_again_exactly_when_the_store_changed(
    runtime: Runtime, project: Project
) -> None:
    cache = DefinitionsCache()
    scans: list[int] = []

    def scan() -> int:
        scans.append(1)
        return len(scans)

    def ask() -> int:
        return cache.get(runtime.store, ("events", project.id), scan)

    assert (ask(), ask()) == (1, 1)  # nothing changed: the first answer again, no new scan
    when = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    send(runtime, project.id, [{"t": when, "anonymousId": "a"}])
    assert (ask(), ask()) == (2, 2)  # an insert: scanned once more, then reused
    send(runtime, project.id, [{"t": when, "type": "identify", "anonymousId": "a",
                                "userId": "u"}], batch="i")  # fmt: skip
    assert ask() == 3
    assert cache.get(runtime.store, ("events", project.id + 1), scan) == 4  # its own key
