"""Settings as data.

Every setting is one row of ``SETTINGS``: its name, type, default and help. The same table drives
``userops settings``, the README's settings reference (a test fails when one is undocumented) and
validation. A value comes from, in order of precedence: an explicit override (a CLI flag), a
``USEROPS_<NAME>`` environment variable, the config file (TOML, ``[userops]`` table or top level),
then the default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from userops.errors import ConfigError

ENV_PREFIX = "USEROPS_"


def _parse_int(raw: str) -> int:
    return int(raw)


def _parse_str(raw: str) -> str:
    return raw


def _parse_timezone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {raw!r}") from exc
    return raw


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = _parse_str

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "./userops-data", "Directory holding the event store, metadata and logs."),
    Setting("config_file", "", "TOML file with settings; default <data_dir>/userops.toml if present."),
    Setting("clickhouse_url", "", "ClickHouse server URL (http://user:pass@host:8123/db); "
            "empty means the embedded chDB store in the data directory."),
    Setting("database_url", "", "SQLAlchemy URL of the metadata store; empty means "
            "SQLite at <data_dir>/meta.sqlite3. Use postgresql+psycopg://... at scale."),
    Setting("host", "127.0.0.1", "Address `userops serve` listens on."),
    Setting("port", 8000, "Port `userops serve` listens on.", _parse_int),
    Setting("default_timezone", "Asia/Shanghai", "Time zone of new projects (any IANA zone).",
            _parse_timezone),
    Setting("max_event_bytes", 32 * 1024, "Largest accepted event, in bytes of JSON.", _parse_int),
    Setting("max_batch_bytes", 500 * 1024, "Largest accepted HTTP batch, in bytes.", _parse_int),
    Setting("max_json_depth", 32, "Deepest accepted nesting of objects and arrays in an event.",
            _parse_int),
    Setting("event_max_future_seconds", 24 * 3600,
            "Events timestamped further in the future than this are rejected.", _parse_int),
    Setting("event_max_age_days", 20 * 365,
            "Events older than this many days are rejected as impossible.", _parse_int),
    Setting("dedupe_window_days", 7,
            "Re-sent messages with a messageId seen within this window are stored once.",
            _parse_int),
    Setting("import_chunk_rows", 100_000, "Events validated and written per import chunk.",
            _parse_int),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings plus where each value came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def data_path(self) -> Path:
        return Path(str(self.values["data_dir"])).expanduser().resolve()

    def replace(self, **overrides: Any) -> Settings:
        values = dict(self.values)
        sources = dict(self.sources)
        for name, value in overrides.items():
            values[name] = value
            sources[name] = "override"
        return Settings(values, sources)


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    try:
        return setting.parse(str(raw))
    except ValueError as exc:
        raise ConfigError(f"setting {setting.name} from {origin}: {exc}") from exc


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    table = doc.get("userops", doc)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [userops] must be a table")
    unknown = sorted(set(table) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return table


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting from overrides, environment, config file and defaults."""
    env = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def resolve(setting: Setting, file_values: Mapping[str, Any], file_name: str) -> None:
        if setting.name in overrides:
            values[setting.name] = _coerce(setting, overrides[setting.name], "command line")
            sources[setting.name] = "command line"
        elif setting.env_var in env:
            values[setting.name] = _coerce(setting, env[setting.env_var], setting.env_var)
            sources[setting.name] = f"env {setting.env_var}"
        elif setting.name in file_values:
            values[setting.name] = _coerce(setting, file_values[setting.name], file_name)
            sources[setting.name] = f"file {file_name}"
        else:
            values[setting.name] = setting.default
            sources[setting.name] = "default"

    # data_dir and config_file decide where the file is, so they cannot come from it.
    for name in ("data_dir", "config_file"):
        resolve(_BY_NAME[name], {}, "")
    config_path = Path(values["config_file"]) if values["config_file"] else None
    if config_path is None:
        candidate = Path(values["data_dir"]).expanduser() / "userops.toml"
        config_path = candidate if candidate.is_file() else None
    file_values = _read_config_file(config_path) if config_path else {}
    for setting in SETTINGS:
        if setting.name not in values:
            resolve(setting, file_values, str(config_path))
    return Settings(values, sources)
