"""
How the modules of ``modelcfg.auth`` depend on each other: one way, with no circle.
"""

from __future__ import annotations

import pkgutil

import pytest

import modelcfg.auth
from tests.test_purity import FORBIDDEN, imported_names, reachable

AUTH_MODULES = tuple(
    f"modelcfg.auth.{info.name}" for info in pkgutil.iter_modules(modelcfg.auth.__path__)
)


def auth_imports(module: str) -> set[str]:
    """The other ``modelcfg.auth`` modules *module* imports, at module level or in a function."""
    found = set()
    for name in imported_names(module):
        for other in AUTH_MODULES:
            if other != module and (name == other or name.startswith(f"{other}.")):
                found.add(other)
    return found


def test_the_auth_modules_import_each_other_without_a_circle() -> None:
    """Following every import, even one inside a function, never leads back to the start."""
    graph = {module: auth_imports(module) for module in AUTH_MODULES}
    circles = []
    for start in AUTH_MODULES:
        todo, seen = list(graph[start]), set()
        while todo:
            current = todo.pop()
            if current == start:
                circles.append(start)
                break
            if current not in seen:
                seen.add(current)
                todo += graph[current]

    assert [] == circles


@pytest.mark.parametrize("module", ["modelcfg.auth._legacy_format", "modelcfg.auth._env"])
def test_the_pure_auth_modules_reach_no_io(module: str) -> None:
    """The legacy format scan and the environment lookup import no I/O, clock or logging."""
    bad = {
        name
        for name in reachable(module)
        if name.split(".")[0] in FORBIDDEN | {"io", "pathlib", "shutil"}
        or name.startswith("modelcfg._fileio")
    }

    assert set() == bad


def test_the_layout_test_sees_the_modules() -> None:
    """The module list holds the split modules, so the circle check has something to check."""
    expected = {
        "_credentials",
        "_env",
        "_legacy",
        "_legacy_format",
        "_oauth",
        "_refresh",
        "_resolve",
        "_store",
        "_uses",
    }

    assert expected == {name.rpartition(".")[2] for name in AUTH_MODULES}
