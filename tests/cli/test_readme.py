"""
The README's ``models list`` sample is what a fresh machine prints.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_models_list_is_real_output(cli: Cli) -> None:
    """With no config, keys or store, `modelcfg models list` prints exactly the README's table."""
    block = README.read_text(encoding="utf-8").split("<!-- models-list -->\n```text\n", 1)[1]
    sample = block.split("```", 1)[0].splitlines()
    assert sample[0].startswith("$ modelcfg models list")

    result = cli.call(*sample[0].split()[2:])

    assert sample[1:] == result.stdout.rstrip("\n").splitlines()
