"""
Every Python example of README.md and docs/*.md runs as written.

Each page's ``python`` blocks run in order, in one namespace per page, in an empty
temporary directory, with no provider keys in the environment and a home
directory of their own, so an example can neither reach a real provider nor
read the developer's files. Two markers, an HTML comment on the line before a
block, change that:

- ``<!-- fragment -->`` before a ``python`` block: shown, not run (a piece of a
  larger program, such as a function body). Keep these few.
- ``<!-- file: NAME -->`` before any block: the block's text is written to
  ``NAME`` in the directory first, so an example may read the file it shows.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")]
"""Every page with examples; ``docs/api.md`` shows generated signatures, not examples."""
FENCE = re.compile(r"(?:<!-- (fragment|file: [^>]+?) -->\n)?```(\w*)\n(.*?)```", re.DOTALL)
KEY_VARIABLES = re.compile(r".*(_API_KEY|_TOKEN|_KEY)$")


def blocks(page: Path) -> tuple[list[str], dict[str, str], int]:
    """
    The page's runnable Python blocks, its files, and how many fragments it marks.
    """
    code: list[str] = []
    files: dict[str, str] = {}
    fragments = 0
    for marker, language, text in FENCE.findall(page.read_text(encoding="utf-8")):
        if marker.startswith("file: "):
            files[marker.removeprefix("file: ")] = text
        elif language == "python" and marker == "fragment":
            fragments += 1
        elif language == "python":
            code.append(text)
    return code, files, fragments


def test_every_page_with_python_is_found() -> None:
    """The runner sees the README and the pages that show Python, and fragments stay few."""
    runnable = {page.name for page in PAGES if blocks(page)[0]}
    fragments = sum(blocks(page)[2] for page in PAGES)

    assert {"README.md", "tutorial.md", "sync.md"} <= runnable
    assert fragments <= 5
    assert "api.md" not in {page.name for page in PAGES}


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)[0]], ids=lambda p: p.name)
def test_the_python_examples_of_a_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's Python blocks run in order in one namespace, offline, without raising."""
    code, files, _ = blocks(page)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for variable in [v for v in os.environ if KEY_VARIABLES.match(v)]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}

    with contextlib.redirect_stdout(io.StringIO()) as out:
        for number, block in enumerate(code, 1):
            exec(compile(block, f"{page.name} python block {number}", "exec"), namespace)

    assert isinstance(out.getvalue(), str)
