"""
Tests that the documentation tells the truth: its examples run and generated pages are current.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def test_tutorial_runs_in_order() -> None:
    """Every Python block of the tutorial runs, in order, in one namespace."""
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in python_blocks((DOCS / "tutorial.md").read_text()):
            exec(compile(block, "docs/tutorial.md", "exec"), namespace)

    printed = out.getvalue()
    assert "anthropic/claude-opus-4-5 -> openai/gpt-5.2" in printed
    assert "from local/ok" in printed
    assert "$.agent.model.fallbacks[0]: 'gpt5' is not a known model id or alias" in printed


def test_api_reference_is_current() -> None:
    """docs/api.md is what docs/gen_api.py generates from the current docstrings."""
    sys.path.insert(0, str(DOCS))
    try:
        generated = runpy.run_path(str(DOCS / "gen_api.py"))["render"]()
    finally:
        sys.path.remove(str(DOCS))

    assert generated == (DOCS / "api.md").read_text(), "run: python docs/gen_api.py"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_between_pages_resolve(page: str) -> None:
    """Every relative link of a docs page names an existing file."""
    text = (DOCS / page).read_text()
    targets = re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", text)

    assert [] == [t for t in targets if not (DOCS / t).exists()]
