"""`userops users create|list`: the first admin without a browser, passwords never on argv."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from cli_helpers import cli, ok, runner
from userops.cli.main import app
from userops.config import load_settings
from userops.meta import users
from userops.meta.models import User
from userops.runtime import Runtime


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", directory)
    return directory


def create(data_dir: Path, *args: object, password: str = "a long password\n") -> int:
    result = runner.invoke(app, ["users", "create", *[str(a) for a in args], "--data-dir",
                                 str(data_dir)], input=password)  # fmt: skip
    return result.exit_code


def stored(data_dir: Path) -> list[User]:
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime, runtime.sessions() as session:
        return list(session.scalars(select(User).order_by(User.id)))


def test_create_the_owner_from_stdin_and_sign_in(data_dir: Path) -> None:
    result = runner.invoke(app, ["users", "create", "--email", "Ana@Example.com", "--name", "Ana",
                                 "--admin", "--password-stdin", "--data-dir", str(data_dir)],
                           input="correct horse battery\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created user 1 ana@example.com, the instance owner" in result.output
    (user,) = stored(data_dir)
    assert (user.email, user.name, user.is_owner) == ("ana@example.com", "Ana", True)
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in user.password_hash
    with Runtime.open(load_settings({"data_dir": str(data_dir)}, environ={})) as runtime:
        # The newline from stdin is not part of the password.
        assert users.authenticate(runtime.sessions, "ana@example.com", "correct horse battery",
                                  "127.0.0.1").id == user.id  # fmt: skip
        assert not users.needs_setup(runtime.sessions)


def test_create_with_a_role_from_the_prompt(data_dir: Path) -> None:
    code = create(data_dir, "--email", "bo@example.com", "--name", "Bo", "--project", "shop",
                  "--role", "analyst", password="prompted pw\nprompted pw\n")  # fmt: skip
    assert code == 0
    (user,) = stored(data_dir)
    assert not user.is_owner
    with Runtime.open(load_settings({"data_dir": str(data_dir)}, environ={})) as runtime:
        assert [(p.name, role) for p, role in users.projects_of(runtime.sessions, user)] == [
            ("shop", "analyst")]
        assert users.authenticate(runtime.sessions, "bo@example.com", "prompted pw", "::1")
    listed = ok("users", "list", "--data-dir", data_dir).stdout
    header, row = listed.splitlines()
    assert header.split()[:2] == ["id", "email"]
    assert row.split()[:2] == ["1", "bo@example.com"] and row.endswith("shop:analyst")


def test_a_mistyped_confirmation_creates_nobody(data_dir: Path) -> None:
    assert create(data_dir, "--email", "c@example.com", "--name", "C",
                  password="first try\nsecond try\n") != 0  # fmt: skip
    assert stored(data_dir) == []


@pytest.mark.parametrize(("args", "password", "field"), [
    (["--email", "nope", "--name", "N"], "long enough\n", "email"),
    (["--email", "n@example.com", "--name", " "], "long enough\n", "name"),
    (["--email", "n@example.com", "--name", "N"], "short\n", "password"),
    (["--email", "n@example.com", "--name", "N", "--role", "admin"], "long enough\n", "role"),
    (["--email", "n@example.com", "--name", "N", "--project", "shop", "--role", "boss"],
     "long enough\n", "role"),
    (["--email", "n@example.com", "--name", "N", "--project", "nope"], "long enough\n",
     "project"),
])  # fmt: skip
def test_bad_input_names_the_field_and_creates_nobody(
    data_dir: Path, args: list[str], password: str, field: str
) -> None:
    result = runner.invoke(app, ["users", "create", *args, "--password-stdin", "--data-dir",
                                 str(data_dir)], input=password)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"error ({field}):" in result.output
    assert stored(data_dir) == []


def test_a_taken_email_is_a_conflict(data_dir: Path) -> None:
    assert create(data_dir, "--email", "d@example.com", "--name", "D", "--password-stdin") == 0
    result = cli("users", "create", "--email", "D@example.com", "--name", "D2",
                 "--password-stdin", "--data-dir", data_dir)  # fmt: skip
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert len(stored(data_dir)) == 1


def test_no_password_option_on_the_command_line() -> None:
    result = cli("users", "create", "--help")
    assert "--password-stdin" in result.output
    assert "--password " not in result.output.replace("--password-stdin", "")
