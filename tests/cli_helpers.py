"""Running the `userops` command in-process, for the CLI tests."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from userops.cli.main import app

runner = CliRunner()


def cli(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: object) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result
