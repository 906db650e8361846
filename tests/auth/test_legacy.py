"""
Tests for seeding the auth store from legacy auth.json, oauth.json and environment keys.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from modelcfg import ProfileId
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    Credential,
    MemoryAuthStore,
    OAuthCredential,
    TokenCredential,
    import_legacy_auth,
)

KEY = "sk-legacy-0123456789abcdef"
OTHER = "sk-other-0123456789abcdef"

AUTH_SHAPES = [
    pytest.param(
        {"anthropic": {"apiKey": KEY}}, "anthropic:default", ApiKeyCredential(key=KEY), id="apiKey"
    ),
    pytest.param(
        {"openai": {"api_key": KEY}}, "openai:default", ApiKeyCredential(key=KEY), id="api_key"
    ),
    pytest.param({"groq": KEY}, "groq:default", ApiKeyCredential(key=KEY), id="bare-string"),
    pytest.param(
        {"ANTHROPIC_API_KEY": KEY},
        "anthropic:default",
        ApiKeyCredential(key=KEY),
        id="flat-env-name",
    ),
    pytest.param(
        {"GEMINI_API_KEY": KEY}, "google:default", ApiKeyCredential(key=KEY), id="gemini-env-name"
    ),
    pytest.param(
        {"ACME_API_KEY": KEY}, "acme:default", ApiKeyCredential(key=KEY), id="unknown-env-name"
    ),
    pytest.param(
        {"mistral": {"token": KEY, "expires": 1_900_000_000_000}},
        "mistral:default",
        TokenCredential(token=KEY, expires_at=1_900_000_000.0),
        id="token-with-millisecond-expiry",
    ),
    pytest.param(
        {"anthropic": {"type": "oauth", "access": KEY, "refresh": OTHER, "expires": 1_900_000_000}},
        "anthropic:default",
        OAuthCredential(access=KEY, refresh=OTHER, expires_at=1_900_000_000.0),
        id="oauth-entry",
    ),
    pytest.param(
        {"profiles": {"anthropic:work": {"type": "api_key", "key": KEY}}},
        "anthropic:work",
        ApiKeyCredential(key=KEY),
        id="named-profiles",
    ),
]


@pytest.mark.parametrize(("content", "profile", "credential"), AUTH_SHAPES)
def test_auth_json_shapes_are_imported(
    tmp_path: Path, content: dict[str, object], profile: str, credential: Credential
) -> None:
    """Each accepted auth.json shape becomes the documented profile and credential."""
    legacy = tmp_path / "auth.json"
    legacy.write_text(json.dumps(content))
    store = MemoryAuthStore()

    result = import_legacy_auth(store, auth_json=legacy)
    stored = store.get(profile)

    assert ((ProfileId.parse(profile),), credential) == (
        result.added,
        stored.credential if stored else None,
    )


def test_oauth_json_is_imported_with_iso_expiry(tmp_path: Path) -> None:
    """oauth.json entries become OAuth profiles; ISO 8601 expiry and email are kept."""
    legacy = tmp_path / "oauth.json"
    legacy.write_text(
        json.dumps(
            {
                "anthropic": {
                    "access_token": KEY,
                    "refresh_token": OTHER,
                    "expires_at": "2030-01-01T00:00:00Z",
                    "email": "me@example.com",
                }
            }
        )
    )
    store = MemoryAuthStore()

    import_legacy_auth(store, oauth_json=legacy)
    stored = store.get("anthropic:default")

    assert OAuthCredential(
        access=KEY, refresh=OTHER, expires_at=1_893_456_000.0, email="me@example.com"
    ) == (stored.credential if stored else None)


def test_environment_keys_are_imported(tmp_path: Path) -> None:
    """Well-known environment keys become provider:default API keys."""
    store = MemoryAuthStore()

    result = import_legacy_auth(
        store, environ={"OPENAI_API_KEY": KEY, "GOOGLE_API_KEY": OTHER, "PATH": "/bin"}
    )

    assert (
        (ProfileId.parse("google:default"), ProfileId.parse("openai:default")),
        {"google": ("google:default",), "openai": ("openai:default",)},
    ) == (tuple(sorted(result.added)), dict(result.order_seeds))


def test_two_credentials_for_one_provider_are_both_kept(tmp_path: Path) -> None:
    """OAuth tokens become provider:default and a different API key provider:api-key."""
    (tmp_path / "oauth.json").write_text(json.dumps({"anthropic": {"access": KEY}}))
    (tmp_path / "auth.json").write_text(json.dumps({"anthropic": {"apiKey": OTHER}}))
    store = MemoryAuthStore()

    result = import_legacy_auth(
        store,
        auth_json=tmp_path / "auth.json",
        oauth_json=tmp_path / "oauth.json",
        environ={"ANTHROPIC_API_KEY": OTHER},
    )

    assert {"anthropic": ("anthropic:default", "anthropic:api-key")} == dict(result.order_seeds)
    assert {"anthropic:default": "oauth", "anthropic:api-key": "api_key"} == dict(
        result.profile_kinds
    )
    assert [
        f"Added anthropic:default (OAuth tokens from {tmp_path / 'oauth.json'}).",
        f"Added anthropic:api-key (API key from {tmp_path / 'auth.json'}).",
    ] == list(result.changes)


def test_dry_run_plans_and_writes_nothing(tmp_path: Path) -> None:
    """With dry_run the changes are listed but the store and the files stay as they were."""
    legacy = tmp_path / "auth.json"
    legacy.write_text(json.dumps({"anthropic": {"apiKey": KEY}}))
    store = AuthStore(path=tmp_path / "store" / "auth.json")

    result = import_legacy_auth(store, auth_json=legacy, dry_run=True)

    assert (f"Would add anthropic:default (API key from {legacy}).",) == result.changes
    assert (False, ["auth.json"]) == (
        store.path.exists(),
        sorted(p.name for p in tmp_path.iterdir()),
    )


def test_apply_backs_up_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    """Applying keeps auth.json.bak and the original; running again changes nothing at all."""
    legacy = tmp_path / "auth.json"
    oauth = tmp_path / "oauth.json"
    legacy.write_text(json.dumps({"openai": {"api_key": KEY}}))
    oauth.write_text(json.dumps({"anthropic": {"access": KEY, "refresh": OTHER}}))
    store = AuthStore(path=tmp_path / "store" / "auth.json")
    environ = {"GROQ_API_KEY": OTHER}

    first = import_legacy_auth(store, auth_json=legacy, oauth_json=oauth, environ=environ)
    store_bytes = store.path.read_bytes()
    second = import_legacy_auth(store, auth_json=legacy, oauth_json=oauth, environ=environ)

    assert (3, (tmp_path / "auth.json.bak", tmp_path / "oauth.json.bak")) == (
        len(first.changes),
        tuple(sorted(first.backups)),
    )
    assert (legacy.read_bytes(), oauth.read_bytes()) == (
        (tmp_path / "auth.json.bak").read_bytes(),
        (tmp_path / "oauth.json.bak").read_bytes(),
    )
    assert ((), (), ()) == (second.changes, second.added, second.backups)
    assert store_bytes == store.path.read_bytes()
    assert first.order_seeds == second.order_seeds


def test_existing_profiles_are_never_overwritten(tmp_path: Path) -> None:
    """A profile already in the store stays as it is; a note says the legacy one was skipped."""
    legacy = tmp_path / "auth.json"
    legacy.write_text(json.dumps({"anthropic": {"apiKey": KEY}}))
    store = MemoryAuthStore.of({"anthropic:default": ApiKeyCredential(key=OTHER)})

    result = import_legacy_auth(store, auth_json=legacy)
    stored = store.get("anthropic:default")

    assert ((), ApiKeyCredential(key=OTHER)) == (
        result.changes,
        stored.credential if stored else None,
    )
    assert (
        "anthropic:default is already in the auth store; the legacy one was not imported.",
    ) == result.notes


@pytest.mark.parametrize(
    ("content", "note"),
    [
        ("{broken", "cannot be read as JSON"),
        ("[1, 2]", "does not hold a JSON object"),
        ('{"anthropic": {"colour": "blue"}}', "entry 'anthropic' is not a recognised credential"),
        ('{"version": 1, "profiles": {}}', "already a modelcfg auth store"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "cannot be read as JSON"),
    ],
    ids=["corrupt", "array", "unknown-shape", "already-new-format", "deeply-nested"],
)
def test_unusable_legacy_content_becomes_a_note(tmp_path: Path, content: str, note: str) -> None:
    """Anything not understood is skipped with a note, never an exception; nothing is written."""
    legacy = tmp_path / "auth.json"
    legacy.write_text(content)

    result = import_legacy_auth(MemoryAuthStore(), auth_json=legacy)

    assert ((), ()) == (result.changes, result.backups)
    assert any(note in line for line in result.notes), result.notes


def test_missing_legacy_files_are_fine(tmp_path: Path) -> None:
    """Paths that do not exist simply contribute nothing."""
    result = import_legacy_auth(
        MemoryAuthStore(), auth_json=tmp_path / "nope.json", oauth_json=tmp_path / "no.json"
    )

    assert ((), (), {}) == (result.changes, result.notes, dict(result.order_seeds))


def test_backups_of_legacy_files_are_private_whatever_the_original_mode(tmp_path: Path) -> None:
    """The .bak copy of a world-readable legacy file holding keys is mode 0600."""
    auth_json = tmp_path / "auth.json"
    auth_json.write_text(json.dumps({"openai": "sk-legacy-0123456789"}), encoding="utf-8")
    auth_json.chmod(0o644)

    result = import_legacy_auth(MemoryAuthStore(), auth_json=auth_json)

    assert [0o600] == [stat.S_IMODE(path.stat().st_mode) for path in result.backups]
    assert 0o644 == stat.S_IMODE(auth_json.stat().st_mode)
