"""Who is calling, and what they may do: the one place the API decides access.

A caller is a ``Principal``: a user signed in to the console (the ``userops_session`` cookie), an
API key (``Authorization: Bearer uok_...``), or the running server's local token (``uol_...``,
the instance owner's). ``project_access(role)`` is the dependency every project route takes:

    @router.get("/api/projects/{project}/things")
    def things(access: Annotated[Access, Depends(project_access("viewer"))]) -> ...:
        access.project, access.principal, access.role

A caller with no role in the project gets the same 404 as for a project that does not exist;
one whose role is too low gets 403. A state-changing request (POST, PUT, PATCH, DELETE) signed
by the cookie must carry the session's CSRF token in ``X-CSRF-Token``: a cross-site page can make
the browser send the cookie, but cannot read the token to send along. Bearer requests need no
token, since a browser never adds an Authorization header on its own.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import CsrfRejected, Forbidden, NotFound, Unauthorized
from userops.meta import keys
from userops.meta.models import ApiKey, Project, User, WebSession
from userops.meta.projects import get_project
from userops.meta.users import RANK, Role, at_least, lookup_session, role_in

SESSION_COOKIE = "userops_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A key made by `userops keys create` belongs to no user: it reads and saves analyses.
UNOWNED_KEY_ROLE: Role = "analyst"

MISSING_CREDENTIAL = ("missing API key: send `Authorization: Bearer <key>` (create a key with "
                      "`userops keys create --project NAME`), or sign in to the console")


@dataclass(frozen=True)
class Principal:
    """The caller: exactly one of a console session (with its user), an API key, or the local
    token (``kind == "local"``, neither)."""

    kind: Literal["session", "key", "local"]
    user: User | None = None
    key: ApiKey | None = None
    web_session: WebSession | None = None

    @property
    def user_id(self) -> int | None:
        if self.user is not None:
            return self.user.id
        return self.key.user_id if self.key is not None else None

    @property
    def is_owner(self) -> bool:
        return self.kind == "local" or (self.user is not None and self.user.is_owner)


@dataclass(frozen=True)
class Access:
    """A project the caller may use, with the caller's role in it."""

    project: Project
    principal: Principal
    role: Role


def meta_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.runtime.sessions
    return sessions


def bearer_secret(request: Request) -> str | None:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None  # HTTP Basic (the ingestion endpoints' write keys) is no credential here
    return secret.strip()


def resolve_principal(request: Request) -> Principal:
    """The caller, or Unauthorized; the CSRF check is ``principal``'s."""
    sessions = meta_sessions(request)
    secret = bearer_secret(request)
    if secret is not None:
        local: keys.LocalToken | None = getattr(request.app.state, "local_token", None)
        if local is not None and local.matches(secret):
            return Principal("local")
        key = keys.authenticate(sessions, secret)
        owner = None
        if key.user_id is not None:
            with sessions() as session:
                owner = session.get(User, key.user_id)
            if owner is None or owner.disabled_at is not None:
                raise Unauthorized(f"API key {key.prefix}… belongs to a disabled account")
        return Principal("key", user=owner, key=key)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized(MISSING_CREDENTIAL)
    found = lookup_session(sessions, token)
    if found is None:
        raise Unauthorized("your console session expired or was signed out: sign in again")
    web_session, user = found
    return Principal("session", user=user, web_session=web_session)


def check_csrf(request: Request, who: Principal) -> None:
    if who.web_session is None or request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER, "")
    expected = who.web_session.csrf_token
    # Constant time: an early exit would let a caller find the token a character at a time.
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise CsrfRejected(f"missing or wrong {CSRF_HEADER} header: send the csrf_token that "
                           "/api/auth/me returns", field=CSRF_HEADER)  # fmt: skip


def principal(request: Request) -> Principal:
    """Dependency: the caller, CSRF checked for cookie-signed changes."""
    who = resolve_principal(request)
    check_csrf(request, who)
    return who


def session_user(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """Dependency: a caller signed in to the console (not a key or the local token)."""
    if who.kind != "session":
        raise Unauthorized("this needs a console sign-in, not an API key")
    return who


def instance_owner(who: Annotated[Principal, Depends(principal)]) -> Principal:
    """Dependency: the instance owner (a user with ``is_owner``, or the local token)."""
    if not who.is_owner:
        raise Forbidden("only the instance owner may do this")
    return who


def role_for(sessions: sessionmaker[Session], who: Principal, project: Project) -> Role | None:
    """The caller's role in the project; None when it has none (and must get a 404)."""
    if who.kind == "local":
        return "admin"
    if who.key is not None:
        if who.key.project_id != project.id:
            return None
        if who.user is None:
            return UNOWNED_KEY_ROLE
        # A key never does more than its user could, nor more than the user's current role.
        return role_in(sessions, who.user, project.id)
    assert who.user is not None
    return role_in(sessions, who.user, project.id)


def _not_found(sessions: sessionmaker[Session], who: Principal, name: str) -> NotFound:
    if who.is_owner:
        try:
            get_project(sessions, name)  # names the known projects: the owner sees them all
        except NotFound as exc:
            return exc
    holder = "API key" if who.kind == "key" else "account"
    return NotFound(f"no project {name!r} for this {holder}", field="project")


def require(sessions: sessionmaker[Session], who: Principal, project_name: str,
            needed: Role) -> Access:  # fmt: skip
    """The project, if the caller holds at least ``needed`` in it; else 404 or 403."""
    with sessions() as session:
        project = session.scalar(select(Project).where(Project.name == project_name))
    role = role_for(sessions, who, project) if project is not None else None
    if project is None or role is None:
        raise _not_found(sessions, who, project_name)
    if not at_least(role, needed):
        raise Forbidden(f"this needs the {needed} role in project {project_name!r}; "
                        f"yours is {role}")  # fmt: skip
    return Access(project, who, role)


def project_access(needed: Role) -> Callable[..., Access]:
    """Dependency factory for routes with a ``{project}`` path parameter."""
    if needed not in RANK:
        raise ValueError(f"unknown role {needed!r}")

    def dependency(request: Request, who: Annotated[Principal, Depends(principal)]) -> Access:
        return require(meta_sessions(request), who, str(request.path_params["project"]), needed)

    return dependency
