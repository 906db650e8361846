"""
What a catalog cache holds: the last good snapshot of each models listing.

A :class:`SourceSnapshot` keeps one listing's records with when they were last
confirmed (``fetched_at``), the ``ETag`` to ask with next time, and, after a
failed refresh, why it failed: a failure never replaces the records, so the
last good snapshot stays usable and its age can be told. A
:class:`CatalogSnapshot` holds every listing's snapshot.

Pure: the cache (``modelcfg._catalog._cache``) reads and writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import ModelInfo

__all__ = ["DEFAULT_TTL_S", "CatalogSnapshot", "SourceSnapshot"]

DEFAULT_TTL_S: Final = 24 * 3600.0
"""How long a listing's snapshot counts as fresh: a day."""


def _to_tuple(values: Iterable[object]) -> tuple[object, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class SourceSnapshot:
    """
    The last good snapshot of one models listing, and how its last refresh went.

    Attributes:
        source: The listing's name (a provider id such as ``openrouter``).
        url: Where it was fetched from (never with a credential).
        records: The discovered records.
        skipped: The listing's entries left out, each with its reason.
        fetched_at: When the records were last fetched or confirmed unchanged
            (HTTP 304), in seconds since the epoch; ``None`` if never.
        attempted_at: When a refresh was last tried, whatever came of it.
        etag: The listing's ``ETag``, sent as ``If-None-Match`` next time.
        error: Why the last refresh failed, or ``None`` when it succeeded; the
            records are then the last good ones.
    """

    source: str
    url: str
    records: tuple[ModelInfo, ...] = attrs.field(default=(), converter=_to_tuple)
    skipped: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    fetched_at: float | None = None
    attempted_at: float | None = None
    etag: str | None = None
    error: str | None = None

    def age_s(self, now: float) -> float | None:
        """
        How old the records are at *now*, in seconds; ``None`` if never fetched.
        """
        return None if self.fetched_at is None else max(0.0, now - self.fetched_at)

    def fresh(self, now: float, ttl_s: float = DEFAULT_TTL_S) -> bool:
        """
        Whether the records were fetched or confirmed less than *ttl_s* ago.
        """
        age = self.age_s(now)
        return age is not None and age < ttl_s


def _to_sources(value: Mapping[str, SourceSnapshot]) -> dict[str, SourceSnapshot]:
    return dict(value)


def _check_sources(
    _instance: object,
    _attribute: attrs.Attribute[dict[str, SourceSnapshot]],
    value: dict[str, SourceSnapshot],
) -> None:
    for name, snapshot in value.items():
        if not isinstance(snapshot, SourceSnapshot):
            raise TypeError(f"the snapshot of {name!r} must be a SourceSnapshot, not {snapshot!r}")
        if snapshot.source != name:
            raise ValueError(f"the snapshot filed as {name!r} is of {snapshot.source!r}")


@attrs.frozen(kw_only=True)
class CatalogSnapshot:
    """
    Every models listing's last good snapshot: what a catalog cache holds.

    Attributes:
        sources: Listing name -> its snapshot, in the order they were first fetched.
    """

    sources: Mapping[str, SourceSnapshot] = attrs.field(
        factory=dict, converter=_to_sources, validator=_check_sources, hash=False
    )

    def get(self, source: str) -> SourceSnapshot | None:
        """
        The snapshot of *source*, or ``None`` when it was never refreshed.
        """
        return self.sources.get(source)

    def with_sources(self, snapshots: Iterable[SourceSnapshot]) -> CatalogSnapshot:
        """
        This snapshot with *snapshots* replacing those of the same listings.
        """
        return CatalogSnapshot(
            sources={**self.sources, **{snap.source: snap for snap in snapshots}}
        )

    def catalog(self) -> ModelCatalog:
        """
        Every listing's records as one discovered catalog (a ref listed twice keeps its last).
        """
        return ModelCatalog.from_records(
            info for snapshot in self.sources.values() for info in snapshot.records
        )
