"""The web console's built files (web/dist), served by `userops serve` at ``/``.

The console is a single-page app: any GET that no API route answered gets ``index.html`` so that
its client-side routes (``/p/shop/funnel``) load on a refresh or a shared link. Paths under the
API, the ingestion endpoints and the server's own pages are never answered with the page: they
get the JSON 404 every client expects there. Vite names the files under ``assets/`` by their
content hash, so they are cached for a year; ``index.html`` is revalidated on every load, so a
new build shows at once. Text files are gzipped once per build and kept in memory, since uvicorn
compresses nothing and the console's scripts shrink to a third.

When the build is missing (a fresh clone before ``make run``), ``/`` answers a short page saying
how to build it, never a 500. The build is looked for on every request, so building while the
server runs is enough.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

ENV_DIR = "USEROPS_CONSOLE_DIR"
DEFAULT_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"

# First path segments that belong to the server, not to the console's client-side routes.
SERVER_PREFIXES = frozenset({
    "api", "v1", "batch", "capture", "e", "i", "decide", "flags",
    "healthz", "metrics", "docs", "redoc", "openapi.json",
})  # fmt: skip

IMMUTABLE = "public, max-age=31536000, immutable"  # content-hashed: a new build, a new name
REVALIDATE = "no-cache"  # index.html names the current build's assets
SHORT = "public, max-age=3600"  # favicon and other unhashed files
GZIP_TYPES = frozenset({".js", ".mjs", ".css", ".html", ".svg", ".json", ".map", ".txt"})
GZIP_MIN_BYTES = 1024

MISSING_BUILD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>UserOps</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>UserOps</h1>
<p>The web console has not been built yet. Run <code>make run</code> in the repository (it
builds the console with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> and
starts the server), or build it by hand and reload this page.</p>
<p>控制台尚未构建。请在仓库中运行 <code>make run</code>，然后刷新此页面。</p>
<p>The API is up: <a href="/docs">/docs</a>.</p>
</body></html>
"""


def console_dir() -> Path:
    """Where the build is: ``USEROPS_CONSOLE_DIR`` if set, else the repository's web/dist."""
    configured = os.environ.get(ENV_DIR)
    return Path(configured) if configured else DEFAULT_DIST


class _Gzipped:
    """Each text file's gzip, made once per (path, size, mtime): a new build replaces it."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], bytes]] = {}

    def get(self, path: Path) -> bytes:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        hit = self._cache.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self._cache[path] = (stamp, body)
        return body


def _inside(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names under ``root``, or None if it is not a file there (this also
    refuses ``..`` and symlinks that lead out of the build)."""
    if not relative or "\x00" in relative:
        return None
    try:
        candidate = (root / relative).resolve()
    except (OSError, RuntimeError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _accepts_gzip(request: Request) -> bool:
    encodings = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() == "gzip" for part in encodings.split(","))


def mount_console(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the console on ``app``. Call it after every other route is added: its catch-all
    GET answers only what no earlier route did."""
    gzipped = _Gzipped()

    def send(request: Request, path: Path, cache: str) -> Response:
        headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
        size = path.stat().st_size
        if path.suffix in GZIP_TYPES and size >= GZIP_MIN_BYTES and _accepts_gzip(request):
            body = gzipped.get(path)
            response = FileResponse(path, headers=headers)  # for its media type only
            headers["Content-Encoding"] = "gzip"
            return Response(body, media_type=response.media_type, headers=headers)
        return FileResponse(path, headers=headers)

    @app.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def console(path: str, request: Request) -> Response:
        first = path.split("/", 1)[0]
        if first in SERVER_PREFIXES:
            return JSONResponse({"error": "not_found", "message": f"no route /{path}",
                                 "field": None}, status_code=404)  # fmt: skip
        root = (dist or console_dir()).resolve()
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(MISSING_BUILD, headers={"Cache-Control": "no-store"})
        found = _inside(root, path)
        if found is not None and found != index:
            hashed = found.parent == root / "assets"
            return send(request, found, IMMUTABLE if hashed else SHORT)
        if first == "assets":  # a stale build's asset: a 404, not the page as JavaScript
            return JSONResponse({"error": "not_found", "message": f"no file /{path}",
                                 "field": None}, status_code=404)  # fmt: skip
        return send(request, index, REVALIDATE)
