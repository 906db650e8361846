"""
Keys pasted where a config value belongs are refused at their path, and never echoed.

``params`` are sent in every request body, and aliases, model ids, OAuth client
ids and profile emails are printed by the command line: none of them may hold a
key. The canary is key-shaped, so the check finds it wherever it is put.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelcfg import ConfigError, load_config

MARK = "DO-NOT-LEAK"
CANARY = f"sk-proj-{MARK}-0123456789abcdef"


def config_with(*, model: str = "local/m", entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """A small config whose one model entry is *entry*, under the id *model*."""
    return {
        "providers": {"local": {"api": "openai", "baseUrl": "http://127.0.0.1:8080/v1"}},
        "agent": {"model": {"primary": model}, "models": {model: entry or {}}},
    }


def problems(data: dict[str, Any]) -> tuple[str, ...]:
    """The problems load_config() reports for *data*."""
    with pytest.raises(ConfigError) as raised:
        load_config(data)
    assert MARK not in str(raised.value)
    return raised.value.errors


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"api_key": "plainsecret0123456789"}, "$.agent.models['local/m'].params.api_key"),
        ({"Authorization": "Bearer xyz"}, "$.agent.models['local/m'].params.Authorization"),
        ({"x-api-key": "abc"}, "$.agent.models['local/m'].params['x-api-key']"),
        ({"extra_body": {"x": CANARY}}, "$.agent.models['local/m'].params.extra_body.x"),
        ({"stop": ["ok", f"Bearer {CANARY}"]}, "$.agent.models['local/m'].params.stop[1]"),
    ],
    ids=["credential name", "authorization", "header-style name", "nested value", "list item"],
)
def test_params_holding_a_credential_are_refused(params: dict[str, Any], path: str) -> None:
    """A credential-named parameter or a key-shaped value anywhere in params is a problem at its path."""
    found = problems(config_with(entry={"params": params}))

    assert [path] == [line.split(": ", 1)[0] for line in found]


def test_ordinary_params_with_key_words_in_their_names_are_fine() -> None:
    """max_tokens, prompt_cache_key and budget_tokens are parameters, not credentials."""
    params = {
        "max_tokens": 10,
        "prompt_cache_key": "conversation-1",
        "thinking": {"budget_tokens": 5},
    }

    config = load_config(config_with(entry={"params": params}))

    assert 1 == len(config.agent.models)


@pytest.mark.parametrize(
    "data",
    [
        config_with(entry={"alias": CANARY}),
        config_with(model=f"local/{CANARY}"),
        {
            **config_with(),
            "providers": {
                "p": {
                    "api": "openai",
                    "baseUrl": "https://api.example.com/v1",
                    "oauth": {
                        "authorizeUrl": "https://auth.example.com/authorize",
                        "tokenUrl": "https://auth.example.com/token",
                        "clientId": CANARY,
                    },
                },
                "local": {"api": "openai", "baseUrl": "http://127.0.0.1:8080/v1"},
            },
        },
        {
            **config_with(),
            "auth": {"profiles": {"local:default": {"provider": "local", "email": CANARY}}},
        },
    ],
    ids=["alias", "model id", "clientId", "email"],
)
def test_a_key_in_a_name_or_label_is_refused(data: dict[str, Any]) -> None:
    """An alias, model id, OAuth client id or profile email that looks like a key is refused."""
    found = problems(data)

    assert any("looks like a credential" in line for line in found), found
