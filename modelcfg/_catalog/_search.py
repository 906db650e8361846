"""
Searching model records: filters, matching, ranking and sorting.

What lives here:

- :class:`CatalogFilter`: what a searched-for model must offer, with the reason
  a record fails (:meth:`~CatalogFilter.rejects`);
- :class:`MatchKind`, :class:`MatchField` and :class:`SearchHit`: how a query
  matched a record, best first: exact, then prefix, then token, then typo;
- :class:`SortOrder`: relevance, price, context or newest;
- :class:`SearchIndex`: what a catalog computes once to answer searches
  quickly (normalised texts, sorted keys, a word index, filter columns).

Text is compared in lower case with separators (space, ``-``, ``_``, ``.``,
``:``, ``/``) ignored, so ``sonnet 4.5`` equals ``Sonnet-4-5``.

Pure: no files, clock, environment or network.
"""

from __future__ import annotations

import bisect
import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs

from modelcfg._catalog._records import (
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
    to_modalities,
)
from modelcfg._core._values import ModelRef

__all__ = [
    "CatalogFilter",
    "MatchField",
    "MatchKind",
    "SearchHit",
    "SearchIndex",
    "SortOrder",
    "search_records",
]


class MatchKind(enum.StrEnum):
    """
    How a search query matched a record, best first.
    """

    EXACT = "exact"
    """The text equals the query (ignoring case and separators)."""
    PREFIX = "prefix"
    """The text starts with the query."""
    TOKEN = "token"
    """Each word of the query starts a word of the text, in any order."""
    TYPO = "typo"
    """As a token match, but some words of the query are one typo away from a word of the text."""
    ANY = "any"
    """The query was empty: every record passing the filters matches."""


class MatchField(enum.StrEnum):
    """
    Which part of a record a search query matched, best first.
    """

    ALIAS = "alias"
    """The alias the user's config gives the model."""
    ID = "id"
    """The model id, the last segment of a ``vendor/name`` id, or the canonical id."""
    REF = "ref"
    """The whole ``provider/model`` text."""
    NAME = "name"
    """The display name."""


class SortOrder(enum.StrEnum):
    """
    How search results are ordered.
    """

    RELEVANCE = "relevance"
    """Best match first (the catalog's order for an empty query)."""
    PRICE = "price"
    """Cheapest input, then output, price first; unknown prices last."""
    CONTEXT = "context"
    """Largest context window first; unknown windows last."""
    NEWEST = "newest"
    """Most recently published first; unknown dates last."""


_KIND_RANK: Final = {kind: rank for rank, kind in enumerate(MatchKind)}
_FIELD_RANK: Final = {field: rank for rank, field in enumerate(MatchField)}
_SEPARATORS_RE: Final = re.compile(r"[\W_]+")
_TYPO_MIN: Final = 3
"""Words shorter than this are never read as typos: too many words are one edit from them."""


@attrs.frozen(kw_only=True)
class SearchHit:
    """
    One search result and why it matched.

    Attributes:
        info: The matching record.
        kind: How the query matched.
        field: Which part of the record matched.
        text: The text that matched (the alias, id, ref or name itself).
        score: How much of the text the query covers, from 0 to 1 (1 for an exact match).
        typos: For a typo match, each query word read as a typo and the word it stands for.
    """

    info: ModelInfo
    kind: MatchKind
    field: MatchField
    text: str
    score: float
    typos: tuple[tuple[str, str], ...] = ()

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
            case MatchKind.TOKEN:
                return f"each word of the query starts a word of {what}"
            case MatchKind.TYPO:
                typos = ", ".join(f"{typed!r} for {meant!r}" for typed, meant in self.typos)
                return f"{what} matches, reading {typos}"
            case MatchKind.ANY:
                return "the query is empty; every model that passes the filters matches"

    def sort_key(self) -> tuple[int, int, int, float, int, str]:
        """
        The relevance order: kind, typos, field, coverage, text length, ref.
        """
        return (
            _KIND_RANK[self.kind],
            len(self.typos),
            _FIELD_RANK[self.field],
            -self.score,
            len(self.text),
            str(self.info.ref),
        )


# --------------------------------------------------------------------------- filters


def _check_optional_limit(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    ):
        raise ValueError(f"{attribute.name} must be a non-negative number, not {value!r}")


def _check_min_context(
    _instance: object, _attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(
            f"min_context must be a non-negative whole number of tokens, not {value!r}"
        )


def _to_statuses(value: object) -> frozenset[ModelStatus] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"status must be a collection of statuses, not {value!r}")
    try:
        statuses = frozenset(ModelStatus(item) for item in value)
    except ValueError:
        allowed = ", ".join(s.value for s in ModelStatus)
        raise ValueError(f"status names an unknown status; use {allowed}") from None
    if not statuses:
        raise ValueError("status must name at least one status, or be None for any")
    return statuses


def _to_provider(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"provider must be a provider id, not {value!r}")
    return value.strip().lower()


_CAPABILITIES: Final = ("tools", "streaming", "structured_output", "reasoning")


@attrs.frozen(kw_only=True)
class CatalogFilter:
    """
    What a searched-for model must offer.

    A capability set to ``True`` must be known to be supported, ``False`` known
    to be absent, ``None`` is not checked. A record whose value is unknown fails
    a check unless ``allow_unknown`` is set; an unknown price is never free.

    Attributes:
        input: Modalities the model must accept.
        tools: Tool calling.
        streaming: Streamed responses.
        structured_output: JSON-schema output.
        reasoning: A reasoning (thinking) model.
        max_input_price: Highest acceptable input price, USD per million tokens.
        max_output_price: Highest acceptable output price, USD per million tokens.
        min_context: Smallest acceptable context window, in tokens.
        provider: Only this provider's models (matched case-insensitively).
        source: Only records from this source.
        free: Only models whose input and output are known to cost nothing.
        status: Only models in these life-cycle stages; ``None`` means any stage
            but retired (see ``include_retired``).
        include_retired: Whether retired models are listed when ``status`` is ``None``.
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
    provider: str | None = attrs.field(default=None, converter=_to_provider)
    source: CatalogSource | None = None
    free: bool = False
    status: frozenset[ModelStatus] | None = attrs.field(default=None, converter=_to_statuses)
    include_retired: bool = False
    allow_unknown: bool = False

    def _status_ok(self, status: ModelStatus) -> bool:
        if self.status is not None:
            return status in self.status
        return self.include_retired or status is not ModelStatus.RETIRED

    def rejects(self, info: ModelInfo) -> str | None:
        """
        Say why *info* fails this filter, or return ``None`` when it passes.
        """
        if not self._status_ok(info.status):
            if self.status is None:
                return "the model is retired"
            stages = " or ".join(sorted(s.value for s in self.status))
            return f"it is {info.status.value}, not {stages}"
        if self.provider is not None and info.ref.provider != self.provider:
            return f"it is served by {info.ref.provider}, not {self.provider}"
        if self.source is not None and info.source is not self.source:
            return f"it is a {info.source.value} record, not a {self.source.value} one"
        missing = sorted(m.value for m in self.input - info.input)
        if missing:
            return f"it does not accept {', '.join(missing)} input"
        for name in _CAPABILITIES:
            wanted: bool | None = getattr(self, name)
            actual: bool | None = getattr(info, name)
            if wanted is None or (actual is None and self.allow_unknown):
                continue
            if actual is None:
                return f"whether it supports {name.replace('_', ' ')} is unknown"
            if actual is not wanted:
                return f"it {'lacks' if wanted else 'has'} {name.replace('_', ' ')}"
        pricing = info.pricing or Pricing()
        if self.free and not info.free:
            known = pricing.input is not None and pricing.output is not None
            return "it is not free" if known else "its prices are unknown, so it is not free"
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

    def accepts(self, info: ModelInfo) -> bool:
        """
        Whether *info* passes this filter (:meth:`rejects` without the words).
        """
        return self.rejects(info) is None

    def select(self, index: SearchIndex, ids: Sequence[int]) -> list[int]:
        """
        The records of *index* among *ids* that pass, checked column by column.

        It agrees with :meth:`accepts` record by record (a test says so); it is
        how searches over many records stay fast.
        """
        cols = index.columns
        kept = list(ids)
        if self.status is not None:
            statuses = self.status
            kept = [i for i in kept if cols.status[i] in statuses]
        elif not self.include_retired:
            kept = [i for i in kept if cols.status[i] is not ModelStatus.RETIRED]
        if self.provider is not None:
            provider = self.provider
            kept = [i for i in kept if cols.provider[i] == provider]
        if self.source is not None:
            source = self.source
            kept = [i for i in kept if cols.source[i] is source]
        if self.input:
            wanted_input = self.input
            kept = [i for i in kept if wanted_input <= cols.input[i]]
        unknown_ok = self.allow_unknown
        for name in _CAPABILITIES:
            required: bool | None = getattr(self, name)
            if required is not None:
                flags: list[bool | None] = getattr(cols, name)
                kept = [
                    i for i in kept if flags[i] is required or (unknown_ok and flags[i] is None)
                ]
        if self.free:
            kept = [i for i in kept if cols.input_price[i] == 0 and cols.output_price[i] == 0]
        for limit, column in (
            (self.max_input_price, cols.input_price),
            (self.max_output_price, cols.output_price),
        ):
            if limit is not None:
                kept = [
                    i
                    for i in kept
                    if ((price := column[i]) is None and unknown_ok)
                    or (price is not None and price <= limit)
                ]
        if self.min_context is not None:
            least = self.min_context
            windows = cols.context
            kept = [
                i
                for i in kept
                if ((window := windows[i]) is None and unknown_ok)
                or (window is not None and window >= least)
            ]
        return kept


# --------------------------------------------------------------------------- the index


def compact(text: str) -> str:
    """
    *text* in lower case without separators: ``Claude Sonnet-4.5`` -> ``claudesonnet45``.
    """
    return _SEPARATORS_RE.sub("", text.lower())


def words_of(text: str) -> tuple[str, ...]:
    """
    The words of *text* in lower case: ``Claude Sonnet-4.5`` -> ``claude sonnet 4 5``.
    """
    return tuple(w for w in _SEPARATORS_RE.split(text.lower()) if w)


_MARK: Final = "\x00"


@attrs.frozen
class _Text:
    """
    One searchable text of a record, prepared when the record is first a candidate.
    """

    field: MatchField
    text: str
    compact: str
    words: tuple[str, ...]
    marked: str
    """The compact text from each word on, each after a mark: ``\\0claudesonnet45\\0sonnet45...``,
    so that "a word of the text starts with W" is one substring test."""

    @classmethod
    def of(cls, field: MatchField, text: str) -> _Text:
        words = words_of(text)
        whole = "".join(words)
        starts = []
        offset = 0
        for word in words:
            starts.append(_MARK + whole[offset:])
            offset += len(word)
        return cls(field, text, whole, words, "".join(starts))

    def starts_with(self, word: str) -> bool:
        """
        Whether the text, from the start of one of its words on, starts with *word*.
        """
        return _MARK + word in self.marked


def _texts_of(info: ModelInfo) -> tuple[_Text, ...]:
    texts = [(MatchField.ID, info.ref.model)]
    if "/" in info.ref.model:
        texts.append((MatchField.ID, info.ref.model.rsplit("/", 1)[-1]))
    if info.canonical_id:
        texts.append((MatchField.ID, info.canonical_id))
    texts += [(MatchField.REF, str(info.ref)), (MatchField.NAME, info.name)]
    return tuple(_Text.of(field, text) for field, text in texts)


@attrs.frozen
class _Columns:
    """
    The facts filters and sorts read, one list per fact, indexed like the records.
    """

    status: list[ModelStatus]
    provider: list[str]
    source: list[CatalogSource]
    input: list[frozenset[Modality]]
    tools: list[bool | None]
    streaming: list[bool | None]
    structured_output: list[bool | None]
    reasoning: list[bool | None]
    input_price: list[float | None]
    output_price: list[float | None]
    context: list[int | None]
    created: list[float | None]

    @classmethod
    def of(cls, records: Sequence[ModelInfo]) -> _Columns:
        prices = [info.pricing or Pricing() for info in records]
        return cls(
            status=[info.status for info in records],
            provider=[info.ref.provider for info in records],
            source=[info.source for info in records],
            input=[info.input for info in records],
            tools=[info.tools for info in records],
            streaming=[info.streaming for info in records],
            structured_output=[info.structured_output for info in records],
            reasoning=[info.reasoning for info in records],
            input_price=[p.input for p in prices],
            output_price=[p.output for p in prices],
            context=[info.context_window for info in records],
            created=[info.created_at for info in records],
        )


def _one_edit(typed: str, word: str) -> bool:
    """
    Whether *typed* is one edit from *word*: a letter added, dropped, changed, or two swapped.

    Three-letter words allow only a swap (``gtp`` for ``gpt``).
    """
    if typed == word:
        return False
    short = len(typed) < 4
    if len(typed) == len(word):
        diffs = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        if len(diffs) == 2:
            i, j = diffs
            return j == i + 1 and typed[i] == word[j] and typed[j] == word[i]
        return len(diffs) == 1 and not short
    if short or abs(len(typed) - len(word)) != 1:
        return False
    longer, shorter = (typed, word) if len(typed) > len(word) else (word, typed)
    for i in range(len(shorter)):
        if longer[i] != shorter[i]:
            return longer[i + 1 :] == shorter[i:]
    return True


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class SearchIndex:
    """
    What a catalog prepares once to answer searches quickly.

    Build it with :meth:`of`; :class:`~modelcfg.ModelCatalog` keeps one for its
    records. It holds the vocabulary of the records' words (of the ref, the
    display name and the canonical id) with the records each word is in,
    sorted for prefix lookups; a column per filtered fact; and, prepared on
    first use, each candidate's texts and the table of one-letter deletions
    that finds typos. Lookups give candidates; :func:`search_records` then
    checks each candidate's texts exactly.
    """

    def __init__(self, records: Sequence[ModelInfo]) -> None:
        self.records: tuple[ModelInfo, ...] = tuple(records)
        self.columns = _Columns.of(self.records)
        self._texts: dict[int, tuple[_Text, ...]] = {}
        word_ids: dict[str, set[int]] = {}
        split = _SEPARATORS_RE.split
        for i, info in enumerate(self.records):
            text = f"{info.ref} {info.name} {info.canonical_id or ''}".lower()
            for word in split(text):
                if word:
                    ids = word_ids.get(word)
                    if ids is None:
                        word_ids[word] = {i}
                    else:
                        ids.add(i)
        self._word_ids = word_ids
        self._vocabulary = sorted(word_ids)
        self._longest = max(map(len, word_ids), default=0)
        self._deletes: dict[str, list[str]] | None = None
        self._positions: dict[ModelRef, int] | None = None

    @classmethod
    def of(cls, records: Sequence[ModelInfo]) -> SearchIndex:
        """
        Prepare *records* for searching.
        """
        return cls(records)

    def position_of(self, ref: ModelRef) -> int | None:
        """
        The index of *ref*'s record, or ``None`` when the index does not hold it.
        """
        positions = self._positions
        if positions is None:
            positions = self._positions = {info.ref: i for i, info in enumerate(self.records)}
        return positions.get(ref)

    def texts_of(self, i: int) -> tuple[_Text, ...]:
        """
        The searchable texts of record *i*, prepared on first use.
        """
        texts = self._texts.get(i)
        if texts is None:
            texts = self._texts[i] = _texts_of(self.records[i])
        return texts

    def with_word(self, word: str) -> set[int]:
        """
        The records one of whose texts has *word*.
        """
        return self._word_ids.get(word, set())

    def with_word_starting(self, prefix: str, within: set[int] | None = None) -> set[int]:
        """
        The records (among *within*, if given) with a word that starts with *prefix*.
        """
        vocabulary = self._vocabulary
        found: set[int] = set()
        i = bisect.bisect_left(vocabulary, prefix)
        while i < len(vocabulary) and vocabulary[i].startswith(prefix):
            ids = self._word_ids[vocabulary[i]]
            found |= ids if within is None else ids & within
            i += 1
        return found

    def starting_with(self, glued: str) -> set[int]:
        """
        The records that may have consecutive words reading *glued* from a word's start
        (``sonnet45``: ``sonnet``, ``4``, ``5``): a superset, which the texts then decide.
        """

        def rest(at: int, within: set[int] | None) -> set[int]:
            tail = glued[at:]
            found = self.with_word_starting(tail, within)  # the last word may be cut short
            for size in range(1, min(len(tail), self._longest + 1)):
                ids = self._word_ids.get(tail[:size])
                if ids:
                    narrowed = ids if within is None else ids & within
                    if narrowed:
                        found |= rest(at + size, narrowed)
            return found

        return rest(0, None) if glued else set()

    def close_words(self, typed: str) -> list[str]:
        """
        The words of the index one typo from *typed* (see :func:`_one_edit`).
        """
        if len(typed) < _TYPO_MIN:
            return []
        deletes = self._deletes
        if deletes is None:
            table: dict[str, list[str]] = {}
            for word in self._word_ids:
                if len(word) >= _TYPO_MIN:
                    for variant in _deletions(word):
                        table.setdefault(variant, []).append(word)
            self._deletes = deletes = table
        found = {w for variant in _deletions(typed) for w in deletes.get(variant, ())}
        return sorted(w for w in found if _one_edit(typed, w))


# --------------------------------------------------------------------------- matching


@attrs.frozen
class _Query:
    compact: str
    words: tuple[str, ...]
    typos: Mapping[str, frozenset[str]]
    """Each query word matching no word start in the catalog -> the words one typo away."""
    marks: tuple[tuple[str, str], ...] = attrs.field(init=False)
    """Each query word after the mark, as :class:`_Text` ``marked`` holds word starts."""
    letters: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "marks", tuple((_MARK + w, w) for w in self.words))
        object.__setattr__(self, "letters", sum(len(w) for w in self.words))


def _match_text(query: _Query, text: _Text) -> tuple[MatchKind, float, tuple[tuple[str, str], ...]]:
    """
    How *query* matches one text: its kind, its coverage, and the typos read.
    """
    whole = text.compact
    if not whole:
        return MatchKind.ANY, 0.0, ()
    if whole == query.compact:
        return MatchKind.EXACT, 1.0, ()
    if whole.startswith(query.compact):
        return MatchKind.PREFIX, len(query.compact) / len(whole), ()
    typos: list[tuple[str, str]] = []
    marked = text.marked
    for mark, word in query.marks:
        if mark in marked:
            continue
        close = query.typos.get(word)
        meant = next((w for w in text.words if w in close), None) if close else None
        if meant is None:
            return MatchKind.ANY, 0.0, ()
        typos.append((word, meant))
    covered = query.letters / len(whole)
    return (MatchKind.TYPO if typos else MatchKind.TOKEN), min(covered, 1.0), tuple(typos)


def _best(info: ModelInfo, texts: Iterable[_Text], query: _Query) -> SearchHit | None:
    best: (
        tuple[
            tuple[int, int, int, float, int], _Text, MatchKind, float, tuple[tuple[str, str], ...]
        ]
        | None
    ) = None
    for text in texts:
        kind, score, typos = _match_text(query, text)
        if kind is MatchKind.ANY:
            continue
        key = (_KIND_RANK[kind], len(typos), _FIELD_RANK[text.field], -score, len(text.text))
        if best is None or key < best[0]:
            best = (key, text, kind, score, typos)
    if best is None:
        return None
    _, text, kind, score, typos = best
    return SearchHit(
        info=info, kind=kind, field=text.field, text=text.text, score=score, typos=typos
    )


def _price_key(info: ModelInfo) -> tuple[bool, float, bool, float]:
    pricing = info.pricing or Pricing()
    return (
        pricing.input is None,
        pricing.input or 0.0,
        pricing.output is None,
        pricing.output or 0.0,
    )


def _context_key(info: ModelInfo) -> tuple[bool, int]:
    window = info.context_window
    return window is None, -(window or 0)


def _newest_key(info: ModelInfo) -> tuple[bool, float]:
    created = info.created_at
    return created is None, -(created or 0.0)


_SORT_KEYS: Final[Mapping[SortOrder, Callable[[ModelInfo], tuple[object, ...]]]] = {
    SortOrder.PRICE: _price_key,
    SortOrder.CONTEXT: _context_key,
    SortOrder.NEWEST: _newest_key,
}


def _any_hit(info: ModelInfo) -> SearchHit:
    return SearchHit(
        info=info, kind=MatchKind.ANY, field=MatchField.ID, text=info.ref.model, score=0.0
    )


def _candidates(
    index: SearchIndex, words: tuple[str, ...], alias_texts: Mapping[int, _Text]
) -> tuple[set[int], dict[str, frozenset[str]]]:
    """
    The records that may match every query word, and the typo readings of the words
    that match nothing as typed (word -> the words one edit away).
    """
    typos: dict[str, frozenset[str]] = {}
    candidates: set[int] | None = None
    for word in dict.fromkeys(words):
        found = index.starting_with(word)
        if not any(t.starts_with(word) for i in found for t in index.texts_of(i)):
            found = set()  # the lookup's superset holds no real match: read it as a typo
        alias_found = {i for i, t in alias_texts.items() if t.starts_with(word)}
        if not found and not alias_found:
            close = index.close_words(word)
            close += [w for t in alias_texts.values() for w in t.words if _one_edit(word, w)]
            typos[word] = frozenset(close)
            for meant in close:
                found |= index.with_word(meant)
            found |= {i for i, t in alias_texts.items() if set(t.words) & typos[word]}
        found |= alias_found
        candidates = found if candidates is None else candidates & found
        if not candidates:
            break
    if len(words) > 1:
        # A query that is not word by word in a text may still start it: "gpt 4o" -> "gpt-4o".
        whole = "".join(words)
        candidates = (candidates or set()) | index.starting_with(whole)
        candidates |= {i for i, t in alias_texts.items() if t.compact.startswith(whole)}
    return candidates or set(), typos


def search_records(
    index: SearchIndex,
    query: str = "",
    *,
    filters: CatalogFilter | None = None,
    aliases: Mapping[ModelRef, str] | None = None,
    limit: int | None = None,
    sort: SortOrder = SortOrder.RELEVANCE,
) -> tuple[SearchHit, ...]:
    """
    Search the records of *index*: see :meth:`~modelcfg.ModelCatalog.search`.
    """
    filters = filters or CatalogFilter()
    sort = SortOrder(sort)
    words = words_of(query)
    records = index.records
    if not words:
        # Everything that passes: order and cut first, then make the few hits asked for.
        ids = filters.select(index, range(len(records)))
        if sort is not SortOrder.RELEVANCE:
            key = _SORT_KEYS[sort]
            ids.sort(key=lambda i: key(records[i]))
        return tuple(_any_hit(records[i]) for i in ids[:limit])
    alias_texts = {
        i: _Text.of(MatchField.ALIAS, alias)
        for ref, alias in (aliases or {}).items()
        if alias and (i := index.position_of(ref)) is not None
    }
    candidates, typos = _candidates(index, words, alias_texts)
    whole = compact(query)
    prepared = _Query(compact=whole, words=words, typos=typos)
    hits = []
    for i in filters.select(index, sorted(candidates)):
        texts = index.texts_of(i)
        if i in alias_texts:
            texts = (alias_texts[i], *texts)
        hit = _best(records[i], texts, prepared)
        if hit is not None:
            hits.append(hit)
    hits.sort(key=SearchHit.sort_key)
    if sort is not SortOrder.RELEVANCE:
        key = _SORT_KEYS[sort]
        hits.sort(key=lambda hit: key(hit.info))  # stable: relevance breaks ties
    return tuple(hits[:limit])
