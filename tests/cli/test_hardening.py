"""
The command line on hostile files: documented exit codes, one line, nothing blocks, nothing leaks.

Each test is one of the hardening probe's reproductions, run through ``modelcfg``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelcfg.auth import AuthStore
from tests.cli.conftest import CANARY, LEAK_MARK, Cli, assert_one_line_error


def test_a_store_with_a_number_too_long_to_read_exits_5(cli: Cli) -> None:
    """A 5000-digit number in the auth store is an auth-store error (exit 5), not an internal error."""
    cli.store_path.write_text('{"version": 1, "profiles": {}, "x": ' + "9" * 5000 + "}")
    cli.store_path.chmod(0o600)

    result = cli.call("auth", "status")

    assert_one_line_error(result, 5, str(cli.store_path), "$: unknown keys 'x'")


def test_doctor_reads_a_legacy_file_with_a_number_too_long_to_read(cli: Cli) -> None:
    """A 5000-digit expiry in a legacy oauth.json leaves doctor to plan the rest (never exit 70)."""
    (cli.home / "oauth.json").write_text(
        '{"openai": {"token": "t", "expires": ' + "9" * 5000 + "}}"
    )

    result = cli.call("doctor")

    assert result.code in (0, 1), result.stderr
    assert "Traceback" not in result.output


def test_a_store_holding_a_lone_surrogate_stays_writable(cli: Cli) -> None:
    """A stored key with a lone surrogate escape reads, and a later login writes the store, keeping it."""
    cli.store_path.write_text(
        '{"version": 1, "profiles": {"openai:default": {"kind": "api_key", "key": "sk-a\\ud800b"}}}'
    )
    cli.store_path.chmod(0o600)

    login = cli.call("login", "anthropic", "--stdin", stdin=CANARY)

    store = AuthStore(path=cli.store_path)
    kept = store.get("openai:default")
    assert 0 == login.code, login.stderr
    assert "sk-a\ud800b" == (kept.credential.secret.reveal() if kept else None)
    assert store.get("anthropic:default") is not None
    assert LEAK_MARK not in login.output


def test_a_fifo_at_the_store_path_exits_5_at_once(cli: Cli) -> None:
    """A FIFO where the auth store belongs is refused with exit 5 instead of blocking the command."""
    os.mkfifo(cli.store_path)

    result = cli.run("auth", "status")

    assert_one_line_error(result, 5, "FIFO", "not a regular file")


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask_000")
def test_login_under_umask_000_makes_private_directories(cli: Cli, tmp_path: Path) -> None:
    """Every directory login creates for a new store is 0700, even under umask 000."""
    home = tmp_path / "new" / "a" / "b" / "modelcfg"

    result = cli.with_env(MODELCFG_HOME=str(home)).run("login", "openai", "--stdin", stdin=CANARY)

    made = [tmp_path / "new", tmp_path / "new" / "a", tmp_path / "new" / "a" / "b", home]
    assert 0 == result.code, result.stderr
    assert [0o700] * 4 == [stat.S_IMODE(path.stat().st_mode) for path in made]
    assert 1 == json.loads((home / "auth.json").read_text())["version"]
