"""
Where models are discovered, and the parsers of the providers' own model lists.

- :class:`DiscoverySource`: one models listing: its kind of API, its base URL,
  and the provider id its records are filed under.
- :func:`parse_openai_models`: an OpenAI-compatible ``GET /v1/models`` (OpenAI,
  vLLM, Ollama, LM Studio, Groq, ...): ids only, so capabilities stay unknown
  (vLLM's ``max_model_len`` gives the context window).
- :func:`parse_anthropic_models`: Anthropic's ``GET /v1/models``, one page of
  it: display names, release dates, limits and capabilities when present.
- :func:`parse_listing`: the parser for a source's kind (OpenRouter's is in
  ``modelcfg._catalog._openrouter``).
- :func:`diff_records`: what changed between two snapshots of a listing.

Pure: the caller fetches (``modelcfg._catalog._fetch``) and passes the time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from modelcfg._catalog._listing import (
    ModelListing,
    count,
    data_list,
    rfc3339_seconds,
    unix_seconds,
)
from modelcfg._catalog._openrouter import parse_openrouter_models
from modelcfg._catalog._records import CatalogSource, Modality, ModelInfo
from modelcfg._config._endpoints import http_url_problem
from modelcfg._config._schema import ProviderConfig, WireFormat
from modelcfg._core._values import ModelRef

__all__ = [
    "ANTHROPIC_VERSION",
    "CatalogDiff",
    "DiscoverySource",
    "SourceKind",
    "diff_records",
    "parse_anthropic_models",
    "parse_listing",
    "parse_openai_models",
]

ANTHROPIC_VERSION: Final = "2023-06-01"
"""The ``anthropic-version`` header sent with Anthropic's models listing."""

_PROVIDER_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_VERSION_PATH_RE: Final = re.compile(r"/v\d+[a-z0-9]*\Z")


class SourceKind(enum.StrEnum):
    """
    The API a models listing speaks.
    """

    OPENROUTER = "openrouter"
    """OpenRouter's ``GET /api/v1/models``: public, with prices and capabilities."""
    OPENAI = "openai"
    """An OpenAI-compatible ``GET /v1/models``: ids only, with a bearer key if any."""
    ANTHROPIC = "anthropic"
    """Anthropic's ``GET /v1/models``: ``x-api-key``, ``anthropic-version``, pages."""


_WIRE_KINDS: Final = {
    WireFormat.OPENROUTER: SourceKind.OPENROUTER,
    WireFormat.OPENAI: SourceKind.OPENAI,
    WireFormat.ANTHROPIC: SourceKind.ANTHROPIC,
}


def _check_name(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not (isinstance(value, str) and _PROVIDER_RE.match(value)):
        raise ValueError(
            f"a discovery source is named by a provider id (lower-case letters, digits, "
            f"'.', '_' or '-'), not {value!r}"
        )


def _check_base_url(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    problem = http_url_problem(value)
    if problem:
        raise ValueError(f"base_url {problem}")


def _needs_key(instance: DiscoverySource) -> bool:
    return instance.kind is not SourceKind.OPENROUTER


@attrs.frozen(kw_only=True)
class DiscoverySource:
    """
    One models listing to discover models from.

    Attributes:
        name: The provider id its records are filed under (``openrouter`` gives
            ``openrouter/vendor/model`` refs); also the name of its snapshot.
        kind: The API it speaks.
        base_url: The API root, with its version path, as in the config's
            ``providers`` section (``https://openrouter.ai/api/v1``,
            ``http://127.0.0.1:11434/v1``). For Anthropic a root without a version
            path gets ``/v1``.
        needs_key: Whether a listing needs a credential; OpenRouter's is public.
    """

    name: str = attrs.field(validator=_check_name)
    kind: SourceKind = attrs.field(converter=SourceKind)
    base_url: str = attrs.field(validator=_check_base_url)
    needs_key: bool = attrs.field(default=attrs.Factory(_needs_key, takes_self=True))

    @property
    def url(self) -> str:
        """
        The listing's URL: ``{base_url}/models`` (``/v1`` first for a bare Anthropic root).
        """
        base = self.base_url.rstrip("/")
        if self.kind is SourceKind.ANTHROPIC and not _VERSION_PATH_RE.search(base):
            base += "/v1"
        return base + "/models"

    @classmethod
    def for_provider(cls, name: str, settings: ProviderConfig) -> DiscoverySource | None:
        """
        The listing of a configured (or built-in) provider, or ``None`` when its wire
        format has none (``custom``) or it has no base URL.
        """
        kind = _WIRE_KINDS.get(settings.api)
        if kind is None or not settings.base_url:
            return None
        return cls(name=name, kind=kind, base_url=settings.base_url)


# --------------------------------------------------------------------------- parsers


def _listed(
    read: Iterable[tuple[int, ModelInfo | str]],
) -> tuple[tuple[ModelInfo, ...], tuple[str, ...]]:
    """
    Keep each id's first record; turn reasons into ``$.data[i]: skipped: ...`` lines.
    """
    records: list[ModelInfo] = []
    skipped: list[str] = []
    seen: set[ModelRef] = set()
    for i, outcome in read:
        if isinstance(outcome, str):
            skipped.append(f"$.data[{i}]: skipped: {outcome}")
        elif outcome.ref in seen:
            skipped.append(
                f"$.data[{i}]: skipped: {outcome.ref.model!r} is listed twice; kept the first"
            )
        else:
            seen.add(outcome.ref)
            records.append(outcome)
    return tuple(records), tuple(skipped)


def _ref(provider: str, entry: Mapping[str, object]) -> ModelRef | str:
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        return f"a model needs a text 'id', got {model_id!r}"
    try:
        return ModelRef(provider=provider, model=model_id.strip())
    except ValueError:
        return f"the model id {model_id!r} is not a usable model id"


def _openai_entry(entry: object, provider: str, fetched_at: float | None) -> ModelInfo | str:
    if not isinstance(entry, Mapping):
        return "not an object"
    ref = _ref(provider, entry)
    if isinstance(ref, str):
        return ref
    return ModelInfo(
        ref=ref,
        source=CatalogSource.DISCOVERED,
        origin=provider,
        fetched_at=fetched_at,
        created_at=unix_seconds(entry.get("created")),
        context_window=count(entry.get("max_model_len")),
    )


def parse_openai_models(
    payload: object, *, provider: str, fetched_at: float | None = None
) -> ModelListing:
    """
    Normalise an OpenAI-compatible ``GET /v1/models`` response.

    The response is ``{"object": "list", "data": [{"id", "object": "model",
    "created", "owned_by"}, ...]}``. Only ids (and creation times) are listed,
    so every capability, limit and price stays unknown; vLLM's ``max_model_len``
    is read as the context window.

    Args:
        payload: The parsed response body.
        provider: The provider id the records are filed under (``openai``, ``ollama``, ...).
        fetched_at: When the response was fetched, in seconds since the epoch.

    Raises:
        DiscoveryError: The response is not an object with a ``data`` list.
    """
    data = data_list(payload, provider, "models")
    records, skipped = _listed(
        (i, _openai_entry(entry, provider, fetched_at)) for i, entry in enumerate(data)
    )
    return ModelListing(source=provider, records=records, skipped=skipped)


def _supported(capabilities: Mapping[str, object], name: str) -> bool | None:
    entry = capabilities.get(name)
    if isinstance(entry, Mapping) and isinstance(entry.get("supported"), bool):
        return bool(entry["supported"])
    return None


def _anthropic_entry(entry: object, provider: str, fetched_at: float | None) -> ModelInfo | str:
    if not isinstance(entry, Mapping):
        return "not an object"
    kind = entry.get("type", "model")
    if kind != "model":
        return f"its type is {kind!r}, not 'model'"
    ref = _ref(provider, entry)
    if isinstance(ref, str):
        return ref
    fields: dict[str, object] = {}
    name = entry.get("display_name")
    if isinstance(name, str) and name.strip():
        fields["name"] = name.strip()
    context = count(entry.get("max_input_tokens"))
    most = count(entry.get("max_tokens"))
    fields["context_window"] = context
    if most is not None and (context is None or most <= context):
        fields["max_output_tokens"] = most
    capabilities = entry.get("capabilities")
    if isinstance(capabilities, Mapping):
        inputs = {Modality.TEXT}
        if _supported(capabilities, "image_input"):
            inputs.add(Modality.IMAGE)
        if _supported(capabilities, "pdf_input"):
            inputs.add(Modality.PDF)
        fields["input"] = inputs
        fields["structured_output"] = _supported(capabilities, "structured_outputs")
        fields["reasoning"] = _supported(capabilities, "thinking")
    return ModelInfo(
        ref=ref,
        source=CatalogSource.DISCOVERED,
        origin=provider,
        fetched_at=fetched_at,
        streaming=True,
        created_at=rfc3339_seconds(entry.get("created_at")),
        **fields,  # type: ignore[arg-type]
    )


def parse_anthropic_models(
    payload: object, *, provider: str = "anthropic", fetched_at: float | None = None
) -> ModelListing:
    """
    Normalise one page of Anthropic's ``GET /v1/models``.

    A page is ``{"data": [...], "has_more", "first_id", "last_id"}``; each model
    has ``id``, ``type: "model"``, ``display_name`` and ``created_at`` (RFC 3339),
    and may have ``max_input_tokens`` (the context window), ``max_tokens`` (the
    output limit) and ``capabilities`` (``image_input``, ``pdf_input``,
    ``structured_outputs``, ``thinking``, each ``{"supported": bool}``). The
    next page is asked for with ``after_id`` set to ``last_id``.

    Raises:
        DiscoveryError: The response is not an object with a ``data`` list.
    """
    data = data_list(payload, provider, "Anthropic models")
    records, skipped = _listed(
        (i, _anthropic_entry(entry, provider, fetched_at)) for i, entry in enumerate(data)
    )
    page: Mapping[str, object] = payload if isinstance(payload, Mapping) else {}
    last_id = page.get("last_id")
    return ModelListing(
        source=provider,
        records=records,
        skipped=skipped,
        has_more=page.get("has_more") is True,
        last_id=last_id if isinstance(last_id, str) and last_id else None,
    )


def parse_listing(
    source: DiscoverySource, payload: object, *, fetched_at: float | None = None
) -> ModelListing:
    """
    Normalise one response of *source*'s listing with the parser for its kind.

    Raises:
        DiscoveryError: The response is not a models list.
    """
    match source.kind:
        case SourceKind.OPENROUTER:
            return parse_openrouter_models(payload, provider=source.name, fetched_at=fetched_at)
        case SourceKind.OPENAI:
            return parse_openai_models(payload, provider=source.name, fetched_at=fetched_at)
        case SourceKind.ANTHROPIC:
            return parse_anthropic_models(payload, provider=source.name, fetched_at=fetched_at)


# --------------------------------------------------------------------------- diffs


def _facts(info: ModelInfo) -> ModelInfo:
    """
    *info* without when and where it was fetched: what a change is measured on.
    """
    return attrs.evolve(info, fetched_at=None, pricing_from=None, status_from=None)


@attrs.frozen(kw_only=True)
class CatalogDiff:
    """
    What changed in a listing between two snapshots.

    Attributes:
        added: Models listed now and not before.
        changed: Models listed both times whose facts differ (fetch times aside).
        removed: Models listed before and not now.
        unchanged: How many models are listed both times with the same facts.
    """

    added: tuple[ModelRef, ...] = ()
    changed: tuple[ModelRef, ...] = ()
    removed: tuple[ModelRef, ...] = ()
    unchanged: int = 0

    def __add__(self, other: CatalogDiff) -> CatalogDiff:
        return CatalogDiff(
            added=self.added + other.added,
            changed=self.changed + other.changed,
            removed=self.removed + other.removed,
            unchanged=self.unchanged + other.unchanged,
        )

    def summary(self) -> str:
        """
        ``3 added, 1 changed, 0 removed, 160 unchanged``.
        """
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged"
        )


def diff_records(old: Iterable[ModelInfo], new: Iterable[ModelInfo]) -> CatalogDiff:
    """
    Compare two snapshots of one listing, model by model, ignoring fetch times.
    """
    before = {info.ref: info for info in old}
    after = {info.ref: info for info in new}
    added = tuple(ref for ref in after if ref not in before)
    removed = tuple(ref for ref in before if ref not in after)
    both = [ref for ref in after if ref in before]
    changed = tuple(ref for ref in both if _facts(before[ref]) != _facts(after[ref]))
    return CatalogDiff(
        added=added, changed=changed, removed=removed, unchanged=len(both) - len(changed)
    )
