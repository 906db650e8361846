"""
The auth store's file and legacy credential files, fuzzed: only the documented outcome.

An auth store file gives its profiles or an :class:`~modelcfg.AuthStoreError`
naming the file, never another exception, never a secret, and a store that reads
can always be written. A legacy import is "never an error": whatever the files
hold, it reports notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg.auth import ApiKeyCredential, AuthStore, MemoryAuthStore, import_legacy_auth
from modelcfg.exceptions import AuthStoreError
from tests.auth.json_fuzz import CANARY, MARK, fuzzed_json

STORE = {
    "version": 1,
    "profiles": {
        "openai:default": {"kind": "api_key", "provider": "openai", "key": "sk-a-0123456789"},
        "anthropic:sub": {
            "kind": "oauth",
            "access": "access-token",
            "refresh": "refresh-token",
            "expires_at": 1_800_000_000.0,
            "email": "me@example.com",
            "last_used_at": 1_700_000_000,
        },
        "groq:t": {"kind": "token", "token": "gsk_token", "expires_at": None},
    },
    "order": {"anthropic": ["anthropic:sub"], "openai": ["openai:default"]},
}

AUTH_JSON = {
    "anthropic": {"apiKey": "sk-ant-0123456789"},
    "openai": "sk-proj-0123456789",
    "groq": {"token": "gsk_t", "expires": 1_800_000_000_000},
    "GEMINI_API_KEY": "AIza0123456789",
    "profiles": {"anthropic:work": {"type": "api_key", "key": "k-work"}},
}
OAUTH_JSON = {
    "anthropic": {
        "access_token": "a",
        "refresh_token": "r",
        "expires_at": "2030-01-01T00:00:00Z",
        "email": "me@example.com",
    }
}


@settings(max_examples=200, deadline=None)
@given(data=hst.data())
def test_a_fuzzed_store_file_reads_or_raises_auth_store_error(
    data: hst.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Any store file gives profiles or one AuthStoreError naming the file; a store that reads stays writable."""
    path = tmp_path_factory.mktemp("store") / "auth.json"
    content = fuzzed_json(data, STORE)
    path.write_bytes(content)
    path.chmod(0o600)
    store = AuthStore(path=path)

    try:
        before = store.profiles()
    except AuthStoreError as exc:
        message = str(exc)
    else:
        store.put("xai:new", ApiKeyCredential(key="xai-0123456789"))
        after = AuthStore(path=path).profiles()
        assert set(before) == {p for p in after if str(p.profile) != "xai:new"}
        return

    assert str(path) in message
    assert MARK not in message
    assert "\n" not in message
    assert content == path.read_bytes()


@pytest.mark.parametrize(
    "text",
    [
        '"sk-a\\ud800b"',  # a lone surrogate, which UTF-8 cannot encode
        '"sk-\\udfff-0123456789"',
        '"k\\u00e9y"',
    ],
)
def test_a_stored_key_any_json_text_can_hold_survives_later_writes(
    tmp_path: Path, text: str
) -> None:
    """A key holding text UTF-8 cannot encode reads, and later writes keep it exactly."""
    path = tmp_path / "auth.json"
    path.write_text(
        '{"version": 1, "profiles": {"openai:default": {"kind": "api_key", "key": ' + text + "}}}",
        encoding="ascii",
    )
    path.chmod(0o600)
    store = AuthStore(path=path)
    stored = store.get("openai:default")

    store.put("anthropic:default", ApiKeyCredential(key="sk-ant-0123456789"))
    again = AuthStore(path=path).get("openai:default")

    assert stored is not None
    assert json.loads(text) == stored.credential.secret.reveal()
    assert stored == again


def test_store_errors_mask_key_shaped_names(tmp_path: Path) -> None:
    """Provider names, order entries and profile ids that hold a key are masked in the error."""
    path = tmp_path / "auth.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                CANARY: 1,
                "profiles": {CANARY: {}, f"openai:{CANARY}": {"kind": "?"}},
                "order": {CANARY: [CANARY], "openai": [f"groq:{CANARY}"]},
            }
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)

    with pytest.raises(AuthStoreError) as raised:
        AuthStore(path=path).profiles()

    assert MARK not in str(raised.value)
    assert "$.order.openai: names a profile of another provider" in str(raised.value)


@settings(max_examples=150, deadline=None)
@given(data=hst.data(), apply=hst.booleans())
def test_a_fuzzed_legacy_import_never_raises(
    data: hst.DataObject, apply: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever legacy auth.json and oauth.json hold, the import reports notes and never raises."""
    directory = tmp_path_factory.mktemp("legacy")
    auth_json, oauth_json = directory / "auth.json", directory / "oauth.json"
    auth_json.write_bytes(fuzzed_json(data, AUTH_JSON))
    oauth_json.write_bytes(fuzzed_json(data, OAUTH_JSON))

    result = import_legacy_auth(
        MemoryAuthStore(),
        auth_json=auth_json,
        oauth_json=oauth_json,
        environ={"OPENAI_API_KEY": data.draw(hst.sampled_from(["", " x y ", CANARY]))},
        dry_run=not apply,
    )

    assert MARK not in "\n".join((*result.notes, *result.changes))
