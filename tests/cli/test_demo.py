"""
Tests for ``modelcfg demo``, the README's first command.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def run_demo(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELCFG_HOME": str(tmp_path), "HOME": str(tmp_path)}
    env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "modelcfg", "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_demo_rotates_falls_back_and_skips(tmp_path: Path) -> None:
    """The demo's first request rotates on 401, falls back on 429; the second skips both profiles."""
    result = run_demo(tmp_path=tmp_path)

    assert 0 == result.returncode, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "fail  auth (HTTP 401) on anthropic/claude-opus-4-5 with anthropic:default" in out
    assert "fail  rate_limited (HTTP 429) on anthropic/claude-opus-4-5 with anthropic:work" in out
    assert "from        openai/gpt-5.2 with openai:default, after 3 attempts" in out
    assert "skip  anthropic:default skipped: cooling down until" in out
    assert "this request now uses a paid API key" in out


def test_demo_json_is_machine_readable(tmp_path: Path) -> None:
    """With --json the demo prints both requests' attempts and the shared health."""
    result = run_demo("--json", tmp_path=tmp_path)
    report = json.loads(result.stdout)

    assert 0 == result.returncode
    assert ["auth", "rate_limited", None] == [
        a["failure"].split(" ")[0] if a["failure"] else None for a in report["first"]["attempts"]
    ]
    assert 1 == len(report["second"]["attempts"])


def test_readme_sample_matches_the_demo(tmp_path: Path) -> None:
    """Every trace line the README shows is printed by the demo (times aside)."""
    sample = README.read_text().split("```text\nrequest 1\n", 1)[1].split("```", 1)[0]
    out = run_demo(tmp_path=tmp_path).stdout
    clock = re.compile(r"\d\d:\d\d:\d\d")

    missing = [
        line
        for line in sample.splitlines()
        if line.strip() and clock.sub("", line).strip() not in clock.sub("", out)
    ]
    assert [] == missing
