"""Data management over REST: which events and properties the project's data holds, and SDK
snippets that send to this server.

    GET /api/projects/{project}/event-definitions?days=30
        [{"name", "count", "persons", "first_seen", "last_seen"}], most events first
    GET /api/projects/{project}/property-definitions?event=NAME&days=30
        [{"name", "type", "count", "last_seen", "examples"}] (every event's when no event)
    GET /api/projects/{project}/person-properties              the same shape, for traits and
                                                               computed properties ($revenue, ...)
    GET /api/projects/{project}/snippets
        {"host", "write_key", "segment", "posthog", "segment_python", "posthog_python"}

Any member reads all of these; the write key is in the snippets, since installing an SDK needs
it (it only sends events). What the numbers mean is ``userops.analysis.definitions``'s.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request

from userops.analysis import definitions
from userops.analysis.cache import data_version
from userops.api.access import Access, project_access
from userops.runtime import Runtime
from userops.schema.times import iso
from userops.store import EventStore

T = TypeVar("T")

Reader = Annotated[Access, Depends(project_access("viewer"))]
Days = Annotated[int, Query(ge=1, le=definitions.MAX_DAYS)]


class DefinitionsCache:
    """Definitions answered again only when the stores have changed.

    Every builder screen asks for the event names; each answer scans the whole window (about
    a second at 10M events), and the event store answers one statement at a time, so a user
    moving between screens would queue their analyses behind these scans. An answer is reused
    exactly while ``userops.analysis.cache.data_version`` stands still (no insert, merge,
    undone merge or refresh of computed properties since).
    One lock per question: concurrent askers wait for one scan instead of running several.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, threading.Lock] = {}
        self._answers: dict[Hashable, tuple[tuple[int, ...], Any]] = {}

    def get(self, store: EventStore, key: Hashable, compute: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            version = data_version(store)
            cached = self._answers.get(key)
            if cached is not None and cached[0] == version:
                answer: T = cached[1]
                return answer
            fresh = compute()
            self._answers[key] = (version, fresh)
            return fresh


def property_json(found: definitions.PropertyDefinition) -> dict[str, Any]:
    return {"name": found.name, "type": found.type, "count": found.count,
            "last_seen": iso(found.last_seen), "examples": found.examples}  # fmt: skip


def snippets(host: str, write_key: str) -> dict[str, str]:
    """Install code for the browser and Python SDKs of Segment and PostHog, sending here.

    Values go in as JSON string literals, which JavaScript and Python both read, so nothing in
    a Host header can break out of its string.
    """
    key, url = json.dumps(write_key), json.dumps(host)
    parts = urlsplit(host)
    # analytics.js takes the API host without its scheme; given its settings here, it asks
    # no Segment CDN for them.
    api_host, protocol = json.dumps(parts.netloc + "/v1"), json.dumps(parts.scheme or "https")
    segment = f"""// npm install @segment/analytics-next
import {{ AnalyticsBrowser }} from '@segment/analytics-next'

export const analytics = AnalyticsBrowser.load({{
  writeKey: {key},
  cdnSettings: {{
    integrations: {{
      'Segment.io': {{ apiKey: {key}, apiHost: {api_host}, protocol: {protocol} }},
    }},
  }},
}})

analytics.identify('user-1', {{ email: 'user@example.com' }})
analytics.track('order_completed', {{ revenue: 99 }})
"""
    posthog = f"""// npm install posthog-js
import posthog from 'posthog-js'

posthog.init({key}, {{
  api_host: {url},
  // This server takes events; it has no feature flags, surveys or recordings to load.
  advanced_disable_flags: true,
  disable_surveys: true,
  disable_session_recording: true,
}})

posthog.identify('user-1', {{ email: 'user@example.com' }})
posthog.capture('order_completed', {{ revenue: 99 }})
"""
    segment_python = f"""# pip install segment-analytics-python
from segment.analytics import Client

analytics = Client({key}, host={url})
analytics.identify(user_id="user-1", traits={{"email": "user@example.com"}})
analytics.track(user_id="user-1", event="order_completed", properties={{"revenue": 99}})
analytics.flush()
"""
    posthog_python = f"""# pip install posthog
from posthog import Posthog

posthog = Posthog({key}, host={url})
posthog.capture("order_completed", distinct_id="user-1", properties={{"revenue": 99}})
posthog.flush()
"""
    return {"host": host, "write_key": write_key, "segment": segment, "posthog": posthog,
            "segment_python": segment_python, "posthog_python": posthog_python}  # fmt: skip


def definitions_router(runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["data"])
    base = "/api/projects/{project}"
    cache = DefinitionsCache()

    @router.get(base + "/event-definitions", summary="Event names with volumes, most first")
    def event_definitions(access: Reader, days: Days = 30) -> list[dict[str, Any]]:
        """``count`` and ``persons`` over the last ``days`` local days (today included);
        ``first_seen`` and ``last_seen`` over all time, so an event that stopped arriving
        still shows, with count 0."""
        project = access.project
        since = definitions.window_start(project.timezone, days)
        store = runtime().store
        found = cache.get(store, ("events", project.id, since),
                          lambda: definitions.event_definitions(store, project.id, since))
        return [{"name": d.name, "count": d.count, "persons": d.persons,
                 "first_seen": iso(d.first_seen), "last_seen": iso(d.last_seen)}
                for d in found]  # fmt: skip

    @router.get(base + "/property-definitions", summary="Event properties: type, volume, examples")
    def property_definitions(
        access: Reader,
        event: Annotated[str | None, Query(max_length=400)] = None,
        days: Days = 30,
    ) -> list[dict[str, Any]]:
        """Properties of the events named ``event`` (of every event when it is left out or
        blank) in the last ``days`` local days, with the promoted context keys (``$os``,
        ``$utm_source``, ...) that filters read."""
        project = access.project
        since = definitions.window_start(project.timezone, days)
        name = event if event is not None and event.strip() else None
        store = runtime().store
        found = cache.get(store, ("properties", project.id, since, name),
                          lambda: definitions.property_definitions(store, project.id, since, name))
        return [property_json(d) for d in found]

    @router.get(base + "/person-properties", summary="Person traits: type, persons, examples")
    def person_properties(access: Reader) -> list[dict[str, Any]]:
        """Persons' current traits, then the computed properties (``$revenue``, ...) as of
        their last refresh; ``count`` is how many persons have each."""
        store, project_id = runtime().store, access.project.id
        found = cache.get(store, ("persons", project_id),
                          lambda: definitions.person_properties(store, project_id)
                          + definitions.computed_properties(store, project_id))  # fmt: skip
        return [property_json(d) for d in found]

    @router.get(base + "/snippets", summary="SDK install code pointing at this server")
    def sdk_snippets(request: Request, access: Reader) -> dict[str, str]:
        host = str(request.base_url).rstrip("/")
        return snippets(host, access.project.write_key)

    return router
