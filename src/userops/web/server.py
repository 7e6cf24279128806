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


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings, holder="`userops serve`")
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(title="UserOps", version="0.1.0", lifespan=lifespan)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        runtime: Runtime = app.state.runtime
        events = scalar(runtime.store, "SELECT count() FROM events")
        return {"status": "ok", "event_store": runtime.store.engine_name, "events": events}

    return app


def serve(settings: Settings, host: str, port: int) -> None:
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
