"""
modelcfg: pick a model, rotate credentials and survive a provider that misbehaves.

The core is pure: frozen values and the decision function ``next_attempt``.
Every public name loads its module on first use, so ``import modelcfg`` costs
almost nothing, and using the core never loads cattrs, httpx or anyio.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from modelcfg.exceptions import (
    AttemptsExhaustedError,
    AuthStoreError,
    ConfigError,
    CredentialsError,
    InvalidStateError,
    ModelcfgError,
    OutputInterruptedError,
    UnknownModelError,
)

if _TYPE_CHECKING:
    from modelcfg._actions import (
        Action,
        Call,
        GiveUp,
        Reason,
        ReasonCode,
        Skip,
        SkipCode,
    )
    from modelcfg._catalog import (
        CatalogFilter,
        CatalogSource,
        Modality,
        ModelCatalog,
        ModelInfo,
        ModelStatus,
        Pricing,
        SearchHit,
    )
    from modelcfg._config import (
        AuthMode,
        Config,
        ModelEntry,
        ProviderConfig,
        WireFormat,
        dump_config,
        load_config,
    )
    from modelcfg._config_file import (
        load_config_file,
    )
    from modelcfg._curated import (
        curated_catalog,
    )
    from modelcfg._decide import (
        next_attempt,
    )
    from modelcfg._executor import (
        AttemptFailed,
        AttemptReport,
        AttemptStarted,
        AttemptSucceeded,
        CandidateSkipped,
        Completion,
        CredentialSource,
        Executor,
        ExecutorEvent,
        Observer,
        ProviderSetup,
        RequestGaveUp,
        StaticCredentials,
        StoreCredentials,
        StreamingCompletion,
        StreamRestarted,
        TierChanged,
    )
    from modelcfg._failures import Failure, FailureKind, redact
    from modelcfg._health import (
        HealthState,
    )
    from modelcfg._messages import (
        ChatRequest,
        ChatResponse,
        ImagePart,
        Message,
        StreamEnd,
        TextDelta,
        TextPart,
        ToolCall,
        ToolCallDelta,
        ToolSpec,
        Usage,
    )
    from modelcfg._migrate import (
        Change,
        ChangeAction,
        legacy_keys,
        migrate_config,
        seed_auth_order,
    )
    from modelcfg._plan import (
        build_routes,
        catalog_for,
    )
    from modelcfg._policy import (
        DEFAULT_RULES,
        KindRule,
        Policy,
    )
    from modelcfg._replay import (
        render_steps,
        replay,
        steps_to_json,
    )
    from modelcfg._resolve import (
        resolve_model,
    )
    from modelcfg._state import (
        AttemptRecord,
        AttemptState,
        ModelTraits,
        RequestNeeds,
        Routes,
        SessionState,
        dump_state,
        load_state,
    )
    from modelcfg._values import FallbackChain, ModelRef, ProfileId, Selection, Target

__all__ = [
    "Action",
    "AttemptFailed",
    "AttemptRecord",
    "AttemptReport",
    "AttemptStarted",
    "AttemptState",
    "AttemptSucceeded",
    "AttemptsExhaustedError",
    "AuthMode",
    "AuthStoreError",
    "Call",
    "CandidateSkipped",
    "CatalogFilter",
    "CatalogSource",
    "Change",
    "ChangeAction",
    "ChatRequest",
    "ChatResponse",
    "Completion",
    "Config",
    "ConfigError",
    "CredentialSource",
    "CredentialsError",
    "DEFAULT_RULES",
    "Executor",
    "ExecutorEvent",
    "Failure",
    "FailureKind",
    "FallbackChain",
    "GiveUp",
    "HealthState",
    "ImagePart",
    "InvalidStateError",
    "KindRule",
    "Message",
    "Modality",
    "ModelCatalog",
    "ModelEntry",
    "ModelInfo",
    "ModelRef",
    "ModelStatus",
    "ModelTraits",
    "ModelcfgError",
    "Observer",
    "OutputInterruptedError",
    "Policy",
    "Pricing",
    "ProfileId",
    "ProviderConfig",
    "ProviderSetup",
    "Reason",
    "ReasonCode",
    "RequestGaveUp",
    "RequestNeeds",
    "Routes",
    "SearchHit",
    "Selection",
    "SessionState",
    "Skip",
    "SkipCode",
    "StaticCredentials",
    "StoreCredentials",
    "StreamEnd",
    "StreamRestarted",
    "StreamingCompletion",
    "Target",
    "TextDelta",
    "TextPart",
    "TierChanged",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "UnknownModelError",
    "Usage",
    "WireFormat",
    "build_routes",
    "catalog_for",
    "curated_catalog",
    "dump_config",
    "dump_state",
    "legacy_keys",
    "load_config",
    "load_config_file",
    "load_state",
    "migrate_config",
    "next_attempt",
    "redact",
    "render_steps",
    "replay",
    "resolve_model",
    "seed_auth_order",
    "steps_to_json",
]

# Public name -> the private module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "Failure": "modelcfg._failures",
    "FailureKind": "modelcfg._failures",
    "redact": "modelcfg._failures",
    "FallbackChain": "modelcfg._values",
    "ModelRef": "modelcfg._values",
    "ProfileId": "modelcfg._values",
    "Selection": "modelcfg._values",
    "Target": "modelcfg._values",
    "AuthMode": "modelcfg._config",
    "Config": "modelcfg._config",
    "ModelEntry": "modelcfg._config",
    "ProviderConfig": "modelcfg._config",
    "WireFormat": "modelcfg._config",
    "dump_config": "modelcfg._config",
    "load_config": "modelcfg._config",
    "load_config_file": "modelcfg._config_file",
    "resolve_model": "modelcfg._resolve",
    "CatalogFilter": "modelcfg._catalog",
    "CatalogSource": "modelcfg._catalog",
    "Modality": "modelcfg._catalog",
    "ModelCatalog": "modelcfg._catalog",
    "ModelInfo": "modelcfg._catalog",
    "ModelStatus": "modelcfg._catalog",
    "Pricing": "modelcfg._catalog",
    "SearchHit": "modelcfg._catalog",
    "curated_catalog": "modelcfg._curated",
    "Change": "modelcfg._migrate",
    "ChangeAction": "modelcfg._migrate",
    "legacy_keys": "modelcfg._migrate",
    "migrate_config": "modelcfg._migrate",
    "seed_auth_order": "modelcfg._migrate",
    "DEFAULT_RULES": "modelcfg._policy",
    "KindRule": "modelcfg._policy",
    "Policy": "modelcfg._policy",
    "HealthState": "modelcfg._health",
    "AttemptRecord": "modelcfg._state",
    "AttemptState": "modelcfg._state",
    "ModelTraits": "modelcfg._state",
    "RequestNeeds": "modelcfg._state",
    "Routes": "modelcfg._state",
    "SessionState": "modelcfg._state",
    "dump_state": "modelcfg._state",
    "load_state": "modelcfg._state",
    "Action": "modelcfg._actions",
    "Call": "modelcfg._actions",
    "GiveUp": "modelcfg._actions",
    "Reason": "modelcfg._actions",
    "ReasonCode": "modelcfg._actions",
    "Skip": "modelcfg._actions",
    "SkipCode": "modelcfg._actions",
    "next_attempt": "modelcfg._decide",
    "render_steps": "modelcfg._replay",
    "replay": "modelcfg._replay",
    "steps_to_json": "modelcfg._replay",
    "build_routes": "modelcfg._plan",
    "catalog_for": "modelcfg._plan",
    "ChatRequest": "modelcfg._messages",
    "ChatResponse": "modelcfg._messages",
    "ImagePart": "modelcfg._messages",
    "Message": "modelcfg._messages",
    "StreamEnd": "modelcfg._messages",
    "TextDelta": "modelcfg._messages",
    "TextPart": "modelcfg._messages",
    "ToolCall": "modelcfg._messages",
    "ToolCallDelta": "modelcfg._messages",
    "ToolSpec": "modelcfg._messages",
    "Usage": "modelcfg._messages",
    "AttemptFailed": "modelcfg._executor",
    "AttemptReport": "modelcfg._executor",
    "AttemptStarted": "modelcfg._executor",
    "AttemptSucceeded": "modelcfg._executor",
    "CandidateSkipped": "modelcfg._executor",
    "Completion": "modelcfg._executor",
    "CredentialSource": "modelcfg._executor",
    "Executor": "modelcfg._executor",
    "ExecutorEvent": "modelcfg._executor",
    "Observer": "modelcfg._executor",
    "ProviderSetup": "modelcfg._executor",
    "RequestGaveUp": "modelcfg._executor",
    "StaticCredentials": "modelcfg._executor",
    "StoreCredentials": "modelcfg._executor",
    "StreamRestarted": "modelcfg._executor",
    "StreamingCompletion": "modelcfg._executor",
    "TierChanged": "modelcfg._executor",
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
