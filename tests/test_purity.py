"""
The pure parts of modelcfg never touch I/O, the clock, randomness or logging, even indirectly.

The rule is by folder: every module under ``modelcfg/_core/``, every module of
``modelcfg/_config/`` but ``_file.py`` (which reads files) and every module of
``modelcfg/_catalog/`` but ``_curated.py`` (which reads the bundled data), plus
``modelcfg/_messages.py``. A module added to those folders is checked without
being listed here.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parents[1] / "modelcfg"

PURE_FOLDERS = {
    "_core": frozenset(),
    "_config": frozenset({"_file.py", "_edit.py"}),
    "_catalog": frozenset({"_curated.py", "_cache.py", "_fetch.py", "_refresh.py", "regen.py"}),
}
"""Folder -> the modules in it that may do I/O."""

PURE_MODULES = ("modelcfg._messages", "modelcfg.usage._estimate", "modelcfg.usage._report")
"""Pure modules outside the pure folders."""

FORBIDDEN = frozenset(
    {
        "anyio",
        "fcntl",
        "glob",
        "httpx",
        "io",
        "logging",
        "os",
        "pathlib",
        "random",
        "shutil",
        "socket",
        "sqlite3",
        "subprocess",
        "tempfile",
        "time",
    }
)
"""Top-level modules a pure module must not import: I/O, the clock, randomness, logging."""

FORBIDDEN_SUBMODULES = frozenset({"importlib.resources"})
"""Submodules that read files although their package does not."""


def pure_modules() -> list[str]:
    """Every pure module, found on disk."""
    found = []
    for folder, impure in PURE_FOLDERS.items():
        for path in sorted((PACKAGE / folder).glob("*.py")):
            if path.name not in impure:
                found.append(
                    f"modelcfg.{folder}" + ("" if path.stem == "__init__" else f".{path.stem}")
                )
    return [*found, *PURE_MODULES]


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


def opens_files(source: str) -> bool:
    """Whether *source* calls the built-in ``open()``."""
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
        for node in ast.walk(ast.parse(source))
    )


def source_of(module: str) -> str:
    """The source text of *module*."""
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    return pathlib.Path(spec.origin).read_text(encoding="utf-8")


def imported_names(module: str) -> set[str]:
    """Every module name that *module*'s source imports."""
    spec = importlib.util.find_spec(module)
    is_package = spec is not None and spec.submodule_search_locations is not None
    return imports_of(source_of(module), module if is_package else module.rpartition(".")[0])


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def reachable(module: str) -> dict[str, set[str]]:
    """*module* and every modelcfg module it imports, recursively, each with its imports."""
    seen: dict[str, set[str]] = {}
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen[current] = imported_names(current)
        for name in seen[current]:
            if not name.startswith("modelcfg."):
                continue
            target = name if _is_module(name) else name.rpartition(".")[0]
            if target.startswith("modelcfg.") and target not in seen:
                todo.append(target)
    return seen


def forbidden(names: set[str]) -> set[str]:
    """The names among *names* that a pure module must not import."""
    return {
        name
        for name in names
        if name.split(".")[0] in FORBIDDEN
        or any(name == sub or name.startswith(sub + ".") for sub in FORBIDDEN_SUBMODULES)
    }


def test_the_folders_hold_modules() -> None:
    """The discovery finds the pure folders' modules (a renamed folder cannot empty the check)."""
    modules = pure_modules()

    assert {"modelcfg._core._decide", "modelcfg._config._schema", "modelcfg._catalog._records"} <= (
        set(modules)
    )
    assert "modelcfg._config._file" not in modules
    assert "modelcfg._catalog._curated" not in modules


@pytest.mark.parametrize("module", pure_modules())
def test_pure_module_imports_nothing_impure(module: str) -> None:
    """The module and the modelcfg modules it imports never import a forbidden module."""
    bad = {
        f"{where} imports {name}"
        for where, names in reachable(module).items()
        for name in forbidden(names)
    }

    assert set() == bad


@pytest.mark.parametrize("module", pure_modules())
def test_pure_module_opens_no_file(module: str) -> None:
    """The module and the modelcfg modules it imports never call open()."""
    bad = {where for where in reachable(module) if opens_files(source_of(where))}

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
        "from importlib import resources\n"
    )
    names = imports_of(source, "modelcfg")

    assert {"os.path", "random", "logging", "time", "modelcfg._values"} <= names
    assert {"os.path", "random", "random.choice", "logging", "time", "importlib.resources"} == (
        forbidden(names)
    )


def test_the_check_sees_a_call_to_open() -> None:
    """A call to the built-in open() is found, and a method named open is not."""

    assert (True, False) == (opens_files("f = open('x')\n"), opens_files("store.open()\n"))
