"""
Tests for the public surface: ``__all__``, lazy loading and import cost.
"""

from __future__ import annotations

import subprocess
import sys

import modelcfg


def test_all_is_sorted_and_complete() -> None:
    """__all__ is alphabetical and every name in it resolves."""

    assert sorted(modelcfg.__all__) == modelcfg.__all__
    assert all(getattr(modelcfg, name) is not None for name in modelcfg.__all__)


def test_all_equals_the_public_names() -> None:
    """Every public attribute of the package is in __all__, and nothing else is."""
    public = {name for name in dir(modelcfg) if not name.startswith("_")}
    submodules = {"exceptions", "typing", "testing", "adapters", "auth", "stores", "usage"}

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
