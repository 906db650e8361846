"""
``modelcfg init`` writes a starter config from the provider keys in the environment, never a key.
"""

from __future__ import annotations

import json

from tests.cli.conftest import CANARY, LEAK_MARK, Cli, assert_one_line_error


def test_init_writes_a_chain_of_the_providers_whose_keys_are_set(cli: Cli) -> None:
    """Anthropic leads, OpenAI follows, a provider without a curated model is noted; no key is written."""
    env = cli.with_env(OPENAI_API_KEY=CANARY, ANTHROPIC_API_KEY=CANARY, GROQ_API_KEY=CANARY)

    result = env.call("init")
    validated = env.call("validate", "--json")

    text = (cli.home / "config.json").read_text(encoding="utf-8")
    assert 0 == result.code, result.stderr
    assert {
        "agent": {"model": {"primary": "anthropic/claude-opus-4-5", "fallbacks": ["openai/gpt-5"]}}
    } == json.loads(text)
    assert "note: groq's key is set but the catalog has no model of it" in result.stdout
    assert 0 == validated.code
    assert LEAK_MARK not in text + result.output + validated.output


def test_init_refuses_to_replace_a_config_without_force(cli: Cli) -> None:
    """An existing config is kept (exit 1); --force replaces it after a backup."""
    path = cli.write_config({"agent": {"model": {"primary": "openai/gpt-5.2"}}})
    before = path.read_text(encoding="utf-8")
    env = cli.with_env(OPENAI_API_KEY=CANARY)

    refused = env.call("init")
    forced = env.call("init", "--force", "--json")

    assert_one_line_error(refused, 1, "exists already", "--force")
    assert 0 == forced.code
    assert "openai/gpt-5" == forced.json()["model"]["primary"]
    assert before == (cli.home / "config.json.bak").read_text(encoding="utf-8")


def test_init_without_any_key_writes_nothing(cli: Cli) -> None:
    """With no provider key set, init says which variables it looked for and writes nothing."""
    result = cli.call("init")

    assert_one_line_error(result, 1, "no provider key", "OPENAI_API_KEY")
    assert not (cli.home / "config.json").exists()


def test_init_writes_toml_when_asked_for_a_toml_file(cli: Cli) -> None:
    """--config NAME.toml gets a TOML starter config."""
    target = cli.home / "starter.toml"

    result = cli.with_env(OPENROUTER_API_KEY=CANARY).call("init", "--config", str(target))

    assert 0 == result.code, result.stderr
    assert (
        '[agent.model]\nprimary = "openrouter/anthropic/claude-sonnet-4.5"\nfallbacks = []\n'
        == target.read_text(encoding="utf-8")
    )
