"""
``modelcfg models list | resolve | search``.
"""

from __future__ import annotations

import pytest

from modelcfg.auth import ApiKeyCredential, AuthStore
from tests.cli.conftest import CANARY, Cli, assert_one_line_error, example_config, keys_for


def test_list_works_on_a_fresh_machine_with_the_bundled_example(cli: Cli) -> None:
    """The console script lists the bundled example's models, saying so in one stderr line."""
    result = cli.run("models", "list", "--wide")

    assert 0 == result.code
    assert 1 == len(result.stderr.splitlines())
    assert "bundled example config" in result.stderr
    assert "anthropic/claude-opus-4-5" in result.stdout
    assert "default,img-fallback#1,configured" in result.stdout
    assert "none needed (local)" in result.stdout


def test_list_shows_order_source_and_tags(cli: Cli) -> None:
    """Each row has the alias, inputs, context, auth order with the store override, source and tags."""
    cli.write_config(example_config())
    store = AuthStore(path=cli.store_path)
    store.put("anthropic:work", ApiKeyCredential(key=CANARY))
    store.set_order("anthropic", ["anthropic:work", "anthropic:default"])

    result = cli.with_env(**keys_for("openai")).run("models", "list", "--json")

    models = {m["id"]: m for m in result.json()["models"]}
    opus, gpt = models["anthropic/claude-opus-4-5"], models["openai/gpt-5.2"]
    assert (0, "") == (result.code, result.stderr)
    assert ["default", "configured"] == opus["tags"]
    assert ["fallback#1", "image", "configured"] == gpt["tags"]
    assert ["anthropic:work", "anthropic:default"] == opus["authOrder"]
    assert "profile anthropic:work (auth store)" == opus["auth"]["source"]
    assert "environment variable OPENAI_API_KEY" == gpt["auth"]["source"]
    assert "Opus" == opus["alias"]
    assert "image" in opus["input"]
    assert CANARY not in result.output


def test_list_table_marks_missing_credentials(cli: Cli) -> None:
    """Without any key the table says where nothing comes from: missing."""
    cli.write_config(example_config())

    result = cli.call("models", "list", "--wide")

    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert 0 == result.code
    assert "missing" in rows["openai/gpt-5.2"]
    assert "anthropic:default,anthropic:work" in rows["anthropic/claude-opus-4-5"]


def test_list_all_adds_the_curated_catalog_in_its_own_section(cli: Cli) -> None:
    """--all appends the curated models the config does not list, not repeating config models."""
    cli.write_config(example_config())

    text = cli.run("models", "list", "--all")
    data = cli.call("models", "list", "--all", "--json").json()

    catalog_ids = {m["id"] for m in data["catalog"]}
    assert (0, "") == (text.code, text.stderr)
    assert text.stdout.startswith("MODEL ")
    assert "Curated catalog (" in text.stdout
    assert "anthropic/claude-opus-4-5" not in catalog_ids
    assert len(catalog_ids) > 10


@pytest.mark.parametrize(
    ("text", "model", "profile"),
    [
        pytest.param("opus", "anthropic/claude-opus-4-5", None, id="alias-any-case"),
        pytest.param("openai/gpt-5.2", "openai/gpt-5.2", None, id="explicit-id"),
        pytest.param(
            "Opus@anthropic:work", "anthropic/claude-opus-4-5", "anthropic:work", id="profile"
        ),
        pytest.param("Opus@work", "anthropic/claude-opus-4-5", "anthropic:work", id="bare-profile"),
    ],
)
def test_resolve_prints_the_selection(cli: Cli, text: str, model: str, profile: str | None) -> None:
    """Resolve turns /model text into the model and the session's profile override."""
    cli.write_config(example_config())

    data = cli.call("models", "resolve", text, "--json").json()

    assert {"model": model, "profile": profile, "strict": False} == {
        k: data[k] for k in ("model", "profile", "strict")
    }


def test_resolve_strict_pins_the_profile(cli: Cli) -> None:
    """--strict is reported in the text output."""
    cli.write_config(example_config())

    result = cli.call("models", "resolve", "Opus@work", "--strict")

    assert 0 == result.code
    assert "strict:   yes (the profile is pinned)" in result.stdout


def test_resolve_unknown_model_is_one_line_with_suggestions(cli: Cli) -> None:
    """An unknown name exits 4 with a one-line error that suggests the closest alias."""
    cli.write_config(example_config())

    result = cli.run("models", "resolve", "opsu")

    assert_one_line_error(result, 4, "'opsu'", "Did you mean 'Opus'")
    assert "" == result.stdout


def test_search_filters_and_ranks(cli: Cli) -> None:
    """Search finds curated models by words, applies filters and says why each matched."""
    result = cli.run(
        "models", "search", "sonnet 4.5", "--image", "--max-input-price", "5", "--json"
    )

    results = result.json()["results"]
    assert 0 == result.code
    assert "anthropic/claude-sonnet-4-5" == results[0]["id"]
    assert all("image" in r["input"] for r in results)
    assert all(r["pricing"]["input"] <= 5 for r in results)
    assert results[0]["match"]["why"]


def test_search_includes_user_models_and_reports_no_match(cli: Cli) -> None:
    """A model defined only in the config is searchable; a query matching nothing says so."""
    found = cli.call("models", "search", "local")
    none = cli.call("models", "search", "zzzz-nothing", "--min-context", "10")

    assert 0 == found.code
    assert "ollama/llama3.2@q8_0" in found.stdout
    assert "No model matches 'zzzz-nothing'" in none.stdout


def test_search_refuses_a_negative_filter(cli: Cli) -> None:
    """A negative price limit is a usage error, exit 2, one line."""
    result = cli.call("models", "search", "x", "--max-input-price", "-1")

    assert_one_line_error(result, 2, "max_input_price")
