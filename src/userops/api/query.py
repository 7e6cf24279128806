"""The query API: ``POST /api/projects/{project}/query`` runs an analysis spec, returns its result.

The body is a spec as `userops query` and the Python clients take it (any kind that
``userops.analysis.query`` knows); the answer is the typed result as JSON. Authentication is
``Authorization: Bearer <key>`` with a personal API key of that project (`userops keys create`)
or the running server's local token (see ``userops.meta.keys``), or the console's session
cookie with its CSRF token; ``userops.api.access`` decides, and any role may query.

Answers are kept (``userops.analysis.cache``): the same spec is answered again from memory while
the event store holds the same rows, and every answer says when it was computed
(``computed_at``) and whether it was kept (``cached``). A request's ``Cache-Control`` header
asks for more or less: ``max-age=N`` accepts an answer up to N seconds old although events
arrived since (the console opening a saved insight or a dashboard), ``no-cache`` computes it
again whatever is kept (a refresh).

Errors are ``{"error", "message", "field"}`` with the status of ``userops.errors``: a bad spec is
400 naming the spec's field by its JSON path, never FastAPI's 422. A key of another project gets
the same 404 as a project that does not exist, so a key tells its holder nothing about projects
it does not open.

The body is read as JSON whatever its Content-Type says (``curl -d`` sends a form type); that
opens no cross-site hole: a browser never attaches an Authorization header on its own, and a
cookie-signed POST must carry the CSRF token, which another site cannot read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.cache import ResultCache, result_key
from userops.analysis.query import Result, Spec, parse_spec, run_query
from userops.analysis.spec import MEMBERSHIP, AnalysisResult
from userops.api.access import Access, project_access
from userops.errors import BadRequest, PayloadTooLarge, RateLimited, UserOpsError
from userops.meta.keys import LocalToken
from userops.meta.models import Project, Segment, Tag
from userops.runtime import Runtime

logger = logging.getLogger(__name__)

MAX_SPEC_BYTES = 1 << 20
# Queries run in worker threads of their own: the event store answers one statement at a time
# anyway (each engine serialises its calls behind a lock, and the flusher's inserts take the
# same lock), so more threads would only wait, and the default pool stays free for the rest
# of the app.
QUERY_THREADS = 4
# The longest max-age a request may ask for: a day. Longer reads as a mistake, not a wish.
MAX_AGE_LIMIT = 24 * 3600


@dataclass(frozen=True)
class Freshness:
    """What a request's ``Cache-Control`` accepts: an answer up to ``max_age`` seconds old, or
    (``force``) only a new one. Neither: an answer kept while the data has not changed."""

    max_age: float | None = None
    force: bool = False

    @classmethod
    def from_header(cls, value: str) -> Freshness:
        directives = [part.strip().lower() for part in value.split(",") if part.strip()]
        if "no-cache" in directives or "no-store" in directives or "max-age=0" in directives:
            return cls(force=True)
        for directive in directives:
            name, _, number = directive.partition("=")
            if name.strip() != "max-age":
                continue  # other directives (private, must-revalidate, ...) change nothing here
            number = number.strip().strip('"')
            if not (number.isascii() and number.isdigit()):
                raise BadRequest(f"Cache-Control max-age must be whole seconds, not {number!r}",
                                 field="Cache-Control")  # fmt: skip
            return cls(max_age=min(int(number), MAX_AGE_LIMIT))
        return cls()


class ErrorBody(BaseModel):
    """Every error this API returns."""

    error: str
    message: str
    field: str | None = None


@dataclass
class Querying:
    """What the query endpoint needs while the server runs: the stores, the local token and
    the worker threads' limit."""

    runtime: Runtime
    local_token: LocalToken
    limiter: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(QUERY_THREADS)
    )
    results: ResultCache = field(default_factory=ResultCache)

    @classmethod
    def start(cls, runtime: Runtime) -> Querying:
        return cls(runtime, LocalToken.create(runtime.settings.data_path))

    def stop(self) -> None:
        self.local_token.remove()

    def run(self, project: Project, body: bytes, freshness: Freshness | None = None
            ) -> AnalysisResult:  # fmt: skip
        freshness = freshness or Freshness()
        spec = parse_spec(body)
        check_memberships(self.runtime.sessions, project.id, spec)
        store = self.runtime.store
        return self.results.get(store, result_key(project, spec.model_dump_json()),
                                lambda: run_query(store, project, spec),
                                max_age=freshness.max_age, force=freshness.force)  # fmt: skip


def memberships(spec: Any, path: str = "") -> Iterator[tuple[str, str, int]]:
    """(JSON path of the key, "segment" or "tag", id) of every segment and tag the spec's
    filters and breakdowns name, in the spec's order, wherever a kind keeps them."""
    if isinstance(spec, BaseModel):
        spec = spec.model_dump(by_alias=True)
    if isinstance(spec, dict):
        kind, key = spec.get("type"), spec.get("key")
        if kind in MEMBERSHIP and isinstance(key, str) and key.isdigit():
            yield f"{path}key", str(kind), int(key)
        for name, value in spec.items():
            yield from memberships(value, f"{path}{name}.")
    elif isinstance(spec, list):
        for n, value in enumerate(spec):
            yield from memberships(value, f"{path}{n}.")


def check_memberships(sessions: sessionmaker[Session], project_id: int, spec: Any) -> None:
    """``BadRequest`` naming the first filter or breakdown whose segment or tag is not one of
    the project's (the analysis would read no members: an empty answer that looks true)."""
    named = list(memberships(spec))
    if not named:
        return
    models: dict[str, type[Segment] | type[Tag]] = {"segment": Segment, "tag": Tag}
    known: dict[str, set[int]] = {}
    with sessions() as session:
        for kind, model in models.items():
            # Ids past an INTEGER key's range are no row (PostgreSQL refuses to look them up).
            ids = {id_ for _, k, id_ in named if k == kind and id_ <= 2**31 - 1}
            if ids:
                query = select(model.id).where(model.project_id == project_id,
                                               model.id.in_(ids))  # fmt: skip
                known[kind] = set(session.scalars(query))
    for where, kind, id_ in named:
        if id_ not in known.get(kind, set()):
            raise BadRequest(f"spec {where}: no {kind} {id_} in this project", field=where)


async def read_spec_body(request: Request, limit: int = MAX_SPEC_BYTES) -> bytes:
    """The body, refused with 413 past ``limit`` bytes before more of it is read."""
    too_large = PayloadTooLarge(f"request body over the {limit}-byte limit for a spec")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported; send plain JSON",
                         field="Content-Encoding")  # fmt: skip
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def error_response(exc: UserOpsError) -> JSONResponse:
    """The error's JSON body and status, for every API route."""
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"  # RFC 6750: a 401 names the scheme to use
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers or None)


_ERRORS = {
    400: "The spec is invalid (`field` is its JSON path, such as `series.0.filters.0.value`), "
         "the body is not JSON, or `Cache-Control: max-age` is not whole seconds.",
    401: "No API key or console session, or a wrong or revoked one.",
    403: "Signed in by the console's cookie, without the session's `X-CSRF-Token` header.",
    404: "No such project for this key or account (the same answer whether or not the project "
         "exists).",
    413: f"Body over {MAX_SPEC_BYTES} bytes.",
}  # fmt: skip


def _json(component: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}}


_OPENAPI: dict[str, Any] = {
    # Declared here, not as a FastAPI parameter, which would add a 422 this route never sends.
    "parameters": [
        {
            "name": "project",
            "in": "path",
            "required": True,
            "description": "The project's name.",
            "schema": {"type": "string"},
        },
        {
            "name": "Cache-Control",
            "in": "header",
            "required": False,
            "description": "`max-age=N`: an answer kept up to N seconds is enough although "
                           "events arrived since; `no-cache`: compute it again. Without it, a "
                           "kept answer is served only while the data is unchanged.",
            "schema": {"type": "string"},
        },
    ],
    "requestBody": {
        "required": True,
        "description": "An analysis spec; `kind` picks the analysis.",
        "content": _json("QuerySpec"),
    },
    "security": [{"bearerAuth": []}, {"sessionCookie": []}],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The analysis' result; `kind` is the spec's.",
          "content": _json("QueryResult")},
    **{status: {"description": text, "content": _json("ErrorBody")}
       for status, text in _ERRORS.items()},
}  # fmt: skip


def query_router(querying: Callable[[], Querying]) -> APIRouter:
    router = APIRouter(tags=["query"])

    @router.post("/api/projects/{project}/query", openapi_extra=_OPENAPI, responses=_RESPONSES,
                 response_class=JSONResponse, summary="Run an analysis spec")  # fmt: skip
    async def query(request: Request,
                    access: Annotated[Access, Depends(project_access("viewer"))]) -> Response:
        """Run one analysis spec on the project's events and return its typed result."""
        project = access.project.name
        state = querying()
        try:
            freshness = Freshness.from_header(request.headers.get("cache-control", ""))
            body = await read_spec_body(request)
            result = await anyio.to_thread.run_sync(state.run, access.project, body, freshness,
                                                    limiter=state.limiter)  # fmt: skip
        except UserOpsError as exc:
            return error_response(exc)
        except Exception:
            # Still the documented error shape, so clients can tell what happened; the details
            # (a runner's bug, a store that fails) belong in the server's log, not the answer.
            logger.exception("query on project %r failed", project)
            return JSONResponse({"error": "InternalError", "message": "the query failed "
                                 "unexpectedly; the server's log has the details"},
                                status_code=500)  # fmt: skip
        return Response(result.model_dump_json(), media_type="application/json")

    return router


def document_query(app: FastAPI) -> None:
    """Add the spec, result and error schemas to the app's OpenAPI document.

    The endpoint parses its body itself (so that errors are 400s naming the field), which
    leaves FastAPI nothing to derive these schemas from.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's, cached after the first call
        components = document.setdefault("components", {})
        if "QuerySpec" in components.get("schemas", {}):
            return document
        schemas, top = TypeAdapter.json_schemas(
            [("QuerySpec", "validation", TypeAdapter(Spec)),
             ("QueryResult", "serialization", TypeAdapter(Result)),
             ("ErrorBody", "serialization", TypeAdapter(ErrorBody))],
            ref_template="#/components/schemas/{model}",
        )  # fmt: skip
        named = components.setdefault("schemas", {})
        named.update(top.get("$defs", {}))
        for (name, _mode), schema in schemas.items():
            if schema.get("$ref") != f"#/components/schemas/{name}":
                named[name] = schema
        # A spec model may leave out `kind` (it has a default), but the union needs it to
        # tell which spec a body is.
        for ref in named["QuerySpec"].get("discriminator", {}).get("mapping", {}).values():
            member = named[ref.rsplit("/", 1)[-1]]
            member["required"] = ["kind", *[f for f in member.get("required", []) if f != "kind"]]
        schemes = components.setdefault("securitySchemes", {})
        schemes["bearerAuth"] = {
            "type": "http", "scheme": "bearer",
            "description": "A personal API key (`userops keys create`).",
        }  # fmt: skip
        schemes["sessionCookie"] = {
            "type": "apiKey", "in": "cookie", "name": "userops_session",
            "description": "The console's sign-in (`POST /api/auth/login`); a state-changing "
                           "request also sends the session's `X-CSRF-Token` header.",
        }  # fmt: skip
        return document

    app.openapi = openapi  # type: ignore[method-assign]
