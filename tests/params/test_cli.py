"""
modelcfg params and experiments commands: JSON output, exit codes and errors.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from modelcfg._cli import main

CONFIG: dict[str, Any] = {
    "params": {"temperature": 0.7},
    "paramsPolicy": "error",
    "agent": {
        "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}},
        "model": {"primary": "Opus", "fallbacks": ["openai/o3"]},
    },
    "experiments": {
        "tone": {"arms": {"a": {"weight": 1}, "b": {"weight": 3, "model": "openai/o3"}}}
    },
}


def run(tmp_path: Path, *args: str, config: dict[str, Any] | None = None) -> tuple[int, str, str]:
    """Run modelcfg with the test config; exit code, stdout and stderr."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config if config is not None else CONFIG), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--config", str(path), *args],
        environ={"MODELCFG_HOME": str(tmp_path)},
        stdout=out,
        stderr=err,
    )
    return code, out.getvalue(), err.getvalue()


def test_explain_exits_1_when_the_error_policy_would_refuse(tmp_path: Path) -> None:
    """Under paramsPolicy error, explaining o3 with a global temperature exits 1 and says why."""
    code, out, _ = run(tmp_path, "params", "explain", "openai/o3")

    assert 1 == code
    assert "Refused (paramsPolicy is error):" in out
    assert out.rstrip().endswith(
        "A request to openai/o3 would be refused before the call (paramsPolicy is error)."
    )


def test_explain_json_names_every_layer_and_the_wire(tmp_path: Path) -> None:
    """--json gives each value with its layer, the preset, and the fields sent."""
    code, out, _ = run(
        tmp_path, "params", "explain", "Opus+precise", "--param", 'stop=["X"]', "--json"
    )
    data = json.loads(out)

    assert 0 == code
    assert {
        "temperature": {"value": 0.2, "from": "preset precise"},
        "stop": {"value": ["X"], "from": "request"},
    } == data["params"]
    assert ("precise", False) == (data["preset"], data["refused"])
    assert {"max_tokens": 4096, "temperature": 0.2, "stop_sequences": ["X"]} == data["wire"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["params", "explain", "Opsu"], 4, "'Opsu' is not a known alias"),
        (["params", "explain", "Opus+dep"], 4, "'dep' is not a preset"),
        (["params", "explain", "+fast"], 2, "names no model"),
        (["params", "explain", "Opus+fast", "--preset", "precise"], 2, "leave out --preset"),
        (["params", "explain", "Opus", "--param", "temperature"], 2, "--param takes KEY=VALUE"),
        (["experiments", "report", "nope.json"], 2, "cannot read"),
    ],
)
def test_mistakes_exit_with_their_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    """Unknown models and presets exit 4; a malformed command line exits 2."""
    actual, _, err = run(tmp_path, *args)

    assert code == actual
    assert message in err


def test_assign_is_stable_and_follows_the_split(tmp_path: Path) -> None:
    """experiments assign gives the same arm each time, in JSON with the arm's model."""
    first = json.loads(run(tmp_path, "experiments", "assign", "s1", "s2", "--json")[1])
    again = json.loads(run(tmp_path, "experiments", "assign", "s1", "s2", "--json")[1])

    assert first == again
    assert {"a", "b"} >= {row["arm"] for row in first["assignments"]}
    assert all(
        row["model"] == ("openai/o3" if row["arm"] == "b" else None) for row in first["assignments"]
    )


def test_assign_without_an_enabled_experiment_exits_1(tmp_path: Path) -> None:
    """With no experiment enabled there is nothing to assign."""
    config = {**CONFIG, "experiments": {}}

    assert 1 == run(tmp_path, "experiments", "assign", "s1", config=config)[0]


def test_show_json_gives_the_exact_shares_and_ranges(tmp_path: Path) -> None:
    """experiments show --json gives each arm's share and bucket range."""
    data = json.loads(run(tmp_path, "experiments", "show", "--json")[1])

    assert [("a", 0.25, [0, 2500]), ("b", 0.75, [2500, 10000])] == [
        (arm["name"], arm["share"], arm["buckets"]) for arm in data["experiments"][0]["arms"]
    ]


def test_a_tally_that_is_not_one_exits_2(tmp_path: Path) -> None:
    """A report of a file that is not a tally names the file and the path of the problem."""
    (tmp_path / "t.json").write_text('{"format": 1, "arms": {"x": 3}}', encoding="utf-8")
    code, _, err = run(tmp_path, "experiments", "report", str(tmp_path / "t.json"))

    assert 2 == code
    assert "$.arms.x: expected an object" in err
