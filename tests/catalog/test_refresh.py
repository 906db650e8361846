"""
Fetching listings and refreshing the cache: against httpx.MockTransport and the real loopback
fake, under asyncio and trio. TTL, ETags, pagination, stale-on-error, credentials and secrets.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from modelcfg._catalog._cache import FileCatalogCache, MemoryCatalogCache
from modelcfg._catalog._discovery import ANTHROPIC_VERSION, DiscoverySource
from modelcfg._catalog._fetch import MAX_BYTES, fetch_models
from modelcfg._catalog._refresh import RefreshOutcome, SourceRefresh, refresh_catalog
from modelcfg._catalog._snapshot import DEFAULT_TTL_S
from modelcfg.auth import Secret
from modelcfg.exceptions import DiscoveryError
from modelcfg.testing import FakeModelsServer
from modelcfg.testing._listings import anthropic_models, openrouter_models

pytestmark = pytest.mark.anyio

NOW = 1_765_000_000.0
KEY = "sk-ant-api03-FAKE-DO-NOT-LEAK-0123456789abcdef"
OPENROUTER = DiscoverySource(
    name="openrouter", kind="openrouter", base_url="https://or.test/api/v1"
)
OPENAI = DiscoverySource(name="openai", kind="openai", base_url="https://oai.test/v1")
ANTHROPIC = DiscoverySource(name="anthropic", kind="anthropic", base_url="https://ant.test")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every test runs under asyncio and trio."""
    return str(request.param)


Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, seen: list[httpx.Request]) -> httpx.AsyncClient:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))


def listing(status: int = 200, body: object = None, **headers: str) -> Handler:
    payload = {"data": openrouter_models()[:5]} if body is None else body
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return lambda _request: httpx.Response(status, content=raw, headers=headers)


# ---------------------------------------------------------------- requests


async def test_openrouter_gets_no_credential() -> None:
    """OpenRouter's public list is fetched without sending the key it was given."""
    seen: list[httpx.Request] = []
    async with client_for(listing(), seen) as client:
        fetched = await fetch_models(client, OPENROUTER, now=NOW, api_key=KEY)

    request = seen[0]
    assert ("GET", "https://or.test/api/v1/models") == (request.method, str(request.url))
    assert "authorization" not in request.headers
    assert 5 == len(fetched.listing.records)  # type: ignore[union-attr]


async def test_openai_compatible_gets_a_bearer_key() -> None:
    """An OpenAI-compatible listing gets Authorization: Bearer KEY, from a Secret too."""
    seen: list[httpx.Request] = []
    body = {"object": "list", "data": [{"id": "gpt-5", "object": "model"}]}
    async with client_for(listing(body=body), seen) as client:
        await fetch_models(client, OPENAI, now=NOW, api_key=Secret(value=KEY))

    assert f"Bearer {KEY}" == seen[0].headers["authorization"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param(KEY, {"x-api-key": KEY}, id="api-key"),
        pytest.param(
            "sk-ant-oat01-token",
            {"authorization": "Bearer sk-ant-oat01-token", "anthropic-beta": "oauth-2025-04-20"},
            id="oauth",
        ),
    ],
)
async def test_anthropic_gets_its_headers_and_pages(key: str, expected: dict[str, str]) -> None:
    """Anthropic gets its key header and anthropic-version, and is read page by page."""
    models = anthropic_models()
    pages = [models[:4], models[4:8], models[8:]]

    def handler(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after_id")
        index = 0 if after is None else [p[-1]["id"] for p in pages].index(after) + 1
        page = pages[index]
        body = {
            "data": page,
            "has_more": index < 2,
            "first_id": page[0]["id"],
            "last_id": page[-1]["id"],
        }
        return httpx.Response(200, json=body)

    seen: list[httpx.Request] = []
    async with client_for(handler, seen) as client:
        fetched = await fetch_models(client, ANTHROPIC, now=NOW, api_key=key, page_size=4)

    assert ["https://ant.test/v1/models"] * 3 == [str(r.url).split("?")[0] for r in seen]
    assert [None, models[3]["id"], models[7]["id"]] == [r.url.params.get("after_id") for r in seen]
    assert {"4"} == {r.url.params["limit"] for r in seen}
    assert all(ANTHROPIC_VERSION == r.headers["anthropic-version"] for r in seen)
    assert all(r.headers.get(k) == v for r in seen for k, v in expected.items())
    assert [m["id"] for m in models] == [i.ref.model for i in fetched.listing.records]  # type: ignore[union-attr]


async def test_a_page_that_says_more_without_a_cursor_stops() -> None:
    """A page claiming more with no new last_id ends the fetch with an error, not a loop."""
    body = {"data": anthropic_models()[:1], "has_more": True, "last_id": None}
    async with client_for(listing(body=body), []) as client:
        with pytest.raises(DiscoveryError, match="gives no new 'last_id'"):
            await fetch_models(client, ANTHROPIC, now=NOW, api_key=KEY)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        pytest.param(listing(503, {"error": {"message": "busy"}}), "HTTP 503 from", id="503"),
        pytest.param(listing(body=b"<html>oops"), "is not JSON", id="html"),
        pytest.param(listing(body={"models": []}), "is not a models list", id="shape"),
        pytest.param(
            listing(**{"content-length": str(MAX_BYTES + 1)}), "more than the", id="too-large"
        ),
    ],
)
async def test_fetch_failures_are_one_clear_error(handler: Handler, message: str) -> None:
    """Errors, garbage and oversized answers raise DiscoveryError naming the listing."""
    async with client_for(handler, []) as client:
        with pytest.raises(DiscoveryError, match=message) as raised:
            await fetch_models(client, OPENROUTER, now=NOW)

    assert str(raised.value).startswith("openrouter: ")


async def test_a_network_error_is_one_clear_error() -> None:
    """A connection failure is a DiscoveryError that keeps no trace of the request (and its key)."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(
            f"refused with {request.headers['authorization']}", request=request
        )

    async with client_for(refuse, []) as client:
        with pytest.raises(DiscoveryError, match="cannot fetch") as raised:
            await fetch_models(client, OPENAI, now=NOW, api_key=KEY)

    assert KEY not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_a_refused_key_is_never_repeated() -> None:
    """A 401 that echoes the key gives an error without the key."""
    echo = listing(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})
    async with client_for(echo, []) as client:
        with pytest.raises(DiscoveryError, match="credential was refused") as raised:
            await fetch_models(client, OPENAI, now=NOW, api_key=KEY)

    assert KEY not in str(raised.value)
    assert 401 == raised.value.status


# ---------------------------------------------------------------- refresh


async def test_refresh_respects_the_ttl() -> None:
    """A listing fetched less than a day ago is not fetched again unless forced."""
    seen: list[httpx.Request] = []
    cache = MemoryCatalogCache()
    async with client_for(listing(), seen) as client:
        first = await refresh_catalog(client, [OPENROUTER], cache, now=NOW)
        fresh = await refresh_catalog(client, [OPENROUTER], cache, now=NOW + DEFAULT_TTL_S - 1)
        forced = await refresh_catalog(client, [OPENROUTER], cache, now=NOW + 60, force=True)
        stale = await refresh_catalog(client, [OPENROUTER], cache, now=NOW + 60 + DEFAULT_TTL_S)

    assert [
        RefreshOutcome.UPDATED,
        RefreshOutcome.FRESH,
        RefreshOutcome.UPDATED,
        RefreshOutcome.UPDATED,
    ] == [r.sources[0].outcome for r in (first, fresh, forced, stale)]
    assert 3 == len(seen)
    assert "still fresh, fetched 24 h ago" in fresh.sources[0].line()


async def test_refresh_uses_the_etag() -> None:
    """With an ETag held, the next fetch is conditional; a 304 renews the snapshot's date."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304, headers={"etag": '"v1"'})
        return httpx.Response(200, json={"data": openrouter_models()[:5]}, headers={"etag": '"v1"'})

    cache = MemoryCatalogCache()
    async with client_for(handler, seen) as client:
        await refresh_catalog(client, [OPENROUTER], cache, now=NOW)
        again = await refresh_catalog(client, [OPENROUTER], cache, now=NOW + 2 * DEFAULT_TTL_S)

    held = again.snapshot.get("openrouter")
    assert [None, '"v1"'] == [r.headers.get("if-none-match") for r in seen]
    assert RefreshOutcome.NOT_MODIFIED is again.sources[0].outcome
    assert held is not None
    assert (NOW + 2 * DEFAULT_TTL_S, 5) == (held.fetched_at, len(held.records))
    assert {NOW + 2 * DEFAULT_TTL_S} == {info.fetched_at for info in held.records}


async def test_a_failed_refresh_keeps_the_last_good_snapshot() -> None:
    """After a failure the records stay, the error is recorded and its age is told."""
    cache = MemoryCatalogCache()
    async with client_for(listing(), []) as client:
        await refresh_catalog(client, [OPENROUTER], cache, now=NOW)
    async with client_for(listing(503, {"error": {"message": "down"}}), []) as client:
        report = await refresh_catalog(client, [OPENROUTER], cache, now=NOW + 3 * 3600, force=True)

    held = cache.load().get("openrouter")
    outcome = report.sources[0]
    assert held is not None
    assert (5, NOW, NOW + 3 * 3600) == (len(held.records), held.fetched_at, held.attempted_at)
    assert "HTTP 503" in (held.error or "")
    assert (RefreshOutcome.FAILED, False) == (outcome.outcome, report.ok)
    assert "kept the snapshot of 5 models from 3 h ago" in outcome.line()


async def test_a_failed_refresh_is_retried_before_the_ttl() -> None:
    """A listing whose last refresh failed is fetched again on the next refresh."""
    seen: list[httpx.Request] = []
    cache = MemoryCatalogCache()
    async with client_for(listing(), seen) as client:
        await refresh_catalog(client, [OPENROUTER], cache, now=NOW)
    async with client_for(listing(500), seen) as client:
        await refresh_catalog(client, [OPENROUTER], cache, now=NOW + 60, force=True)
    async with client_for(listing(), seen) as client:
        report = await refresh_catalog(client, [OPENROUTER], cache, now=NOW + 120)

    assert (3, RefreshOutcome.UPDATED) == (len(seen), report.sources[0].outcome)


async def test_a_listing_without_its_key_is_skipped() -> None:
    """A listing that needs a credential and has none is skipped, with the reason."""
    seen: list[httpx.Request] = []
    async with client_for(listing(), seen) as client:
        report = await refresh_catalog(client, [ANTHROPIC], MemoryCatalogCache(), now=NOW)

    assert [] == seen
    assert "anthropic: skipped: no credential for this listing" == report.sources[0].line()
    assert report.ok


async def test_progress_is_told_per_listing_and_the_cache_is_written_once(tmp_path: Path) -> None:
    """on_progress hears each outcome in order; only refreshed listings change in the cache."""
    heard: list[SourceRefresh] = []
    cache = FileCatalogCache(path=tmp_path / "catalog.json")
    body = {"object": "list", "data": [{"id": "gpt-5"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        return listing(body=body if "oai" in str(request.url) else None)(request)

    async with client_for(handler, []) as client:
        report = await refresh_catalog(
            client,
            [OPENROUTER, OPENAI, ANTHROPIC],
            cache,
            now=NOW,
            keys={"openai": KEY},
            on_progress=heard.append,
        )

    assert ["openrouter", "openai", "anthropic"] == [h.source for h in heard]
    assert ["openrouter", "openai"] == list(cache.load().sources)
    assert (
        "6 added, 0 changed, 0 removed, 0 unchanged in 3 listings; 1 skipped." in report.summary()
    )
    assert KEY not in cache.path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the real loopback fake


@pytest.fixture
def fake() -> Iterator[FakeModelsServer]:
    """The fake listings on 127.0.0.1, accepting one key."""
    with FakeModelsServer(api_key=KEY) as server:
        yield server


def sources_of(fake: FakeModelsServer) -> list[DiscoverySource]:
    return [
        DiscoverySource(name="openrouter", kind="openrouter", base_url=fake.openrouter_base_url),
        DiscoverySource(name="openai", kind="openai", base_url=fake.openai_base_url),
        DiscoverySource(name="anthropic", kind="anthropic", base_url=fake.anthropic_base_url),
    ]


async def test_refresh_against_the_fake_listings(fake: FakeModelsServer, tmp_path: Path) -> None:
    """The three listings are read over real HTTP: ETags on two, pages on Anthropic's."""
    cache = FileCatalogCache(path=tmp_path / "catalog.json")
    keys = {"openai": KEY, "anthropic": KEY}
    async with httpx.AsyncClient(trust_env=False) as client:
        first = await refresh_catalog(
            client, sources_of(fake), cache, now=NOW, keys=keys, page_size=4
        )
        again = await refresh_catalog(
            client, sources_of(fake), cache, now=NOW + 10, keys=keys, force=True, page_size=4
        )

    counts = {s.source: s.models for s in first.sources}
    assert {"openrouter": 159, "openai": 15, "anthropic": 9} == counts
    assert 3 == len(fake.requests_to("anthropic")) / 2
    assert [
        RefreshOutcome.NOT_MODIFIED,
        RefreshOutcome.NOT_MODIFIED,
        RefreshOutcome.UPDATED,
    ] == [s.outcome for s in again.sources]
    assert 9 == again.sources[2].diff.unchanged
    assert 183 == len(cache.load().catalog())


async def test_refresh_reports_what_changed_in_the_fake_listing(
    fake: FakeModelsServer, tmp_path: Path
) -> None:
    """Added, changed and removed models are counted after the listing changes."""
    cache = FileCatalogCache(path=tmp_path / "catalog.json")
    async with httpx.AsyncClient(trust_env=False) as client:
        await refresh_catalog(client, sources_of(fake)[:1], cache, now=NOW)
        models = copy.deepcopy(fake.openrouter)
        models[0]["pricing"] = {"prompt": "0.000001", "completion": "0.000002"}
        del models[5]
        models.append({**models[1], "id": "acme/new-model"})
        fake.openrouter = models
        report = await refresh_catalog(client, sources_of(fake)[:1], cache, now=NOW + 5, force=True)

    diff = report.sources[0].diff
    assert (1, 1, 1, 157) == (len(diff.added), len(diff.changed), len(diff.removed), diff.unchanged)


async def test_stale_on_error_against_the_fake(fake: FakeModelsServer, tmp_path: Path) -> None:
    """An outage, then garbage: each refresh fails and the last good snapshot stays whole."""
    cache = FileCatalogCache(path=tmp_path / "catalog.json")
    async with httpx.AsyncClient(trust_env=False) as client:
        await refresh_catalog(client, sources_of(fake)[:1], cache, now=NOW)
        fake.fail("openrouter", 503, times=1)
        down = await refresh_catalog(client, sources_of(fake)[:1], cache, now=NOW + 60, force=True)
        fake.answer_raw("openrouter", b'{"data": "not a list"}')
        garbage = await refresh_catalog(
            client, sources_of(fake)[:1], cache, now=NOW + 120, force=True
        )
        fake.heal()
        back = await refresh_catalog(client, sources_of(fake)[:1], cache, now=NOW + 180, force=True)

    assert ["HTTP 503", "not a models list"] == [
        "HTTP 503" if "HTTP 503" in (r.sources[0].error or "") else "not a models list"
        for r in (down, garbage)
    ]
    assert "is not a models list" in (garbage.sources[0].error or "")
    assert [159, 159, 159] == [r.sources[0].models for r in (down, garbage, back)]
    assert RefreshOutcome.NOT_MODIFIED is back.sources[0].outcome


async def test_the_fake_refuses_what_the_real_services_refuse(fake: FakeModelsServer) -> None:
    """No key, a wrong key, no anthropic-version or a bad limit are refused as the APIs do."""
    async with httpx.AsyncClient(trust_env=False) as client:
        no_key = await client.get(f"{fake.openai_base_url}/models")
        wrong = await client.get(
            f"{fake.anthropic_base_url}/models",
            headers={"x-api-key": "nope", "anthropic-version": ANTHROPIC_VERSION},
        )
        no_version = await client.get(
            f"{fake.anthropic_base_url}/models", headers={"x-api-key": KEY}
        )
        bad_limit = await client.get(
            f"{fake.anthropic_base_url}/models",
            params={"limit": 0},
            headers={"x-api-key": KEY, "anthropic-version": ANTHROPIC_VERSION},
        )
        post = await client.post(f"{fake.openrouter_base_url}/models")

    assert [401, 401, 400, 400, 405] == [
        r.status_code for r in (no_key, wrong, no_version, bad_limit, post)
    ]
    assert "authentication_error" == wrong.json()["error"]["type"]
    assert {"127.0.0.1"} == {fake.host}


async def test_a_key_the_fake_refuses_never_reaches_the_report(
    fake: FakeModelsServer, tmp_path: Path
) -> None:
    """The fake echoes a refused key; neither the report nor the cache repeats it."""
    wrong = "sk-ant-api03-WRONG-fake-DO-NOT-LEAK-0123456789"
    cache = FileCatalogCache(path=tmp_path / "catalog.json")
    async with httpx.AsyncClient(trust_env=False) as client:
        report = await refresh_catalog(
            client, sources_of(fake)[1:], cache, now=NOW, keys={"openai": wrong, "anthropic": wrong}
        )

    text = " ".join(s.line() for s in report.sources) + cache.path.read_text(encoding="utf-8")
    assert [RefreshOutcome.FAILED, RefreshOutcome.FAILED] == [s.outcome for s in report.sources]
    assert wrong not in text
    assert "DO-NOT-LEAK" not in text
