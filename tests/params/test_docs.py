"""
docs/params.md tells the truth: its command examples are what the commands print for its config.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path

import pytest

from modelcfg import load_config
from modelcfg._cli import main

PAGE = Path(__file__).parents[2] / "docs" / "params.md"
TEXT = PAGE.read_text(encoding="utf-8")


FENCE = re.compile(r"(?:<!-- file: ([^>]+?) -->\n)?```json\n(.*?)```", re.S)


def _config() -> dict[str, object]:
    """The page's example configuration: its first JSON block that is not a file."""
    text = next(block for name, block in FENCE.findall(TEXT) if not name)
    data: dict[str, object] = json.loads(text)
    return data


def _files() -> dict[str, str]:
    """The files the page shows (a JSON block marked ``<!-- file: NAME -->``)."""
    return {name: block for name, block in FENCE.findall(TEXT) if name}


def _examples() -> list[tuple[str, list[str]]]:
    """Every ``$ modelcfg ...`` command of the page's text blocks, with the output shown under it."""
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```text\n(.*?)```", TEXT, flags=re.S):
        if not block.startswith("$ modelcfg "):
            continue
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return found


EXAMPLES = _examples()


def test_the_page_has_explain_examples() -> None:
    """The page shows params explain, presets, and the experiments commands."""
    commands = " ".join(command for command, _ in EXAMPLES)

    assert all(
        name in commands
        for name in (
            "params explain",
            "params presets",
            "experiments show",
            "experiments assign",
            "explain script.json",
        )
    )


def test_the_example_config_loads() -> None:
    """The page's configuration is valid."""
    load_config(_config())


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_a_documented_command_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, expected: list[str]
) -> None:
    """Run on the page's configuration, each command prints exactly the lines shown under it."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_config()), encoding="utf-8")
    for name, text in _files().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["--config", str(path), *shlex.split(command)[1:]],
        environ={"MODELCFG_HOME": str(tmp_path)},
        stdout=stdout,
        stderr=stderr,
    )

    assert (0, "", expected) == (
        code,
        stderr.getvalue(),
        stdout.getvalue().rstrip("\n").splitlines(),
    )
