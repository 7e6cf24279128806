"""`userops projects create|list|show`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from userops.cli.common import DataDir, console, handles_errors, open_runtime
from userops.meta.projects import create_project, get_project, list_projects, update_project

app = typer.Typer(help="Projects (apps): each has its own events, time zone and write key.",
                  no_args_is_help=True)  # fmt: skip


@app.command("create")
@handles_errors
def create(
    name: Annotated[str, typer.Argument(help="Project name: letters, digits, _ . -")],
    timezone: Annotated[str | None, typer.Option(help="IANA time zone for day boundaries.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a project and print its write key."""
    with open_runtime(data_dir) as runtime:
        tz = runtime.settings.default_timezone if timezone is None else timezone
        project = create_project(runtime.sessions, name, tz)
    console.print(f"created project [bold]{project.name}[/] ({project.timezone})")
    console.print(f"write key: {project.write_key}", highlight=False)


@app.command("list")
@handles_errors
def list_(data_dir: DataDir = None) -> None:
    """List projects."""
    with open_runtime(data_dir) as runtime:
        projects = list_projects(runtime.sessions)
    table = Table("name", "time zone", "created")
    for project in projects:
        table.add_row(project.name, project.timezone, f"{project.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("show")
@handles_errors
def show(name: Annotated[str, typer.Argument()], data_dir: DataDir = None) -> None:
    """Show a project, including its write key."""
    with open_runtime(data_dir) as runtime:
        project = get_project(runtime.sessions, name)
    console.print(f"name:       {project.name}", highlight=False)
    console.print(f"time zone:  {project.timezone}", highlight=False)
    console.print(f"write key:  {project.write_key}", highlight=False)
    console.print(f"order event / revenue: {project.order_event} / {project.revenue_property} "
                  f"({project.currency})", highlight=False)  # fmt: skip
    console.print(f"created:    {project.created_at:%Y-%m-%d %H:%M:%S %Z}", highlight=False)


@app.command("set")
@handles_errors
def set_(
    name: Annotated[str, typer.Argument()],
    timezone: Annotated[str | None, typer.Option(help="IANA time zone for day boundaries.")] = None,
    order_event: Annotated[str | None, typer.Option(help="The event that is an order.")] = None,
    revenue_property: Annotated[
        str | None, typer.Option(help="The order event's revenue property.")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Revenue currency (ISO 4217).")] = None,
    store_client_ip: Annotated[
        bool | None, typer.Option(help="Keep clients' IP addresses (personal data).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Change a project's settings: time zone, which event is an order, revenue, currency."""
    with open_runtime(data_dir) as runtime:
        project = update_project(runtime.sessions, name, timezone=timezone,
                                 order_event=order_event, revenue_property=revenue_property,
                                 currency=currency, store_client_ip=store_client_ip)  # fmt: skip
    console.print(f"updated project [bold]{project.name}[/]: {project.timezone}, order event "
                  f"{project.order_event!r}, revenue {project.revenue_property!r} "
                  f"({project.currency}), store client IP {project.store_client_ip}",
                  highlight=False)  # fmt: skip
