"""
Tests that docs/usage.md tells the truth: its examples run, in order, and their asserts hold.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_usage_page_runs_in_order() -> None:
    """Every Python block of docs/usage.md runs in one namespace, its asserts included."""
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "usage.md").read_text(), flags=re.DOTALL)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/usage.md", "exec"), namespace)

    assert len(blocks) >= 4
