"""How long a saved insight over N events takes to show in the console, in a real browser.

    python benchmarks/console.py --events 10000000

Generates ``--events`` events with the analyses benchmark's generator (benchmarks/analyses.py),
starts a real `userops serve` on them, signs in with Debian's Chromium through Playwright, saves
one insight per kind and then opens each one ``--runs`` times, timing from navigation to the
chart on screen (the result panel settled with the answer to the spec: ``data-loading="false"``).
Beside each it prints the query API's own time for the same spec, so what the console adds
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
from playwright.sync_api import Page, expect, sync_playwright

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


def settled(page: Page) -> None:
    expect(page.get_by_test_id("result")).to_have_attribute("data-loading", "false",
                                                            timeout=120_000)  # fmt: skip


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
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("USEROPS_")}
        server = subprocess.Popen([USEROPS, "serve", "--data-dir", tmp, "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            run(url, chromium, args.runs)
        finally:
            server.terminate()
            server.wait(60)


def run(url: str, chromium: str, runs: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(locale="en-US", viewport={"width": 1440, "height": 900})
        owner = {"email": "bench@example.com", "name": "Bench", "password": PASSWORD}
        assert page.request.post(url + "/api/setup", data=owner).ok
        csrf = page.request.get(url + "/api/auth/me").json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        print(f"{'insight':<28} {'API s':>7} {'on screen s (best / median)':>28}")
        for name, (screen, spec) in specs().items():
            api_times = []
            for _ in range(runs):
                began = time.perf_counter()
                answer = page.request.post(url + "/api/projects/bench/query", data=spec,
                                           headers=headers, timeout=300_000)  # fmt: skip
                api_times.append(time.perf_counter() - began)
                assert answer.ok, answer.text()
            if screen == "overview":
                target = f"{url}/p/bench/overview"
            else:
                saved = page.request.post(url + "/api/projects/bench/insights", headers=headers,
                                          data={"name": name, "spec": spec}).json()  # fmt: skip
                target = f"{url}/p/bench/{screen}?insight={saved['id']}"
            page.goto(target)  # once to warm the browser's cache of the page's own files
            settled(page)
            screen_times = []
            for _ in range(runs):
                page.goto("about:blank")
                began = time.perf_counter()
                page.goto(target)
                settled(page)
                screen_times.append(time.perf_counter() - began)
            print(f"{name:<28} {min(api_times):>7.3f} "
                  f"{min(screen_times):>13.3f} / {statistics.median(screen_times):.3f}")
        browser.close()


if __name__ == "__main__":
    main()
