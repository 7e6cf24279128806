"""Personal API keys: made, listed, used and revoked on SQLite and PostgreSQL; stored only as
hashes; the `userops keys` commands; the local token's file."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from cli_helpers import cli, ok
from userops.config import load_settings
from userops.errors import BadRequest, NotFound
from userops.meta.keys import (
    LocalToken,
    Unauthorized,
    authenticate,
    create_key,
    list_keys,
    read_local_token,
    revoke_key,
)  # fmt: skip
from userops.meta.models import ApiKey
from userops.meta.projects import create_project
from userops.runtime import Runtime


@pytest.fixture
def rt(tmp_path: Path, meta_url: str) -> Iterator[Runtime]:
    settings = load_settings({"data_dir": str(tmp_path), "database_url": meta_url}, environ={})
    with Runtime.open(settings) as runtime:
        create_project(runtime.sessions, "shop", "Asia/Shanghai")
        create_project(runtime.sessions, "other", "Asia/Shanghai")
        yield runtime


def every_stored_value(runtime: Runtime) -> list[str]:
    """Every value in every table of the metadata store, as text."""
    engine = runtime.sessions.kw["bind"]
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as conn:
        return [str(value) for table in reflected.sorted_tables
                for row in conn.execute(select(table)) for value in row]  # fmt: skip


def test_a_key_opens_its_project_until_revoked(rt: Runtime) -> None:
    created = create_key(rt.sessions, "shop", "  nightly report ")
    secret = created.secret
    assert secret.startswith("uok_") and len(secret) == 4 + 43
    key = authenticate(rt.sessions, secret)
    assert (key.id, key.project_id, key.name) == (created.key.id, created.key.project_id,
                                                  "nightly report")  # fmt: skip
    assert key.prefix == secret[:12]
    revoke_key(rt.sessions, key.id)
    with pytest.raises(Unauthorized, match="was revoked"):
        authenticate(rt.sessions, secret)
    # Other keys of the project are untouched.
    other = create_key(rt.sessions, "shop")
    assert authenticate(rt.sessions, other.secret).id == other.key.id


def test_keys_are_stored_hashed_and_never_in_the_clear(rt: Runtime) -> None:
    secrets = [create_key(rt.sessions, project).secret for project in ("shop", "shop", "other")]
    for secret in secrets:
        authenticate(rt.sessions, secret)  # using a key stores nothing of it either
    stored = every_stored_value(rt)
    for secret in secrets:
        assert hashlib.sha256(secret.encode()).hexdigest() in stored
        assert not any(secret in value or secret[4:] in value for value in stored)


def test_sqlite_files_never_hold_a_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", data_dir)
    secret = ok("keys", "create", "--project", "shop", "--data-dir", data_dir).stdout.strip()
    ok("keys", "list", "--project", "shop", "--data-dir", data_dir)
    for path in data_dir.rglob("*"):  # the SQLite file, its WAL, the event store, the log
        if path.is_file():
            assert secret[4:].encode() not in path.read_bytes(), path


def test_wrong_keys_are_unauthorized(rt: Runtime) -> None:
    good = create_key(rt.sessions, "shop").secret
    for wrong in ["", "uok_", good[:-1], good + "x", good.upper(), "x" + good, good[4:]]:
        with pytest.raises(Unauthorized):
            authenticate(rt.sessions, wrong)


def test_last_used_is_recorded_to_the_minute(rt: Runtime) -> None:
    created = create_key(rt.sessions, "shop")
    assert created.key.last_used_at is None
    before = dt.datetime.now(dt.UTC)
    first = authenticate(rt.sessions, created.secret).last_used_at
    assert first is not None and before <= first <= dt.datetime.now(dt.UTC)
    # A second use within the minute does not write again.
    assert authenticate(rt.sessions, created.secret).last_used_at == first
    with rt.sessions.begin() as session:  # as if the last use were two minutes ago
        stored = session.get(ApiKey, created.key.id)
        assert stored is not None
        stored.last_used_at = first - dt.timedelta(minutes=2)
    later = authenticate(rt.sessions, created.secret).last_used_at
    assert later is not None and later >= first


def test_listing_revoking_and_refusals(rt: Runtime) -> None:
    a = create_key(rt.sessions, "shop", "a").key
    b = create_key(rt.sessions, "shop", "b").key
    create_key(rt.sessions, "other", "c")
    assert [k.name for k in list_keys(rt.sessions, "shop")] == ["a", "b"]
    revoked = revoke_key(rt.sessions, b.id)
    assert revoked.revoked_at is not None
    assert revoke_key(rt.sessions, b.id).revoked_at == revoked.revoked_at  # the first time kept
    listed = {k.id: k.revoked_at for k in list_keys(rt.sessions, "shop")}
    assert listed == {a.id: None, b.id: revoked.revoked_at}
    with pytest.raises(NotFound) as missing:
        revoke_key(rt.sessions, 9999)
    assert missing.value.field == "id"
    with pytest.raises(NotFound):
        create_key(rt.sessions, "nope")
    with pytest.raises(BadRequest) as long_name:
        create_key(rt.sessions, "shop", "x" * 201)
    assert long_name.value.field == "name"


# --- the commands ----------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_environment")
def test_keys_commands(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", data_dir)
    created = ok("keys", "create", "--project", "shop", "--name", "etl job", "--data-dir",
                 data_dir)  # fmt: skip
    secret = created.stdout.strip()
    assert secret.startswith("uok_") and "\n" not in secret  # the key alone on stdout
    assert "not shown again" in created.stderr
    listed = ok("keys", "list", "--project", "shop", "--data-dir", data_dir).stdout
    assert secret[:12] + "…" in listed and "etl job" in listed
    assert secret[12:] not in listed
    (row,) = [line for line in listed.splitlines() if "etl job" in line]
    key_id = row.split()[0]
    revoked = ok("keys", "revoke", key_id, "--data-dir", data_dir).stdout
    assert f"revoked API key {key_id} ({secret[:12]}…)" in revoked
    (row,) = [line for line in ok("keys", "list", "--project", "shop", "--data-dir",
                                  data_dir).stdout.splitlines() if "etl job" in line]  # fmt: skip
    assert row.split()[-3:-2] != ["-"]  # the revoked column has a time now

    unknown = cli("keys", "revoke", "999", "--data-dir", data_dir)
    assert unknown.exit_code == 2 and "no API key with id 999" in unknown.output
    no_project = cli("keys", "create", "--project", "nope", "--data-dir", data_dir)
    assert no_project.exit_code == 2 and "unknown project 'nope'" in no_project.output


# --- the local token -------------------------------------------------------------------------


def test_local_token_file_is_private_and_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "serve.token"
    stale.write_text("uol_stale\n")
    stale.chmod(0o644)
    token = LocalToken.create(tmp_path)
    assert stale.stat().st_mode & 0o777 == 0o600
    assert read_local_token(tmp_path) == token.secret != "uol_stale"
    assert token.matches(token.secret)
    assert not token.matches(token.secret[:-1]) and not token.matches("uol_stale")
    assert not token.matches("ünïcode")
    token.remove()
    assert read_local_token(tmp_path) is None


def test_local_token_never_follows_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "serve.token").symlink_to(target)
    LocalToken.create(tmp_path)
    assert target.read_text() == "keep"
    assert not (tmp_path / "serve.token").is_symlink()
