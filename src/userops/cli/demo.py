"""`userops demo`: a realistic history through the same ingestion path as real data."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Annotated

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress

from userops.cli.common import (
    DataDir,
    ProjectName,
    console,
    err_console,
    handles_errors,
    open_runtime,
)
from userops.cli.data import print_summary
from userops.demo.layers import seed_layers
from userops.errors import NotFound
from userops.ingest.importer import ImportSummary, import_chunks
from userops.ingest.parse import limits_from
from userops.ingest.pipeline import Ingestor
from userops.ingest.readers import Chunk
from userops.meta.projects import create_project, get_project
from userops.store import scalar


def _chunks(users: int, days: int, seed: int, size: int) -> Iterator[tuple[Chunk, int]]:
    from userops.demo import generate_messages

    chunk: Chunk = []
    for number, message in enumerate(generate_messages(users=users, days=days, seed=seed), 1):
        chunk.append((number, orjson.dumps(message)))
        if len(chunk) >= size:
            yield chunk, len(chunk)
            chunk = []
    yield chunk, len(chunk)


def demo_command(
    project: ProjectName = "demo",
    users: Annotated[int, typer.Option(min=1, max=10_000_000)] = 2000,
    days: Annotated[int, typer.Option(min=1, max=3650)] = 60,
    seed: Annotated[int, typer.Option()] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the project "
                                           "already has events (for first start).")] = False,
    data_dir: DataDir = None,
) -> None:
    """Load a realistic app / e-commerce history (deterministic for a seed)."""
    with open_runtime(data_dir) as runtime:
        try:
            target = get_project(runtime.sessions, project)
        except NotFound:
            target = create_project(runtime.sessions, project, runtime.settings.default_timezone)
            console.print(f"created project [bold]{project}[/]")
        existing = scalar(runtime.store, "SELECT count() FROM events WHERE project_id = {p:UInt32}",
                          {"p": target.id})  # fmt: skip
        if if_empty and existing:
            console.print(f"project {project} already has {existing:,} events; demo not loaded")
            return
        summary = ImportSummary()
        ingestor = Ingestor(runtime.sessions, runtime.store, target.id)
        with Progress("{task.description}", BarColumn(), MofNCompleteColumn(),
                      console=err_console, transient=True) as bar:  # fmt: skip
            task = bar.add_task(f"demo data, {users} users x {days} days", total=None)
            import_chunks(
                _chunks(users, days, seed, runtime.settings.import_chunk_rows), "segment-jsonl",
                runtime.settings.data_path / "demo", io.BytesIO(), ingestor, target.id,
                limits_from(runtime.settings), summary,
                progress=lambda n: bar.advance(task, n),
            )  # fmt: skip
            bar.add_task("people, segments and tags", total=None)
            seeded = seed_layers(runtime, target)
    print_summary(summary)
    if seeded:
        console.print(f"{len(seeded)} segments saved and refreshed, people layered")
    console.print(f"demo data loaded into project {project} at {dt.datetime.now():%H:%M:%S}")


def register(app: typer.Typer) -> None:
    app.command("demo")(handles_errors(demo_command))
