"""
Keys from environment variables, and providers that need no key at all.

Everything here is given the environment (``environ``); nothing reads ``os.environ``.
The variables of the built-in providers come from their table
(:data:`~modelcfg.auth.DEFAULT_ENV_VARS`, defined in ``modelcfg._config._providers``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import urlsplit

from modelcfg._config._providers import DEFAULT_ENV_VARS
from modelcfg.auth._credentials import Secret

__all__ = [
    "DEFAULT_ENV_VARS",
    "env_key",
    "env_vars_for",
    "keyless_provider",
    "missing_hint",
]

_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def env_vars_for(provider: str, declared: Iterable[str] = ()) -> tuple[str, ...]:
    """
    Return the environment variables to look at for *provider*, config-declared first.

    .. versionadded:: 0.1.0
    """
    names = (*declared, *DEFAULT_ENV_VARS.get(provider.strip().lower(), ()))
    return tuple(dict.fromkeys(n for n in names if n))


def keyless_provider(provider: str, *, base_url: str | None, env_vars: Iterable[str] = ()) -> bool:
    """
    Whether *provider* is a local server that needs no key.

    True when its base URL is on the loopback interface and no environment
    variable is known for its key (``ollama``, ``lmstudio``, a local vLLM): calls
    then go out without credentials instead of failing for want of one.

    .. versionadded:: 0.1.0
    """
    if base_url is None or env_vars_for(provider, env_vars):
        return False
    return urlsplit(base_url).hostname in _LOOPBACK_HOSTS


def env_key(names: tuple[str, ...], environ: Mapping[str, str]) -> tuple[str, Secret] | None:
    """
    The first of *names* that holds a usable key in *environ*, and that key.

    A value that is empty, or has white space inside once stripped, is passed over.
    """
    for name in names:
        value = environ.get(name, "").strip()
        if value and not any(ch.isspace() for ch in value):
            return name, Secret(value=value)
    return None


def missing_hint(provider: str, names: tuple[str, ...]) -> str:
    """
    The sentence saying what to set when *provider* has no credential at all.
    """
    login = f"run `modelcfg login {provider}`"
    if not names:
        return (
            f"No credentials for {provider}: {login}, or declare the environment variable "
            "that holds its key in the provider's config."
        )
    wanted = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
    return f"No credentials for {provider}: set {wanted} or {login}."
