"""
modelcfg logs without configuring logging, and a host that configures nothing sees nothing.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap

import pytest

import modelcfg

PACKAGE = pathlib.Path(modelcfg.__file__).parent


def modules_that_log() -> list[str]:
    """Every modelcfg module whose source imports ``logging`` or ``modelcfg._log``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        if {"logging", "modelcfg._log"} & {*names, *(n.split(".")[0] for n in names)}:
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def run(code: str) -> subprocess.CompletedProcess[str]:
    """Run *code* in a fresh interpreter with logging left as Python starts it."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_check_finds_the_modules_that_log() -> None:
    """The executor and the auth store are among the modules found to log."""
    found = modules_that_log()

    assert {"modelcfg._executor._executor", "modelcfg.auth._store"} <= set(found)


@pytest.mark.parametrize("module", modules_that_log())
def test_importing_a_module_that_logs_gives_modelcfg_a_null_handler(module: str) -> None:
    """Whichever module that logs is imported first, the modelcfg logger has a NullHandler."""
    done = run(
        f"""
        import importlib, logging
        importlib.import_module({module!r})
        handlers = logging.getLogger("modelcfg").handlers
        print(sum(isinstance(h, logging.NullHandler) for h in handlers))
        """
    )

    assert ("1", "") == (done.stdout.strip(), done.stderr)


def test_import_modelcfg_still_does_not_load_logging() -> None:
    """The NullHandler costs ``import modelcfg`` nothing: logging is not loaded by it."""
    done = run("import sys, modelcfg; print('logging' in sys.modules)")

    assert "False" == done.stdout.strip(), done.stderr


def test_a_request_that_gives_up_prints_nothing_in_a_host_without_logging() -> None:
    """An executor whose request gives up writes no stray warning to stderr when logging is unconfigured."""
    done = run(
        """
        import anyio, httpx, modelcfg

        config = modelcfg.load_config(
            {"providers": {"p": {"api": "openai", "baseUrl": "http://127.0.0.1:9/v1"}},
             "agent": {"model": {"primary": "p/m"}}}
        )

        def refuse(request):
            return httpx.Response(400, json={"error": {"message": "bad request"}})

        async def main():
            async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
                executor = modelcfg.Executor.from_config(config, client=client, environ={})
                try:
                    await executor.complete(
                        modelcfg.ChatRequest(messages=[modelcfg.Message(role="user", content="hi")])
                    )
                except modelcfg.AttemptsExhaustedError:
                    print("gave up")

        anyio.run(main)
        """
    )

    assert ("gave up", "") == (done.stdout.strip(), done.stderr)
