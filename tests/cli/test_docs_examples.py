"""
The examples in docs/cli.md are real output: each documented command is run and compared.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.cli.conftest import Cli

CLI_DOC = Path(__file__).parents[2] / "docs" / "cli.md"

CHECKED = (
    "models list",
    "models resolve",
    "models search",
    "auth order",
    "auth status",
    "validate",
)
"""Commands whose examples run offline in the documented setup (login, doctor, explain need more)."""

BUNDLED_NOTE = "modelcfg: no config file found; using the bundled example config"


def _examples() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """
    Each ``text`` block of docs/cli.md that starts with ``$ modelcfg``: its commands and output.
    """
    blocks = re.findall(r"```text\n(.*?)```", CLI_DOC.read_text(encoding="utf-8"), flags=re.S)
    examples = []
    for block in blocks:
        if not block.startswith("$ modelcfg "):
            continue
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line or steps[-1][1]:
                steps[-1][1].append(line)
        steps = [(command, _trimmed(output)) for command, output in steps]
        if all(command.removeprefix("modelcfg ").startswith(CHECKED) for command, _ in steps):
            examples.append((steps[0][0], steps))
    return examples


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


EXAMPLES = _examples()


def test_the_documented_examples_are_found() -> None:
    """The parser finds an example for every checked command."""
    found = {command for _, steps in EXAMPLES for command, _ in steps}

    assert all(any(c.startswith(f"modelcfg {name}") for c in found) for name in CHECKED)


@pytest.mark.parametrize(("first", "steps"), EXAMPLES, ids=[first for first, _ in EXAMPLES])
def test_a_documented_example_is_what_the_command_prints(
    cli: Cli, first: str, steps: list[tuple[str, list[str]]]
) -> None:
    """In the setup docs/cli.md describes, each example's command prints exactly what is shown."""
    env = cli.with_env(OPENROUTER_API_KEY="sk-or-v1-fake-0123456789abcdef")
    env.call("login", "openai", "--stdin", stdin="sk-proj-fake-0123456789abcdef6789")

    for command, expected in steps:
        result = env.call(*shlex.split(command)[1:])
        notes = [line for line in result.stderr.splitlines() if not line.startswith(BUNDLED_NOTE)]
        actual = [*notes, *result.stdout.rstrip("\n").splitlines()]

        assert expected == actual, command
