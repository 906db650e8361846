"""
``modelcfg health``: the table and JSON read from the state store, ``--check``
against a real loopback provider, and the errors for a missing store.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from modelcfg._cli import main
from modelcfg.testing import FakeProvider

CANARY = "sk-canary-DO-NOT-LEAK-health"


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    environ = {"HOME": str(home), "MODELCFG_HOME": str(home / "mc"), **(env or {})}
    code = main(list(args), environ=environ, stdin=io.StringIO(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write_config(home: Path, fake: FakeProvider) -> str:
    path = home / "config.json"
    config = {
        "providers": {
            "openai": {"api": "openai", "baseUrl": fake.base_url},
            "anthropic": {"api": "anthropic", "baseUrl": fake.root_url},
        },
        "agent": {"model": {"primary": "openai/ok", "fallbacks": ["anthropic/claude-x"]}},
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def test_check_then_read_the_table(tmp_path: Path) -> None:
    """``--check`` lists the models of each provider once, records them, and the table shows them."""
    state = str(tmp_path / "state.db")
    env = {"OPENAI_API_KEY": CANARY, "ANTHROPIC_API_KEY": CANARY}
    with FakeProvider() as fake:
        config = write_config(tmp_path, fake)
        code, out, err = run(
            tmp_path, "health", "--config", config, "--state", state, "--check", env=env
        )
        paths = sorted(r.path for r in fake.requests)
    lines = out.splitlines()

    assert (0, ["/v1/models", "/v1/models"]) == (code, paths)
    assert [
        "checked openai/ok with openai:default via models: ok",
        "checked anthropic/claude-x with anthropic:default via models: ok",
    ] == lines[:2]
    assert [
        "target",
        "state",
        "score",
        "success",
        "p50",
        "p95",
        "ttft",
        "last",
        "failure",
    ] == lines[2].split()
    assert ["anthropic/claude-x", "closed", "0.67", "100%"] == lines[4].split()[:4]
    assert CANARY not in out + err


def test_json_reads_the_store_without_sending_anything(tmp_path: Path) -> None:
    """``--json`` without ``--check`` only reads the store: one row per model and per profile."""
    state = str(tmp_path / "state.db")
    env = {"OPENAI_API_KEY": CANARY, "ANTHROPIC_API_KEY": CANARY}
    with FakeProvider() as fake:
        config = write_config(tmp_path, fake)
        run(tmp_path, "health", "--config", config, "--state", state, "--check", env=env)
        fake.reset()
        code, out, _err = run(tmp_path, "health", "--config", config, "--state", state, "--json")
        sent = fake.requests
    data = json.loads(out)

    assert (0, ()) == (code, sent)
    assert [
        ("anthropic/claude-x", "model"),
        ("openai/ok", "model"),
        ("anthropic:default", "profile"),
        ("openai:default", "profile"),
    ] == [(row["target"], row["kind"]) for row in data["targets"]]
    assert {
        "target",
        "kind",
        "state",
        "score",
        "degraded",
        "successRate",
        "p50Seconds",
        "p95Seconds",
        "ttftSeconds",
        "lastFailure",
        "lastFailureAt",
    } == set(data["targets"][0])


def test_a_failed_check_exits_1_and_names_the_kind(tmp_path: Path) -> None:
    """Without credentials nothing is sent, the output says so, and the exit code is 1."""
    state = str(tmp_path / "state.db")
    with FakeProvider() as fake:
        config = write_config(tmp_path, fake)
        code, out, _err = run(tmp_path, "health", "--config", config, "--state", state, "--check")
        sent = fake.requests

    assert (1, ()) == (code, sent)
    assert "not checked openai/ok with openai:default: no usable credential" in out


def test_a_missing_store_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Reading a store that does not exist says where it looked and what writes one."""
    code, out, err = run(tmp_path, "health", "--state", str(tmp_path / "none.db"))

    assert (1, "") == (code, out)
    assert f"no state store at {tmp_path / 'none.db'} yet" in err
    assert "Traceback" not in err


def test_the_table_fits_a_narrow_terminal(tmp_path: Path) -> None:
    """In 64 columns the table leaves out p95 and time to first token, and no line is longer."""
    state = str(tmp_path / "state.db")
    env = {"OPENAI_API_KEY": CANARY, "ANTHROPIC_API_KEY": CANARY, "COLUMNS": "64"}
    with FakeProvider() as fake:
        config = write_config(tmp_path, fake)
        code, out, _ = run(
            tmp_path, "health", "--config", config, "--state", state, "--check", env=env
        )
    table = out.splitlines()[2:]

    assert 0 == code
    assert ["target", "state", "score", "success", "p50", "last", "failure"] == table[0].split()
    assert [] == [line for line in table if len(line) > 64]
