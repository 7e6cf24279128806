"""Python clients for analyses: ``Client`` asks a server, ``open`` opens a data directory.

Both take a spec (a dict, JSON text, or a spec model such as ``TrendsSpec``) and a project
name, and return the typed result (``.to_pandas()`` gives a DataFrame)::

    import userops

    client = userops.Client("http://127.0.0.1:8000", "uok_...")
    trends = client.query({"kind": "trends", ...}, project="shop")

    with userops.open("./userops-data") as local:
        trends = local.query({"kind": "trends", ...}, project="shop")

Errors are ``userops.errors`` exceptions: ``BadRequest`` (with ``field``, the spec's JSON path),
``NotFound``, ``PayloadTooLarge``, and ``userops.errors.Unauthorized`` for a missing, wrong
or revoked key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel

from userops import errors
from userops.analysis.query import parse_result, parse_spec, run_query
from userops.analysis.spec import AnalysisResult
from userops.config import Settings, load_settings
from userops.errors import StoreLocked, Unauthorized, UserOpsError
from userops.meta.keys import read_local_token
from userops.meta.projects import get_project
from userops.runtime import LOCK_NAME, Runtime

SpecInput = Mapping[str, Any] | str | bytes | BaseModel

# The error a server names in its body, as the exception to raise here.
_ERRORS: dict[str, type[UserOpsError]] = {
    cls.__name__: cls
    for cls in (errors.ConfigError, errors.BadRequest, errors.PayloadTooLarge, errors.NotFound,
                errors.Conflict, errors.StoreLocked, Unauthorized, errors.Forbidden,
                errors.CsrfRejected, errors.RateLimited)
}  # fmt: skip
# When the body names none of them (a proxy's error page, say): by status.
_BY_STATUS: dict[int, type[UserOpsError]] = {
    400: errors.BadRequest, 401: Unauthorized, 403: errors.Forbidden, 404: errors.NotFound,
    409: errors.Conflict, 413: errors.PayloadTooLarge, 429: errors.RateLimited,
}  # fmt: skip


def _spec_bytes(spec: SpecInput) -> bytes:
    if isinstance(spec, BaseModel):
        return spec.model_dump_json(by_alias=True).encode()
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if isinstance(spec, bytes):
        return spec
    return orjson.dumps(dict(spec))


def error_from(response: httpx.Response) -> UserOpsError:
    """The ``userops.errors`` exception a server's error response stands for."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        cls = _ERRORS.get(str(body.get("error")), _BY_STATUS.get(response.status_code,
                                                                 UserOpsError))  # fmt: skip
        field = body.get("field")
        return cls(body["message"], field=field if isinstance(field, str) else None)
    cls = _BY_STATUS.get(response.status_code, UserOpsError)
    text = " ".join(response.text.split())[:200]
    return cls(f"the server answered {response.status_code}: {text or '(no body)'}")


class Client:
    """Asks a running `userops serve` (``url``) with a personal API key."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    def query(self, spec: SpecInput, *, project: str) -> AnalysisResult:
        """Run ``spec`` on ``project``'s events; the typed result, or a ``userops.errors``."""
        path = f"/api/projects/{quote(project, safe='')}/query"
        try:
            response = self._http.post(path, content=_spec_bytes(spec))
        except httpx.HTTPError as exc:
            raise UserOpsError(f"cannot reach the server at {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise error_from(response)
        return parse_result(response.content)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class LocalClient:
    """Runs queries in this process, on a data directory it holds open until ``close``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.data_dir = runtime.settings.data_path

    def query(self, spec: SpecInput, *, project: str) -> AnalysisResult:
        return self.run(parse_spec(dict(spec) if isinstance(spec, Mapping) else _spec_bytes(spec)),
                        project=project)  # fmt: skip

    def run(self, spec: Any, *, project: str) -> AnalysisResult:
        """Run a spec ``parse_spec`` already checked."""
        return run_query(self.runtime.store, get_project(self.runtime.sessions, project), spec)

    def close(self) -> None:
        self.runtime.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# The lock file's holder line as `userops serve` writes it: "`userops serve` at URL (pid N)".
_SERVED_AT = re.compile(r"`userops serve` at (http://\S+) \(pid \d+\)")
# An address a server listens on that is no address to connect to: ask this machine.
_ANY_HOST = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def running_server(data_dir: Path) -> Client | None:
    """A client of the `userops serve` holding ``data_dir``, with its local token; None when
    the holder is something else, its address is unknown, or its token is not readable."""
    try:
        holder = (data_dir / LOCK_NAME).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _SERVED_AT.search(holder)
    token = read_local_token(data_dir)
    if match is None or token is None:
        return None
    url = match.group(1)
    host = url.removeprefix("http://").rsplit(":", 1)[0]
    if host in _ANY_HOST:
        url = url.replace(host, _ANY_HOST[host], 1)
    return Client(url, token)


def connect(settings: Settings) -> Client | LocalClient:
    """Open the data directory; when a running `userops serve` holds it, ask that server."""
    try:
        return LocalClient(Runtime.open(settings))
    except StoreLocked:
        server = running_server(settings.data_path)
        if server is None:
            raise
        return server


def open_data_dir(data_dir: str | Path | None = None) -> Client | LocalClient:
    """``userops.open``: a client on a data directory (default: the ``data_dir`` setting).

    It opens the directory in this process (a ``LocalClient``); while `userops serve` holds
    the directory it asks that server instead (a ``Client``). Use it as a context manager.
    """
    return connect(load_settings({"data_dir": str(data_dir) if data_dir is not None else None}))
