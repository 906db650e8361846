"""
Explain scripts, fuzzed: ``modelcfg explain`` exits 0, 2 or 6, and ``replay()`` raises only ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import FallbackChain, ProfileId
from modelcfg._core._replay import replay
from modelcfg._core._state import Routes
from tests.auth.json_fuzz import MARK, VALUES, fuzzed_json, mutated
from tests.cli.conftest import Cli, isolated_env

ROUTES = Routes(
    chain=FallbackChain.of("anthropic/opus", "openai/gpt-5"),
    auth_order={"anthropic": (ProfileId.parse("anthropic:a"), ProfileId.parse("anthropic:b"))},
)
SCRIPT = {
    "request": {"hasImages": False, "minContextTokens": 20000},
    "start": 1_700_000_000,
    "seed": 1,
    "session": {"lastGood": {"anthropic": "anthropic:a"}, "select": "anthropic/opus"},
    "health": {
        "cooldowns": {
            "anthropic:a": {
                "kind": "rate_limited",
                "until_at": 1_700_000_030,
                "last_failure_at": 1_700_000_000,
            }
        }
    },
    "events": [
        {"after": 0.5, "fail": "rate_limited", "status": 429, "retryAfter": 10},
        {"fail": "auth", "status": 401, "message": "invalid x-api-key", "code": "x"},
        {"succeed": True, "after": 2},
    ],
}


@settings(max_examples=150, deadline=None)
@given(data=hst.data())
def test_a_fuzzed_script_exits_as_documented(
    data: hst.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any script text on stdin gives exit 0, 2 or 6 with no traceback, never an internal error."""
    root = tmp_path_factory.mktemp("explain")
    (root / "home").mkdir()
    cli = Cli(home=root / "home", env=isolated_env(root))
    text = fuzzed_json(data, SCRIPT).decode("utf-8", "replace")

    result = cli.call("explain", "-", stdin=text)

    assert result.code in (0, 2, 6), result.stderr
    assert "Traceback" not in result.output
    assert MARK not in result.output


non_string_keys = hst.integers() | hst.none() | hst.booleans() | hst.tuples(hst.integers())


@settings(max_examples=150, deadline=None)
@given(data=hst.data())
def test_replay_of_any_mapping_raises_only_value_error(data: hst.DataObject) -> None:
    """Scripts built in Python, with keys that are not strings and numbers of any size, give steps or ValueError."""
    script: Any = mutated(data, SCRIPT)
    for _ in range(data.draw(hst.integers(0, 2))):
        target = data.draw(hst.sampled_from(_objects(script)))
        target[data.draw(non_string_keys)] = data.draw(VALUES)

    message = "$"
    try:
        replay(script, ROUTES)
    except ValueError as exc:
        message = str(exc)

    assert message.startswith("$"), message


def _objects(value: object) -> list[dict[object, object]]:
    """Every object (dict) inside *value*, itself included."""
    found: list[dict[object, object]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found += _objects(item)
    elif isinstance(value, list):
        for item in value:
            found += _objects(item)
    return found or [{}]


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ('{"start": ' + "9" * 400 + "}", "$.start"),
        ('{"start": ' + "9" * 5000 + "}", "too long"),
        ('{"events": [{"fail": "server", "retryAfter": 1' + "0" * 400 + "}]}", "retryAfter"),
        ("start = 1" + "0" * 5000, "too long"),
    ],
    ids=["400 digits", "5000 digits", "retry-after beyond floats", "toml"],
)
def test_numbers_no_float_holds_are_usage_errors(cli: Cli, script: str, problem: str) -> None:
    """A number too large for a float, or too long to read, is a usage error (exit 2) naming it."""
    path = cli.home / ("script.toml" if script.startswith("start") else "script.json")
    path.write_text(script, encoding="utf-8")

    result = cli.call("explain", str(path))

    assert 2 == result.code, result.stderr
    assert problem in result.stderr
