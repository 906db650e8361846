"""
How ``modelcfg`` fails: one line, a documented exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess

import pytest

from modelcfg._cli import _models
from modelcfg._cli._main import build_parser
from tests.cli.conftest import (
    Cli,
    assert_one_line_error,
    command_paths,
    console_script,
    leaf_commands,
)


def test_no_command_prints_help_and_exits_2(cli: Cli) -> None:
    """Without a command `python -m modelcfg` prints the help to stderr and exits 2."""
    result = cli.run(module=True)

    assert 2 == result.code
    assert "usage: modelcfg" in result.stderr


def test_unknown_command_is_one_line(cli: Cli) -> None:
    """An unknown command is a usage error in one line."""
    result = cli.run("modles")

    assert 2 == result.code
    assert 1 == len(result.stderr.splitlines())
    assert "invalid choice: 'modles'" in result.stderr


def test_help_lists_every_command(cli: Cli) -> None:
    """--help names each command and exits 0."""
    result = cli.call("--help")

    assert 0 == result.code
    for name in ("models", "auth", "login", "logout", "doctor", "validate", "explain"):
        assert name in result.stdout


def test_global_options_work_after_the_command(cli: Cli) -> None:
    """--config and --auth-store are accepted after the subcommand too."""
    config = cli.write_config(
        {"agent": {"model": {"primary": "openai/gpt-5.2"}}}, name="other.json"
    )
    store = cli.home / "elsewhere" / "store.json"

    login = cli.run("login", "openai", "--stdin", "--auth-store", str(store), stdin="k" * 24)
    listing = cli.run(
        "models", "list", "--json", "--config", str(config), "--auth-store", str(store)
    )

    assert 0 == login.code
    assert store.exists()
    assert ["openai/gpt-5.2"] == [m["id"] for m in listing.json()["models"]]
    assert "openai:default (auth store)" in listing.json()["models"][0]["auth"]["source"]


def test_environment_selects_config_and_store(cli: Cli) -> None:
    """$MODELCFG_CONFIG and $MODELCFG_AUTH_STORE choose the files."""
    config = cli.write_config({"agent": {"model": {"primary": "openai/gpt-5.2"}}}, name="env.json")
    store = cli.home / "env-store.json"
    env = cli.with_env(MODELCFG_CONFIG=str(config), MODELCFG_AUTH_STORE=str(store))

    login = env.run("login", "openai", "--stdin", stdin="k" * 24)
    result = env.run("models", "list", "--json")

    assert (0, 0) == (login.code, result.code)
    assert store.exists()
    assert ["openai/gpt-5.2"] == [m["id"] for m in result.json()["models"]]
    assert "openai:default (auth store)" in result.json()["models"][0]["auth"]["source"]


def test_options_win_over_the_environment(cli: Cli) -> None:
    """--config and --auth-store win over $MODELCFG_CONFIG and $MODELCFG_AUTH_STORE."""
    chosen = cli.write_config({"agent": {"model": {"primary": "openai/gpt-5.2"}}}, name="c.json")
    ignored = cli.write_config({"agnet": {}}, name="broken.json")
    env = cli.with_env(MODELCFG_CONFIG=str(ignored), MODELCFG_AUTH_STORE=str(cli.home / "nope"))
    (cli.home / "nope").mkdir()

    result = env.run(
        "models", "list", "--json", "--config", str(chosen), "--auth-store", str(cli.store_path)
    )

    assert (0, ["openai/gpt-5.2"]) == (result.code, [m["id"] for m in result.json()["models"]])


@pytest.mark.parametrize("option", ["--config", "--auth-store"])
def test_an_empty_path_option_is_a_usage_error(cli: Cli, option: str) -> None:
    """--config "" or --auth-store "" exits 2 instead of silently meaning the default."""
    result = cli.run("models", "list", option, "")

    assert_one_line_error(result, 2, f"argument {option}: must name a path")
    assert "" == result.stdout


def test_an_empty_auth_dir_is_a_usage_error(cli: Cli) -> None:
    """doctor --auth-dir "" exits 2 instead of searching the config's directory."""
    result = cli.call("doctor", "--auth-dir", "")

    assert_one_line_error(result, 2, "argument --auth-dir: must name a path")


def test_an_empty_environment_variable_counts_as_unset(cli: Cli) -> None:
    """MODELCFG_CONFIG="" is the conventional "unset": the bundled example is used."""
    result = cli.with_env(MODELCFG_CONFIG="", MODELCFG_AUTH_STORE="").call("models", "list")

    assert 0 == result.code
    assert "bundled example config" in result.stderr


@pytest.mark.parametrize(
    "args", [("models", "list", "--all"), ("--help",)], ids=["models-list-all", "help"]
)
def test_a_closed_stdout_ends_quietly_with_141(cli: Cli, args: tuple[str, ...]) -> None:
    """Output into a pipe whose reader is gone (`| head -1`) exits 141 without a word."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone: every write fails with EPIPE
    try:
        done = subprocess.run(
            [*cli.command(), *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            env=cli.env,
            cwd=cli.home,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)

    notes = [line for line in done.stderr.decode().splitlines() if "bundled example" not in line]
    assert (141, []) == (done.returncode, notes)


def test_head_reads_the_first_line_of_models_list_all(cli: Cli) -> None:
    """`modelcfg models list --all | head -1` prints the header and no error."""
    script = f"{shlex.quote(str(console_script()))} models list --all | head -1"

    done = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env=cli.env, timeout=60, check=False
    )

    assert (0, ["MODEL"]) == (done.returncode, done.stdout.split()[:1])
    assert "error" not in done.stderr


def test_an_operating_system_error_is_one_line_with_exit_1(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError (a file that cannot be written) is one line naming the file, exit 1."""

    def denied(_context: object) -> int:
        raise PermissionError(13, "Permission denied", "/etc/modelcfg/config.json")

    monkeypatch.setattr(_models, "run_list", denied)

    result = cli.call("models", "list")

    assert_one_line_error(result, 1, "Permission denied (/etc/modelcfg/config.json)")


STORE_READERS = [
    pytest.param(("models", "list"), id="models-list"),
    pytest.param(("models", "resolve", "Opus"), id="models-resolve"),
    pytest.param(("auth", "order", "get", "openai"), id="auth-order-get"),
    pytest.param(("auth", "order", "set", "openai", "default"), id="auth-order-set"),
    pytest.param(("auth", "order", "clear", "openai"), id="auth-order-clear"),
    pytest.param(("auth", "status"), id="auth-status"),
    pytest.param(("login", "openai", "--stdin"), id="login"),
    pytest.param(("logout", "openai"), id="logout"),
    pytest.param(("doctor", "--import-env"), id="doctor"),
    pytest.param(("validate",), id="validate"),
    pytest.param(("explain", "{script}"), id="explain"),
]
"""Every command that reads the auth store (doctor: when it has something to import)."""


def _with_script(cli: Cli, args: tuple[str, ...]) -> tuple[str, ...]:
    """
    *args* with ``{script}`` replaced by an explain script that replays nothing.
    """
    script = cli.home / "script.json"
    script.write_text('{"events": []}', encoding="utf-8")
    return tuple(a.replace("{script}", str(script)) for a in args)


def _bad_store(cli: Cli, kind: str) -> None:
    match kind:
        case "unreadable":
            cli.store_path.mkdir()
        case "corrupt":
            cli.store_path.write_text("{not json", encoding="utf-8")
        case "newer":
            cli.store_path.write_text(json.dumps({"version": 99, "profiles": {}}))
            cli.store_path.chmod(0o600)


@pytest.mark.parametrize("args", STORE_READERS)
def test_an_unreadable_store_is_one_line_with_exit_5_for_every_command(
    cli: Cli, args: tuple[str, ...]
) -> None:
    """Each command that reads the store, run as the console script, exits 5 in one line."""
    args = _with_script(cli, args)
    _bad_store(cli, "unreadable")

    result = cli.with_env(OPENAI_API_KEY="sk-env-fake-0123456789abcdef").run(
        *args, stdin="sk-fake-0123456789abcdef0123"
    )

    assert_one_line_error(result, 5, str(cli.store_path))
    assert cli.store_path.is_dir()


@pytest.mark.parametrize("kind", ["corrupt", "newer"])
@pytest.mark.parametrize("args", STORE_READERS)
def test_a_corrupt_or_newer_store_is_refused_by_every_command(
    cli: Cli, args: tuple[str, ...], kind: str
) -> None:
    """A store that is not JSON, or from a newer modelcfg, exits 5 and is left as it was."""
    args = _with_script(cli, args)
    _bad_store(cli, kind)
    before = cli.store_path.read_bytes()

    result = cli.with_env(OPENAI_API_KEY="sk-env-fake-0123456789abcdef").call(
        *args, stdin="sk-fake-0123456789abcdef0123"
    )

    assert_one_line_error(result, 5, str(cli.store_path))
    assert before == cli.store_path.read_bytes()


CONFIG_READERS = [
    pytest.param(("models", "list"), id="models-list"),
    pytest.param(("models", "resolve", "Opus"), id="models-resolve"),
    pytest.param(("models", "search", "gpt"), id="models-search"),
    pytest.param(("auth", "order", "get", "openai"), id="auth-order-get"),
    pytest.param(("auth", "order", "set", "openai", "default"), id="auth-order-set"),
    pytest.param(("auth", "order", "clear", "openai"), id="auth-order-clear"),
    pytest.param(("auth", "status"), id="auth-status"),
    pytest.param(("login", "openai", "--stdin"), id="login"),
    pytest.param(("doctor",), id="doctor"),
    pytest.param(("validate",), id="validate"),
    pytest.param(("explain", "{script}"), id="explain"),
]
"""Every command that reads the config (logout and demo do not)."""


@pytest.mark.parametrize("args", CONFIG_READERS)
def test_a_malformed_config_is_a_config_error_for_every_command(
    cli: Cli, args: tuple[str, ...]
) -> None:
    """A config file that is not JSON exits 3 with one error line naming it, as the console script."""
    args = _with_script(cli, args)
    path = cli.home / "config.json"
    path.write_text('{"agent": {', encoding="utf-8")

    result = cli.run(*args, stdin="sk-fake-0123456789abcdef0123")

    assert_one_line_error(result, 3, str(path))
    assert "" == result.stdout
    assert not cli.store_path.exists()


def test_unexpected_errors_are_one_line_internal_errors(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug prints one 'internal error' line and exits 70, without a traceback."""

    def broken(_context: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(_models, "run_list", broken)

    result = cli.call("models", "list")

    assert (70, "modelcfg: internal error: RuntimeError: boom") == (
        result.code,
        result.stderr.splitlines()[-1],
    )


def test_keyboard_interrupt_exits_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C exits 130 quietly."""

    def interrupted(_context: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(_models, "run_list", interrupted)

    result = cli.call("models", "list")

    assert 130 == result.code
    assert "Traceback" not in result.stderr


def test_insecure_store_warning_is_one_line(cli: Cli) -> None:
    """A store others can read gives a one-line warning, not a Python warning dump."""
    cli.call("login", "openai", "--stdin", stdin="k" * 24)
    cli.store_path.chmod(0o644)

    result = cli.call("auth", "status")

    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert 1 == len(warnings)
    assert warnings[0].startswith("modelcfg: warning: The auth store")
    assert "chmod 600" in warnings[0]


def test_auth_store_help_names_the_real_default(cli: Cli) -> None:
    """--help describes the auth store default as default_auth_path() does, not "next to the config"."""
    result = cli.call("--help")

    text = " ".join(result.stdout.split())
    assert 0 == result.code
    assert "next to the config" not in text
    assert (
        "else auth.json in $MODELCFG_HOME, $XDG_CONFIG_HOME/modelcfg or ~/.config/modelcfg" in text
    )


LEAVES = sorted(leaf_commands(command_paths(build_parser())))


@pytest.mark.parametrize("command", LEAVES, ids=["-".join(c) for c in LEAVES])
def test_every_command_refuses_an_unknown_option_in_one_line(
    cli: Cli, command: tuple[str, ...]
) -> None:
    """Each command, run as the console script with a bogus option, exits 2 with one usage line."""
    result = cli.run(*command, "--no-such-option")

    assert_one_line_error(result, 2, "--help`)")
    assert "" == result.stdout


def test_demo_runs_as_the_console_script(cli: Cli) -> None:
    """demo runs offline, as the console script, and exits 0."""
    result = cli.run("demo")

    assert (0, "") == (result.code, result.stderr)
    assert "request 2, same session" in result.stdout
