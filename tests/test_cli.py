"""`userops` end to end: projects, the data directory, one-line errors, the lock, `serve`.

Commands run in-process through typer's CliRunner; `userops serve` runs as a real subprocess so
that it holds the data directory's lock the way a deployed server does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from userops.cli.main import app

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("clean_environment")


@pytest.fixture
def data_dir(tmp_path: Path, meta_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory whose metadata is on SQLite or, through the environment, PostgreSQL."""
    if meta_url:
        monkeypatch.setenv("USEROPS_DATABASE_URL", meta_url)
    return tmp_path / "data"


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result, code: int) -> str:
    """The command failed with ``code`` and said why in one line, without a traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error"), lines[0]
    assert result.stdout == ""
    return lines[0]


def write_key_of(output: str) -> str:
    match = re.search(r"write key:\s+(\S+)", output)
    assert match, output
    return match.group(1)


# --- projects ---------------------------------------------------------------------------------


def test_projects_create_list_show(data_dir: Path) -> None:
    created = ok("projects", "create", "shop", "--data-dir", str(data_dir))
    assert "created project shop (Asia/Shanghai)" in created.stdout
    key = write_key_of(created.stdout)
    assert len(key) >= 32

    ok("projects", "create", "blog", "--timezone", "America/New_York", "--data-dir", str(data_dir))

    listed = ok("projects", "list", "--data-dir", str(data_dir)).stdout
    rows = [line for line in listed.splitlines() if "shop" in line or "blog" in line]
    assert len(rows) == 2
    assert "blog" in rows[0] and "America/New_York" in rows[0]  # sorted by name
    assert "shop" in rows[1] and "Asia/Shanghai" in rows[1]
    assert key not in listed  # the list does not show secrets

    shown = ok("projects", "show", "shop", "--data-dir", str(data_dir)).stdout
    assert re.search(r"name:\s+shop\b", shown)
    assert re.search(r"time zone:\s+Asia/Shanghai\b", shown)
    assert write_key_of(shown) == key
    assert re.search(r"created:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown), shown

    other = ok("projects", "show", "blog", "--data-dir", str(data_dir)).stdout
    assert re.search(r"time zone:\s+America/New_York\b", other)
    assert write_key_of(other) != key


def test_projects_set_changes_the_analysis_settings(data_dir: Path) -> None:
    ok("projects", "create", "shop", "--data-dir", str(data_dir))
    ok("projects", "set", "shop", "--order-event", "purchase", "--revenue-property", "amount",
       "--currency", "USD", "--timezone", "Europe/Berlin", "--data-dir", str(data_dir))  # fmt: skip
    shown = ok("projects", "show", "shop", "--data-dir", str(data_dir)).stdout
    assert "order event / revenue: purchase / amount (USD)" in shown
    assert re.search(r"time zone:\s+Europe/Berlin\b", shown)
    for flag, value, field in [("--currency", "yuan", "currency"),
                               ("--timezone", "Mars/Base", "timezone"),
                               ("--order-event", " ", "order_event")]:  # fmt: skip
        bad = run("projects", "set", "shop", flag, value, "--data-dir", str(data_dir))
        assert bad.exit_code == 2 and f"({field})" in bad.output, bad.output
    missing = run("projects", "set", "nope", "--currency", "USD", "--data-dir", str(data_dir))
    assert missing.exit_code == 2 and "unknown project 'nope'" in missing.output
    # A refused change changed nothing.
    again = ok("projects", "show", "shop", "--data-dir", str(data_dir)).stdout
    assert "purchase / amount (USD)" in again


def test_default_time_zone_comes_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USEROPS_DEFAULT_TIMEZONE", "Asia/Kolkata")
    created = ok("projects", "create", "shop", "--data-dir", str(tmp_path / "d"))
    assert "created project shop (Asia/Kolkata)" in created.stdout
    created = ok("projects", "create", "blog", "--timezone", "UTC", "--data-dir",
                 str(tmp_path / "d"))  # fmt: skip
    assert "created project blog (UTC)" in created.stdout


def test_data_dir_flag_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env, from_flag = tmp_path / "from-env", tmp_path / "from-flag"
    monkeypatch.setenv("USEROPS_DATA_DIR", str(from_env))
    ok("projects", "create", "envshop")
    assert (from_env / "meta.sqlite3").is_file()
    assert "envshop" in ok("projects", "list").stdout

    # The flag wins over the environment.
    ok("projects", "create", "flagshop", "--data-dir", str(from_flag))
    assert (from_flag / "meta.sqlite3").is_file()
    assert "flagshop" in ok("projects", "list", "--data-dir", str(from_flag)).stdout
    assert "flagshop" not in ok("projects", "list").stdout
    assert "envshop" not in ok("projects", "list", "--data-dir", str(from_flag)).stdout
    assert not (tmp_path / "userops-data").exists()  # the default was never used


def test_default_data_dir(tmp_path: Path) -> None:
    ok("projects", "create", "shop")
    assert (tmp_path / "userops-data" / "meta.sqlite3").is_file()


# --- bad input: exit 2, one line, no traceback ------------------------------------------------


def test_unknown_project_for_events(data_dir: Path) -> None:
    ok("projects", "create", "shop", "--data-dir", str(data_dir))
    line = one_line_error(run("events", "--project", "shoop", "--data-dir", str(data_dir)), 2)
    assert line.startswith("error (project): unknown project 'shoop'")
    assert "projects: shop" in line


def test_bad_export_format(tmp_path: Path) -> None:
    line = one_line_error(run("export", str(tmp_path / "out.xml"), "-p", "shop", "--format", "xml",
                              "--data-dir", str(tmp_path / "d")), 2)  # fmt: skip
    assert line.startswith("error (format): --format 'xml': use one of")
    assert "jsonl" in line


@pytest.mark.parametrize("day", ["2026-13-01", "yesterday", "01/11/2026"])
def test_bad_from_date(tmp_path: Path, day: str) -> None:
    line = one_line_error(run("export", str(tmp_path / "out.jsonl"), "-p", "shop", "--from", day,
                              "--data-dir", str(tmp_path / "d")), 2)  # fmt: skip
    assert line == (f"error (--from): --from {day!r}: expected a date such as 2026-11-01")


def test_bad_project_input(tmp_path: Path) -> None:
    d = str(tmp_path / "d")
    line = one_line_error(run("projects", "create", "my shop", "--data-dir", d), 2)
    assert line.startswith("error (name): project name 'my shop'")
    line = one_line_error(run("projects", "create", "shop", "--timezone", "Asia", "--data-dir", d),
                          2)  # fmt: skip
    assert line == "error (timezone): unknown IANA time zone 'Asia' (use e.g. Asia/Shanghai)"
    line = one_line_error(run("projects", "create", "shop", "--timezone", "", "--data-dir", d), 2)
    assert "unknown IANA time zone ''" in line
    line = one_line_error(run("projects", "show", "nope", "--data-dir", d), 2)
    assert "unknown project 'nope' (projects: none yet" in line


@pytest.mark.parametrize("name", ["[/]", "[bold]x", "x[/red]"])
def test_messages_quote_input_verbatim(tmp_path: Path, name: str) -> None:
    # Error text is not rich markup: "[/]" crashed the renderer and "[bold]" vanished.
    line = one_line_error(run("projects", "create", name, "--data-dir", str(tmp_path / "d")), 2)
    assert f"project name {name!r}:" in line


def test_duplicate_project_exits_1(tmp_path: Path) -> None:
    ok("projects", "create", "shop", "--data-dir", str(tmp_path / "d"))
    line = one_line_error(run("projects", "create", "shop", "--data-dir", str(tmp_path / "d")), 1)
    assert line == "error (name): project 'shop' already exists"


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    line = one_line_error(run("projects", "list", "--data-dir", str(blocker)), 2)
    assert line.startswith(f"error (data_dir): data directory {blocker}: cannot use it")


def test_bad_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USEROPS_DATABASE_URL", "postgresql+psycopg://ops:s3cret@127.0.0.1:1/x")
    line = one_line_error(run("projects", "list", "--data-dir", str(tmp_path / "d")), 2)
    assert line.startswith("error (database_url): cannot open the metadata store")
    assert "s3cret" not in line
    # The lock is released after the failure: the same directory opens once the URL is fixed.
    monkeypatch.delenv("USEROPS_DATABASE_URL")
    ok("projects", "list", "--data-dir", str(tmp_path / "d"))


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_serve_rejects_a_bad_port(tmp_path: Path, port: str) -> None:
    line = one_line_error(run("serve", "--port", port, "--data-dir", str(tmp_path / "d")), 2)
    assert "setting port from command line" in line


def test_bad_config_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "userops.toml").write_text("port = ")
    line = one_line_error(run("projects", "list", "--data-dir", str(tmp_path / "d")), 2)
    assert "is not valid TOML" in line and "userops.toml" in line


# --- `userops serve` and the data directory's lock --------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


@pytest.fixture
def server(tmp_path: Path, meta_url: str) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    """`userops serve --port P --data-dir D` in a subprocess, up and answering /healthz."""
    data_dir, port = tmp_path / "served", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("USEROPS_")}
    if meta_url:
        env["USEROPS_DATABASE_URL"] = meta_url
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from userops.cli.main import main; main()",
         "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"userops serve exited: {(tmp_path / 'serve.log').read_text()}")
            try:
                get_json(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"no /healthz: {(tmp_path / 'serve.log').read_text()}")
                time.sleep(0.2)
        yield process, data_dir, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def test_serve_answers_healthz_with_the_engine_names(
    server: tuple[subprocess.Popen[bytes], Path, int], meta_url: str
) -> None:
    _, _, port = server
    health = get_json(f"http://127.0.0.1:{port}/healthz")
    assert health == {
        "status": "ok",
        "event_store": "chdb",
        "metadata_store": "postgresql" if meta_url else "sqlite",
        "events": 0,
        "ingestion_log": {"backlog_bytes": 0, "flush_error": None},
    }


def test_a_locked_data_directory(
    server: tuple[subprocess.Popen[bytes], Path, int], meta_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process, data_dir, port = server
    if meta_url:
        monkeypatch.setenv("USEROPS_DATABASE_URL", meta_url)

    line = one_line_error(run("projects", "list", "--data-dir", str(data_dir)), 3)
    assert f"data directory {data_dir} is in use by `userops serve`" in line
    assert f"http://127.0.0.1:{port}" in line  # where to send the command instead
    assert f"(pid {process.pid})" in line
    assert "stop it and run the command again" in line
    assert "--data-dir" in line

    # A second server on the same directory says the same, instead of a startup traceback.
    line = one_line_error(run("serve", "--port", str(free_port()), "--data-dir", str(data_dir)), 3)
    assert "is in use by `userops serve`" in line

    # The server still answers, and once it stops the directory is free again.
    assert get_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    ok("projects", "create", "shop", "--data-dir", str(data_dir))
    assert "shop" in ok("projects", "list", "--data-dir", str(data_dir)).stdout


def test_data_dir_with_question_mark_is_refused_not_misplaced(tmp_path: Path) -> None:
    # chDB reads what follows '?' in its path as options: the events would land in `q`, outside.
    result = runner.invoke(app, ["projects", "list", "--data-dir", str(tmp_path / "q?x")])
    assert result.exit_code == 2, result.output
    assert "'?'" in result.output
    assert not (tmp_path / "q").exists()
