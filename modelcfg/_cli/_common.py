"""
What every command shares: exit codes, the run context (config, auth store) and output.
"""

from __future__ import annotations

import argparse
import datetime
import enum
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO, TypeAlias

import attrs

from modelcfg._config._file import example_config_data, load_config_file
from modelcfg._config._load import load_config
from modelcfg._config._problems import did_you_mean
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._config._schema import Config, ProviderConfig, provider_id
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._table import ellipsis, fit_table, render_table
from modelcfg.auth import AuthStore, default_auth_path
from modelcfg.typing import JSON

__all__ = [
    "CliError",
    "Context",
    "Exit",
    "Output",
    "Subparsers",
    "add_json_flag",
    "config_path",
    "emit_json",
    "format_expiry",
    "known_provider",
    "load_cli_config",
    "no_config_note",
    "nonempty_path",
    "parse_profile",
    "parse_provider",
    "positive_seconds",
    "PLAIN_WIDTH",
    "ellipsis",
    "fit_table",
    "output_for",
    "render_table",
    "used_providers",
]

BUNDLED_SOURCE = "the bundled example config"

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers()`` returns; command modules add their parsers to it."""


class Exit(enum.IntEnum):
    """
    Exit codes of the ``modelcfg`` command (documented in docs/cli.md).
    """

    OK = 0
    FAILURE = 1
    """The command ran and found a problem (a missing credential, pending changes, ...)."""
    USAGE = 2
    """The command line (or a script file it names) is wrong."""
    EXPIRING_SOON = 2
    """``auth status``: nothing is missing, but a credential expires soon (same value as USAGE)."""
    CONFIG = 3
    """The configuration cannot be read or is invalid."""
    NOT_FOUND = 4
    """A model, alias, provider or profile does not exist."""
    AUTH_STORE = 5
    """The auth store cannot be read or written."""
    GAVE_UP = 6
    """A request (or a simulated one) gave up after every candidate failed."""
    INTERNAL = 70
    """A bug in modelcfg: please report it."""
    INTERRUPTED = 130
    """Interrupted with Ctrl-C."""
    BROKEN_PIPE = 141
    """Stdout was closed early (``modelcfg ... | head``): quiet, as if ended by SIGPIPE."""


class CliError(Exception):
    """
    A one-line error for the user, with the exit code to leave with.

    Attributes:
        code: The exit code.
    """

    def __init__(self, message: str, code: Exit) -> None:
        self.code = code
        super().__init__(message)


@attrs.frozen(kw_only=True)
class Output:
    """
    Where a command writes: stdout for results, stderr for notes, warnings and errors.

    Attributes:
        stdout: The result stream.
        stderr: The stream for everything else.
        width: The columns tables must fit in, or ``None`` for no limit (``--wide``).
        color: Whether stdout may carry ANSI colour (a terminal, no ``NO_COLOR``).
        color_err: The same for stderr.
    """

    stdout: TextIO = attrs.field(eq=False)
    stderr: TextIO = attrs.field(eq=False)
    width: int | None = None
    color: bool = False
    color_err: bool = False

    @classmethod
    def standard(cls) -> Output:
        """
        The process's own streams.
        """
        return cls(stdout=sys.stdout, stderr=sys.stderr)

    def line(self, text: str = "") -> None:
        """
        Write one line of results to stdout.
        """
        print(text, file=self.stdout)

    def note(self, text: str) -> None:
        """
        Write one line to stderr, prefixed with ``modelcfg:``.
        """
        if self.color_err and text.startswith(("error:", "internal error:")):
            head, _, rest = text.partition(":")
            text = f"{_RED}{head}:{_RESET}{rest}"
        print(f"modelcfg: {text}", file=self.stderr)

    def warn(self, text: str) -> None:
        """
        Write one warning line to stderr.
        """
        label = f"{_YELLOW}warning:{_RESET}" if self.color_err else "warning:"
        print(f"modelcfg: {label} {text}", file=self.stderr)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        droppable: Sequence[int] = (),
        shrinkable: Sequence[int] | None = None,
    ) -> None:
        """
        Write a table that fits :attr:`width`; on a terminal, say which columns were left out.

        Args:
            headers: The column titles.
            rows: The cells, one list per row.
            droppable: Columns that may be left out to fit, the least useful first.
            shrinkable: Columns to cut before any other (see :func:`fit_table`).
        """
        text, dropped = fit_table(
            headers,
            rows,
            width=self.width,
            droppable=droppable,
            shrinkable=shrinkable,
            bold=self.color,
        )
        self.line(text)
        if dropped and is_tty(self.stderr):
            self.note(
                f"left out {', '.join(dropped)} to fit {self.width} columns "
                "(--wide shows every column)"
            )


_RED = "\033[31m"
_YELLOW = "\033[33m"
_RESET = "\033[0m"

PLAIN_WIDTH = 80
"""The columns tables fit in when the output is not a terminal."""


def output_for(
    stdout: TextIO,
    stderr: TextIO,
    environ: Mapping[str, str],
    *,
    wide: bool = False,
    color: str = "auto",
) -> Output:
    """
    The output of one run: tables fit the terminal (80 columns when not one), colour only on a tty.

    Args:
        stdout: The result stream.
        stderr: The note stream.
        environ: The environment (``COLUMNS``, ``NO_COLOR``, ``TERM``).
        wide: ``--wide``: never shorten a table.
        color: ``--color``: ``auto`` (a terminal without ``NO_COLOR`` and not ``TERM=dumb``),
            ``always`` or ``never``.
    """
    width: int | None = None
    if not wide:
        width = _columns(environ)
        if width is None:
            width = shutil.get_terminal_size().columns if is_tty(stdout) else PLAIN_WIDTH

    def colored(stream: TextIO) -> bool:
        if color in ("always", "never"):
            return color == "always"
        if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
            return False
        return is_tty(stream)

    return Output(
        stdout=stdout, stderr=stderr, width=width, color=colored(stdout), color_err=colored(stderr)
    )


def _columns(environ: Mapping[str, str]) -> int | None:
    """
    ``$COLUMNS`` when it is a sensible width.
    """
    text = environ.get("COLUMNS", "").strip()
    if text.isdigit() and 20 <= int(text) <= 10_000:
        return int(text)
    return None


def config_path(args: argparse.Namespace, environ: Mapping[str, str]) -> Path | None:
    """
    The config file to use, or ``None`` for the bundled example.

    In order: ``--config``, ``$MODELCFG_CONFIG``, then ``config.json``,
    ``config.toml``, ``config.yaml`` or ``config.yml`` in ``$MODELCFG_HOME``,
    ``$XDG_CONFIG_HOME/modelcfg`` or ``~/.config/modelcfg``.
    """
    explicit = getattr(args, "config", None) or environ.get("MODELCFG_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = config_dir(environ)
    if base is None:
        return None
    for name in ("config.json", "config.toml", "config.yaml", "config.yml"):
        if (base / name).is_file():
            return base / name
    return None


def config_dir(environ: Mapping[str, str]) -> Path | None:
    """
    The directory modelcfg keeps its files in, from the environment (``None`` without a home).
    """
    if home := environ.get("MODELCFG_HOME"):
        return Path(home).expanduser()
    if xdg := environ.get("XDG_CONFIG_HOME"):
        return Path(xdg).expanduser() / "modelcfg"
    if user_home := environ.get("HOME"):
        return Path(user_home) / ".config" / "modelcfg"
    return None


def data_file(environ: Mapping[str, str], variable: str, name: str) -> Path | None:
    """
    A file modelcfg keeps: ``$variable`` when set, else *name* in :func:`config_dir`.
    """
    if explicit := environ.get(variable):
        return Path(explicit).expanduser()
    base = config_dir(environ)
    return None if base is None else base / name


def no_config_note(environ: Mapping[str, str]) -> str:
    """
    What to say when no config file is found: where one would be read.

    It names an environment variable only when that variable is set.
    """
    where = config_dir(environ)
    if where is None:
        place = "pass --config"
    else:
        name = "$MODELCFG_HOME" if environ.get("MODELCFG_HOME") else str(where)
        place = f"run `modelcfg init`, create {name}/config.json or pass --config"
    return f"no config file found; using the bundled example config ({place})"


def load_cli_config(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[Config, str]:
    """
    Load the configuration a command should use, and say where it came from.

    Raises:
        CliError: A config file was named explicitly and does not exist.
        ConfigError: The file cannot be read or is invalid.
    """
    path = config_path(args, environ)
    if path is None:
        return load_config(example_config_data(), source=BUNDLED_SOURCE), BUNDLED_SOURCE
    if not path.exists():
        raise CliError(
            f"the config file {path} does not exist (named by --config or $MODELCFG_CONFIG)",
            Exit.CONFIG,
        )
    return load_config_file(path), str(path)


@attrs.frozen(kw_only=True)
class Context:
    """
    What a command runs with: its arguments, the environment, output and lazily loaded inputs.

    Attributes:
        args: The parsed command line.
        environ: The environment (``os.environ`` for the real command).
        out: Where to write.
        stdin: Where ``--stdin`` input comes from.
        clock: Seconds since the epoch.
    """

    args: argparse.Namespace
    environ: Mapping[str, str]
    out: Output
    stdin: TextIO = attrs.field(eq=False)
    clock: Callable[[], float] = attrs.field(default=time.time, eq=False)
    _cache: dict[str, object] = attrs.field(factory=dict, init=False, eq=False, repr=False)

    def config(self) -> Config:
        """
        The configuration (loaded once); says on stderr when the bundled example is used.
        """
        cached = self._cache.get("config")
        if isinstance(cached, Config):
            return cached
        config, source = load_cli_config(self.args, self.environ)
        if source == BUNDLED_SOURCE:
            self.out.note(no_config_note(self.environ))
        self._cache["config"] = config
        self._cache["config_source"] = source
        return config

    def config_source(self) -> str:
        """
        Where the configuration came from: a file name or the bundled example.
        """
        self.config()
        return str(self._cache["config_source"])

    def store_path(self) -> Path:
        """
        The auth store's file: ``--auth-store``, ``$MODELCFG_AUTH_STORE``, else the default.
        """
        explicit = getattr(self.args, "auth_store", None) or self.environ.get("MODELCFG_AUTH_STORE")
        if explicit:
            return Path(explicit).expanduser()
        return default_auth_path(self.environ)

    def store(self) -> AuthStore:
        """
        The auth store (opened once; nothing is read until it is used).
        """
        cached = self._cache.get("store")
        if isinstance(cached, AuthStore):
            return cached
        store = AuthStore(path=self.store_path())
        self._cache["store"] = store
        return store

    def order_overrides(self, providers: Sequence[str]) -> dict[str, tuple[ProfileId, ...]]:
        """
        The auth store's order override of each provider that has one.
        """
        store = self.store()
        return {p: order for p in providers if (order := store.order(p))}

    def stored_profiles(self, providers: Sequence[str]) -> dict[str, tuple[ProfileId, ...]]:
        """
        The profiles in the auth store of each provider that has some.
        """
        store = self.store()
        found = {p: tuple(s.profile for s in store.profiles(p)) for p in providers}
        return {p: profiles for p, profiles in found.items() if profiles}

    def now(self) -> float:
        """
        The current time, in seconds since the epoch.
        """
        return self.clock()


def used_providers(config: Config) -> tuple[str, ...]:
    """
    Every provider the config uses: chains, model entries, auth orders and profiles, in order.
    """
    refs: list[ModelRef] = []
    for chain in (config.text_chain(), config.image_chain()):
        if chain is not None:
            refs.extend(chain.models)
    refs.extend(config.agent.models)
    names = [r.provider for r in refs]
    names += list(config.auth.order)
    names += [p.provider for p in config.auth.profiles]
    return tuple(dict.fromkeys(names))


def chain_providers(config: Config) -> tuple[str, ...]:
    """
    The providers of the models in the text and image chains, in order.
    """
    refs: list[ModelRef] = []
    for chain in (config.text_chain(), config.image_chain()):
        if chain is not None:
            refs.extend(chain.models)
    return tuple(dict.fromkeys(r.provider for r in refs))


def parse_provider(text: str) -> str:
    """
    *text* as a provider id, lower-cased and checked as the config checks provider ids.

    Raises:
        CliError: The text is not a provider id (exit code 2).
    """
    try:
        return provider_id(text)
    except ValueError as exc:
        raise CliError(f"{text!r} is not a provider: {exc}", Exit.USAGE) from None


def known_provider(config: Config, text: str) -> tuple[str, ProviderConfig]:
    """
    The provider *text* names, and its settings.

    Raises:
        CliError: The text is not a provider id (exit code 2), or the provider is
            neither built in nor configured (exit code 4).
    """
    provider = parse_provider(text)
    settings = config.provider(provider)
    if settings is None:
        known = [*BUILTIN_PROVIDERS, *config.providers]
        raise CliError(
            f"provider {provider!r} is neither built in nor configured under $.providers"
            f"{did_you_mean(provider, known)}",
            Exit.NOT_FOUND,
        )
    return provider, settings


def parse_profile(text: str, provider: str | None = None) -> ProfileId:
    """
    ``provider:name``, or a bare ``name`` of *provider*.

    Raises:
        CliError: The text is not a profile id (exit code 2).
    """
    try:
        if ":" in text or provider is None:
            return ProfileId.parse(text)
        return ProfileId(provider=provider, name=text)
    except ValueError as exc:
        raise CliError(f"{text!r} is not a profile: {exc}", Exit.USAGE) from None


def positive_seconds(value: object, option: str) -> float:
    """
    *value* as a finite, positive number of seconds.

    Raises:
        CliError: It is zero, negative, infinite or not a number (exit code 2).
    """
    seconds = float(value) if isinstance(value, int | float | str) else math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise CliError(
            f"{option} must be a positive, finite number of seconds, not {value!r}", Exit.USAGE
        )
    return seconds


def nonempty_path(text: str) -> str:
    """
    An ``argparse`` type for a path option: refuses an empty string (exit code 2).

    Without it ``--config ""`` would silently mean "the default".

    Raises:
        argparse.ArgumentTypeError: *text* is empty or only white space.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a path, not an empty string")
    return text


def emit_json(out: Output, data: JSON) -> None:
    """
    Write *data* as indented JSON to stdout.
    """
    out.line(json.dumps(data, indent=2, ensure_ascii=False))


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """
    Add the ``--json`` flag every read command has.
    """
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def format_duration(seconds: float) -> str:
    """
    A duration for people: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``.
    """
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_expiry(expires_at: float | None, now: float) -> str:
    """
    When something expires, for people: ``never``, ``in 3 h 5 min (2026-01-01 12:00 UTC)``.
    """
    if expires_at is None:
        return "never"
    stamp = datetime.datetime.fromtimestamp(expires_at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    delta = expires_at - now
    when = f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"
    return f"{when} ({stamp})"


def is_tty(stream: TextIO) -> bool:
    """
    Whether *stream* is an interactive terminal.
    """
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def environ_default() -> Mapping[str, str]:
    """
    The real environment.
    """
    return os.environ
