"""HTTP ingestion throughput: N clients posting Segment batches of 100 events to `userops serve`.

    python benchmarks/ingest.py --clients 8 --seconds 20

Starts a real server on a fresh data directory, runs the clients (asyncio, one process) for a
fixed time, and prints the sustained rate of acknowledged events (each acknowledgement means the
batch is fsync'ed in the ingestion log) with p50/p99 acknowledgement latency; then how long the
flusher took to get the backlog into the event store after the clients stopped. Target (issue
4): at least 30k events/s with durable acknowledgement on 2 cores. The clients share the 2 cores
with the server, so the figure is a floor for what separate client machines would see.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_helpers import Server, new_project
from userops.config import load_settings
from userops.runtime import Runtime
from userops.store import scalar

BATCH = 100


def batch_body(client: int, number: int) -> bytes:
    events = [
        {
            "type": "track",
            "event": "view_item",
            "anonymousId": f"device-{client}-{(number + i) % 500}",
            "messageId": f"c{client}-{number + i}",
            "timestamp": "2026-11-20T10:00:00+08:00",
            "properties": {"product_id": f"p{i}", "price": 199.0},
            "context": {
                "os": {"name": "iOS", "version": "17.1"},
                "locale": "zh-CN",
                "campaign": {"source": "wechat", "medium": "social"},
            },
        }
        for i in range(BATCH)
    ]
    return orjson.dumps({"batch": events})


async def client_loop(url: str, key: str, bodies: list[bytes], until: float,
                      latencies: list[float]) -> int:  # fmt: skip
    acknowledged = 0
    async with httpx.AsyncClient(auth=(key, ""), timeout=30) as http:
        for body in bodies:  # built before the clock starts: the clients share the 2 cores
            if time.perf_counter() >= until:
                break
            started = time.perf_counter()
            response = await http.post(url + "/v1/batch", content=body,
                                       headers={"Content-Type": "application/json"})  # fmt: skip
            latencies.append(time.perf_counter() - started)
            if response.status_code == 200:
                acknowledged += BATCH
    return acknowledged


async def run_clients(
    url: str, key: str, clients: int, seconds: float
) -> tuple[int, list[float], float]:
    # More bodies than a client can send in the time (about 1,000 batches a second in all).
    per_client = int(seconds * 1000 / clients) + 10
    bodies = [[batch_body(n, b * BATCH) for b in range(per_client)] for n in range(clients)]
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    counts = await asyncio.gather(
        *(client_loop(url, key, bodies[n], until, latencies) for n in range(clients))
    )
    return sum(counts), latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.pop("USEROPS_DATA_DIR", None)
    with tempfile.TemporaryDirectory(prefix="userops-ingest-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        key = new_project(data_dir)
        server = Server(data_dir)
        server.start()
        try:
            acknowledged, latencies, elapsed = asyncio.run(
                run_clients(server.url, key, args.clients, args.seconds)
            )
            drain_started = time.perf_counter()
            while httpx.get(server.url + "/healthz").json()["ingestion_log"]["backlog_bytes"]:
                time.sleep(0.05)
            drain = time.perf_counter() - drain_started
        finally:
            server.stop()
        settings = load_settings({"data_dir": str(data_dir)}, environ={})
        with Runtime.open(settings) as runtime:
            stored = scalar(runtime.store, "SELECT count() FROM events")
    quantiles = statistics.quantiles(latencies, n=100)
    rate = acknowledged / elapsed
    print(f"{args.clients} clients, batches of {BATCH}, {elapsed:.1f} s")
    print(f"acknowledged (fsync'ed): {acknowledged:,} events  {rate:,.0f} events/s")
    print(f"ack latency: p50 {quantiles[49] * 1000:.1f} ms  p99 {quantiles[98] * 1000:.1f} ms")
    print(f"backlog drained {drain:.1f} s after the clients stopped; stored {stored:,} events")
    print(f"target >= 30,000 events/s: {'met' if rate >= 30_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
