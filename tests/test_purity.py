"""
The pure core never imports I/O, clock, randomness or logging, even indirectly.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib

import pytest

PURE = (
    "modelcfg._core._values",
    "modelcfg._core._failures",
    "modelcfg._core._policy",
    "modelcfg._core._health",
    "modelcfg._core._state",
    "modelcfg._core._actions",
    "modelcfg._core._decide",
    "modelcfg._core._replay",
    "modelcfg._core._cost",
    "modelcfg._core._budget",
    "modelcfg._config._resolve",
    "modelcfg._config._migrate",
    "modelcfg._catalog._records",
    "modelcfg._config._schema",
    "modelcfg._config._plan",
    "modelcfg._messages",
)
FORBIDDEN = {"httpx", "anyio", "time", "random", "os", "logging"}


def imports_of(source: str, package: str) -> set[str]:
    """Every module name *source* imports, at any nesting level, resolved to absolute."""
    names: set[str] = set()
    parts = package.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*parts[: len(parts) - node.level + 1], base]).strip(".")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def imported_names(module: str) -> set[str]:
    """Every module name that *module*'s source imports."""
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    source = pathlib.Path(spec.origin).read_text(encoding="utf-8")
    return imports_of(source, module.rpartition(".")[0])


def reachable(module: str) -> set[str]:
    """*module*'s imports, following modelcfg modules recursively."""
    seen: set[str] = set()
    todo = [module]
    found: set[str] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in imported_names(current):
            found.add(name)
            if name.startswith("modelcfg") and importlib.util.find_spec(
                name.rpartition(".")[0] or name
            ):
                target = name if _is_module(name) else name.rpartition(".")[0]
                if target.startswith("modelcfg") and target != "modelcfg":
                    todo.append(target)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_nothing_impure(module: str) -> None:
    """The module and the modelcfg modules it imports never import a forbidden module."""
    bad = {name for name in reachable(module) if name.split(".")[0] in FORBIDDEN}

    assert set() == bad


def test_the_check_sees_every_form_of_import() -> None:
    """Plain, dotted, aliased, nested and relative imports are all found."""
    source = (
        "import os.path\n"
        "from random import choice\n"
        "import logging as log\n"
        "def f():\n"
        "    import time\n"
        "from ._values import ModelRef\n"
    )
    names = imports_of(source, "modelcfg")

    assert {"os.path", "random", "logging", "time", "modelcfg._values"} <= names
