"""
Catalogs to and from JSON data, for a host's cache.

Pure; cattrs is imported only when a catalog is first converted.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import (
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    raise_if,
    to_modalities,
)
from modelcfg._catalog._snapshot import CatalogSnapshot, SourceSnapshot
from modelcfg._core._values import ModelRef

if TYPE_CHECKING:
    import cattrs

    from modelcfg.typing import JSON, JSONObject

__all__ = ["catalog_from_json", "catalog_to_json", "snapshot_from_json", "snapshot_to_json"]


_JSON_FORMAT: Final = 1


def _strict(kind: type) -> Callable[[object, object], object]:
    def structure(value: object, _type: object) -> object:
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise TypeError(f"expected {kind.__name__}, got {value!r}")
        return value

    return structure


def _structure_ref(value: object, _type: object) -> ModelRef:
    if not isinstance(value, str):
        raise TypeError(f"expected a 'provider/model' text, got {value!r}")
    return ModelRef.parse(value)


def _is_modalities(kind: object) -> bool:
    return kind == frozenset[Modality]


def _unstructure_modalities(value: frozenset[Modality]) -> list[str]:
    return sorted(m.value for m in value)


def _structure_modalities(value: object, _type: object) -> frozenset[Modality]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of modalities, got {value!r}")
    return to_modalities(value)


def _enum_value(value: enum.Enum) -> object:
    return value.value


@functools.cache
def _converter() -> cattrs.Converter:
    import cattrs

    converter = cattrs.Converter(forbid_extra_keys=True, omit_if_default=True)
    for kind in (bool, int, float, str):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_unstructure_hook(ModelRef, str)
    converter.register_unstructure_hook(ModelStatus, _enum_value)
    converter.register_unstructure_hook(CatalogSource, _enum_value)
    converter.register_structure_hook(ModelRef, _structure_ref)
    converter.register_unstructure_hook_func(_is_modalities, _unstructure_modalities)
    converter.register_structure_hook_func(_is_modalities, _structure_modalities)
    return converter


def catalog_to_json(catalog: ModelCatalog) -> JSONObject:
    """
    Turn a catalog into JSON data (``{"format": 1, "models": [...]}``) for a host's cache.

    .. versionadded:: 0.1.0
    """
    models: list[JSON] = [_converter().unstructure(info) for info in catalog]
    return {"format": _JSON_FORMAT, "models": models}


def catalog_from_json(data: Mapping[str, object]) -> ModelCatalog:
    """
    Read a catalog written by :func:`catalog_to_json`.

    Raises:
        ValueError: The data is not a catalog; the message lists every problem with its path.

    .. versionadded:: 0.1.0
    """
    import cattrs

    if data.get("format") != _JSON_FORMAT:
        raise ValueError(f"$.format: expected {_JSON_FORMAT}, got {data.get('format')!r}")
    models = data.get("models")
    if not isinstance(models, list):
        raise ValueError(f"$.models: expected a list of model records, got {models!r}")
    converter = _converter()
    infos: list[ModelInfo] = []
    errors: list[str] = []
    for i, raw in enumerate(models):
        try:
            infos.append(converter.structure(raw, ModelInfo))
        except cattrs.BaseValidationError as exc:
            errors.extend(f"$.models[{i}]{line}" for line in _paths(exc))
        except (TypeError, ValueError) as exc:
            errors.append(f"$.models[{i}]: {exc}")
    raise_if(errors, "the catalog JSON")
    try:
        return ModelCatalog(records=infos)
    except ValueError as exc:
        raise ValueError(f"the catalog JSON is invalid: {exc}") from None


def snapshot_to_json(snapshot: CatalogSnapshot) -> JSONObject:
    """
    Turn a cache's snapshot into JSON data: ``{"format": 1, "sources": {name: {...}}}``.

    Each listing keeps ``url``, ``fetched_at``, ``attempted_at``, ``etag``, ``error``,
    ``skipped`` and its ``records`` (as :func:`catalog_to_json` writes them); what
    has its default value is left out.
    """
    converter = _converter()
    sources: JSONObject = {
        name: converter.unstructure(snap, SourceSnapshot) for name, snap in snapshot.sources.items()
    }
    for data in sources.values():
        if isinstance(data, dict):
            data.pop("source", None)  # it is the key
    return {"format": _JSON_FORMAT, "sources": sources}


def snapshot_from_json(data: Mapping[str, object]) -> CatalogSnapshot:
    """
    Read a snapshot written by :func:`snapshot_to_json`.

    Raises:
        ValueError: The data is not a snapshot; the message lists every problem with its path.
    """
    import cattrs

    from modelcfg._config._problems import quoted

    if data.get("format") != _JSON_FORMAT:
        raise ValueError(f"$.format: expected {_JSON_FORMAT}, got {data.get('format')!r}")
    sources = data.get("sources")
    if not isinstance(sources, Mapping):
        raise ValueError(f"$.sources: expected an object of listings, got {sources!r}")
    converter = _converter()
    snapshots: list[SourceSnapshot] = []
    errors: list[str] = []
    for name, raw in sources.items():
        where = f"$.sources[{quoted(str(name))}]"
        if not isinstance(raw, Mapping):
            errors.append(f"{where}: expected an object, got {raw!r}")
            continue
        try:
            snapshots.append(converter.structure({**raw, "source": name}, SourceSnapshot))
        except cattrs.BaseValidationError as exc:
            errors.extend(f"{where}{line}" for line in _paths(exc))
        except (TypeError, ValueError) as exc:
            errors.append(f"{where}: {exc}")
    raise_if(errors, "the catalog snapshot")
    return CatalogSnapshot(sources={snap.source: snap for snap in snapshots})


def _paths(exc: cattrs.BaseValidationError) -> list[str]:
    import cattrs

    lines = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_describe):
        # "message @ $.field" -> ".field: message"
        message, _, where = line.rpartition(" @ ")
        lines.append(f"{where.removeprefix('$')}: {message}")
    return lines


def _describe(exc: BaseException, kind: type | None) -> str:
    from cattrs.v import format_exception

    if isinstance(exc, TypeError | ValueError) and str(exc):
        return str(exc)
    return format_exception(exc, kind)
