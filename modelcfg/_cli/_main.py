"""
Argument parsing and dispatch for the ``modelcfg`` command, and its error handling.

Every command module has a ``register(subparsers, common)`` function that adds its
parser and sets ``run`` to a function ``(Context) -> int``. Errors never show a
traceback: they become one ``modelcfg: error: ...`` line and a documented exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn, TextIO

from modelcfg._cli import (
    _auth,
    _catalog,
    _completion,
    _demo,
    _doctor,
    _explain,
    _health,
    _init,
    _login,
    _models,
    _params,
    _usage,
    _validate,
)
from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Output,
    Subparsers,
    environ_default,
    nonempty_path,
    output_for,
)
from modelcfg._core._redact import redact
from modelcfg.exceptions import (
    AuthStoreError,
    ConfigError,
    CredentialsError,
    ModelcfgError,
    UnknownModelError,
)

__all__ = ["COMMANDS", "build_parser", "main"]

Register = Callable[[Subparsers, argparse.ArgumentParser], None]

COMMANDS: tuple[tuple[str, Register], ...] = (
    ("init", _init.register),
    ("models", _models.register),
    ("catalog", _catalog.register),
    ("auth", _auth.register),
    ("login", _login.register_login),
    ("logout", _login.register_logout),
    ("doctor", _doctor.register),
    ("validate", _validate.register),
    ("explain", _explain.register),
    ("params", _params.register),
    ("experiments", _params.register_experiments),
    ("usage", _usage.register),
    ("health", _health.register),
    ("demo", _demo.register),
    ("completion", _completion.register),
)
"""Every command, in the order ``--help`` lists them."""


class _Parser(argparse.ArgumentParser):
    """
    An argument parser whose errors are one line: ``modelcfg models: error: ...``.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(Exit.USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _common_options() -> argparse.ArgumentParser:
    """
    The global options, accepted before or after the command name.
    """
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        type=nonempty_path,
        default=argparse.SUPPRESS,
        help="the config file (default: $MODELCFG_CONFIG, else config.json in $MODELCFG_HOME)",
    )
    common.add_argument(
        "--auth-store",
        metavar="PATH",
        type=nonempty_path,
        default=argparse.SUPPRESS,
        help="the auth store file (default: $MODELCFG_AUTH_STORE, else auth.json in "
        "$MODELCFG_HOME, $XDG_CONFIG_HOME/modelcfg or ~/.config/modelcfg)",
    )
    common.add_argument(
        "--wide",
        action="store_true",
        default=argparse.SUPPRESS,
        help="never shorten tables to fit the terminal (80 columns when not a terminal)",
    )
    common.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=argparse.SUPPRESS,
        help="colour: auto (a terminal, unless NO_COLOR is set), always or never",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """
    The whole command line.
    """
    common = _common_options()
    parser = _Parser(
        prog="modelcfg",
        description="Pick a model, rotate credentials and survive a provider that misbehaves.",
        parents=[common],
    )
    parser.add_argument(
        "--version", action="version", version=f"modelcfg {_version()}", help="show the version"
    )
    subparsers = typing.cast(
        "Subparsers",
        parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser),
    )
    for _name, register in COMMANDS:
        register(subparsers, common)
    return parser


def _version() -> str:
    import modelcfg

    return str(modelcfg.__version__)


def _error_line(exc: BaseException) -> tuple[str, Exit]:
    match exc:
        case CliError(code=code):
            return str(exc), code
        case ConfigError():
            return str(exc), Exit.CONFIG
        case UnknownModelError():
            return str(exc), Exit.NOT_FOUND
        case AuthStoreError():
            return str(exc), Exit.AUTH_STORE
        case CredentialsError():
            return str(exc), Exit.FAILURE
        case ModelcfgError():
            return str(exc), Exit.FAILURE
        case OSError():
            where = f" ({exc.filename})" if exc.filename else ""
            return f"{exc.strerror or exc}{where}", Exit.FAILURE
        case _:  # pragma: no cover - the callers pass only the types above
            return str(exc), Exit.INTERNAL


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """
    Run the command line with *argv* (default: ``sys.argv[1:]``) and return the exit code.

    Args:
        argv: The arguments, without the program name.
        environ: The environment (default: ``os.environ``).
        stdin: Where ``--stdin`` input is read from (default: ``sys.stdin``).
        stdout: Where results go (default: ``sys.stdout``).
        stderr: Where notes and errors go (default: ``sys.stderr``).

    Returns:
        The exit code (see ``docs/cli.md``).
    """
    out = Output(stdout=stdout or sys.stdout, stderr=stderr or sys.stderr)
    try:
        return _main(argv, out, environ, stdin)
    except BrokenPipeError:
        # The reader went away (`modelcfg models list | head -1`): stop quietly, as a
        # program ended by SIGPIPE does, and keep Python from complaining at exit.
        _discard(out.stdout)
        return Exit.BROKEN_PIPE


def _discard(stream: TextIO) -> None:
    """
    Point *stream*'s file descriptor at /dev/null, so its last flush cannot fail.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a StringIO in tests): nothing will flush it
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _main(
    argv: Sequence[str] | None,
    out: Output,
    environ: Mapping[str, str] | None,
    stdin: TextIO | None,
) -> int:
    parser = build_parser()
    try:
        args = _parse(parser, argv, out)
    except SystemExit as exc:
        out.stdout.flush()  # --help: a closed pipe shows here, not at exit
        return exc.code if isinstance(exc.code, int) else Exit.USAGE
    environ = environ_default() if environ is None else environ
    out = output_for(
        out.stdout,
        out.stderr,
        environ,
        wide=bool(getattr(args, "wide", False)),
        color=str(getattr(args, "color", "auto")),
    )
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(out.stderr)
        return Exit.USAGE
    context = Context(
        args=args,
        environ=environ,
        out=out,
        stdin=stdin or sys.stdin,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("default")

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            out.warn(redact(str(message)))

        warnings.showwarning = show
        return _run(run, context)


def _parse(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, out: Output
) -> argparse.Namespace:
    # argparse writes --help and errors to sys.stdout / sys.stderr; point them at *out*.
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out.stdout, out.stderr
    try:
        return parser.parse_args(argv)
    finally:
        sys.stdout, sys.stderr = saved


def _run(run: Callable[[Context], int], context: Context) -> int:
    out = context.out
    try:
        code = int(run(context))
        out.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        raise  # main() ends quietly
    except KeyboardInterrupt:
        out.note("interrupted")
        return Exit.INTERRUPTED
    except ConfigError as exc:
        where = f" in {exc.source}" if exc.source else ""
        out.note(f"error: the configuration{where} is invalid:")
        for line in exc.errors:
            print(f"  {line}", file=out.stderr)
        return Exit.CONFIG
    except (CliError, ModelcfgError, OSError) as exc:
        message, code = _error_line(exc)
        out.note(f"error: {_one_line(message)}")
        return code
    except Exception as exc:
        out.note(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}")
        return Exit.INTERNAL


def _one_line(text: str) -> str:
    return redact(" ".join(text.split()))
