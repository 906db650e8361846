"""
Tests for turning a config and a catalog into the decision core's routing inputs.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import ConfigError, FallbackChain, ModelRef, ProfileId
from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._records import CatalogSource, Modality
from modelcfg._config._load import load_config
from modelcfg._config._plan import build_routes, catalog_for, profile_order
from modelcfg._core._decide import rotation_order
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


PROFILES = st.lists(
    st.builds(
        ProfileId,
        provider=st.sampled_from(["openai", "anthropic"]),
        name=st.sampled_from(["default", "work", "home", "zeta"]),
    ),
    max_size=6,
).map(tuple)


@given(override=PROFILES, configured=PROFILES, declared=PROFILES, stored=PROFILES)
def test_the_rotation_order_is_one_rule(
    override: tuple[ProfileId, ...],
    configured: tuple[ProfileId, ...],
    declared: tuple[ProfileId, ...],
    stored: tuple[ProfileId, ...],
) -> None:
    """The order is never empty, holds the provider's own profiles once each, and the first
    source that names one of them decides it."""
    order = rotation_order(
        "OpenAI", override=override, configured=configured, declared=declared, stored=stored
    )
    sources = [
        [p for p in source if p.provider == "openai"]
        for source in (override, configured, (*declared, *stored))
    ]
    deciding = next((source for source in sources if source), [])

    assert order
    assert len(set(order)) == len(order)
    assert all(p.provider == "openai" for p in order)
    assert set(deciding or [ProfileId.parse("openai:default")]) == set(order)


@given(declared=PROFILES, stored=PROFILES)
def test_without_an_order_declared_profiles_come_first_then_stored_ones_default_first(
    declared: tuple[ProfileId, ...], stored: tuple[ProfileId, ...]
) -> None:
    """With no order, declared profiles keep their order, and stored ones follow, default first."""
    order = rotation_order("openai", declared=declared, stored=stored)
    own_declared = list(dict.fromkeys(p for p in declared if p.provider == "openai"))
    rest = [p for p in order if p not in own_declared]

    assert own_declared == list(order[: len(own_declared)])
    assert sorted(rest, key=lambda p: (p.name != "default", p.name)) == rest


def test_profile_order_reads_the_config_and_the_store() -> None:
    """profile_order() hands the config's and the store's profiles to the one rule."""
    stored = {"anthropic": [ProfileId.parse("anthropic:default")]}

    assert (
        ProfileId.parse("anthropic:work"),
        ProfileId.parse("anthropic:home"),
        ProfileId.parse("anthropic:default"),
    ) == profile_order(CONFIG, "Anthropic", stored=stored)
