"""
Tests for loading, validating and dumping the configuration.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import ConfigError, FallbackChain, ProfileId
from modelcfg._config import AuthMode, Config, WireFormat, dump_config, json_name, load_config
from modelcfg._config_file import example_config_data

BASE: dict[str, Any] = {
    "auth": {
        "profiles": {
            "anthropic:default": {"provider": "anthropic", "mode": "oauth"},
            "anthropic:work": {"provider": "anthropic", "mode": "api_key"},
            "openai:default": {"provider": "openai"},
        },
        "order": {
            "anthropic": ["anthropic:default", "anthropic:work"],
            "openai": ["openai:default"],
        },
    },
    "agent": {
        "models": {
            "anthropic/claude-opus-4-5": {"alias": "Opus"},
            "openai/gpt-5.2": {"alias": "gpt52"},
        },
        "model": {"primary": "anthropic/claude-opus-4-5", "fallbacks": ["openai/gpt-5.2"]},
        "imageModel": {"primary": "openai/gpt-5.2", "fallbacks": ["anthropic/claude-opus-4-5"]},
    },
}


def edited(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def test_proposal_shape_loads() -> None:
    """The proposal's example loads, with aliases resolved in the chains."""
    config = load_config(BASE)

    assert FallbackChain.of("anthropic/claude-opus-4-5", "openai/gpt-5.2") == config.text_chain()
    assert FallbackChain.of("openai/gpt-5.2", "anthropic/claude-opus-4-5") == config.image_chain()
    assert config.auth.profiles[ProfileId.parse("openai:default")].mode == AuthMode.API_KEY
    assert (ProfileId.parse("anthropic:default"), ProfileId.parse("anthropic:work")) == (
        config.auth_order("anthropic")
    )


def test_aliases_in_chains_resolve_case_insensitively() -> None:
    """A chain may name models by alias, in any case."""
    config = load_config(
        edited(lambda d: d["agent"].update(model={"primary": "opus", "fallbacks": ["GPT52"]}))
    )

    assert FallbackChain.of("anthropic/claude-opus-4-5", "openai/gpt-5.2") == config.text_chain()


def test_empty_config_loads() -> None:
    """An empty object is a valid config with no chain."""
    config = load_config({})

    assert config.text_chain() is None
    assert Config() == config


def test_example_config_loads() -> None:
    """The bundled example config is valid."""
    config = load_config(example_config_data())

    assert config.text_chain() is not None


def test_toml_and_json_files_load(tmp_path: Any) -> None:
    """The same config loads from a JSON and a TOML file."""
    from modelcfg._config_file import load_config_file

    json_path = tmp_path / "c.json"
    json_path.write_text(json.dumps(BASE))
    toml_path = tmp_path / "c.toml"
    toml_path.write_text(
        '[agent.model]\nprimary = "anthropic/claude-opus-4-5"\nfallbacks = ["openai/gpt-5.2"]\n'
    )

    assert load_config_file(json_path).text_chain() == load_config_file(toml_path).text_chain()


def test_file_errors_name_the_file(tmp_path: Any) -> None:
    """A syntax error in a config file names the file, line and column."""
    from modelcfg._config_file import load_config_file

    path = tmp_path / "bad.json"
    path.write_text('{"agent": {,}}')
    with pytest.raises(ConfigError) as info:
        load_config_file(path)

    assert str(path) in str(info.value)
    assert "line 1 column 12" in str(info.value)


BAD_CONFIGS: list[tuple[str, Callable[[dict[str, Any]], object], list[str]]] = [
    (
        "unknown top-level key",
        lambda d: d.update(agnet={}),
        ["$.agnet: unknown key (did you mean 'agent'?)"],
    ),
    (
        "unknown key inside the chain",
        lambda d: d["agent"]["model"].update(fallback=[]),
        ["$.agent.model.fallback: unknown key (did you mean 'fallbacks'?)"],
    ),
    (
        "fallback that is neither id nor alias",
        lambda d: d["agent"]["model"].update(fallbacks=["gpt5"]),
        [
            "$.agent.model.fallbacks[0]: 'gpt5' is not a known model id or alias (did you mean 'gpt52'?)"
        ],
    ),
    (
        "primary missing",
        lambda d: d["agent"]["model"].pop("primary"),
        ["$.agent.model.primary: is required"],
    ),
    (
        "primary is a number",
        lambda d: d["agent"]["model"].update(primary=5),
        ["$.agent.model.primary: expected a string, not the number 5"],
    ),
    (
        "fallbacks is a string",
        lambda d: d["agent"]["model"].update(fallbacks="openai/gpt-5.2"),
        ["$.agent.model.fallbacks: expected a list, not the string 'openai/gpt-5.2'"],
    ),
    (
        "model key without provider",
        lambda d: d["agent"]["models"].update({"gpt-4o": {}}),
        [
            "$.agent.models['gpt-4o']: 'gpt-4o' is not a model reference: write it as 'provider/model'"
        ],
    ),
    (
        "alias is not a string",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(alias=["x"]),
        ["$.agent.models['openai/gpt-5.2'].alias: expected a string, not a list"],
    ),
    (
        "alias names two models",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(alias="OPUS"),
        [
            "$.agent.models['openai/gpt-5.2'].alias: 'OPUS' is already the alias of "
            "anthropic/claude-opus-4-5 (aliases are case-insensitive and name one model each)"
        ],
    ),
    (
        "alias with a slash",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(alias="gpt/52"),
        [
            "$.agent.models['openai/gpt-5.2'].alias: 'gpt/52' cannot be an alias: it must be "
            "non-empty and contain no white space, '/' or '@'"
        ],
    ),
    (
        "order names a profile of another provider",
        lambda d: d["auth"]["order"]["anthropic"].append("openai:default"),
        [
            "$.auth.order.anthropic[2]: profile 'openai:default' belongs to provider 'openai', not to 'anthropic'"
        ],
    ),
    (
        "order lists a profile twice",
        lambda d: d["auth"]["order"]["anthropic"].append("anthropic:work"),
        ["$.auth.order.anthropic[2]: profile 'anthropic:work' is listed twice"],
    ),
    (
        "profile id without a colon",
        lambda d: d["auth"]["profiles"].update({"anthropic": {"provider": "anthropic"}}),
        ["$.auth.profiles.anthropic: 'anthropic' is not a profile id: write it as 'provider:name'"],
    ),
    (
        "profile provider disagrees with its id",
        lambda d: d["auth"]["profiles"]["anthropic:work"].update(provider="openai"),
        [
            "$.auth.profiles['anthropic:work'].provider: 'openai' does not match the provider "
            "'anthropic' of the profile id"
        ],
    ),
    (
        "profile mode unknown",
        lambda d: d["auth"]["profiles"]["anthropic:work"].update(mode="apikey"),
        [
            "$.auth.profiles['anthropic:work'].mode: 'apikey' is not one of 'api_key', 'oauth', 'token' (did you mean 'api_key'?)"
        ],
    ),
    (
        "the same model twice in a chain",
        lambda d: d["agent"]["model"].update(fallbacks=["openai/gpt-5.2", "Opus"]),
        [
            "$.agent.model.fallbacks[1]: anthropic/claude-opus-4-5 is already in the chain at "
            "$.agent.model.primary"
        ],
    ),
    (
        "chain model outside the allowlist",
        lambda d: d["agent"].update(allowlist=["Opus"]),
        [
            "$.agent.model.fallbacks[0]: openai/gpt-5.2 is not in $.agent.allowlist",
            "$.agent.imageModel.primary: openai/gpt-5.2 is not in $.agent.allowlist",
        ],
    ),
    (
        "model on an unknown provider",
        lambda d: d["agent"]["models"].update({"acme/m1": {}}),
        [
            "$.agent.models['acme/m1']: model acme/m1 uses provider 'acme', which is neither "
            "built in nor configured under $.providers"
        ],
    ),
    (
        "custom provider without a base URL",
        lambda d: d.update(providers={"acme": {"api": "openai"}}),
        ["$.providers.acme.baseUrl: is required for a provider that is not built in"],
    ),
    (
        "provider with an unknown wire format",
        lambda d: d.update(providers={"acme": {"api": "grpc", "baseUrl": "http://127.0.0.1:9"}}),
        [
            "$.providers.acme.api: 'grpc' is not one of 'openai', 'anthropic', 'openrouter', 'custom'"
        ],
    ),
    (
        "a key in a provider header",
        lambda d: d.update(providers={"openai": {"headers": {"Authorization": "Bearer x"}}}),
        [
            "$.providers.openai.headers.Authorization: credentials do not belong in the config; "
            "store them with `modelcfg login` and name the variable in apiKeyEnv"
        ],
    ),
    (
        "a key where an environment variable name belongs",
        lambda d: d.update(
            providers={"openai": {"apiKeyEnv": ["sk-canary-DO-NOT-LEAK-0123456789"]}}
        ),
        [
            "$.providers.openai.apiKeyEnv[0]: this must be the NAME of an environment variable "
            "(such as MY_PROVIDER_API_KEY), never a key itself"
        ],
    ),
    (
        "base URL that is not http",
        lambda d: d.update(providers={"openai": {"baseUrl": "ftp://example"}}),
        ["$.providers.openai.baseUrl: 'ftp://example' is not an http(s) URL"],
    ),
    (
        "context window of the wrong type",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(contextWindow="big"),
        [
            "$.agent.models['openai/gpt-5.2'].contextWindow: expected a whole number, not the string 'big'"
        ],
    ),
    (
        "negative context window",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(contextWindow=-1),
        [
            "$.agent.models['openai/gpt-5.2'].contextWindow: must be a positive number of tokens, not -1"
        ],
    ),
    (
        "zero output limit on a model without an alias",
        lambda d: d["agent"]["models"].update({"openai/gpt-4.1": {"maxOutputTokens": 0}}),
        [
            "$.agent.models['openai/gpt-4.1'].maxOutputTokens: must be a positive number of tokens, not 0"
        ],
    ),
    (
        "two keys naming the same model once normalised",
        lambda d: d["agent"]["models"].update({"OpenAI/gpt-5.2": {"alias": "other"}}),
        [
            "$.agent.models['OpenAI/gpt-5.2']: 'OpenAI/gpt-5.2' names the same model as 'openai/gpt-5.2'; keep one of them"
        ],
    ),
    (
        "output limit above the entry's own context window",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(
            contextWindow=5, maxOutputTokens=10
        ),
        [
            "$.agent.models['openai/gpt-5.2']: max_output_tokens of openai/gpt-5.2 (10) is larger than its context_window (5)"
        ],
    ),
    (
        "OAuth endpoints that are not URLs",
        lambda d: d.update(
            providers={
                "anthropic": {
                    "api": "anthropic",
                    "oauth": {
                        "authorizeUrl": "login.example.com",
                        "tokenUrl": "https://t.example/token",
                        "clientId": " ",
                    },
                }
            }
        ),
        [
            "$.providers.anthropic.oauth.authorizeUrl: 'login.example.com' is not an absolute http(s) URL",
            "$.providers.anthropic.oauth.clientId: must not be empty",
        ],
    ),
    (
        "a rule key misspelt",
        lambda d: d.update(policy={"rules": {"auth": {"windowSecs": 60}}}),
        [
            "$.policy.rules.auth.windowSecs: unknown key (did you mean 'windowSeconds' or 'maxWindowSeconds'?)"
        ],
    ),
    (
        "unknown input modality",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(input=["text", "smell"]),
        [
            "$.agent.models['openai/gpt-5.2'].input[1]: 'smell' is not one of 'text', 'image', "
            "'audio', 'pdf', 'video'"
        ],
    ),
    (
        "a legacy key",
        lambda d: d["agent"].update(modelFallbacks=["openai/gpt-5.2"]),
        [
            "$.agent.modelFallbacks: this is a legacy key; run `modelcfg doctor --fix` to migrate "
            "the file (or load it with migrate=True to migrate in memory)"
        ],
    ),
    (
        "structure errors come before cross-reference checks",
        lambda d: (d["agent"]["model"].update(primary="nope"), d.update(extra=1)),
        [
            "$.extra: unknown key",
        ],
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [pytest.param(change, expected, id=name) for name, change, expected in BAD_CONFIGS],
)
def test_bad_config_reports_path_and_message(
    change: Callable[[dict[str, Any]], object], expected: list[str]
) -> None:
    """Each bad config raises one ConfigError listing exactly these problems."""
    with pytest.raises(ConfigError) as info:
        load_config(edited(change))

    assert expected == list(info.value.errors)


def test_structure_and_cross_reference_errors_are_reported_together() -> None:
    """Cross-section problems are reported once the structure is valid, all at once."""
    data = edited(
        lambda d: (
            d["agent"]["model"].update(primary="nope", fallbacks=["gpt5"]),
            d["auth"]["order"]["anthropic"].append("openai:default"),
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(data)

    assert len(info.value.errors) == 3
    assert "3 problems in the configuration" in str(info.value)


def test_legacy_config_migrates_in_memory_on_request() -> None:
    """With migrate=True a legacy config loads as its migrated form."""
    legacy = {"agent": {"model": "anthropic/claude-opus-4-5", "modelFallbacks": ["openai/gpt-5.2"]}}

    config = load_config(legacy, migrate=True)

    assert FallbackChain.of("anthropic/claude-opus-4-5", "openai/gpt-5.2") == config.text_chain()


def test_json_name_maps_units() -> None:
    """Attribute names map to camelCase keys, with '_s' spelled 'Seconds'."""

    assert tuple(map(json_name, ("image_model", "deadline_s", "max_attempts", "models"))) == (
        "imageModel",
        "deadlineSeconds",
        "maxAttempts",
        "models",
    )


def test_dump_round_trips_the_proposal() -> None:
    """dump_config() gives data that loads back to an equal config."""
    config = load_config(BASE)

    assert config == load_config(dump_config(config))
    assert BASE["agent"]["model"] == dump_config(config)["agent"]["model"]  # type: ignore[index]


def test_provider_settings_and_defaults() -> None:
    """A provider entry overrides the built-in one; unknown providers are None."""
    config = load_config(
        {
            "providers": {
                "local": {
                    "api": "openai",
                    "baseUrl": "http://127.0.0.1:8080/v1",
                    "apiKeyEnv": ["LOCAL_KEY"],
                }
            }
        }
    )

    assert config.provider("local").api == WireFormat.OPENAI  # type: ignore[union-attr]
    assert config.provider("local").api_key_env == ("LOCAL_KEY",)  # type: ignore[union-attr]
    assert config.provider("anthropic").base_url == "https://api.anthropic.com"  # type: ignore[union-attr]
    assert config.provider("acme") is None


# --- properties ---------------------------------------------------------------------------------

aliases = hst.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,8}", fullmatch=True)
model_keys = hst.sampled_from(["anthropic", "openai", "openrouter", "google", "ollama"]).flatmap(
    lambda p: hst.from_regex(r"[a-z0-9][a-z0-9.@:/_-]{0,12}", fullmatch=True).map(
        lambda m: f"{p}/{m}"
    )
)


@hst.composite
def configs(draw: hst.DrawFn) -> dict[str, Any]:
    keys = draw(hst.lists(model_keys, min_size=1, max_size=6, unique=True))
    names = draw(hst.lists(aliases, min_size=len(keys), max_size=len(keys), unique_by=str.casefold))
    models: dict[str, Any] = {}
    for key, alias in zip(keys, names, strict=True):
        entry: dict[str, Any] = {}
        if draw(hst.booleans()):
            entry["alias"] = alias
        if draw(hst.booleans()):
            entry["contextWindow"] = draw(hst.integers(1, 2_000_000))
        if draw(hst.booleans()):
            entry["input"] = draw(
                hst.lists(hst.sampled_from(["text", "image", "pdf"]), min_size=1, unique=True)
            )
        if draw(hst.booleans()):
            entry["params"] = {"temperature": draw(hst.floats(0, 2))}
        models[key] = entry
    chain = draw(hst.permutations(keys))
    data: dict[str, Any] = {
        "agent": {"models": models, "model": {"primary": chain[0], "fallbacks": list(chain[1:])}}
    }
    if draw(hst.booleans()):
        data["auth"] = {
            "profiles": {"anthropic:work": {"provider": "anthropic", "mode": "token"}},
            "order": {"anthropic": ["anthropic:work", "anthropic:default"]},
        }
    return data


@given(configs())
def test_config_round_trips(data: dict[str, Any]) -> None:
    """load_config(dump_config(c)) == c, also through JSON text."""
    config = load_config(data)

    assert config == load_config(json.loads(json.dumps(dump_config(config))))


json_values = hst.recursive(
    hst.none()
    | hst.booleans()
    | hst.integers()
    | hst.floats(allow_nan=False)
    | hst.text(max_size=8),
    lambda inner: (
        hst.lists(inner, max_size=3) | hst.dictionaries(hst.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@settings(max_examples=300)
@given(hst.data())
def test_fuzzed_config_raises_only_config_error(data: hst.DataObject) -> None:
    """Random JSON at a random path either loads or raises ConfigError, never anything else."""
    config = copy.deepcopy(BASE)
    path = data.draw(hst.sampled_from(_paths(config)))
    value = data.draw(json_values)
    if not path:
        config = value
    else:
        parent: Any = config
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
    errors: tuple[str, ...] = ()
    try:
        load_config(config)
    except ConfigError as exc:
        errors = exc.errors
        assert errors, "a ConfigError always lists at least one problem"

    assert all(line.startswith("$") for line in errors)


def test_a_partial_rule_keeps_the_rest_of_the_default_rule() -> None:
    """Overriding one key of a policy rule changes that key only (rotation and fallback stay)."""
    from modelcfg import DEFAULT_RULES, FailureKind

    config = load_config({"policy": {"rules": {"auth": {"windowSeconds": 60}}}})
    rule = config.policy.rules[FailureKind.AUTH]

    assert 60.0 == rule.window_s
    assert (rule.rotate_profile, rule.fall_back, rule.mark) == (
        DEFAULT_RULES[FailureKind.AUTH].rotate_profile,
        DEFAULT_RULES[FailureKind.AUTH].fall_back,
        DEFAULT_RULES[FailureKind.AUTH].mark,
    )
    assert config == load_config(dump_config(config))


def test_entries_that_contradict_the_catalog_are_config_errors() -> None:
    """An output limit above the curated context window is a ConfigError with its path."""
    from modelcfg import catalog_for, curated_catalog

    config = load_config(
        {"agent": {"models": {"anthropic/claude-opus-4-5": {"maxOutputTokens": 10_000_000}}}}
    )
    with pytest.raises(ConfigError) as info:
        catalog_for(config, curated=curated_catalog())

    assert info.value.errors[0].startswith("$.agent.models['anthropic/claude-opus-4-5']: ")


def test_deeply_nested_files_are_config_errors(tmp_path: Any) -> None:
    """A file nesting too deeply is a ConfigError, not a RecursionError."""
    from modelcfg._config_file import load_config_file

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="nests too deeply"):
        load_config_file(path)
