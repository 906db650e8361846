"""
Tests for loading, validating and dumping the configuration.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import ConfigError, FailureKind, FallbackChain, ModelStatus, Policy, ProfileId
from modelcfg._config._checks import names_credential_param
from modelcfg._config._converter import json_name
from modelcfg._config._file import example_config_data
from modelcfg._config._load import dump_config, load_config
from modelcfg._config._params import PARAM_SPECS, RESERVED_PARAMS, SYNONYMS
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._config._schema import (
    AgentConfig,
    AuthMode,
    Config,
    ModelEntry,
    ProviderConfig,
    WireFormat,
)
from modelcfg._core._redact import redact

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
    from modelcfg._config._file import load_config_file

    json_path = tmp_path / "c.json"
    json_path.write_text(json.dumps(BASE))
    toml_path = tmp_path / "c.toml"
    toml_path.write_text(
        '[agent.model]\nprimary = "anthropic/claude-opus-4-5"\nfallbacks = ["openai/gpt-5.2"]\n'
    )

    assert load_config_file(json_path).text_chain() == load_config_file(toml_path).text_chain()


def test_file_errors_name_the_file(tmp_path: Any) -> None:
    """A syntax error in a config file names the file, line and column."""
    from modelcfg._config._file import load_config_file

    path = tmp_path / "bad.json"
    path.write_text('{"agent": {,}}')
    with pytest.raises(ConfigError) as info:
        load_config_file(path)

    assert str(path) in str(info.value)
    assert "line 1 column 12" in str(info.value)


CANARY_WORD = "canaryDONOTLEAK0123456789"
CANARY = f"sk-{CANARY_WORD}"


def nested(depth: int) -> object:
    """A list nested *depth* levels deep, built without recursion."""
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


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
            "$.agent.models['openai/gpt-5.2']: maxOutputTokens of openai/gpt-5.2 (10) is larger "
            "than its contextWindow (5)"
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
            "$.providers.anthropic.oauth.authorizeUrl: must be an absolute http(s) URL such as 'https://login.example.com/authorize', not 'login.example.com'",
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
        "structure and reference problems are reported together",
        lambda d: (d["agent"]["model"].update(primary="nope"), d.update(extra=1)),
        [
            "$.extra: unknown key",
            "$.agent.model.primary: 'nope' is not a known model id or alias",
        ],
    ),
    (
        "a broken entry's alias is not reported as unknown",
        lambda d: (
            d["agent"]["models"]["openai/gpt-5.2"].update(contextWindow="big"),
            d["agent"]["model"].update(fallbacks=["gpt52"]),
        ),
        [
            "$.agent.models['openai/gpt-5.2'].contextWindow: expected a whole number, not the "
            "string 'big'"
        ],
    ),
    (
        "a broken provider entry still counts as configured",
        lambda d: (
            d.update(providers={"acme": {"api": "grpc", "baseUrl": "http://127.0.0.1:9"}}),
            d["agent"]["models"].update({"acme/m1": {}}),
        ),
        [
            "$.providers.acme.api: 'grpc' is not one of 'openai', 'anthropic', 'openrouter', "
            "'custom'"
        ],
    ),
    (
        "a type error does not hide the checks of the other fields",
        lambda d: d.update(policy={"maxAttempts": "8", "deadlineSeconds": 0}),
        [
            "$.policy.maxAttempts: expected a whole number, not the string '8'",
            "$.policy.deadlineSeconds: must be a finite number > 0, not 0.0",
        ],
    ),
    # Checks of the classes themselves, at the key they are about, in JSON terms.
    (
        "policy numbers out of range",
        lambda d: d.update(policy={"deadlineSeconds": 0, "jitterFraction": 1.5}),
        [
            "$.policy.deadlineSeconds: must be a finite number > 0, not 0.0",
            "$.policy.jitterFraction: must be a number in [0, 1), not 1.5",
        ],
    ),
    (
        "a negative rule window",
        lambda d: d.update(policy={"rules": {"auth": {"windowSeconds": -1}}}),
        ["$.policy.rules.auth.windowSeconds: must be a finite number >= 0, not -1.0"],
    ),
    (
        "a knowledge cutoff without a month",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(knowledgeCutoff="2024"),
        [
            "$.agent.models['openai/gpt-5.2'].knowledgeCutoff: must be written YYYY-MM or "
            "YYYY-MM-DD, not '2024'"
        ],
    ),
    (
        "an empty input list and a blank display name",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(input=[], name=" "),
        [
            "$.agent.models['openai/gpt-5.2'].name: the display name of openai/gpt-5.2 must be "
            "a non-empty text",
            "$.agent.models['openai/gpt-5.2'].input: must name at least one modality",
        ],
    ),
    # Values of the wrong JSON type, said in JSON words.
    ("agent is null", lambda d: d.update(agent=None), ["$.agent: expected an object, not null"]),
    ("auth is null", lambda d: d.update(auth=None), ["$.auth: expected an object, not null"]),
    (
        "agent is a string",
        lambda d: d.update(agent="Opus"),
        ["$.agent: expected an object, not the string 'Opus'"],
    ),
    (
        "policy is a list",
        lambda d: d.update(policy=[]),
        ["$.policy: expected an object, not a list"],
    ),
    (
        "a provider entry is a number",
        lambda d: d.update(providers={"acme": 5}),
        ["$.providers.acme: expected an object, not the number 5"],
    ),
    (
        "pricing is a list",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(pricing=[1, 2]),
        ["$.agent.models['openai/gpt-5.2'].pricing: expected an object, not a list"],
    ),
    (
        "a price beyond any float",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(pricing={"input": 10**400}),
        [
            "$.agent.models['openai/gpt-5.2'].pricing.input: expected a finite number, not a "
            "number with 401 digits"
        ],
    ),
    (
        "a deadline beyond any float",
        lambda d: d.update(policy={"deadlineSeconds": 10**400}),
        ["$.policy.deadlineSeconds: expected a finite number, not a number with 401 digits"],
    ),
    (
        "a count with more digits than Python prints",
        lambda d: d.update(policy={"maxAttempts": 10**5000}),
        [
            "$.policy.maxAttempts: expected a whole number of at most 18 digits, not a number "
            "with 5001 digits"
        ],
    ),
    (
        "infinity in a policy number",
        lambda d: d.update(policy={"backoffMaxSeconds": float("inf")}),
        ["$.policy.backoffMaxSeconds: expected a finite number, not Infinity"],
    ),
    (
        "NaN in params",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(
            params={"temperature": float("nan"), "stop": [1, float("-inf")]}
        ),
        [
            "$.agent.models['openai/gpt-5.2'].params.temperature: expected a finite number, not NaN",
            "$.agent.models['openai/gpt-5.2'].params.stop[1]: expected a finite number, not "
            "-Infinity",
        ],
    ),
    (
        "params nested too deeply",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(params={"schema": nested(100)}),
        [
            "$.agent.models['openai/gpt-5.2'].params.schema" + "[0]" * 59 + ": nests more than "
            "64 levels deep, too deep for a configuration"
        ],
    ),
    (
        "a key that is not a string at the top",
        lambda d: d.update({1: {}}),  # type: ignore[dict-item]
        ["$[1]: keys must be strings, not the number 1"],
    ),
    (
        "a key that is not a string in agent",
        lambda d: d["agent"].update({None: {}}),
        ["$.agent[null]: keys must be strings, not null"],
    ),
    (
        "a key that is not a string in params",
        lambda d: d["agent"]["models"]["openai/gpt-5.2"].update(params={2: "x"}),
        ["$.agent.models['openai/gpt-5.2'].params[2]: keys must be strings, not the number 2"],
    ),
    # No secrets in the config, and none echoed back.
    (
        "a credential in a header value",
        lambda d: d.update(providers={"openai": {"headers": {"X-Custom": f"Bearer {CANARY}"}}}),
        [
            "$.providers.openai.headers['X-Custom']: the value looks like a credential; "
            "credentials do not belong in the config; store them with `modelcfg login` and name "
            "the variable in apiKeyEnv"
        ],
    ),
    (
        "a header named for a credential",
        lambda d: d.update(providers={"openai": {"headers": {"X-Session-Token": CANARY}}}),
        [
            "$.providers.openai.headers['X-Session-Token']: credentials do not belong in the "
            "config; store them with `modelcfg login` and name the variable in apiKeyEnv"
        ],
    ),
    (
        "a key where no key belongs",
        lambda d: d.update(providers={"openai": {"apiKey": CANARY}}),
        ["$.providers.openai.apiKey: unknown key (did you mean 'apiKeyEnv' or 'api'?)"],
    ),
    (
        "a key where a wire format belongs",
        lambda d: d.update(providers={"openai": {"api": CANARY}}),
        [
            "$.providers.openai.api: 'sk-[REDACTED]' is not one of 'openai', 'anthropic', "
            "'openrouter', 'custom'"
        ],
    ),
    (
        "a key-shaped variable name",
        lambda d: d.update(providers={"openai": {"apiKeyEnv": [f"gsk_{CANARY_WORD}"]}}),
        [
            "$.providers.openai.apiKeyEnv[0]: this must be the NAME of an environment variable "
            "(such as MY_PROVIDER_API_KEY), never a key itself"
        ],
    ),
    (
        "a password in the base URL",
        lambda d: d.update(
            providers={"openai": {"baseUrl": f"https://me:{CANARY}@api.example.com/v1"}}
        ),
        [
            "$.providers.openai.baseUrl: must not hold a user name or password "
            "('user:password@host'); credentials do not belong in the config; store them with "
            "`modelcfg login`"
        ],
    ),
    (
        "a key in the base URL's query",
        lambda d: d.update(
            providers={"openai": {"baseUrl": f"https://api.example.com/v1?v=1&key={CANARY}"}}
        ),
        [
            "$.providers.openai.baseUrl: its query string holds a credential ('key'); "
            "credentials do not belong in the config; store them with `modelcfg login`"
        ],
    ),
    (
        "a key in the base URL's path",
        lambda d: d.update(providers={"openai": {"baseUrl": f"https://api.example.com/{CANARY}"}}),
        [
            "$.providers.openai.baseUrl: looks like it holds a credential; credentials do not "
            "belong in the config; store them with `modelcfg login`"
        ],
    ),
    (
        "white space in the base URL",
        lambda d: d.update(providers={"openai": {"baseUrl": "http://x y"}}),
        [
            "$.providers.openai.baseUrl: 'http://x y' is not a valid URL: it contains white "
            "space or a control character"
        ],
    ),
    (
        "a base URL without a host",
        lambda d: d.update(providers={"openai": {"baseUrl": "https:///v1"}}),
        ["$.providers.openai.baseUrl: 'https:///v1' is not a valid URL: it names no host"],
    ),
    (
        "a base URL with a bad port",
        lambda d: d.update(providers={"openai": {"baseUrl": "http://127.0.0.1:99999/v1"}}),
        [
            "$.providers.openai.baseUrl: 'http://127.0.0.1:99999/v1' is not a valid URL: its "
            "port is not a number from 0 to 65535"
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


def test_no_problem_echoes_a_secret() -> None:
    """No error of a bad config repeats the credential that was put in it."""
    for name, change, _expected in BAD_CONFIGS:
        with pytest.raises(ConfigError) as info:
            load_config(edited(change))

        assert CANARY_WORD not in str(info.value), name


def test_structure_and_cross_reference_errors_are_reported_together() -> None:
    """An unknown key, a bad fallback and an order naming another provider's profile come out together."""
    data = edited(
        lambda d: (
            d.update(agnet={}),
            d["agent"]["model"].update(fallbacks=["gpt5"]),
            d["auth"]["order"]["anthropic"].append("openai:default"),
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(data)

    assert [
        "$.agnet: unknown key (did you mean 'agent'?)",
        "$.auth.order.anthropic[2]: profile 'openai:default' belongs to provider 'openai', "
        "not to 'anthropic'",
        "$.agent.model.fallbacks[0]: 'gpt5' is not a known model id or alias (did you mean "
        "'gpt52'?)",
    ] == list(info.value.errors)


def test_the_error_example_in_the_docs_is_real() -> None:
    """The '3 problems' example in docs/config.md is what loading its config really prints."""
    text = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    shown = text.split("```text\n", 1)[1].split("```", 1)[0].rstrip("\n")
    data = edited(
        lambda d: (
            d.update(agnet={}),
            d["agent"]["model"].update(fallbacks=["gpt5"]),
            d["auth"]["order"]["anthropic"].append("openai:default"),
        )
    )
    with pytest.raises(ConfigError) as info:
        load_config(data, source="modelcfg.json")

    assert shown == str(info.value)


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

BUILT_IN = ["anthropic", "openai", "openrouter", "google", "ollama"]
aliases = hst.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,8}", fullmatch=True)
custom_providers = hst.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True).filter(
    lambda p: p not in BUILTIN_PROVIDERS
)
model_ids = hst.from_regex(r"[a-z0-9][a-z0-9.@:/_-]{0,12}", fullmatch=True)
urls = hst.builds(
    "{}://{}{}{}".format,
    hst.sampled_from(["http", "https"]),
    hst.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,4})?", fullmatch=True),
    hst.just("") | hst.integers(1, 65535).map(":{}".format),
    hst.from_regex(r"(/[a-z0-9._-]{1,8}){0,3}", fullmatch=True),
)
plain_texts = hst.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,15}", fullmatch=True).filter(
    lambda t: redact(t) == t
)
env_names = hst.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True)
finite_json = hst.recursive(
    hst.none()
    | hst.booleans()
    | hst.integers(-(10**15), 10**15)
    | hst.floats(allow_nan=False, allow_infinity=False)
    | hst.text(max_size=8),
    lambda inner: (
        hst.lists(inner, max_size=3) | hst.dictionaries(hst.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
seconds = hst.floats(0.01, 10_000)


def maybe(
    draw: hst.DrawFn, entry: dict[str, Any], key: str, values: hst.SearchStrategy[Any]
) -> None:
    """Set entry[key] to a drawn value, or leave it out."""
    if draw(hst.booleans()):
        entry[key] = draw(values)


@hst.composite
def provider_entries(draw: hst.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {"api": draw(hst.sampled_from([w.value for w in WireFormat]))}
    entry["baseUrl"] = draw(urls)
    maybe(
        draw,
        entry,
        "headers",
        hst.dictionaries(
            hst.sampled_from(["X-Title", "HTTP-Referer", "OpenAI-Organization", "anthropic-beta"]),
            plain_texts,
            max_size=2,
        ),
    )
    maybe(draw, entry, "apiKeyEnv", hst.lists(env_names, max_size=2, unique=True))
    maybe(
        draw,
        entry,
        "oauth",
        hst.fixed_dictionaries(
            {"authorizeUrl": urls, "tokenUrl": urls, "clientId": aliases},
            optional={"scopes": hst.lists(aliases, max_size=2)},
        ),
    )
    return entry


@hst.composite
def model_entries(draw: hst.DrawFn, alias: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if draw(hst.booleans()):
        entry["alias"] = alias
    # Names modelcfg checks (temperature, n, stop, model, api_key, ...) have rules of their own.
    param_names = hst.text(max_size=8).filter(
        lambda n: (
            not names_credential_param(n) and n not in {*PARAM_SPECS, *RESERVED_PARAMS, *SYNONYMS}
        )
    )
    maybe(draw, entry, "params", hst.dictionaries(param_names, finite_json, max_size=3))
    maybe(draw, entry, "name", plain_texts)
    maybe(
        draw,
        entry,
        "input",
        hst.lists(
            hst.sampled_from(["text", "image", "audio", "pdf", "video"]), min_size=1, unique=True
        ),
    )
    for flag in ("tools", "streaming", "structuredOutput", "reasoning", "temperature"):
        maybe(draw, entry, flag, hst.booleans())
    maybe(draw, entry, "contextWindow", hst.integers(1, 2_000_000))
    maybe(draw, entry, "maxOutputTokens", hst.integers(1, entry.get("contextWindow", 2_000_000)))
    maybe(
        draw,
        entry,
        "pricing",
        hst.dictionaries(
            hst.sampled_from(["input", "output", "cacheRead", "cacheWrite"]), hst.floats(0, 100)
        ),
    )
    maybe(draw, entry, "knowledgeCutoff", hst.from_regex(r"20\d\d-(0[1-9]|1[0-2])", fullmatch=True))
    maybe(draw, entry, "status", hst.sampled_from([s.value for s in ModelStatus]))
    return entry


@hst.composite
def policies(draw: hst.DrawFn) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    for key in (
        "deadlineSeconds",
        "backoffBaseSeconds",
        "backoffMaxSeconds",
        "counterResetSeconds",
        "probeLeaseSeconds",
        "circuitWindowSeconds",
        "circuitOpenSeconds",
    ):
        maybe(draw, policy, key, seconds)
    maybe(draw, policy, "maxAttempts", hst.integers(1, 50))
    maybe(draw, policy, "maxTargetRetries", hst.integers(0, 5))
    maybe(draw, policy, "circuitMinCalls", hst.integers(1, 50))
    maybe(draw, policy, "backoffMultiplier", hst.floats(1, 4))
    maybe(draw, policy, "jitterFraction", hst.floats(0, 0.99))
    maybe(draw, policy, "circuitFailureRate", hst.floats(0.01, 1))
    maybe(draw, policy, "retryAfterCapSeconds", hst.floats(0, 600))
    maybe(draw, policy, "retryTimeoutSameTarget", hst.booleans())
    rule = hst.fixed_dictionaries(
        {},
        optional={
            "mark": hst.sampled_from(["none", "cooldown", "disable"]),
            "scope": hst.sampled_from(["profile", "profile_model"]),
            "windowSeconds": hst.floats(0, 10_000),
            "escalation": hst.floats(1, 4),
            "maxWindowSeconds": hst.floats(0, 10_000),
            "honourRetryAfter": hst.booleans(),
            "retries": hst.integers(0, 5),
            "rotateProfile": hst.booleans(),
            "fallBack": hst.booleans(),
            "tripsCircuit": hst.booleans(),
            "note": plain_texts,
        },
    )
    maybe(
        draw,
        policy,
        "rules",
        hst.dictionaries(hst.sampled_from([k.value for k in FailureKind]), rule, max_size=3),
    )
    return policy


@hst.composite
def configs(draw: hst.DrawFn) -> dict[str, Any]:
    customs = draw(hst.lists(custom_providers, max_size=2, unique=True))
    overridden = draw(hst.lists(hst.sampled_from(BUILT_IN), max_size=2, unique=True))
    providers = {p: draw(provider_entries()) for p in (*customs, *overridden)}
    keys = draw(
        hst.lists(
            hst.tuples(hst.sampled_from([*BUILT_IN, *customs]), model_ids).map("/".join),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    names = draw(hst.lists(aliases, min_size=len(keys), max_size=len(keys), unique_by=str.casefold))
    models = {key: draw(model_entries(alias)) for key, alias in zip(keys, names, strict=True)}

    def written(key: str) -> str:  # a chain or allowlist entry names a model by id or alias
        alias = models[key].get("alias")
        return alias if alias and draw(hst.booleans()) else key

    chain = draw(hst.permutations(keys))
    agent: dict[str, Any] = {
        "models": models,
        "model": {"primary": written(chain[0]), "fallbacks": [written(k) for k in chain[1:]]},
    }
    if draw(hst.booleans()):
        image = draw(hst.lists(hst.sampled_from(keys), min_size=1, unique=True))
        agent["imageModel"] = {
            "primary": written(image[0]),
            "fallbacks": [written(k) for k in image[1:]],
        }
    if draw(hst.booleans()):
        agent["allowlist"] = [written(k) for k in draw(hst.permutations(keys))]
    data: dict[str, Any] = {"agent": agent}
    if providers:
        data["providers"] = providers
    if draw(hst.booleans()):
        data["policy"] = draw(policies())
    if draw(hst.booleans()):
        data["auth"] = {
            "profiles": {
                "anthropic:work": {
                    "provider": "anthropic",
                    "mode": "token",
                    "email": "me@example.com",
                }
            },
            "order": {"anthropic": ["anthropic:work", "anthropic:default"]},
        }
    return data


@settings(max_examples=60)
@given(configs())
def test_config_round_trips(data: dict[str, Any]) -> None:
    """load_config(dump_config(c)) == c through JSON text, and dumping again writes the same."""
    config = load_config(data)
    dumped = json.loads(json.dumps(dump_config(config), allow_nan=False))

    assert (config, dumped) == (load_config(dumped), dump_config(load_config(dumped)))


def test_dump_writes_only_the_rule_keys_that_were_set() -> None:
    """A partly overridden rule is dumped as the keys set, not as the whole default table."""
    given_policy = {"rules": {"auth": {"windowSeconds": 60.0}, "server": {"retries": 0}}}

    assert {"policy": given_policy} == dump_config(load_config({"policy": given_policy}))


# --- fuzzing ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Digits:
    """A whole number of this many digits (written as text in files, beyond Python's limit)."""

    count: int


@dataclasses.dataclass(frozen=True)
class Deep:
    """A list nested this many levels deep."""

    depth: int


LEGACY: dict[str, Any] = {
    "agent": {
        "model": "claude-opus-4-5",
        "modelFallbacks": ["gpt-5.2", "Opus"],
        "imageModel": "openai/gpt-5.2",
        "allowedModels": ["Opus", "openai/gpt-5.2"],
        "modelAliases": {"Opus": "anthropic/claude-opus-4-5"},
    }
}
KNOWN_KEYS = sorted(
    {
        json_name(a.name)
        for cls in (Config, AgentConfig, ModelEntry, ProviderConfig, Policy)
        for a in attrs.fields(cls)
    }
    | {
        "primary",
        "fallbacks",
        "profiles",
        "order",
        "provider",
        "mode",
        "modelAliases",
        "modelFallbacks",
    }
)
keys = hst.text(max_size=6) | hst.sampled_from(KNOWN_KEYS) | hst.integers(-2, 2) | hst.none()
fuzz_values = hst.recursive(
    hst.none()
    | hst.booleans()
    | hst.integers()
    | hst.sampled_from([10**18, -(10**19), 10**400])
    | hst.floats()
    | hst.text(max_size=8)
    | hst.sampled_from(
        ["Opus", "openai/gpt-5.2", "anthropic:work", "http://x y", f"Bearer {CANARY}"]
    )
    | hst.builds(Digits, hst.sampled_from([19, 400, 5000]))
    | hst.builds(Deep, hst.sampled_from([63, 70, 3000])),
    lambda inner: hst.lists(inner, max_size=3) | hst.dictionaries(keys, inner, max_size=3),
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


def as_python(value: object) -> object:
    """The fuzzed value as plain data, markers expanded."""
    match value:
        case Digits(count=count):
            return 10**count - 1
        case Deep(depth=depth):
            return nested(depth)
        case dict():
            return {key: as_python(item) for key, item in value.items()}
        case list():
            return [as_python(item) for item in value]
        case _:
            return value


def as_json(value: object) -> str:
    """The fuzzed value as JSON text (NaN and Infinity as Python's json writes them)."""
    match value:
        case Digits(count=count):
            return "9" * count
        case Deep(depth=depth):
            return "[" * depth + "]" * depth
        case dict():
            return (
                "{"
                + ", ".join(f"{json.dumps(str(k))}: {as_json(v)}" for k, v in value.items())
                + "}"
            )
        case list():
            return "[" + ", ".join(map(as_json, value)) + "]"
        case _:
            return json.dumps(value)


def as_toml(value: object) -> str | None:
    """The fuzzed value as a TOML value, or None for null (which TOML cannot write)."""
    match value:
        case None:
            return None
        case Digits(count=count):
            return "9" * count
        case Deep(depth=depth):
            return "[" * depth + "]" * depth
        case bool():
            return str(value).lower()
        case float():
            return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
        case dict():
            pairs = ((json.dumps(str(k)), as_toml(v)) for k, v in value.items())
            return "{" + ", ".join(f"{k} = {v}" for k, v in pairs if v is not None) + "}"
        case list():
            return "[" + ", ".join(t for t in map(as_toml, value) if t is not None) + "]"
        case _:
            return json.dumps(value, ensure_ascii=False)


def toml_document(value: object) -> str:
    """The fuzzed configuration as a TOML document (a top level that is no table as a bare value)."""
    if not isinstance(value, dict):
        return f"= {as_toml(value)}"
    pairs = ((json.dumps(str(k)), as_toml(v)) for k, v in value.items())
    return "".join(f"{k} = {v}\n" for k, v in pairs if v is not None)


def only_config_errors(load: Callable[[], object]) -> tuple[str, ...]:
    """The problems *load* reports; anything but a ConfigError fails the test."""
    try:
        load()
    except ConfigError as exc:
        return exc.errors or ("(a ConfigError without problems)",)
    return ()


@settings(max_examples=300, deadline=None)
@given(data=hst.data())
def test_fuzzed_config_raises_only_config_error(
    data: hst.DataObject, tmp_path_factory: Any
) -> None:
    """Random values, keys and deletions, as data and as JSON/TOML files, with or without migration, raise only ConfigError."""
    from modelcfg._config._file import load_config_file

    config: Any = copy.deepcopy(data.draw(hst.sampled_from([BASE, LEGACY])))
    for _ in range(data.draw(hst.integers(1, 3))):
        path = data.draw(hst.sampled_from(_paths(config)))
        parent: Any = config
        for step in path[:-1]:
            parent = parent[step]
        match data.draw(hst.sampled_from(["replace", "add", "delete"])) if path else "replace":
            case "replace" if not path:
                config = data.draw(fuzz_values)
            case "replace":
                parent[path[-1]] = data.draw(fuzz_values)
            case "add" if isinstance(target := parent[path[-1]], dict):
                target[data.draw(keys)] = data.draw(fuzz_values)
            case "delete" if isinstance(parent, dict):
                del parent[path[-1]]
            case _:
                pass
    directory = tmp_path_factory.getbasetemp() / "fuzz"
    directory.mkdir(exist_ok=True)
    json_file, toml_file = directory / "fuzz.json", directory / "fuzz.toml"
    json_file.write_text(as_json(config), encoding="utf-8")
    toml_file.write_text(toml_document(config), encoding="utf-8")
    plain: Any = as_python(config)
    problems = [
        only_config_errors(lambda: load_config(plain)),
        only_config_errors(lambda: load_config(plain, migrate=True)),
        only_config_errors(lambda: load_config_file(json_file)),
        only_config_errors(lambda: load_config_file(json_file, migrate=True)),
        only_config_errors(lambda: load_config_file(toml_file, migrate=True)),
    ]

    assert all(line.startswith("$") for lines in problems for line in lines)
    assert not any(CANARY_WORD in line for lines in problems for line in lines)


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
    from modelcfg._config._file import load_config_file

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="nests too deeply"):
        load_config_file(path)


def test_repeated_json_keys_are_errors_with_paths(tmp_path: Any) -> None:
    """A key repeated in one JSON object is an error at its path, reported with the others."""
    from modelcfg._config._file import load_config_file, read_config_data

    path = tmp_path / "c.json"
    path.write_text(
        '{"agent": {"models": {"openai/x": {"alias": "a"}, "openai/x": {"alias": "b"}}}, '
        '"agnet": {}}'
    )
    with pytest.raises(ConfigError) as loading:
        load_config_file(path)
    with pytest.raises(ConfigError) as reading:
        read_config_data(path)

    repeated = (
        "$.agent.models['openai/x']: this key appears more than once in the object, and only "
        "the last one would count; keep one"
    )
    assert [repeated, "$.agnet: unknown key (did you mean 'agent'?)"] == list(loading.value.errors)
    assert [repeated] == list(reading.value.errors)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "c.json",
            '{"policy": {"maxAttempts": ' + "9" * 5000 + "}}",
            "$.policy.maxAttempts: a number with 5000 digits is far more than any configuration "
            "value needs",
        ),
        (
            "c.toml",
            "[policy]\nmaxAttempts = " + "9" * 5000 + "\n",
            "$: a number at line 2 has more digits than a configuration value can have",
        ),
    ],
    ids=["json", "toml"],
)
def test_numbers_longer_than_python_reads_are_config_errors(
    tmp_path: Any, name: str, text: str, expected: str
) -> None:
    """A number with more digits than Python converts is a ConfigError, not a ValueError."""
    from modelcfg._config._file import load_config_file

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)

    assert [expected] == list(info.value.errors)


def test_nan_in_a_json_file_is_refused_at_its_path(tmp_path: Any) -> None:
    """NaN and Infinity, which Python's JSON reader accepts, are refused with their paths."""
    from modelcfg._config._file import load_config_file

    path = tmp_path / "c.json"
    path.write_text(
        '{"agent": {"models": {"openai/x": {"params": {"top_p": NaN}}}}, '
        '"policy": {"deadlineSeconds": Infinity}}'
    )
    with pytest.raises(ConfigError) as info:
        load_config_file(path)

    assert [
        "$.agent.models['openai/x'].params.top_p: expected a finite number, not NaN",
        "$.policy.deadlineSeconds: expected a finite number, not Infinity",
    ] == list(info.value.errors)


def test_legacy_key_advice_names_the_file(tmp_path: Any) -> None:
    """Loading a legacy file says to run doctor with --config naming that file, quoted for a shell."""
    from modelcfg._config._file import load_config_file

    path = tmp_path / "my config.json"
    path.write_text('{"agent": {"model": "openai/gpt-5.2"}}')
    with pytest.raises(ConfigError) as info:
        load_config_file(path)

    assert [
        f"$.agent.model: this is a legacy key; run `modelcfg doctor --fix --config '{path}'` to "
        "migrate the file (or load it with migrate=True to migrate in memory)"
    ] == list(info.value.errors)


def test_deep_nesting_is_a_config_error_also_when_migrating() -> None:
    """Data nested thousands of levels deep is a ConfigError, with or without migration."""
    data = {"agent": {"model": "openai/gpt-5.2", "modelFallbacks": nested(5000)}}

    for migrate in (False, True):
        with pytest.raises(ConfigError) as info:
            load_config(data, migrate=migrate)

        assert info.value.errors[0].endswith(
            ": nests more than 64 levels deep, too deep for a configuration"
        )


def test_provider_ids_are_read_one_way_wherever_they_appear() -> None:
    """Provider keys and a profile's provider are lower-cased as model and profile ids are."""
    config = load_config(
        {
            "auth": {
                "profiles": {"anthropic:work": {"provider": "Anthropic"}},
                "order": {"ANTHROPIC": ["anthropic:work"]},
            },
            "providers": {"My-Local": {"baseUrl": "http://127.0.0.1:8000/v1"}},
            "agent": {"model": {"primary": "my-local/llama"}},
        }
    )

    assert "anthropic" == config.auth.profiles[ProfileId.parse("anthropic:work")].provider
    assert (ProfileId.parse("anthropic:work"),) == config.auth_order("Anthropic")
    assert ["my-local"] == list(config.providers)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        pytest.param(
            {"providers": {"an thropic": {"baseUrl": "http://x.example"}}},
            "$.providers['an thropic']",
            id="provider-key",
        ),
        pytest.param(
            {"auth": {"order": {"an thropic": []}}}, "$.auth.order['an thropic']", id="order-key"
        ),
        pytest.param(
            {"auth": {"profiles": {"anthropic:work": {"provider": "an thropic"}}}},
            "$.auth.profiles['anthropic:work'].provider",
            id="profile-provider",
        ),
    ],
)
def test_a_bad_provider_id_is_worded_as_the_value_types_word_it(
    data: dict[str, Any], path: str
) -> None:
    """A provider id that is not one gets the value types' own message, at its path."""
    with pytest.raises(ValueError, match="is not a provider id") as expected:
        ProfileId(provider="an thropic", name="x")
    with pytest.raises(ConfigError) as raised:
        load_config(data)

    assert (f"{path}: {expected.value}",) == raised.value.errors


def test_two_keys_naming_one_provider_are_refused() -> None:
    """OpenAI and openai under providers name one provider: one would replace the other."""
    data = {
        "providers": {
            "Local": {"baseUrl": "http://127.0.0.1:1/v1"},
            "local": {"baseUrl": "http://127.0.0.1:2/v1"},
        }
    }

    with pytest.raises(ConfigError) as raised:
        load_config(data)

    assert ("$.providers.local: 'local' names the same provider as 'Local'; keep one of them",) == (
        raised.value.errors
    )
