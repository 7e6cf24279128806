"""Settings: every precedence level and the source it reports, bad values, `userops settings`.

Precedence is command line > USEROPS_* environment > TOML config file > default. The config file is
<data_dir>/userops.toml when present, or the file named by USEROPS_CONFIG_FILE (or the override);
its settings sit in a ``[userops]`` table or at the top level. Every mistake is a ConfigError that
names the setting and, for the file, the file.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from userops.cli.main import app
from userops.config import SETTINGS, load_settings
from userops.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"
SETTING_NAMES = [s.name for s in SETTINGS]


pytestmark = pytest.mark.usefixtures("clean_environment")


def write_config(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


# --- precedence and sources -------------------------------------------------------------------


def test_defaults_when_nothing_is_set() -> None:
    settings = load_settings({}, environ={})
    for setting in SETTINGS:
        assert settings.values[setting.name] == setting.default
        assert settings.sources[setting.name] == "default"
    assert settings.port == 8000
    assert settings.default_timezone == "Asia/Shanghai"
    assert settings.data_path == (Path.cwd() / "userops-data").resolve()


def test_command_line_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    body = '[userops]\nport = 7001\nhost = "10.0.0.1"\nmax_json_depth = 5\n'
    config = write_config(data_dir / "userops.toml", body)
    env = {"USEROPS_PORT": "7002", "USEROPS_HOST": "10.0.0.2"}
    settings = load_settings({"data_dir": str(data_dir), "port": "7003"}, environ=env)

    assert settings.port == 7003  # command line over env and file
    assert settings.sources["port"] == "command line"
    assert settings.host == "10.0.0.2"  # env over file
    assert settings.sources["host"] == "env USEROPS_HOST"
    assert settings.max_json_depth == 5  # file over default
    assert settings.sources["max_json_depth"] == f"file {config}"
    assert settings.dedupe_window_days == 7  # default
    assert settings.sources["dedupe_window_days"] == "default"
    assert settings.sources["data_dir"] == "command line"


def test_a_none_override_is_no_override() -> None:
    # A CLI flag left out arrives as None and must not hide the environment.
    settings = load_settings({"port": None}, environ={"USEROPS_PORT": "9100"})
    assert settings.port == 9100
    assert settings.sources["port"] == "env USEROPS_PORT"


def test_values_are_typed_whatever_the_source(tmp_path: Path) -> None:
    write_config(tmp_path / "data" / "userops.toml", "max_event_bytes = 1000\n")
    env = {"USEROPS_DATA_DIR": str(tmp_path / "data"), "USEROPS_PORT": "9000"}
    settings = load_settings({"import_chunk_rows": 10}, environ=env)
    assert settings.port == 9000 and isinstance(settings.port, int)
    assert settings.max_event_bytes == 1000 and isinstance(settings.max_event_bytes, int)
    assert settings.import_chunk_rows == 10
    assert settings.sources["data_dir"] == "env USEROPS_DATA_DIR"


@pytest.mark.parametrize("with_table", [True, False], ids=["userops-table", "top-level"])
def test_config_file_in_the_data_directory(tmp_path: Path, with_table: bool) -> None:
    data_dir = tmp_path / "data"
    body = 'port = 7100\ndefault_timezone = "Europe/Berlin"\n'
    config = write_config(data_dir / "userops.toml", ("[userops]\n" if with_table else "") + body)
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    assert settings.port == 7100
    assert settings.default_timezone == "Europe/Berlin"
    assert settings.sources["port"] == f"file {config}"
    assert settings.sources["default_timezone"] == f"file {config}"
    assert settings.sources["host"] == "default"


def test_a_table_inside_userops_is_an_unknown_setting(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_config(data_dir / "userops.toml", "[userops]\nport = 7150\n\n[userops.extra]\n")
    with pytest.raises(ConfigError, match=r"unknown setting.*extra"):
        load_settings({"data_dir": str(data_dir)}, environ={})


@pytest.mark.parametrize("with_table", [True, False], ids=["userops-table", "top-level"])
def test_config_file_named_by_environment(tmp_path: Path, with_table: bool) -> None:
    data_dir = tmp_path / "data"
    # Present but not used: an explicit config file replaces <data_dir>/userops.toml.
    write_config(data_dir / "userops.toml", "port = 1111\nhost = 'from-data-dir'\n")
    config = write_config(tmp_path / "elsewhere" / "ops.toml",
                          ("[userops]\n" if with_table else "") + "port = 7200\n")  # fmt: skip
    env = {"USEROPS_DATA_DIR": str(data_dir), "USEROPS_CONFIG_FILE": str(config)}
    settings = load_settings({}, environ=env)
    assert settings.port == 7200
    assert settings.sources["port"] == f"file {config}"
    assert settings.sources["config_file"] == "env USEROPS_CONFIG_FILE"
    assert settings.host == "127.0.0.1"
    assert settings.sources["host"] == "default"


def test_config_file_named_on_the_command_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cli.toml", "[userops]\nport = 7300\n")
    other = write_config(tmp_path / "env.toml", "[userops]\nport = 7301\n")
    settings = load_settings({"config_file": str(config)},
                             environ={"USEROPS_CONFIG_FILE": str(other)})  # fmt: skip
    assert settings.port == 7300
    assert settings.sources["config_file"] == "command line"
    assert settings.sources["port"] == f"file {config}"


def test_no_config_file_is_fine(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": str(tmp_path / "missing")}, environ={})
    assert all(source in {"default", "command line"} for source in settings.sources.values())


def test_settings_survive_pickle(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": str(tmp_path), "port": 8123}, environ={})
    copy = pickle.loads(pickle.dumps(settings))
    assert copy.port == 8123
    assert copy.sources == settings.sources
    with pytest.raises(AttributeError):
        _ = settings.no_such_setting


# --- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["eighty", "80.5", "", "0x50"])
def test_non_integer_port_from_env(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={"USEROPS_PORT": raw})
    assert "setting port from USEROPS_PORT" in info.value.message
    assert "expected an integer" in info.value.message


def test_non_integer_port_from_command_line() -> None:
    with pytest.raises(ConfigError, match="setting port from command line: expected an integer"):
        load_settings({"port": "http"}, environ={})


@pytest.mark.parametrize("raw", ["-1", "65536"])
def test_port_out_of_range(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"setting port .*from 0 to 65535"):
        load_settings({}, environ={"USEROPS_PORT": raw})


@pytest.mark.parametrize("name", ["max_event_bytes", "max_json_depth", "import_chunk_rows"])
def test_limits_must_be_positive(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"setting {name} .*at least 1"):
        load_settings({name: "0"}, environ={})


@pytest.mark.parametrize("body", ['port = "eighty"', "port = 80.5", "port = true"])
def test_non_integer_port_from_file(tmp_path: Path, body: str) -> None:
    config = write_config(tmp_path / "data" / "userops.toml", f"[userops]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})
    assert f"setting port from {config}" in info.value.message


@pytest.mark.parametrize("body", ["host = 80", "database_url = ['a', 'b']", "host = {a = 1}"])
def test_text_setting_from_file_must_be_text(tmp_path: Path, body: str) -> None:
    write_config(tmp_path / "data" / "userops.toml", f"{body}\n")
    with pytest.raises(ConfigError, match="expected text"):
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Asia", "", "../etc/passwd", "UTC "])
def test_unknown_time_zone(zone: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={"USEROPS_DEFAULT_TIMEZONE": zone})
    message = info.value.message
    assert "setting default_timezone from USEROPS_DEFAULT_TIMEZONE" in message
    assert "unknown IANA time zone" in message


def test_unknown_time_zone_from_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "data" / "userops.toml",
                          '[userops]\ndefault_timezone = "Asia/Atlantis"\n')  # fmt: skip
    with pytest.raises(ConfigError, match=f"default_timezone from {re.escape(str(config))}"):
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})


def test_unknown_key_in_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "data" / "userops.toml", "[userops]\nprot = 8001\n")
    with pytest.raises(ConfigError) as info:
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})
    assert str(config) in info.value.message
    assert "unknown setting(s) prot" in info.value.message


def test_setting_outside_the_userops_table(tmp_path: Path) -> None:
    # TOML puts keys above the first header at the top level: with a [userops] table they were
    # silently ignored.
    config = write_config(tmp_path / "data" / "userops.toml", "port = 8001\n[userops]\n")
    with pytest.raises(ConfigError) as info:
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})
    assert str(config) in info.value.message
    assert "port outside the [userops] table" in info.value.message


@pytest.mark.parametrize("name", ["data_dir", "config_file"])
def test_file_cannot_move_itself(tmp_path: Path, name: str) -> None:
    config = write_config(tmp_path / "ops.toml", f'{name} = "/somewhere/else"\n')
    with pytest.raises(ConfigError) as info:
        load_settings({"config_file": str(config)}, environ={})
    assert f"{name} cannot be set in the config file" in info.value.message
    assert str(config) in info.value.message


@pytest.mark.parametrize("body", ["port = ", "[userops\nport = 1", "port = 1\nport = 2"])
def test_invalid_toml(tmp_path: Path, body: str) -> None:
    config = write_config(tmp_path / "data" / "userops.toml", body)
    with pytest.raises(ConfigError) as info:
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})
    assert f"config file {config} is not valid TOML" in info.value.message


def test_userops_must_be_a_table(tmp_path: Path) -> None:
    write_config(tmp_path / "data" / "userops.toml", 'userops = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[userops\] must be a table"):
        load_settings({"data_dir": str(tmp_path / "data")}, environ={})


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=f"cannot read config file {re.escape(str(missing))}"):
        load_settings({}, environ={"USEROPS_CONFIG_FILE": str(missing)})


def test_unknown_override() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting.*colour"):
        load_settings({"colour": "blue"}, environ={})


def test_config_errors_are_exit_code_2() -> None:
    assert ConfigError("x").exit_code == 2


# --- `userops settings` -----------------------------------------------------------------------


def settings_output(stdout: str) -> dict[str, tuple[str, str]]:
    """name -> (value, source) from the command's lines: `name = value`, then `    source: ...`."""
    found: dict[str, tuple[str, str]] = {}
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        match = re.fullmatch(r"(\w+) = (.*)", line)
        if match:
            source = re.fullmatch(r"    source: (.*); environment variable: (\w+)",
                                  lines[index + 1])  # fmt: skip
            assert source, f"no source line after {line!r}"
            assert source.group(2) == "USEROPS_" + match.group(1).upper()
            found[match.group(1)] = (match.group(2), source.group(1))
    return found


def test_settings_command_lists_every_setting_with_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    config = write_config(data_dir / "userops.toml", '[userops]\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("USEROPS_PORT", "9001")
    result = CliRunner().invoke(app, ["settings", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    listed = settings_output(result.stdout)
    assert list(listed) == SETTING_NAMES
    assert listed["data_dir"] == (f'"{data_dir}"', "command line")
    assert listed["port"] == ("9001", "env USEROPS_PORT")
    assert listed["host"] == ('"0.0.0.0"', f"file {config}")
    assert listed["default_timezone"] == ('"Asia/Shanghai"', "default")
    for setting in SETTINGS:
        assert setting.help in result.stdout


def test_settings_command_hides_passwords(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("USEROPS_DATABASE_URL", "postgresql+psycopg://ops:s3cret@db:5432/userops")
    monkeypatch.setenv("USEROPS_CLICKHOUSE_URL", "http://default:hunter2@ch:8123/userops")
    result = CliRunner().invoke(app, ["settings", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output and "hunter2" not in result.output
    listed = settings_output(result.stdout)
    assert listed["database_url"][0] == '"postgresql+psycopg://ops:***@db:5432/userops"'
    assert listed["clickhouse_url"][0] == '"http://default:***@ch:8123/userops"'


def test_settings_command_reports_a_bad_file_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "data" / "userops.toml", "[userops]\nprot = 1\n")
    result = CliRunner().invoke(app, ["settings", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: config file")
    assert str(config) in lines[0] and "prot" in lines[0]


# --- documentation ----------------------------------------------------------------------------


def test_readme_documents_every_setting() -> None:
    """Reads README.md: each setting's name and environment variable must appear in it.

    Like datasette's documentation test: adding a setting without documenting it fails here.
    """
    text = README.read_text(encoding="utf-8")
    missing = [
        f"{s.name} ({s.env_var})"
        for s in SETTINGS
        if not re.search(rf"\b{s.name}\b", text) or not re.search(rf"\b{s.env_var}\b", text)
    ]
    assert not missing, f"README.md does not document: {', '.join(missing)}"
