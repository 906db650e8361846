"""
Tests that a credential never shows outside the auth store file.

A canary secret goes through every path (API key, token, OAuth tokens from the
fake server, the environment, legacy files) and must never appear in a repr, a
str, an exception message, a log record, or any file but the auth store.
"""

from __future__ import annotations

import copy
import json
import logging
import pickle
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import attrs
import cattrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from modelcfg import CredentialsError, ProfileId
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    OAuthCredential,
    OAuthEndpoints,
    OAuthError,
    OAuthRefresher,
    RefreshFailedError,
    Secret,
    StoredProfile,
    TokenCredential,
    credential_for,
    import_legacy_auth,
    login_api_key,
    login_oauth,
    refresh_oauth,
    resolve_credential,
)
from modelcfg.testing._oauth import FakeOAuthServer

pytestmark = pytest.mark.anyio

MARK = "DO-NOT-LEAK"
CANARY = f"sk-canary-{MARK}-0123456789"
NOW = 1_800_000_000.0


@pytest.fixture
def server() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer(token_prefix=f"sk-canary-{MARK}-", email="me@example.com") as fake:
        yield fake


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


def _shown(*objects: object) -> str:
    return "\n".join(f"{o!r}\n{o!s}\n{o}" for o in objects)


def test_secret_repr_str_and_format_hide_the_value() -> None:
    """repr, str and f-strings of a Secret show a masked form only; reveal() gives the value."""
    secret = Secret(value=CANARY)

    assert ("Secret('sk-…')", "Secret('sk-…')", "Secret('sk-…')", CANARY) == (
        repr(secret),
        str(secret),
        f"{secret}",
        secret.reveal(),
    )
    assert "sk-…6789" == secret.masked()


@given(
    hst.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8)
)
def test_no_secret_of_eight_or_more_characters_appears_in_its_repr(value: str) -> None:
    """Whatever the value, repr() of its Secret never contains it."""

    assert value not in repr(Secret(value=value))


def test_secret_cannot_be_pickled_but_copies_are_itself() -> None:
    """Pickling (a way into caches and queues) is refused; copying is harmless."""
    secret = Secret(value=CANARY)

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert (secret, secret) == (copy.copy(secret), copy.deepcopy(secret))


def _holds_value(data: object, value: str) -> bool:
    """
    Whether *value* appears as a string anywhere inside *data* (dicts, lists, tuples).
    """
    match data:
        case str():
            return value in data
        case dict():
            return any(_holds_value(k, value) or _holds_value(v, value) for k, v in data.items())
        case list() | tuple():
            return any(_holds_value(item, value) for item in data)
        case _:
            return False


_RECORDS = [
    pytest.param(ApiKeyCredential(key=CANARY), id="api-key"),
    pytest.param(TokenCredential(token=CANARY, expires_at=NOW), id="token"),
    pytest.param(OAuthCredential(access=CANARY, refresh=CANARY + "r"), id="oauth"),
    pytest.param(
        StoredProfile(
            profile=ProfileId.parse("openai:work"), credential=ApiKeyCredential(key=CANARY)
        ),
        id="stored-profile",
    ),
]


@pytest.mark.parametrize("record", _RECORDS)
def test_attrs_asdict_and_cattrs_never_copy_a_secret_value(record: object) -> None:
    """attrs.asdict(), attrs.astuple() and cattrs keep the Secret object, never its value."""
    dumped = (
        attrs.asdict(record),  # type: ignore[arg-type]
        attrs.astuple(record),  # type: ignore[arg-type]
        cattrs.unstructure(record),
        cattrs.Converter().unstructure(record),
    )

    assert [False] * 4 == [_holds_value(d, CANARY) for d in dumped]
    assert MARK not in repr(dumped)


def test_secrets_compare_and_hash_by_value() -> None:
    """Two Secrets with the same value are equal and hash alike; other values and types differ."""
    same = {Secret(value=CANARY), Secret(value=CANARY)}

    assert 1 == len(same)
    assert Secret(value=CANARY) != Secret(value=CANARY + "x")
    assert Secret(value=CANARY) != CANARY
    assert ApiKeyCredential(key=CANARY) == ApiKeyCredential(key=CANARY)


def test_secret_is_immutable_and_has_no_instance_dict() -> None:
    """A Secret cannot be changed after it is made and has no __dict__ to dump."""
    secret = Secret(value=CANARY)

    with pytest.raises(AttributeError):
        secret._value = "other"
    assert not hasattr(secret, "__dict__")
    assert CANARY == secret.reveal()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param("", ValueError, id="empty"),
        pytest.param(" sk-x", ValueError, id="leading-space"),
        pytest.param(42, TypeError, id="not-a-string"),
    ],
)
def test_secret_refuses_bad_values(value: object, error: type[Exception]) -> None:
    """An empty, padded or non-string value is refused with a sentence."""
    with pytest.raises(error, match="secret must be"):
        Secret(value=value)  # type: ignore[arg-type]


def test_credentials_and_stored_profiles_hide_secrets(tmp_path: Path) -> None:
    """No credential kind, stored profile or resolution shows the canary."""
    store = AuthStore(path=tmp_path / "auth.json")
    login_api_key(store, "anthropic", key=CANARY)
    store.put("openai:tok", TokenCredential(token=CANARY, expires_at=NOW + 60))
    store.put("google:o", OAuthCredential(access=CANARY, refresh=CANARY + "r", email="a@b.c"))
    resolved = [
        resolve_credential(p, store=store, environ={}, now=NOW)
        for p in ("anthropic", "openai", "google")
    ]
    from_env = resolve_credential("groq", store=store, environ={"GROQ_API_KEY": CANARY})

    shown = _shown(store, *store.profiles(), *resolved, from_env, *(r.credential for r in resolved))

    assert MARK not in shown
    assert [CANARY] * 4 == [r.require().reveal() for r in (*resolved, from_env)]


def test_only_the_auth_store_file_holds_the_secret(tmp_path: Path) -> None:
    """After storing and importing, the canary is in auth.json and in no other file we wrote."""
    home = tmp_path / "home"
    store = AuthStore(path=home / "auth.json")
    login_api_key(store, "anthropic", key=CANARY)
    legacy = tmp_path / "legacy" / "oauth.json"
    legacy.parent.mkdir()
    legacy.write_text(json.dumps({"openai": {"access": CANARY}}))
    result = import_legacy_auth(store, oauth_json=legacy, environ={"GROQ_API_KEY": CANARY})
    report = json.dumps(
        {"changes": result.changes, "notes": result.notes, "seeds": result.order_seeds}
    )

    holders = sorted(p.name for p in home.iterdir() if MARK in p.read_text(errors="replace"))

    assert ["auth.json"] == holders
    assert MARK not in report + _shown(result)


def test_exceptions_never_carry_the_secret(tmp_path: Path) -> None:
    """Errors about an expired or malformed credential name the profile, never the value."""
    store = AuthStore(path=tmp_path / "auth.json")
    store.put("openai:tok", TokenCredential(token=CANARY, expires_at=NOW - 1))
    bad = tmp_path / "bad" / "auth.json"
    bad.parent.mkdir()
    bad.write_text(
        json.dumps({"version": 1, "profiles": {"openai:x": {"kind": "?", "key": CANARY}}})
    )
    messages = []
    with pytest.raises(CredentialsError) as expired:
        resolve_credential("openai", store=store, environ={}, profile="openai:tok", now=NOW)
    messages.append(str(expired.value))
    with pytest.raises(Exception) as corrupt:  # noqa: PT011 - any error, checked below
        AuthStore(path=bad).profiles()
    messages.append(str(corrupt.value))
    with pytest.raises(ValueError) as spaced:  # noqa: PT011 - the message is checked below
        login_api_key(store, "openai", key=f"{CANARY} {CANARY}")
    messages.append(str(spaced.value))

    assert MARK not in "\n".join(messages)


async def test_an_echoing_token_endpoint_cannot_leak_the_refresh_token() -> None:
    """A token endpoint that echoes our refresh token in its error gets it redacted."""

    def echo(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": f"bad token in {body}"}
        )

    endpoints = OAuthEndpoints(
        authorize_url="http://127.0.0.1:1/a", token_url="http://127.0.0.1:1/t", client_id="c"
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as http:
        with pytest.raises(RefreshFailedError) as raised:
            await refresh_oauth(
                OAuthCredential(access="a-access-token", refresh=CANARY),
                provider="anthropic",
                endpoints=endpoints,
                client=http,
                profile=ProfileId.parse("anthropic:default"),
            )
    failure = raised.value.to_failure(observed_at=NOW)

    assert MARK not in _shown(raised.value, failure, failure.message)
    assert "invalid_grant" == failure.code


async def test_oauth_login_and_refresh_never_log_or_show_tokens(
    tmp_path: Path,
    server: FakeOAuthServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full OAuth login, a refresh and a failed refresh, logged at DEBUG, never show a token."""
    caplog.set_level(logging.DEBUG)
    store = AuthStore(path=tmp_path / "auth.json")

    async def open_url(url: str) -> None:
        await client.get(url, follow_redirects=True)

    profile = await login_oauth(
        store,
        "anthropic",
        endpoints=server.endpoints(),
        client=client,
        open_url=open_url,
        clock=lambda: NOW - 3600 + 30,
    )
    refresher = OAuthRefresher(endpoints={"anthropic": server.endpoints()}, client=client)
    refreshed = await credential_for(profile, store=store, environ={}, refresher=refresher, now=NOW)
    stored = store.get(profile)
    assert stored is not None
    store.replace_if_unchanged(
        profile,
        expected=stored.credential,
        new=_expired(stored.credential),
    )
    server.fail_refresh = True
    with pytest.raises(OAuthError) as failed:
        await credential_for(profile, store=store, environ={}, refresher=refresher, now=NOW)

    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)

    assert 1 == server.refreshes
    assert MARK in refreshed.require().reveal()
    assert MARK not in logged + _shown(refreshed, stored, failed.value)
    assert MARK not in "".join(
        p.read_text() for p in tmp_path.iterdir() if p.name != "auth.json" and p.is_file()
    )


def _expired(credential: object) -> OAuthCredential:
    """
    Return *credential* (OAuth) with an access token that has already expired.
    """
    assert isinstance(credential, OAuthCredential)
    return OAuthCredential(
        access=credential.access,
        refresh=credential.refresh,
        expires_at=NOW - 1,
        email=credential.email,
    )


def test_api_key_and_environment_paths_never_log_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Storing, resolving and importing a key, logged at DEBUG, never log it."""
    caplog.set_level(logging.DEBUG)
    store = AuthStore(path=tmp_path / "auth.json")
    login_api_key(store, "anthropic", key=CANARY, profile_name="work")
    resolve_credential("anthropic", store=store, environ={}, order=["anthropic:work"])
    resolve_credential("openai", store=store, environ={"OPENAI_API_KEY": CANARY})
    import_legacy_auth(store, environ={"OPENAI_API_KEY": CANARY})

    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)

    assert MARK not in logged
    assert any("Added openai:default" in r.getMessage() for r in caplog.records)
