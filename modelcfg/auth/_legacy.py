"""
Seed the auth store from legacy credential files and the environment.

The shapes understood, and how credentials become profiles, are described in
:mod:`modelcfg.auth._legacy_format`; this module reads the files, keeps backups
and writes the store. Existing profiles are never overwritten, so a second run
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import attrs

from modelcfg._core._values import ProfileId
from modelcfg._fileio import PRIVATE_FILE_MODE, backup_copy, read_regular_file
from modelcfg._log import logger_for
from modelcfg.auth._credentials import credential_kind
from modelcfg.auth._legacy_format import (
    Found,
    assign,
    parse_document,
    scan_auth_doc,
    scan_env,
    scan_oauth_doc,
)
from modelcfg.auth._store import AuthStoreProtocol

__all__ = ["LegacyAuthImport", "import_legacy_auth"]

logger = logger_for(__name__)

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


def _read(path: Path, notes: list[str]) -> dict[str, object] | None:
    """
    The JSON object in the legacy file *path*, or ``None`` (missing, or unreadable with a note).
    """
    try:
        data = read_regular_file(path)  # a FIFO is refused, never waited on
    except FileNotFoundError:
        return None
    except OSError as exc:
        notes.append(f"{path} was not imported: it cannot be read as JSON ({type(exc).__name__}).")
        return None
    return parse_document(data, str(path), notes)


def _scan_oauth(path: Path, notes: list[str]) -> list[Found]:
    doc = _read(path, notes)
    return [] if doc is None else scan_oauth_doc(doc, str(path), notes)


def _scan_auth(path: Path, notes: list[str]) -> list[Found]:
    doc = _read(path, notes)
    return [] if doc is None else scan_auth_doc(doc, str(path), notes)


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
    found: list[Found] = []
    if oauth_json is not None:
        found += _scan_oauth(oauth_json, notes)
    if auth_json is not None:
        found += _scan_auth(auth_json, notes)
    if environ is not None:
        found += scan_env(environ)
    planned = assign(found, notes)
    seeds: dict[str, list[str]] = {}
    for pid in sorted(planned, key=lambda p: (p.provider, p.name != "default", p.name)):
        seeds.setdefault(pid.provider, []).append(str(pid))
    new: dict[ProfileId, Found] = {}
    for pid, item in planned.items():
        if store.get(pid) is not None:
            notes.append(f"{pid} is already in the auth store; the legacy one was not imported.")
        else:
            new[pid] = item
    backups: list[Path] = []
    if dry_run:
        added = tuple(new)
    else:
        sources = {Path(item.from_file) for item in new.values() if item.from_file}
        for path in sorted(sources - already_backed_up):
            backup = backup_copy(path, mode=PRIVATE_FILE_MODE)  # it holds keys
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
