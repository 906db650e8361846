"""
Model records and how they are keyed.

A :class:`ModelInfo` describes one model on one provider: what it accepts, what
it supports, how much it holds and what it costs. ``None`` always means
*unknown*, never *no*. Every record says where it came from (a
:class:`Provenance`). :func:`model_key` and :func:`native_ref` link the records
of one model served by several providers.

This module is pure: it reads no files, clock, environment or network.
"""

from __future__ import annotations

import datetime
import enum
import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from modelcfg._core._values import ModelRef

__all__ = [
    "CatalogSource",
    "Modality",
    "ModelInfo",
    "ModelStatus",
    "Pricing",
    "Provenance",
    "model_key",
    "native_ref",
]


class Modality(enum.StrEnum):
    """
    A kind of content a model accepts (or produces).
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

    @property
    def ended(self) -> bool:
        """
        Whether the model's end has been announced or reached (deprecated or retired).
        """
        return self in (ModelStatus.DEPRECATED, ModelStatus.RETIRED)


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


def _check_optional_time(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{attribute.name} must be a number of seconds since the epoch, not {value!r}"
        )
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"{attribute.name} must be a finite, non-negative number of seconds since the "
            f"epoch, not {value!r}"
        )


def _check_origin(
    _instance: object, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ValueError(
            f"origin must be a non-empty text (a discovery source) or None, not {value!r}"
        )


def date_seconds(text: object) -> float | None:
    """
    A date written ``YYYY-MM`` or ``YYYY-MM-DD`` (midnight UTC, the 1st for a month) as
    seconds since the epoch; ``None`` for anything else.
    """
    if not isinstance(text, str) or CUTOFF_RE.match(text) is None:
        return None
    year, month, *day = (int(part) for part in text.split("-"))
    try:
        when = datetime.datetime(year, month, day[0] if day else 1, tzinfo=datetime.UTC)
    except ValueError:  # 2025-02-30
        return None
    return when.timestamp()


def format_date(at: float, *, with_time: bool = True) -> str:
    """
    A time in seconds since the epoch as UTC text: ``2026-12-07 21:04 UTC`` (or ``2026-12-07``).
    """
    when = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


@attrs.frozen(kw_only=True)
class Provenance:
    """
    Where a record's facts came from.

    Attributes:
        source: Curated data, a provider's models listing, or the user's config.
        origin: For discovered facts, the listing they came from (``openrouter``,
            ``anthropic``, a configured provider's id).
        fetched_at: When the facts were gathered, in seconds since the epoch: the
            fetch of a listing, or the date of the curated data; ``None`` when unknown.
    """

    source: CatalogSource = attrs.field(converter=CatalogSource)
    origin: str | None = attrs.field(default=None, validator=_check_origin)
    fetched_at: float | None = attrs.field(default=None, validator=_check_optional_time)

    def __str__(self) -> str:
        """
        ``curated (2025-11-01)``, ``discovered from openrouter (2026-12-07 21:04 UTC)``, ``user``.
        """
        text = self.source.value
        if self.origin is not None:
            text += f" from {self.origin}"
        if self.fetched_at is not None:
            curated = self.source is CatalogSource.CURATED
            text += f" ({format_date(self.fetched_at, with_time=not curated)})"
        return text


# --------------------------------------------------------------------------- records

_TEXT_ONLY: Final = frozenset({Modality.TEXT})
CUTOFF_RE: Final = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?\Z")


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
        unknown = sorted(set(data) - PRICE_KEYS)
        if unknown:
            raise ValueError(
                f"pricing has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected some of {', '.join(sorted(PRICE_KEYS))}"
            )
        return cls(**{k: data[k] for k in PRICE_KEYS if k in data})

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


PRICE_KEYS: Final = frozenset(a.name for a in attrs.fields(Pricing))


def to_modalities(value: object) -> frozenset[Modality]:
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
    if value is not None and not (isinstance(value, str) and CUTOFF_RE.match(value)):
        raise ValueError(
            f"knowledge_cutoff of {instance.ref} must be written YYYY-MM or YYYY-MM-DD, "
            f"not {value!r}"
        )


def _check_family(
    instance: ModelInfo, _attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ValueError(f"family of {instance.ref} must be a non-empty text or None")


def _check_output(
    instance: ModelInfo,
    _attribute: attrs.Attribute[frozenset[Modality]],
    value: frozenset[Modality],
) -> None:
    if not value:
        raise ValueError(f"output of {instance.ref} must name at least one modality")


def _check_optional_text(
    instance: ModelInfo, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ValueError(f"{attribute.name} of {instance.ref} must be a non-empty text or None")


def _check_provenance(
    instance: ModelInfo, attribute: attrs.Attribute[Provenance | None], value: Provenance | None
) -> None:
    if value is not None and not isinstance(value, Provenance):
        raise TypeError(f"{attribute.name} of {instance.ref} must be a Provenance or None")


def _to_names(value: object) -> object:
    if value is None or isinstance(value, str):
        return value  # a lone text is refused by the check, not split into letters
    if isinstance(value, Iterable):
        return frozenset(value)
    return value


def _check_names(
    instance: ModelInfo, attribute: attrs.Attribute[frozenset[str] | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, frozenset) or not all(
        isinstance(name, str) and name.strip() for name in value
    ):
        raise ValueError(
            f"{attribute.name} of {instance.ref} must be a list of parameter names or None"
        )


_NO_DEFAULTS: Final[Mapping[str, float | int | str | bool]] = MappingProxyType({})


def _to_defaults(value: object) -> object:
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


def _check_defaults(
    instance: ModelInfo,
    attribute: attrs.Attribute[Mapping[str, float | int | str | bool]],
    value: object,
) -> None:
    ok = isinstance(value, Mapping) and all(
        isinstance(name, str)
        and isinstance(item, str | int | float)
        and not (isinstance(item, float) and not math.isfinite(item))
        for name, item in value.items()
    )
    if not ok:
        raise ValueError(
            f"{attribute.name} of {instance.ref} must map parameter names to numbers, "
            "texts or booleans"
        )


def _default_name(instance: ModelInfo) -> str:
    return instance.ref.model


OVERRIDABLE: Final = frozenset(
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
        output: The modalities the model produces; text only by default
            (image generators add ``image``).
        origin: For a discovered record, the listing it came from (``openrouter``,
            ``anthropic``, ``openai`` or a configured provider's id).
        fetched_at: When the record's facts were gathered, in seconds since the
            epoch: the fetch of its listing, or the date of the curated data.
        created_at: When the provider published the model, in seconds since the epoch.
        retires_at: When the provider may stop serving the model (an announced
            expiration), in seconds since the epoch.
        canonical_id: The provider's permanent id for the model, when it has one
            (OpenRouter's ``canonical_slug``, which never changes).
        pricing_from: Where ``pricing`` came from when a newer source than the
            record's own supplied it (see :meth:`ModelCatalog.combined`).
        status_from: Where ``status`` came from when a newer source than the
            record's own supplied it.
        supported_parameters: The request parameters the model takes, by the
            names its provider's API uses (OpenRouter's ``supported_parameters``);
            ``None`` when unknown.
        default_parameters: The provider's default values of some parameters
            (OpenRouter's ``default_parameters``): the lowest layer of a model's
            own parameters.

    .. versionadded:: 0.1.0
    """

    ref: ModelRef = attrs.field(validator=attrs.validators.instance_of(ModelRef))
    name: str = attrs.field(
        default=attrs.Factory(_default_name, takes_self=True), validator=_check_name
    )
    input: frozenset[Modality] = attrs.field(
        default=_TEXT_ONLY, converter=to_modalities, validator=_check_input
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
    output: frozenset[Modality] = attrs.field(
        default=_TEXT_ONLY, converter=to_modalities, validator=_check_output
    )
    origin: str | None = attrs.field(default=None, validator=_check_origin)
    fetched_at: float | None = attrs.field(default=None, validator=_check_optional_time)
    created_at: float | None = attrs.field(default=None, validator=_check_optional_time)
    retires_at: float | None = attrs.field(default=None, validator=_check_optional_time)
    canonical_id: str | None = attrs.field(default=None, validator=_check_optional_text)
    pricing_from: Provenance | None = attrs.field(default=None, validator=_check_provenance)
    status_from: Provenance | None = attrs.field(default=None, validator=_check_provenance)
    supported_parameters: frozenset[str] | None = attrs.field(
        default=None, converter=_to_names, validator=_check_names
    )
    default_parameters: Mapping[str, float | int | str | bool] = attrs.field(
        default=_NO_DEFAULTS, converter=_to_defaults, validator=_check_defaults, hash=False
    )

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
    def provenance(self) -> Provenance:
        """
        Where the record came from: its source, the listing and when its facts were gathered.
        """
        return Provenance(source=self.source, origin=self.origin, fetched_at=self.fetched_at)

    @property
    def variant(self) -> str | None:
        """
        The ``:variant`` suffix of the model id (``free`` for ``meta-llama/llama-3.3-70b:free``).
        """
        _, colon, variant = self.ref.model.rpartition(":")
        return variant if colon and variant and "/" not in variant else None

    @property
    def free(self) -> bool:
        """
        Whether input and output are both known to cost nothing (unknown prices are never free).
        """
        pricing = self.pricing
        return pricing is not None and pricing.input == 0 and pricing.output == 0

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
        unknown = sorted(set(fields) - OVERRIDABLE - {"source"})
        if unknown:
            raise ValueError(
                f"cannot override {', '.join(map(repr, unknown))} of {self.ref}: "
                f"the overridable fields are {', '.join(sorted(OVERRIDABLE))}"
            )
        changes: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        pricing = changes.get("pricing")
        if isinstance(pricing, Mapping) and self.pricing is not None:
            base = attrs.asdict(self.pricing)
            extra = sorted(set(pricing) - PRICE_KEYS)
            if extra:
                raise ValueError(
                    f"pricing override of {self.ref} has unknown key(s) "
                    f"{', '.join(map(repr, extra))}"
                )
            base.update({k: v for k, v in pricing.items() if v is not None})
            changes["pricing"] = base
        # A price or status the user sets is the user's own, not a newer source's.
        if "pricing" in changes:
            changes["pricing_from"] = None
        if "status" in changes:
            changes["status_from"] = None
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
SEPARATORS_RE: Final = re.compile(r"[\s_.:]+")


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
    text = SEPARATORS_RE.sub("-", text).strip("-")
    text = text.removesuffix("-latest")
    return re.sub(r"(-\d+)-0\Z", r"\1", text)


def as_ref(ref: ModelRef | str) -> ModelRef:
    return ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)


def raise_if(errors: list[str], what: str) -> None:
    if errors:
        count = len(errors)
        head = f"{count} problem{'s' if count != 1 else ''} in {what}:"
        raise ValueError("\n  ".join((head, *errors)))
