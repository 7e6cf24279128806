"""`userops`: the command line. Each group of commands lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from userops.cli import data, demo, persons, projects
from userops.cli.common import DataDir, console, handles_errors, settings_for
from userops.config import SETTINGS

app = typer.Typer(
    help="UserOps (用户运营平台): collect events, stitch identities, measure growth.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(projects.app, name="projects")
app.add_typer(persons.app, name="persons")
data.register(app)
demo.register(app)


@app.command("settings")
@handles_errors
def settings_command(data_dir: DataDir = None) -> None:
    """Print every setting, its value and where the value came from."""
    settings = settings_for(data_dir)
    table = Table("setting", "value", "source", "environment variable", "help")
    for setting in SETTINGS:
        table.add_row(setting.name, str(settings.values[setting.name]),
                      settings.sources[setting.name], setting.env_var, setting.help)  # fmt: skip
    console.print(table)


@app.command("serve")
@handles_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (and, once built, the console) on the data directory."""
    from userops.web.server import serve

    settings = settings_for(data_dir)
    serve(settings, host or settings.host, port or settings.port)


def main() -> None:
    app()
