"""
Credential lookups the commands share: a provider's rotation order and where its key comes from.
"""

from __future__ import annotations

from modelcfg._cli._common import Context
from modelcfg._config import Config
from modelcfg._plan import profile_order
from modelcfg._values import ProfileId
from modelcfg.auth import (
    CredentialOrigin,
    ResolvedCredential,
    env_vars_for,
    keyless_provider,
    resolve_credential,
)

__all__ = ["auth_order", "env_names", "keyless", "resolve", "short_source"]


def auth_order(context: Context, config: Config, provider: str) -> tuple[ProfileId, ...]:
    """
    The rotation order of *provider*, as routing uses it (the store's override first).
    """
    return profile_order(config, provider, context.order_overrides((provider,)))


def env_names(config: Config, provider: str) -> tuple[str, ...]:
    """
    The environment variables *provider*'s key may come from, config-declared first.
    """
    settings = config.provider(provider)
    return env_vars_for(provider, settings.api_key_env if settings else ())


def keyless(config: Config, provider: str) -> bool:
    """
    Whether *provider* is a local server that needs no key.

    True when its base URL is on the loopback interface and no environment
    variable is declared for its key (``ollama``, ``lmstudio``, a local vLLM).
    """
    settings = config.provider(provider)
    if settings is None:
        return False
    return keyless_provider(provider, base_url=settings.base_url, env_vars=settings.api_key_env)


def resolve(context: Context, config: Config, provider: str) -> ResolvedCredential:
    """
    The credential a call to *provider* would use now: its order, then the environment.
    """
    return resolve_credential(
        provider,
        store=context.store(),
        environ=context.environ,
        order=auth_order(context, config, provider),
        env_vars=env_names(config, provider),
        now=context.now(),
    )


def short_source(resolved: ResolvedCredential, *, local: bool = False) -> str:
    """
    Where a credential comes from, briefly: ``anthropic:work (store)``, ``env X``, ``missing``.
    """
    match resolved.origin:
        case CredentialOrigin.PROFILE:
            return f"{resolved.profile} (store)"
        case CredentialOrigin.ENVIRONMENT:
            return f"env {resolved.env_var}"
        case CredentialOrigin.NONE:
            return "none needed (local)" if local else "missing"
