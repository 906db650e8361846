"""
Seed the auth store from legacy credential files and the environment.

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
Existing profiles are never overwritten, so a second run changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Final

import attrs

from modelcfg._core._values import ProfileId
from modelcfg._fileio import backup_copy
from modelcfg.auth._credentials import (
    ApiKeyCredential,
    Credential,
    OAuthCredential,
    TokenCredential,
    credential_kind,
)
from modelcfg.auth._resolve import DEFAULT_ENV_VARS
from modelcfg.auth._store import AuthStoreProtocol

__all__ = ["LegacyAuthImport", "import_legacy_auth"]

logger = logging.getLogger(__name__)

_KEY_FIELDS: Final = ("apiKey", "api_key", "apikey", "key", "API_KEY")
_TOKEN_FIELDS: Final = ("token", "bearer", "bearer_token")
_ACCESS_FIELDS: Final = ("access_token", "access", "accessToken")
_REFRESH_FIELDS: Final = ("refresh_token", "refresh", "refreshToken")
_EXPIRY_FIELDS: Final = ("expires_at", "expires", "expiresAt", "expiry", "expires_on")
_MILLIS_THRESHOLD: Final = 1e11
_SECOND_NAMES: Final = {"oauth": "oauth", "api_key": "api-key", "token": "token"}
_KIND_WORDS: Final = {"api_key": "API key", "token": "token", "oauth": "OAuth tokens"}


@attrs.frozen(kw_only=True)
class LegacyAuthImport:
    """
    What a legacy import did, or would do with ``dry_run``.

    Attributes:
        changes: One sentence per profile added (or to be added); empty when
            nothing changes.
        notes: Sentences about what was left alone (existing profiles, unreadable
            entries); they never contain a secret.
        added: The profiles added (with ``dry_run``: that would be added).
        order_seeds: ``auth.order`` seeds for the config migration:
            ``{"anthropic": ("anthropic:default",)}``, one entry per provider found.
        profile_kinds: The kind of each seeded profile, for ``auth.profiles[id].mode``:
            ``{"anthropic:default": "oauth"}`` (``api_key``, ``token`` or ``oauth``).
        backups: Backup copies written (``auth.json.bak``, ...).
        dry_run: Whether this was only a plan.

    .. versionadded:: 0.1.0
    """

    changes: tuple[str, ...]
    notes: tuple[str, ...]
    added: tuple[ProfileId, ...]
    order_seeds: Mapping[str, tuple[str, ...]]
    profile_kinds: Mapping[str, str]
    backups: tuple[Path, ...]
    dry_run: bool


@attrs.frozen(kw_only=True)
class _Found:
    profile_name: str | None  # None: "default", or a second name when taken
    provider: str
    credential: Credential
    origin: str  # a file path or "environment variable X"
    from_file: Path | None


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
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return value / 1000.0 if value > _MILLIS_THRESHOLD else float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.timestamp() if parsed.tzinfo is not None else None
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


def _read_json(path: Path, notes: list[str]) -> dict[str, object] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
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


def _scan_oauth(path: Path, notes: list[str]) -> list[_Found]:
    doc = _read_json(path, notes)
    found: list[_Found] = []
    for provider, entry in (doc or {}).items():
        credential = _credential(entry, oauth_file=True)
        if credential is None or not _valid_provider(provider.lower()):
            notes.append(f"{path}: entry {provider!r} is not recognised as OAuth tokens; skipped.")
            continue
        found.append(
            _Found(
                profile_name=None,
                provider=provider.lower(),
                credential=credential,
                origin=str(path),
                from_file=path,
            )
        )
    return found


def is_legacy_auth_document(doc: Mapping[str, object]) -> bool:
    """
    Whether *doc* is a legacy ``auth.json`` that :func:`import_legacy_auth` can read.

    That is a JSON object without ``version`` holding at least one recognised
    credential. The auth store uses it to point at ``modelcfg doctor --fix`` when a
    legacy file sits where the store belongs.
    """
    if "version" in doc:
        return False
    return bool(_scan_auth_doc(dict(doc), Path("auth.json"), []))


def _scan_auth(path: Path, notes: list[str]) -> list[_Found]:
    doc = _read_json(path, notes)
    if doc is None:
        return []
    return _scan_auth_doc(doc, path, notes)


def _scan_auth_doc(doc: dict[str, object], path: Path, notes: list[str]) -> list[_Found]:
    if "version" in doc and isinstance(doc.get("profiles"), dict):
        notes.append(f"{path} is already a modelcfg auth store; nothing to import from it.")
        return []
    found: list[_Found] = []
    named = doc.get("profiles")
    if isinstance(named, dict):
        for key, entry in named.items():
            credential = _credential(entry, oauth_file=False)
            try:
                pid = ProfileId.parse(key)
            except ValueError:
                credential = None
            if credential is None:
                notes.append(f"{path}: profile {key!r} is not a recognised credential; skipped.")
                continue
            found.append(
                _Found(
                    profile_name=pid.name,
                    provider=pid.provider,
                    credential=credential,
                    origin=str(path),
                    from_file=path,
                )
            )
    for key, entry in doc.items():
        if key == "profiles" and isinstance(named, dict):
            continue
        provider = _env_name_provider(key) if key.isupper() else key.lower()
        credential = _credential(entry, oauth_file=False)
        if provider is None or credential is None or not _valid_provider(provider):
            notes.append(f"{path}: entry {key!r} is not a recognised credential; skipped.")
            continue
        found.append(
            _Found(
                profile_name=None,
                provider=provider,
                credential=credential,
                origin=str(path),
                from_file=path,
            )
        )
    return found


def _scan_env(environ: Mapping[str, str]) -> list[_Found]:
    found: list[_Found] = []
    seen: set[str] = set()
    for provider, names in DEFAULT_ENV_VARS.items():
        for name in names:
            key = _text(environ.get(name, ""))
            canonical = "google" if provider == "gemini" else provider
            if key is None or canonical in seen:
                continue
            seen.add(canonical)
            found.append(
                _Found(
                    profile_name=None,
                    provider=canonical,
                    credential=ApiKeyCredential(key=key),
                    origin=f"environment variable {name}",
                    from_file=None,
                )
            )
    return found


def _assign(found: list[_Found], notes: list[str]) -> dict[ProfileId, _Found]:
    """
    Give each credential found a profile id; duplicates and clashes become notes.
    """
    planned: dict[ProfileId, _Found] = {}
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


def import_legacy_auth(
    store: AuthStoreProtocol,
    *,
    auth_json: Path | None = None,
    oauth_json: Path | None = None,
    environ: Mapping[str, str] | None = None,
    dry_run: bool = False,
    backups_of: Iterable[Path] = (),
) -> LegacyAuthImport:
    """
    Seed *store* from legacy ``auth.json`` / ``oauth.json`` files and environment keys.

    Existing profiles are never overwritten, and a second run changes nothing. The
    legacy files are left in place; when applying adds a profile from a file, a
    copy of that file is kept as ``name.bak`` first (never overwriting an older
    backup).

    Args:
        store: The auth store to seed.
        auth_json: The legacy ``auth.json`` (or ``auth-profiles.json``), if any.
        oauth_json: The legacy ``oauth.json``, if any.
        environ: The environment to import keys from, or ``None`` to skip it.
        dry_run: Only plan: report what would change and write nothing.
        backups_of: Files that are backups already (``doctor --fix`` moves a legacy
            file found at the store's own path to ``auth.json.bak`` and imports
            from there): no copy of them is made.

    Returns:
        The changes (or planned changes), notes, backups and ``auth.order`` seeds.

    .. versionadded:: 0.1.0
    """
    already_backed_up = frozenset(backups_of)
    notes: list[str] = []
    found: list[_Found] = []
    if oauth_json is not None:
        found += _scan_oauth(oauth_json, notes)
    if auth_json is not None:
        found += _scan_auth(auth_json, notes)
    if environ is not None:
        found += _scan_env(environ)
    planned = _assign(found, notes)
    seeds: dict[str, list[str]] = {}
    for pid in sorted(planned, key=lambda p: (p.provider, p.name != "default", p.name)):
        seeds.setdefault(pid.provider, []).append(str(pid))
    new: dict[ProfileId, _Found] = {}
    for pid, item in planned.items():
        if store.get(pid) is not None:
            notes.append(f"{pid} is already in the auth store; the legacy one was not imported.")
        else:
            new[pid] = item
    backups: list[Path] = []
    if dry_run:
        added = tuple(new)
    else:
        sources = {item.from_file for item in new.values() if item.from_file}
        for path in sorted(sources - already_backed_up):
            backup = backup_copy(path)
            if backup is not None:
                backups.append(backup)
        added = store.add_missing({pid: item.credential for pid, item in new.items()})
    verb = "Would add" if dry_run else "Added"
    changes = tuple(
        f"{verb} {pid} ({_KIND_WORDS[credential_kind(new[pid].credential)]} "
        f"from {new[pid].origin})."
        for pid in added
    )
    for line in changes:
        logger.info("%s", line)
    return LegacyAuthImport(
        changes=changes,
        notes=tuple(notes),
        added=added,
        order_seeds={k: tuple(v) for k, v in seeds.items()},
        profile_kinds={
            str(pid): credential_kind(item.credential)
            for pid, item in sorted(planned.items(), key=lambda kv: str(kv[0]))
        },
        backups=tuple(backups),
        dry_run=dry_run,
    )
