"""
Reading configuration files (JSON or TOML): the thin I/O shell around :func:`load_config`.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

from modelcfg._config import Config, load_config
from modelcfg.exceptions import ConfigError

__all__ = ["example_config_data", "load_config_file", "read_config_data"]


def read_config_data(path: str | Path) -> dict[str, object]:
    """
    Parse a JSON (``.json``) or TOML (``.toml``) file into plain data.

    Raises:
        ConfigError: The file cannot be read or does not parse; the message names the
            file and, for syntax errors, the line and column.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([f"$: cannot read the file: {reason}"], source=str(path)) from None
    try:
        is_toml = path.suffix.lower() == ".toml"
        data: object = tomllib.loads(text) if is_toml else json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [f"$: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"],
            source=str(path),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"$: not valid TOML: {exc}"], source=str(path)) from None
    except RecursionError:
        raise ConfigError(
            ["$: the file nests too deeply to be a configuration"], source=str(path)
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(["$: the configuration must be an object"], source=str(path))
    return data


def load_config_file(path: str | Path, *, migrate: bool = False) -> Config:
    """
    Read and validate a configuration file.

    Args:
        path: A ``.json`` or ``.toml`` file.
        migrate: Migrate legacy keys in memory instead of refusing them.

    Raises:
        ConfigError: The file cannot be read, does not parse, or is invalid.
    """
    return load_config(read_config_data(path), migrate=migrate, source=str(path))


def example_config_data() -> dict[str, object]:
    """
    The example configuration bundled with modelcfg (used when no config is given).
    """
    text = resources.files("modelcfg").joinpath("data/example.json").read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data
