"""`userops persons show|unmerge`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from userops.cli.common import DataDir, ProjectName, console, handles_errors, open_runtime, project_named
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
    console.print(f"[bold]person {profile.person_id}[/]  events: {profile.event_count:,}  "
                  f"first seen: {profile.first_seen}  last seen: {profile.last_seen}",
                  highlight=False)  # fmt: skip
    console.print("ids: " + ", ".join(profile.distinct_ids), highlight=False)
    traits = Table("trait", "value", title="traits")
    for key, value in sorted({**profile.first_touch, **profile.traits}.items()):
        traits.add_row(key, str(value))
    console.print(traits)
    merges = Table("merge", "when", "kind", "survivor", "absorbed", "ids moved", "message", "undone",
                   title="merge history")  # fmt: skip
    for m in profile.merges:
        merges.add_row(str(m.id), f"{m.created_at:%Y-%m-%d %H:%M:%S}", m.kind, str(m.survivor_id),
                       str(m.absorbed_id), ", ".join(m.moved_ids), m.message_id,
                       f"{m.undone_at:%Y-%m-%d %H:%M}" if m.undone_at else "")  # fmt: skip
    console.print(merges)


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
                  f"{', '.join(sorted(moved))}", highlight=False)  # fmt: skip
