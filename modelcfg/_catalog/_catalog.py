"""
The catalog: an immutable collection of model records with lookups, merges and search.

Pure: no files, clock, environment or network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import attrs

from modelcfg._catalog._records import ModelInfo, as_ref, model_key
from modelcfg._catalog._search import CatalogFilter, SearchHit, search_records
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
        return search_records(self.records, query, filters=filters, aliases=aliases, limit=limit)


def _last_wins(records: Iterable[ModelInfo]) -> list[ModelInfo]:
    merged: dict[ModelRef, ModelInfo] = {}
    for info in records:
        merged[info.ref] = info
    return list(merged.values())
