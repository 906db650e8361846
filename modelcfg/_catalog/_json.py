"""
Catalogs and catalog snapshots to and from JSON data, for a host's cache.

A record is written as an object of its fields (``input`` and ``output`` as
sorted lists, ``pricing`` and provenances as objects, enums as their values),
leaving out what has its default value. Reading is strict and driven by one
table, :data:`_FIELDS` (field -> reader): an unknown key, a wrong type or a
broken invariant is refused with its JSON path, every problem at once, and one
bad record never hides the others.

Pure, and light: no cattrs, so reading a cache costs what the records cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

import attrs

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import (
    PRICE_KEYS,
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
    Provenance,
    raise_if,
)
from modelcfg._catalog._snapshot import CatalogSnapshot, SourceSnapshot
from modelcfg._config._problems import quoted
from modelcfg._core._values import ModelRef

if TYPE_CHECKING:
    from modelcfg.typing import JSON, JSONObject

__all__ = ["catalog_from_json", "catalog_to_json", "snapshot_from_json", "snapshot_to_json"]


_JSON_FORMAT: Final = 1

Reader = Callable[[object], object]


class _Bad(ValueError):
    """
    A value of the wrong kind; the message says what was expected.
    """


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected str, got {value!r}")
    return value


def _optional(read: Reader) -> Reader:
    return lambda value: None if value is None else read(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected bool, got {value!r}")
    return value


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"expected int, got {value!r}")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"expected a number, got {value!r}")
    return float(value)


def _ref(value: object) -> ModelRef:
    if not isinstance(value, str):
        raise _Bad(f"expected a 'provider/model' text, got {value!r}")
    return ModelRef.parse(value)


def _modalities(value: object) -> frozenset[Modality]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"expected a list of modalities, got {value!r}")
    try:
        return frozenset(Modality(v) for v in value)
    except ValueError:
        allowed = ", ".join(m.value for m in Modality)
        raise _Bad(f"expected modalities among {allowed}, got {value!r}") from None


def _enum(kind: type[ModelStatus] | type[CatalogSource]) -> Reader:
    def read(value: object) -> object:
        try:
            return kind(_text(value))
        except ValueError:
            allowed = ", ".join(v.value for v in kind)
            raise _Bad(f"expected one of {allowed}, got {value!r}") from None

    return read


def _object(value: object, allowed: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _Bad(f"expected an object, got {value!r}")
    extra = sorted(str(k) for k in value if k not in allowed)
    if extra:
        raise _Bad(f"extra fields found ({', '.join(extra)})")
    return value


def _names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise TypeError("expected a list of texts")
    return frozenset(value)


def _defaults(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError("expected an object")
    return value


def _pricing(value: object) -> Pricing:
    prices = _object(value, PRICE_KEYS)
    return Pricing(**{k: _optional(_number)(v) for k, v in prices.items()})


_PROVENANCE_KEYS: Final = frozenset(a.name for a in attrs.fields(Provenance))


def _provenance(value: object) -> Provenance:
    data = _object(value, _PROVENANCE_KEYS)
    return Provenance(
        source=_enum(CatalogSource)(data.get("source")),  # type: ignore[arg-type]
        origin=_optional(_text)(data.get("origin")),  # type: ignore[arg-type]
        fetched_at=_optional(_number)(data.get("fetched_at")),  # type: ignore[arg-type]
    )


_FIELDS: Final[Mapping[str, Reader]] = {
    "ref": _ref,
    "name": _text,
    "input": _modalities,
    "tools": _optional(_boolean),
    "streaming": _optional(_boolean),
    "structured_output": _optional(_boolean),
    "reasoning": _optional(_boolean),
    "temperature": _optional(_boolean),
    "context_window": _optional(_integer),
    "max_output_tokens": _optional(_integer),
    "pricing": _optional(_pricing),
    "knowledge_cutoff": _optional(_text),
    "status": _enum(ModelStatus),
    "source": _enum(CatalogSource),
    "family": _optional(_text),
    "output": _modalities,
    "origin": _optional(_text),
    "fetched_at": _optional(_number),
    "created_at": _optional(_number),
    "retires_at": _optional(_number),
    "canonical_id": _optional(_text),
    "pricing_from": _optional(_provenance),
    "status_from": _optional(_provenance),
    "supported_parameters": _optional(_names),
    "default_parameters": _defaults,
}
"""How each field of a record is read from JSON; every field of ModelInfo is here."""

_DEFAULTS: Final = {
    a.name: a.default
    for a in attrs.fields(ModelInfo)
    if not isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
}


def _record(raw: object, path: str, errors: list[str]) -> ModelInfo | None:
    """
    One record from JSON, or ``None`` with its problems added to *errors*.
    """
    try:
        data = _object(raw, frozenset(_FIELDS))
    except _Bad as exc:
        errors.append(f"{path}: {exc}")
        return None
    if "ref" not in data:
        errors.append(f"{path}.ref: required field missing")
        return None
    fields: dict[str, object] = {}
    count = len(errors)
    for key, value in data.items():
        try:
            fields[key] = _FIELDS[key](value)
        except (TypeError, ValueError) as exc:
            errors.append(f"{path}.{key}: {exc}")
    if len(errors) > count:
        return None
    try:
        return ModelInfo(**fields)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        errors.append(f"{path}: {exc}")
        return None


def _json_number(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _value(value: object) -> JSON:
    match value:
        case frozenset() if all(
            isinstance(item, str) and not isinstance(item, Modality) for item in value
        ):
            return sorted(value)
        case frozenset():
            return sorted(m.value for m in value)
        case Mapping():
            return {str(k): _value(v) for k, v in value.items()}
        case ModelStatus() | CatalogSource():
            return value.value
        case ModelRef():
            return str(value)
        case Pricing():
            return {k: v for k, v in attrs.asdict(value).items() if v is not None}
        case Provenance():
            data: JSONObject = {"source": value.source.value}
            if value.origin is not None:
                data["origin"] = value.origin
            if value.fetched_at is not None:
                data["fetched_at"] = value.fetched_at
            return data
        case float() if not math.isfinite(value):  # pragma: no cover - records refuse these
            raise ValueError(f"{value!r} cannot be written as JSON")
        case str() | int() | float() | bool() | None:
            return value
        case _:  # pragma: no cover - every field type is handled above
            raise TypeError(f"cannot write {type(value).__name__} as JSON")


def record_to_json(info: ModelInfo) -> JSONObject:
    """
    One record as JSON data; fields with their default value are left out.
    """
    data: JSONObject = {}
    for name in _FIELDS:
        value = getattr(info, name)
        if name in _DEFAULTS and value == _DEFAULTS[name] and name != "ref":
            continue
        if name == "name" and value == info.ref.model:
            continue
        data[name] = _value(value)
    return data


def catalog_to_json(catalog: ModelCatalog) -> JSONObject:
    """
    Turn a catalog into JSON data (``{"format": 1, "models": [...]}``) for a host's cache.
    """
    models: list[JSON] = [record_to_json(info) for info in catalog]
    return {"format": _JSON_FORMAT, "models": models}


def catalog_from_json(data: Mapping[str, object]) -> ModelCatalog:
    """
    Read a catalog written by :func:`catalog_to_json`.

    Raises:
        ValueError: The data is not a catalog; the message lists every problem with its path.
    """
    if data.get("format") != _JSON_FORMAT:
        raise ValueError(f"$.format: expected {_JSON_FORMAT}, got {data.get('format')!r}")
    models = data.get("models")
    if not isinstance(models, list):
        raise ValueError(f"$.models: expected a list of model records, got {models!r}")
    errors: list[str] = []
    infos = [_record(raw, f"$.models[{i}]", errors) for i, raw in enumerate(models)]
    raise_if(errors, "the catalog JSON")
    try:
        return ModelCatalog(records=[info for info in infos if info is not None])
    except ValueError as exc:
        raise ValueError(f"the catalog JSON is invalid: {exc}") from None


_SOURCE_READERS: Final[Mapping[str, Reader]] = {
    "url": _text,
    "fetched_at": _optional(_number),
    "attempted_at": _optional(_number),
    "etag": _optional(_text),
    "error": _optional(_text),
}


def snapshot_to_json(snapshot: CatalogSnapshot) -> JSONObject:
    """
    Turn a cache's snapshot into JSON data: ``{"format": 1, "sources": {name: {...}}}``.

    Each listing keeps ``url``, ``fetched_at``, ``attempted_at``, ``etag``, ``error``,
    ``skipped`` and its ``records`` (as :func:`catalog_to_json` writes them); what
    is unknown is left out.
    """
    sources: JSONObject = {}
    for name, snap in snapshot.sources.items():
        data: JSONObject = {"url": snap.url}
        for key in ("fetched_at", "attempted_at", "etag", "error"):
            value = getattr(snap, key)
            if value is not None:
                data[key] = value
        if snap.skipped:
            data["skipped"] = list(snap.skipped)
        data["records"] = [record_to_json(info) for info in snap.records]
        sources[name] = data
    return {"format": _JSON_FORMAT, "sources": sources}


def _source(name: str, raw: object, where: str, errors: list[str]) -> SourceSnapshot | None:
    allowed = frozenset({*_SOURCE_READERS, "skipped", "records"})
    try:
        data = _object(raw, allowed)
    except _Bad as exc:
        errors.append(f"{where}: {exc}")
        return None
    count = len(errors)
    fields: dict[str, object] = {}
    for key, read in _SOURCE_READERS.items():
        if key in data or key == "url":
            try:
                fields[key] = read(data.get(key))
            except (TypeError, ValueError) as exc:
                errors.append(f"{where}.{key}: {exc}")
    skipped = data.get("skipped", [])
    if not isinstance(skipped, list) or not all(isinstance(s, str) for s in skipped):
        errors.append(f"{where}.skipped: expected a list of texts, got {skipped!r}")
    records = data.get("records", [])
    if not isinstance(records, list):
        errors.append(f"{where}.records: expected a list of model records, got {records!r}")
        records = []
    infos = [_record(raw, f"{where}.records[{i}]", errors) for i, raw in enumerate(records)]
    if len(errors) > count:
        return None
    return SourceSnapshot(
        source=name,
        records=[info for info in infos if info is not None],
        skipped=tuple(skipped),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def snapshot_from_json(data: Mapping[str, object]) -> CatalogSnapshot:
    """
    Read a snapshot written by :func:`snapshot_to_json`.

    Raises:
        ValueError: The data is not a snapshot; the message lists every problem with its path.
    """
    if data.get("format") != _JSON_FORMAT:
        raise ValueError(f"$.format: expected {_JSON_FORMAT}, got {data.get('format')!r}")
    sources = data.get("sources")
    if not isinstance(sources, Mapping):
        raise ValueError(f"$.sources: expected an object of listings, got {sources!r}")
    errors: list[str] = []
    snapshots = [
        _source(str(name), raw, f"$.sources[{quoted(str(name))}]", errors)
        for name, raw in sources.items()
    ]
    raise_if(errors, "the catalog snapshot")
    return CatalogSnapshot(sources={s.source: s for s in snapshots if s is not None})
