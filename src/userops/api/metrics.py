"""Prometheus metrics of ingestion, served at GET /metrics.

Each app has its own registry (not prometheus_client's global one), so tests that build several
apps in one process count separately.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from userops.ingest.flusher import FlushStats

__all__ = ["CONTENT_TYPE_LATEST", "IngestMetrics"]

# Reasons are a fixed set, never text from the request: labels must not grow with bad input.
REJECT_REASONS = ("size", "encoding", "json", "depth", "timestamp", "invalid")


class IngestMetrics:
    def __init__(self, backlog_bytes: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter("userops_ingest_received_events", "Events received over HTTP.",
                                registry=self.registry)  # fmt: skip
        self.accepted = Counter("userops_ingest_accepted_events",
                                "Events acknowledged (fsync'ed to the ingestion log).",
                                registry=self.registry)  # fmt: skip
        self.rejected = Counter("userops_ingest_rejected_events", "Events refused, by reason.",
                                ["reason"], registry=self.registry)  # fmt: skip
        self.requests_refused = Counter("userops_ingest_refused_requests",
                                        "Whole requests refused, by reason.", ["reason"],
                                        registry=self.registry)  # fmt: skip
        self.deduplicated = Counter("userops_ingest_deduplicated_events",
                                    "Events not stored again: their messageId was stored already.",
                                    registry=self.registry)  # fmt: skip
        self.flushed = Counter("userops_ingest_flushed_events",
                               "Events moved from the ingestion log to the event store.",
                               registry=self.registry)  # fmt: skip
        self.flush_seconds = Histogram("userops_ingest_flush_seconds",
                                       "Time to move one batch from the log to the event store.",
                                       registry=self.registry)  # fmt: skip
        backlog = Gauge("userops_ingest_log_backlog_bytes",
                        "Acknowledged bytes in the ingestion log not yet in the event store.",
                        registry=self.registry)  # fmt: skip
        backlog.set_function(backlog_bytes)
        for reason in REJECT_REASONS:  # present from the start, so rates work from zero
            self.rejected.labels(reason)

    def record_flush(self, stats: FlushStats) -> None:
        self.flushed.inc(stats.flushed)
        self.deduplicated.inc(stats.duplicates)
        self.flush_seconds.observe(stats.seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
