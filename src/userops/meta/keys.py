"""Personal API keys for the query API, and the local token of a running `userops serve`.

A personal key is ``uok_`` and 43 URL-safe characters (32 random bytes), for one project. It is
shown once, when created; the metadata store keeps only its SHA-256 and its first characters (to
tell keys apart in a listing). A fast hash is enough here: with 256 random bits nobody can find
the key from its hash by guessing, which is what slow hashes (bcrypt, scrypt, argon2) guard
against for low-entropy passwords, and a fast one keeps every request's check cheap.

The local token (``uol_`` ...) is the other credential the query API takes: `userops serve`
writes it at start to ``serve.token`` in the data directory, readable by its owner only, and
removes it at stop. It opens every project, so a CLI command run by the same user can ask the
server that holds the directory. Whoever can read that file can read the data directory's
stores directly, so the token grants nothing they lack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.errors import BadRequest, NotFound, Unauthorized
from userops.meta.models import ApiKey, utcnow
from userops.meta.projects import get_project

KEY_PREFIX = "uok_"
LOCAL_PREFIX = "uol_"
SHOWN_CHARS = 12  # "uok_" and 8 of the 43 random characters: 48 bits, no help to a guesser
MAX_NAME = 200
# last_used_at is for people deciding which keys to revoke: a minute's precision is plenty,
# and it spares the metadata store one write per query.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
LOCAL_TOKEN_NAME = "serve.token"


@dataclass(frozen=True)
class CreatedKey:
    """A new key's row and its secret: the only time the secret is known in the clear."""

    key: ApiKey
    secret: str


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(sessions: sessionmaker[Session], project_name: str, name: str = "",
               user_id: int | None = None) -> CreatedKey:  # fmt: skip
    """A new key for the project; the returned secret is not stored anywhere.

    A key with a ``user_id`` acts with that user's role in the project (see
    ``userops.api.access``); one without, as the CLI makes them, as an analyst.
    """
    if len(name) > MAX_NAME:
        raise BadRequest(f"key name: at most {MAX_NAME} characters", field="name")
    project = get_project(sessions, project_name)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(project_id=project.id, name=name.strip(), prefix=secret[:SHOWN_CHARS],
                 secret_sha256=secret_sha256(secret), user_id=user_id)  # fmt: skip
    with sessions.begin() as session:
        session.add(key)
    return CreatedKey(key, secret)


def list_keys(sessions: sessionmaker[Session], project_name: str) -> list[ApiKey]:
    """The project's keys, revoked ones included, oldest first."""
    project = get_project(sessions, project_name)
    with sessions() as session:
        query = select(ApiKey).where(ApiKey.project_id == project.id).order_by(ApiKey.id)
        return list(session.scalars(query))


def revoke_key(sessions: sessionmaker[Session], key_id: int) -> ApiKey:
    """Revoke a key from now on; revoking it again keeps the first revocation's time."""
    with sessions.begin() as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"no API key with id {key_id} (see `userops keys list`)", field="id")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
    return key


def authenticate(sessions: sessionmaker[Session], secret: str) -> ApiKey:
    """The live key with this secret, or ``Unauthorized``.

    Looking the key up by its hash leaks nothing through timing: what a timing difference
    could tell is how much of a stored hash matches the hash of the caller's guess, and
    steering a guess's SHA-256 toward a chosen value is a preimage attack.
    """
    if not secret.startswith(KEY_PREFIX):
        raise Unauthorized("invalid API key")
    digest = secret_sha256(secret)
    now = utcnow()
    with sessions.begin() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.secret_sha256 == digest))
        if key is None:
            raise Unauthorized("invalid API key")
        if key.revoked_at is not None:
            raise Unauthorized(f"API key {key.prefix}… was revoked")
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
            key.last_used_at = now
    return key


# --- the local token -------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalToken:
    """The token a running server accepts for every project; see the module docstring."""

    path: Path
    secret: str

    @classmethod
    def create(cls, data_dir: Path) -> LocalToken:
        path = data_dir / LOCAL_TOKEN_NAME
        secret = LOCAL_PREFIX + secrets.token_urlsafe(32)
        # A stale file from a server that crashed goes first; O_EXCL then refuses to follow a
        # link someone put in its place, and the mode keeps other users out from the start.
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secret + "\n")
        return cls(path, secret)

    def matches(self, presented: str) -> bool:
        # Compared in constant time: a byte-by-byte early exit would let a caller find the
        # token one character at a time.
        return hmac.compare_digest(presented.encode("utf-8"), self.secret.encode("utf-8"))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def read_local_token(data_dir: Path) -> str | None:
    """The running server's local token, if there is one and this user may read it."""
    try:
        text = (data_dir / LOCAL_TOKEN_NAME).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.startswith(LOCAL_PREFIX) else None
