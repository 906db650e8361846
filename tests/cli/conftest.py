"""
Helpers for the command-line tests: an isolated home, and ways to run ``modelcfg``.

``Cli.run`` starts the real console script (``.venv/bin/modelcfg``) in a subprocess,
as users do; ``Cli.run(module=True)`` uses ``python -m modelcfg``; ``Cli.call`` runs
``main()`` in this process, for monkeypatched failures and captured logs.

Every run gets an environment built from scratch (``HOME``, ``MODELCFG_HOME`` and
``XDG_CONFIG_HOME`` inside ``tmp_path``, no API keys, no proxies), so the real
home directory and real credentials are never touched.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from modelcfg._cli import main

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
"""A secret that must never appear in any output."""

LEAK_MARK = "DO-NOT-LEAK"
"""Every canary secret in these tests contains this; no output may."""


@attrs.frozen(kw_only=True)
class Result:
    """
    The outcome of one ``modelcfg`` run.
    """

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """
        Stdout parsed as JSON (the JSON boundary: ``Any`` so tests can index it).
        """
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        """
        Stdout and stderr together.
        """
        return self.stdout + self.stderr


@attrs.frozen(kw_only=True)
class Cli:
    """
    Runs ``modelcfg`` in an isolated home, as the real console script (``run``) or in-process
    (``call``, for monkeypatched failures and quick table checks).
    """

    home: Path
    env: dict[str, str]

    def with_env(self, **extra: str) -> Cli:
        """
        A copy whose runs see *extra* environment variables too.
        """
        return Cli(home=self.home, env={**self.env, **extra})

    def call(self, *args: str, stdin: str = "") -> Result:
        """
        Run ``main(args)`` in this process with captured streams.
        """
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), environ=self.env, stdin=io.StringIO(stdin), stdout=out, stderr=err)
        return Result(code=code, stdout=out.getvalue(), stderr=err.getvalue())

    def run(self, *args: str, stdin: str | bytes = "", module: bool = False) -> Result:
        """
        Run the real ``modelcfg`` console script in a subprocess (``python -m modelcfg`` with *module*).

        *stdin* may be bytes, to feed input that is not valid UTF-8.
        """
        done = subprocess.run(
            [*self.command(module=module), *args],
            input=stdin.encode("utf-8") if isinstance(stdin, str) else stdin,
            capture_output=True,
            env=self.env,
            cwd=self.home,
            timeout=60,
            check=False,
        )
        return Result(
            code=done.returncode,
            stdout=done.stdout.decode("utf-8", "replace"),
            stderr=done.stderr.decode("utf-8", "replace"),
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """
        Start the console script with piped stdout and stderr and no stdin (OAuth logins).
        """
        return subprocess.Popen(
            [*self.command(), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=self.home,
        )

    @staticmethod
    def command(*, module: bool = False) -> list[str]:
        """
        The command line that starts ``modelcfg``: the console script, or ``python -m modelcfg``.
        """
        return [sys.executable, "-m", "modelcfg"] if module else [str(console_script())]

    def write_config(self, data: Mapping[str, object], name: str = "config.json") -> Path:
        """
        Write the user's config file into the isolated home.
        """
        path = self.home / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    @property
    def store_path(self) -> Path:
        """
        Where the auth store lives in the isolated home.
        """
        return self.home / "auth.json"


def console_script() -> Path:
    """
    The ``modelcfg`` console script installed next to the Python running the tests.
    """
    found = shutil.which("modelcfg", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"no modelcfg console script next to {sys.executable}: pip install -e .")
    return Path(found)


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """
    An environment with every modelcfg location inside *tmp_path* and no credentials.
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "MODELCFG_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """
    A ``modelcfg`` runner with an empty, isolated home.
    """
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home=home, env=isolated_env(tmp_path))


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    """
    Check a failed run: the exit code, one ``modelcfg: error:`` line, no traceback.
    """
    errors = [line for line in result.stderr.splitlines() if ": error:" in line]

    assert (code, 1) == (result.code, len(errors)), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def example_config() -> dict[str, object]:
    """
    A small valid config: two providers, a chain and an image chain.
    """
    return {
        "auth": {
            "profiles": {"anthropic:work": {"provider": "anthropic", "mode": "api_key"}},
            "order": {"anthropic": ["anthropic:default", "anthropic:work"]},
        },
        "agent": {
            "models": {
                "anthropic/claude-opus-4-5": {"alias": "Opus"},
                "openai/gpt-5.2": {"alias": "gpt52"},
            },
            "model": {"primary": "Opus", "fallbacks": ["openai/gpt-5.2"]},
            "imageModel": {"primary": "openai/gpt-5.2"},
        },
    }


def keys_for(*providers: str, secret: str = CANARY) -> dict[str, str]:
    """
    Environment variables holding *secret* as the key of each provider.
    """
    names = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
    return {names[p]: secret for p in providers}


def run_all(cli: Cli, commands: Sequence[Sequence[str]]) -> list[Result]:
    """
    Run each command in-process and return the results.
    """
    return [cli.call(*command) for command in commands]


def command_paths(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """
    Every command and subcommand of *parser*, as tuples of words (``("auth", "order", "get")``).
    """
    paths: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append((name,))
                paths += [(name, *rest) for rest in command_paths(sub)]
    return paths


def leaf_commands(paths: list[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """
    The commands of *paths* that have no subcommands: the ones that run something.
    """
    return {p for p in paths if not any(q[: len(p)] == p and q != p for q in paths)}
