"""
modelcfg: pick a model, rotate credentials and survive a provider that misbehaves.

The core is pure: frozen values and the decision function ``next_attempt``.
Names whose modules need cattrs, httpx or anyio load on first use, so that
``import modelcfg`` stays cheap for hosts that only embed the core.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

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

if _TYPE_CHECKING:
    from modelcfg._config import (
        AuthMode,
        Config,
        ModelEntry,
        ProviderConfig,
        WireFormat,
        dump_config,
        load_config,
    )
    from modelcfg._config_file import load_config_file
    from modelcfg._resolve import resolve_model

__all__ = [
    "AttemptsExhaustedError",
    "AuthMode",
    "AuthStoreError",
    "Config",
    "ConfigError",
    "CredentialsError",
    "Failure",
    "FailureKind",
    "FallbackChain",
    "InvalidStateError",
    "ModelEntry",
    "ModelRef",
    "ModelcfgError",
    "ProfileId",
    "ProviderConfig",
    "Selection",
    "Target",
    "UnknownModelError",
    "WireFormat",
    "dump_config",
    "load_config",
    "load_config_file",
    "redact",
    "resolve_model",
]

# Public name -> the private module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "AuthMode": "modelcfg._config",
    "Config": "modelcfg._config",
    "ModelEntry": "modelcfg._config",
    "ProviderConfig": "modelcfg._config",
    "WireFormat": "modelcfg._config",
    "dump_config": "modelcfg._config",
    "load_config": "modelcfg._config",
    "load_config_file": "modelcfg._config_file",
    "resolve_model": "modelcfg._resolve",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("modelcfg")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            return "0.0.0"
    raise AttributeError(f"module 'modelcfg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
