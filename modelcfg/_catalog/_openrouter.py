"""
Normalising OpenRouter's ``GET /api/v1/models`` into discovered records.

The response is ``{"data": [model, ...]}``; each model documents ``id``,
``canonical_slug``, ``name``, ``created``, ``context_length``, ``architecture``
(``input_modalities``, ``output_modalities``), ``pricing`` (USD per token, as
decimal text), ``top_provider`` (``context_length``, ``max_completion_tokens``),
``supported_parameters``, ``knowledge_cutoff`` and ``expiration_date``. Any of
them may be missing or ``null``; what is missing stays unknown.

Pure: the caller fetches the response and passes the time it was fetched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, TypeGuard

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._listing import (
    ModelListing,
    count,
    data_list,
    per_million,
    unix_seconds,
)
from modelcfg._catalog._records import (
    CUTOFF_RE,
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
    date_seconds,
)
from modelcfg._core._values import ModelRef
from modelcfg.exceptions import DiscoveryError

__all__ = ["catalog_from_openrouter", "info_from_openrouter", "parse_openrouter_models"]


_INPUTS: Final = {
    "text": Modality.TEXT,
    "image": Modality.IMAGE,
    "audio": Modality.AUDIO,
    "video": Modality.VIDEO,
    "file": Modality.PDF,
    "pdf": Modality.PDF,
}
_OUTPUTS: Final = {
    "text": Modality.TEXT,
    "image": Modality.IMAGE,
    "audio": Modality.AUDIO,
    "video": Modality.VIDEO,
}
"""Output modalities of a chat model; embeddings, rerank scores and the like are not."""

_PRICES: Final = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
}
"""OpenRouter's per-token prices that a record keeps (``request``, ``image``,
``web_search`` and ``internal_reasoning`` have no place in it)."""

_REASONING: Final = frozenset({"reasoning", "include_reasoning"})


def _is_object(value: object) -> TypeGuard[Mapping[str, object]]:
    """
    Whether *value* is a JSON object (a ``dict`` first: the ABC check costs more).
    """
    return type(value) is dict or isinstance(value, Mapping)


def _modalities(raw: object, table: Mapping[str, Modality]) -> set[Modality] | None:
    if not isinstance(raw, list):
        return None
    return {table[m] for m in raw if isinstance(m, str) and m in table}


def info_from_openrouter(
    record: Mapping[str, object], *, provider: str = "openrouter", fetched_at: float | None = None
) -> ModelInfo:
    """
    Normalise one entry of OpenRouter's ``/api/v1/models`` into a discovered record.

    Prices arrive as USD-per-token text and become USD per million tokens,
    exactly (see :func:`~modelcfg._catalog._listing.per_million`); ``"-1"`` or a
    missing price is unknown, never free. ``architecture.input_modalities`` maps
    ``file`` to PDF; ``output_modalities`` gives ``output``.
    ``supported_parameters`` tells tools (``tools``), temperature, structured
    outputs (``structured_outputs``) and reasoning (``reasoning`` or
    ``include_reasoning``), and is kept whole; ``default_parameters`` keeps the
    values it gives (not its nulls); ``top_provider.max_completion_tokens`` is the output
    limit. An ``expiration_date`` makes the model deprecated, retiring on that
    date. OpenRouter streams every model, so ``streaming`` is true. A field that
    is missing or malformed is left unknown rather than failing the record.

    Args:
        record: One element of the response's ``data``.
        provider: The provider id the record is filed under.
        fetched_at: When the listing was fetched, in seconds since the epoch.

    Raises:
        ValueError: The record has no usable ``id``, or it is not a chat model (it
            outputs embeddings or scores only).
    """
    model_id = record.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise ValueError(f"an OpenRouter model record needs a text 'id', got {model_id!r}")
    try:
        ref = ModelRef(provider=provider, model=model_id.strip())
    except ValueError:
        raise ValueError(f"the OpenRouter model id {model_id!r} is not a usable model id") from None

    fields: dict[str, object] = {"streaming": True}
    name = record.get("name")
    if isinstance(name, str) and name.strip():
        fields["name"] = name.strip()
    slug = record.get("canonical_slug")
    if isinstance(slug, str) and slug.strip() and slug.strip() != ref.model:
        fields["canonical_id"] = slug.strip()
    fields["created_at"] = unix_seconds(record.get("created"))

    architecture = record.get("architecture")
    if _is_object(architecture):
        inputs = _modalities(architecture.get("input_modalities"), _INPUTS)
        if inputs:
            fields["input"] = inputs | {Modality.TEXT}
        raw_outputs = architecture.get("output_modalities")
        outputs = _modalities(raw_outputs, _OUTPUTS)
        if outputs is not None and isinstance(raw_outputs, list) and raw_outputs:
            if not outputs:
                kinds = ", ".join(str(m) for m in raw_outputs)
                raise ValueError(f"{ref.model!r} outputs {kinds}, not text: it is not a chat model")
            fields["output"] = outputs

    top = record.get("top_provider")
    top = top if _is_object(top) else {}
    context = count(record.get("context_length")) or count(top.get("context_length"))
    fields["context_window"] = context
    max_output = count(top.get("max_completion_tokens"))
    if max_output is not None and (context is None or max_output <= context):
        fields["max_output_tokens"] = max_output

    pricing = record.get("pricing")
    if _is_object(pricing):
        prices = {ours: per_million(pricing.get(theirs)) for theirs, ours in _PRICES.items()}
        if any(p is not None for p in prices.values()):
            fields["pricing"] = Pricing(**prices)

    params = record.get("supported_parameters")
    if isinstance(params, list):
        names = {p for p in params if isinstance(p, str)}
        fields["tools"] = "tools" in names
        fields["temperature"] = "temperature" in names
        fields["structured_output"] = "structured_outputs" in names
        fields["reasoning"] = bool(names & _REASONING)
        fields["supported_parameters"] = frozenset(names)

    defaults = record.get("default_parameters")
    if _is_object(defaults):
        # A null default is "none given", not a value.
        fields["default_parameters"] = {
            name: value
            for name, value in defaults.items()
            if isinstance(name, str)
            and isinstance(value, str | int | float)
            and not (isinstance(value, float) and not math.isfinite(value))
        }

    cutoff = record.get("knowledge_cutoff")
    if isinstance(cutoff, str) and CUTOFF_RE.match(cutoff.strip()):
        fields["knowledge_cutoff"] = cutoff.strip()
    expiration = record.get("expiration_date")
    if isinstance(expiration, str) and expiration.strip():
        fields["status"] = ModelStatus.DEPRECATED
        fields["retires_at"] = date_seconds(expiration.strip()[:10])

    return ModelInfo(
        ref=ref,
        source=CatalogSource.DISCOVERED,
        origin=provider,
        fetched_at=fetched_at,
        **fields,  # type: ignore[arg-type]
    )


def parse_openrouter_models(
    payload: object, *, provider: str = "openrouter", fetched_at: float | None = None
) -> ModelListing:
    """
    Normalise a whole ``/api/v1/models`` response (``{"data": [...]}``).

    An entry that is not an object, has no usable id, is not a chat model, or
    repeats an id already listed is skipped with a reason; the others are kept.

    Raises:
        DiscoveryError: The response is not an object with a ``data`` list.
    """
    data = data_list(payload, provider, "OpenRouter models")
    records: list[ModelInfo] = []
    skipped: list[str] = []
    seen: set[ModelRef] = set()
    for i, entry in enumerate(data):
        if not _is_object(entry):
            skipped.append(f"$.data[{i}]: skipped: not an object")
            continue
        try:
            info = info_from_openrouter(entry, provider=provider, fetched_at=fetched_at)
        except (TypeError, ValueError) as exc:
            skipped.append(f"$.data[{i}]: skipped: {exc}")
            continue
        if info.ref in seen:
            skipped.append(
                f"$.data[{i}]: skipped: {info.ref.model!r} is listed twice; kept the first"
            )
            continue
        seen.add(info.ref)
        records.append(info)
    return ModelListing(source=provider, records=tuple(records), skipped=tuple(skipped))


def catalog_from_openrouter(payload: Mapping[str, object]) -> tuple[ModelCatalog, tuple[str, ...]]:
    """
    Normalise a whole ``/api/v1/models`` response into a catalog.

    Returns:
        The discovered catalog, and one sentence per skipped record (or, when
        the response is not a models list, one sentence saying so).
    """
    try:
        listing = parse_openrouter_models(payload)
    except DiscoveryError as exc:
        return ModelCatalog(), (str(exc),)
    return ModelCatalog(records=listing.records), listing.skipped
