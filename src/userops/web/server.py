"""`userops serve`: the process that owns the data directory and serves HTTP.

Start-up opens the ingestion log (replaying what was acknowledged and not yet stored) and starts
its flusher; shut-down stops taking events, commits what is queued and flushes the log into the
event store before the data directory is released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from userops.api.auth import auth_router
from userops.api.cors import IngestionCors
from userops.api.definitions import definitions_router
from userops.api.insights import insights_router
from userops.api.intake import HttpError, Intake
from userops.api.metrics import CONTENT_TYPE_LATEST, IngestMetrics
from userops.api.people import people_router
from userops.api.persons import persons_router
from userops.api.posthog import posthog_router
from userops.api.query import Querying, document_query, error_response, query_router
from userops.api.segment import segment_router
from userops.api.segments import segments_router
from userops.api.tags import tags_router
from userops.api.team import team_router
from userops.config import Settings
from userops.errors import BadRequest, UserOpsError
from userops.ingest.flusher import Flusher
from userops.ingest.log import IngestionLog
from userops.ingest.parse import limits_from
from userops.runtime import Runtime
from userops.segments.scheduler import SegmentScheduler
from userops.store import scalar
from userops.store.embedded import StoreError
from userops.web.console import mount_console


@dataclass
class Ingestion:
    log: IngestionLog
    flusher: Flusher
    metrics: IngestMetrics
    intake: Intake

    @classmethod
    def start(cls, runtime: Runtime) -> Ingestion:
        settings = runtime.settings
        log = IngestionLog(settings.data_path / "ingest-log")
        flusher_box: list[Flusher] = []
        metrics = IngestMetrics(lambda: float(flusher_box[0].backlog_bytes) if flusher_box else 0)
        flusher = Flusher(log, runtime.sessions, runtime.store,
                          dt.timedelta(days=settings.dedupe_window_days),
                          on_flush=metrics.record_flush)  # fmt: skip
        flusher_box.append(flusher)
        intake = Intake(runtime.sessions, log, limits_from(settings), settings.max_batch_bytes,
                        metrics)  # fmt: skip
        flusher.start()
        return cls(log, flusher, metrics, intake)

    def stop(self) -> None:
        self.log.close()  # no new acknowledgements; the queued ones are committed
        self.flusher.stop()  # everything committed goes to the event store


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The app; it opens (and closes) the data directory itself unless handed an open runtime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = runtime or Runtime.open(settings, holder="`userops serve`")
        app.state.runtime = opened
        try:
            app.state.ingestion = Ingestion.start(opened)
            try:
                app.state.querying = Querying.start(opened)
                app.state.local_token = app.state.querying.local_token
                try:
                    app.state.segment_scheduler = SegmentScheduler(opened).start()
                    try:
                        yield
                    finally:
                        app.state.segment_scheduler.stop()
                finally:
                    app.state.querying.stop()
            finally:
                app.state.ingestion.stop()
        finally:
            if runtime is None:
                opened.close()

    app = FastAPI(title="UserOps", version="0.1.0", lifespan=lifespan)

    def intake() -> Intake:
        ingestion: Ingestion = app.state.ingestion
        return ingestion.intake

    ingestion_routers = [segment_router(intake), posthog_router(intake)]
    for router in ingestion_routers:
        app.include_router(router)
    app.add_middleware(IngestionCors, paths=[route.path for router in ingestion_routers
                                             for route in router.routes
                                             if isinstance(route, APIRoute)])  # fmt: skip
    app.include_router(query_router(lambda: app.state.querying))
    app.include_router(auth_router())
    app.include_router(team_router())

    def current() -> Runtime:
        opened: Runtime = app.state.runtime
        return opened

    app.include_router(insights_router(current))
    app.include_router(persons_router(current))
    app.include_router(definitions_router(current))
    app.include_router(people_router(current))
    app.include_router(segments_router(current, lambda: getattr(app.state, "segment_scheduler",
                                                                None)))  # fmt: skip
    app.include_router(tags_router(current))
    document_query(app)

    @app.exception_handler(UserOpsError)
    async def failed(request: Request, exc: UserOpsError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # Still the documented error shape, for the console to show; Starlette logs the
        # traceback after this answer is sent.
        return JSONResponse({"error": "InternalError", "message": "the request failed "
                             "unexpectedly; the server's log has the details"},
                            status_code=500)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's 422 as the API's 400 naming the field, like every other bad input.
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return error_response(BadRequest("the body is not valid JSON", field="(body)"))
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "(body)"
        text = f"{field}: {first.get('msg', 'invalid')}"
        return error_response(BadRequest(text, field=field))

    @app.exception_handler(HttpError)
    async def refused(request: Request, exc: HttpError) -> JSONResponse:
        ingestion: Ingestion | None = getattr(app.state, "ingestion", None)
        if ingestion is not None:
            ingestion.metrics.requests_refused.labels(exc.reason).inc()
        return JSONResponse(exc.body, status_code=exc.status)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        current: Runtime = app.state.runtime
        ingestion: Ingestion = app.state.ingestion
        error = ingestion.flusher.last_error
        body: dict[str, Any] = {
            "status": "ok" if error is None else "degraded",
            "event_store": current.store.engine_name,
            "metadata_store": current.sessions.kw["bind"].dialect.name,
        }
        try:
            body["events"] = scalar(current.store, "SELECT count() FROM events")
        except StoreError as exc:  # acknowledged events wait in the log; say what is wrong
            body.update(status="unavailable", events=None, event_store_error=str(exc))
        body["ingestion_log"] = {"backlog_bytes": ingestion.flusher.backlog_bytes,
                                 "flush_error": error}  # fmt: skip
        return JSONResponse(body, status_code=503 if body["status"] == "unavailable" else 200)

    @app.get("/metrics", response_class=Response)
    def metrics() -> Response:
        ingestion: Ingestion = app.state.ingestion
        return Response(ingestion.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    mount_console(app)  # last: its catch-all answers only what no route above did
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    # The data directory is opened before uvicorn starts, so a locked or broken store surfaces as
    # the CLI's one-line error and exit code rather than a traceback from the app's startup.
    # The lock file names the address, so a blocked command can say where to send its request.
    # An IPv6 address goes in brackets, so that `userops query` can use the address as a URL.
    shown = f"[{host}]" if ":" in host else host
    holder = f"`userops serve` at http://{shown}:{port}" if port else "`userops serve`"
    runtime = Runtime.open(settings, holder=holder)
    try:
        # No access log: one line per SDK batch is noise at thousands a second; /metrics counts.
        uvicorn.run(create_app(settings, runtime), host=host, port=port, log_level="info",
                    access_log=False)  # fmt: skip
    finally:
        runtime.close()
