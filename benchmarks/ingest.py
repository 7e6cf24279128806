"""HTTP ingestion throughput: N clients posting Segment batches of 100 events to `userops serve`.

    python benchmarks/ingest.py --clients 8 --seconds 20

Starts a real server on a fresh data directory and runs the clients (asyncio, one process;
keep-alive connections sending pre-encoded requests, since the clients share the two cores with
the server and must cost little) for a fixed time. Prints the sustained rate of acknowledged
events (each acknowledgement means the batch is fsync'ed in the ingestion log) with p50/p99
acknowledgement latency; then how long the flusher took to get the backlog into the event store
after the clients stopped. Target (issue
4): at least 30k events/s with durable acknowledgement on 2 cores. Clients on other machines would
leave the server more of the CPU, so the figure is a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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


def http_request(url: str, key: str, body: bytes) -> bytes:
    """A whole HTTP/1.1 request, encoded before the clock starts."""
    host = url.removeprefix("http://")
    token = base64.b64encode(f"{key}:".encode()).decode()
    head = (f"POST /v1/batch HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


async def client_loop(url: str, requests: list[bytes], until: float,
                      latencies: list[float]) -> int:  # fmt: skip
    """One keep-alive connection sending pre-encoded requests: a client that costs little CPU,
    since clients and server share the machine's two cores (httpx took about one of them)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    acknowledged = 0
    try:
        for request in requests:
            if time.perf_counter() >= until:
                break
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status_line.split()[1] == b"200":
                acknowledged += BATCH
    finally:
        writer.close()
    return acknowledged


async def run_clients(
    url: str, key: str, clients: int, seconds: float
) -> tuple[int, list[float], float]:
    # More bodies than a client can send in the time (about 1,000 batches a second in all).
    per_client = int(seconds * 1000 / clients) + 10
    requests = [[http_request(url, key, batch_body(n, b * BATCH)) for b in range(per_client)]
                for n in range(clients)]  # fmt: skip
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    counts = await asyncio.gather(
        *(client_loop(url, requests[n], until, latencies) for n in range(clients))
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
