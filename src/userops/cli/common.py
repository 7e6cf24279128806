"""What every command shares: --data-dir, settings, opening the store, rendering errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from userops.config import Settings, load_settings
from userops.errors import UserOpsError
from userops.meta.models import Project
from userops.meta.projects import get_project
from userops.runtime import Runtime

console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default ./userops-data, or USEROPS_DATA_DIR).",
                 show_default=False),
]  # fmt: skip
ProjectName = Annotated[str, typer.Option("--project", "-p", help="Project name.")]

P = ParamSpec("P")
R = TypeVar("R")


def settings_for(data_dir: Path | None, **flags: Any) -> Settings:
    """Settings with the command's flags as overrides (a flag left out is None and ignored)."""
    return load_settings({"data_dir": str(data_dir) if data_dir else None, **flags})


@contextmanager
def open_runtime(data_dir: Path | None) -> Iterator[Runtime]:
    runtime = Runtime.open(settings_for(data_dir))
    try:
        yield runtime
    finally:
        runtime.close()


def project_named(runtime: Runtime, name: str) -> Project:
    return get_project(runtime.sessions, name)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Render UserOps errors as one clear line and the error's exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except UserOpsError as exc:
            where = f" ({exc.field})" if exc.field else ""
            # A Text, not markup: messages quote user input ("[/]" would crash rich, "[b]" would
            # vanish). soft_wrap keeps the promised one line at any terminal width.
            line = Text.assemble((f"error{where}:", "bold red"), " ", exc.message)
            err_console.print(line, highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)

    return wrapper


def print_json(value: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")
