"""
The catalog: an immutable collection of model records with lookups, merges and search.

Pure: no files, clock, environment or network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from modelcfg._catalog._records import ModelInfo, as_ref, model_key
from modelcfg._catalog._search import (
    CatalogFilter,
    SearchHit,
    SearchIndex,
    SortOrder,
    search_records,
)
from modelcfg._core._values import ModelRef

__all__ = ["ModelCatalog"]


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
    _search_index: SearchIndex | None = attrs.field(
        init=False, default=None, repr=False, eq=False, hash=False
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
        Combine the three sources, per model (per :class:`~modelcfg.ModelRef`).

        - A user record wins whole: the user's config has the last word.
        - A curated record is the base of a model that discovery also lists:
          its hand-checked capabilities stand, and what it leaves unknown is
          filled from the discovered record. When the discovered record is
          newer (a later ``fetched_at`` than the curated data's date, or the
          curated data is undated), its known prices replace the curated ones,
          and its end-of-life status (deprecated or retired, with its date)
          replaces a curated status that says less; ``pricing_from`` and
          ``status_from`` then name the discovered source. A discovered record
          with unknown prices or an active status never hides curated facts.
        - A model only one source knows keeps that source's record.

        Curated models come first, then models only the user defines, then models
        only discovery knows, each group in its own order. Records of one model
        served by several providers stay several records (see :meth:`serving`).
        """
        base: dict[ModelRef, ModelInfo] = {}
        if discovered is not None:
            base.update((info.ref, info) for info in discovered.records)
        if curated is not None:
            for info in curated.records:
                found = base.get(info.ref)
                base[info.ref] = info if found is None else merge_records(info, found)
        winner = {**base, **({info.ref: info for info in user.records} if user else {})}
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
        return self._index.get(as_ref(ref))

    def info(self, ref: ModelRef | str) -> ModelInfo:
        """
        Return the record for *ref*, or :meth:`ModelInfo.unknown` (text-only, limits unknown).
        """
        ref = as_ref(ref)
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
        sort: SortOrder = SortOrder.RELEVANCE,
    ) -> tuple[SearchHit, ...]:
        """
        Find models by alias, id, ref or display name, then filter, rank and sort them.

        Matching ignores case and separators (space, ``-``, ``_``, ``.``, ``:``,
        ``/``), so ``sonnet 4.5`` finds ``claude-sonnet-4-5``. A record matches
        when a text of it equals the query (exact), starts with it (prefix), has
        a word starting with each word of the query in any order (token), or
        does so once query words with no match anywhere are read as typos of
        words one edit away (typo: a letter added, dropped, changed or two
        swapped; words of three letters only swap). Results are ranked exact >
        prefix > token > typo, then by fewer typos; within a kind an alias beats
        an id, then the ref, then the display name; then the text the query
        covers most, then the shorter text. Each record appears once, with its
        best match and the reason (:attr:`SearchHit.reason`).

        Args:
            query: What to look for; empty lists every record that passes *filters*.
            filters: Capabilities, prices, context, provider and status the models
                must have; by default only retired models are left out.
            aliases: The config's aliases, model -> alias (``{ref: "Opus"}``).
            limit: The most results to return.
            sort: Relevance (the default; the catalog's order for an empty query),
                or price, context or newest, with relevance breaking ties.

        Returns:
            The hits, in order.
        """
        return search_records(
            self.search_index(),
            query,
            filters=filters,
            aliases=aliases,
            limit=limit,
            sort=sort,
        )

    def search_index(self) -> SearchIndex:
        """
        The catalog's :class:`SearchIndex`, prepared on the first search and kept.
        """
        index = self._search_index
        if index is None:
            index = SearchIndex.of(self.records)
            object.__setattr__(self, "_search_index", index)
        return index


_FILLABLE: Final = (
    "tools",
    "streaming",
    "structured_output",
    "reasoning",
    "temperature",
    "context_window",
    "max_output_tokens",
    "knowledge_cutoff",
    "created_at",
    "retires_at",
    "canonical_id",
    "supported_parameters",
)
"""Fields a curated record leaving them unknown takes from a discovered record of the model."""


def _newer(later: float | None, earlier: float | None) -> bool:
    return later is not None and (earlier is None or later > earlier)


def merge_records(curated: ModelInfo, discovered: ModelInfo) -> ModelInfo:
    """
    One model's curated record with what a discovered record adds: the rule of
    :meth:`ModelCatalog.combined`.
    """
    changes: dict[str, Any] = {
        name: value
        for name in _FILLABLE
        if getattr(curated, name) is None and (value := getattr(discovered, name)) is not None
    }
    if not curated.default_parameters and discovered.default_parameters:
        changes["default_parameters"] = discovered.default_parameters
    window = changes.get("context_window", curated.context_window)
    most = changes.get("max_output_tokens", curated.max_output_tokens)
    if window is not None and most is not None and most > window:
        # The two sources disagree on the limits: keep the curated ones, never a broken record.
        changes.pop("context_window", None)
        changes.pop("max_output_tokens", None)
    if _newer(discovered.fetched_at, curated.fetched_at):
        pricing = discovered.pricing
        if pricing is not None and not pricing.is_unknown and pricing != curated.pricing:
            changes["pricing"] = pricing
            changes["pricing_from"] = discovered.provenance
        if discovered.status.ended and discovered.status != curated.status:
            changes["status"] = discovered.status
            changes["status_from"] = discovered.provenance
            if discovered.retires_at is not None:
                changes["retires_at"] = discovered.retires_at
    return attrs.evolve(curated, **changes) if changes else curated


def _last_wins(records: Iterable[ModelInfo]) -> list[ModelInfo]:
    merged: dict[ModelRef, ModelInfo] = {}
    for info in records:
        merged[info.ref] = info
    return list(merged.values())
