"""
modelcfg: pick a model, rotate credentials and survive a provider that misbehaves.

The core is pure: frozen values and the decision function ``next_attempt``.
Every public name loads its module on first use, so ``import modelcfg`` costs
almost nothing, and using the core never loads cattrs, httpx or anyio.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from modelcfg.exceptions import (
    AttemptsExhaustedError,
    AuthFailedError,
    AuthStoreError,
    BadRequestError,
    ConfigError,
    ContentFilteredError,
    ContextOverflowError,
    CredentialsError,
    DeadlineReachedError,
    InvalidStateError,
    ModelcfgError,
    OutputInterruptedError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitedError,
    UnknownModelError,
)

if _TYPE_CHECKING:
    from modelcfg._catalog._curated import (
        curated_catalog,
    )
    from modelcfg._catalog._records import (
        CatalogFilter,
        CatalogSource,
        Modality,
        ModelCatalog,
        ModelInfo,
        ModelStatus,
        Pricing,
        SearchHit,
    )
    from modelcfg._config._file import (
        load_config_file,
    )
    from modelcfg._config._migrate import (
        Change,
        ChangeAction,
        legacy_keys,
        migrate_config,
        seed_auth_order,
    )
    from modelcfg._config._plan import (
        build_routes,
        catalog_for,
    )
    from modelcfg._config._resolve import (
        resolve_model,
    )
    from modelcfg._config._schema import (
        AuthMode,
        Config,
        ModelEntry,
        ProviderConfig,
        WireFormat,
        dump_config,
        load_config,
    )
    from modelcfg._core._actions import (
        Action,
        Call,
        GiveUp,
        Reason,
        ReasonCode,
        Skip,
        SkipCode,
    )
    from modelcfg._core._decide import (
        next_attempt,
    )
    from modelcfg._core._failures import Failure, FailureKind, redact
    from modelcfg._core._health import (
        HealthState,
    )
    from modelcfg._core._policy import (
        DEFAULT_RULES,
        KindRule,
        Policy,
    )
    from modelcfg._core._replay import (
        render_steps,
        replay,
        steps_to_json,
    )
    from modelcfg._core._state import (
        AttemptRecord,
        AttemptState,
        ModelTraits,
        RequestNeeds,
        Routes,
        SessionState,
        dump_state,
        load_state,
    )
    from modelcfg._core._values import FallbackChain, ModelRef, ProfileId, Selection, Target
    from modelcfg._executor._credentials import (
        CredentialSource,
        StaticCredentials,
        StoreCredentials,
    )
    from modelcfg._executor._executor import Executor
    from modelcfg._executor._reports import (
        AttemptFailed,
        AttemptReport,
        AttemptStarted,
        AttemptSucceeded,
        CandidateSkipped,
        Completion,
        ExecutorEvent,
        Observer,
        RequestGaveUp,
        StreamRestarted,
        TierChanged,
    )
    from modelcfg._executor._stream import StreamingCompletion
    from modelcfg._executor._wiring import ProviderSetup
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
    from modelcfg._sync import Client, SyncStream
    from modelcfg._transport import AsyncOpenAITransport, OpenAITransport

__all__ = [
    "Action",
    "AsyncOpenAITransport",
    "AttemptFailed",
    "AttemptRecord",
    "AttemptReport",
    "AttemptStarted",
    "AttemptState",
    "AttemptSucceeded",
    "AttemptsExhaustedError",
    "AuthFailedError",
    "AuthMode",
    "AuthStoreError",
    "BadRequestError",
    "Call",
    "CandidateSkipped",
    "CatalogFilter",
    "CatalogSource",
    "Change",
    "ChangeAction",
    "ChatRequest",
    "ChatResponse",
    "Client",
    "Completion",
    "Config",
    "ConfigError",
    "ContentFilteredError",
    "ContextOverflowError",
    "CredentialSource",
    "CredentialsError",
    "DEFAULT_RULES",
    "DeadlineReachedError",
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
    "OpenAITransport",
    "OutputInterruptedError",
    "Policy",
    "Pricing",
    "ProfileId",
    "ProviderConfig",
    "ProviderSetup",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitedError",
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
    "SyncStream",
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
    "Failure": "modelcfg._core._failures",
    "FailureKind": "modelcfg._core._failures",
    "redact": "modelcfg._core._failures",
    "FallbackChain": "modelcfg._core._values",
    "ModelRef": "modelcfg._core._values",
    "ProfileId": "modelcfg._core._values",
    "Selection": "modelcfg._core._values",
    "Target": "modelcfg._core._values",
    "AuthMode": "modelcfg._config._schema",
    "Config": "modelcfg._config._schema",
    "ModelEntry": "modelcfg._config._schema",
    "ProviderConfig": "modelcfg._config._schema",
    "WireFormat": "modelcfg._config._schema",
    "dump_config": "modelcfg._config._schema",
    "load_config": "modelcfg._config._schema",
    "load_config_file": "modelcfg._config._file",
    "resolve_model": "modelcfg._config._resolve",
    "CatalogFilter": "modelcfg._catalog._records",
    "CatalogSource": "modelcfg._catalog._records",
    "Modality": "modelcfg._catalog._records",
    "ModelCatalog": "modelcfg._catalog._records",
    "ModelInfo": "modelcfg._catalog._records",
    "ModelStatus": "modelcfg._catalog._records",
    "Pricing": "modelcfg._catalog._records",
    "SearchHit": "modelcfg._catalog._records",
    "curated_catalog": "modelcfg._catalog._curated",
    "Change": "modelcfg._config._migrate",
    "ChangeAction": "modelcfg._config._migrate",
    "legacy_keys": "modelcfg._config._migrate",
    "migrate_config": "modelcfg._config._migrate",
    "seed_auth_order": "modelcfg._config._migrate",
    "DEFAULT_RULES": "modelcfg._core._policy",
    "KindRule": "modelcfg._core._policy",
    "Policy": "modelcfg._core._policy",
    "HealthState": "modelcfg._core._health",
    "AttemptRecord": "modelcfg._core._state",
    "AttemptState": "modelcfg._core._state",
    "ModelTraits": "modelcfg._core._state",
    "RequestNeeds": "modelcfg._core._state",
    "Routes": "modelcfg._core._state",
    "SessionState": "modelcfg._core._state",
    "dump_state": "modelcfg._core._state",
    "load_state": "modelcfg._core._state",
    "Action": "modelcfg._core._actions",
    "Call": "modelcfg._core._actions",
    "GiveUp": "modelcfg._core._actions",
    "Reason": "modelcfg._core._actions",
    "ReasonCode": "modelcfg._core._actions",
    "Skip": "modelcfg._core._actions",
    "SkipCode": "modelcfg._core._actions",
    "next_attempt": "modelcfg._core._decide",
    "render_steps": "modelcfg._core._replay",
    "replay": "modelcfg._core._replay",
    "steps_to_json": "modelcfg._core._replay",
    "build_routes": "modelcfg._config._plan",
    "catalog_for": "modelcfg._config._plan",
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
    "AttemptFailed": "modelcfg._executor._reports",
    "AttemptReport": "modelcfg._executor._reports",
    "AttemptStarted": "modelcfg._executor._reports",
    "AttemptSucceeded": "modelcfg._executor._reports",
    "CandidateSkipped": "modelcfg._executor._reports",
    "Completion": "modelcfg._executor._reports",
    "CredentialSource": "modelcfg._executor._credentials",
    "Executor": "modelcfg._executor._executor",
    "ExecutorEvent": "modelcfg._executor._reports",
    "Observer": "modelcfg._executor._reports",
    "ProviderSetup": "modelcfg._executor._wiring",
    "RequestGaveUp": "modelcfg._executor._reports",
    "StaticCredentials": "modelcfg._executor._credentials",
    "StoreCredentials": "modelcfg._executor._credentials",
    "StreamRestarted": "modelcfg._executor._reports",
    "StreamingCompletion": "modelcfg._executor._stream",
    "TierChanged": "modelcfg._executor._reports",
    "Client": "modelcfg._sync",
    "SyncStream": "modelcfg._sync",
    "AsyncOpenAITransport": "modelcfg._transport",
    "OpenAITransport": "modelcfg._transport",
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
