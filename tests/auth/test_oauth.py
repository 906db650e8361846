"""
Tests for OAuth login (authorization code + PKCE on a loopback redirect) and token refresh.

Everything runs against the fake OAuth server on 127.0.0.1; a guarding transport
fails any request that would leave the loopback interface.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx
import pytest

from modelcfg import ConfigError, FailureKind, ProfileId, load_config
from modelcfg.auth import (
    AuthStore,
    MemoryAuthStore,
    OAuthCredential,
    OAuthEndpoints,
    OAuthError,
    OAuthRefresher,
    RefreshFailedError,
    ResolvedCredential,
    authorize,
    credential_for,
    login_oauth,
    refresh_oauth,
)
from modelcfg.auth._oauth import authorize_url, pkce_challenge
from modelcfg.testing._oauth import FakeOAuthServer

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
PROFILE = ProfileId.parse("anthropic:default")


class LoopbackOnly(httpx.AsyncBaseTransport):
    """
    Sends requests only to 127.0.0.1 and records every URL it was asked for.
    """

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.urls: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"a request tried to leave the loopback: {request.url.host}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def server() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer(email="me@example.com", token_prefix="sk-canary-") as fake:
        yield fake


@pytest.fixture
async def transport() -> AsyncIterator[LoopbackOnly]:
    guard = LoopbackOnly()
    yield guard
    assert all(url.host == "127.0.0.1" for url in guard.urls)


@pytest.fixture
async def client(transport: LoopbackOnly) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport, timeout=10) as http:
        yield http


def browser(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    """
    Play the user's browser: open the authorize URL and follow the redirect to the loopback.
    """

    async def open_url(url: str) -> None:
        await client.get(url, follow_redirects=True)

    return open_url


def test_pkce_challenge_matches_rfc_7636() -> None:
    """The S256 challenge of the RFC 7636 example verifier is the RFC's value."""

    assert "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" == pkce_challenge(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    )


def test_authorize_url_carries_pkce_state_and_scopes() -> None:
    """The authorize URL has the code flow, the S256 challenge, the state and the scopes."""
    endpoints = OAuthEndpoints(
        authorize_url="https://auth.example/authorize?tenant=x",
        token_url="https://auth.example/token",
        client_id="cid",
        scopes=("a", "b"),
    )

    url = authorize_url(
        endpoints, redirect_uri="http://127.0.0.1:5/callback", state="s", challenge="c"
    )
    query = parse_qs(urlsplit(url).query)

    assert {
        "tenant": ["x"],
        "response_type": ["code"],
        "client_id": ["cid"],
        "redirect_uri": ["http://127.0.0.1:5/callback"],
        "code_challenge": ["c"],
        "code_challenge_method": ["S256"],
        "state": ["s"],
        "scope": ["a b"],
    } == query


@pytest.mark.parametrize(
    "fields",
    [
        {"authorize_url": "ftp://x/a"},
        {"token_url": "/token"},
        {"client_id": ""},
        {"redirect_path": "callback"},
    ],
    ids=["authorize-scheme", "relative-token-url", "empty-client", "bad-redirect-path"],
)
def test_endpoints_are_validated(fields: dict[str, str]) -> None:
    """Malformed endpoints are refused when the config is built."""
    base = {"authorize_url": "https://a/x", "token_url": "https://a/t", "client_id": "c"}
    arguments = {**base, **fields}

    with pytest.raises(ValueError):  # noqa: PT011 - the message varies by field
        OAuthEndpoints(
            authorize_url=arguments["authorize_url"],
            token_url=arguments["token_url"],
            client_id=arguments["client_id"],
            redirect_path=arguments.get("redirect_path", "/callback"),
        )


async def test_full_login_stores_tokens_verified_by_pkce(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """login_oauth() runs the loopback flow; the server verifies PKCE; the tokens are stored."""
    store = MemoryAuthStore()

    profile = await login_oauth(
        store,
        "anthropic",
        endpoints=server.endpoints(),
        client=client,
        open_url=browser(client),
        clock=lambda: NOW,
        timeout_s=10,
    )
    stored = store.get(profile)
    credential = stored.credential if stored else None

    assert isinstance(credential, OAuthCredential)
    assert (PROFILE, 1, True) == (
        profile,
        server.verified_pkce,
        server.is_valid_access_token(credential.access.reveal()),
    )
    assert (NOW + 3600, "me@example.com", True) == (
        credential.expires_at,
        credential.email,
        credential.refreshable,
    )


async def test_login_with_a_profile_name(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """login_oauth(profile_name=...) creates provider:NAME."""
    store = MemoryAuthStore()

    profile = await login_oauth(
        store,
        "anthropic",
        endpoints=server.endpoints(),
        client=client,
        open_url=browser(client),
        profile_name="work",
    )

    assert (ProfileId.parse("anthropic:work"), ["anthropic:work"]) == (
        profile,
        [str(p.profile) for p in store.profiles()],
    )


async def test_denied_login_is_an_oauth_error(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """A user who refuses gives an OAuthError with the provider's error code."""
    server.deny = True

    with pytest.raises(OAuthError, match=r"not approved \(access_denied\)") as raised:
        await authorize(
            server.endpoints(), provider="anthropic", client=client, open_url=browser(client)
        )

    assert "access_denied" == raised.value.error


async def test_a_wrong_state_is_rejected(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """A redirect whose state does not match (a forged request) fails the login."""

    async def forged(url: str) -> None:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        await client.get(f"{redirect_uri}?{urlencode({'code': 'x', 'state': 'forged'})}")

    with pytest.raises(OAuthError, match="wrong 'state'"):
        await authorize(server.endpoints(), provider="anthropic", client=client, open_url=forged)

    assert 0 == server.token_requests


async def test_a_wrong_pkce_verifier_is_refused_by_the_server(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """When the challenge the server saw does not match our verifier, the exchange fails."""

    async def tampered(url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["code_challenge"] = pkce_challenge("some-other-verifier")
        await client.get(f"{server.authorize_url}?{urlencode(query)}", follow_redirects=True)

    with pytest.raises(OAuthError, match="invalid_grant") as raised:
        await authorize(server.endpoints(), provider="anthropic", client=client, open_url=tampered)

    assert (0, FailureKind.AUTH, 400) == (
        server.verified_pkce,
        raised.value.kind,
        raised.value.status,
    )


async def test_no_approval_times_out(server: FakeOAuthServer, client: httpx.AsyncClient) -> None:
    """When the browser never comes back, the login fails after timeout_s."""

    async def ignore(url: str) -> None:
        return None

    with pytest.raises(OAuthError, match=r"within 0\.2 s"):
        await authorize(
            server.endpoints(), provider="anthropic", client=client, open_url=ignore, timeout_s=0.2
        )


async def test_stray_requests_do_not_break_the_listener(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """A request to another path (a favicon) gets 404 and the login still completes."""

    async def with_favicon(url: str) -> None:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        favicon = await client.get(redirect_uri.replace("/callback", "/favicon.ico"))
        assert 404 == favicon.status_code
        await client.get(url, follow_redirects=True)

    credential = await authorize(
        server.endpoints(), provider="anthropic", client=client, open_url=with_favicon
    )

    assert server.is_valid_access_token(credential.access.reveal())


async def test_refresh_before_expiry_through_credential_for(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """A token 30 s from expiry is refreshed (skew 60 s); new tokens are stored and valid."""
    old = OAuthCredential(
        access="sk-canary-old-access", refresh=server.issue_refresh_token(), expires_at=NOW + 30
    )
    store = MemoryAuthStore.of({PROFILE: old})
    refresher = OAuthRefresher(
        endpoints={"anthropic": server.endpoints()}, client=client, clock=lambda: NOW
    )

    resolved = await credential_for(PROFILE, store=store, environ={}, refresher=refresher, now=NOW)
    stored = store.get(PROFILE)
    new = stored.credential if stored else None

    assert isinstance(new, OAuthCredential)
    assert (1, True, NOW + 3600) == (
        server.refreshes,
        server.is_valid_access_token(new.access.reveal()),
        new.expires_at,
    )
    assert (new.access, False) == (resolved.secret, new.refresh == old.refresh)


async def test_refresh_keeps_the_old_refresh_token_when_none_is_sent(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """A refresh answer without a refresh token keeps the one we had."""
    server.rotate_refresh = False
    old = OAuthCredential(access="old-access-token", refresh=server.issue_refresh_token())

    new = await refresh_oauth(
        old, provider="anthropic", endpoints=server.endpoints(), client=client, clock=lambda: NOW
    )

    assert old.refresh == new.refresh


async def test_refresh_failure_is_classified_as_auth(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """A refused refresh (400 invalid_grant) raises RefreshFailedError of kind AUTH."""
    server.fail_refresh = True
    old = OAuthCredential(
        access="old-access-token", refresh=server.issue_refresh_token(), expires_at=NOW
    )
    store = MemoryAuthStore.of({PROFILE: old})
    refresher = OAuthRefresher(endpoints={"anthropic": server.endpoints()}, client=client)

    with pytest.raises(RefreshFailedError) as raised:
        await credential_for(PROFILE, store=store, environ={}, refresher=refresher, now=NOW)
    failure = raised.value.to_failure(observed_at=NOW)

    assert (FailureKind.AUTH, 400, "invalid_grant", PROFILE) == (
        failure.kind,
        failure.status,
        failure.code,
        failure.profile,
    )
    assert old == store.get(PROFILE).credential  # type: ignore[union-attr]


async def test_an_unreachable_token_endpoint_is_a_connection_failure(
    client: httpx.AsyncClient,
) -> None:
    """When nothing listens at the token URL, the refresh fails with kind CONNECTION."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoints = OAuthEndpoints(
        authorize_url=f"http://127.0.0.1:{port}/authorize",
        token_url=f"http://127.0.0.1:{port}/token",
        client_id="c",
    )
    old = OAuthCredential(access="old-access-token", refresh="old-refresh-token")

    with pytest.raises(RefreshFailedError) as raised:
        await refresh_oauth(old, provider="anthropic", endpoints=endpoints, client=client)

    assert FailureKind.CONNECTION == raised.value.kind


async def test_a_provider_without_endpoints_cannot_refresh(client: httpx.AsyncClient) -> None:
    """The refresher says clearly when no OAuth endpoints are configured for a provider."""
    refresher = OAuthRefresher(endpoints={}, client=client)
    old = OAuthCredential(access="old-access-token", refresh="old-refresh-token")

    with pytest.raises(RefreshFailedError, match="no OAuth endpoints are configured"):
        await refresher(PROFILE, old)


async def test_refresh_without_a_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    """Tokens with no refresh token cannot be refreshed; the user must log in again."""
    endpoints = OAuthEndpoints(
        authorize_url="http://127.0.0.1:9/a", token_url="http://127.0.0.1:9/t", client_id="c"
    )

    with pytest.raises(RefreshFailedError, match="log in again"):
        await refresh_oauth(
            OAuthCredential(access="old-access-token"),
            provider="anthropic",
            endpoints=endpoints,
            client=client,
        )


async def test_a_failing_open_url_still_lets_the_user_log_in(
    server: FakeOAuthServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """When opening the browser fails, the URL is logged and the login still completes."""
    opened: list[str] = []

    async def broken(url: str) -> None:
        opened.append(url)
        raise OSError("no browser")

    async def user_opens_by_hand() -> OAuthCredential:
        return await authorize(
            server.endpoints(), provider="anthropic", client=client, open_url=broken, timeout_s=10
        )

    async with anyio.create_task_group() as tg:
        results: list[OAuthCredential] = []

        async def run() -> None:
            results.append(await user_opens_by_hand())

        tg.start_soon(run)
        while not opened:
            await anyio.sleep(0.01)
        await client.get(opened[0], follow_redirects=True)

    assert server.is_valid_access_token(results[0].access.reveal())
    assert any("open it by hand" in r.getMessage() for r in caplog.records)


async def test_a_refresh_refused_because_another_process_won_uses_the_winners_tokens(
    server: FakeOAuthServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """When another process (one that ignores the refresh lock) spends the refresh token
    first, the rotating server refuses ours, and the tokens it stored are returned."""
    path = tmp_path / "auth.json"
    old = OAuthCredential(
        access="sk-canary-old-access", refresh=server.issue_refresh_token(), expires_at=NOW + 10
    )
    AuthStore(path=path).put(PROFILE, old)
    refresher = OAuthRefresher(
        endpoints={"anthropic": server.endpoints()}, client=client, clock=lambda: NOW
    )
    other_process = AuthStore(path=path)

    async def after_the_other_process(
        profile: ProfileId, credential: OAuthCredential
    ) -> OAuthCredential:
        theirs = await refresh_oauth(
            credential,
            provider="anthropic",
            endpoints=server.endpoints(),
            client=client,
            clock=lambda: NOW,
        )
        other_process.replace_if_unchanged(profile, expected=credential, new=theirs)
        return await refresher(profile, credential)

    resolved = await credential_for(
        PROFILE,
        store=AuthStore(path=path),
        environ={},
        refresher=after_the_other_process,
        now=NOW,
    )
    stored = AuthStore(path=path).get(PROFILE)

    assert (1, 2) == (server.refreshes, server.token_requests)
    assert (stored.credential.secret if stored else None) == resolved.secret
    assert old.access != resolved.secret


async def test_two_processes_refreshing_at_once_refresh_once_and_share_the_tokens(
    server: FakeOAuthServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Concurrent refreshes through two store objects on one file take turns: one refresh,
    both get the same new tokens, no refused refresh token."""
    path = tmp_path / "auth.json"
    old = OAuthCredential(
        access="sk-canary-old-access", refresh=server.issue_refresh_token(), expires_at=NOW + 10
    )
    AuthStore(path=path).put(PROFILE, old)
    refresher = OAuthRefresher(
        endpoints={"anthropic": server.endpoints()}, client=client, clock=lambda: NOW
    )
    results: list[ResolvedCredential] = []

    async def one() -> None:
        results.append(
            await credential_for(
                PROFILE, store=AuthStore(path=path), environ={}, refresher=refresher, now=NOW
            )
        )

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(one)
    stored = AuthStore(path=path).get(PROFILE)

    assert (1, 1) == (server.refreshes, server.token_requests)
    assert [stored.credential.secret if stored else None] * 3 == [r.secret for r in results]


async def test_a_refused_refresh_still_fails_when_nobody_else_refreshed(
    server: FakeOAuthServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A refused refresh with unchanged stored tokens still raises, and stores nothing."""
    server.fail_refresh = True
    path = tmp_path / "auth.json"
    old = OAuthCredential(
        access="old-access-token", refresh="revoked-refresh-token", expires_at=NOW
    )
    AuthStore(path=path).put(PROFILE, old)
    refresher = OAuthRefresher(endpoints={"anthropic": server.endpoints()}, client=client)

    with pytest.raises(RefreshFailedError) as raised:
        await credential_for(
            PROFILE, store=AuthStore(path=path), environ={}, refresher=refresher, now=NOW
        )

    stored = AuthStore(path=path).get(PROFILE)
    assert (FailureKind.AUTH, old) == (raised.value.kind, stored.credential if stored else None)
    assert ".." not in str(raised.value)


async def test_a_refused_refresh_with_a_description_ends_in_one_full_stop(
    server: FakeOAuthServer, client: httpx.AsyncClient
) -> None:
    """The server's error_description ("... is invalid.") is quoted without a double period."""
    old = OAuthCredential(access="old-access-token", refresh="not-a-refresh-token-we-issued")

    with pytest.raises(RefreshFailedError) as raised:
        await refresh_oauth(
            old,
            provider="anthropic",
            endpoints=server.endpoints(),
            client=client,
            clock=lambda: NOW,
        )

    message = str(raised.value)
    assert (True, False) == (
        message.endswith("(invalid_grant): The refresh token is invalid."),
        message.endswith(".."),
    )


ENDPOINT_ROWS = [
    pytest.param("https://a.example/x", "https://a.example/t", "c", (), id="fine"),
    pytest.param(
        "login.example.com/authorize", "https://a.example/t", "c", ("authorizeUrl",), id="no-scheme"
    ),
    pytest.param("https://a.example/x", "/token", "c", ("tokenUrl",), id="relative-token-url"),
    pytest.param("ftp://a.example/x", "https://a.example/t", "c", ("authorizeUrl",), id="ftp"),
    pytest.param(
        "https://a.example:99999/x", "https://a.example/t", "c", ("authorizeUrl",), id="port"
    ),
    pytest.param("https://a.example/x", "https://a.example/t#f", "c", ("tokenUrl",), id="fragment"),
    pytest.param(
        "https://a.example/x y", "https://a.example/t", "c", ("authorizeUrl",), id="space"
    ),
    pytest.param("https://a.example/x", "https://a.example/t", "", ("clientId",), id="no-client"),
    pytest.param("https://a.example/x", "https://a.example/t", " c", ("clientId",), id="padded"),
]


@pytest.mark.parametrize(("authorize", "token", "client", "bad"), ENDPOINT_ROWS)
def test_the_config_names_each_oauth_setting_no_login_could_use(
    authorize: str, token: str, client: str, bad: tuple[str, ...]
) -> None:
    """Each endpoint setting the OAuth flow would refuse is a config error under its key; good ones load."""
    oauth = {"authorizeUrl": authorize, "tokenUrl": token, "clientId": client}
    data = {"providers": {"anthropic": {"api": "anthropic", "oauth": oauth}}}
    try:
        load_config(data)
        errors: tuple[str, ...] = ()
    except ConfigError as error:
        errors = error.errors
    prefix = "$.providers.anthropic.oauth."

    assert bad == tuple(e.removeprefix(prefix).split(":")[0] for e in errors)
    for key in bad:  # and the flow itself refuses what the config refuses
        with pytest.raises(
            ValueError, match=key.replace("Url", "_url").replace("clientId", "client_id")
        ):
            OAuthEndpoints(authorize_url=authorize, token_url=token, client_id=client, scopes=())
