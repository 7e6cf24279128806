"""Signing in to the console: first-start setup, login, logout and who am I.

``POST /api/setup`` and ``POST /api/auth/login`` run before there is a session, so no CSRF token
can guard them; they take ``Content-Type: application/json`` only, which a cross-site form cannot
send, and a cross-site script can send only after a CORS preflight this server never grants.
Without that check another site could sign a visitor in to the attacker's account.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from userops.api.access import SESSION_COOKIE, Principal, meta_sessions, session_user
from userops.errors import BadRequest
from userops.meta.models import User
from userops.meta.users import (
    SESSION_LIFETIME,
    SignedIn,
    authenticate,
    create_first_owner,
    create_session,
    delete_session,
    needs_setup,
    projects_of,
)


class LoginBody(BaseModel):
    email: str
    password: str


class SetupBody(BaseModel):
    email: str
    name: str
    password: str


def moment(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "is_owner": user.is_owner,
            "created_at": moment(user.created_at), "last_login_at": moment(user.last_login_at)}


def json_only(request: Request) -> None:
    """Dependency: refuse bodies a cross-site form could send (see the module docstring)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise BadRequest("send the body as JSON with `Content-Type: application/json`",
                         field="Content-Type")  # fmt: skip


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def signed_in(request: Request, user: User, signed: SignedIn, status: int) -> JSONResponse:
    response = JSONResponse({"user": user_json(user), "csrf_token": signed.session.csrf_token},
                            status_code=status)  # fmt: skip
    response.set_cookie(SESSION_COOKIE, signed.token,
                        max_age=int(SESSION_LIFETIME.total_seconds()), path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")  # fmt: skip
    return response


def auth_router() -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.get("/api/setup", summary="Whether the first owner is still to be created")
    def setup_state(request: Request) -> dict[str, bool]:
        return {"needs_setup": needs_setup(meta_sessions(request))}

    @router.post("/api/setup", status_code=201, dependencies=[Depends(json_only)],
                 summary="Create the first owner and sign in (only while there are no users)")
    def setup(request: Request, body: SetupBody) -> JSONResponse:
        sessions = meta_sessions(request)
        user = create_first_owner(sessions, body.email, body.name, body.password)
        return signed_in(request, user, create_session(sessions, user.id), 201)

    @router.post("/api/auth/login", dependencies=[Depends(json_only)], summary="Sign in")
    def login(request: Request, body: LoginBody) -> JSONResponse:
        sessions = meta_sessions(request)
        user = authenticate(sessions, body.email, body.password, client_ip(request))
        return signed_in(request, user, create_session(sessions, user.id), 200)

    @router.post("/api/auth/logout", status_code=204, summary="Sign out (needs the CSRF token)")
    def logout(request: Request, who: Annotated[Principal, Depends(session_user)]) -> Response:
        delete_session(meta_sessions(request), request.cookies.get(SESSION_COOKIE, ""))
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=request.url.scheme == "https")  # fmt: skip
        return response

    @router.get("/api/auth/me", summary="The signed-in user, the CSRF token, the projects")
    def me(request: Request, who: Annotated[Principal, Depends(session_user)]) -> dict[str, Any]:
        assert who.user is not None and who.web_session is not None
        visible = projects_of(meta_sessions(request), who.user)
        return {"user": user_json(who.user), "csrf_token": who.web_session.csrf_token,
                "projects": [{"name": project.name, "timezone": project.timezone, "role": role}
                             for project, role in visible]}  # fmt: skip

    return router
