"""
Curated data as model families: a family's defaults, laid under each member.

Pure: the caller reads the file (``modelcfg._catalog._curated``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Final

import attrs

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import (
    CUTOFF_RE,
    OVERRIDABLE,
    PRICE_KEYS,
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    date_seconds,
    raise_if,
)
from modelcfg._core._values import ModelRef

__all__ = ["build_catalog", "build_family", "regenerate"]


_FAMILY_KEYS: Final = frozenset({"family", "provider", "defaults", "members", "note"})
_MEMBER_KEYS: Final = OVERRIDABLE | {"id", "note"}


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_modalities(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v in Modality.__members__.values() for v in value)
    )


def _is_status(value: object) -> bool:
    return value in ModelStatus.__members__.values()


def _is_cutoff(value: object) -> bool:
    return isinstance(value, str) and CUTOFF_RE.match(value) is not None


def _is_price(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


@attrs.frozen
class _Rule:
    """
    What one record field of the data must be: a test, and the words for what it expects.
    """

    accepts: Callable[[object], bool]
    expected: str


_BOOL: Final = _Rule(_is_bool, "true, false or null")
_COUNT: Final = _Rule(_is_count, "a positive whole number of tokens")

_FIELD_RULES: Final[Mapping[str, _Rule]] = {
    "name": _Rule(_is_text, "a non-empty text"),
    "input": _Rule(
        _is_modalities,
        f"a non-empty list of modalities ({', '.join(m.value for m in Modality)})",
    ),
    "tools": _BOOL,
    "streaming": _BOOL,
    "structured_output": _BOOL,
    "reasoning": _BOOL,
    "temperature": _BOOL,
    "context_window": _COUNT,
    "max_output_tokens": _COUNT,
    # "pricing" is an object checked price by price: see _check_prices.
    "knowledge_cutoff": _Rule(_is_cutoff, "a date written YYYY-MM or YYYY-MM-DD"),
    "status": _Rule(_is_status, f"one of {', '.join(s.value for s in ModelStatus)}"),
}
"""The record fields of the data and what each must be; ``null`` always means unknown."""

_PRICE_RULE: Final = _Rule(_is_price, "a non-negative number of USD per million tokens or null")


def _check_prices(value: object, where: str, errors: list[str]) -> dict[str, object] | None:
    """
    Check a ``pricing`` object price by price; ``None`` when it is not an object at all.
    """
    if not isinstance(value, Mapping):
        errors.append(f"{where}: expected an object of prices, got {value!r}")
        return None
    prices = {}
    for name, price in value.items():
        if name not in PRICE_KEYS:
            errors.append(
                f"{where}.{name}: unknown price; expected one of {', '.join(sorted(PRICE_KEYS))}"
            )
        elif price is not None and not _PRICE_RULE.accepts(price):
            errors.append(f"{where}.{name}: expected {_PRICE_RULE.expected}, got {price!r}")
        else:
            prices[name] = price
    return prices


def _check_fields(data: Mapping[str, object], path: str, errors: list[str]) -> dict[str, object]:
    """
    Type-check the record fields of a family's defaults or of a member, by :data:`_FIELD_RULES`.

    Other keys are left to :func:`_check_keys`; a field that fails is reported and left out.
    """
    fields: dict[str, object] = {}
    for key, value in data.items():
        where = f"{path}.{key}"
        if key == "pricing":
            prices = None if value is None else _check_prices(value, where, errors)
            if value is None or prices is not None:
                fields[key] = prices
            continue
        rule = _FIELD_RULES.get(key)
        if rule is None:
            continue
        if value is None or rule.accepts(value):
            fields[key] = value
        else:
            errors.append(f"{where}: expected {rule.expected}, got {value!r}")
    return fields


def _check_keys(
    data: Mapping[str, object], allowed: frozenset[str], path: str, errors: list[str]
) -> None:
    for key in data:
        if not isinstance(key, str) or key not in allowed:
            errors.append(
                f"{path}.{key}: unknown key; expected one of {', '.join(sorted(allowed))}"
            )


def _layer(base: Mapping[str, object], over: Mapping[str, object]) -> dict[str, object]:
    """
    Lay member fields over family defaults; pricing merges price by price.
    """
    fields = dict(base)
    for key, value in over.items():
        below = fields.get("pricing")
        if key == "pricing" and isinstance(value, Mapping) and isinstance(below, Mapping):
            fields[key] = {**below, **value}
        else:
            fields[key] = value
    return fields


def _build_family(
    spec: object,
    path: str,
    source: CatalogSource,
    errors: list[str],
    fetched_at: float | None = None,
) -> list[ModelInfo]:
    if not isinstance(spec, Mapping):
        errors.append(f"{path}: expected a family object, got {type(spec).__name__}")
        return []
    _check_keys(spec, _FAMILY_KEYS, path, errors)
    family = spec.get("family")
    provider = spec.get("provider")
    if not (isinstance(family, str) and family.strip()):
        errors.append(f"{path}.family: expected the family's name, got {family!r}")
        family = None
    if not isinstance(provider, str) or not provider.strip():
        errors.append(f"{path}.provider: expected a provider id, got {provider!r}")
        return []
    defaults = spec.get("defaults", {})
    if not isinstance(defaults, Mapping):
        errors.append(f"{path}.defaults: expected an object of shared fields, got {defaults!r}")
        defaults = {}
    _check_keys(defaults, OVERRIDABLE, f"{path}.defaults", errors)
    shared = _check_fields(defaults, f"{path}.defaults", errors)
    members = spec.get("members")
    if not isinstance(members, list) or not members:
        errors.append(f"{path}.members: expected a non-empty list of members, got {members!r}")
        return []
    infos = []
    for i, member in enumerate(members):
        where = f"{path}.members[{i}]"
        if not isinstance(member, Mapping):
            errors.append(f"{where}: expected a member object, got {member!r}")
            continue
        _check_keys(member, _MEMBER_KEYS, where, errors)
        model_id = member.get("id")
        if not isinstance(model_id, str):
            errors.append(f"{where}.id: expected the provider's model id, got {model_id!r}")
            continue
        count = len(errors)
        fields = _layer(shared, _check_fields(member, where, errors))
        if len(errors) > count:
            continue
        try:
            ref = ModelRef(provider=provider, model=model_id)
            infos.append(
                ModelInfo(ref=ref, source=source, family=family, fetched_at=fetched_at, **fields)  # type: ignore[arg-type]
            )
        except (TypeError, ValueError) as exc:
            errors.append(f"{where}: {exc}")
    return infos


def build_family(
    spec: Mapping[str, object], *, path: str = "$", source: CatalogSource = CatalogSource.CURATED
) -> tuple[ModelInfo, ...]:
    """
    Expand one family of models into records.

    A family is a mapping with ``family`` (its name), ``provider``, optional
    ``defaults`` shared by every member and a non-empty list of ``members``.
    Each member has an ``id`` and overrides only what differs; ``pricing``
    overrides price by price. ``note`` keys document the data and are ignored.
    The record fields are those of :meth:`ModelInfo.with_overrides`, written
    in JSON (``input`` as a list, ``pricing`` as an object)::

        {"family": "gpt-4.1", "provider": "openai",
         "defaults": {"tools": true, "context_window": 1047576,
                      "pricing": {"input": 2.0, "output": 8.0}},
         "members": [{"id": "gpt-4.1", "name": "GPT-4.1"},
                     {"id": "gpt-4.1-mini", "pricing": {"input": 0.4, "output": 1.6}}]}

    Args:
        spec: The family.
        path: The JSON path of *spec*, used in error messages.
        source: The source recorded on every record.

    Raises:
        ValueError: The data is wrong; every problem is listed with its JSON path.
    """
    errors: list[str] = []
    infos = _build_family(spec, path, source, errors)
    raise_if(errors, f"the model family at {path}")
    return tuple(infos)


def build_catalog(
    data: Mapping[str, object], *, source: CatalogSource = CatalogSource.CURATED
) -> ModelCatalog:
    """
    Build a catalog from ``{"format": 1, "as_of": "2025-11", "families": [...]}``.

    ``as_of`` (optional) dates the data, ``YYYY-MM`` or ``YYYY-MM-DD``; every record
    then has that date, at midnight UTC, as its ``fetched_at``, so merges can tell
    whether a discovered record is newer (see :meth:`ModelCatalog.combined`).

    Raises:
        ValueError: The data is wrong or names a model twice; every problem is
            listed with its JSON path.
    """
    errors: list[str] = []
    _check_keys(data, frozenset({"format", "families", "note", "as_of"}), "$", errors)
    if data.get("format") != 1:
        errors.append(f"$.format: expected 1, got {data.get('format')!r}")
    as_of = data.get("as_of")
    fetched_at = None
    if as_of is not None:
        fetched_at = date_seconds(as_of)
        if fetched_at is None:
            errors.append(f"$.as_of: expected a date written YYYY-MM or YYYY-MM-DD, got {as_of!r}")
    families = data.get("families")
    if not isinstance(families, list):
        errors.append(f"$.families: expected a list of families, got {families!r}")
        families = []
    infos: list[ModelInfo] = []
    where: dict[ModelRef, str] = {}
    for i, spec in enumerate(families):
        path = f"$.families[{i}]"
        for info in _build_family(spec, path, source, errors, fetched_at):
            if info.ref in where:
                errors.append(f"{path}: {info.ref} is already defined at {where[info.ref]}")
                continue
            where[info.ref] = path
            infos.append(info)
    raise_if(errors, "the catalog data")
    return ModelCatalog(records=infos)


# --------------------------------------------------------------------------- regeneration


_REFRESHED: Final = ("context_window", "max_output_tokens")
"""Member figures taken from a discovered snapshot (prices and status are handled apart)."""


def _effective(family: Mapping[str, object], member: Mapping[str, object], key: str) -> object:
    if key in member:
        return member[key]
    defaults = family.get("defaults")
    return defaults.get(key) if isinstance(defaults, Mapping) else None


def _set_member(
    family: Mapping[str, object], member: dict[str, object], key: str, value: object
) -> None:
    """
    Give *member* *value* for *key*, as an override only where the family default differs.
    """
    defaults = family.get("defaults")
    default = defaults.get(key) if isinstance(defaults, Mapping) else None
    if value == default and not (isinstance(defaults, Mapping) and key not in defaults):
        member.pop(key, None)
    else:
        member[key] = value


def regenerate(
    data: Mapping[str, object], discovered: ModelCatalog, *, as_of: str
) -> tuple[dict[str, object], tuple[str, ...]]:
    """
    The curated data with the figures a discovered snapshot gives for its models.

    For each member whose ``provider/id`` the snapshot lists, the known prices
    (input, output, cache read, cache write), the context window and the output
    limit are taken from the snapshot, and a deprecation it announces is
    recorded; what the snapshot leaves unknown stays as curated, and so do the
    hand-checked capabilities. A figure equal to the family's default is not
    repeated on the member. ``as_of`` dates the result.

    Returns:
        The new data, and one line per figure changed (``$.families[9].members[0]
        openrouter/x: pricing.input 3.0 -> 2.5``).

    Raises:
        ValueError: The result is not valid curated data (see :func:`build_catalog`).
    """
    new = copy.deepcopy(dict(data))
    new["as_of"] = as_of
    changes: list[str] = []
    families = new.get("families")
    for i, family in enumerate(families if isinstance(families, list) else []):
        if not isinstance(family, dict) or not isinstance(family.get("members"), list):
            continue
        for j, member in enumerate(family["members"]):
            if not isinstance(member, dict):
                continue
            try:
                ref = ModelRef(provider=str(family.get("provider")), model=str(member.get("id")))
            except ValueError:
                continue
            found = discovered.get(ref)
            if found is None:
                continue
            where = f"$.families[{i}].members[{j}] {ref}"

            def change(key: str, before: object, after: object, where: str = where) -> None:
                changes.append(f"{where}: {key} {before!r} -> {after!r}")

            for key in _REFRESHED:
                value = getattr(found, key)
                before = _effective(family, member, key)
                if value is not None and value != before:
                    _set_member(family, member, key, value)
                    change(key, before, value)
            if found.pricing is not None:
                defaults = family.get("defaults")
                base = defaults.get("pricing") if isinstance(defaults, Mapping) else None
                base = dict(base) if isinstance(base, Mapping) else {}
                own = member.get("pricing")
                own = dict(own) if isinstance(own, Mapping) else {}
                prices = {**base, **own}  # how members lay prices over the family's
                for name in ("input", "output", "cache_read", "cache_write"):
                    value = getattr(found.pricing, name)
                    if value is not None and value != prices.get(name):
                        change(f"pricing.{name}", prices.get(name), value)
                        prices[name] = value
                override = {k: v for k, v in prices.items() if k not in base or base[k] != v}
                if override:
                    member["pricing"] = override
                else:
                    member.pop("pricing", None)
            if found.status.ended and _effective(family, member, "status") != found.status.value:
                change("status", _effective(family, member, "status"), found.status.value)
                member["status"] = found.status.value
    build_catalog(new)  # the result must still be valid curated data
    return new, tuple(changes)
