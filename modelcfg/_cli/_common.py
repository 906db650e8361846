"""
What every command shares: exit codes, finding the config and auth store, output.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from modelcfg._config import Config, load_config
from modelcfg._config_file import example_config_data, load_config_file
from modelcfg.typing import JSON

__all__ = [
    "CliError",
    "Exit",
    "Output",
    "config_path",
    "emit_json",
    "load_cli_config",
    "render_table",
]


class Exit(enum.IntEnum):
    """
    Exit codes of the ``modelcfg`` command (documented in docs/cli.md).
    """

    OK = 0
    FAILURE = 1
    """The command ran and found a problem (for example a missing credential)."""
    USAGE = 2
    """The command line itself is wrong."""
    CONFIG = 3
    """The configuration cannot be read or is invalid."""
    NOT_FOUND = 4
    """A model, alias or profile does not exist."""
    AUTH_STORE = 5
    """The auth store cannot be read or written."""
    GAVE_UP = 6
    """A request (or a simulated one) gave up after every candidate failed."""
    INTERRUPTED = 130
    """Interrupted with Ctrl-C."""


class CliError(Exception):
    """
    A one-line error for the user, with the exit code to leave with.
    """

    def __init__(self, message: str, code: Exit) -> None:
        self.code = code
        super().__init__(message)


class Output:
    """
    Where a command writes: stdout for results, stderr for notes and errors.
    """

    def __init__(self, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def line(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def note(self, text: str) -> None:
        print(text, file=self.stderr)


def config_path(args: argparse.Namespace, environ: Mapping[str, str]) -> Path | None:
    """
    The config file to use: ``--config``, ``$MODELCFG_CONFIG``, then the user's
    config directory; ``None`` means the bundled example.
    """
    explicit = getattr(args, "config", None) or environ.get("MODELCFG_CONFIG")
    if explicit:
        return Path(explicit)
    home = environ.get("MODELCFG_HOME")
    if home:
        base = Path(home)
    else:
        xdg = environ.get("XDG_CONFIG_HOME")
        base = Path(xdg) / "modelcfg" if xdg else Path.home() / ".config" / "modelcfg"
    for name in ("config.json", "config.toml"):
        if (base / name).is_file():
            return base / name
    return None


def load_cli_config(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> tuple[Config, str]:
    """
    Load the configuration a command should use, and say where it came from.
    """
    environ = os.environ if environ is None else environ
    path = config_path(args, environ)
    if path is None:
        return load_config(example_config_data(), source="the bundled example"), (
            "the bundled example config"
        )
    if not path.exists():
        raise CliError(f"the config file {path} does not exist", Exit.CONFIG)
    return load_config_file(path), str(path)


def emit_json(out: Output, data: JSON) -> None:
    """
    Write *data* as indented JSON to stdout.
    """
    out.line(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False))


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """
    A plain text table with aligned columns and a rule under the header.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(row) for row in rows]
    return "\n".join(lines)
