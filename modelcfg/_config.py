"""
The configuration: frozen classes, one private cattrs converter, and validation.

The file format is the proposal's JSON shape with camelCase keys
(``agent.imageModel``); the classes use snake_case attributes and the converter
maps one to the other. Loading reports every problem at once, each with its
JSON path, as one :class:`~modelcfg.exceptions.ConfigError`.

Config holds no secrets: credentials live in the auth store.
"""

from __future__ import annotations

import difflib
import enum
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, TypeVar

import attrs
import cattrs
from cattrs.dispatch import StructureHook, UnstructureHook
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from modelcfg._catalog import Modality, ModelInfo, ModelStatus, Pricing
from modelcfg._failures import FailureKind
from modelcfg._migrate import legacy_keys, migrate_config
from modelcfg._policy import DEFAULT_RULES, KindRule, Policy
from modelcfg._values import FallbackChain, ModelRef, ProfileId
from modelcfg.exceptions import ConfigError
from modelcfg.typing import JSON

__all__ = [
    "AgentConfig",
    "AuthConfig",
    "AuthMode",
    "ChainConfig",
    "Config",
    "ModelEntry",
    "OAuthEndpoints",
    "ProfileConfig",
    "ProviderConfig",
    "WireFormat",
    "dump_config",
    "load_config",
]

_T = TypeVar("_T")


class AuthMode(enum.StrEnum):
    """
    How a profile authenticates.
    """

    API_KEY = "api_key"
    OAUTH = "oauth"
    TOKEN = "token"


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
class ProfileConfig:
    """
    A declared auth profile (its secret lives in the auth store).

    Attributes:
        provider: The provider the profile belongs to; must match its id.
        mode: How it authenticates.
        email: The account, for display (OAuth).
    """

    provider: str
    mode: AuthMode = AuthMode.API_KEY
    email: str | None = None


@attrs.frozen(kw_only=True)
class AuthConfig:
    """
    The ``auth`` section: declared profiles and the rotation order per provider.
    """

    profiles: Mapping[ProfileId, ProfileConfig] = attrs.field(factory=dict)
    order: Mapping[str, tuple[ProfileId, ...]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ModelEntry:
    """
    What the user says about one model: its alias, parameters, and catalog facts.

    The catalog fields (``name`` to ``status``) override or, for models the
    catalog does not know (local servers, custom providers), define the model's
    record. ``None`` means "as the catalog says".
    """

    alias: str | None = None
    params: Mapping[str, object] = attrs.field(factory=dict)
    name: str | None = None
    input: frozenset[Modality] | None = None
    tools: bool | None = None
    streaming: bool | None = None
    structured_output: bool | None = None
    reasoning: bool | None = None
    temperature: bool | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    pricing: Pricing | None = None
    knowledge_cutoff: str | None = None
    status: ModelStatus | None = None

    def catalog_overrides(self) -> dict[str, object]:
        """
        The catalog fields this entry sets, by ``ModelInfo`` field name.
        """
        return {
            name: value for name in _CATALOG_FIELDS if (value := getattr(self, name)) is not None
        }


_CATALOG_FIELDS: Final = (
    "name",
    "input",
    "tools",
    "streaming",
    "structured_output",
    "reasoning",
    "temperature",
    "context_window",
    "max_output_tokens",
    "pricing",
    "knowledge_cutoff",
    "status",
)


@attrs.frozen(kw_only=True)
class ChainConfig:
    """
    A primary model and its fallbacks, as written: ids or aliases.

    Use :meth:`Config.text_chain` / :meth:`Config.image_chain` for the resolved
    :class:`~modelcfg.FallbackChain`.
    """

    primary: str
    fallbacks: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class AgentConfig:
    """
    The ``agent`` section: models, the fallback chains and the allowlist.

    Attributes:
        models: Per-model settings keyed by ``provider/model``.
        model: The global text chain (``agent.model``).
        image_model: The image chain (``agent.imageModel``), used only when configured.
        allowlist: If set, the only models a session may select. Adding an alias
            or a fallback never restricts selection by itself.
    """

    models: Mapping[ModelRef, ModelEntry] = attrs.field(factory=dict)
    model: ChainConfig | None = None
    image_model: ChainConfig | None = None
    allowlist: tuple[str, ...] | None = None
    # Derived from `models` on first use and kept: aliases are looked up for every chain
    # entry, and rebuilding the index each time made loading a large config quadratic.
    _alias_index: dict[str, ModelRef] | None = attrs.field(
        init=False, default=None, eq=False, repr=False
    )

    def aliases(self) -> Mapping[str, ModelRef]:
        """
        Every alias, lower-cased, to the model it names.
        """
        index = self._alias_index
        if index is None:
            index = {
                entry.alias.casefold(): ref
                for ref, entry in self.models.items()
                if entry.alias is not None
            }
            object.__setattr__(self, "_alias_index", index)
        return index


@attrs.frozen(kw_only=True)
class OAuthEndpoints:
    """
    Where a provider's OAuth authorization-code flow happens.
    """

    authorize_url: str
    token_url: str
    client_id: str
    scopes: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """
    One provider: its wire format, endpoint and where its keys come from.

    Attributes:
        api: The wire format it speaks.
        base_url: The API's base URL; ``None`` means the built-in default.
        headers: Extra headers sent with every request (never credentials).
        api_key_env: Names of environment variables that may hold its key.
        oauth: OAuth endpoints, for ``modelcfg login`` with OAuth.
    """

    api: WireFormat = WireFormat.OPENAI
    base_url: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    api_key_env: tuple[str, ...] = ()
    oauth: OAuthEndpoints | None = None


BUILTIN_PROVIDERS: Final[Mapping[str, ProviderConfig]] = {
    "openai": ProviderConfig(
        api=WireFormat.OPENAI, base_url="https://api.openai.com/v1", api_key_env=("OPENAI_API_KEY",)
    ),
    "anthropic": ProviderConfig(
        api=WireFormat.ANTHROPIC,
        base_url="https://api.anthropic.com",
        api_key_env=("ANTHROPIC_API_KEY",),
    ),
    "openrouter": ProviderConfig(
        api=WireFormat.OPENROUTER,
        base_url="https://openrouter.ai/api/v1",
        api_key_env=("OPENROUTER_API_KEY",),
    ),
    "google": ProviderConfig(
        api=WireFormat.OPENAI,
        base_url="https://generativelanguage.googleapis.com/v1beta/openai",
        api_key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    ),
    "groq": ProviderConfig(
        api=WireFormat.OPENAI,
        base_url="https://api.groq.com/openai/v1",
        api_key_env=("GROQ_API_KEY",),
    ),
    "mistral": ProviderConfig(
        api=WireFormat.OPENAI,
        base_url="https://api.mistral.ai/v1",
        api_key_env=("MISTRAL_API_KEY",),
    ),
    "together": ProviderConfig(
        api=WireFormat.OPENAI,
        base_url="https://api.together.xyz/v1",
        api_key_env=("TOGETHER_API_KEY",),
    ),
    "deepseek": ProviderConfig(
        api=WireFormat.OPENAI,
        base_url="https://api.deepseek.com/v1",
        api_key_env=("DEEPSEEK_API_KEY",),
    ),
    "xai": ProviderConfig(
        api=WireFormat.OPENAI, base_url="https://api.x.ai/v1", api_key_env=("XAI_API_KEY",)
    ),
    "ollama": ProviderConfig(api=WireFormat.OPENAI, base_url="http://127.0.0.1:11434/v1"),
    "lmstudio": ProviderConfig(api=WireFormat.OPENAI, base_url="http://127.0.0.1:1234/v1"),
}
"""Providers every config knows without declaring them; ``providers`` entries override them."""


@attrs.frozen(kw_only=True)
class Config:
    """
    A whole, validated configuration.

    Build one with :func:`load_config` (or :func:`modelcfg.load_config_file`);
    write it back with :func:`dump_config`.
    """

    auth: AuthConfig = attrs.field(factory=AuthConfig)
    agent: AgentConfig = attrs.field(factory=AgentConfig)
    providers: Mapping[str, ProviderConfig] = attrs.field(factory=dict)
    policy: Policy = attrs.field(factory=Policy)

    def provider(self, provider_id: str) -> ProviderConfig | None:
        """
        The provider's settings: the configured entry, else the built-in one, else ``None``.
        """
        return self.providers.get(provider_id) or BUILTIN_PROVIDERS.get(provider_id)

    def aliases(self) -> Mapping[str, ModelRef]:
        """
        Every alias, lower-cased, to the model it names.
        """
        return self.agent.aliases()

    def lookup(self, text: str) -> ModelRef | None:
        """
        Resolve an alias (case-insensitive) or a ``provider/model`` text; ``None`` if neither.
        """
        ref = self.aliases().get(text.strip().casefold())
        if ref is not None:
            return ref
        try:
            return ModelRef.parse(text)
        except ValueError:
            return None

    def text_chain(self) -> FallbackChain | None:
        """
        The global chain (``agent.model``) with aliases resolved, or ``None`` if unset.
        """
        return self._chain(self.agent.model)

    def image_chain(self) -> FallbackChain | None:
        """
        The image chain (``agent.imageModel``) with aliases resolved, or ``None`` if unset.
        """
        return self._chain(self.agent.image_model)

    def _chain(self, chain: ChainConfig | None) -> FallbackChain | None:
        if chain is None:
            return None
        refs = [self.lookup(text) for text in (chain.primary, *chain.fallbacks)]
        return FallbackChain.of(*(ref for ref in refs if ref is not None))

    def auth_order(self, provider: str) -> tuple[ProfileId, ...]:
        """
        The configured rotation order for *provider*, or ``()``.
        """
        return self.auth.order.get(provider, ())


# --- the converter -------------------------------------------------------------------------------


def json_name(attribute: str) -> str:
    """
    The JSON key for a Python attribute name: ``image_model`` -> ``imageModel``,
    ``deadline_s`` -> ``deadlineSeconds``.
    """
    head, *rest = attribute.split("_")
    rest = ["seconds" if part == "s" else part for part in rest]
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for cls in (ModelRef, ProfileId):
        converter.register_structure_hook(cls, _parse_hook(cls))
        converter.register_unstructure_hook(cls, str)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(enum.StrEnum, _structure_enum)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_unstructure_hook_func(_is_frozenset, sorted)
    converter.register_structure_hook_func(lambda t: t is object, _structure_json_value)
    converter.register_structure_hook_factory(
        _is_collection, lambda t: _collection_hook(converter, t)
    )
    converter.register_structure_hook_factory(
        _is_id_mapping, lambda t: _id_mapping_hook(converter, t)
    )
    converter.register_structure_hook_func(
        lambda t: t == Mapping[FailureKind, KindRule], lambda v, _t: _structure_rules(converter, v)
    )

    def is_config_class(cls: type) -> bool:
        return attrs.has(cls) and cls.__module__.startswith("modelcfg.")

    def structure_factory(cls: type) -> StructureHook:
        renames = {a.name: override(rename=json_name(a.name)) for a in attrs.fields(cls)}
        return make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]

    def unstructure_factory(cls: type) -> UnstructureHook:
        renames = {
            a.name: override(rename=json_name(a.name), omit_if_default=True)
            for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, converter, **renames)  # type: ignore[arg-type]

    converter.register_structure_hook_factory(is_config_class, structure_factory)
    converter.register_unstructure_hook_factory(is_config_class, unstructure_factory)
    return converter


class _TypeMismatch(TypeError):
    """A scalar of the wrong JSON type; the message names what was expected."""


def _parse_hook(cls: type[_T]) -> StructureHook:
    def structure(value: object, _type: object) -> _T:
        if not isinstance(value, str):
            raise _TypeMismatch(f"expected a string, not {_json_type(value)}")
        return cls.parse(value)  # type: ignore[attr-defined,no-any-return]

    return structure


def _structure_enum(value: object, cls: type[enum.StrEnum]) -> enum.StrEnum:
    if not isinstance(value, str):
        raise _TypeMismatch(f"expected a string, not {_json_type(value)}")
    try:
        return cls(value)
    except ValueError:
        values = [member.value for member in cls]
        choices = ", ".join(map(repr, values))
        raise ValueError(
            f"{value!r} is not one of {choices}{_did_you_mean(value, values)}"
        ) from None


def _is_collection(cls: object) -> bool:
    origin = typing.get_origin(cls)
    args = typing.get_args(cls)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis
    return origin is frozenset


def _is_frozenset(cls: object) -> bool:
    return cls is frozenset or typing.get_origin(cls) is frozenset


def _collection_hook(converter: cattrs.Converter, cls: object) -> StructureHook:
    """
    Structure ``tuple[X, ...]`` and ``frozenset[X]`` from a JSON list only (a string is
    not a list of characters), with each bad item reported at its own index.
    """
    item_type = typing.get_args(cls)[0]
    item_hook = converter.get_structure_hook(item_type)
    build = typing.cast("Callable[[list[object]], object]", typing.get_origin(cls))

    def structure(value: object, _type: object) -> object:
        if not isinstance(value, list | tuple):
            raise _TypeMismatch(f"expected a list, not {_json_type(value)}")
        items, errors = [], []
        for index, item in enumerate(value):
            try:
                items.append(item_hook(item, item_type))
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring {cls} @ index {index}", index, item_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError(
                f"While structuring {cls}", errors, typing.cast("type", cls)
            )
        return build(items)

    return structure


def _is_id_mapping(cls: object) -> bool:
    args = typing.get_args(cls)
    return (
        typing.get_origin(cls) in (Mapping, dict)
        and bool(args)
        and args[0] in (ModelRef, ProfileId)
    )


def _id_mapping_hook(converter: cattrs.Converter, cls: object) -> StructureHook:
    """
    Structure a mapping keyed by model or profile ids, refusing two keys that name
    the same id once normalised (``OpenAI/a`` and ``openai/a``), which would
    otherwise silently drop one entry.
    """
    key_type, value_type = typing.get_args(cls)
    what = "model" if key_type is ModelRef else "profile"
    key_hook = converter.get_structure_hook(key_type)
    value_hook = converter.get_structure_hook(value_type)

    def structure(value: object, _type: object) -> object:
        if not isinstance(value, Mapping):
            raise _TypeMismatch(f"expected an object, not {_json_type(value)}")
        result: dict[object, object] = {}
        first: dict[object, str] = {}
        errors: list[Exception] = []
        for raw_key, item in value.items():
            try:
                key = key_hook(raw_key, key_type)
                if key in first:
                    raise ValueError(
                        f"{raw_key!r} names the same {what} as {first[key]!r}; keep one of them"
                    )
                first[key] = raw_key
                result[key] = value_hook(item, value_type)
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(
                        f"Structuring {cls} @ key {raw_key!r}", raw_key, value_type
                    ),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError(
                f"While structuring {cls}", errors, typing.cast("type", cls)
            )
        return result

    return structure


def _structure_rules(converter: cattrs.Converter, value: object) -> dict[FailureKind, KindRule]:
    """
    Structure ``policy.rules``: each given rule overrides only the keys it names,
    over the default rule of its kind (a shorter ``windowSeconds`` keeps rotation).
    """
    if not isinstance(value, Mapping):
        raise _TypeMismatch(f"expected an object, not {_json_type(value)}")
    rules: dict[FailureKind, KindRule] = {}
    errors: list[Exception] = []
    for raw_key, given in value.items():
        try:
            kind = FailureKind(_structure_enum(raw_key, FailureKind))
            if not isinstance(given, Mapping):
                raise _TypeMismatch(f"expected an object, not {_json_type(given)}")
            base = converter.unstructure(DEFAULT_RULES[kind], KindRule)
            rules[kind] = converter.structure({**base, **given}, KindRule)
        except Exception as exc:
            exc.__notes__ = [
                *getattr(exc, "__notes__", []),
                IterableValidationNote(f"Structuring rule {raw_key!r}", raw_key, KindRule),
            ]
            errors.append(exc)
    if errors:
        raise IterableValidationError("While structuring policy.rules", errors, dict)
    return rules


def _structure_json_value(value: object, _type: object) -> object:
    """
    Accept any JSON value (a parameter's value), checking it really is one.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_structure_json_value(item, object) for item in value]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _structure_json_value(item, object) for key, item in value.items()}
    raise _TypeMismatch(f"expected a JSON value, not {_json_type(value)}")


def _structure_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise _TypeMismatch(f"expected a string, not {_json_type(value)}")
    return value


def _structure_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _TypeMismatch(f"expected a whole number, not {_json_type(value)}")
    return value


def _structure_float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _TypeMismatch(f"expected a number, not {_json_type(value)}")
    return float(value)


def _structure_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise _TypeMismatch(f"expected true or false, not {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return f"the boolean {str(value).lower()}"
        case int() | float():
            return f"the number {value!r}"
        case str():
            return f"the string {value!r}"
        case Mapping():
            return "an object"
        case list() | tuple():
            return "a list"
        case _:
            return type(value).__name__


_CONVERTER: Final = _make_converter()


# --- errors --------------------------------------------------------------------------------------


def _describe(exc: BaseException, expected: object) -> str:
    match exc:
        case _TypeMismatch():
            return str(exc)
        case KeyError():
            return "is required"
        case ForbiddenExtraKeysError():
            return "unknown key"
        case ValueError() if str(exc):
            return str(exc)
        case AttributeError() if "items" in str(exc):
            return "expected an object"
        case TypeError() if "not iterable" in str(exc):
            return "expected a list"
        case _:
            name = getattr(expected, "__name__", None)
            return f"expected {name}" if name else f"is invalid ({type(exc).__name__})"


def _key_path(path: str, key: object) -> str:
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]" if not isinstance(key, str) else f"{path}[{_quote(key)}]"


def _quote(key: str) -> str:
    return "'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _walk_errors(exc: BaseException, path: str) -> Iterator[str]:
    if isinstance(exc, IterableValidationError):
        item_errors, loose = exc.group_exceptions()
        for sub, item in item_errors:
            index = item.index
            sub_path = f"{path}[{index}]" if isinstance(index, int) else _key_path(path, index)
            yield from _walk_errors_or_leaf(sub, sub_path, item.type)
        for sub in loose:
            yield from _walk_errors_or_leaf(sub, path, None)
    elif isinstance(exc, ClassValidationError):
        field_errors, whole = exc.group_exceptions()
        for sub, field in field_errors:
            yield from _walk_errors_or_leaf(sub, f"{path}.{json_name(field.name)}", field.type)
        for sub in whole:
            yield from _walk_errors_or_leaf(sub, path, exc.cl)
    else:
        yield from _walk_errors_or_leaf(exc, path, None)


def _walk_errors_or_leaf(exc: BaseException, path: str, expected: object) -> Iterator[str]:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        yield from _walk_errors(exc, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        allowed = [json_name(a.name) for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        for key in sorted(exc.extra_fields):
            yield f"{_key_path(path, key)}: unknown key{_did_you_mean(key, allowed)}"
    else:
        yield f"{path}: {_describe(exc, expected)}"


def _did_you_mean(text: str, candidates: Iterable[str]) -> str:
    pool = list(dict.fromkeys(candidates))
    folded = {c.casefold(): c for c in pool}
    matches = difflib.get_close_matches(text.casefold(), list(folded), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(folded[m]) for m in matches) + "?)"


# --- validation across sections ------------------------------------------------------------------

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CREDENTIAL_HEADERS: Final = frozenset(
    {"authorization", "x-api-key", "api-key", "proxy-authorization", "x-goog-api-key"}
)
_ALIAS_RE: Final = re.compile(r"[^\s/@]+\Z")


def _check(config: Config) -> list[str]:
    errors: list[str] = []
    known_providers = set(BUILTIN_PROVIDERS) | set(config.providers)

    def provider_known(provider: str, path: str, what: str) -> None:
        if provider not in known_providers:
            errors.append(
                f"{path}: {what} uses provider {provider!r}, which is neither built in nor "
                f"configured under $.providers{_did_you_mean(provider, known_providers)}"
            )

    for profile_id, profile in config.auth.profiles.items():
        path = _key_path("$.auth.profiles", str(profile_id))
        if profile.provider != profile_id.provider:
            errors.append(
                f"{path}.provider: {profile.provider!r} does not match the provider "
                f"{profile_id.provider!r} of the profile id"
            )
        provider_known(profile_id.provider, path, f"profile {profile_id}")

    for provider, order in config.auth.order.items():
        path = _key_path("$.auth.order", provider)
        provider_known(provider, path, "this order")
        seen: set[ProfileId] = set()
        for index, profile_id in enumerate(order):
            if profile_id.provider != provider:
                errors.append(
                    f"{path}[{index}]: profile {str(profile_id)!r} belongs to provider "
                    f"{profile_id.provider!r}, not to {provider!r}"
                )
            if profile_id in seen:
                errors.append(f"{path}[{index}]: profile {str(profile_id)!r} is listed twice")
            seen.add(profile_id)

    owners: dict[str, ModelRef] = {}
    for ref, entry in config.agent.models.items():
        if ref.provider not in known_providers:
            provider_known(ref.provider, _key_path("$.agent.models", str(ref)), f"model {ref}")
        overrides = entry.catalog_overrides()
        if entry.alias is None and not overrides:
            continue
        path = _key_path("$.agent.models", str(ref))
        counts_ok = True
        for value, name in (
            (entry.context_window, "contextWindow"),
            (entry.max_output_tokens, "maxOutputTokens"),
        ):
            if value is not None and value <= 0:
                counts_ok = False
                errors.append(f"{path}.{name}: must be a positive number of tokens, not {value}")
        if overrides and counts_ok:
            # The record these fields make must itself be valid (limits that agree,
            # a non-empty name and input, ...): checked now, not when first used.
            try:
                ModelInfo.unknown(ref).with_overrides(**overrides)
            except (ValueError, TypeError) as exc:
                errors.append(f"{path}: {exc}")
        if entry.alias is None:
            continue
        if not _ALIAS_RE.match(entry.alias):
            errors.append(
                f"{path}.alias: {entry.alias!r} cannot be an alias: it must be non-empty "
                "and contain no white space, '/' or '@'"
            )
            continue
        other = owners.setdefault(entry.alias.casefold(), ref)
        if other != ref:
            errors.append(
                f"{path}.alias: {entry.alias!r} is already the alias of {other} "
                "(aliases are case-insensitive and name one model each)"
            )

    names = [
        *(e.alias for e in config.agent.models.values() if e.alias),
        *map(str, config.agent.models),
    ]

    def resolve(text: str, path: str) -> ModelRef | None:
        ref = config.lookup(text)
        if ref is None:
            errors.append(
                f"{path}: {text!r} is not a known model id or alias{_did_you_mean(text, names)}"
            )
        else:
            provider_known(ref.provider, path, f"model {ref}")
        return ref

    allowed: set[ModelRef] | None = None
    if config.agent.allowlist is not None:
        allowed = set()
        for index, text in enumerate(config.agent.allowlist):
            listed = resolve(text, f"$.agent.allowlist[{index}]")
            if listed is not None:
                allowed.add(listed)

    for key, chain in (("model", config.agent.model), ("imageModel", config.agent.image_model)):
        if chain is None:
            continue
        base = f"$.agent.{key}"
        first_seen: dict[ModelRef, str] = {}
        entries = [(f"{base}.primary", chain.primary)] + [
            (f"{base}.fallbacks[{i}]", text) for i, text in enumerate(chain.fallbacks)
        ]
        for path, text in entries:
            member = resolve(text, path)
            if member is None:
                continue
            if member in first_seen:
                errors.append(f"{path}: {member} is already in the chain at {first_seen[member]}")
            first_seen.setdefault(member, path)
            if allowed is not None and member not in allowed:
                errors.append(f"{path}: {member} is not in $.agent.allowlist")

    for provider, settings in config.providers.items():
        path = _key_path("$.providers", provider)
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", provider):
            errors.append(
                f"{path}: {provider!r} is not a provider id: use lower-case letters, digits, "
                "'.', '_' or '-'"
            )
        if settings.base_url is not None and not re.match(r"https?://[^\s/]+", settings.base_url):
            errors.append(f"{path}.baseUrl: {settings.base_url!r} is not an http(s) URL")
        if (
            settings.base_url is None
            and provider not in BUILTIN_PROVIDERS
            and settings.api is not WireFormat.CUSTOM
        ):
            errors.append(f"{path}.baseUrl: is required for a provider that is not built in")
        if settings.oauth is not None:
            oauth = settings.oauth
            for name, url in (("authorizeUrl", oauth.authorize_url), ("tokenUrl", oauth.token_url)):
                if not re.match(r"https?://[^\s/]+", url):
                    errors.append(f"{path}.oauth.{name}: {url!r} is not an absolute http(s) URL")
            if not oauth.client_id.strip():
                errors.append(f"{path}.oauth.clientId: must not be empty")
        for header in settings.headers:
            if header.casefold() in _CREDENTIAL_HEADERS:
                errors.append(
                    f"{_key_path(path + '.headers', header)}: credentials do not belong in the "
                    "config; store them with `modelcfg login` and name the variable in apiKeyEnv"
                )
        for index, name in enumerate(settings.api_key_env):
            if not _ENV_NAME.match(name):
                errors.append(
                    f"{path}.apiKeyEnv[{index}]: this must be the NAME of an environment variable "
                    "(such as MY_PROVIDER_API_KEY), never a key itself"
                )
    return errors


# --- public entry points -------------------------------------------------------------------------


def load_config(
    data: Mapping[str, object], *, migrate: bool = False, source: str | None = None
) -> Config:
    """
    Structure and validate a configuration from plain data (parsed JSON or TOML).

    Args:
        data: The whole configuration object.
        migrate: Migrate legacy keys in memory instead of refusing them.
        source: Where the data came from (a file name), for error messages.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Listing every problem, each as ``"$.json.path: what is wrong"``.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            [f"$: the configuration must be an object, not {_json_type(data)}"], source=source
        )
    legacy = legacy_keys(data)
    if legacy:
        if not migrate:
            raise ConfigError(
                [
                    f"{path}: this is a legacy key; run `modelcfg doctor --fix` to migrate the "
                    "file (or load it with migrate=True to migrate in memory)"
                    for path in legacy
                ],
                source=source,
            )
        data, _changes = migrate_config(data)
    try:
        config = _CONVERTER.structure(dict(data), Config)
    except BaseValidationError as exc:
        raise ConfigError(list(_walk_errors(exc, "$")), source=source) from None
    except (ValueError, TypeError) as exc:  # pragma: no cover - defensive: hooks raise the above
        raise ConfigError([f"$: {exc}"], source=source) from None
    errors = _check(config)
    if errors:
        raise ConfigError(errors, source=source)
    return config


def dump_config(config: Config) -> dict[str, JSON]:
    """
    The configuration as plain JSON data, with default values left out.

    ``load_config(dump_config(c)) == c`` for every valid ``c``.
    """
    data: dict[str, JSON] = _CONVERTER.unstructure(config, Config)
    return data
