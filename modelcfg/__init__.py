"""
modelcfg: pick a model, rotate credentials and survive a provider that misbehaves.

The core is pure: frozen values and the decision function ``next_attempt``.
Adapters and the executor, which need httpx and anyio, load on first use.
"""

from __future__ import annotations

from modelcfg._failures import Failure, FailureKind, redact
from modelcfg._values import FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg.exceptions import (
    AttemptsExhaustedError,
    AuthStoreError,
    ConfigError,
    CredentialsError,
    InvalidStateError,
    ModelcfgError,
    UnknownModelError,
)

__all__ = [
    "AttemptsExhaustedError",
    "AuthStoreError",
    "ConfigError",
    "CredentialsError",
    "Failure",
    "FailureKind",
    "FallbackChain",
    "InvalidStateError",
    "ModelRef",
    "ModelcfgError",
    "ProfileId",
    "Selection",
    "Target",
    "UnknownModelError",
    "redact",
]


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("modelcfg")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            return "0.0.0"
    raise AttributeError(f"module 'modelcfg' has no attribute {name!r}")
