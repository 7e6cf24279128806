"""`userops users create|list`: console accounts, for a first admin without the browser."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.console import Console

from userops.cli.common import DataDir, console, err_console, handles_errors, open_runtime
from userops.errors import BadRequest, Conflict
from userops.meta.projects import get_project
from userops.meta.users import (
    add_member,
    check_name,
    check_password,
    check_role,
    create_user,
    list_users,
    normalize_email,
    projects_of,
    user_by_email,
)

app = typer.Typer(help="Console accounts: who signs in, and their roles.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        # One line; the newline `echo` or a here-string adds is not part of the password.
        return check_password(sys.stdin.readline().removesuffix("\n").removesuffix("\r"))
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True,
                                err=True)  # fmt: skip
    return check_password(entered)


@app.command("create")
@handles_errors
def create(
    email: Annotated[str, typer.Option(help="Sign-in email (compared lowercased).")],
    name: Annotated[str, typer.Option(help="Name shown in the console.")],
    admin: Annotated[bool, typer.Option("--admin", help="The instance owner: admin of every "
                                        "project, may create projects.")] = False,
    project: Annotated[str | None, typer.Option("--project", "-p",
                                                help="A project to add the user to.")] = None,
    role: Annotated[str | None, typer.Option(help="The role in --project: admin, analyst or "
                                             "viewer (default viewer).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password "
                                                 "from the first line of stdin.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user; the password is asked for (never taken as an argument)."""
    # Every input is checked before the password is asked for or anything is stored.
    normalize_email(email)
    check_name(name)
    if project is None and role is not None:
        raise BadRequest("--role needs --project: a role is held in one project", field="role")
    role = check_role(role or "viewer")
    with open_runtime(data_dir) as runtime:
        target = get_project(runtime.sessions, project) if project is not None else None
        if user_by_email(runtime.sessions, email) is not None:  # before asking for a password
            raise Conflict(f"a user with email {normalize_email(email)!r} already exists",
                           field="email")  # fmt: skip
        password = _password(password_stdin)
        user = create_user(runtime.sessions, email, name, password, is_owner=admin)
        if target is not None:
            add_member(runtime.sessions, target.id, user.id, role)
    where = f", {role} of project {target.name!r}" if target is not None else ""
    owner = ", the instance owner" if admin else ""
    err_console.print(f"created user {user.id} {user.email}{owner}{where}", highlight=False,
                      markup=False)  # fmt: skip


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@app.command("list")
@handles_errors
def list_(data_dir: DataDir = None) -> None:
    """List the users, their roles and last sign-in (times in UTC)."""
    with open_runtime(data_dir) as runtime:
        users = list_users(runtime.sessions)
        roles = {user.id: ("owner" if user.is_owner else ", ".join(
            f"{project.name}:{role}" for project, role in projects_of(runtime.sessions, user)))
            for user in users}  # fmt: skip
    rows = [["id", "email", "last sign-in", "disabled", "name", "projects"]]
    rows += [[str(u.id), u.email, _when(u.last_login_at), _when(u.disabled_at), u.name,
              roles[u.id] or "-"] for u in users]  # fmt: skip
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    out = Console(file=console.file, markup=False, highlight=False, soft_wrap=True, emoji=False)
    for row in rows:
        *fixed, last = row
        cells = [c + " " * (w - cell_len(c)) for c, w in zip(fixed, widths, strict=True)]
        out.print("  ".join([*cells, last]).rstrip())
