"""
Model records, the catalog that holds them, and the ways records are made.

A :class:`ModelInfo` describes one model on one provider: what it accepts, what
it supports, how much it holds and what it costs. ``None`` always means
*unknown*, never *no*. A :class:`ModelCatalog` is an immutable collection of
records keyed by :class:`~modelcfg.ModelRef`, with lookups, merges in a fixed
precedence (user > curated > discovered) and a fuzzy search.

Records come from three places, each with a pure constructor here:

- curated data shipped with the package, organised as families and expanded by
  :func:`build_family` / :func:`build_catalog` (``modelcfg._catalog._curated`` loads the file);
- the OpenRouter models API, normalised by :func:`info_from_openrouter`;
- the user's config, applied with :meth:`ModelInfo.with_overrides`.

This module is pure: it reads no files, clock, environment or network, and it
imports cattrs only when a catalog is first converted to or from JSON.
"""

from __future__ import annotations

import difflib
import enum
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import attrs

from modelcfg._core._values import ModelRef

if TYPE_CHECKING:
    import cattrs

    from modelcfg.typing import JSON, JSONObject

__all__ = [
    "CatalogFilter",
    "CatalogSource",
    "MatchField",
    "MatchKind",
    "Modality",
    "ModelCatalog",
    "ModelInfo",
    "ModelStatus",
    "Pricing",
    "SearchHit",
    "build_catalog",
    "build_family",
    "catalog_from_json",
    "catalog_from_openrouter",
    "catalog_to_json",
    "info_from_openrouter",
    "model_key",
    "native_ref",
]


class Modality(enum.StrEnum):
    """
    A kind of input a model accepts.
    """

    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    PDF = "pdf"
    VIDEO = "video"


class ModelStatus(enum.StrEnum):
    """
    Where a model is in its provider's life cycle.
    """

    ACTIVE = "active"
    """Generally available."""
    PREVIEW = "preview"
    """Available for testing; limits and prices may still change."""
    DEPRECATED = "deprecated"
    """Still served, with a retirement announced."""
    RETIRED = "retired"
    """No longer served; calls fail."""


class CatalogSource(enum.StrEnum):
    """
    Where a record came from; it decides precedence when catalogs merge.
    """

    CURATED = "curated"
    """Shipped with modelcfg as data."""
    DISCOVERED = "discovered"
    """Fetched from a provider's models API (metadata only)."""
    USER = "user"
    """Defined or overridden in the user's config."""


# --------------------------------------------------------------------------- records

_TEXT_ONLY: Final = frozenset({Modality.TEXT})
_CUTOFF_RE: Final = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?\Z")


def _to_price(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"a price must be a number of USD per million tokens, not {value!r}")
    return float(value)


def _check_price(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"the {attribute.name} price must be a finite, non-negative number of USD per "
            f"million tokens, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class Pricing:
    """
    What a model costs, in USD per million tokens.

    ``None`` means the price is unknown (or, for the cache prices, not charged
    separately by the provider). Tiered prices (for example Gemini's higher rate
    above 200k prompt tokens) record the base tier.

    Attributes:
        input: Price of prompt tokens.
        output: Price of generated tokens, reasoning tokens included.
        cache_read: Price of prompt tokens served from the provider's cache.
        cache_write: Price of prompt tokens written to the provider's cache.
    """

    input: float | None = attrs.field(default=None, converter=_to_price, validator=_check_price)
    output: float | None = attrs.field(default=None, converter=_to_price, validator=_check_price)
    cache_read: float | None = attrs.field(
        default=None, converter=_to_price, validator=_check_price
    )
    cache_write: float | None = attrs.field(
        default=None, converter=_to_price, validator=_check_price
    )

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Pricing:
        """
        Build prices from a mapping of ``input``, ``output``, ``cache_read`` and ``cache_write``.

        Raises:
            ValueError: The mapping has another key or a negative price.
            TypeError: A price is not a number.
        """
        unknown = sorted(set(data) - _PRICE_KEYS)
        if unknown:
            raise ValueError(
                f"pricing has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(sorted(_PRICE_KEYS))}"
            )
        return cls(**{k: data[k] for k in _PRICE_KEYS if k in data})

    @property
    def is_unknown(self) -> bool:
        """
        Whether no price at all is known.
        """
        return (
            self.input is None
            and self.output is None
            and self.cache_read is None
            and (self.cache_write is None)
        )


_PRICE_KEYS: Final = frozenset(a.name for a in attrs.fields(Pricing))


def _to_modalities(value: object) -> frozenset[Modality]:
    if isinstance(value, str | Modality):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"input must be a collection of modalities, not {value!r}")
    try:
        return frozenset(Modality(item) for item in value)
    except ValueError:
        allowed = ", ".join(m.value for m in Modality)
        raise ValueError(
            f"input {sorted(map(str, value))!r} names an unknown modality; use {allowed}"
        ) from None


def _to_pricing(value: object) -> Pricing | None:
    if value is None or isinstance(value, Pricing):
        return value
    if isinstance(value, Mapping):
        return Pricing.from_mapping(value)
    raise TypeError(f"pricing must be a Pricing or a mapping of prices, not {value!r}")


def _check_optional_bool(
    instance: ModelInfo, attribute: attrs.Attribute[bool | None], value: bool | None
) -> None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(
            f"{attribute.name} of {instance.ref} must be true, false or None (unknown), "
            f"not {value!r}"
        )


def _check_optional_count(
    instance: ModelInfo, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} of {instance.ref} must be a whole number, not {value!r}")
    if value <= 0:
        raise ValueError(f"{attribute.name} of {instance.ref} must be positive, not {value}")


def _check_name(instance: ModelInfo, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"the display name of {instance.ref} must be a non-empty text")


def _check_input(
    instance: ModelInfo,
    _attribute: attrs.Attribute[frozenset[Modality]],
    value: frozenset[Modality],
) -> None:
    if not value:
        raise ValueError(f"input of {instance.ref} must name at least one modality")


def _check_cutoff(
    instance: ModelInfo, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not (isinstance(value, str) and _CUTOFF_RE.match(value)):
        raise ValueError(
            f"knowledge_cutoff of {instance.ref} must be written YYYY-MM or YYYY-MM-DD, "
            f"not {value!r}"
        )


def _check_family(
    instance: ModelInfo, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ValueError(f"family of {instance.ref} must be a non-empty text or None")


def _default_name(instance: ModelInfo) -> str:
    return instance.ref.model


_OVERRIDABLE: Final = frozenset(
    {
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
    }
)


@attrs.frozen(kw_only=True)
class ModelInfo:
    """
    What is known about one model on one provider.

    ``None`` means unknown. A model whose ``input`` is unknown is treated as
    text-only, which is also what :meth:`unknown` returns.

    Attributes:
        ref: The model and the provider that serves it.
        name: A display name; defaults to the model id.
        input: The modalities the model accepts; text only by default.
        tools: Whether the model can call tools (functions).
        streaming: Whether responses can be streamed.
        structured_output: Whether the model can be held to a JSON schema.
        reasoning: Whether the model reasons before answering (thinking tokens).
        temperature: Whether the model accepts a ``temperature`` parameter.
        context_window: Tokens the model holds, prompt and output together.
        max_output_tokens: The most tokens one response may have.
        pricing: Prices in USD per million tokens.
        knowledge_cutoff: The end of the training data, ``YYYY-MM`` (or ``YYYY-MM-DD``).
        status: Where the model is in its life cycle.
        source: Where this record came from.
        family: The curated family the record was built from, if any.

    .. versionadded:: 0.1.0
    """

    ref: ModelRef = attrs.field(validator=attrs.validators.instance_of(ModelRef))
    name: str = attrs.field(
        default=attrs.Factory(_default_name, takes_self=True), validator=_check_name
    )
    input: frozenset[Modality] = attrs.field(
        default=_TEXT_ONLY, converter=_to_modalities, validator=_check_input
    )
    tools: bool | None = attrs.field(default=None, validator=_check_optional_bool)
    streaming: bool | None = attrs.field(default=None, validator=_check_optional_bool)
    structured_output: bool | None = attrs.field(default=None, validator=_check_optional_bool)
    reasoning: bool | None = attrs.field(default=None, validator=_check_optional_bool)
    temperature: bool | None = attrs.field(default=None, validator=_check_optional_bool)
    context_window: int | None = attrs.field(default=None, validator=_check_optional_count)
    max_output_tokens: int | None = attrs.field(default=None, validator=_check_optional_count)
    pricing: Pricing | None = attrs.field(default=None, converter=_to_pricing)
    knowledge_cutoff: str | None = attrs.field(default=None, validator=_check_cutoff)
    status: ModelStatus = attrs.field(default=ModelStatus.ACTIVE, converter=ModelStatus)
    source: CatalogSource = attrs.field(default=CatalogSource.USER, converter=CatalogSource)
    family: str | None = attrs.field(default=None, validator=_check_family)

    def __attrs_post_init__(self) -> None:
        if (
            self.context_window is not None
            and self.max_output_tokens is not None
            and self.max_output_tokens > self.context_window
        ):
            raise ValueError(
                f"max_output_tokens of {self.ref} ({self.max_output_tokens}) is larger than "
                f"its context_window ({self.context_window})"
            )

    @classmethod
    def unknown(cls, ref: ModelRef, *, source: CatalogSource = CatalogSource.USER) -> ModelInfo:
        """
        Return the record of a model nobody described: text-only, every limit unknown.
        """
        return cls(ref=ref, source=source)

    @property
    def image_input(self) -> bool:
        """
        Whether the model is known to accept images (unknown counts as no).
        """
        return Modality.IMAGE in self.input

    def with_overrides(self, **fields: object) -> ModelInfo:
        """
        Return a copy with some fields replaced, as a user's config overrides them.

        The fields that may be overridden are ``name``, ``input``, ``tools``,
        ``streaming``, ``structured_output``, ``reasoning``, ``temperature``,
        ``context_window``, ``max_output_tokens``, ``pricing``, ``knowledge_cutoff``,
        ``status`` and, to mark who vouches for the result, ``source``. A value of
        ``None`` is skipped, so optional config fields can be passed straight
        through; ``pricing`` may be a mapping, and its prices replace the known ones
        key by key. To forget a known value, use :func:`attrs.evolve`.

        Raises:
            ValueError: A field cannot be overridden, or a value breaks an invariant.
            TypeError: A value has the wrong type.
        """
        unknown = sorted(set(fields) - _OVERRIDABLE - {"source"})
        if unknown:
            raise ValueError(
                f"cannot override {', '.join(map(repr, unknown))} of {self.ref}: "
                f"the overridable fields are {', '.join(sorted(_OVERRIDABLE))}"
            )
        changes: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        pricing = changes.get("pricing")
        if isinstance(pricing, Mapping) and self.pricing is not None:
            base = attrs.asdict(self.pricing)
            extra = sorted(set(pricing) - _PRICE_KEYS)
            if extra:
                raise ValueError(
                    f"pricing override of {self.ref} has unknown key(s) "
                    f"{', '.join(map(repr, extra))}"
                )
            base.update({k: v for k, v in pricing.items() if v is not None})
            changes["pricing"] = base
        return attrs.evolve(self, **changes)


# --------------------------------------------------------------------------- keys


# OpenRouter vendor prefixes whose native provider id is spelled differently.
_OPENROUTER_VENDORS: Final = {
    "meta-llama": "meta",
    "mistralai": "mistral",
    "moonshotai": "moonshot",
    "x-ai": "xai",
}
_DATE_SUFFIX_RE: Final = re.compile(r"[-@]\d{8}\Z")
_SEPARATORS_RE: Final = re.compile(r"[\s_.:]+")


def native_ref(ref: ModelRef) -> ModelRef | None:
    """
    Map an OpenRouter model to the vendor's own provider, best effort.

    ``openrouter/anthropic/claude-sonnet-4.5`` becomes ``anthropic/claude-sonnet-4.5``;
    vendor prefixes that differ from modelcfg's provider ids are renamed
    (``meta-llama`` -> ``meta``, ``mistralai`` -> ``mistral``, ``moonshotai`` ->
    ``moonshot``, ``x-ai`` -> ``xai``) and a ``:variant`` suffix (``:free``) is
    dropped. The model id keeps OpenRouter's spelling, which may differ from the
    vendor's (``4.5`` rather than ``4-5``): compare with :func:`model_key`.

    Returns:
        The vendor's ref, or ``None`` when *ref* is not an OpenRouter ``vendor/name`` id.
    """
    if ref.provider != "openrouter" or "/" not in ref.model:
        return None
    vendor, _, name = ref.model.partition("/")
    name = name.partition(":")[0]
    vendor = vendor.lower()
    try:
        return ModelRef(provider=_OPENROUTER_VENDORS.get(vendor, vendor), model=name)
    except ValueError:
        return None


def model_key(model: ModelRef | str) -> str:
    """
    Return the key under which the same model matches across providers, best effort.

    The key is the last ``/`` segment of the model id, lower-cased, without a
    ``:variant`` suffix, a dated snapshot suffix (``-20250929``, ``@20250929``),
    ``-latest`` or a trailing ``-0`` version (``claude-sonnet-4-0``), and with
    ``.``, ``_`` and spaces read as ``-``. So ``anthropic/claude-sonnet-4-5``,
    ``anthropic/claude-sonnet-4-5-20250929`` and
    ``openrouter/anthropic/claude-sonnet-4.5`` share the key ``claude-sonnet-4-5``.
    """
    text = model.model if isinstance(model, ModelRef) else model
    text = text.strip().rsplit("/", 1)[-1].partition(":")[0].lower()
    text = _DATE_SUFFIX_RE.sub("", text)
    text = _SEPARATORS_RE.sub("-", text).strip("-")
    text = text.removesuffix("-latest")
    return re.sub(r"(-\d+)-0\Z", r"\1", text)


def _as_ref(ref: ModelRef | str) -> ModelRef:
    return ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)


# --------------------------------------------------------------------------- search


class MatchKind(enum.StrEnum):
    """
    How a search query matched a record, best first.
    """

    EXACT = "exact"
    """The text equals the query (ignoring case and ``.``/``-``/space differences)."""
    PREFIX = "prefix"
    """The text starts with the query."""
    SUBSTRING = "substring"
    """The text contains the query."""
    WORDS = "words"
    """The text contains every word of the query."""
    FUZZY = "fuzzy"
    """The text is close to the query (:mod:`difflib` similarity)."""
    ANY = "any"
    """The query was empty: every record passing the filters matches."""


class MatchField(enum.StrEnum):
    """
    Which part of a record a search query matched.
    """

    ALIAS = "alias"
    ID = "id"
    REF = "ref"
    NAME = "name"


_KIND_RANK: Final = {kind: rank for rank, kind in enumerate(MatchKind)}
_FIELD_RANK: Final = {field: rank for rank, field in enumerate(MatchField)}
_FUZZY_CUTOFF: Final = 0.72


@attrs.frozen(kw_only=True)
class SearchHit:
    """
    One search result and why it matched.

    Attributes:
        info: The matching record.
        kind: How the query matched.
        field: Which part of the record matched.
        text: The text that matched (the alias, id, ref or name itself).
        score: Similarity with the query, from 0 to 1 (1 for an exact match).
    """

    info: ModelInfo
    kind: MatchKind
    field: MatchField
    text: str
    score: float

    @property
    def reason(self) -> str:
        """
        Why the record matched, as a short phrase (``"alias 'Opus' starts with the query"``).
        """
        what = f"{self.field.value} {self.text!r}"
        match self.kind:
            case MatchKind.EXACT:
                return f"{what} equals the query"
            case MatchKind.PREFIX:
                return f"{what} starts with the query"
            case MatchKind.SUBSTRING:
                return f"{what} contains the query"
            case MatchKind.WORDS:
                return f"{what} contains every word of the query"
            case MatchKind.FUZZY:
                return f"{what} is close to the query ({self.score:.0%} similar)"
            case MatchKind.ANY:
                return "the query is empty; every model that passes the filters matches"

    def sort_key(self) -> tuple[int, int, float, int, str]:
        """
        The key results are ordered by: kind, field, similarity, text length, ref.
        """
        return (
            _KIND_RANK[self.kind],
            _FIELD_RANK[self.field],
            -self.score,
            len(self.text),
            str(self.info.ref),
        )


def _check_optional_limit(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a non-negative number, not {value!r}")


def _check_min_context(
    _instance: object, _attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(
            f"min_context must be a non-negative whole number of tokens, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class CatalogFilter:
    """
    What a searched-for model must offer.

    A capability set to ``True`` must be known to be supported, ``False`` known
    to be absent, ``None`` is not checked. A record whose value is unknown fails
    a check unless ``allow_unknown`` is set.

    Attributes:
        input: Modalities the model must accept.
        tools: Tool calling.
        streaming: Streamed responses.
        structured_output: JSON-schema output.
        reasoning: A reasoning (thinking) model.
        max_input_price: Highest acceptable input price, USD per million tokens.
        max_output_price: Highest acceptable output price, USD per million tokens.
        min_context: Smallest acceptable context window, in tokens.
        provider: Only this provider's models.
        source: Only records from this source.
        include_retired: Whether retired models are listed.
        allow_unknown: Whether unknown values pass the checks.
    """

    input: frozenset[Modality] = attrs.field(default=frozenset(), converter=_to_modalities)
    tools: bool | None = None
    streaming: bool | None = None
    structured_output: bool | None = None
    reasoning: bool | None = None
    max_input_price: float | None = attrs.field(default=None, validator=_check_optional_limit)
    max_output_price: float | None = attrs.field(default=None, validator=_check_optional_limit)
    min_context: int | None = attrs.field(default=None, validator=_check_min_context)
    provider: str | None = None
    source: CatalogSource | None = None
    include_retired: bool = False
    allow_unknown: bool = False

    def rejects(self, info: ModelInfo) -> str | None:
        """
        Say why *info* fails this filter, or return ``None`` when it passes.
        """
        if info.status is ModelStatus.RETIRED and not self.include_retired:
            return "the model is retired"
        if self.provider is not None and info.ref.provider != self.provider.strip().lower():
            return f"it is served by {info.ref.provider}, not {self.provider}"
        if self.source is not None and info.source is not self.source:
            return f"it is a {info.source.value} record, not a {self.source.value} one"
        missing = sorted(m.value for m in self.input - info.input)
        if missing:
            return f"it does not accept {', '.join(missing)} input"
        for name in ("tools", "streaming", "structured_output", "reasoning"):
            wanted: bool | None = getattr(self, name)
            actual: bool | None = getattr(info, name)
            if wanted is None or (actual is None and self.allow_unknown):
                continue
            if actual is None:
                return f"whether it supports {name.replace('_', ' ')} is unknown"
            if actual is not wanted:
                return f"it {'lacks' if wanted else 'has'} {name.replace('_', ' ')}"
        pricing = info.pricing or Pricing()
        for limit, price, label in (
            (self.max_input_price, pricing.input, "input"),
            (self.max_output_price, pricing.output, "output"),
        ):
            if limit is None or (price is None and self.allow_unknown):
                continue
            if price is None:
                return f"its {label} price is unknown"
            if price > limit:
                return f"its {label} price ${price:g}/M is above ${limit:g}/M"
        if self.min_context is not None:
            window = info.context_window
            if window is None and not self.allow_unknown:
                return "its context window is unknown"
            if window is not None and window < self.min_context:
                return f"its context window ({window} tokens) is below {self.min_context}"
        return None


def _norm(text: str) -> str:
    return _SEPARATORS_RE.sub("-", text.strip().lower()).strip("-")


def _fields_of(info: ModelInfo, alias: str | None) -> list[tuple[MatchField, str]]:
    fields = []
    if alias:
        fields.append((MatchField.ALIAS, alias))
    fields.append((MatchField.ID, info.ref.model))
    if "/" in info.ref.model:
        fields.append((MatchField.ID, info.ref.model.rsplit("/", 1)[-1]))
    fields.append((MatchField.REF, str(info.ref)))
    fields.append((MatchField.NAME, info.name))
    return fields


def _similarity(matcher: difflib.SequenceMatcher[str], span: int, text: str) -> float:
    """
    The best :mod:`difflib` ratio between the query and *text* or a run of its words.

    *matcher* holds the query as its second sequence (which difflib indexes
    once); runs have as many words as the query (*span*). Ratios below the
    fuzzy cutoff are not worth computing and count as 0.
    """
    best = 0.0
    words = text.replace("/", "-").split("-")
    runs = ("-".join(words[i : i + span]) for i in range(len(words) - span + 1))
    for candidate in (text, *runs):
        matcher.set_seq1(candidate)
        floor = max(best, _FUZZY_CUTOFF)
        if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor:
            best = max(best, matcher.ratio())
    return best


def _direct_match(query: str, words: list[str], normal: str) -> tuple[MatchKind, float] | None:
    """
    Match *normal* (a normalised field) exactly, by prefix, substring or words.
    """
    if normal == query:
        return MatchKind.EXACT, 1.0
    if normal.startswith(query):
        return MatchKind.PREFIX, len(query) / len(normal)
    if query in normal:
        return MatchKind.SUBSTRING, len(query) / len(normal)
    if len(words) > 1 and all(word in normal for word in words):
        return MatchKind.WORDS, sum(map(len, words)) / len(normal)
    return None


def _best_hit(
    info: ModelInfo,
    alias: str | None,
    query: str,
    words: list[str],
    matcher: difflib.SequenceMatcher[str],
) -> SearchHit | None:
    """
    The best match of the query on any field of *info*; fuzzy only when nothing else matched.
    """
    fields = [(field, text, _norm(text)) for field, text in _fields_of(info, alias)]
    found = []
    for field, text, normal in fields:
        if normal and (match := _direct_match(query, words, normal)) is not None:
            found.append(
                SearchHit(info=info, kind=match[0], field=field, text=text, score=match[1])
            )
    if not found:
        span = query.count("-") + 1
        for field, text, normal in fields:
            if normal and (score := _similarity(matcher, span, normal)) >= _FUZZY_CUTOFF:
                found.append(
                    SearchHit(info=info, kind=MatchKind.FUZZY, field=field, text=text, score=score)
                )
    return min(found, key=SearchHit.sort_key, default=None)


# --------------------------------------------------------------------------- catalog


def _unique_refs(
    _instance: object,
    _attribute: attrs.Attribute[tuple[ModelInfo, ...]],
    value: tuple[ModelInfo, ...],
) -> None:
    seen: set[ModelRef] = set()
    for info in value:
        if not isinstance(info, ModelInfo):
            raise TypeError(f"a catalog holds ModelInfo records, not {info!r}")
        if info.ref in seen:
            raise ValueError(f"{info.ref} appears twice in the catalog")
        seen.add(info.ref)


def _to_records(records: Iterable[ModelInfo]) -> tuple[ModelInfo, ...]:
    return tuple(records)


@attrs.frozen(kw_only=True)
class ModelCatalog:
    """
    An immutable collection of model records keyed by :class:`~modelcfg.ModelRef`.

    Catalogs combine with a fixed precedence, per model: a user record beats a
    curated one, which beats a discovered one (see :meth:`combined`). A whole
    record wins; fields are not mixed between sources.

    Attributes:
        records: The records, in a stable order, no ref repeated.

    .. versionadded:: 0.1.0
    """

    records: tuple[ModelInfo, ...] = attrs.field(
        default=(),
        converter=_to_records,
        validator=_unique_refs,
        repr=lambda records: f"<{len(records)} models>",
    )
    _index: dict[ModelRef, ModelInfo] = attrs.field(init=False, repr=False, eq=False, hash=False)
    _by_key: dict[str, tuple[ModelInfo, ...]] = attrs.field(
        init=False, repr=False, eq=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        by_key: dict[str, list[ModelInfo]] = {}
        for info in self.records:
            by_key.setdefault(model_key(info.ref), []).append(info)
        object.__setattr__(self, "_index", {info.ref: info for info in self.records})
        object.__setattr__(self, "_by_key", {k: tuple(v) for k, v in by_key.items()})

    @classmethod
    def from_records(cls, records: Iterable[ModelInfo]) -> ModelCatalog:
        """
        Build a catalog from records; a later record for the same ref replaces an earlier one.
        """
        return cls(records=_last_wins(records))

    @classmethod
    def combined(
        cls,
        *,
        curated: ModelCatalog | None = None,
        discovered: ModelCatalog | None = None,
        user: ModelCatalog | None = None,
    ) -> ModelCatalog:
        """
        Combine the three sources with the documented precedence: user > curated > discovered.

        Each model keeps the record of its highest-precedence source. Curated
        models come first, then models only the user defines, then models only
        discovery knows, each group in its own order.
        """
        layers = [c for c in (discovered, curated, user) if c is not None]
        winner = {info.ref: info for layer in layers for info in layer.records}
        order = [c for c in (curated, user, discovered) if c is not None]
        refs = dict.fromkeys(info.ref for layer in order for info in layer.records)
        return cls(records=[winner[ref] for ref in refs])

    def merged(self, *catalogs: ModelCatalog) -> ModelCatalog:
        """
        Return this catalog with *catalogs* laid over it, later ones winning per ref.

        A replaced record keeps its position; new ones are appended.
        """
        return ModelCatalog.from_records(
            [*self.records, *(info for catalog in catalogs for info in catalog.records)]
        )

    def with_models(self, infos: Iterable[ModelInfo]) -> ModelCatalog:
        """
        Return this catalog with *infos* added, replacing records with the same ref.
        """
        return ModelCatalog.from_records([*self.records, *infos])

    def get(self, ref: ModelRef | str) -> ModelInfo | None:
        """
        Return the record for *ref*, or ``None`` when the catalog does not know it.
        """
        return self._index.get(_as_ref(ref))

    def info(self, ref: ModelRef | str) -> ModelInfo:
        """
        Return the record for *ref*, or :meth:`ModelInfo.unknown` (text-only, limits unknown).
        """
        ref = _as_ref(ref)
        return self._index.get(ref) or ModelInfo.unknown(ref)

    def __contains__(self, ref: object) -> bool:
        if isinstance(ref, str):
            try:
                ref = ModelRef.parse(ref)
            except ValueError:
                return False
        return ref in self._index

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def providers(self) -> tuple[str, ...]:
        """
        Every provider with at least one record, sorted.
        """
        return tuple(sorted({info.ref.provider for info in self.records}))

    def by_provider(self, provider: str) -> tuple[ModelInfo, ...]:
        """
        Every record served by *provider* (matched case-insensitively).
        """
        wanted = provider.strip().lower()
        return tuple(info for info in self.records if info.ref.provider == wanted)

    def serving(self, model: ModelRef | str) -> tuple[ModelInfo, ...]:
        """
        Every provider's record for the same model, matched by :func:`model_key`.

        ``serving("claude-sonnet-4-5")`` finds both ``anthropic/claude-sonnet-4-5``
        and ``openrouter/anthropic/claude-sonnet-4.5``. The match is best effort.
        """
        return self._by_key.get(model_key(model), ())

    def search(
        self,
        query: str = "",
        *,
        filters: CatalogFilter | None = None,
        aliases: Mapping[ModelRef, str] | None = None,
        limit: int | None = None,
    ) -> tuple[SearchHit, ...]:
        """
        Find models by id, ref, display name or alias, then filter and rank them.

        Matching ignores case and treats ``.``, ``_``, ``:`` and spaces like ``-``,
        so ``sonnet 4.5`` finds ``claude-sonnet-4-5``. Results are ranked exact >
        prefix > substring > every word > fuzzy; within a kind an alias beats an
        id, then the ref, then the display name; then closer and shorter texts
        come first. Each record appears once, with its best match; fuzzy
        matching is tried only on records that match no other way.

        Args:
            query: What to look for; empty lists every record that passes *filters*.
            filters: Capabilities, prices and context the models must have; by
                default only retired models are left out.
            aliases: The config's aliases, model -> alias (``{ref: "Opus"}``).
            limit: The most results to return.

        Returns:
            The hits, best first.
        """
        aliases = aliases or {}
        filters = filters or CatalogFilter()
        query_norm = _norm(query)
        words = [w for w in query_norm.split("-") if w]
        matcher = difflib.SequenceMatcher(None, "", query_norm, autojunk=False)
        hits = []
        for info in self.records:
            if filters.rejects(info) is not None:
                continue
            if not query_norm:
                hits.append(
                    SearchHit(
                        info=info,
                        kind=MatchKind.ANY,
                        field=MatchField.ID,
                        text=info.ref.model,
                        score=0.0,
                    )
                )
                continue
            best = _best_hit(info, aliases.get(info.ref), query_norm, words, matcher)
            if best is not None:
                hits.append(best)
        if query_norm:
            hits.sort(key=SearchHit.sort_key)
        return tuple(hits[:limit] if limit is not None else hits)


def _last_wins(records: Iterable[ModelInfo]) -> list[ModelInfo]:
    merged: dict[ModelRef, ModelInfo] = {}
    for info in records:
        merged[info.ref] = info
    return list(merged.values())


# --------------------------------------------------------------------------- family builders


_DATA_KEYS: Final = _OVERRIDABLE
_FAMILY_KEYS: Final = frozenset({"family", "provider", "defaults", "members", "note"})
_MEMBER_KEYS: Final = _DATA_KEYS | {"id", "note"}
_BOOL_KEYS: Final = ("tools", "streaming", "structured_output", "reasoning", "temperature")
_COUNT_KEYS: Final = ("context_window", "max_output_tokens")


def _check_fields(data: Mapping[str, object], path: str, errors: list[str]) -> dict[str, object]:
    """
    Type-check the record fields of a family's defaults or of a member.
    """
    fields: dict[str, object] = {}
    for key, value in data.items():
        where = f"{path}.{key}"
        if key not in _DATA_KEYS:
            continue
        if value is None:
            fields[key] = None
        elif key in _BOOL_KEYS and not isinstance(value, bool):
            errors.append(f"{where}: expected true, false or null, got {value!r}")
        elif key in _COUNT_KEYS and not (
            isinstance(value, int) and not isinstance(value, bool) and value > 0
        ):
            errors.append(f"{where}: expected a positive whole number of tokens, got {value!r}")
        elif key == "name" and not (isinstance(value, str) and value.strip()):
            errors.append(f"{where}: expected a non-empty text, got {value!r}")
        elif key == "input" and not (
            isinstance(value, list)
            and value
            and all(isinstance(v, str) and v in Modality.__members__.values() for v in value)
        ):
            allowed = ", ".join(m.value for m in Modality)
            errors.append(
                f"{where}: expected a non-empty list of modalities ({allowed}), got {value!r}"
            )
        elif key == "status" and value not in ModelStatus.__members__.values():
            allowed = ", ".join(s.value for s in ModelStatus)
            errors.append(f"{where}: expected one of {allowed}, got {value!r}")
        elif key == "knowledge_cutoff" and not (isinstance(value, str) and _CUTOFF_RE.match(value)):
            errors.append(f"{where}: expected a date written YYYY-MM or YYYY-MM-DD, got {value!r}")
        elif key == "pricing":
            if not isinstance(value, Mapping):
                errors.append(f"{where}: expected an object of prices, got {value!r}")
                continue
            prices = {}
            for name, price in value.items():
                if name not in _PRICE_KEYS:
                    errors.append(
                        f"{where}.{name}: unknown price; "
                        f"expected one of {', '.join(sorted(_PRICE_KEYS))}"
                    )
                elif price is not None and not (
                    isinstance(price, int | float)
                    and not isinstance(price, bool)
                    and math.isfinite(price)
                    and price >= 0
                ):
                    errors.append(
                        f"{where}.{name}: expected a non-negative number of USD per million "
                        f"tokens or null, got {price!r}"
                    )
                else:
                    prices[name] = price
            fields[key] = prices
        else:
            fields[key] = value
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
    spec: object, path: str, source: CatalogSource, errors: list[str]
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
    _check_keys(defaults, _DATA_KEYS, f"{path}.defaults", errors)
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
            infos.append(ModelInfo(ref=ref, source=source, family=family, **fields))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            errors.append(f"{where}: {exc}")
    return infos


def _raise_if(errors: list[str], what: str) -> None:
    if errors:
        count = len(errors)
        head = f"{count} problem{'s' if count != 1 else ''} in {what}:"
        raise ValueError("\n  ".join((head, *errors)))


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
    _raise_if(errors, f"the model family at {path}")
    return tuple(infos)


def build_catalog(
    data: Mapping[str, object], *, source: CatalogSource = CatalogSource.CURATED
) -> ModelCatalog:
    """
    Build a catalog from ``{"format": 1, "families": [...]}``.

    Raises:
        ValueError: The data is wrong or names a model twice; every problem is
            listed with its JSON path.
    """
    errors: list[str] = []
    _check_keys(data, frozenset({"format", "families", "note"}), "$", errors)
    if data.get("format") != 1:
        errors.append(f"$.format: expected 1, got {data.get('format')!r}")
    families = data.get("families")
    if not isinstance(families, list):
        errors.append(f"$.families: expected a list of families, got {families!r}")
        families = []
    infos: list[ModelInfo] = []
    where: dict[ModelRef, str] = {}
    for i, spec in enumerate(families):
        path = f"$.families[{i}]"
        for info in _build_family(spec, path, source, errors):
            if info.ref in where:
                errors.append(f"{path}: {info.ref} is already defined at {where[info.ref]}")
                continue
            where[info.ref] = path
            infos.append(info)
    _raise_if(errors, "the catalog data")
    return ModelCatalog(records=infos)


# --------------------------------------------------------------------------- OpenRouter


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
    if isinstance(cutoff, str) and _CUTOFF_RE.match(cutoff.strip()):
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


# --------------------------------------------------------------------------- JSON


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
    return _to_modalities(value)


@functools.cache
def _converter() -> cattrs.Converter:
    import cattrs

    converter = cattrs.Converter(forbid_extra_keys=True)
    for kind in (bool, int, float, str):
        converter.register_structure_hook(kind, _strict(kind))
    converter.register_unstructure_hook(ModelRef, str)
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
    _raise_if(errors, "the catalog JSON")
    try:
        return ModelCatalog(records=infos)
    except ValueError as exc:
        raise ValueError(f"the catalog JSON is invalid: {exc}") from None


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
