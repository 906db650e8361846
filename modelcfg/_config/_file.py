"""
Reading configuration files: the thin I/O shell around :func:`load_config`.

JSON and TOML are always read; YAML needs PyYAML (``pip install 'modelcfg[yaml]'``).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from modelcfg._config._load import load_config_data
from modelcfg._config._problems import key_path
from modelcfg._config._schema import Config
from modelcfg.exceptions import ConfigError

__all__ = [
    "YAML_SUFFIXES",
    "example_config_data",
    "load_config_file",
    "read_config_data",
    "yaml_module",
]

YAML_SUFFIXES = (".yaml", ".yml")
"""File name endings read as YAML."""


def yaml_module(source: str) -> Any:
    """
    PyYAML, imported when a YAML file is first read or written.

    Raises:
        ConfigError: PyYAML is not installed; the message says how to install it.
    """
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise ConfigError(
            [
                "$: reading or writing a YAML config needs PyYAML: "
                "pip install 'modelcfg[yaml]' (or use a .json or .toml file)"
            ],
            source=source,
        ) from None


def _load_yaml(text: str, source: str) -> object:
    """
    A YAML text as plain data (safe loading: no tags that build Python objects).

    Raises:
        ConfigError: PyYAML is missing or the text is not valid YAML.
    """
    yaml = yaml_module(source)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError([f"$: not valid YAML: {problem}{where}"], source=source) from None


@attrs.frozen
class _LongNumber:
    """
    A whole number in a JSON file with more digits than Python converts; it never
    leaves this module.
    """

    digits: int


@attrs.define
class _Findings:
    """
    What the JSON parser's hooks saw: objects with repeated keys, too-long numbers.
    """

    repeated: dict[int, list[str]] = attrs.field(factory=dict)
    long_numbers: bool = False

    def pairs_hook(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            again: dict[str, None] = {}
            for key, _ in pairs:
                if key in seen:
                    again[key] = None
                seen.add(key)
            self.repeated[id(result)] = list(again)
        return result

    def parse_int(self, text: str) -> int | _LongNumber:
        limit = sys.get_int_max_str_digits()
        digits = len(text.lstrip("-"))
        if limit and digits > limit:
            self.long_numbers = True
            return _LongNumber(digits=digits)
        return int(text)

    def problems(self, data: object) -> tuple[list[str], list[str]]:
        """
        The repeated keys and the too-long numbers of *data*, each at its path.
        """
        repeated: list[str] = []
        long_numbers: list[str] = []
        for path, value in _walk(data):
            if isinstance(value, _LongNumber):
                long_numbers.append(
                    f"{path}: a number with {value.digits} digits is far more than any "
                    "configuration value needs"
                )
            elif isinstance(value, dict) and id(value) in self.repeated:
                repeated += [
                    f"{key_path(path, key)}: this key appears more than once in the object, and "
                    "only the last one would count; keep one"
                    for key in self.repeated[id(value)]
                ]
        return repeated, long_numbers


def _walk(data: object) -> Iterator[tuple[str, object]]:
    """
    Every value of parsed JSON with its path, without recursion (files nest deeply).
    """
    stack: list[tuple[str, object]] = [("$", data)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((key_path(path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))


def _long_number_line(text: str) -> str:
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"\d(?:_?\d){{{max(limit, 1)},}}", text)
    return f" at line {text.count(chr(10), 0, found.start()) + 1}" if found else ""


def _parse(path: Path) -> tuple[dict[str, object], list[str]]:
    """
    Parse a config file; return its data and the repeated keys found in it.

    Raises:
        ConfigError: The file cannot be read or parsed, or holds a number too long
            to read.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([f"$: cannot read the file: {reason}"], source=source) from None
    findings = _Findings()
    try:
        if path.suffix.lower() == ".toml":
            data: object = tomllib.loads(text)
        elif path.suffix.lower() in YAML_SUFFIXES:
            data = None  # read below: its errors are ConfigErrors already
        else:
            data = json.loads(
                text, object_pairs_hook=findings.pairs_hook, parse_int=findings.parse_int
            )
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [f"$: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"],
            source=source,
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"$: not valid TOML: {exc}"], source=source) from None
    except RecursionError:
        raise ConfigError(
            ["$: the file nests too deeply to be a configuration"], source=source
        ) from None
    except ValueError:  # tomllib reading a whole number longer than Python converts
        raise ConfigError(
            [
                f"$: a number{_long_number_line(text)} has more digits than a configuration "
                "value can have"
            ],
            source=source,
        ) from None
    if path.suffix.lower() in YAML_SUFFIXES:
        data = _load_yaml(text, source)
    repeated: list[str] = []
    if findings.repeated or findings.long_numbers:
        repeated, long_numbers = findings.problems(data)
        if long_numbers:
            raise ConfigError([*repeated, *long_numbers], source=source)
    if not isinstance(data, dict):
        raise ConfigError(["$: the configuration must be an object"], source=source)
    return data, repeated


def read_config_data(path: str | Path) -> dict[str, object]:
    """
    Parse a JSON (``.json``), TOML (``.toml``) or YAML (``.yaml``, ``.yml``) file into plain data.

    Raises:
        ConfigError: The file cannot be read or does not parse; the message names the
            file and, for syntax errors, the line and column. A key repeated in one
            JSON object, which would make all but the last value vanish, is an error
            at its path too.
    """
    data, repeated = _parse(Path(path))
    if repeated:
        raise ConfigError(repeated, source=str(path))
    return data


def load_config_file(path: str | Path, *, migrate: bool = False) -> Config:
    """
    Read and validate a configuration file.

    Problems in the file (repeated keys) and in the configuration are reported
    together; the advice for legacy keys names the file (``modelcfg doctor --fix
    --config PATH``).

    Args:
        path: A ``.json`` or ``.toml`` file.
        migrate: Migrate legacy keys in memory instead of refusing them.

    Raises:
        ConfigError: The file cannot be read, does not parse, or is invalid; this
            is the only exception it raises.
    """
    data, repeated = _parse(Path(path))
    return load_config_data(
        data, migrate=migrate, source=str(path), path=str(path), earlier=repeated
    )


def example_config_data() -> dict[str, object]:
    """
    The example configuration bundled with modelcfg (used when no config is given).
    """
    text = resources.files("modelcfg").joinpath("data/example.json").read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data
