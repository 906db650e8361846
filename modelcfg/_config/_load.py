"""
The configuration's public entry points: :func:`load_config` and :func:`dump_config`.

Loading runs in three steps, each in its own module: the converter structures
the data (:mod:`modelcfg._config._converter`), what fails to structure is set
aside (:func:`modelcfg._config._problems.salvage`), and the checks between
sections run on the rest (:mod:`modelcfg._config._checks`). Every problem comes
out at once, as one :class:`~modelcfg.exceptions.ConfigError`. Reading files is
:mod:`modelcfg._config._file`'s business.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from modelcfg._config._checks import check
from modelcfg._config._converter import CONVERTER, structure
from modelcfg._config._migrate import legacy_keys, migrate_config
from modelcfg._config._problems import (
    MAX_DEPTH,
    at_path,
    json_type,
    path_of,
    salvage,
    too_deep,
)
from modelcfg._config._schema import Config
from modelcfg._core._redact import redact
from modelcfg.exceptions import ConfigError
from modelcfg.typing import JSON

__all__ = ["dump_config", "load_config", "load_config_data"]


def load_config(
    data: Mapping[str, object], *, migrate: bool = False, source: str | None = None
) -> Config:
    """
    Structure and validate a configuration from plain data (parsed JSON or TOML).

    Every problem is reported, each at its JSON path: the parts that fail to
    structure are set aside so that the references between sections (chains,
    orders, the allowlist) are checked in the same pass.

    Args:
        data: The whole configuration object.
        migrate: Migrate legacy keys in memory instead of refusing them.
        source: Where the data came from (a file name), for error messages.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Listing every problem, each as ``"$.json.path: what is wrong"``;
            this is the only exception it raises, whatever *data* holds.
    """
    return load_config_data(data, migrate=migrate, source=source)


def load_config_data(
    data: Mapping[str, object],
    *,
    migrate: bool = False,
    source: str | None = None,
    path: str | None = None,
    earlier: Iterable[str] = (),
) -> Config:
    """
    :func:`load_config`, for the file helpers: *path* is the file (named in the
    advice for legacy keys) and *earlier* lists problems already found in it.
    """
    found = list(earlier)

    def fail(errors: Iterable[str]) -> ConfigError:
        # Belt and braces: a secret never leaves in an error, whatever echoed it. The path
        # and the message are redacted apart, so that "apiKey: unknown key" stays whole.
        lines = (line.partition(": ") for line in (*found, *errors))
        return ConfigError(
            [redact(path) + sep + redact(message) for path, sep, message in lines], source=source
        )

    if not isinstance(data, Mapping):
        raise fail([at_path("$", f"the configuration must be an object, not {json_type(data)}")])
    deep = too_deep(data)
    if deep is not None:
        raise fail(
            [
                at_path(
                    path_of(reversed(deep)),
                    f"nests more than {MAX_DEPTH} levels deep, too deep for a configuration",
                )
            ]
        )
    legacy = legacy_keys(data)
    if legacy:
        if not migrate:
            command = "modelcfg doctor --fix" + (f" --config {shlex.quote(path)}" if path else "")
            raise fail(
                at_path(
                    key,
                    f"this is a legacy key; run `{command}` to migrate the file (or load "
                    "it with migrate=True to migrate in memory)",
                )
                for key in legacy
            )
        data, _changes = migrate_config(data)
    config, problems = structure(data)
    if config is None:
        salvaged, lost, later = salvage(data, problems, structure)
        errors = list(dict.fromkeys(problem.line() for problem in (*problems, *later)))
        raise fail(errors + (check(salvaged, lost) if salvaged is not None else []))
    errors = check(config)
    if errors or found:
        raise fail(errors)
    return config


def dump_config(config: Config) -> dict[str, JSON]:
    """
    The configuration as plain JSON data, with default values left out.

    ``load_config(dump_config(c)) == c`` for every valid ``c``. A policy rule is
    written as the keys that differ from its kind's default rule, so a file keeps
    what the user set rather than today's defaults.
    """
    data: dict[str, JSON] = CONVERTER.unstructure(config, Config)
    return data
