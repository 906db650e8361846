"""
Tests for declared auth modes: a profile's ``mode`` in the config decides which kinds
of stored credential it may send, and provider ids in orders are read case-insensitively.
"""

from __future__ import annotations

import pytest

from modelcfg import CredentialsError, ProfileId
from modelcfg.auth import (
    ApiKeyCredential,
    Credential,
    CredentialOrigin,
    MemoryAuthStore,
    OAuthCredential,
    TokenCredential,
    credential_for,
    effective_order,
    resolve_credential,
)

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
WORK = ProfileId.parse("anthropic:work")
KINDS: dict[str, Credential] = {
    "api_key": ApiKeyCredential(key="sk-ant-api-fake-0123456789abcdef"),
    "token": TokenCredential(token="sk-ant-oat-fake-token-0123456789"),
    "oauth": OAuthCredential(access="oauth-access-fake-0123456789", expires_at=NOW + 3600),
}
ACCEPTED = {
    ("api_key", "api_key"),
    ("api_key", "token"),
    ("api_key", "oauth"),
    ("token", "token"),
    ("oauth", "api_key"),
    ("oauth", "oauth"),
    ("oauth", "token"),
}
"""(declared mode, stored kind) pairs that are sent: ``api_key``, the mode of a profile
declared without one, takes anything; so does ``oauth`` (a subscription's setup token,
or the API key ``modelcfg login`` stores when the provider has no OAuth endpoints)."""


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("mode", ["api_key", "token", "oauth"])
async def test_a_declared_mode_sends_only_the_kinds_it_accepts(mode: str, kind: str) -> None:
    """A stored credential is sent only when the profile's declared mode accepts its kind."""
    store = MemoryAuthStore.of({WORK: KINDS[kind]})
    try:
        resolved = await credential_for(
            WORK, store=store, environ={}, now=NOW, order=[WORK], modes={WORK: mode}
        )
        sent = resolved.secret is not None
    except CredentialsError:
        sent = False

    assert ((mode, kind) in ACCEPTED) == sent


async def test_a_token_profile_refuses_an_oauth_login_naming_the_mismatch() -> None:
    """A profile declared mode token with an OAuth login stored is refused, the reason naming both and the fix."""
    store = MemoryAuthStore.of({WORK: KINDS["oauth"]})

    with pytest.raises(CredentialsError) as info:
        await credential_for(
            WORK, store=store, environ={}, now=NOW, order=[WORK], modes={WORK: "token"}
        )

    assert (
        "Profile anthropic:work cannot be used (the config declares mode token for it, "
        "but the auth store holds an OAuth login); log in with that mode "
        "(`modelcfg login anthropic --profile work`), or declare the mode of what is stored "
        'under $.auth.profiles["anthropic:work"].mode.'
    ) == str(info.value)


def test_resolution_skips_a_mismatched_profile_and_says_why() -> None:
    """Along the order, a profile whose stored kind its mode refuses is passed over with the reason, and the next one is used."""
    other = ProfileId.parse("anthropic:other")
    store = MemoryAuthStore.of({WORK: KINDS["oauth"], other: KINDS["api_key"]})

    resolved = resolve_credential(
        "anthropic",
        store=store,
        environ={},
        order=[WORK, other],
        now=NOW,
        modes={WORK: "token"},
    )

    assert (CredentialOrigin.PROFILE, other) == (resolved.origin, resolved.profile)
    assert (
        "anthropic:work skipped: the config declares mode token for it, "
        "but the auth store holds an OAuth login",
    ) == resolved.skipped


def test_order_keys_are_read_case_insensitively() -> None:
    """A provider written with capitals finds the order stored under its lower-cased id."""
    store = MemoryAuthStore.of({WORK: KINDS["api_key"]})
    store.set_order("Anthropic", [WORK])

    assert ((WORK,), (WORK,)) == (
        effective_order("ANTHROPIC", store=store),
        store.order("anthropic"),
    )
