"""A real `userops serve` in a child process, for tests that need real clients or real crashes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from userops.config import load_settings
from userops.meta.projects import create_project
from userops.runtime import Runtime

USEROPS = str(Path(sys.executable).with_name("userops"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_project(data_dir: Path, name: str = "shop") -> str:
    """Create a project in ``data_dir``; returns its write key."""
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        return create_project(runtime.sessions, name, "Asia/Shanghai").write_key


class Server:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("USEROPS_")}
        self.log = (self.data_dir.parent / f"serve-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [USEROPS, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"userops serve exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("userops serve did not come up")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.log.close()
        return code
