"""
Tests for credential resolution: explicit profile, order, environment, none, and OAuth refresh.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from modelcfg import CredentialsError, ProfileId
from modelcfg._fileio import exclusive_lock
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    CredentialOrigin,
    MemoryAuthStore,
    OAuthCredential,
    RefreshFailedError,
    ResolvedCredential,
    Secret,
    TokenCredential,
    credential_for,
    effective_order,
    env_vars_for,
    resolve_credential,
)

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
WORK = ProfileId.parse("anthropic:work")
DEFAULT = ProfileId.parse("anthropic:default")
ENV = {"ANTHROPIC_API_KEY": "env-key-0123456789abcdef"}


def _key(name: str) -> ApiKeyCredential:
    return ApiKeyCredential(key=f"{name}-key-0123456789abcdef")


def _store(**profiles: ApiKeyCredential | TokenCredential | OAuthCredential) -> MemoryAuthStore:
    return MemoryAuthStore.of({f"anthropic:{name}": cred for name, cred in profiles.items()})


RESOLUTION_CASES = [
    pytest.param(
        {"work": _key("work"), "default": _key("default")},
        {"profile": "anthropic:work"},
        ENV,
        "profile anthropic:work (auth store)",
        id="explicit-profile-wins",
    ),
    pytest.param(
        {"work": _key("work"), "default": _key("default")},
        {"order": ["anthropic:work", "anthropic:default"]},
        ENV,
        "profile anthropic:work (auth store)",
        id="config-order",
    ),
    pytest.param(
        {"work": _key("work"), "default": _key("default")},
        {},
        ENV,
        "profile anthropic:default (auth store)",
        id="no-order-default-first",
    ),
    pytest.param(
        {"work": TokenCredential(token="expired-token-0000000", expires_at=NOW - 1)},
        {"order": ["anthropic:missing", "anthropic:work"]},
        ENV,
        "environment variable ANTHROPIC_API_KEY",
        id="missing-and-expired-skipped-to-env",
    ),
    pytest.param(
        {"work": TokenCredential(token="live-token-000000000", expires_at=NOW + 5)},
        {},
        ENV,
        "profile anthropic:work (auth store)",
        id="unexpired-token-used",
    ),
    pytest.param(
        {"work": OAuthCredential(access="old-access-0000000000", refresh="r" * 20, expires_at=1)},
        {},
        {},
        "profile anthropic:work (auth store)",
        id="expired-oauth-with-refresh-still-usable",
    ),
    pytest.param(
        {"work": OAuthCredential(access="old-access-0000000000", expires_at=1)},
        {},
        ENV,
        "environment variable ANTHROPIC_API_KEY",
        id="expired-oauth-without-refresh-skipped",
    ),
    pytest.param(
        {},
        {"profile": "anthropic:default"},
        ENV,
        "environment variable ANTHROPIC_API_KEY",
        id="explicit-default-falls-back-to-env",
    ),
    pytest.param({}, {}, {"ANTHROPIC_API_KEY": "  "}, "none", id="blank-env-is-none"),
]


@pytest.mark.parametrize(("profiles", "kwargs", "environ", "source"), RESOLUTION_CASES)
def test_resolution_order(
    profiles: dict[str, ApiKeyCredential | TokenCredential | OAuthCredential],
    kwargs: dict[str, object],
    environ: dict[str, str],
    source: str,
) -> None:
    """Resolution goes explicit profile, order, environment, none, and reports the source."""
    store = _store(**profiles)

    resolved = resolve_credential(
        "anthropic",
        store=store,
        environ=environ,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )

    assert source == resolved.source


def test_store_order_override_beats_config_order() -> None:
    """An order set in the store (auth order set) wins over the config's auth.order."""
    store = _store(work=_key("work"), default=_key("default"))
    store.set_order("anthropic", [DEFAULT])

    order = effective_order("anthropic", store=store, order=["anthropic:work"])

    assert (DEFAULT,) == order


def test_config_order_drops_other_providers() -> None:
    """Profiles of another provider in the config order are ignored."""
    store = _store()

    order = effective_order("anthropic", store=store, order=["openai:default", "anthropic:work"])

    assert (WORK,) == order


def test_skipped_candidates_are_explained() -> None:
    """Every profile passed over gets one sentence saying why."""
    store = _store(work=TokenCredential(token="expired-token-0000000", expires_at=NOW - 1))

    resolved = resolve_credential(
        "anthropic",
        store=store,
        environ=ENV,
        order=["anthropic:gone", "anthropic:work"],
        now=NOW,
    )

    assert (
        "anthropic:gone skipped: not in the auth store",
        "anthropic:work skipped: its token expired at 2027-01-15 07:59:59 UTC",
    ) == resolved.skipped


def test_environment_secret_and_variable_are_reported() -> None:
    """A key from the environment carries its variable name and the value as a Secret."""
    resolved = resolve_credential("Anthropic", store=_store(), environ=ENV, now=NOW)

    assert (
        ResolvedCredential(
            provider="anthropic",
            origin=CredentialOrigin.ENVIRONMENT,
            secret=Secret(value=ENV["ANTHROPIC_API_KEY"]),
            env_var="ANTHROPIC_API_KEY",
            skipped=("anthropic:default skipped: not in the auth store",),
        )
        == resolved
    )


@pytest.mark.parametrize(
    ("provider", "declared", "hint"),
    [
        (
            "anthropic",
            (),
            "No credentials for anthropic: set ANTHROPIC_API_KEY or run "
            "`modelcfg login anthropic`.",
        ),
        (
            "google",
            (),
            "No credentials for google: set GEMINI_API_KEY or GOOGLE_API_KEY or run "
            "`modelcfg login google`.",
        ),
        (
            "acme",
            ("ACME_KEY",),
            "No credentials for acme: set ACME_KEY or run `modelcfg login acme`.",
        ),
        (
            "acme",
            (),
            "No credentials for acme: run `modelcfg login acme`, or declare the "
            "environment variable that holds its key in the provider's config.",
        ),
    ],
    ids=["anthropic", "google-two-vars", "declared-var", "unknown-provider"],
)
def test_none_gives_a_hint_naming_what_to_set(
    provider: str, declared: tuple[str, ...], hint: str
) -> None:
    """With nothing found, the hint names the variables to set and the login command."""
    resolved = resolve_credential(provider, store=_store(), environ={}, env_vars=declared)

    assert (CredentialOrigin.NONE, hint) == (resolved.origin, resolved.hint)
    with pytest.raises(CredentialsError, match="No credentials"):
        resolved.require()


def test_declared_env_vars_come_first() -> None:
    """Variables the provider declares in config are tried before the well-known ones."""
    environ = {"OPENAI_API_KEY": "well-known-0123456789", "MY_OPENAI": "declared-0123456789"}

    resolved = resolve_credential("openai", store=_store(), environ=environ, env_vars=["MY_OPENAI"])

    assert ("MY_OPENAI", ("MY_OPENAI", "OPENAI_API_KEY")) == (
        resolved.env_var,
        env_vars_for("openai", ["MY_OPENAI"]),
    )


@pytest.mark.parametrize(
    ("profiles", "profile", "message"),
    [
        (
            {},
            "anthropic:work",
            "not in the auth store; run `modelcfg login anthropic --profile work`",
        ),
        (
            {"work": TokenCredential(token="expired-token-0000000", expires_at=NOW - 1)},
            "anthropic:work",
            "cannot be used",
        ),
    ],
    ids=["missing", "expired"],
)
def test_an_explicit_profile_that_cannot_be_used_is_an_error(
    profiles: dict[str, TokenCredential], profile: str, message: str
) -> None:
    """A profile the user named explicitly is never silently replaced by another credential."""
    store = _store(**profiles)

    with pytest.raises(CredentialsError, match=message):
        resolve_credential("anthropic", store=store, environ=ENV, profile=profile, now=NOW)


def test_an_explicit_profile_of_another_provider_is_refused() -> None:
    """Asking for openai with an anthropic profile is a programming error."""

    with pytest.raises(ValueError, match="belongs to provider 'anthropic'"):
        resolve_credential("openai", store=_store(), environ={}, profile=WORK)


def test_oauth_close_to_expiry_needs_refresh() -> None:
    """An OAuth token expiring within the skew is flagged for refresh, not skipped."""
    cred = OAuthCredential(access="a" * 20, refresh="r" * 20, expires_at=NOW + 30)

    soon = resolve_credential("anthropic", store=_store(work=cred), environ={}, now=NOW)
    later = resolve_credential(
        "anthropic", store=_store(work=cred), environ={}, now=NOW, refresh_skew_s=10
    )

    assert (True, False) == (soon.needs_refresh, later.needs_refresh)


class FakeRefresher:
    """
    Returns scripted tokens, or raises, and counts calls.
    """

    def __init__(self, result: OAuthCredential | Exception) -> None:
        self.result = result
        self.calls: list[ProfileId] = []

    async def __call__(self, profile: ProfileId, credential: OAuthCredential) -> OAuthCredential:
        self.calls.append(profile)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


OLD = OAuthCredential(
    access="old-access-0000000000", refresh="old-refresh-00000000", expires_at=NOW + 10
)
NEW = OAuthCredential(
    access="new-access-0000000000", refresh="new-refresh-00000000", expires_at=NOW + 3600
)


async def test_credential_for_refreshes_and_writes_back() -> None:
    """An OAuth token within the skew is refreshed and the new tokens are stored."""
    store = _store(work=OLD)
    refresher = FakeRefresher(NEW)

    resolved = await credential_for(WORK, store=store, environ={}, refresher=refresher, now=NOW)
    stored = store.get(WORK)

    assert ([WORK], NEW.access, NEW) == (
        refresher.calls,
        resolved.secret,
        stored.credential if stored else None,
    )


async def test_a_refresh_under_way_stores_its_tokens_when_the_caller_is_cancelled() -> None:
    """Cancelled while the token server answers, the refresh still writes the rotated tokens back."""
    store = _store(work=OLD)
    answering = anyio.Event()

    async def slow_refresher(profile: ProfileId, credential: OAuthCredential) -> OAuthCredential:
        answering.set()
        await anyio.sleep(0.2)  # the server has spent the old refresh token meanwhile
        return NEW

    async with anyio.create_task_group() as tg:

        async def refresh() -> None:
            await credential_for(WORK, store=store, environ={}, refresher=slow_refresher, now=NOW)

        tg.start_soon(refresh)
        await answering.wait()
        tg.cancel_scope.cancel()
    stored = store.get(WORK)

    assert NEW == (stored.credential if stored else None)


async def test_credential_for_does_not_refresh_a_fresh_token() -> None:
    """A token far from expiry is used as it is."""
    store = _store(work=NEW)
    refresher = FakeRefresher(OLD)

    resolved = await credential_for(WORK, store=store, environ={}, refresher=refresher, now=NOW)

    assert ([], NEW.access) == (refresher.calls, resolved.secret)


async def test_credential_for_keeps_tokens_another_writer_stored_first() -> None:
    """When another process refreshed meanwhile, its tokens win and ours are dropped."""
    store = _store(work=OLD)
    theirs = OAuthCredential(access="their-access-00000000", refresh="their-refresh-0000000")

    class Racing(FakeRefresher):
        async def __call__(
            self, profile: ProfileId, credential: OAuthCredential
        ) -> OAuthCredential:
            store.put(profile, theirs)
            return await super().__call__(profile, credential)

    resolved = await credential_for(WORK, store=store, environ={}, refresher=Racing(NEW), now=NOW)

    assert (theirs.access, theirs) == (resolved.secret, store.get(WORK).credential)  # type: ignore[union-attr]


async def test_credential_for_propagates_a_refresh_failure_as_auth() -> None:
    """A refused refresh raises RefreshFailedError (a CredentialsError) and stores nothing."""
    store = _store(work=OLD)
    failure = RefreshFailedError(
        "refused", provider="anthropic", profile=WORK, error="invalid_grant"
    )

    with pytest.raises(CredentialsError) as raised:
        await credential_for(
            WORK, store=store, environ={}, refresher=FakeRefresher(failure), now=NOW
        )

    assert ("auth", OLD) == (
        raised.value.to_failure(observed_at=NOW).kind.value,  # type: ignore[attr-defined]
        store.get(WORK).credential,  # type: ignore[union-attr]
    )


async def test_credential_for_without_refresher_uses_a_still_valid_token() -> None:
    """Without a refresher, a token inside the skew but not yet expired is still used."""
    resolved = await credential_for(WORK, store=_store(work=OLD), environ={}, now=NOW)

    assert OLD.access == resolved.secret


async def test_credential_for_without_refresher_refuses_an_expired_token() -> None:
    """Without a refresher, an expired OAuth token is an error that says how to fix it."""
    store = _store(work=OLD)

    with pytest.raises(
        CredentialsError, match=r"nothing can refresh it.*configure OAuth endpoints"
    ):
        await credential_for(WORK, store=store, environ={}, now=NOW + 60)


async def test_credential_for_default_falls_back_to_the_environment() -> None:
    """provider:default with nothing stored uses the provider's environment variable."""
    resolved = await credential_for("anthropic:default", store=_store(), environ=ENV, now=NOW)

    assert "environment variable ANTHROPIC_API_KEY" == resolved.source


@pytest.mark.parametrize(
    ("profile", "environ", "message"),
    [
        ("anthropic:default", {}, "set ANTHROPIC_API_KEY"),
        ("anthropic:work", ENV, "modelcfg login anthropic --profile work"),
    ],
    ids=["default-without-env", "named-missing"],
)
async def test_credential_for_missing_profile_is_an_error(
    profile: str, environ: dict[str, str], message: str
) -> None:
    """A profile with no credential raises CredentialsError with the command to run."""

    with pytest.raises(CredentialsError, match=message):
        await credential_for(profile, store=_store(), environ=environ, now=NOW)


async def test_credential_for_does_not_resurrect_a_profile_removed_during_refresh() -> None:
    """A logout while a refresh is in flight wins: the refreshed tokens are not stored."""
    store = _store(work=OLD)

    class Removing(FakeRefresher):
        async def __call__(
            self, profile: ProfileId, credential: OAuthCredential
        ) -> OAuthCredential:
            store.remove(profile)
            return await super().__call__(profile, credential)

    with pytest.raises(CredentialsError, match="was removed"):
        await credential_for(WORK, store=store, environ={}, refresher=Removing(NEW), now=NOW)

    assert None is store.get(WORK)


async def test_credential_for_does_not_block_the_event_loop_while_the_store_is_locked(
    tmp_path: Path,
) -> None:
    """While another writer holds the store's lock, the write-back waits in a worker thread
    and other tasks keep running."""
    path = tmp_path / "auth.json"
    AuthStore(path=path).put(WORK, OLD)
    ticks = 0
    locked = anyio.Event()

    async def hold_the_lock() -> None:
        with exclusive_lock(path):
            locked.set()
            await anyio.sleep(0.5)

    async def tick() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.02)
            ticks += 1

    async with anyio.create_task_group() as group:
        group.start_soon(hold_the_lock)
        await locked.wait()
        group.start_soon(tick)
        resolved = await credential_for(
            WORK, store=AuthStore(path=path), environ={}, refresher=FakeRefresher(NEW), now=NOW
        )
        ticked_while_waiting = ticks
        group.cancel_scope.cancel()

    assert NEW.access == resolved.secret
    # A write-back that blocked the loop for the lock's half second would leave no tick.
    assert ticked_while_waiting >= 3


# --- one rule for the CLI and the executor -------------------------------------------------------

STATES: dict[str, ApiKeyCredential | TokenCredential | OAuthCredential | None] = {
    "missing": None,
    "key": _key("stored"),
    "expired-token": TokenCredential(token="expired-token-0000000", expires_at=NOW - 1),
    "live-token": TokenCredential(token="live-token-000000000", expires_at=NOW + 3600),
    "expired-oauth": OAuthCredential(
        access="old-access-0000000000", refresh="old-refresh-00000000", expires_at=NOW - 1
    ),
    "dead-oauth": OAuthCredential(access="dead-access-000000000", expires_at=NOW - 1),
}
"""What a profile of the order may hold."""


class EndpointsFor(FakeRefresher):
    """
    A refresher that, like OAuthRefresher, says which providers it can refresh.
    """

    def __init__(self, result: OAuthCredential, *, providers: frozenset[str]) -> None:
        super().__init__(result)
        self.providers = providers

    def can_refresh(self, provider: str) -> bool:
        return provider in self.providers


async def _runtime(
    order: tuple[ProfileId, ...], store: MemoryAuthStore, environ: dict[str, str], refresher: Any
) -> tuple[ProfileId, ResolvedCredential] | None:
    """
    What the executor does: credential_for() along the order, rotating past CredentialsError.
    """
    for profile in order:
        try:
            return profile, await credential_for(
                profile, store=store, environ=environ, refresher=refresher, now=NOW, order=order
            )
        except CredentialsError:
            continue
    return None


@pytest.mark.parametrize("refreshes", [True, False], ids=["endpoints", "no-endpoints"])
@pytest.mark.parametrize("env", [True, False], ids=["env", "no-env"])
async def test_resolution_reports_what_the_runtime_sends(refreshes: bool, env: bool) -> None:
    """For every pair of profile states, resolve_credential() names what credential_for() sends."""
    environ = ENV if env else {}
    order = (WORK, DEFAULT)
    disagreements = []
    for (first, a), (second, b) in itertools.product(STATES.items(), repeat=2):
        store = _store(**{n: c for n, c in (("work", a), ("default", b)) if c is not None})
        refresher = EndpointsFor(NEW, providers=frozenset({"anthropic"} if refreshes else ()))

        reported = resolve_credential(
            "anthropic", store=store, environ=environ, order=order, now=NOW, can_refresh=refreshes
        )
        runtime = await _runtime(order, store, environ, refresher)

        expected_secret = NEW.access if reported.needs_refresh else reported.secret
        sent = None if runtime is None else runtime[1].secret
        used = None if runtime is None else runtime[0]
        expected_profile = reported.profile or (order[0] if reported.found else None)
        if (expected_secret, expected_profile) != (sent, used):
            disagreements.append(f"{first}+{second}")

    assert [] == disagreements


async def test_the_environment_stands_in_once_for_an_order_with_nothing_usable() -> None:
    """Only the order's first profile gets the environment key, so rotation never resends it."""
    order = (WORK, DEFAULT)

    first = await credential_for(WORK, store=_store(), environ=ENV, now=NOW, order=order)
    with pytest.raises(CredentialsError, match="anthropic:default is not in the auth store"):
        await credential_for(DEFAULT, store=_store(), environ=ENV, now=NOW, order=order)

    assert (
        "environment variable ANTHROPIC_API_KEY",
        (
            "anthropic:work skipped: not in the auth store",
            "anthropic:default skipped: not in the auth store",
        ),
    ) == (first.source, first.skipped)


async def test_a_usable_profile_later_in_the_order_keeps_the_environment_out() -> None:
    """A missing provider:default before a stored profile rotates instead of using the environment."""
    store = _store(work=_key("work"))

    with pytest.raises(CredentialsError, match="anthropic:default is not in the auth store"):
        await credential_for(DEFAULT, store=store, environ=ENV, now=NOW, order=(DEFAULT, WORK))
    reported = resolve_credential(
        "anthropic", store=store, environ=ENV, order=(DEFAULT, WORK), now=NOW
    )

    assert "profile anthropic:work (auth store)" == reported.source


async def test_without_an_order_only_default_falls_back_to_the_environment() -> None:
    """With order=None (a caller that does not know it), provider:default alone falls back."""
    default = await credential_for(DEFAULT, store=_store(), environ=ENV, now=NOW)
    with pytest.raises(CredentialsError, match="anthropic:work is not in the auth store"):
        await credential_for(WORK, store=_store(), environ=ENV, now=NOW)

    assert CredentialOrigin.ENVIRONMENT == default.origin


async def test_an_oauth_refresher_without_endpoints_for_the_provider_cannot_refresh() -> None:
    """An expired OAuth token of a provider the refresher has no endpoints for is skipped, not refreshed."""
    from modelcfg.auth import OAuthRefresher
    from modelcfg.testing._oauth import FakeOAuthServer

    store = _store(default=STATES["expired-oauth"])  # type: ignore[arg-type]
    with FakeOAuthServer() as server:
        async with httpx.AsyncClient() as client:
            refresher = OAuthRefresher(endpoints={"openai": server.endpoints()}, client=client)
            resolved = await credential_for(
                DEFAULT, store=store, environ=ENV, refresher=refresher, now=NOW, order=(DEFAULT,)
            )

    assert (False, True) == (refresher.can_refresh("anthropic"), refresher.can_refresh("openai"))
    assert (CredentialOrigin.ENVIRONMENT, 0) == (resolved.origin, server.token_requests)
    assert "nothing can refresh it, since anthropic has no OAuth endpoints" in resolved.skipped[0]


def test_resolution_skips_an_expired_oauth_token_nothing_can_refresh() -> None:
    """With can_refresh=False an expired OAuth token with a refresh token is skipped, saying why."""
    store = _store(default=STATES["expired-oauth"])  # type: ignore[arg-type]

    refreshable = resolve_credential("anthropic", store=store, environ={}, now=NOW)
    stuck = resolve_credential("anthropic", store=store, environ={}, now=NOW, can_refresh=False)

    assert (CredentialOrigin.PROFILE, True) == (refreshable.origin, refreshable.needs_refresh)
    assert CredentialOrigin.NONE == stuck.origin
    assert (
        "anthropic:default skipped: its OAuth access token expired at 2027-01-15 07:59:59 UTC "
        "and nothing can refresh it, since anthropic has no OAuth endpoints",
    ) == stuck.skipped


async def test_an_explicit_expired_oauth_profile_says_to_configure_endpoints() -> None:
    """The error for an unrefreshable OAuth profile names both fixes: endpoints or a new login."""
    store = _store(work=STATES["expired-oauth"])  # type: ignore[arg-type]

    with pytest.raises(CredentialsError) as raised:
        await credential_for(WORK, store=store, environ=ENV, now=NOW)

    assert (
        "Profile anthropic:work cannot be used (its OAuth access token expired at 2027-01-15 "
        "07:59:59 UTC and nothing can refresh it, since anthropic has no OAuth endpoints); "
        "configure OAuth endpoints under $.providers.anthropic.oauth, or run "
        "`modelcfg login anthropic --profile work`."
    ) == str(raised.value)


def test_without_the_environment_each_skipped_profile_is_explained_once() -> None:
    """With nothing usable and no key set, skipped names each profile of the order once."""
    store = _store(work=TokenCredential(token="expired-token-0000000", expires_at=NOW - 1))

    resolved = resolve_credential(
        "anthropic", store=store, environ={}, order=["anthropic:gone", "anthropic:work"], now=NOW
    )

    assert (
        CredentialOrigin.NONE,
        (
            "anthropic:gone skipped: not in the auth store",
            "anthropic:work skipped: its token expired at 2027-01-15 07:59:59 UTC",
        ),
    ) == (resolved.origin, resolved.skipped)
