"""
Tests for turning a config and a catalog into the decision core's routing inputs.
"""

from __future__ import annotations

import pytest

from modelcfg import ConfigError, FallbackChain, ModelRef, ProfileId
from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._records import CatalogSource, Modality
from modelcfg._config._load import load_config
from modelcfg._config._plan import build_routes, catalog_for, profile_order
from modelcfg._core._state import ModelTraits

CONFIG = load_config(
    {
        "auth": {
            "profiles": {
                "anthropic:work": {"provider": "anthropic"},
                "anthropic:home": {"provider": "anthropic", "mode": "oauth"},
                "openai:team": {"provider": "openai"},
            },
            "order": {"openai": ["openai:team", "openai:default"]},
        },
        "agent": {
            "models": {
                "anthropic/claude-opus-4-5": {"alias": "Opus"},
                "ollama/llama3.2@q8_0": {"alias": "local", "contextWindow": 8192},
                "openai/gpt-5.2": {"input": ["text"]},
            },
            "model": {"primary": "Opus", "fallbacks": ["openai/gpt-5.2", "local"]},
            "imageModel": {"primary": "anthropic/claude-opus-4-5"},
        },
    }
)


def ref(text: str) -> ModelRef:
    return ModelRef.parse(text)


def test_user_entries_override_and_extend_the_catalog() -> None:
    """Config catalog fields override curated records and define unknown models."""
    catalog = catalog_for(CONFIG, curated=curated_catalog())

    assert 8192 == catalog.info(ref("ollama/llama3.2@q8_0")).context_window
    assert CatalogSource.USER == catalog.info(ref("ollama/llama3.2@q8_0")).source
    assert frozenset({Modality.TEXT}) == catalog.info(ref("openai/gpt-5.2")).input
    assert CatalogSource.CURATED == catalog.info(ref("openai/gpt-5.2")).source


def test_routes_carry_chains_traits_and_orders() -> None:
    """build_routes() resolves aliases, reads traits from the catalog and orders profiles."""
    routes = build_routes(CONFIG, catalog_for(CONFIG, curated=curated_catalog()))

    assert (
        FallbackChain.of("anthropic/claude-opus-4-5", "openai/gpt-5.2", "ollama/llama3.2@q8_0")
        == routes.chain
    )
    assert ModelTraits(context_window=8192) == routes.traits_for(ref("ollama/llama3.2@q8_0"))
    assert routes.traits_for(ref("anthropic/claude-opus-4-5")).image_input
    assert not routes.traits_for(ref("openai/gpt-5.2")).image_input
    assert (
        ProfileId.parse("openai:team"),
        ProfileId.parse("openai:default"),
    ) == routes.profiles_for("openai")
    assert (ProfileId.parse("ollama:default"),) == routes.profiles_for("ollama")


def test_profile_order_precedence() -> None:
    """The auth store's override beats auth.order, which beats declared profiles."""
    override = {"openai": [ProfileId.parse("openai:default")]}

    assert (ProfileId.parse("openai:default"),) == profile_order(CONFIG, "openai", override)
    assert (ProfileId.parse("anthropic:work"), ProfileId.parse("anthropic:home")) == profile_order(
        CONFIG, "anthropic"
    )


def test_routes_need_a_chain() -> None:
    """A config without agent.model cannot route, and says which key to set."""
    with pytest.raises(ConfigError, match=r"\$\.agent\.model: is required"):
        build_routes(load_config({}), curated_catalog())
