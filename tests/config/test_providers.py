"""
Tests for the one table of built-in providers and everything that reads it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelcfg import load_config
from modelcfg._config._providers import BUILTIN_PROVIDERS, DEFAULT_ENV_VARS
from modelcfg.auth import env_vars_for, keyless_provider

DOCS = Path(__file__).parents[2] / "docs" / "config.md"


def documented_rows() -> dict[str, tuple[str, str, str]]:
    """The built-in providers table of docs/config.md: id -> (api, base URL, key cell)."""
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        found = re.fullmatch(r"\| `([a-z]+)` \| `([a-z]+)` \| `([^`]+)` \| (.+) \|", line)
        if found:
            rows[found[1]] = (found[2], found[3], found[4])
    return rows


def test_the_docs_list_the_table() -> None:
    """docs/config.md lists every built-in provider with its wire format, URL and keys."""
    expected = {
        provider: (
            row.api.value,
            row.base_url,
            "none: a local server that takes no key"
            if row.keyless
            else ", ".join(f"`{name}`" for name in row.env_vars),
        )
        for provider, row in BUILTIN_PROVIDERS.items()
    }

    assert expected == documented_rows()


@pytest.mark.parametrize("provider", sorted(BUILTIN_PROVIDERS))
def test_the_config_serves_the_table(provider: str) -> None:
    """A config without a providers section knows each built-in provider as the table says."""
    row = BUILTIN_PROVIDERS[provider]
    settings = load_config({}).provider(provider)

    assert settings is not None
    assert (row.api, row.base_url, row.env_vars) == (
        settings.api,
        settings.base_url,
        settings.api_key_env,
    )


@pytest.mark.parametrize("provider", sorted(BUILTIN_PROVIDERS))
def test_credentials_read_the_table(provider: str) -> None:
    """The credential lookup reads each built-in provider's key variables from the table."""
    row = BUILTIN_PROVIDERS[provider]

    assert row.env_vars == env_vars_for(provider)
    assert row.env_vars == env_vars_for(provider.upper())


@pytest.mark.parametrize("provider", sorted(BUILTIN_PROVIDERS))
def test_the_keyless_flag_is_what_the_credential_rule_decides(provider: str) -> None:
    """A built-in provider is keyless exactly when the credential lookup calls it without a key."""
    row = BUILTIN_PROVIDERS[provider]

    assert row.keyless == keyless_provider(provider, base_url=row.base_url)


def test_every_provider_with_key_variables_is_built_in() -> None:
    """No provider has key variables without being a built-in provider (a table of its own)."""

    assert set(DEFAULT_ENV_VARS) <= set(BUILTIN_PROVIDERS)
    assert {p for p, row in BUILTIN_PROVIDERS.items() if not row.keyless} == set(DEFAULT_ENV_VARS)


def test_a_declared_provider_replaces_the_built_in_settings() -> None:
    """An entry under providers wins over the table, whatever the case of its key."""
    config = load_config({"providers": {"Ollama": {"baseUrl": "http://127.0.0.1:9999/v1"}}})
    settings = config.provider("OLLAMA")

    assert settings is not None
    assert "http://127.0.0.1:9999/v1" == settings.base_url
