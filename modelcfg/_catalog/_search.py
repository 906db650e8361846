"""
Searching model records: filters, matching and ranking.

Pure: no files, clock, environment or network.
"""

from __future__ import annotations

import difflib
import enum
import math
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from modelcfg._catalog._records import (
    SEPARATORS_RE,
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
    to_modalities,
)
from modelcfg._core._values import ModelRef

__all__ = ["CatalogFilter", "MatchField", "MatchKind", "SearchHit", "search_records"]


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

    input: frozenset[Modality] = attrs.field(default=frozenset(), converter=to_modalities)
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
    return SEPARATORS_RE.sub("-", text.strip().lower()).strip("-")


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


def search_records(
    records: Iterable[ModelInfo],
    query: str = "",
    *,
    filters: CatalogFilter | None = None,
    aliases: Mapping[ModelRef, str] | None = None,
    limit: int | None = None,
) -> tuple[SearchHit, ...]:
    """
    Search *records*: see :meth:`~modelcfg.ModelCatalog.search`.
    """
    aliases = aliases or {}
    filters = filters or CatalogFilter()
    query_norm = _norm(query)
    words = [w for w in query_norm.split("-") if w]
    matcher = difflib.SequenceMatcher(None, "", query_norm, autojunk=False)
    hits = []
    for info in records:
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
