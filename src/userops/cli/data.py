"""`userops import`, `export`, `demo` and `events`: data in and out of a project."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from userops.analysis.query import parse_spec
from userops.cli.common import (
    DataDir,
    ProjectName,
    console,
    err_console,
    handles_errors,
    open_runtime,
    project_named,
)  # fmt: skip
from userops.errors import BadRequest, NotFound
from userops.ingest.export import EXPORT_FORMATS, day_range, export_events
from userops.ingest.importer import ImportSummary, import_file
from userops.ingest.parse import limits_from
from userops.ingest.pipeline import Ingestor
from userops.ingest.readers import FORMATS, BadFile, guess_format
from userops.ingest.recent import recent_events


def print_summary(summary: ImportSummary) -> None:
    table = Table("read", "imported", "duplicates", "rejected", "seconds", "events/s")
    table.add_row(
        f"{summary.read:,}", f"{summary.imported:,}", f"{summary.duplicates:,}",
        f"{summary.rejected:,}", f"{summary.seconds:.1f}", f"{summary.events_per_second:,.0f}",
    )  # fmt: skip
    console.print(table)
    for path in summary.rejects_files:
        console.print(f"rejected lines with line, field and reason: {path}", highlight=False)


def _file_error(message: str) -> None:
    """One line per file that failed; a Text, as messages quote paths and column names."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False,
                      soft_wrap=True)  # fmt: skip


def import_command(
    files: Annotated[list[Path], typer.Argument(help="Files to import.")],
    project: ProjectName,
    fmt: Annotated[str | None, typer.Option("--format", help=f"One of {', '.join(FORMATS)}; "
                                            "guessed from the extension when omitted.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Import events; exit 1 if any line was rejected, 2 if a file could not be read."""
    if fmt is not None and fmt not in FORMATS:
        raise BadRequest(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", field="format")
    summary = ImportSummary()
    failed_files = 0
    with open_runtime(data_dir) as runtime:
        target = project_named(runtime, project)
        ingestor = Ingestor(runtime.sessions, runtime.store, target.id)
        limits = limits_from(runtime.settings)
        for path in files:
            try:
                file_format = fmt or guess_format(path)
                size = path.stat().st_size
                with Progress(
                    "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True,
                ) as bar:  # fmt: skip
                    task = bar.add_task(escape(path.name), total=size)
                    import_file(
                        path, file_format, ingestor, target.id, limits,
                        runtime.settings.import_chunk_rows, summary,
                        progress=lambda n, task=task, bar=bar: bar.advance(task, n),  # type: ignore[misc]
                    )  # fmt: skip
            except BadFile as exc:
                failed_files += 1
                _file_error(exc.message)
            except OSError as exc:
                failed_files += 1
                if exc.filename is None:
                    _file_error(f"{path}: import stopped ({exc})")
                elif Path(exc.filename) == path:
                    _file_error(f"{path}: cannot read ({exc.strerror})")
                else:  # e.g. the rejects file beside it cannot be written
                    _file_error(f"{path}: cannot use {exc.filename} ({exc.strerror})")
    print_summary(summary)
    if failed_files:
        sys.exit(2)
    if summary.rejected:
        sys.exit(1)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{option} {value!r}: expected a date such as 2026-11-01",
                         field=option) from None  # fmt: skip


_FORMAT_HELP = f"One of {', '.join(EXPORT_FORMATS)}."


def export_command(
    out: Annotated[Path, typer.Argument(help="Output file.")],
    project: ProjectName,
    fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "jsonl",
    start: Annotated[str | None, typer.Option("--from", help="First day (project's zone).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export events with their resolved person id; `userops import` reads the file back."""
    if fmt not in EXPORT_FORMATS:
        raise BadRequest(f"--format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}",
                         field="format")  # fmt: skip
    first, last = _date(start, "--from"), _date(end, "--to")
    if first and last and first > last:
        raise BadRequest(f"--from {first} is after --to {last}", field="--from")
    with open_runtime(data_dir) as runtime:
        target = project_named(runtime, project)
        window = day_range(target.timezone, first, last)
        try:
            count = export_events(runtime.store, target.id, window, fmt, out)
        except OSError as exc:
            raise BadRequest(f"{out}: cannot write ({exc.strerror or exc})", field="out") from None
    console.print(f"exported {count:,} events to {out}", highlight=False)


def events_command(
    project: ProjectName,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 20,
    person: Annotated[str | None, typer.Option(help="Only this person (any of its ids).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Print recent events."""
    with open_runtime(data_dir) as runtime:
        target = project_named(runtime, project)
        events = recent_events(runtime.sessions, runtime.store, target, limit, person)
    if not events:
        raise NotFound("no events match", field="person" if person else "project")
    # Aligned plain lines, not a rich table: an 80-column pipe squeezed the table's time and id
    # columns to "2026-1…", and names and ids are user input that markup would misread.
    columns = [("time", [row.local_time for row in events]),
               ("event", [row.event for row in events]),
               ("distinct id", [row.distinct_id for row in events]),
               ("person", [str(row.person_id) for row in events])]  # fmt: skip
    widths = [max(cell_len(name), *map(cell_len, values)) for name, values in columns]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - cell_len(c)) for c, w in zip(cells, widths, strict=True))

    out = Console(file=console.file, markup=False, highlight=False, soft_wrap=True, emoji=False)
    out.print(f"newest first, times in {target.timezone}")
    out.print(line([name for name, _ in columns]) + "  properties")
    for index, row in enumerate(events):
        cells = [values[index] for _, values in columns]
        props = row.properties if len(row.properties) <= 80 else row.properties[:79] + "…"
        out.print((line(cells) + "  " + props).rstrip())


def query_command(
    spec: Annotated[str, typer.Argument(help="The spec as JSON text, or @file.json.")],
    project: ProjectName,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    data_dir: DataDir = None,
) -> None:
    """Run an analysis (a JSON spec; see the README) and print its result."""
    if output not in ("table", "json", "csv"):
        raise BadRequest(f"--format {output!r}: choose table, json or csv", field="format")
    text = spec
    if spec.startswith("@"):
        try:
            text = Path(spec[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadRequest(f"{spec[1:]}: cannot read the spec ({exc})", field="spec") from None
    from userops.cli.common import settings_for
    from userops.client import Client, connect

    parsed = parse_spec(text)  # a bad spec fails here, the same whichever path answers it
    # As DESIGN.md's process model asks: open the data directory, or ask the server holding it.
    with connect(settings_for(data_dir)) as client:
        if isinstance(client, Client):
            err_console.print(f"asked the server at {client.url} (it holds the data directory)",
                              highlight=False, markup=False)  # fmt: skip
            result = client.query(text, project=project)
        else:
            err_console.print(f"opened the data directory {client.data_dir}", highlight=False,
                              markup=False)  # fmt: skip
            result = client.run(parsed, project=project)
    if output == "json":
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    header, body = result.table()
    cells = [[_cell(value) for value in row] for row in [*body, *result.footer()]]
    if output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerows([header, *cells])
        return
    table = Table(*(escape(str(h)) for h in header))
    for row in cells:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    return "" if value is None else str(value)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.4g}"


def register(app: typer.Typer) -> None:
    app.command("import")(handles_errors(import_command))
    app.command("export")(handles_errors(export_command))
    app.command("events")(handles_errors(events_command))
    app.command("query")(handles_errors(query_command))
