"""
Tests for how ``modelcfg explain`` reads a script's session selection and starting health.
"""

from __future__ import annotations

import json

from tests.cli.conftest import Cli, assert_one_line_error, example_config


def test_explain_resolves_an_alias_with_a_profile(cli: Cli) -> None:
    """session.select accepts what /model accepts: an alias with a profile pins it."""
    cli.write_config(example_config())
    script = {"session": {"select": "Opus@anthropic:work", "strict": True}, "events": []}

    result = cli.call("explain", "-", "--json", stdin=json.dumps(script))

    step = result.json()["steps"][0]
    expected = (0, "anthropic/claude-opus-4-5", "anthropic:work", "pinned_profile")
    assert expected == (
        result.code,
        step["target"]["model"],
        step["target"]["profile"],
        step["reason"]["code"],
    )


def test_explain_refuses_a_profile_of_another_provider(cli: Cli) -> None:
    """A selection naming a known profile of another provider is a bad script (exit 2) with the path."""
    cli.write_config(example_config())
    script = {"session": {"select": "anthropic/claude-opus-4-5@openai:default"}}

    result = cli.run("explain", "-", stdin=json.dumps(script))

    assert_one_line_error(result, 2, "$.session.select:")


def test_explain_starts_from_the_script_health(cli: Cli) -> None:
    """A script's health makes the first call skip a cooling profile, offline."""
    cli.write_config(example_config())
    script = {
        "start": 1_700_000_000,
        "health": {
            "cooldowns": {
                "anthropic:default": {
                    "kind": "rate_limited",
                    "until_at": 1_700_000_030,
                    "last_failure_at": 1_700_000_000,
                }
            }
        },
        "events": [],
    }

    result = cli.call("explain", "-", stdin=json.dumps(script))

    assert 0 == result.code
    assert "anthropic:default skipped: cooling down until 22:13:50 (rate limited)" in result.stdout
