"""
Normalising OpenRouter's ``GET /api/v1/models`` into discovered records.

Pure: the caller fetches the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import (
    CUTOFF_RE,
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
)
from modelcfg._core._values import ModelRef

__all__ = ["catalog_from_openrouter", "info_from_openrouter"]


_OPENROUTER_MODALITIES: Final = {
    "text": Modality.TEXT,
    "image": Modality.IMAGE,
    "audio": Modality.AUDIO,
    "video": Modality.VIDEO,
    "file": Modality.PDF,
    "pdf": Modality.PDF,
}
_OPENROUTER_PRICES: Final = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
}
_PER_MILLION: Final = Decimal(1_000_000)


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _per_million(value: object) -> float | None:
    """
    Convert a USD-per-token price (a string or number) to USD per million tokens.

    Negative prices (OpenRouter's "-1" for variable pricing) and garbage give ``None``.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        price = Decimal(str(value).strip()) * _PER_MILLION
    except InvalidOperation:
        return None
    if not price.is_finite() or price < 0:
        return None
    return float(price)


def info_from_openrouter(record: Mapping[str, object]) -> ModelInfo:
    """
    Normalise one entry of OpenRouter's ``/api/v1/models`` into a discovered record.

    Prices arrive as USD-per-token strings and are converted to USD per million
    tokens; ``architecture.input_modalities`` maps ``file`` to PDF;
    ``supported_parameters`` tells tools, temperature, structured outputs and
    reasoning; ``top_provider.max_completion_tokens`` is the output limit.
    OpenRouter streams every model, so ``streaming`` is true. A field that is
    missing or malformed is left unknown rather than failing the record.

    Raises:
        ValueError: The record has no usable ``id``.
    """
    model_id = record.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f"an OpenRouter model record needs a text 'id', got {model_id!r}")
    try:
        ref = ModelRef(provider="openrouter", model=model_id.strip())
    except ValueError:
        raise ValueError(f"the OpenRouter model id {model_id!r} is not a usable model id") from None

    fields: dict[str, object] = {"streaming": True}
    name = record.get("name")
    if isinstance(name, str) and name.strip():
        fields["name"] = name.strip()

    architecture = record.get("architecture")
    if isinstance(architecture, Mapping):
        raw = architecture.get("input_modalities")
        if isinstance(raw, list):
            modalities = {_OPENROUTER_MODALITIES.get(m) for m in raw if isinstance(m, str)}
            modalities.discard(None)
            if modalities:
                fields["input"] = modalities | {Modality.TEXT}

    top = record.get("top_provider")
    top = top if isinstance(top, Mapping) else {}
    context = _count(record.get("context_length")) or _count(top.get("context_length"))
    fields["context_window"] = context
    max_output = _count(top.get("max_completion_tokens"))
    if max_output is not None and (context is None or max_output <= context):
        fields["max_output_tokens"] = max_output

    pricing = record.get("pricing")
    if isinstance(pricing, Mapping):
        prices = {
            ours: _per_million(pricing.get(theirs)) for theirs, ours in _OPENROUTER_PRICES.items()
        }
        if any(p is not None for p in prices.values()):
            fields["pricing"] = Pricing(**prices)

    params = record.get("supported_parameters")
    if isinstance(params, list):
        names = {p for p in params if isinstance(p, str)}
        fields["tools"] = "tools" in names
        fields["temperature"] = "temperature" in names
        fields["structured_output"] = "structured_outputs" in names
        fields["reasoning"] = bool(names & {"reasoning", "include_reasoning"})

    cutoff = record.get("knowledge_cutoff")
    if isinstance(cutoff, str) and CUTOFF_RE.match(cutoff.strip()):
        fields["knowledge_cutoff"] = cutoff.strip()
    if record.get("expiration_date"):
        fields["status"] = ModelStatus.DEPRECATED

    return ModelInfo(ref=ref, source=CatalogSource.DISCOVERED, **fields)  # type: ignore[arg-type]


def catalog_from_openrouter(payload: Mapping[str, object]) -> tuple[ModelCatalog, tuple[str, ...]]:
    """
    Normalise a whole ``/api/v1/models`` response (``{"data": [...]}``).

    Records without a usable id are skipped; a later record for the same id wins.

    Returns:
        The discovered catalog, and one sentence per skipped record.
    """
    data = payload.get("data")
    if not isinstance(data, list):
        return ModelCatalog(), ("the OpenRouter models response has no 'data' list",)
    infos, skipped = [], []
    for i, record in enumerate(data):
        if not isinstance(record, Mapping):
            skipped.append(f"$.data[{i}]: skipped: not an object")
            continue
        try:
            infos.append(info_from_openrouter(record))
        except ValueError as exc:
            skipped.append(f"$.data[{i}]: skipped: {exc}")
    return ModelCatalog.from_records(infos), tuple(skipped)
