"""How long a saved insight over N events takes to show in the console, in a real browser.

    python benchmarks/console.py --events 10000000

Generates ``--events`` events with the analyses benchmark's generator (benchmarks/analyses.py),
starts a real `userops serve` on them, signs in with Debian's Chromium through Playwright and
saves one insight per kind. Then, ``--runs`` times: restarts the server (it keeps no answer
across a restart), opens each insight once (the first opening: the server computes it) and once
more (opened again: the server's kept answer, as PostHog serves a saved insight from its last
computation). Each is timed from navigation to the chart on screen (the result panel settled
with the answer to the spec: ``data-loading="false"``; the panel's ``computed-at`` label says
whether the answer was kept, and the benchmark checks it). Beside them it prints the query API's
own time for the same spec, computed (``Cache-Control: no-cache``), so what the console adds
(loading the page, rendering the chart) reads off the difference.

Target (issue 6): an insight over 10M events renders in under a second on this machine.
Needs the built console (`make console`) and Chromium (`make chromium`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from analyses import FUNNEL, TIMEZONE, load
from userops.config import load_settings
from userops.meta.projects import create_project
from userops.runtime import Runtime

USEROPS = str(Path(sys.executable).with_name("userops"))
PASSWORD = "benchmark password"


def specs() -> dict[str, tuple[str, dict[str, Any]]]:
    """Per kind: the builder page and a spec as an operator would save it."""
    last_30 = {"last_days": 30}
    return {
        "trends: DAU per day": ("trends", {"kind": "trends", "date_range": last_30,
            "interval": "day", "series": [{"event": None, "math": "unique_persons"}]}),
        "funnel: 4 steps, 7 days": ("funnel", {"kind": "funnel", "date_range": last_30,
            "steps": [{"event": name} for name in FUNNEL], "window": {"value": 7,
                                                                       "unit": "day"}}),
        "retention: 14 days": ("retention", {"kind": "retention", "date_range": last_30,
            "period": "day", "periods": 14}),
        "overview (增长看板)": ("overview", {"kind": "overview", "date_range": {"last_days": 7}}),
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SETTLED = "() => document.querySelector('[data-testid=result][data-loading=false]') !== null"


def settled(page: Page) -> None:
    """Wait for the result panel to settle, checking on every animation frame: Playwright's
    ``expect`` polls at 100, 250, 500 and then 1000 ms, which would add up to a second to a
    measured time."""
    page.wait_for_function(SETTLED, polling="raf", timeout=300_000)


class Server:
    """`userops serve` on the data directory, restartable on the same port: a restart empties
    the server's kept answers (userops.analysis.cache), so the next opening computes."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("USEROPS_")}
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [USEROPS, "serve", "--data-dir", self.data_dir, "--port", port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # fmt: skip
        for _ in range(1200):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        sys.exit("the server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(60)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Chromium is not installed: make chromium")
    with tempfile.TemporaryDirectory(prefix="userops-console-bench-") as tmp:
        settings = load_settings({"data_dir": tmp}, environ={})
        with Runtime.open(settings) as runtime:
            project = create_project(runtime.sessions, "bench", TIMEZONE)
            load(runtime.store, project.id, args.events, dt.date.today() - dt.timedelta(days=1))
        server = Server(tmp)
        server.start()
        try:
            run(server, chromium, args.runs)
        finally:
            server.stop()


def run(server: Server, chromium: str, runs: int) -> None:
    url = server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(locale="en-US", viewport={"width": 1440, "height": 900})
        owner = {"email": "bench@example.com", "name": "Bench", "password": PASSWORD}
        assert page.request.post(url + "/api/setup", data=owner).ok
        csrf = page.request.get(url + "/api/auth/me").json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        targets: dict[str, str] = {}
        api_times: dict[str, list[float]] = {name: [] for name in specs()}
        for name, (screen, spec) in specs().items():
            for _ in range(runs):  # computed every time: Cache-Control: no-cache
                began = time.perf_counter()
                answer = page.request.post(url + "/api/projects/bench/query", data=spec,
                                           headers={**headers, "Cache-Control": "no-cache"},
                                           timeout=300_000)  # fmt: skip
                api_times[name].append(time.perf_counter() - began)
                assert answer.ok, answer.text()
                assert answer.json()["cached"] is False
            if screen == "overview":
                targets[name] = f"{url}/p/bench/overview"
            else:
                saved = page.request.post(url + "/api/projects/bench/insights", headers=headers,
                                          data={"name": name, "spec": spec}).json()  # fmt: skip
                targets[name] = f"{url}/p/bench/{screen}?insight={saved['id']}"
            page.goto(targets[name])  # once to warm the browser's cache of the page's own files
            settled(page)

        def opened(target: str, cached: bool) -> float:
            page.goto("about:blank")
            began = time.perf_counter()
            page.goto(target)
            settled(page)
            took = time.perf_counter() - began
            label = page.get_by_test_id("computed-at").first
            assert label.get_attribute("data-cached") == ("true" if cached else "false")
            return took

        first: dict[str, list[float]] = {name: [] for name in specs()}
        again: dict[str, list[float]] = {name: [] for name in specs()}
        for _ in range(runs):
            server.restart()  # nothing kept: each first opening computes
            for name, target in targets.items():
                first[name].append(opened(target, cached=False))
            for name, target in targets.items():
                again[name].append(opened(target, cached=True))
        print(f"{'insight':<28} {'API s':>7} {'first opening s':>17} {'opened again s':>16}")
        print(f"{'':<28} {'(best)':>7} {'(best / median)':>17} {'(best / median)':>16}")
        for name in specs():
            print(
                f"{name:<28} {min(api_times[name]):>7.3f} "
                f"{min(first[name]):>8.3f} / {statistics.median(first[name]):.3f} "
                f"{min(again[name]):>7.3f} / {statistics.median(again[name]):.3f}"
            )
        browser.close()


if __name__ == "__main__":
    main()
