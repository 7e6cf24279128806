"""`userops serve`: the process that owns the data directory and serves HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from userops.config import Settings
from userops.runtime import Runtime
from userops.store import scalar


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The app; it opens (and closes) the data directory itself unless handed an open runtime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        opened = Runtime.open(settings, holder="`userops serve`")
        app.state.runtime = opened
        try:
            yield
        finally:
            opened.close()

    app = FastAPI(title="UserOps", version="0.1.0", lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        current: Runtime = app.state.runtime
        events = scalar(current.store, "SELECT count() FROM events")
        return {
            "status": "ok",
            "event_store": current.store.engine_name,
            "metadata_store": current.sessions.kw["bind"].dialect.name,
            "events": events,
        }

    return app


def serve(settings: Settings, host: str, port: int) -> None:
    # The data directory is opened before uvicorn starts, so a locked or broken store surfaces as
    # the CLI's one-line error and exit code rather than a traceback from the app's startup.
    # The lock file names the address, so a blocked command can say where to send its request.
    holder = f"`userops serve` at http://{host}:{port}" if port else "`userops serve`"
    runtime = Runtime.open(settings, holder=holder)
    try:
        uvicorn.run(create_app(settings, runtime), host=host, port=port, log_level="info")
    finally:
        runtime.close()
