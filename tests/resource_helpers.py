"""For the console resource tests (insights, persons, definitions): accounts with each role made
in the metadata store, signed in to a real `userops serve` through /api/auth/login, and events
loaded with explicit timestamps and contexts."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from server_helpers import Server
from userops.config import load_settings
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.keys import read_local_token
from userops.meta.models import Project
from userops.meta.projects import create_project
from userops.meta.users import add_member, create_user
from userops.runtime import Runtime
from userops.schema.events import message_from_dict

PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "analyst", "admin")


def make_accounts(runtime: Runtime, project_id: int) -> dict[str, str]:
    """An email per role in the project, and ``outsider``: an admin of another project only."""
    emails = {}
    for role in ROLES:
        user = create_user(runtime.sessions, f"{role}@example.com", role.title(), PASSWORD)
        add_member(runtime.sessions, project_id, user.id, role)
        emails[role] = user.email
    elsewhere = create_project(runtime.sessions, "elsewhere", "UTC")
    outsider = create_user(runtime.sessions, "outsider@example.com", "Outsider", PASSWORD)
    add_member(runtime.sessions, elsewhere.id, outsider.id, "admin")
    emails["outsider"] = outsider.email
    return emails


@dataclass
class Caller:
    """A console sign-in: its cookie in the client, its CSRF token sent on every change."""

    client: httpx.Client
    csrf: str

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)


def sign_in(url: str, email: str) -> Caller:
    client = httpx.Client(base_url=url, timeout=120)
    response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return Caller(client, response.json()["csrf_token"])


def bearer(url: str, secret: str) -> Caller:
    """A caller with an API key or the local token (no cookie, so no CSRF token needed)."""
    return Caller(httpx.Client(base_url=url, timeout=120,
                               headers={"Authorization": f"Bearer {secret}"}), "")  # fmt: skip


def load(runtime: Runtime, project_id: int, messages: list[dict[str, Any]]) -> None:
    """Segment messages (``timestamp`` as datetimes; ``messageId`` m0, m1, ... unless given)
    through the real ingestion pipeline."""
    parsed = [message_from_dict({"messageId": f"m{n}", **m,
                                 "timestamp": m["timestamp"].isoformat()})
              for n, m in enumerate(messages)]  # fmt: skip
    received = max(m["timestamp"] for m in messages) + dt.timedelta(minutes=1)
    Ingestor(runtime.sessions, runtime.store, project_id).ingest(
        message_columns(parsed, project_id, received)
    )


def text_of(value: Any) -> str:
    """A property value as filters (and examples) spell it: strings as is, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


@contextmanager
def serve_shop(
    data_dir: Path, fill: Callable[[Runtime, Project], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """A real `userops serve` on a new data directory holding project ``shop`` (Asia/Shanghai),
    its accounts per role (``make_accounts``) and whatever ``fill`` adds.

    Yields ``fill``'s answer with ``server``, ``callers`` (a signed-in caller per role) and
    ``local`` (the server's local token) added. ``USEROPS_*`` variables are cleared while the
    directory is set up, so the machine's settings cannot leak into it.
    """
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("USEROPS_")]:
            mp.delenv(name)
        with Runtime.open(settings) as runtime:
            shop = create_project(runtime.sessions, "shop", "Asia/Shanghai")
            emails = make_accounts(runtime, shop.id)
            extra = fill(runtime, shop)
        server = Server(data_dir)
        server.start()
    callers: dict[str, Caller] = {}
    try:
        callers = {role: sign_in(server.url, email) for role, email in emails.items()}
        token = read_local_token(data_dir)
        assert token is not None
        yield {**extra, "server": server, "callers": callers,
               "local": bearer(server.url, token)}  # fmt: skip
    finally:
        for caller in callers.values():
            caller.client.close()
        server.stop()
