"""
Catalog snapshots and the caches that keep them: JSON, files, defaults, concurrent updates.
"""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from modelcfg import ModelRef
from modelcfg._catalog._cache import FileCatalogCache, MemoryCatalogCache, default_cache_path
from modelcfg._catalog._json import snapshot_from_json, snapshot_to_json
from modelcfg._catalog._openrouter import parse_openrouter_models
from modelcfg._catalog._records import CatalogSource, ModelInfo, Pricing
from modelcfg._catalog._snapshot import CatalogSnapshot, SourceSnapshot
from modelcfg.testing._listings import openrouter_models
from modelcfg.typing import CatalogCache


def snapshot_of(name: str, *models: str, fetched_at: float = 100.0) -> SourceSnapshot:
    records = [
        ModelInfo(
            ref=ModelRef(provider=name, model=m),
            source=CatalogSource.DISCOVERED,
            origin=name,
            fetched_at=fetched_at,
            pricing=Pricing(input=1.5),
        )
        for m in models
    ]
    return SourceSnapshot(
        source=name, url=f"http://127.0.0.1:1/{name}/models", records=records, fetched_at=fetched_at
    )


def test_snapshot_age_and_freshness() -> None:
    """A snapshot is fresh for a day after its fetch; its age is measured from the fetch."""
    snap = snapshot_of("openrouter", "a/b", fetched_at=1_000.0)

    assert (0.0, 3_600.0) == (snap.age_s(500.0), snap.age_s(4_600.0))
    assert (True, False) == (snap.fresh(1_000.0 + 86_399), snap.fresh(1_000.0 + 86_400))
    assert (None, False) == (
        SourceSnapshot(source="x", url="u").age_s(5.0),
        SourceSnapshot(source="x", url="u").fresh(5.0),
    )


def test_snapshot_catalog_holds_every_listing() -> None:
    """The discovered catalog of a snapshot is every listing's records together."""
    snap = CatalogSnapshot().with_sources([snapshot_of("a", "x"), snapshot_of("b", "y", "z")])

    assert ["a/x", "b/y", "b/z"] == [str(info.ref) for info in snap.catalog()]


def test_snapshot_sources_are_filed_by_their_name() -> None:
    """A snapshot filed under another listing's name is refused."""
    with pytest.raises(ValueError, match="filed as 'b'"):
        CatalogSnapshot(sources={"b": snapshot_of("a")})


@given(
    hs.lists(
        hs.builds(
            snapshot_of,
            hs.sampled_from(["openrouter", "openai", "anthropic"]),
            hs.sampled_from(["m1", "m2", "vendor/m3:free"]),
            fetched_at=hs.floats(min_value=0, max_value=4e9),
        ),
        unique_by=lambda s: s.source,
        max_size=3,
    ),
    hs.none() | hs.text(max_size=20),
    hs.none() | hs.text(max_size=20),
)
@settings(max_examples=60)
def test_snapshot_json_round_trip(
    sources: list[SourceSnapshot], etag: str | None, error: str | None
) -> None:
    """A snapshot written as JSON (through the json module) reads back equal."""
    snap = CatalogSnapshot().with_sources(
        SourceSnapshot(
            source=s.source,
            url=s.url,
            records=s.records,
            fetched_at=s.fetched_at,
            attempted_at=s.fetched_at,
            etag=etag,
            error=error,
            skipped=("$.data[3]: skipped: not an object",),
        )
        for s in sources
    )

    assert snap == snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snap))))


def test_the_realistic_listing_round_trips() -> None:
    """A whole OpenRouter listing survives the cache's JSON form."""
    listing = parse_openrouter_models({"data": openrouter_models()}, fetched_at=1.0)
    snap = CatalogSnapshot().with_sources(
        [
            SourceSnapshot(
                source="openrouter", url="u", records=listing.records, skipped=listing.skipped
            )
        ]
    )

    assert snap == snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snap))))


def test_snapshot_json_names_every_problem() -> None:
    """Invalid snapshot JSON is refused with every problem at its path."""
    data = {
        "format": 1,
        "sources": {
            "a": {"url": 3, "records": [{"ref": "a/b", "tools": "yes"}]},
            "b": "nope",
            "c": {"url": "u", "records": [{"ref": "c/d", "bogus": 1}]},
        },
    }
    with pytest.raises(ValueError, match="4 problems") as raised:
        snapshot_from_json(data)

    message = str(raised.value)
    assert "$.sources['a'].url: expected str, got 3" in message
    assert "$.sources['a'].records[0].tools: expected bool, got 'yes'" in message
    assert "$.sources['b']: expected an object, got 'nope'" in message
    assert "$.sources['c'].records[0]: extra fields found (bogus)" in message


def test_file_cache_round_trip_and_mode(tmp_path: Path) -> None:
    """A file cache starts empty, keeps what it is given, and writes a private file."""
    cache = FileCatalogCache(path=tmp_path / "deep" / "catalog.json")
    empty = cache.load()

    after = cache.update(lambda snap: snap.with_sources([snapshot_of("openrouter", "a/b")]))

    assert CatalogSnapshot() == empty
    assert after == cache.load()
    assert 0o600 == stat.S_IMODE(cache.path.stat().st_mode)
    assert isinstance(cache, CatalogCache)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"{not json", "is not JSON", id="not-json"),
        pytest.param(b"[1, 2]", "does not hold a JSON object", id="list"),
        pytest.param(b'{"format": 9, "sources": {}}', r"\$\.format: expected 1", id="format"),
    ],
)
def test_a_corrupt_cache_file_is_a_clear_error(tmp_path: Path, content: bytes, match: str) -> None:
    """Reading a corrupt cache names the file and the problem."""
    path = tmp_path / "catalog.json"
    path.write_bytes(content)

    with pytest.raises(ValueError, match=match) as raised:
        FileCatalogCache(path=path).load()

    assert str(path) in str(raised.value)


def test_an_update_replaces_a_corrupt_cache(tmp_path: Path) -> None:
    """A corrupt cache holds nothing worth keeping: an update starts from empty."""
    path = tmp_path / "catalog.json"
    path.write_bytes(b"garbage")

    FileCatalogCache(path=path).update(lambda snap: snap.with_sources([snapshot_of("a", "x")]))

    assert ["a"] == list(FileCatalogCache(path=path).load().sources)


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    """Updates of different listings from several threads all end up in the file."""
    cache = FileCatalogCache(path=tmp_path / "catalog.json")
    names = [f"p{i}" for i in range(12)]

    def refresh(name: str) -> None:
        cache.update(lambda snap: snap.with_sources([snapshot_of(name, "m")]))

    threads = [threading.Thread(target=refresh, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(names) == set(cache.load().sources)


def test_memory_cache() -> None:
    """The memory cache holds the snapshot it is given."""
    cache = MemoryCatalogCache()
    cache.update(lambda snap: snap.with_sources([snapshot_of("a", "x")]))

    assert ["a/x"] == [str(i.ref) for i in cache.load().catalog()]
    assert isinstance(cache, CatalogCache)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"MODELCFG_CATALOG_CACHE": "/x/c.json", "XDG_CACHE_HOME": "/y", "HOME": "/h"},
            "/x/c.json",
            id="explicit",
        ),
        pytest.param({"XDG_CACHE_HOME": "/y", "HOME": "/h"}, "/y/modelcfg/catalog.json", id="xdg"),
        pytest.param({"HOME": "/h"}, "/h/.cache/modelcfg/catalog.json", id="home"),
        pytest.param({}, None, id="nowhere"),
    ],
)
def test_default_cache_path(environ: dict[str, str], expected: str | None) -> None:
    """The cache file comes from the environment the host passes."""
    found = default_cache_path(environ)

    assert expected == (None if found is None else str(found))
