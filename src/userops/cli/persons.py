"""`userops persons show|unmerge`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.console import Console

from userops.cli.common import (
    DataDir,
    ProjectName,
    console,
    handles_errors,
    open_runtime,
    project_named,
)
from userops.identity.profile import load_profile
from userops.identity.repository import person_of, unmerge

app = typer.Typer(help="Persons: ids, traits, merge history.", no_args_is_help=True)


@app.command("show")
@handles_errors
def show(
    person: Annotated[str, typer.Argument(help="Person number or any of its distinct ids.")],
    project: ProjectName,
    data_dir: DataDir = None,
) -> None:
    """Show a person: linked ids, traits, first touch, merge history."""
    with open_runtime(data_dir) as runtime:
        target = project_named(runtime, project)
        profile = load_profile(runtime.sessions, runtime.store, target.id,
                               person_of(runtime.sessions, target.id, person))  # fmt: skip
    zone = ZoneInfo(target.timezone)

    def local(when: dt.datetime | None) -> str:
        return f"{when.astimezone(zone):%Y-%m-%d %H:%M:%S}" if when else "-"

    # Plain lines, not markup: ids, traits and message ids are user input ("[/]" would crash
    # rich), and one merge per line stays readable and greppable in an 80-column pipe.
    out = Console(file=console.file, markup=False, highlight=False, soft_wrap=True)
    out.print(f"person {profile.person_id}  events: {profile.event_count:,}  "
              f"first seen: {local(profile.first_seen)}  last seen: {local(profile.last_seen)}  "
              f"({target.timezone})")  # fmt: skip
    out.print("ids: " + ", ".join(profile.distinct_ids))
    out.print("traits:")
    for key, value in sorted({**profile.first_touch, **profile.traits}.items()):
        out.print(f"  {key}: {value if isinstance(value, str) else orjson.dumps(value).decode()}")
    out.print("merge history:" if profile.merges else "merge history: none")
    for m in profile.merges:
        undone = f"undone {local(m.undone_at)}" if m.undone_at else "active"
        out.print(f"  merge #{m.id}  {local(m.created_at)}  {m.kind}: person {m.absorbed_id} "
                  f"into person {m.survivor_id}, ids moved: {', '.join(m.moved_ids)}; "
                  f"message {m.message_id}; {undone}")  # fmt: skip


@app.command("unmerge")
@handles_errors
def unmerge_command(
    merge_id: Annotated[int, typer.Argument(help="Merge number from `persons show`.")],
    project: ProjectName,
    data_dir: DataDir = None,
) -> None:
    """Undo a merge: the absorbed person comes back with its ids and events."""
    with open_runtime(data_dir) as runtime:
        target = project_named(runtime, project)
        merge, moved = unmerge(runtime.sessions, runtime.store, target.id, merge_id)
    console.print(f"merge #{merge.id} undone: person {merge.absorbed_id} is back with "
                  f"{', '.join(sorted(moved))}", highlight=False, markup=False)  # fmt: skip
