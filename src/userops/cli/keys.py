"""`userops keys create|list|revoke`: personal API keys for the query API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.console import Console

from userops.cli.common import (
    DataDir,
    ProjectName,
    console,
    err_console,
    handles_errors,
    open_runtime,
)
from userops.meta.keys import create_key, list_keys, revoke_key

app = typer.Typer(help="Personal API keys: what scripts send to the query API.",
                  no_args_is_help=True)  # fmt: skip


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@app.command("create")
@handles_errors
def create(
    project: ProjectName,
    name: Annotated[str, typer.Option(help="What the key is for (shown in listings).")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create a key for a project and print it; it is shown this once only."""
    with open_runtime(data_dir) as runtime:
        created = create_key(runtime.sessions, project, name)
    # The key alone on stdout, so `KEY=$(userops keys create -p shop)` works; the rest on stderr.
    err_console.print(f"created API key {created.key.id} for project {project!r}; copy it now, "
                      "it is not shown again:", highlight=False, markup=False)  # fmt: skip
    typer.echo(created.secret)


@app.command("list")
@handles_errors
def list_(project: ProjectName, data_dir: DataDir = None) -> None:
    """List a project's keys (their first characters, never the keys)."""
    with open_runtime(data_dir) as runtime:
        keys = list_keys(runtime.sessions, project)
    # Aligned plain lines rather than a rich table, which squeezes six columns into an
    # 80-column terminal by cutting the very prefixes a reader compares.
    rows = [["id", "key", "created", "last used", "revoked", "name"]]
    rows += [[str(key.id), key.prefix + "…", _when(key.created_at), _when(key.last_used_at),
              _when(key.revoked_at), key.name or "-"] for key in keys]  # fmt: skip
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    out = Console(file=console.file, markup=False, highlight=False, soft_wrap=True, emoji=False)
    out.print(f"API keys of project {project} (times in UTC)")
    for row in rows:
        *fixed, name = row
        cells = [c + " " * (w - cell_len(c)) for c, w in zip(fixed, widths, strict=True)]
        out.print("  ".join([*cells, name]).rstrip())


@app.command("revoke")
@handles_errors
def revoke(
    key_id: Annotated[int, typer.Argument(metavar="ID", help="The key's id (`keys list`).")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with open_runtime(data_dir) as runtime:
        key = revoke_key(runtime.sessions, key_id)
    console.print(f"revoked API key {key.id} ({key.prefix}…) at {_when(key.revoked_at)} UTC",
                  highlight=False, markup=False)  # fmt: skip
