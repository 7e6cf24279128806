"""Analysis results kept while they are still the answer, so opening a saved insight or a
dashboard again does not scan the events again.

An answer is current while the event store holds the same rows: ``data_version`` reads the
events' row count (table metadata, instant), the newest identity override's version and the
newest refresh of each table computed per person, which every insert, merge, undone merge and
refresh changes. Such an answer is served exactly, whoever asks.

With events arriving all the time the counts never stand still, so a client may also accept an
answer up to ``max_age`` seconds old (HTTP's ``Cache-Control: max-age``), as PostHog and
Sensors Analytics serve a dashboard from its last computation and say when that was; each
result carries ``computed_at`` and ``cached`` for that. ``force`` computes again whatever is
kept (a refresh button, ``Cache-Control: no-cache``).

A key is the project, its time zone and the other settings analyses read, today's date there
(relative ranges such as "last 7 days" move with it) and the spec's canonical JSON. Concurrent
askers of one key wait for one computation. Entries are bounded by the size of their JSON,
least recently used leave first.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from userops.analysis.spec import AnalysisResult
from userops.meta.models import Project
from userops.store import EventStore, rows

# Room for thousands of typical answers (a few kB each); one funnel listing its persons can be
# a few MB, and it must not push everything else out.
DEFAULT_MAX_BYTES = 64 << 20
LOCK_STRIPES = 64


# Each part only grows: events are never deleted; override versions rise with every merge and
# undone merge (a row count would not do: ReplacingMergeTree folds an undone merge's rows back
# into one, and the count can return to an earlier value); computed person properties, RFM,
# stages and tiers carry their refresh's time, and stages and tiers are read once recorded
# complete in person_refreshes (a row each, written after their rows: an answer computed in
# between, from the previous completed refresh, must not outlive the record). Segment filters
# read completed refreshes, which add a row each (refreshes of different segments complete in
# any order, so the newest id alone would miss one); tag filters read person_tags, append-only
# but for a deleted tag's rows (the newest row's time catches a count that returns to an
# earlier value).
VERSION = """
    SELECT (SELECT count() FROM events), (SELECT max(version) FROM person_overrides),
           (SELECT toUnixTimestamp64Milli(max(refreshed_at)) FROM person_stats),
           (SELECT toUnixTimestamp64Milli(max(refreshed_at)) FROM person_rfm),
           (SELECT toUnixTimestamp64Milli(max(refreshed_at)) FROM person_stages),
           (SELECT count() FROM person_refreshes),
           (SELECT toUnixTimestamp64Milli(max(refreshed_at)) FROM person_tiers),
           (SELECT count() FROM segment_refreshes_done),
           (SELECT max(refresh_id) FROM segment_refreshes_done),
           (SELECT count() FROM person_tags),
           (SELECT toUnixTimestamp64Milli(max(at)) FROM person_tags)
"""


def data_version(store: EventStore) -> tuple[int, ...]:
    """Changes with every insert into the events, every identity merge or undone merge, every
    refresh of what is computed per person, every completed segment refresh and every tag
    added to or removed from a person."""
    [found] = rows(store, VERSION)
    return tuple(int(part or 0) for part in found)


def result_key(project: Project, spec_json: str, now: dt.datetime | None = None) -> Hashable:
    """The key of one spec's answer for one project, today in the project's time zone, with
    every project setting an analysis reads (a changed order event changes the overview)."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(project.timezone)).date()
    settings = (project.timezone, project.order_event, project.revenue_property)
    return (project.id, settings, today.isoformat(), spec_json)


@dataclass(frozen=True)
class _Entry:
    version: tuple[int, ...]
    computed: float  # monotonic seconds, for ages
    result: AnalysisResult
    size: int


class ResultCache:
    """Results by key, bounded by ``max_bytes`` of their JSON; thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.max_bytes = max_bytes
        self._clock = clock
        self._guard = threading.Lock()
        # Striped, not one per key: keys come and go, a lock per key ever seen would only grow.
        # Two keys sharing a stripe wait for each other, as the event store makes them anyway.
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0

    @property
    def size(self) -> int:
        """Bytes of JSON kept."""
        return self._bytes

    def get(self, store: EventStore, key: Hashable, compute: Callable[[], AnalysisResult],
            max_age: float | None = None, force: bool = False) -> AnalysisResult:  # fmt: skip
        """The kept answer when it is current (or younger than ``max_age`` seconds), else a
        new one from ``compute``. The answer says when it was computed and whether it was
        kept."""
        with self._locks[hash(key) % LOCK_STRIPES]:
            entry = None if force else self._lookup(key)
            # Young enough for the asker: served without reading the version, which would wait
            # behind whatever the event store is running.
            if entry is not None and max_age is not None \
                    and self._clock() - entry.computed <= max_age:  # fmt: skip
                return entry.result.model_copy(update={"cached": True})
            version = data_version(store)
            if entry is not None and entry.version == version:
                return entry.result.model_copy(update={"cached": True})
            # The version read before computing: rows arriving meanwhile make this answer
            # outdated at once rather than passing for current.
            started = self._clock()
            result = compute().model_copy(
                update={"computed_at": dt.datetime.now(dt.UTC), "cached": False}
            )
            self._keep(key, _Entry(version, started, result, len(result.model_dump_json())))
            return result

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
            self._bytes = 0

    def _lookup(self, key: Hashable) -> _Entry | None:
        with self._guard:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def _keep(self, key: Hashable, entry: _Entry) -> None:
        with self._guard:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self.max_bytes:
                return  # would push out everything else and still not fit
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
