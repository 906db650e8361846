"""
How ``modelcfg`` fails: one line, a documented exit code, never a traceback.
"""

from __future__ import annotations

import pytest

from modelcfg._cli import _models
from tests.cli.conftest import Cli, assert_one_line_error


def test_no_command_prints_help_and_exits_2(cli: Cli) -> None:
    """Without a command the help goes to stderr and the exit code is 2."""
    result = cli.run()

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

    login = cli.call("login", "openai", "--stdin", "--auth-store", str(store), stdin="k" * 24)
    listing = cli.call(
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

    env.call("login", "openai", "--stdin", stdin="k" * 24)
    result = env.call("models", "list", "--json")

    assert store.exists()
    assert ["openai/gpt-5.2"] == [m["id"] for m in result.json()["models"]]


def test_unreadable_store_exits_5(cli: Cli) -> None:
    """A store path that is a directory is an auth-store error, exit 5."""
    cli.store_path.mkdir()

    result = cli.run("login", "openai", "--stdin", stdin="k" * 24)

    assert_one_line_error(result, 5, "auth store")


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
