"""
``models set``, ``models fallbacks``, ``models aliases`` and ``models image set`` edit the user's config file.
"""

from __future__ import annotations

import json
import tomllib

from tests.cli.conftest import Cli, assert_one_line_error, example_config


def test_set_and_fallbacks_edit_the_json_file_keeping_its_indentation(cli: Cli) -> None:
    """Each command changes one thing, validated, keeping four-space indentation; a new primary leaves the fallbacks."""
    path = cli.home / "config.json"
    path.write_text(json.dumps(example_config(), indent=4) + "\n", encoding="utf-8")

    results = [
        cli.call("models", "set", "openai/gpt-5.2"),
        cli.call("models", "fallbacks", "add", "anthropic/claude-sonnet-4-5"),
        cli.call("models", "fallbacks", "add", "Opus"),
        cli.call("models", "fallbacks", "remove", "Opus"),
        cli.call("models", "image", "set", "Opus"),
    ]
    listed = cli.call("models", "fallbacks", "list", "--json").json()

    data = json.loads(path.read_text(encoding="utf-8"))
    assert [0, 0, 0, 0, 0] == [r.code for r in results]
    assert {"primary": "openai/gpt-5.2", "fallbacks": ["anthropic/claude-sonnet-4-5"]} == (
        data["agent"]["model"]
    )
    assert {"primary": "Opus"} == data["agent"]["imageModel"]
    assert ["anthropic/claude-sonnet-4-5"] == listed["fallbacks"]
    assert path.read_text(encoding="utf-8").startswith('{\n    "auth"')
    assert "Set agent.model.primary to 'openai/gpt-5.2' (updated " in results[0].stdout


def test_fallbacks_clear_and_list(cli: Cli) -> None:
    """clear leaves no fallbacks; list says so; adding twice adds once."""
    config = example_config()
    config["agent"]["models"]["anthropic/claude-sonnet-4-5"] = {"alias": "Sonnet"}  # type: ignore[index]
    cli.write_config(config)

    cleared = cli.call("models", "fallbacks", "clear")
    empty = cli.call("models", "fallbacks", "list")
    cli.call("models", "fallbacks", "add", "Sonnet")
    again = cli.call("models", "fallbacks", "add", "Sonnet")
    listed = cli.call("models", "fallbacks", "list")

    assert 0 == cleared.code
    assert empty.stdout.startswith("No fallbacks in ")
    assert "already says so; nothing changed." in again.stdout
    assert "1. Sonnet\n" == listed.stdout


def test_an_invalid_edit_changes_nothing(cli: Cli) -> None:
    """A model the config cannot resolve is refused at its JSON path and the file keeps its bytes."""
    path = cli.write_config(example_config())
    before = path.read_bytes()

    result = cli.call("models", "fallbacks", "add", "no-such-model")
    missing = cli.call("models", "fallbacks", "remove", "Sonnet")

    assert 3 == result.code
    assert "$.agent.model.fallbacks[1]: 'no-such-model' is not a known model id" in result.stderr
    assert_one_line_error(missing, 4, "'Sonnet' is not a fallback (the fallbacks: ")
    assert before == path.read_bytes()


def test_aliases_add_list_and_remove(cli: Cli) -> None:
    """An alias is added to agent.models[MODEL], refused when taken, and removed without the entry's other keys."""
    path = cli.write_config(example_config())

    added = cli.call("models", "aliases", "add", "Sonnet", "anthropic/claude-sonnet-4-5")
    taken = cli.call("models", "aliases", "add", "opus", "anthropic/claude-sonnet-4-5")
    listed = cli.call("models", "aliases", "list", "--json").json()
    removed = cli.call("models", "aliases", "remove", "GPT52")

    data = json.loads(path.read_text(encoding="utf-8"))
    assert 0 == added.code
    assert_one_line_error(taken, 2, "the alias 'opus' already names 'anthropic/claude-opus-4-5'")
    assert {
        "Opus": "anthropic/claude-opus-4-5",
        "gpt52": "openai/gpt-5.2",
        "Sonnet": "anthropic/claude-sonnet-4-5",
    } == listed["aliases"]
    assert 0 == removed.code
    assert "openai/gpt-5.2" not in data["agent"]["models"]


def test_a_toml_config_stays_toml(cli: Cli) -> None:
    """A TOML file without comments is edited in place, as TOML."""
    path = cli.home / "config.toml"
    path.write_text('[agent.model]\nprimary = "openai/gpt-5.2"\nfallbacks = []\n', encoding="utf-8")

    result = cli.call("models", "fallbacks", "add", "anthropic/claude-opus-4-5")

    assert 0 == result.code
    assert {
        "agent": {
            "model": {"primary": "openai/gpt-5.2", "fallbacks": ["anthropic/claude-opus-4-5"]}
        }
    } == tomllib.loads(path.read_text(encoding="utf-8"))
    assert not (cli.home / "config.json").exists()


def test_a_commented_toml_config_is_never_rewritten(cli: Cli) -> None:
    """A TOML file with comments is left as it is; the edit goes beside it, and the exit code says so."""
    path = cli.home / "config.toml"
    text = '# my models\n[agent.model]\nprimary = "openai/gpt-5.2"\n'
    path.write_text(text, encoding="utf-8")

    result = cli.call("models", "set", "anthropic/claude-opus-4-5")

    assert 1 == result.code
    assert text == path.read_text(encoding="utf-8")
    assert {"agent": {"model": {"primary": "anthropic/claude-opus-4-5"}}} == tomllib.loads(
        (cli.home / "config.toml.new").read_text(encoding="utf-8")
    )
    assert "has comments, which rewriting it would lose" in result.stdout


def test_the_first_edit_on_a_fresh_machine_creates_the_config(cli: Cli) -> None:
    """With no config file, models set creates config.json where modelcfg looks for it."""
    result = cli.call("models", "set", "openai/gpt-5.2")

    assert 0 == result.code
    assert {"agent": {"model": {"primary": "openai/gpt-5.2"}}} == json.loads(
        (cli.home / "config.json").read_text(encoding="utf-8")
    )
