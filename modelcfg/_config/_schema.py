"""
The configuration: frozen classes, one private cattrs converter, and validation.

The file format is the proposal's JSON shape with camelCase keys
(``agent.imageModel``); the classes use snake_case attributes and the converter
maps one to the other. Loading reports every problem at once, each with its
JSON path, as one :class:`~modelcfg.exceptions.ConfigError`: what fails to
structure is set aside, and the checks between sections run on the rest.

Config holds no secrets: credentials live in the auth store, and values that
look like credentials (header values, key variable names, URLs with user info)
are refused without being echoed.
"""

from __future__ import annotations

import datetime
import difflib
import enum
import math
import re
import shlex
import typing
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, TypeVar

import attrs
import cattrs
from cattrs.dispatch import StructureHook, UnstructureHook
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from modelcfg._catalog._records import Modality, ModelInfo, ModelStatus, Pricing
from modelcfg._config._aliases import builtin_aliases, listed_models
from modelcfg._config._endpoints import http_url_problem
from modelcfg._config._migrate import legacy_keys, migrate_config
from modelcfg._config._problems import quoted
from modelcfg._core._failures import FailureKind, redact
from modelcfg._core._policy import DEFAULT_RULES, KindRule, Policy
from modelcfg._core._values import FallbackChain, ModelRef, ProfileId
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
        Every alias, lower-cased, to the model it names: the user's, and the built-in
        ones (``opus``, ``gpt``, ...) of the listed models (see ``_config/_aliases.py``).
        """
        index = self._alias_index
        if index is None:
            index = {
                entry.alias.casefold(): ref for ref, entry in self.models.items() if entry.alias
            }
            chains = [(c.primary, *c.fallbacks) for c in (self.model, self.image_model) if c]
            builtin = builtin_aliases(
                listed_models(chains, self.models),
                opted_out=[ref for ref, entry in self.models.items() if entry.alias == ""],
                taken=index,
            )
            index = {**builtin, **index}
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


_MAX_DEPTH: Final = 64
"""How deeply a configuration may nest objects and lists (``params`` included)."""

_MAX_DIGITS: Final = 18
"""The most digits of a whole number in a configuration (every 64-bit count fits)."""
_INT_LIMIT: Final = 10**_MAX_DIGITS


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
    converter.register_structure_hook_factory(_is_mapping, lambda t: _mapping_hook(converter, t))
    converter.register_structure_hook_func(
        _is_rule_table, lambda v, _t: _structure_rules(converter, v)
    )
    converter.register_unstructure_hook_func(
        _is_rule_table,
        lambda rules: _unstructure_rules(converter, rules),
    )

    def is_config_class(cls: type) -> bool:
        return attrs.has(cls) and cls.__module__.startswith("modelcfg.")

    def structure_factory(cls: type) -> StructureHook:
        renames = {a.name: override(rename=json_name(a.name)) for a in attrs.fields(cls)}
        generated: StructureHook = make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]
        attrs.resolve_types(cls)

        def structure(value: object, type_: object) -> object:
            if not isinstance(value, Mapping):
                raise _TypeMismatch(f"expected an object, not {_json_type(value)}")
            try:
                return generated(value, type_)
            except ClassValidationError as exc:
                raise _with_field_checks(converter, cls, value, exc) from None

        return structure

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
    """A value of the wrong JSON type; the message names what was expected."""


class _Invalid(ValueError):
    """A value its class refuses; the message is in JSON terms, without the field's name."""


def _noted(exc: Exception, index: object, item_type: object) -> Exception:
    exc.__notes__ = [
        *getattr(exc, "__notes__", []),
        IterableValidationNote("Structuring an item", typing.cast("int | str", index), item_type),
    ]
    return exc


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
                errors.append(_noted(exc, index, item_type))
        if errors:
            raise IterableValidationError(
                f"While structuring {cls}", errors, typing.cast("type", cls)
            )
        return build(items)

    return structure


def _is_rule_table(cls: object) -> bool:
    return cls == Mapping[FailureKind, KindRule]


def _is_mapping(cls: object) -> bool:
    args = typing.get_args(cls)
    return (
        typing.get_origin(cls) in (Mapping, dict)
        and len(args) == 2
        and args[0] in (str, ModelRef, ProfileId)
    )


def _mapping_hook(converter: cattrs.Converter, cls: object) -> StructureHook:
    """
    Structure a JSON object into a mapping, each bad key or value reported at its
    own key; keys must be strings. Two keys naming the same model or profile once
    normalised (``OpenAI/a`` and ``openai/a``) are refused, as one would silently
    replace the other.
    """
    key_type, value_type = typing.get_args(cls)
    kinds: dict[object, str] = {ModelRef: "model", ProfileId: "profile"}
    what = kinds.get(key_type)
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
                if not isinstance(raw_key, str):
                    raise _TypeMismatch(f"keys must be strings, not {_json_type(raw_key)}")
                key = key_hook(raw_key, key_type)
                if what is not None and key in first:
                    raise ValueError(
                        f"{raw_key!r} names the same {what} as {first[key]!r}; keep one of them"
                    )
                first[key] = raw_key
                result[key] = value_hook(item, value_type)
            except Exception as exc:
                errors.append(_noted(exc, raw_key, value_type))
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
            if not isinstance(raw_key, str):
                raise _TypeMismatch(f"keys must be strings, not {_json_type(raw_key)}")
            kind = FailureKind(_structure_enum(raw_key, FailureKind))
            if not isinstance(given, Mapping):
                raise _TypeMismatch(f"expected an object, not {_json_type(given)}")
            base = converter.unstructure(DEFAULT_RULES[kind], KindRule)
            rules[kind] = converter.structure({**base, **given}, KindRule)
        except Exception as exc:
            errors.append(_noted(exc, raw_key, KindRule))
    if errors:
        raise IterableValidationError("While structuring policy.rules", errors, dict)
    return rules


def _unstructure_rules(
    converter: cattrs.Converter, rules: Mapping[FailureKind, KindRule]
) -> dict[str, JSON]:
    """
    ``policy.rules`` as the keys that differ from each kind's default rule, so that a
    dumped file holds what the user set and not a copy of today's defaults.
    """
    table: dict[str, JSON] = {}
    for kind, rule in rules.items():
        default = DEFAULT_RULES.get(kind)
        if default is None:  # pragma: no cover - every kind has a default rule
            table[kind.value] = converter.unstructure(rule, KindRule)
            continue
        changed: dict[str, JSON] = {
            json_name(field.name): converter.unstructure(getattr(rule, field.name), field.type)
            for field in attrs.fields(KindRule)
            if getattr(rule, field.name) != getattr(default, field.name)
        }
        if changed:
            table[kind.value] = changed
    return table


def _structure_json_value(value: object, _type: object) -> object:
    """
    Accept any JSON value (a parameter's value), checking it really is one: objects
    with string keys, lists, strings, booleans, null, finite numbers.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return _structure_int(value, int)
    if isinstance(value, float):
        return _structure_float(value, float)
    if isinstance(value, Mapping):
        result: dict[str, object] = {}
        errors: list[Exception] = []
        for key, item in value.items():
            try:
                if not isinstance(key, str):
                    raise _TypeMismatch(f"keys must be strings, not {_json_type(key)}")
                result[key] = _structure_json_value(item, object)
            except Exception as exc:
                errors.append(_noted(exc, key, object))
        if errors:
            raise IterableValidationError("While structuring a JSON object", errors, dict)
        return result
    if isinstance(value, list | tuple):
        items: list[object] = []
        errors = []
        for index, item in enumerate(value):
            try:
                items.append(_structure_json_value(item, object))
            except Exception as exc:
                errors.append(_noted(exc, index, object))
        if errors:
            raise IterableValidationError("While structuring a JSON list", errors, list)
        return items
    raise _TypeMismatch(f"expected a JSON value, not {_json_type(value)}")


def _structure_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise _TypeMismatch(f"expected a string, not {_json_type(value)}")
    return value


def _structure_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _TypeMismatch(f"expected a whole number, not {_json_type(value)}")
    if not -_INT_LIMIT < value < _INT_LIMIT:
        raise _TypeMismatch(
            f"expected a whole number of at most {_MAX_DIGITS} digits, not {_json_type(value)}"
        )
    return value


def _structure_float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _TypeMismatch(f"expected a number, not {_json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the largest float
        number = math.inf
    if not math.isfinite(number):
        raise _TypeMismatch(f"expected a finite number, not {_json_type(value)}")
    return number


def _structure_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise _TypeMismatch(f"expected true or false, not {_json_type(value)}")
    return value


def _json_type(value: object) -> str:
    """
    What *value* is, in JSON words, for a message ("the number 5", "an object").
    """
    match value:
        case None:
            return "null"
        case bool():
            return f"the boolean {str(value).lower()}"
        case int() if -_INT_LIMIT < value < _INT_LIMIT:
            return f"the number {value}"
        case int():
            return f"a number with {_digit_count(value)} digits"
        case float() if math.isnan(value):
            return "NaN"
        case float() if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        case float():
            return f"the number {value!r}"
        case str():
            shown = value if len(value) <= 80 else value[:79] + "…"
            return f"the string {shown!r}"
        case Mapping():
            return "an object"
        case list() | tuple():
            return "a list"
        case datetime.datetime():
            return "a date-time"
        case datetime.date():
            return "a date"
        case datetime.time():
            return "a time of day"
        case _:
            return f"a Python {type(value).__name__}"


def _digit_count(value: int) -> int:
    """
    The number of decimal digits of *value*, also beyond what ``str()`` converts.
    """
    size = abs(value)
    estimate = int(size.bit_length() * math.log10(2)) + 1
    return estimate if size >= 10 ** (estimate - 1) else estimate - 1


def _with_field_checks(
    converter: cattrs.Converter, cls: type, value: _Data, exc: ClassValidationError
) -> ClassValidationError:
    """
    *exc* with the problems of the class's own checks placed on their fields.

    Attribute validators run in ``__init__``, so cattrs reports only the first one,
    under the class, and none at all when another field failed to structure. Here
    each structured field's converter and validator run on their own, so that every
    bad field is reported at its own JSON path, alongside the others. A problem
    between fields (an output limit above the context window) stays on the class.
    """
    with_field, whole = exc.group_exceptions()
    construction = (
        not with_field
        and len(whole) == 1
        and not isinstance(whole[0], ForbiddenExtraKeysError | BaseValidationError)
    )
    failed = {field.name for _, field in with_field}
    checked: list[Exception] = []
    for field in attrs.fields(cls):
        key = json_name(field.name)
        check = field.validator
        if field.name in failed or key not in value:
            continue
        if (check is None and field.converter is None) or isinstance(
            field.converter, attrs.Converter
        ):
            continue
        try:
            item = converter.structure(value[key], field.type)
            if callable(field.converter):
                item = field.converter(item)
            if check is not None:
                check(None, field, item)
        except (ValueError, TypeError) as field_exc:
            error = _Invalid(_field_message(str(field_exc), field.name))
            error.__notes__ = [AttributeValidationNote(f"Checking {key}", field.name, field.type)]
            checked.append(error)
        except Exception:  # pragma: no cover - a check that needs the instance: leave it whole
            continue
    if construction:
        return ClassValidationError(
            exc.message, checked or [_Invalid(_in_json_terms(str(whole[0])))], cls
        )
    return ClassValidationError(exc.message, [*exc.exceptions, *checked], cls) if checked else exc


_CONVERTER: Final = _make_converter()


# --- errors --------------------------------------------------------------------------------------


@attrs.frozen
class _Problem:
    """
    One problem found while structuring: where it is (JSON keys and list indices
    from the top) and what is wrong.
    """

    steps: tuple[object, ...]
    message: str
    missing: bool = False

    def line(self) -> str:
        return f"{_path(self.steps)}: {self.message}"


def _describe(exc: BaseException) -> str:
    match exc:
        case _TypeMismatch() | _Invalid():
            return str(exc)
        case KeyError():
            return "is required"
        case ValueError() if str(exc):
            return str(exc)
        case _:  # pragma: no cover - every hook raises one of the above
            return f"cannot be read ({type(exc).__name__}: {exc})"


def _path(steps: Iterable[object]) -> str:
    path = "$"
    for step in steps:
        path = _key_path(path, step)
    return path


def _key_path(path: str, key: object) -> str:
    if isinstance(key, str):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            return f"{path}.{key}"
        return f"{path}[{quoted(key)}]"
    if isinstance(key, int) and not isinstance(key, bool) and -_INT_LIMIT < key < _INT_LIMIT:
        return f"{path}[{key}]"
    return f"{path}[{_json_type(key)}]"


def _problems(exc: BaseException, steps: tuple[object, ...]) -> Iterator[_Problem]:
    """
    Every leaf of a cattrs error tree, with its place.
    """
    if isinstance(exc, IterableValidationError):
        with_index, loose = exc.group_exceptions()
        for sub, item in with_index:
            yield from _problems(sub, (*steps, item.index))
        for sub in loose:
            yield from _problems(sub, steps)
    elif isinstance(exc, ClassValidationError):
        with_field, whole = exc.group_exceptions()
        for sub, field in with_field:
            yield from _problems(sub, (*steps, json_name(field.name)))
        for sub in whole:
            yield from _problems(sub, steps)
    elif isinstance(exc, ForbiddenExtraKeysError):
        allowed = [json_name(a.name) for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        extra: set[object] = set(exc.extra_fields)  # JSON keys are text; Python's may not be
        for key in sorted(extra, key=_key_order):
            if isinstance(key, str):
                yield _Problem((*steps, key), f"unknown key{_did_you_mean(key, allowed)}")
            else:
                yield _Problem((*steps, key), f"keys must be strings, not {_json_type(key)}")
    else:
        yield _Problem(steps, _describe(exc), missing=isinstance(exc, KeyError))


def _key_order(key: object) -> tuple[int, str]:
    # Text keys in order, then the others (which do not compare with text) by type.
    return (0, key) if isinstance(key, str) else (1, type(key).__name__)


def _did_you_mean(text: object, candidates: Iterable[str]) -> str:
    if not isinstance(text, str):
        return ""
    pool = list(dict.fromkeys(candidates))
    folded = {c.casefold(): c for c in pool}
    matches = difflib.get_close_matches(text.casefold(), list(folded), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(folded[m]) for m in matches) + "?)"


def _python_names() -> re.Pattern[str]:
    """
    A pattern matching the snake_case attribute names of the config classes, which
    messages from the classes' own checks use.
    """
    classes = (
        Config,
        AuthConfig,
        ProfileConfig,
        AgentConfig,
        ModelEntry,
        ChainConfig,
        ProviderConfig,
        OAuthEndpoints,
        Policy,
        KindRule,
        Pricing,
        ModelInfo,
    )
    names = sorted({a.name for cls in classes for a in attrs.fields(cls) if "_" in a.name})
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")


_PYTHON_NAMES: Final = _python_names()


def _in_json_terms(message: str) -> str:
    """
    *message* with Python attribute names written as the JSON keys
    (``deadline_s`` -> ``deadlineSeconds``).
    """
    return _PYTHON_NAMES.sub(lambda m: json_name(m.group()), message)


def _field_message(message: str, name: str, subject: str | None = None) -> str:
    """
    A check's message about the field *name*, to be shown at the field's own path:
    in JSON terms, without the leading field name (``deadline_s must be ...`` ->
    ``must be ...``; with *subject*, ``input of openai/x must ...`` -> ``must ...``).
    """
    text = _in_json_terms(message)
    key = json_name(name)
    for prefix in (*((f"{key} of {subject} ",) if subject else ()), f"{key} "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


# --- salvaging a config that did not structure ---------------------------------------------------

_Data = Mapping[typing.Any, object]
"""Raw configuration data, whose keys may be anything a Python caller passed."""

_ENTRY_SECTIONS: Final = (
    ("providers",),
    ("auth", "profiles"),
    ("auth", "order"),
    ("agent", "models"),
    ("policy", "rules"),
)
"""The keyed sections whose entries are set aside whole when anything inside them is wrong."""


@attrs.define
class _Lost:
    """
    What the cross-section checks cannot see because it was set aside: names that
    must not be reported as unknown because their own entries were broken.
    """

    providers: set[object] = attrs.field(factory=set)
    names: set[str] = attrs.field(factory=set)
    any_provider: bool = False
    any_name: bool = False

    def provider_ok(self, provider: str) -> bool:
        return self.any_provider or provider in self.providers

    def name_ok(self, text: str) -> bool:
        return self.any_name or text.strip().casefold() in self.names

    def note(self, steps: tuple[object, ...], data: _Data) -> None:
        """
        Remember what setting aside *steps* of *data* hides from the checks.
        """
        if steps == ("providers",):
            self.any_provider = True
        elif steps in (("agent",), ("agent", "models")):
            self.any_name = True
        elif len(steps) == 2 and steps[0] == "providers":
            self.providers.add(steps[1])
        elif len(steps) == 3 and steps[:2] == ("agent", "models"):
            key = steps[2]
            if isinstance(key, str):
                self.names.add(key.strip().casefold())
            entry = _get(data, steps)
            alias = entry.get("alias") if isinstance(entry, Mapping) else None
            if isinstance(alias, str):
                self.names.add(alias.strip().casefold())


def _get(data: object, steps: tuple[object, ...]) -> object:
    for step in steps:
        if not isinstance(data, Mapping) or step not in data:
            return None
        data = data[step]
    return data


def _set_aside(problem: _Problem, data: _Data) -> tuple[object, ...]:
    """
    The part of *data* to leave out so that *problem* goes away: the whole entry of
    a keyed section, else the value itself (the list holding a bad item, the
    object missing a required key).
    """
    steps = problem.steps[:-1] if problem.missing else problem.steps
    node: object = data
    for index, step in enumerate(steps):
        if not isinstance(node, Mapping):
            steps = steps[:index]
            break
        node = node.get(step)
    for section in _ENTRY_SECTIONS:
        if steps[: len(section)] == section and len(steps) > len(section):
            return steps[: len(section) + 1]
    return steps


def _without(data: _Data, parts: Iterable[tuple[object, ...]]) -> dict[object, object]:
    """
    A copy of *data* without *parts*; only the objects on the way are copied.
    """
    root = dict(data)
    copies: dict[tuple[object, ...], dict[object, object]] = {(): root}
    for steps in parts:
        node = root
        for depth, step in enumerate(steps[:-1], start=1):
            copy = copies.get(steps[:depth])
            if copy is None:
                child = node.get(step)
                if not isinstance(child, Mapping):
                    break
                copy = copies[steps[:depth]] = dict(child)
                node[step] = copy
            node = copy
        else:
            node.pop(steps[-1], None)
    return root


def _salvage(data: _Data, problems: list[_Problem]) -> tuple[Config | None, _Lost, list[_Problem]]:
    """
    The configuration without the parts that failed to structure, so that the checks
    between sections can still run; ``None`` when nothing sensible is left.

    Returns:
        The configuration, what was set aside, and any problem that setting parts
        aside brought to light (a problem hidden behind another).
    """
    lost = _Lost()
    later: list[_Problem] = []
    removed: set[tuple[object, ...]] = set()
    for _ in range(5):  # Each round sets aside more; two are usually enough.
        parts = {_set_aside(problem, data) for problem in problems}
        if () in parts:
            break
        for steps in parts:
            lost.note(steps, data)
        removed |= parts
        data = _without(data, parts)
        try:
            return _CONVERTER.structure(data, Config), lost, later
        except BaseValidationError as exc:
            problems = list(_problems(exc, ()))
            # A required key that was set aside is missing now: that is no news.
            later += [p for p in problems if not any(p.steps[: len(r)] == r for r in removed)]
    return None, lost, later


_LEAF_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def _too_deep(value: object, depth: int = 0) -> list[object] | None:
    """
    The steps, innermost first, to an object or list nested more than
    :data:`_MAX_DEPTH` levels deep, or ``None``. Never recurses deeper than that.
    """
    items: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    if depth == _MAX_DEPTH:
        return []
    for key, item in items:
        if type(item) in _LEAF_TYPES:  # most values: skip them without a call
            continue
        found = _too_deep(item, depth + 1)
        if found is not None:
            found.append(key)
            return found
    return None


# --- validation across sections ------------------------------------------------------------------

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CREDENTIAL_WORDS: Final = ("auth", "key", "token", "cookie", "secret", "passw", "credential")
_URL_SPACE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_ALIAS_RE: Final = re.compile(r"[^\s/@]+\Z")
_NO_CREDENTIALS: Final = "credentials do not belong in the config; store them with `modelcfg login`"
_NO_SECRETS: Final = _NO_CREDENTIALS + " and name the variable in apiKeyEnv"


def _names_credential(name: str) -> bool:
    """
    Whether a header or query parameter name says it carries a credential.
    """
    folded = name.casefold()
    return any(word in folded for word in _CREDENTIAL_WORDS)


def _split_url(url: str) -> urllib.parse.SplitResult | None:
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:  # a malformed IPv6 host
        return None


def _credential_in_url(url: str) -> str | None:
    """
    Why *url* holds a credential (user info, a key in the query, a key anywhere), or ``None``.
    """
    parts = _split_url(url)
    if "@" in (parts.netloc if parts is not None else url):
        return f"must not hold a user name or password ('user:password@host'); {_NO_CREDENTIALS}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if parts else []
    for name, value in query:
        if _names_credential(name) or redact(value) != value:
            return f"its query string holds a credential ({name!r}); {_NO_CREDENTIALS}"
    if redact(url) != url:
        return f"looks like it holds a credential; {_NO_CREDENTIALS}"
    return None


def _url_problem(url: str) -> str | None:
    """
    What is wrong with *url* as an http(s) base URL, or ``None``.

    A URL that may hold a credential is never echoed.
    """
    problem = _credential_in_url(url)
    if problem is not None:
        return problem
    # From here on the URL holds no credential, and showing it helps.
    parts = _split_url(url)
    if _URL_SPACE.search(url):
        return f"{url!r} is not a valid URL: it contains white space or a control character"
    if parts is None:
        return f"{url!r} is not a valid URL"
    scheme = parts.scheme
    if scheme not in ("http", "https") or url[: len(scheme) + 3].lower() != f"{scheme}://":
        return f"{url!r} is not an http(s) URL"
    if not parts.hostname:
        return f"{url!r} is not a valid URL: it names no host"
    try:
        parts.port  # noqa: B018 - reading the port checks it
    except ValueError:
        return f"{url!r} is not a valid URL: its port is not a number from 0 to 65535"
    return None


def _check(config: Config, lost: _Lost | None = None) -> list[str]:
    lost = lost if lost is not None else _Lost()
    errors: list[str] = []
    known_providers = set(BUILTIN_PROVIDERS) | set(config.providers)

    def provider_known(provider: str, path: str, what: str) -> None:
        if provider not in known_providers and not lost.provider_ok(provider):
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
            errors += _record_problems(ref, overrides, path)
        if not entry.alias:  # None, or "" to take no built-in alias
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
    unseen: list[str] = []

    def resolve(text: str, path: str) -> ModelRef | None:
        ref = config.lookup(text)
        if ref is None and lost.name_ok(text):
            unseen.append(path)  # its entry was broken, and is reported already
        elif ref is None:
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
        if unseen:  # the allowlist names a model the checks cannot see
            allowed = None

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
        errors += _provider_problems(provider, settings)
    return errors


def _record_problems(ref: ModelRef, overrides: Mapping[str, object], path: str) -> list[str]:
    """
    The problems of the catalog record a model entry makes, each at its field's path.
    """
    try:
        ModelInfo.unknown(ref).with_overrides(**overrides)
    except (ValueError, TypeError) as exc:
        whole = exc
    else:
        return []
    problems = []
    for name, value in overrides.items():  # Only now, to find the fields at fault.
        try:
            ModelInfo.unknown(ref).with_overrides(**{name: value})
        except (ValueError, TypeError) as field_exc:
            message = _field_message(str(field_exc), name, str(ref))
            problems.append(f"{path}.{json_name(name)}: {message}")
    return problems or [f"{path}: {_in_json_terms(str(whole))}"]


def _provider_problems(provider: str, settings: ProviderConfig) -> list[str]:
    """
    What is wrong with one ``providers`` entry; no secret is ever echoed.
    """
    errors = []
    path = _key_path("$.providers", provider)
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", provider):
        errors.append(
            f"{path}: {provider!r} is not a provider id: use lower-case letters, digits, "
            "'.', '_' or '-'"
        )
    if settings.base_url is not None:
        problem = _url_problem(settings.base_url)
        if problem:
            errors.append(f"{path}.baseUrl: {problem}")
    elif provider not in BUILTIN_PROVIDERS and settings.api is not WireFormat.CUSTOM:
        errors.append(f"{path}.baseUrl: is required for a provider that is not built in")
    if settings.oauth is not None:
        oauth = settings.oauth
        for name, url in (("authorizeUrl", oauth.authorize_url), ("tokenUrl", oauth.token_url)):
            # The OAuth flow's own check (modelcfg._config._endpoints), after the one for secrets
            # (which never echoes the URL): a config that loads can log in.
            problem = _credential_in_url(url) or http_url_problem(url)
            if problem:
                errors.append(f"{path}.oauth.{name}: {problem}")
        if not oauth.client_id.strip():
            errors.append(f"{path}.oauth.clientId: must not be empty")
        elif oauth.client_id != oauth.client_id.strip():
            errors.append(f"{path}.oauth.clientId: must not have surrounding white space")
    for header, value in settings.headers.items():
        header_path = _key_path(path + ".headers", header)
        if _names_credential(header):
            errors.append(f"{header_path}: {_NO_SECRETS}")
        elif redact(value) != value:
            errors.append(f"{header_path}: the value looks like a credential; {_NO_SECRETS}")
    for index, name in enumerate(settings.api_key_env):
        if not _ENV_NAME.match(name) or redact(name) != name:
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

    Every problem is reported, each at its JSON path: the parts that fail to
    structure are set aside so that the references between sections (chains,
    orders, the allowlist) are checked in the same pass.

    Args:
        data: The whole configuration object.
        migrate: Migrate legacy keys in memory instead of refusing them.
        source: Where the data came from (a file name), for error messages.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: Listing every problem, each as ``"$.json.path: what is wrong"``;
            this is the only exception it raises, whatever *data* holds.

    .. versionchanged:: 0.1.0
       Problems in the structure no longer hide those between sections, and values
       that cannot be JSON (non-string keys, NaN, infinities, numbers beyond 18
       digits, nesting deeper than 64 levels) are refused with their paths.
    """
    return load_config_data(data, migrate=migrate, source=source)


def load_config_data(
    data: Mapping[str, object],
    *,
    migrate: bool = False,
    source: str | None = None,
    path: str | None = None,
    earlier: Iterable[str] = (),
) -> Config:
    """
    :func:`load_config`, for the file helpers: *path* is the file (named in the
    advice for legacy keys) and *earlier* lists problems already found in it.
    """
    found = list(earlier)

    def fail(errors: Iterable[str]) -> ConfigError:
        # Belt and braces: a secret never leaves in an error, whatever echoed it. The path
        # and the message are redacted apart, so that "apiKey: unknown key" stays whole.
        lines = (line.partition(": ") for line in (*found, *errors))
        return ConfigError(
            [redact(path) + sep + redact(message) for path, sep, message in lines], source=source
        )

    if not isinstance(data, Mapping):
        raise fail([f"$: the configuration must be an object, not {_json_type(data)}"])
    deep = _too_deep(data)
    if deep is not None:
        raise fail(
            [
                f"{_path(reversed(deep))}: nests more than {_MAX_DEPTH} levels deep, "
                "too deep for a configuration"
            ]
        )
    legacy = legacy_keys(data)
    if legacy:
        if not migrate:
            command = "modelcfg doctor --fix" + (f" --config {shlex.quote(path)}" if path else "")
            raise fail(
                f"{key}: this is a legacy key; run `{command}` to migrate the file (or load "
                "it with migrate=True to migrate in memory)"
                for key in legacy
            )
        data, _changes = migrate_config(data)
    try:
        config = _CONVERTER.structure(dict(data), Config)
    except BaseValidationError as exc:
        problems = list(_problems(exc, ()))
        salvaged, lost, later = _salvage(data, problems)
        errors = list(dict.fromkeys(problem.line() for problem in (*problems, *later)))
        raise fail(errors + (_check(salvaged, lost) if salvaged is not None else [])) from None
    errors = _check(config)
    if errors or found:
        raise fail(errors)
    return config


def dump_config(config: Config) -> dict[str, JSON]:
    """
    The configuration as plain JSON data, with default values left out.

    ``load_config(dump_config(c)) == c`` for every valid ``c``. A policy rule is
    written as the keys that differ from its kind's default rule, so a file keeps
    what the user set rather than today's defaults.

    .. versionchanged:: 0.1.0
       Policy rules are written as their differences from the default rules.
    """
    data: dict[str, JSON] = _CONVERTER.unstructure(config, Config)
    return data
