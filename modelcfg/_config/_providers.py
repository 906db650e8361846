"""
The providers every configuration knows without declaring them: one table.

Each row says how to reach a provider (its wire format and base URL), where its
key comes from (the environment variables, in the order they are read), and
whether it is a local server that takes no key. The configuration
(``Config.provider()``), the credential lookup (``modelcfg.auth.env_vars_for()``,
the legacy importer) and the command line all read this table, and nothing else
lists providers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

__all__ = ["BUILTIN_PROVIDERS", "DEFAULT_ENV_VARS", "BuiltinProvider", "WireFormat"]


class WireFormat(enum.StrEnum):
    """
    The HTTP API a provider speaks.
    """

    OPENAI = "openai"
    """OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, LM Studio, Groq, ...)."""
    ANTHROPIC = "anthropic"
    """The Anthropic Messages API."""
    OPENROUTER = "openrouter"
    """OpenAI-compatible, with OpenRouter's extra headers and model listing."""
    CUSTOM = "custom"
    """A host-supplied callable does the talking."""


@attrs.frozen(kw_only=True)
class BuiltinProvider:
    """
    One built-in provider.

    Attributes:
        api: The wire format it speaks.
        base_url: Its API's base URL.
        env_vars: The environment variables its key is read from, in order.
        keyless: A local server that takes no key: calls go out without one.
    """

    api: WireFormat
    base_url: str
    env_vars: tuple[str, ...] = ()
    keyless: bool = False


BUILTIN_PROVIDERS: Final[Mapping[str, BuiltinProvider]] = MappingProxyType(
    {
        "openai": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://api.openai.com/v1",
            env_vars=("OPENAI_API_KEY",),
        ),
        "anthropic": BuiltinProvider(
            api=WireFormat.ANTHROPIC,
            base_url="https://api.anthropic.com",
            env_vars=("ANTHROPIC_API_KEY",),
        ),
        "openrouter": BuiltinProvider(
            api=WireFormat.OPENROUTER,
            base_url="https://openrouter.ai/api/v1",
            env_vars=("OPENROUTER_API_KEY",),
        ),
        "google": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://generativelanguage.googleapis.com/v1beta/openai",
            env_vars=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ),
        "groq": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://api.groq.com/openai/v1",
            env_vars=("GROQ_API_KEY",),
        ),
        "mistral": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://api.mistral.ai/v1",
            env_vars=("MISTRAL_API_KEY",),
        ),
        "together": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://api.together.xyz/v1",
            env_vars=("TOGETHER_API_KEY",),
        ),
        "deepseek": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://api.deepseek.com/v1",
            env_vars=("DEEPSEEK_API_KEY",),
        ),
        "xai": BuiltinProvider(
            api=WireFormat.OPENAI,
            base_url="https://api.x.ai/v1",
            env_vars=("XAI_API_KEY",),
        ),
        "ollama": BuiltinProvider(
            api=WireFormat.OPENAI, base_url="http://127.0.0.1:11434/v1", keyless=True
        ),
        "lmstudio": BuiltinProvider(
            api=WireFormat.OPENAI, base_url="http://127.0.0.1:1234/v1", keyless=True
        ),
        "vllm": BuiltinProvider(
            api=WireFormat.OPENAI, base_url="http://127.0.0.1:8000/v1", keyless=True
        ),
    }
)
"""Providers every config knows without declaring them; ``providers`` entries override them."""

DEFAULT_ENV_VARS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {provider: row.env_vars for provider, row in BUILTIN_PROVIDERS.items() if row.env_vars}
)
"""The environment variables each built-in provider's key is read from, in order."""
