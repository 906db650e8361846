"""
Tests for the public surface: ``__all__``, lazy loading and import cost.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import modelcfg


def test_all_is_sorted_and_complete() -> None:
    """__all__ is alphabetical and every name in it resolves."""

    assert sorted(modelcfg.__all__) == modelcfg.__all__
    assert all(getattr(modelcfg, name) is not None for name in modelcfg.__all__)


def test_all_equals_the_public_names() -> None:
    """Every public attribute of the package is in __all__, and nothing else is."""
    public = {name for name in dir(modelcfg) if not name.startswith("_")}
    submodules = {"exceptions", "typing", "testing", "adapters", "auth", "stores", "otel", "usage"}

    assert set(modelcfg.__all__) == public - submodules


def _heavy_modules_after(statement: str) -> str:
    code = (
        f"import sys; {statement}; "
        "print(sorted(m for m in ('attrs', 'cattrs', 'httpx', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_is_light() -> None:
    """import modelcfg loads none of attrs, cattrs, httpx and anyio."""

    assert "[]" == _heavy_modules_after("import modelcfg")


def test_the_decision_core_needs_only_attrs() -> None:
    """Using the pure core loads attrs, never cattrs, httpx or anyio."""
    statement = "from modelcfg import AttemptState, ModelRef, Routes, next_attempt, replay"

    assert "['attrs']" == _heavy_modules_after(statement)


def test_version_is_a_string() -> None:
    """modelcfg.__version__ is the installed version."""

    assert isinstance(modelcfg.__version__, str)


def _init_source() -> ast.Module:
    return ast.parse(Path(modelcfg.__file__).read_text(encoding="utf-8"))


def _type_checking_imports() -> dict[str, tuple[str, ...]]:
    """The names __init__.py imports for type checkers, by module, as written."""
    tree = _init_source()
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
        if node.test.id == "_TYPE_CHECKING"
    )
    found: dict[str, tuple[str, ...]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.module is not None
        assert node.module not in found, f"{node.module} is imported twice"
        found[node.module] = tuple(alias.name for alias in node.names)
    return found


def test_the_lazy_table_and_the_type_checking_imports_agree() -> None:
    """Each module of the lazy table is imported for type checkers with the same names."""
    table = {module: set(names) for module, names in modelcfg._LAZY_BY_MODULE.items()}

    assert table == {module: set(names) for module, names in _type_checking_imports().items()}


def test_all_is_the_lazy_table_and_the_exceptions() -> None:
    """__all__ lists every name of the lazy table once, and the exceptions imported eagerly."""
    lazy = [name for names in modelcfg._LAZY_BY_MODULE.values() for name in names]
    eager = {name for name, value in vars(modelcfg.exceptions).items() if name in modelcfg.__all__}

    assert len(lazy) == len(set(lazy))
    assert sorted({*lazy, *eager}) == modelcfg.__all__


@pytest.mark.parametrize(
    ("module", "name"),
    [(module, name) for module, names in modelcfg._LAZY_BY_MODULE.items() for name in names],
)
def test_each_lazy_name_is_listed_under_the_module_that_defines_it(module: str, name: str) -> None:
    """A class or function in the lazy table is listed under the module that defines it."""
    value = getattr(importlib.import_module(module), name)
    defined_in = getattr(value, "__module__", module)

    assert module == (defined_in if inspect.isclass(value) or inspect.isfunction(value) else module)
