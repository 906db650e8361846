"""
Credential lookups the commands share: a provider's rotation order and where its key comes from.
"""

from __future__ import annotations

from modelcfg._cli._common import Context
from modelcfg._config._plan import profile_order
from modelcfg._config._schema import Config
from modelcfg._core._values import ProfileId
from modelcfg.auth import (
    CredentialOrigin,
    ResolvedCredential,
    env_vars_for,
    keyless_provider,
    resolve_credential,
)
from modelcfg.auth._resolve import login_command

__all__ = [
    "auth_order",
    "can_refresh",
    "env_names",
    "keyless",
    "login_command",
    "order_set_command",
    "resolve",
    "short_source",
]


def auth_order(context: Context, config: Config, provider: str) -> tuple[ProfileId, ...]:
    """
    The rotation order of *provider*, as routing uses it (the one rule, over the store's
    override and profiles and the config).
    """
    key = provider.strip().lower()
    return profile_order(
        config, key, context.order_overrides((key,)), context.stored_profiles((key,))
    )


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


def can_refresh(config: Config, provider: str) -> bool:
    """
    Whether expired OAuth access tokens of *provider* can be refreshed: its config names
    OAuth endpoints (the executor builds its refresher from exactly these).
    """
    settings = config.provider(provider)
    return settings is not None and settings.oauth is not None


def resolve(context: Context, config: Config, provider: str) -> ResolvedCredential:
    """
    The credential a call to *provider* would send first.

    The rule is the executor's (:func:`~modelcfg.auth.credential_for` along the
    routes' order): the first usable profile of the order; else the environment
    key, sent with the order's first profile; else none.
    """
    return resolve_credential(
        provider,
        store=context.store(),
        environ=context.environ,
        order=auth_order(context, config, provider),
        env_vars=env_names(config, provider),
        now=context.now(),
        can_refresh=can_refresh(config, provider),
        modes={pid: p.mode for pid, p in config.auth.profiles.items()},
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


def order_set_command(order: tuple[ProfileId, ...], profile: ProfileId) -> str:
    """
    The ``modelcfg auth order set`` command that puts *profile* first in *order*.
    """
    profiles = " ".join(str(p) for p in (profile, *(p for p in order if p != profile)))
    return f"`modelcfg auth order set {profile.provider} {profiles}`"
