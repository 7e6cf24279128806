"""`userops`: the command line. Each group of commands lives in its own module."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import typer

from userops.cli import data, demo, keys, persons, projects, users
from userops.cli.common import DataDir, handles_errors, settings_for
from userops.config import SETTINGS

app = typer.Typer(
    help="UserOps (用户运营平台): collect events, stitch identities, measure growth.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(projects.app, name="projects")
app.add_typer(persons.app, name="persons")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
data.register(app)
demo.register(app)


def _shown(name: str, value: object) -> str:
    """A value as TOML would write it, with any password in a URL masked."""
    if not isinstance(value, str):
        return str(value)
    if name.endswith("_url") and value:
        parts = urlsplit(value)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            value = urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    return json.dumps(value, ensure_ascii=False)


@app.command("settings")
@handles_errors
def settings_command(data_dir: DataDir = None) -> None:
    """Print every setting, its value and where the value came from."""
    settings = settings_for(data_dir)
    # Plain lines rather than a table: a five-column table cut names and variables to "…" in an
    # 80-column terminal, and these lines stay greppable.
    for setting in SETTINGS:
        typer.echo(f"{setting.name} = {_shown(setting.name, settings.values[setting.name])}")
        typer.echo(f"    source: {settings.sources[setting.name]}; "
                   f"environment variable: {setting.env_var}")  # fmt: skip
        typer.echo(f"    {setting.help}")


@app.command("serve")
@handles_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (and, once built, the console) on the data directory."""
    from userops.web.server import serve

    # Flags go through the settings table like any override: validated, and `--port 0` is kept.
    settings = settings_for(data_dir, host=host, port=port)
    serve(settings, settings.host, settings.port)


def main() -> None:
    app()
