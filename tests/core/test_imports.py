"""
The decision core's modules import one another in one direction: no circle.
"""

from __future__ import annotations

import ast
import graphlib
import pathlib

CORE = pathlib.Path(__file__).resolve().parents[2] / "modelcfg" / "_core"


def core_imports(source: str) -> set[str]:
    """
    The core modules *source* imports at module level, for typing included (an import
    under ``if TYPE_CHECKING:`` hides a circle from the interpreter, not from readers).
    """
    names: set[str] = set()
    todo = list(ast.parse(source).body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If):
            todo.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("modelcfg._core"):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("modelcfg._core"))
    return names


def test_core_modules_import_each_other_without_a_circle() -> None:
    """Sorting the core's module-level imports topologically finds no cycle."""
    graph = {
        f"modelcfg._core.{path.stem}": core_imports(path.read_text(encoding="utf-8"))
        for path in CORE.glob("_*.py")
    }

    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError

    assert set(graph) <= set(order)


def test_the_import_check_sees_imports_for_typing() -> None:
    """Imports under TYPE_CHECKING count; imports inside functions do not."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from modelcfg._core._values import ModelRef\n"
        "if TYPE_CHECKING:\n"
        "    from modelcfg._core._state import AttemptState\n"
        "def f():\n"
        "    from modelcfg._core._decide import next_attempt\n"
    )

    expected = {"modelcfg._core._values", "modelcfg._core._state"}
    assert expected == core_imports(source)
