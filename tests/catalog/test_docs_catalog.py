"""
docs/catalog.md shows real output: its command examples and its Python example are run and compared.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

from modelcfg.testing import FakeModelsServer
from tests.cli.conftest import Cli, isolated_env

DOC = Path(__file__).parents[2] / "docs" / "catalog.md"
KEY = "sk-ant-api03-docs-fake-0123456789abcdef"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _normal(text: str, port: int, home: Path) -> str:
    """The text with what changes from run to run written the way the page writes it."""
    text = text.replace(f"127.0.0.1:{port}", "127.0.0.1:8080").replace(str(home), "/home/me")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<time>", text)
    return re.sub(r"fetched \d+ s ago", "fetched <age> ago", text)


def test_the_documented_config_is_the_one_the_examples_use() -> None:
    """The config shown is the one the examples run with."""
    config = json.loads(_blocks("json")[-1])

    assert {"openrouter", "anthropic"} == set(config["providers"])
    assert "http://127.0.0.1:8080/openrouter/api/v1" == config["providers"]["openrouter"]["baseUrl"]


def test_the_command_examples_are_what_the_commands_print(tmp_path: Path) -> None:
    """Each `$ modelcfg` example, run in order against the fake listings, prints what the page shows."""
    examples = [b for b in _blocks("text") if b.startswith("$ modelcfg ")]
    home = tmp_path / "modelcfg"
    home.mkdir()
    environ = {**isolated_env(tmp_path), "MODELCFG_HOME": str(home), "ANTHROPIC_API_KEY": KEY}
    cli = Cli(home=home, env=environ)
    with FakeModelsServer(api_key=KEY) as fake:
        config = json.loads(_blocks("json")[-1])
        for name in ("openrouter", "anthropic"):
            base = config["providers"][name]["baseUrl"]
            config["providers"][name]["baseUrl"] = base.replace(
                "127.0.0.1:8080", f"127.0.0.1:{fake.port}"
            )
        cli.write_config(config)
        ran = 0
        for block in examples:
            steps: list[tuple[str, list[str]]] = []
            for line in block.rstrip("\n").splitlines():
                if line.startswith("$ "):
                    steps.append((line[2:], []))
                else:
                    steps[-1][1].append(line)
            for command, expected in steps:
                result = cli.call(*shlex.split(command)[1:])
                actual = _normal(result.stdout + result.stderr, fake.port, tmp_path)

                assert _normal("\n".join(expected), fake.port, tmp_path) == actual.rstrip("\n"), (
                    command
                )
                ran += 1

    assert ran >= 6


def test_the_python_example_prints_what_the_page_shows() -> None:
    """The refresh example in Python runs against the fake listings and prints the lines shown."""
    code = next(b for b in _blocks("python") if "refresh_catalog" in b)
    shown = next(b for b in _blocks("text") if b.startswith("Summary: 159 added"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/catalog.md", "exec"), {"__name__": "docs"})

    assert shown == out.getvalue()
