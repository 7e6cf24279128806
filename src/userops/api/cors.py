"""CORS for the ingestion endpoints, and only for them.

Browser SDKs (analytics.js, posthog-js) run on the customer's own site and post events here
cross-origin, so those paths answer preflights and allow every origin: the write key they carry
is public by design and grants nothing but sending events. No other path gets CORS: the console
and its API are same-origin, and a cross-site script must not be able to read or change them
with the user's session cookie.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class IngestionCors:
    """ASGI middleware: Starlette's CORSMiddleware in front of the given paths only."""

    def __init__(self, app: ASGIApp, paths: Iterable[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)
        # No credentials: SDKs send the write key in the body or an Authorization header, never
        # a cookie, so "*" is allowed and no origin needs listing.
        self.cors = CORSMiddleware(app, allow_origins=["*"], allow_methods=["POST"],
                                   allow_headers=["*"], max_age=86400)  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
