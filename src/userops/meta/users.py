"""Console accounts: users and their passwords, project roles, web sessions, the login limit.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile); a
hash made with older parameters is replaced at the next successful sign-in. A web session is a
random token in a cookie; the store keeps its SHA-256 only (like API keys, see
``userops.meta.keys``), so a copy of the metadata store signs nobody in.

Failed sign-ins are rows in ``login_failures``: five for one email or twenty from one client
address within fifteen minutes refuse further attempts, a right password included, until the
oldest of them ages out. Rows rather than memory, so the limit survives a restart and holds
across several server processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import BadRequest, Conflict, NotFound, RateLimited, Unauthorized
from userops.meta.models import LoginFailure, Membership, Project, User, WebSession, utcnow

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)  # lowest first
RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES)}

MIN_PASSWORD, MAX_PASSWORD = 8, 256
MAX_EMAIL, MAX_NAME = 320, 200
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")

SESSION_LIFETIME = dt.timedelta(days=14)
# Sliding the expiry on every request would write to the store on every request; a minute's
# precision on a fourteen-day lifetime costs nothing.
SLIDE_PRECISION = dt.timedelta(minutes=1)

FAILURE_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_CLIENT = 20

_hasher = PasswordHasher()  # argon2id
# Verified against when the email is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# --- checks ------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    shown = email.strip().lower()
    if len(shown) > MAX_EMAIL or not EMAIL_PATTERN.fullmatch(shown):
        raise BadRequest("email: give an address such as ana@example.com", field="email")
    return shown


def check_name(name: str) -> str:
    shown = name.strip()
    if not 0 < len(shown) <= MAX_NAME:
        raise BadRequest(f"name: give 1-{MAX_NAME} characters", field="name")
    return shown


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadRequest(f"password: use {MIN_PASSWORD}-{MAX_PASSWORD} characters",
                         field="password")  # fmt: skip
    return password


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise BadRequest(f"role {role!r}: use one of {', '.join(ROLES)}", field="role")


def at_least(role: str | None, needed: Role) -> bool:
    return role is not None and RANK[role] >= RANK[needed]


# --- users -------------------------------------------------------------------------------------


def create_user(sessions: sessionmaker[Session], email: str, name: str, password: str, *,
                is_owner: bool = False) -> User:  # fmt: skip
    """A new user; Conflict when the email is taken (emails compare lowercased)."""
    email, name = normalize_email(email), check_name(name)
    user = User(email=email, name=name, password_hash=_hasher.hash(check_password(password)),
                is_owner=is_owner)  # fmt: skip
    with sessions.begin() as session:
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"a user with email {user.email!r} already exists",
                           field="email") from None  # fmt: skip
    return user


def needs_setup(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return session.scalar(select(User.id).limit(1)) is None


def create_first_owner(sessions: sessionmaker[Session], email: str, name: str,
                       password: str) -> User:  # fmt: skip
    """The instance's first user, its owner; Conflict once any user exists.

    Two setups racing could both see no user; the later one then fails on the unique email or
    leaves two owners, which is the most a race can do and needs the server's address anyway.
    """
    if not needs_setup(sessions):
        raise Conflict("setup is done: sign in, or ask an admin for an account")
    return create_user(sessions, email, name, password, is_owner=True)


def get_user(sessions: sessionmaker[Session], user_id: int) -> User:
    with sessions() as session:
        user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", field="user_id")
    return user


def user_by_email(sessions: sessionmaker[Session], email: str) -> User | None:
    with sessions() as session:
        return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(sessions: sessionmaker[Session]) -> list[User]:
    with sessions() as session:
        return list(session.scalars(select(User).order_by(User.id)))


# --- signing in --------------------------------------------------------------------------------


def _retry_after(session: Session, column: str, value: str, limit: int,
                 now: dt.datetime) -> int | None:  # fmt: skip
    """Seconds until fewer than ``limit`` failures for ``value`` are in the window, or None."""
    target = LoginFailure.email if column == "email" else LoginFailure.client_ip
    query = (select(LoginFailure.at).where(target == value, LoginFailure.at > now - FAILURE_WINDOW)
             .order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1))  # fmt: skip
    oldest_counted = session.scalar(query)
    if oldest_counted is None:
        return None
    return max(1, math.ceil((oldest_counted + FAILURE_WINDOW - now).total_seconds()))


def login_limited(sessions: sessionmaker[Session], email: str, client_ip: str) -> int | None:
    """Seconds to wait before this email or client may try again; None when it may now."""
    now = utcnow()
    with sessions() as session:
        waits = [_retry_after(session, "email", email, FAILURES_PER_EMAIL, now),
                 _retry_after(session, "client_ip", client_ip, FAILURES_PER_CLIENT, now)]
    known = [wait for wait in waits if wait is not None]
    return max(known) if known else None


def _record_failure(sessions: sessionmaker[Session], email: str, client_ip: str) -> None:
    now = utcnow()
    with sessions.begin() as session:
        # Old rows count for nothing; pruning them here keeps the table the window's size.
        session.execute(delete(LoginFailure).where(LoginFailure.at <= now - FAILURE_WINDOW))
        session.add(LoginFailure(email=email[:MAX_EMAIL], client_ip=client_ip[:64], at=now))


def authenticate(sessions: sessionmaker[Session], email: str, password: str,
                 client_ip: str) -> User:  # fmt: skip
    """The user with this email and password, or Unauthorized (one message for a wrong email
    and a wrong password); RateLimited while the email or client is limited."""
    email = email.strip().lower()
    wait = login_limited(sessions, email, client_ip)
    if wait is not None:
        raise RateLimited(f"too many failed sign-ins: try again in {wait} seconds",
                          retry_after=wait)  # fmt: skip
    user = user_by_email(sessions, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        verified = user is not None and user.disabled_at is None
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified or user is None:
        _record_failure(sessions, email, client_ip)
        raise Unauthorized("wrong email or password")
    with sessions.begin() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        if _hasher.check_needs_rehash(stored.password_hash):
            stored.password_hash = _hasher.hash(password)
        stored.last_login_at = utcnow()
        # A success forgets this email's failures; the client's stay, or one valid account
        # would reset the per-address count for guesses at every other.
        session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    return stored


def set_password(sessions: sessionmaker[Session], user_id: int, password: str) -> None:
    hashed = _hasher.hash(check_password(password))
    with sessions.begin() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id}", field="user_id")
        user.password_hash = hashed


# --- web sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A new web session: its row and its token, the only time the token is known."""

    session: WebSession
    token: str


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(sessions: sessionmaker[Session], user_id: int) -> SignedIn:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(token_sha256=token_sha256(token), user_id=user_id,
                     csrf_token=secrets.token_urlsafe(32), created_at=now,
                     expires_at=now + SESSION_LIFETIME, last_seen_at=now)  # fmt: skip
    with sessions.begin() as session:
        session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        session.add(row)
    return SignedIn(row, token)


def lookup_session(sessions: sessionmaker[Session], token: str) -> tuple[WebSession, User] | None:
    """The live session with this token and its user, its expiry slid forward; or None."""
    now = utcnow()
    with sessions.begin() as session:
        row = session.scalar(select(WebSession).where(
            WebSession.token_sha256 == token_sha256(token)))  # fmt: skip
        if row is None:
            return None
        user = session.get(User, row.user_id)
        if row.expires_at <= now or user is None or user.disabled_at is not None:
            session.delete(row)
            return None
        if now - row.last_seen_at >= SLIDE_PRECISION:
            row.last_seen_at = now
            row.expires_at = now + SESSION_LIFETIME
    return row, user


def delete_session(sessions: sessionmaker[Session], token: str) -> None:
    with sessions.begin() as session:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == token_sha256(token)))


# --- roles -------------------------------------------------------------------------------------


def role_in(sessions: sessionmaker[Session], user: User, project_id: int) -> Role | None:
    """The user's role in the project: the owner is admin everywhere; None when no member."""
    if user.is_owner:
        return "admin"
    with sessions() as session:
        role = session.scalar(select(Membership.role).where(
            Membership.user_id == user.id, Membership.project_id == project_id))  # fmt: skip
    return check_role(role) if role is not None else None


def projects_of(sessions: sessionmaker[Session], user: User) -> list[tuple[Project, Role]]:
    """The projects the user sees, by name, with the user's role in each."""
    with sessions() as session:
        if user.is_owner:
            every = session.scalars(select(Project).order_by(Project.name))
            return [(project, "admin") for project in every]
        rows = session.execute(select(Project, Membership.role).join(
            Membership, Membership.project_id == Project.id).where(
            Membership.user_id == user.id).order_by(Project.name))  # fmt: skip
        return [(project, check_role(role)) for project, role in rows]


def list_members(sessions: sessionmaker[Session], project_id: int) -> list[tuple[User, Role]]:
    with sessions() as session:
        rows = session.execute(select(User, Membership.role).join(
            Membership, Membership.user_id == User.id).where(
            Membership.project_id == project_id).order_by(User.email))  # fmt: skip
        return [(user, check_role(role)) for user, role in rows]


def add_member(sessions: sessionmaker[Session], project_id: int, user_id: int,
               role: str) -> Membership:  # fmt: skip
    membership = Membership(user_id=user_id, project_id=project_id, role=check_role(role))
    with sessions.begin() as session:
        session.add(membership)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("this user is a member of the project already; change the role "
                           "instead", field="email") from None  # fmt: skip
    return membership


def _last_admin_guard(session: Session, membership: Membership) -> None:
    if membership.role != "admin":
        return
    # Locked (on PostgreSQL) so that two admins demoting each other at once cannot both pass.
    admins = session.scalars(select(Membership.id).where(
        Membership.project_id == membership.project_id, Membership.role == "admin")
        .with_for_update()).all()  # fmt: skip
    if len(admins) == 1:
        raise Conflict("the project's last admin cannot be demoted or removed; make another "
                       "member admin first", field="role")  # fmt: skip


def _membership(session: Session, project_id: int, user_id: int) -> Membership:
    membership = session.scalar(select(Membership).where(
        Membership.project_id == project_id, Membership.user_id == user_id))  # fmt: skip
    if membership is None:
        raise NotFound(f"user {user_id} is no member of this project", field="user_id")
    return membership


def change_role(sessions: sessionmaker[Session], project_id: int, user_id: int,
                role: str) -> Membership:  # fmt: skip
    new_role = check_role(role)
    with sessions.begin() as session:
        membership = _membership(session, project_id, user_id)
        if new_role != "admin":
            _last_admin_guard(session, membership)
        membership.role = new_role
    return membership


def remove_member(sessions: sessionmaker[Session], project_id: int, user_id: int) -> None:
    with sessions.begin() as session:
        membership = _membership(session, project_id, user_id)
        _last_admin_guard(session, membership)
        session.delete(membership)
