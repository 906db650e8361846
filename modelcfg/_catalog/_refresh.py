"""
Refreshing the discovered catalog: every listing, on demand, kept in a cache.

:func:`refresh_catalog` goes through the listings one by one:

- a listing fetched or confirmed less than the TTL ago (a day by default) is
  left alone, unless the refresh is forced;
- a listing that needs a credential and has none is skipped, with a reason;
- otherwise it is fetched, conditionally when its ``ETag`` is known; a new
  listing replaces the snapshot and says what was added, changed and removed;
  an unchanged one (``304``) only renews the snapshot's date;
- a failure keeps the last good snapshot, records why and says how old the
  snapshot is: a failed refresh never wipes anything.

Nothing happens at import, and nothing happens by itself: the host decides
when to refresh, supplies the client and the time, and owns the cache.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence

import attrs
import httpx

from modelcfg._catalog._discovery import CatalogDiff, DiscoverySource, diff_records
from modelcfg._catalog._fetch import Revealable, fetch_models
from modelcfg._catalog._records import format_date
from modelcfg._catalog._snapshot import DEFAULT_TTL_S, CatalogSnapshot, SourceSnapshot
from modelcfg.exceptions import DiscoveryError
from modelcfg.typing import CatalogCache

__all__ = ["RefreshOutcome", "RefreshReport", "SourceRefresh", "refresh_catalog"]


class RefreshOutcome(enum.StrEnum):
    """
    What happened to one listing in a refresh.
    """

    UPDATED = "updated"
    """Fetched; its snapshot now holds what the listing says."""
    NOT_MODIFIED = "not-modified"
    """The server said the listing is unchanged (``304``); the snapshot's date was renewed."""
    FRESH = "fresh"
    """Fetched less than the TTL ago; not fetched again."""
    SKIPPED = "skipped"
    """Not fetched: it needs a credential and none was given."""
    FAILED = "failed"
    """The fetch failed; the last good snapshot, if any, is kept."""


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


@attrs.frozen(kw_only=True)
class SourceRefresh:
    """
    How one listing's refresh went.

    Attributes:
        source: The listing's name.
        url: Its URL.
        outcome: What happened.
        diff: What changed in its snapshot (empty unless updated).
        models: How many models its snapshot holds now.
        skipped: The listing's entries the parser left out, each with its reason.
        error: Why the fetch failed, or why it was skipped.
        age_s: How old the snapshot kept is, in seconds (fresh or failed), if there is one.
        fetched_at: When the snapshot's records were last fetched or confirmed.
    """

    source: str
    url: str
    outcome: RefreshOutcome
    diff: CatalogDiff = attrs.field(factory=CatalogDiff)
    models: int = 0
    skipped: tuple[str, ...] = ()
    error: str | None = None
    age_s: float | None = None
    fetched_at: float | None = None

    @property
    def ok(self) -> bool:
        """
        Whether the listing's snapshot is current: updated, unchanged or still fresh.
        """
        return self.outcome in (
            RefreshOutcome.UPDATED,
            RefreshOutcome.NOT_MODIFIED,
            RefreshOutcome.FRESH,
        )

    def line(self) -> str:
        """
        One line for people: ``openrouter: 163 models (3 added, ...) from URL``.
        """
        count = f"{self.models} model{'s' if self.models != 1 else ''}"
        match self.outcome:
            case RefreshOutcome.UPDATED:
                dropped = f"; {len(self.skipped)} entries skipped" if self.skipped else ""
                return f"{self.source}: {count} ({self.diff.summary()}{dropped}) from {self.url}"
            case RefreshOutcome.NOT_MODIFIED:
                return f"{self.source}: {count}, not modified since the last fetch (ETag)"
            case RefreshOutcome.FRESH:
                age = "" if self.age_s is None else f", fetched {_age(self.age_s)} ago"
                return f"{self.source}: {count}, still fresh{age}; not fetched (use --force)"
            case RefreshOutcome.SKIPPED:
                return f"{self.source}: skipped: {self.error}"
            case RefreshOutcome.FAILED:
                kept = (
                    f"kept the snapshot of {count} from {_age(self.age_s)} ago"
                    f" ({format_date(self.fetched_at)})"
                    if self.age_s is not None and self.fetched_at is not None
                    else "no earlier snapshot to keep"
                )
                return f"{self.source}: failed: {self.error}; {kept}"


@attrs.frozen(kw_only=True)
class RefreshReport:
    """
    What a refresh did, listing by listing, and the snapshot it left in the cache.

    Attributes:
        sources: One outcome per listing, in the order refreshed.
        snapshot: The cache's snapshot after the refresh.
    """

    sources: tuple[SourceRefresh, ...]
    snapshot: CatalogSnapshot

    @property
    def diff(self) -> CatalogDiff:
        """
        Every listing's changes together.
        """
        total = CatalogDiff()
        for outcome in self.sources:
            total += outcome.diff
        return total

    @property
    def ok(self) -> bool:
        """
        Whether no listing failed (skipped ones do not count as failures).
        """
        return all(s.outcome is not RefreshOutcome.FAILED for s in self.sources)

    def summary(self) -> str:
        """
        ``Summary: 3 added, 1 changed, 0 removed, 160 unchanged in 2 listings; 1 failed.``
        """
        diff = self.diff
        unchanged = diff.unchanged + sum(
            s.models for s in self.sources if s.outcome is not RefreshOutcome.UPDATED and s.ok
        )
        count = len(self.sources)
        failed = sum(1 for s in self.sources if s.outcome is RefreshOutcome.FAILED)
        skipped = sum(1 for s in self.sources if s.outcome is RefreshOutcome.SKIPPED)
        text = (
            f"Summary: {len(diff.added)} added, {len(diff.changed)} changed, "
            f"{len(diff.removed)} removed, {unchanged} unchanged in {count} "
            f"listing{'s' if count != 1 else ''}"
        )
        notes = [f"{n} {what}" for n, what in ((failed, "failed"), (skipped, "skipped")) if n]
        return text + (f"; {', '.join(notes)}." if notes else ".")


def _restamped(snapshot: SourceSnapshot, now: float) -> SourceSnapshot:
    records = tuple(attrs.evolve(info, fetched_at=now) for info in snapshot.records)
    return attrs.evolve(snapshot, records=records, fetched_at=now, attempted_at=now, error=None)


async def _refresh_one(
    client: httpx.AsyncClient,
    source: DiscoverySource,
    held: SourceSnapshot | None,
    *,
    now: float,
    key: str | Revealable | None,
    ttl_s: float,
    force: bool,
    page_size: int,
) -> tuple[SourceRefresh, SourceSnapshot | None]:
    same_url = held is not None and held.url == source.url
    if (
        held is not None
        and same_url
        and not force
        and held.error is None
        and held.fresh(now, ttl_s)
    ):
        outcome = SourceRefresh(
            source=source.name,
            url=source.url,
            outcome=RefreshOutcome.FRESH,
            models=len(held.records),
            age_s=held.age_s(now),
            fetched_at=held.fetched_at,
        )
        return outcome, None
    if source.needs_key and not key:
        outcome = SourceRefresh(
            source=source.name,
            url=source.url,
            outcome=RefreshOutcome.SKIPPED,
            models=len(held.records) if held else 0,
            error="no credential for this listing",
        )
        return outcome, None
    etag = held.etag if held is not None and same_url and held.records else None
    try:
        fetched = await fetch_models(
            client,
            source,
            now=now,
            api_key=key,
            etag=etag,
            page_size=page_size,
        )
    except DiscoveryError as exc:
        kept = held or SourceSnapshot(source=source.name, url=source.url)
        kept = attrs.evolve(kept, attempted_at=now, error=str(exc))
        outcome = SourceRefresh(
            source=source.name,
            url=source.url,
            outcome=RefreshOutcome.FAILED,
            models=len(kept.records),
            error=str(exc).removeprefix(f"{source.name}: "),
            age_s=kept.age_s(now),
            fetched_at=kept.fetched_at,
        )
        return outcome, kept
    listing = fetched.listing
    if listing is None:  # 304: only asked with the ETag of a snapshot held
        base = held or SourceSnapshot(source=source.name, url=source.url)
        renewed = attrs.evolve(_restamped(base, now), etag=fetched.etag)
        outcome = SourceRefresh(
            source=source.name,
            url=source.url,
            outcome=RefreshOutcome.NOT_MODIFIED,
            models=len(renewed.records),
            skipped=renewed.skipped,
            age_s=0.0,
            fetched_at=now,
        )
        return outcome, renewed
    new = SourceSnapshot(
        source=source.name,
        url=source.url,
        records=listing.records,
        skipped=listing.skipped,
        fetched_at=now,
        attempted_at=now,
        etag=fetched.etag,
    )
    outcome = SourceRefresh(
        source=source.name,
        url=source.url,
        outcome=RefreshOutcome.UPDATED,
        diff=diff_records(held.records if held else (), listing.records),
        models=len(listing.records),
        skipped=listing.skipped,
        age_s=0.0,
        fetched_at=now,
    )
    return outcome, new


async def refresh_catalog(
    client: httpx.AsyncClient,
    sources: Sequence[DiscoverySource],
    cache: CatalogCache,
    *,
    now: float,
    keys: Mapping[str, str | Revealable] | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    force: bool = False,
    page_size: int = 100,
    on_progress: Callable[[SourceRefresh], None] | None = None,
) -> RefreshReport:
    """
    Refresh *sources* into *cache*, each on its own, and say what happened.

    Args:
        client: The host's HTTP client.
        sources: The listings to refresh, in order.
        cache: Where snapshots are kept (:class:`~modelcfg.FileCatalogCache`, ...).
        now: The current time, in seconds since the epoch.
        keys: Listing name -> its credential (a :class:`~modelcfg.auth.Secret` or
            text), for listings that need one.
        ttl_s: How long a snapshot counts as fresh.
        force: Fetch even fresh listings.
        page_size: Models per page of a paginated listing.
        on_progress: Called with each listing's outcome as soon as it is known.

    Returns:
        Each listing's outcome and the cache's snapshot afterwards. The cache is
        written once, at the end, and only the refreshed listings change in it.
    """
    keys = keys or {}
    held = cache.load()
    outcomes: list[SourceRefresh] = []
    changed: list[SourceSnapshot] = []
    for source in sources:
        outcome, snapshot = await _refresh_one(
            client,
            source,
            held.get(source.name),
            now=now,
            key=keys.get(source.name),
            ttl_s=ttl_s,
            force=force,
            page_size=page_size,
        )
        outcomes.append(outcome)
        if snapshot is not None:
            changed.append(snapshot)
        if on_progress is not None:
            on_progress(outcome)
    after = cache.update(lambda current: current.with_sources(changed)) if changed else held
    return RefreshReport(sources=tuple(outcomes), snapshot=after)
