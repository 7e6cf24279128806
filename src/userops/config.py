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


def _int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected an integer, got {raw!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise ValueError(f"expected an integer {bounds}, got {value}")
        return value

    return parse


def _parse_str(raw: str) -> str:
    return raw


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone, else ValueError; shared with project validation."""
    try:
        ZoneInfo(name)
    # A zone folder such as "Asia" raises IsADirectoryError (an OSError), not the not-found error.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown IANA time zone {name!r} (use e.g. Asia/Shanghai)") from None
    return name


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
    Setting("config_file", "",
            "TOML file with settings; default <data_dir>/userops.toml if present."),
    Setting("clickhouse_url", "", "ClickHouse server URL (http://user:pass@host:8123/db); "
            "empty means the embedded chDB store in the data directory."),
    Setting("database_url", "", "SQLAlchemy URL of the metadata store; empty means "
            "SQLite at <data_dir>/meta.sqlite3. Use postgresql+psycopg://... at scale."),
    Setting("host", "127.0.0.1", "Address `userops serve` listens on."),
    Setting("port", 8000, "Port `userops serve` listens on.", _int_at_least(0, 65535)),
    Setting("default_timezone", "Asia/Shanghai", "Time zone of new projects (any IANA zone).",
            check_timezone),
    Setting("max_event_bytes", 32 * 1024, "Largest accepted event, in bytes of JSON.",
            _int_at_least(1)),
    Setting("max_batch_bytes", 500 * 1024, "Largest accepted HTTP batch, in bytes.",
            _int_at_least(1)),
    Setting("max_json_depth", 32, "Deepest accepted nesting of objects and arrays in an event.",
            _int_at_least(1)),
    Setting("event_max_future_seconds", 24 * 3600,
            "Events timestamped further in the future than this are rejected.", _int_at_least(0)),
    Setting("event_max_age_days", 20 * 365,
            "Events older than this many days are rejected as impossible.", _int_at_least(1)),
    Setting("dedupe_window_days", 7,
            "Re-sent messages with a messageId seen within this window are stored once.",
            _int_at_least(0)),
    Setting("import_chunk_rows", 100_000, "Events validated and written per import chunk.",
            _int_at_least(1)),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings plus where each value came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Through __dict__: while pickle or copy rebuilds an instance, ``values`` is not set yet
        # and ``self.values`` would recurse.
        values = self.__dict__.get("values")
        if values is None or name not in values:
            raise AttributeError(name)
        return values[name]

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
    # TOML values arrive typed: a table, list or number for a text setting is a mistake that
    # str() would hide (`host = 80` is not an address).
    if isinstance(raw, dict | list) or (isinstance(setting.default, str) and
                                         not isinstance(raw, str | Path)):  # fmt: skip
        raise ConfigError(f"setting {setting.name} from {origin}: expected text, got {raw!r}")
    try:
        return setting.parse(str(raw))
    except ValueError as exc:
        raise ConfigError(f"setting {setting.name} from {origin}: {exc}") from exc


# Where the config file is depends on these, so a value for them inside the file is never used.
_LOCATING = ("data_dir", "config_file")


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
    outside = sorted(set(doc) - {"userops"}) if table is not doc else []
    if outside:
        raise ConfigError(
            f"config file {path}: {', '.join(outside)} outside the [userops] table; "
            "put every setting under [userops] (or drop the table header)"
        )
    unknown = sorted(set(table) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(_BY_NAME)})")  # fmt: skip
    locating = [name for name in _LOCATING if name in table]
    if locating:
        raise ConfigError(
            f"config file {path}: {', '.join(locating)} cannot be set in the config file it "
            "locates; use --data-dir, USEROPS_DATA_DIR or USEROPS_CONFIG_FILE"
        )
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

    for name in _LOCATING:
        resolve(_BY_NAME[name], {}, "")
    config_path = Path(values["config_file"]).expanduser() if values["config_file"] else None
    if config_path is None:
        candidate = Path(values["data_dir"]).expanduser() / "userops.toml"
        config_path = candidate if candidate.is_file() else None
    file_values = _read_config_file(config_path) if config_path else {}
    for setting in SETTINGS:
        if setting.name not in values:
            resolve(setting, file_values, str(config_path))
    return Settings(values, sources)
