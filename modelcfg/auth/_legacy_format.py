"""
The shapes of legacy credential files, read without touching the file system.

Accepted shapes (liberally; anything else is skipped with a note, never an error):

``auth.json`` (or ``auth-profiles.json``), keyed by provider::

    {"anthropic": {"apiKey": "..."}}              # also api_key, apikey, key
    {"openai": "sk-..."}                          # a bare string is an API key
    {"groq": {"token": "...", "expires": 1767225600}}
    {"anthropic": {"type": "oauth", "access": "...", "refresh": "...", "expires": ...}}
    {"ANTHROPIC_API_KEY": "..."}                  # flat environment-style names
    {"profiles": {"anthropic:work": {"type": "api_key", "key": "..."}}}   # named profiles

``oauth.json``, keyed by provider::

    {"anthropic": {"access_token": "...", "refresh_token": "...", "expires_at": ...,
                   "email": "..."}}              # also access/accessToken, refresh/...,
                                                  # expires/expiresAt/expiry

Expiry times may be seconds or milliseconds since the epoch, or ISO 8601 text.
Environment keys (``ANTHROPIC_API_KEY``, ...) are read from the ``environ`` given.

Every credential becomes ``provider:default``, except named profiles, which keep
their names. When a provider has two different credentials (OAuth tokens and an
API key), the first in the order oauth.json, auth.json, environment becomes
``provider:default`` and a later one from a file becomes ``provider:oauth`` /
``provider:api-key`` / ``provider:token``, so nothing is lost; a duplicate
environment key is not imported (it keeps working from the environment).

The functions here turn parsed documents into :class:`Found` credentials and
give each a profile id (:func:`assign`); reading the files and writing the store
is :mod:`modelcfg.auth._legacy`'s job.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Final

import attrs

from modelcfg._core._redact import redact
from modelcfg._core._values import ProfileId
from modelcfg.auth._credentials import (
    ApiKeyCredential,
    Credential,
    OAuthCredential,
    TokenCredential,
    credential_kind,
    whole_number,
)
from modelcfg.auth._env import DEFAULT_ENV_VARS

__all__ = [
    "Found",
    "assign",
    "is_legacy_auth_document",
    "parse_document",
    "scan_auth_doc",
    "scan_env",
    "scan_oauth_doc",
]

_KEY_FIELDS: Final = ("apiKey", "api_key", "apikey", "key", "API_KEY")
_TOKEN_FIELDS: Final = ("token", "bearer", "bearer_token")
_ACCESS_FIELDS: Final = ("access_token", "access", "accessToken")
_REFRESH_FIELDS: Final = ("refresh_token", "refresh", "refreshToken")
_EXPIRY_FIELDS: Final = ("expires_at", "expires", "expiresAt", "expiry", "expires_on")
_MILLIS_THRESHOLD: Final = 1e11
_SHOWN_CHARS: Final = 24
_SECOND_NAMES: Final = {"oauth": "oauth", "api_key": "api-key", "token": "token"}


@attrs.frozen(kw_only=True)
class Found:
    """
    One credential found in a legacy file or the environment.

    Attributes:
        profile_name: The name it asks for; ``None`` for ``default`` (or a second
            name when ``default`` is taken).
        provider: Its provider.
        credential: The credential.
        origin: Where it came from, for people: a file path or ``environment variable X``.
        from_file: The file it came from (its path as text), or ``None`` for the environment.
    """

    profile_name: str | None
    provider: str
    credential: Credential
    origin: str
    from_file: str | None


def _shown(name: str) -> str:
    """
    An entry's name as a note quotes it: key-shaped text masked, and cut short.

    A legacy file may hold a key where a name belongs; notes are printed, so a
    name that reads like a key never shows, and a long one shows its start only.
    """
    masked = redact(name)
    return repr(masked if len(masked) <= _SHOWN_CHARS else masked[: _SHOWN_CHARS - 1] + "…")


def _first(obj: Mapping[str, object], fields: tuple[str, ...]) -> object:
    for name in fields:
        if name in obj and obj[name] is not None:
            return obj[name]
    return None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip() and not any(c.isspace() for c in value.strip()):
        return value.strip()
    return None


def _epoch(value: object) -> float | None:
    """
    An expiry in seconds since the epoch, or ``None`` when *value* is not a usable one.

    Numbers above 1e11 are milliseconds; text is ISO 8601 with a time zone.
    Anything else (a date before 1970, a number no float holds) counts as unknown.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and 0 < value <= sys.float_info.max:
        return value / 1000.0 if value > _MILLIS_THRESHOLD else float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            seconds = parsed.timestamp() if parsed.tzinfo is not None else None
        except (ValueError, OverflowError):
            return None
        return seconds if seconds is not None and seconds > 0 else None
    return None


def _credential(entry: object, *, oauth_file: bool) -> Credential | None:
    """
    Read one legacy entry as a credential, or ``None`` when its shape is not recognised.
    """
    if isinstance(entry, str):
        key = _text(entry)
        return ApiKeyCredential(key=key) if key is not None and not oauth_file else None
    if not isinstance(entry, dict):
        return None
    kind = str(entry.get("type") or entry.get("mode") or entry.get("kind") or "").lower()
    access = _text(_first(entry, _ACCESS_FIELDS))
    if access is not None or kind == "oauth" or oauth_file:
        if access is None:
            return None
        refresh = _text(_first(entry, _REFRESH_FIELDS))
        email = entry.get("email")
        return OAuthCredential(
            access=access,
            refresh=refresh,
            expires_at=_epoch(_first(entry, _EXPIRY_FIELDS)),
            email=email if isinstance(email, str) and email else None,
        )
    token = _text(_first(entry, _TOKEN_FIELDS))
    if token is not None and kind in ("", "token"):
        return TokenCredential(token=token, expires_at=_epoch(_first(entry, _EXPIRY_FIELDS)))
    key = _text(_first(entry, _KEY_FIELDS))
    if key is not None:
        return ApiKeyCredential(key=key)
    return None


def _env_name_provider(name: str) -> str | None:
    for provider, names in DEFAULT_ENV_VARS.items():
        if name in names and provider != "gemini":
            return provider
    if name.endswith("_API_KEY") and len(name) > len("_API_KEY"):
        return name.removesuffix("_API_KEY").lower().replace("_", "-")
    return None


def parse_document(data: bytes, path: str, notes: list[str]) -> dict[str, object] | None:
    """
    The JSON object in the bytes *data* of the legacy file *path*, or ``None`` with a note.
    """
    try:
        # A number too long for Python to read becomes a LongNumber: an unusable value.
        doc = json.loads(data.decode("utf-8"), parse_int=whole_number)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        notes.append(f"{path} was not imported: it cannot be read as JSON ({type(exc).__name__}).")
        return None
    if not isinstance(doc, dict):
        notes.append(f"{path} was not imported: it does not hold a JSON object.")
        return None
    return doc


def _valid_provider(provider: str) -> bool:
    try:
        ProfileId(provider=provider, name="default")
    except ValueError:
        return False
    return True


def scan_oauth_doc(doc: dict[str, object], path: str, notes: list[str]) -> list[Found]:
    """
    The credentials of a legacy ``oauth.json`` document read from *path*.

    Entries not recognised become *notes*.
    """
    found: list[Found] = []
    for provider, entry in doc.items():
        credential = _credential(entry, oauth_file=True)
        if credential is None or not _valid_provider(provider.lower()):
            notes.append(
                f"{path}: entry {_shown(provider)} is not recognised as OAuth tokens; skipped."
            )
            continue
        found.append(
            Found(
                profile_name=None,
                provider=provider.lower(),
                credential=credential,
                origin=path,
                from_file=path,
            )
        )
    return found


def is_legacy_auth_document(doc: Mapping[str, object]) -> bool:
    """
    Whether *doc* is a legacy ``auth.json`` that :func:`~modelcfg.auth.import_legacy_auth` can read.

    That is a JSON object without ``version`` holding at least one recognised
    credential. The auth store uses it to point at ``modelcfg doctor --fix`` when a
    legacy file sits where the store belongs.
    """
    if "version" in doc:
        return False
    return bool(scan_auth_doc(dict(doc), "auth.json", []))


def scan_auth_doc(doc: dict[str, object], path: str, notes: list[str]) -> list[Found]:
    """
    The credentials of a legacy ``auth.json`` document read from *path*.

    Entries not recognised become *notes*.
    """
    if "version" in doc and isinstance(doc.get("profiles"), dict):
        notes.append(f"{path} is already a modelcfg auth store; nothing to import from it.")
        return []
    found: list[Found] = []
    named = doc.get("profiles")
    if isinstance(named, dict):
        for key, entry in named.items():
            credential = _credential(entry, oauth_file=False)
            try:
                pid = ProfileId.parse(key)
            except ValueError:
                credential = None
            if credential is None:
                notes.append(
                    f"{path}: profile {_shown(key)} is not a recognised credential; skipped."
                )
                continue
            found.append(
                Found(
                    profile_name=pid.name,
                    provider=pid.provider,
                    credential=credential,
                    origin=path,
                    from_file=path,
                )
            )
    for key, entry in doc.items():
        if key == "profiles" and isinstance(named, dict):
            continue
        provider = _env_name_provider(key) if key.isupper() else key.lower()
        credential = _credential(entry, oauth_file=False)
        if provider is None or credential is None or not _valid_provider(provider):
            notes.append(f"{path}: entry {_shown(key)} is not a recognised credential; skipped.")
            continue
        found.append(
            Found(
                profile_name=None,
                provider=provider,
                credential=credential,
                origin=path,
                from_file=path,
            )
        )
    return found


def scan_env(environ: Mapping[str, str]) -> list[Found]:
    """
    The well-known providers' keys in *environ*, one per provider.
    """
    found: list[Found] = []
    seen: set[str] = set()
    for provider, names in DEFAULT_ENV_VARS.items():
        for name in names:
            key = _text(environ.get(name, ""))
            canonical = "google" if provider == "gemini" else provider
            if key is None or canonical in seen:
                continue
            seen.add(canonical)
            found.append(
                Found(
                    profile_name=None,
                    provider=canonical,
                    credential=ApiKeyCredential(key=key),
                    origin=f"environment variable {name}",
                    from_file=None,
                )
            )
    return found


def assign(found: list[Found], notes: list[str]) -> dict[ProfileId, Found]:
    """
    Give each credential found a profile id; duplicates and clashes become notes.
    """
    planned: dict[ProfileId, Found] = {}
    for item in found:
        same = [
            pid
            for pid, other in planned.items()
            if pid.provider == item.provider and other.credential.secret == item.credential.secret
        ]
        if same:
            continue  # the same secret from two places: import it once
        name = item.profile_name or "default"
        pid = ProfileId(provider=item.provider, name=name)
        if pid in planned and item.profile_name is None and item.from_file is not None:
            pid = ProfileId(
                provider=item.provider, name=_SECOND_NAMES[credential_kind(item.credential)]
            )
        if pid in planned:
            notes.append(
                f"{item.origin}: a second credential for {item.provider} was not imported "
                f"because {pid} is already planned from {planned[pid].origin}."
            )
            continue
        planned[pid] = item
    return planned
