"""
The one private cattrs converter between configuration data and the config classes.

Its hooks accept JSON values only (a string is not a list of characters, ``true``
is not the number 1), structure ids from their text (``ModelRef.parse()``), map
snake_case attributes to camelCase keys (:func:`json_name`), and raise errors
whose messages are already in JSON terms. :func:`problems_of` turns the error tree
cattrs raises into :class:`~modelcfg._config._problems.Problem` records, each at
its own JSON path.
"""

from __future__ import annotations

import enum
import math
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
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

from modelcfg._catalog._records import ModelInfo, Pricing
from modelcfg._config._problems import (
    INT_LIMIT,
    MAX_DIGITS,
    Problem,
    did_you_mean,
    json_type,
)
from modelcfg._config._schema import (
    AgentConfig,
    AuthConfig,
    ChainConfig,
    Config,
    ModelEntry,
    OAuthEndpoints,
    ProfileConfig,
    ProviderConfig,
    Timeouts,
    provider_id,
)
from modelcfg._core._budget import Budget, BudgetPeriod
from modelcfg._core._cost import to_decimal
from modelcfg._core._failures import FailureKind
from modelcfg._core._policy import DEFAULT_RULES, KindRule, Policy
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg.typing import JSON

__all__ = [
    "CONVERTER",
    "field_message",
    "in_json_terms",
    "json_name",
    "problems_of",
    "structure",
]

_T = TypeVar("_T")


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
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_unstructure_hook(Decimal, _unstructure_decimal)
    converter.register_structure_hook(BudgetPeriod, _parse_hook(BudgetPeriod))
    converter.register_unstructure_hook(BudgetPeriod, str)
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
        attrs.resolve_types(cls)
        renames = {
            a.name: override(rename=json_name(a.name), struct_hook=_field_hook(converter, cls, a))
            for a in attrs.fields(cls)
        }
        generated: StructureHook = make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]

        def structure(value: object, type_: object) -> object:
            if not isinstance(value, Mapping):
                raise _TypeMismatch(f"expected an object, not {json_type(value)}")
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


_PROVIDER_KEYED: Final = frozenset({(Config, "providers"), (AuthConfig, "order")})
"""The mappings keyed by provider id: keys are lower-cased and checked as provider ids."""

_PROVIDER_VALUED: Final = frozenset({(ProfileConfig, "provider")})
"""The fields that hold a provider id: lower-cased and checked as provider ids."""


def _field_hook(
    converter: cattrs.Converter, cls: type, field: attrs.Attribute[object]
) -> StructureHook | None:
    """
    The structure hook of one field that reads provider ids, or ``None`` for the usual one.
    """
    if (cls, field.name) in _PROVIDER_KEYED:
        return _mapping_hook(converter, field.type, parse_key=provider_id)
    if (cls, field.name) in _PROVIDER_VALUED:
        return lambda value, _type: provider_id(_structure_str(value, str))
    return None


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
            raise _TypeMismatch(f"expected a string, not {json_type(value)}")
        return cls.parse(value)  # type: ignore[attr-defined,no-any-return]

    return structure


def _structure_enum(value: object, cls: type[enum.StrEnum]) -> enum.StrEnum:
    if not isinstance(value, str):
        raise _TypeMismatch(f"expected a string, not {json_type(value)}")
    try:
        return cls(value)
    except ValueError:
        values = [member.value for member in cls]
        choices = ", ".join(map(repr, values))
        raise ValueError(
            f"{value!r} is not one of {choices}{did_you_mean(value, values)}"
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
            raise _TypeMismatch(f"expected a list, not {json_type(value)}")
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


def _mapping_hook(
    converter: cattrs.Converter, cls: object, *, parse_key: Callable[[str], str] | None = None
) -> StructureHook:
    """
    Structure a JSON object into a mapping, each bad key or value reported at its
    own key; keys must be strings. Two keys naming the same model, profile or
    provider once normalised (``OpenAI/a`` and ``openai/a``) are refused, as one
    would silently replace the other. *parse_key* reads text keys that name
    providers (:func:`~modelcfg._config._schema.provider_id`).
    """
    key_type, value_type = typing.get_args(cls)
    kinds: dict[object, str] = {ModelRef: "model", ProfileId: "profile"}
    what = "provider" if parse_key is not None else kinds.get(key_type)
    key_hook: StructureHook = (
        (lambda text, _type: parse_key(text))
        if parse_key is not None
        else converter.get_structure_hook(key_type)
    )
    value_hook = converter.get_structure_hook(value_type)

    def structure(value: object, _type: object) -> object:
        if not isinstance(value, Mapping):
            raise _TypeMismatch(f"expected an object, not {json_type(value)}")
        result: dict[object, object] = {}
        first: dict[object, str] = {}
        errors: list[Exception] = []
        for raw_key, item in value.items():
            try:
                if not isinstance(raw_key, str):
                    raise _TypeMismatch(f"keys must be strings, not {json_type(raw_key)}")
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
        raise _TypeMismatch(f"expected an object, not {json_type(value)}")
    rules: dict[FailureKind, KindRule] = {}
    errors: list[Exception] = []
    for raw_key, given in value.items():
        try:
            if not isinstance(raw_key, str):
                raise _TypeMismatch(f"keys must be strings, not {json_type(raw_key)}")
            kind = FailureKind(_structure_enum(raw_key, FailureKind))
            if not isinstance(given, Mapping):
                raise _TypeMismatch(f"expected an object, not {json_type(given)}")
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
                    raise _TypeMismatch(f"keys must be strings, not {json_type(key)}")
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
    raise _TypeMismatch(f"expected a JSON value, not {json_type(value)}")


def _structure_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise _TypeMismatch(f"expected a string, not {json_type(value)}")
    return value


def _structure_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _TypeMismatch(f"expected a whole number, not {json_type(value)}")
    if not -INT_LIMIT < value < INT_LIMIT:
        raise _TypeMismatch(
            f"expected a whole number of at most {MAX_DIGITS} digits, not {json_type(value)}"
        )
    return value


def _structure_float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _TypeMismatch(f"expected a number, not {json_type(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the largest float
        number = math.inf
    if not math.isfinite(number):
        raise _TypeMismatch(f"expected a finite number, not {json_type(value)}")
    return number


def _structure_decimal(value: object, _type: object) -> Decimal:
    """
    An exact amount from a JSON number or a decimal string (``0.1`` is exactly 0.1).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _TypeMismatch(f"expected a number or a decimal string, not {json_type(value)}")
    if isinstance(value, int):
        _structure_int(value, int)
    try:
        return to_decimal(value)
    except ValueError:
        raise _Invalid(f"must be a finite, non-negative number, not {value!r}") from None


def _unstructure_decimal(value: Decimal) -> JSON:
    """
    An amount as JSON: a number when a float shows it exactly, else a decimal string.
    """
    number = float(value)
    return number if to_decimal(number) == value else f"{value.normalize():f}"


def _structure_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise _TypeMismatch(f"expected true or false, not {json_type(value)}")
    return value


def _with_field_checks(
    converter: cattrs.Converter,
    cls: type,
    value: Mapping[typing.Any, object],
    exc: ClassValidationError,
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
            error = _Invalid(field_message(str(field_exc), field.name))
            error.__notes__ = [AttributeValidationNote(f"Checking {key}", field.name, field.type)]
            checked.append(error)
        except Exception:  # pragma: no cover - a check that needs the instance: leave it whole
            continue
    if construction:
        return ClassValidationError(
            exc.message, checked or [_Invalid(in_json_terms(str(whole[0])))], cls
        )
    return ClassValidationError(exc.message, [*exc.exceptions, *checked], cls) if checked else exc


CONVERTER: Final = _make_converter()
"""The one converter between configuration data and the config classes."""


# --- problems, in JSON terms ------------------------------------------------------------------


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


_REMOVED_KEYS: Final[Mapping[tuple[type, str], str]] = {
    (Policy, "restartInterruptedStreams"): (
        "no longer a policy setting: whether a stream cut after output restarts is "
        "the caller's choice, Executor.stream(..., restart_after_output=True)"
    ),
}
"""Keys that existed before a release and were removed, with what to do instead."""


def problems_of(exc: BaseException, steps: tuple[object, ...] = ()) -> Iterator[Problem]:
    """
    Every leaf of a cattrs error tree, with its place.
    """
    if isinstance(exc, IterableValidationError):
        with_index, loose = exc.group_exceptions()
        for sub, item in with_index:
            yield from problems_of(sub, (*steps, item.index))
        for sub in loose:
            yield from problems_of(sub, steps)
    elif isinstance(exc, ClassValidationError):
        with_field, whole = exc.group_exceptions()
        for sub, field in with_field:
            yield from problems_of(sub, (*steps, json_name(field.name)))
        for sub in whole:
            yield from problems_of(sub, steps)
    elif isinstance(exc, ForbiddenExtraKeysError):
        allowed = [json_name(a.name) for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        extra: set[object] = set(exc.extra_fields)  # JSON keys are text; Python's may not be
        for key in sorted(extra, key=_key_order):
            if isinstance(key, str):
                removed = _REMOVED_KEYS.get((exc.cl, key))
                text = removed or f"unknown key{did_you_mean(key, allowed)}"
                yield Problem((*steps, key), text)
            else:
                yield Problem((*steps, key), f"keys must be strings, not {json_type(key)}")
    else:
        yield Problem(steps, _describe(exc), missing=isinstance(exc, KeyError))


def _key_order(key: object) -> tuple[int, str]:
    # Text keys in order, then the others (which do not compare with text) by type.
    return (0, key) if isinstance(key, str) else (1, type(key).__name__)


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
        Budget,
        Timeouts,
    )
    names = sorted({a.name for cls in classes for a in attrs.fields(cls) if "_" in a.name})
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")


_PYTHON_NAMES: Final = _python_names()


def in_json_terms(message: str) -> str:
    """
    *message* with Python attribute names written as the JSON keys
    (``deadline_s`` -> ``deadlineSeconds``).
    """
    return _PYTHON_NAMES.sub(lambda m: json_name(m.group()), message)


def field_message(message: str, name: str, subject: str | None = None) -> str:
    """
    A check's message about the field *name*, to be shown at the field's own path:
    in JSON terms, without the leading field name (``deadline_s must be ...`` ->
    ``must be ...``; with *subject*, ``input of openai/x must ...`` -> ``must ...``).
    """
    text = in_json_terms(message)
    key = json_name(name)
    for prefix in (*((f"{key} of {subject} ",) if subject else ()), f"{key} "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def structure(data: Mapping[typing.Any, object]) -> tuple[Config | None, list[Problem]]:
    """
    Structure *data* as a :class:`~modelcfg._config._schema.Config`: the config, or
    ``None`` and every problem found, each at its JSON path.
    """
    try:
        return CONVERTER.structure(dict(data), Config), []
    except BaseValidationError as exc:
        return None, list(problems_of(exc))
