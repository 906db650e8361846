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
    DiscoveryError,
    InvalidParamsError,
    InvalidStateError,
    ModelcfgError,
    OutputInterruptedError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitedError,
    UnknownModelError,
    UnknownPresetError,
)

if _TYPE_CHECKING:
    from modelcfg._catalog._cache import (
        FileCatalogCache,
        MemoryCatalogCache,
        default_cache_path,
    )
    from modelcfg._catalog._catalog import (
        ModelCatalog,
    )
    from modelcfg._catalog._curated import (
        curated_catalog,
    )
    from modelcfg._catalog._discovery import (
        CatalogDiff,
        DiscoverySource,
        SourceKind,
        parse_listing,
    )
    from modelcfg._catalog._fetch import (
        fetch_models,
    )
    from modelcfg._catalog._listing import (
        ModelListing,
    )
    from modelcfg._catalog._records import (
        CatalogSource,
        Modality,
        ModelInfo,
        ModelStatus,
        Pricing,
        Provenance,
    )
    from modelcfg._catalog._refresh import (
        RefreshOutcome,
        RefreshReport,
        SourceRefresh,
        refresh_catalog,
    )
    from modelcfg._catalog._search import (
        CatalogFilter,
        SearchHit,
        SortOrder,
    )
    from modelcfg._catalog._snapshot import (
        CatalogSnapshot,
        SourceSnapshot,
    )
    from modelcfg._config._file import (
        load_config_file,
    )
    from modelcfg._config._load import (
        dump_config,
        load_config,
    )
    from modelcfg._config._migrate import (
        Change,
        ChangeAction,
        legacy_keys,
        migrate_config,
        seed_auth_order,
    )
    from modelcfg._config._param_plan import (
        ModelChoice,
        ParamResolver,
        PresetRoute,
        resolve_choice,
    )
    from modelcfg._config._params import (
        LayerKind,
        ParamLayer,
        ParamSource,
        ParamsPolicy,
        Preset,
        ResolvedParams,
        resolve_params,
    )
    from modelcfg._config._plan import (
        build_routes,
        catalog_for,
    )
    from modelcfg._config._providers import (
        WireFormat,
    )
    from modelcfg._config._resolve import (
        resolve_model,
    )
    from modelcfg._config._schema import (
        AuthMode,
        Config,
        ModelEntry,
        ProviderConfig,
    )
    from modelcfg._config._wire_params import (
        ParamDialect,
        ParamPlan,
        ParamProblem,
        ParamProblemKind,
        ParamTranslation,
    )
    from modelcfg._core._actions import (
        Action,
        Call,
        GiveUp,
    )
    from modelcfg._core._decide import (
        next_attempt,
    )
    from modelcfg._core._failures import Failure, FailureKind
    from modelcfg._core._health import (
        HealthState,
    )
    from modelcfg._core._metrics import HealthEvent, TargetMetrics
    from modelcfg._core._policy import (
        DEFAULT_RULES,
        KindRule,
        Policy,
        RoutingPolicy,
    )
    from modelcfg._core._reasons import Reason, ReasonCode, Skip, SkipCode
    from modelcfg._core._redact import redact
    from modelcfg._core._replay import (
        ReplayStep,
        render_steps,
        replay,
        steps_to_json,
    )
    from modelcfg._core._routing import estimate_tokens, needs_of
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
    from modelcfg._executor._health import HealthCheck
    from modelcfg._executor._reports import (
        AttemptFailed,
        AttemptReport,
        AttemptStarted,
        AttemptSucceeded,
        CandidateSkipped,
        Completion,
        ExecutorEvent,
        HealthChanged,
        Observer,
        ParamsDropped,
        RequestGaveUp,
        StreamRestarted,
        TierChanged,
    )
    from modelcfg._executor._stream import StreamingCompletion
    from modelcfg._executor._tally import ArmStats, ExperimentTally
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
        collect_stream,
    )
    from modelcfg._sync import Client, SyncStream
    from modelcfg._transport import AsyncOpenAITransport, OpenAITransport

__all__ = [
    "Action",
    "ArmStats",
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
    "CatalogDiff",
    "CatalogFilter",
    "CatalogSnapshot",
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
    "DiscoveryError",
    "DiscoverySource",
    "Executor",
    "ExecutorEvent",
    "ExperimentTally",
    "Failure",
    "FailureKind",
    "FallbackChain",
    "FileCatalogCache",
    "GiveUp",
    "HealthChanged",
    "HealthCheck",
    "HealthEvent",
    "HealthState",
    "ImagePart",
    "InvalidParamsError",
    "InvalidStateError",
    "KindRule",
    "LayerKind",
    "MemoryCatalogCache",
    "Message",
    "Modality",
    "ModelCatalog",
    "ModelChoice",
    "ModelEntry",
    "ModelInfo",
    "ModelListing",
    "ModelRef",
    "ModelStatus",
    "ModelTraits",
    "ModelcfgError",
    "Observer",
    "OpenAITransport",
    "OutputInterruptedError",
    "ParamDialect",
    "ParamLayer",
    "ParamPlan",
    "ParamProblem",
    "ParamProblemKind",
    "ParamResolver",
    "ParamSource",
    "ParamTranslation",
    "ParamsDropped",
    "ParamsPolicy",
    "Policy",
    "Preset",
    "PresetRoute",
    "Pricing",
    "ProfileId",
    "Provenance",
    "ProviderConfig",
    "ProviderSetup",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitedError",
    "Reason",
    "ReasonCode",
    "RefreshOutcome",
    "RefreshReport",
    "ReplayStep",
    "RequestGaveUp",
    "RequestNeeds",
    "ResolvedParams",
    "Routes",
    "RoutingPolicy",
    "SearchHit",
    "Selection",
    "SessionState",
    "Skip",
    "SkipCode",
    "SortOrder",
    "SourceKind",
    "SourceRefresh",
    "SourceSnapshot",
    "StaticCredentials",
    "StoreCredentials",
    "StreamEnd",
    "StreamRestarted",
    "StreamingCompletion",
    "SyncStream",
    "Target",
    "TargetMetrics",
    "TextDelta",
    "TextPart",
    "TierChanged",
    "ToolCall",
    "ToolCallDelta",
    "ToolSpec",
    "UnknownModelError",
    "UnknownPresetError",
    "Usage",
    "WireFormat",
    "build_routes",
    "catalog_for",
    "collect_stream",
    "curated_catalog",
    "default_cache_path",
    "dump_config",
    "dump_state",
    "estimate_tokens",
    "fetch_models",
    "legacy_keys",
    "load_config",
    "load_config_file",
    "load_state",
    "migrate_config",
    "needs_of",
    "next_attempt",
    "parse_listing",
    "redact",
    "refresh_catalog",
    "render_steps",
    "replay",
    "resolve_choice",
    "resolve_model",
    "resolve_params",
    "seed_auth_order",
    "steps_to_json",
]

# Each public name once, under the private module that defines it; imported on first use.
_LAZY_BY_MODULE: dict[str, tuple[str, ...]] = {
    "modelcfg._catalog._cache": ("FileCatalogCache", "MemoryCatalogCache", "default_cache_path"),
    "modelcfg._catalog._catalog": ("ModelCatalog",),
    "modelcfg._catalog._curated": ("curated_catalog",),
    "modelcfg._catalog._discovery": (
        "CatalogDiff",
        "DiscoverySource",
        "SourceKind",
        "parse_listing",
    ),
    "modelcfg._catalog._fetch": ("fetch_models",),
    "modelcfg._catalog._listing": ("ModelListing",),
    "modelcfg._catalog._records": (
        "CatalogSource",
        "Modality",
        "ModelInfo",
        "ModelStatus",
        "Pricing",
        "Provenance",
    ),
    "modelcfg._catalog._refresh": (
        "RefreshOutcome",
        "RefreshReport",
        "SourceRefresh",
        "refresh_catalog",
    ),
    "modelcfg._catalog._search": ("CatalogFilter", "SearchHit", "SortOrder"),
    "modelcfg._catalog._snapshot": ("CatalogSnapshot", "SourceSnapshot"),
    "modelcfg._config._file": ("load_config_file",),
    "modelcfg._config._load": ("dump_config", "load_config"),
    "modelcfg._config._param_plan": (
        "ModelChoice",
        "ParamResolver",
        "PresetRoute",
        "resolve_choice",
    ),
    "modelcfg._config._params": (
        "LayerKind",
        "ParamLayer",
        "ParamSource",
        "ParamsPolicy",
        "Preset",
        "ResolvedParams",
        "resolve_params",
    ),
    "modelcfg._config._wire_params": (
        "ParamDialect",
        "ParamPlan",
        "ParamProblem",
        "ParamProblemKind",
        "ParamTranslation",
    ),
    "modelcfg._config._migrate": (
        "Change",
        "ChangeAction",
        "legacy_keys",
        "migrate_config",
        "seed_auth_order",
    ),
    "modelcfg._config._plan": ("build_routes", "catalog_for"),
    "modelcfg._config._providers": ("WireFormat",),
    "modelcfg._config._resolve": ("resolve_model",),
    "modelcfg._config._schema": ("AuthMode", "Config", "ModelEntry", "ProviderConfig"),
    "modelcfg._core._actions": ("Action", "Call", "GiveUp"),
    "modelcfg._core._decide": ("next_attempt",),
    "modelcfg._core._failures": ("Failure", "FailureKind"),
    "modelcfg._core._health": ("HealthState",),
    "modelcfg._core._metrics": ("HealthEvent", "TargetMetrics"),
    "modelcfg._core._policy": ("DEFAULT_RULES", "KindRule", "Policy", "RoutingPolicy"),
    "modelcfg._core._reasons": ("Reason", "ReasonCode", "Skip", "SkipCode"),
    "modelcfg._core._routing": ("estimate_tokens", "needs_of"),
    "modelcfg._core._redact": ("redact",),
    "modelcfg._core._replay": ("ReplayStep", "render_steps", "replay", "steps_to_json"),
    "modelcfg._core._state": (
        "AttemptRecord",
        "AttemptState",
        "ModelTraits",
        "RequestNeeds",
        "Routes",
        "SessionState",
        "dump_state",
        "load_state",
    ),
    "modelcfg._core._values": ("FallbackChain", "ModelRef", "ProfileId", "Selection", "Target"),
    "modelcfg._executor._credentials": (
        "CredentialSource",
        "StaticCredentials",
        "StoreCredentials",
    ),
    "modelcfg._executor._executor": ("Executor",),
    "modelcfg._executor._reports": (
        "AttemptFailed",
        "AttemptReport",
        "AttemptStarted",
        "AttemptSucceeded",
        "CandidateSkipped",
        "Completion",
        "ExecutorEvent",
        "HealthChanged",
        "Observer",
        "ParamsDropped",
        "RequestGaveUp",
        "StreamRestarted",
        "TierChanged",
    ),
    "modelcfg._executor._health": ("HealthCheck",),
    "modelcfg._executor._stream": ("StreamingCompletion",),
    "modelcfg._executor._tally": ("ArmStats", "ExperimentTally"),
    "modelcfg._executor._wiring": ("ProviderSetup",),
    "modelcfg._messages": (
        "collect_stream",
        "ChatRequest",
        "ChatResponse",
        "ImagePart",
        "Message",
        "StreamEnd",
        "TextDelta",
        "TextPart",
        "ToolCall",
        "ToolCallDelta",
        "ToolSpec",
        "Usage",
    ),
    "modelcfg._sync": ("Client", "SyncStream"),
    "modelcfg._transport": ("AsyncOpenAITransport", "OpenAITransport"),
}

_LAZY: dict[str, str] = {
    name: module for module, names in _LAZY_BY_MODULE.items() for name in names
}
"""Public name -> the private module that defines it."""


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
