"""Kill -9 the server while clients send: every acknowledged event is stored, and exactly once.

Clients behave as the SDKs do: a batch that got no 2xx is sent again (same messageIds) until one
does. The server is killed at random moments and restarted on the same data directory; at the
end it is stopped cleanly and the stored events are counted per messageId.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from server_helpers import Server, new_project
from userops.config import load_settings
from userops.runtime import Runtime
from userops.store import rows

pytestmark = pytest.mark.usefixtures("clean_environment")

CLIENTS = 3
BATCH = 25
KILLS = 4


def client_loop(url: str, key: str, client: int, stop: threading.Event,
                acknowledged: list[str], sent: list[str]) -> None:  # fmt: skip
    number = 0
    while not stop.is_set():
        ids = [f"c{client}-{number + i}" for i in range(BATCH)]
        number += BATCH
        batch = [{"type": "track", "event": "tap", "anonymousId": f"device-{client}-{n % 7}",
                  "messageId": message_id, "properties": {"n": n}}
                 for n, message_id in enumerate(ids)]  # fmt: skip
        sent.extend(ids)
        while True:  # retry the same batch until it is acknowledged, as the SDKs do
            try:
                response = httpx.post(url + "/v1/batch", json={"batch": batch}, auth=(key, ""),
                                      timeout=10)  # fmt: skip
                if response.status_code == 200:
                    acknowledged.extend(ids)
                    break
            except httpx.HTTPError:
                pass
            if stop.is_set():
                return
            time.sleep(0.05)


def test_sigkill_loses_nothing_acknowledged_and_stores_it_once(tmp_path: Path) -> None:
    seed = int(os.environ.get("USEROPS_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    key = new_project(data_dir)
    server = Server(data_dir)
    server.start()
    stop = threading.Event()
    acknowledged: list[str] = []
    sent: list[str] = []
    threads = [threading.Thread(target=client_loop,
                                args=(server.url, key, n, stop, acknowledged, sent))
               for n in range(CLIENTS)]  # fmt: skip
    for thread in threads:
        thread.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.5))
            server.stop(signal.SIGKILL)
            server.start()
        time.sleep(rng.uniform(0.2, 1.0))
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        server.stop()
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        counts = Counter(dict(rows(runtime.store, "SELECT message_id, count() FROM events "
                                                  "GROUP BY message_id")))  # fmt: skip
    assert len(acknowledged) >= BATCH * CLIENTS, f"seed {seed}: too few acknowledgements to test"
    missing = set(acknowledged) - set(counts)
    assert not missing, f"seed {seed}: acknowledged and lost: {sorted(missing)[:10]}"
    doubled = {m: c for m, c in counts.items() if c > 1}
    assert not doubled, f"seed {seed}: stored more than once: {dict(list(doubled.items())[:10])}"
    assert set(counts) <= set(sent), f"seed {seed}: stored events nobody sent"
