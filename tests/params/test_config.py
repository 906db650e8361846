"""
Parameters in the configuration: sections, their checks, layers per model, presets and /model text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelcfg import ConfigError, ModelRef, load_config
from modelcfg._catalog._curated import curated_catalog
from modelcfg._config._load import dump_config
from modelcfg._config._param_plan import ParamResolver, active_experiment, resolve_choice
from modelcfg._config._plan import catalog_for
from modelcfg._config._schema import Config
from modelcfg.exceptions import UnknownModelError, UnknownPresetError

OPUS = ModelRef.parse("anthropic/claude-opus-4-5")
O3 = ModelRef.parse("openai/o3")

DATA: dict[str, Any] = {
    "params": {"temperature": 0.7, "seed": 1},
    "paramsPolicy": "drop",
    "providers": {"anthropic": {"api": "anthropic", "params": {"max_tokens": 8000}}},
    "agent": {
        "models": {"anthropic/claude-opus-4-5": {"alias": "Opus", "params": {"top_k": 5}}},
        "model": {"primary": "Opus", "fallbacks": ["openai/o3"]},
        "aliasParams": {"opus": {"stop": ["END"]}},
    },
    "presets": {
        "deep": {
            "params": {"reasoning_effort": "high", "seed": None},
            "model": "Opus",
            "fallbacks": ["openai/o3"],
            "description": "Think hard on Opus.",
        },
        "precise": {"params": {"temperature": 0.1}},
    },
    "experiments": {
        "tone": {"arms": {"control": {"weight": 1}, "precise": {"weight": 1, "preset": "precise"}}},
        "old": {"arms": {"a": {"weight": 1}}, "enabled": False},
    },
}


def config() -> Config:
    """The example configuration."""
    return load_config(DATA)


def resolver() -> ParamResolver:
    """A resolver over the example configuration and the curated catalog."""
    loaded = config()
    return ParamResolver(loaded, catalog_for(loaded, curated=curated_catalog()))


def test_the_sections_round_trip() -> None:
    """params, paramsPolicy, presets, experiments and aliasParams dump and load back unchanged."""
    loaded = config()
    dumped = json.loads(json.dumps(dump_config(loaded)))

    assert loaded == load_config(dumped)
    assert DATA["presets"] == dumped["presets"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"params": {"temperature": "hot"}},
            '$.params.temperature: must be a number from 0 to 2, not "hot"',
        ),
        ({"params": {"messages": []}}, "$.params.messages: is not a parameter"),
        (
            {"params": {"max_tokens": 1, "max_completion_tokens": 2}},
            "$.params.max_completion_tokens: 'max_completion_tokens' and 'max_tokens' name the same parameter",
        ),
        (
            {"providers": {"openai": {"params": {"top_p": 3}}}},
            "$.providers.openai.params.top_p: must be a number from 0 to 1, not 3",
        ),
        (
            {"agent": {"models": {"openai/gpt-4o": {"params": {"n": 0}}}}},
            "$.agent.models['openai/gpt-4o'].params.n: must be a whole number of at least 1, not 0",
        ),
        (
            {"agent": {"aliasParams": {"nope": {}}}},
            "$.agent.aliasParams.nope: 'nope' is not an alias",
        ),
        (
            {"paramsPolicy": "ignore"},
            "$.paramsPolicy: 'ignore' is not one of 'drop', 'error', 'pass'",
        ),
        ({"presets": {"a b": {}}}, "$.presets['a b']: 'a b' cannot name a preset"),
        ({"presets": {"None": {}}}, "$.presets.None: 'none' is kept for clearing a preset"),
        (
            {"presets": {"x": {"model": "gpt9"}}},
            "$.presets.x.model: 'gpt9' is not a known model id or alias",
        ),
        ({"presets": {"x": {"fallbacks": ["openai/o3"]}}}, "$.presets.x.fallbacks: needs a model"),
        (
            {"presets": {"x": {"params": {"reasoning_effort": "max"}}}},
            "$.presets.x.params.reasoning_effort: must be one of",
        ),
        ({"experiments": {"e": {"arms": {}}}}, "$.experiments.e.arms: needs at least one arm"),
        (
            {"experiments": {"e": {"arms": {"a": {"weight": -2}}}}},
            "$.experiments.e.arms.a.weight: must be at least 0, not -2.0",
        ),
        (
            {"experiments": {"e": {"arms": {"a": {"weight": 0}}}}},
            "$.experiments.e.arms: needs at least one arm with a weight above 0",
        ),
        (
            {"experiments": {"e": {"arms": {"a": {"weight": 1, "preset": "fsat"}}}}},
            "$.experiments.e.arms.a.preset: 'fsat' is not a preset (did you mean 'fast'?)",
        ),
        (
            {
                "experiments": {
                    "e": {"arms": {"a": {"weight": 1}}},
                    "f": {"arms": {"a": {"weight": 1}}},
                }
            },
            "$.experiments.f.enabled: only one experiment may run at a time, and 'e' is enabled",
        ),
        (
            {"experiments": {"e": {"arms": {"a": {"weight": 1, "colour": 2}}}}},
            "$.experiments.e.arms.a.colour: unknown key",
        ),
    ],
)
def test_bad_sections_are_reported_at_their_paths(data: dict[str, Any], problem: str) -> None:
    """Each mistake in the new sections is a ConfigError line at its JSON path."""
    with pytest.raises(ConfigError) as caught:
        load_config(data)

    assert any(line.startswith(problem) for line in caught.value.errors), caught.value.errors


def test_layers_come_lowest_first() -> None:
    """Global, provider, model, alias, preset, session and request layers apply in that order."""
    params = resolver()
    layers = params.layers(
        OPUS, preset=params.preset("deep"), session={"top_k": 7}, request={"user": "me"}
    )

    assert [
        "global",
        "provider anthropic",
        "model anthropic/claude-opus-4-5",
        "alias opus",
        "preset deep",
        "session",
        "request",
    ] == [str(layer.source) for layer in layers]


def test_each_value_is_explained_by_its_layer() -> None:
    """The resolved values say where they came from, and the preset's null removed the global seed."""
    params = resolver()
    resolved = params.resolve(OPUS, preset=params.preset("deep"), session={"top_k": 7})

    assert [
        "max_tokens=8000 from provider anthropic",
        'reasoning_effort="high" from preset deep',
        "seed removed by preset deep (was 1 from global)",
        'stop=["END"] from alias opus',
        "temperature=0.7 from global",
        "top_k=7 from session",
    ] == resolved.lines()


def test_a_fallback_model_gets_its_own_parameters() -> None:
    """The same request plans differently on a Claude model and on an OpenAI reasoning model."""
    params = resolver()
    deep = params.preset("deep")

    assert {
        "max_tokens": 8000,
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 6400},
    } == dict(params.plan(OPUS, preset=deep).wire)
    assert {"reasoning_effort": "high"} == dict(params.plan(O3, preset=deep).wire)


def test_user_presets_replace_built_in_ones_of_the_same_name() -> None:
    """A configured 'precise' replaces the built-in one; the others stay."""
    params = resolver()

    assert {"temperature": 0.1} == dict(params.preset("PRECISE").params)
    assert {"reasoning_effort": "low"} == dict(params.preset("fast").params)


def test_an_unknown_preset_suggests_close_names() -> None:
    """A typo in a preset name is an UnknownPresetError that suggests the closest presets."""
    with pytest.raises(UnknownPresetError) as caught:
        resolver().preset("dep")

    assert ("deep",) == caught.value.suggestions


def test_a_preset_routes_to_its_model_and_chain() -> None:
    """A preset that names a model and fallbacks routes to that chain."""
    params = resolver()
    route = params.route(params.preset("deep"))

    assert (OPUS, (OPUS, O3)) == (route.model, route.chain.models if route.chain else None)


@pytest.mark.parametrize(
    ("text", "model", "preset", "clears"),
    [
        ("Opus+deep", OPUS, "deep", False),
        ("opus+DEEP", OPUS, "deep", False),
        ("+fast", None, "fast", False),
        ("openai/o3", O3, None, False),
        ("+none", None, None, True),
        ("openai/o3+none", O3, None, True),
    ],
)
def test_model_text_may_name_a_preset(
    text: str, model: ModelRef | None, preset: str | None, clears: bool
) -> None:
    """/model text takes '+preset' after the model (and profile), or alone."""
    choice = resolve_choice(text, config())

    assert (model, preset, clears) == (
        choice.selection.model if choice.selection else None,
        choice.preset,
        choice.clears_preset,
    )


def test_a_model_id_with_a_plus_stays_a_model() -> None:
    """A configured model id holding '+' resolves as that model when the suffix names no preset."""
    loaded = load_config({"agent": {"models": {"ollama/qwen+q4": {}}}})

    selection = resolve_choice("ollama/qwen+q4", loaded).selection

    assert ModelRef.parse("ollama/qwen+q4") == (selection.model if selection else None)


def test_model_text_with_an_unknown_preset_is_refused() -> None:
    """'Opus+dep' names no preset: the error suggests 'deep'."""
    with pytest.raises(UnknownPresetError, match="Did you mean 'deep'"):
        resolve_choice("Opus+dep", config())


def test_an_unlisted_provider_model_id_with_a_misspelt_preset_is_refused() -> None:
    """'anthropic/claude-opus-4-5+fsat' is a misspelt preset, not a new model id to call."""
    with pytest.raises(UnknownPresetError, match="Did you mean 'fast'"):
        resolve_choice("anthropic/claude-opus-4-5+fsat", config())


def test_an_unlisted_model_id_with_a_plus_far_from_any_preset_stays_a_model() -> None:
    """'ollama/qwen+q4' names no preset and is like none, so it is that model, listed or not."""
    selection = resolve_choice("ollama/qwen+q4", load_config({})).selection

    assert ModelRef.parse("ollama/qwen+q4") == (selection.model if selection else None)


def test_model_text_with_an_unknown_model_is_refused() -> None:
    """The model part of 'Opsu+deep' must resolve too."""
    with pytest.raises(UnknownModelError):
        resolve_choice("Opsu+deep", config())


def test_only_the_enabled_experiment_assigns() -> None:
    """The enabled experiment's arms carry their preset; disabled experiments are ignored."""
    experiment = active_experiment(config())

    assert experiment is not None
    assert ("tone", {"control": None, "precise": "precise"}) == (
        experiment.name,
        {name: arm.preset for name, arm in experiment.arms.items()},
    )
    assert "tone:" + experiment.split.arm_for("s-1") == experiment.assign("s-1").label


@pytest.mark.parametrize(
    "data",
    [
        {"params": {"api_key": "anything"}},
        {"providers": {"openai": {"params": {"x-api-key": "anything"}}}},
        {
            "agent": {
                "aliasParams": {"gpt": {"token": "anything"}},
                "model": {"primary": "openai/gpt-4o"},
            }
        },
        {"presets": {"p": {"params": {"user": "sk-proj-fake-DO-NOT-LEAK-0123456789abcdef"}}}},
        {
            "presets": {
                "p": {
                    "params": {"metadata": {"note": ["sk-ant-api03-fake-DO-NOT-LEAK-0123456789"]}}
                }
            }
        },
    ],
)
def test_credentials_in_any_layer_are_refused_unechoed(data: dict[str, Any]) -> None:
    """Every layer is sent in request bodies, so a credential in any of them is refused, and never shown."""
    with pytest.raises(ConfigError) as caught:
        load_config(data)

    assert "credentials do not belong in the config" in str(caught.value)
    assert "DO-NOT-LEAK" not in str(caught.value)


def test_a_built_in_providers_entry_keeps_its_url_and_keys() -> None:
    """An entry that only adds params to a built-in provider keeps its base URL and key variables."""
    loaded = load_config({"providers": {"anthropic": {"api": "anthropic", "params": {"top_k": 5}}}})
    settings = loaded.provider("anthropic")

    assert settings is not None
    assert ("https://api.anthropic.com", ("ANTHROPIC_API_KEY",), {"top_k": 5}) == (
        settings.base_url,
        settings.api_key_env,
        dict(settings.params),
    )


def test_a_built_in_providers_entry_must_keep_its_wire() -> None:
    """Leaving out api on a built-in Anthropic entry is refused: it would speak OpenAI's wire there."""
    with pytest.raises(
        ConfigError, match=r"\$\.providers\.anthropic\.api: the built-in 'anthropic'"
    ):
        load_config({"providers": {"anthropic": {"params": {"top_k": 5}}}})
