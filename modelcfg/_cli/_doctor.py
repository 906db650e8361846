"""
``modelcfg doctor [--fix]``: find legacy config keys and legacy credentials, and migrate them.

Without ``--fix`` it only plans and exits 1 when something is pending. With ``--fix``:

1. the config file is backed up (``name.bak``, never overwriting an older backup)
   and the migrated config is written atomically in the file's own format (JSON,
   TOML or YAML); a TOML or YAML file with comments is never rewritten: the
   migrated config goes beside it (``config.toml.new``) and the file is kept;
2. legacy credentials (``auth.json`` / ``oauth.json`` in the config's directory or
   ``--auth-dir``) are imported into the auth store, plus keys from the
   environment when something legacy was found (or with ``--import-env``);
3. ``auth.order`` is seeded with ``provider:default`` for each provider whose
   imported profile is in the auth store (missing entries only).

A legacy ``auth.json`` sitting where the auth store belongs is copied to
``auth.json.bak`` (mode 0600, never overwriting an older backup) and imported
from there into a new store, which replaces the legacy file in one atomic rename:
a crash or an error at any point leaves the keys in ``auth.json``. A backup of a
legacy store whose credentials are all missing from the store (an earlier run
was interrupted after moving it aside) is imported again.
Every precondition is checked before anything is written. A second ``--fix``
finds nothing to do.
"""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Mapping
from pathlib import Path

import attrs

from modelcfg._cli._common import (
    CliError,
    Context,
    Exit,
    Subparsers,
    add_json_flag,
    config_dir,
    config_path,
    emit_json,
    nonempty_path,
)
from modelcfg._config._edit import render_config
from modelcfg._config._file import read_config_data
from modelcfg._config._load import load_config
from modelcfg._config._migrate import AuthMode, Change, legacy_keys, migrate_config, seed_auth_order
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._fileio import PRIVATE_FILE_MODE, atomic_write, backup_copy, keep_backup
from modelcfg.auth import (
    AuthStoreProtocol,
    LegacyAuthImport,
    MemoryAuthStore,
    import_legacy_auth,
)
from modelcfg.auth._env import DEFAULT_ENV_VARS
from modelcfg.auth._legacy_format import is_legacy_auth_document, scan_auth_doc
from modelcfg.auth._store import replacing_legacy
from modelcfg.exceptions import AuthStoreError, ConfigError
from modelcfg.typing import JSON

__all__ = ["register"]

_AUTH_FILES = ("auth.json", "auth-profiles.json")


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """
    Add ``doctor``.
    """
    doctor = subparsers.add_parser(
        "doctor", parents=[common], help="find and migrate legacy config keys and credentials"
    )
    doctor.add_argument("--fix", action="store_true", help="apply the planned changes")
    doctor.add_argument(
        "--auth-dir",
        metavar="DIR",
        type=nonempty_path,
        help="where legacy auth.json / oauth.json live (default: the config's directory)",
    )
    doctor.add_argument(
        "--import-env",
        action="store_true",
        help="import API keys from the environment even when nothing else is legacy",
    )
    add_json_flag(doctor)
    doctor.set_defaults(run=run_doctor)


@attrs.frozen(kw_only=True)
class LegacyFiles:
    """
    The legacy credential files found.

    Attributes:
        auth_json: ``auth.json`` (or ``auth-profiles.json``), if found.
        oauth_json: ``oauth.json``, if found.
    """

    auth_json: Path | None
    oauth_json: Path | None

    def any(self) -> bool:
        """
        Whether a legacy file was found.
        """
        return self.auth_json is not None or self.oauth_json is not None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _read_object(path: Path) -> dict[str, object] | None:
    """
    The JSON object in *path*, or ``None`` when it is missing, unreadable or not an object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _looks_like_store(path: Path) -> bool:
    """
    Whether *path* is a modelcfg auth store rather than a legacy file (it has a ``version``).
    """
    data = _read_object(path)
    return data is not None and isinstance(data.get("version"), int)


def _legacy_store_bytes(path: Path) -> bytes | None:
    """
    The bytes of the auth store's own file when it is a legacy ``auth.json`` that can be imported.
    """
    if not path.is_file():
        return None
    data = _read_object(path)
    if data is None or not is_legacy_auth_document(data):
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _backups(path: Path) -> list[Path]:
    """
    The backups of *path*, as :func:`~modelcfg._fileio.keep_backup` names them: ``name.bak``, ...
    """
    found: list[Path] = []
    candidate = path.with_name(path.name + ".bak")
    while candidate.exists():
        found.append(candidate)
        candidate = path.with_name(f"{path.name}.bak.{len(found)}")
    return found


def _unfinished_imports(context: Context, store_path: Path) -> tuple[Path, ...]:
    """
    Backups of a legacy store file none of whose credentials is in the auth store.

    An earlier ``doctor --fix`` moved the legacy file aside and was stopped before
    the import was written (a crash, a busy lock): its keys are only in the backup.
    An import is one atomic change, so a finished one left every key in the store.
    """
    legacy: list[tuple[Path, dict[str, object]]] = []
    for backup in _backups(store_path):
        doc = _read_object(backup) if backup.is_file() else None
        if doc is not None and is_legacy_auth_document(doc):
            legacy.append((backup, doc))
    if not legacy:
        return ()
    held = {stored.credential.secret for stored in context.store().profiles()}
    return tuple(
        backup
        for backup, doc in legacy
        if not {found.credential.secret for found in scan_auth_doc(doc, str(backup), [])} & held
    )


def _legacy_files(context: Context, config_file: Path | None) -> LegacyFiles:
    explicit = context.args.auth_dir
    if explicit:
        directory: Path | None = Path(str(explicit)).expanduser()
        if directory is not None and not directory.is_dir():
            raise CliError(f"--auth-dir {directory} is not a directory", Exit.USAGE)
    elif config_file is not None:
        directory = config_file.parent
    else:
        directory = config_dir(context.environ)
    if directory is None:
        return LegacyFiles(auth_json=None, oauth_json=None)
    store_path = context.store_path()

    def usable(path: Path) -> bool:
        return path.is_file() and not _same_file(path, store_path) and not _looks_like_store(path)

    auth = next((directory / n for n in _AUTH_FILES if usable(directory / n)), None)
    oauth = directory / "oauth.json"
    return LegacyFiles(auth_json=auth, oauth_json=oauth if usable(oauth) else None)


_MODES: dict[str, AuthMode] = {"api_key": "api_key", "oauth": "oauth", "token": "token"}


def _modes(result: LegacyAuthImport) -> dict[str, AuthMode]:
    """
    The auth mode of each imported ``provider:default``, by provider.
    """
    modes: dict[str, AuthMode] = {}
    for profile, kind in result.profile_kinds.items():
        provider, _, name = profile.partition(":")
        mode = _MODES.get(kind)
        if name == "default" and mode is not None:
            modes[provider] = mode
    return modes


def run_doctor(context: Context) -> int:
    """
    ``doctor``: plan (exit 1 when something is pending) or, with ``--fix``, apply.

    With ``--fix`` every precondition is checked before anything is written, so
    an error leaves the config, the auth store and the legacy files as they were.
    """
    out = context.out
    fix = bool(context.args.fix)
    path = config_path(context.args, context.environ)
    if path is not None and not path.exists():
        raise CliError(f"the config file {path} does not exist", Exit.CONFIG)
    data: dict[str, object] | None = read_config_data(path) if path is not None else None
    legacy = legacy_keys(data) if data is not None else ()
    files = _legacy_files(context, path)
    store_path = context.store_path()
    legacy_bytes = _legacy_store_bytes(store_path)
    legacy_store = legacy_bytes is not None
    unfinished = () if legacy_store else _unfinished_imports(context, store_path)
    use_env = (
        bool(context.args.import_env)
        or bool(legacy)
        or files.any()
        or legacy_store
        or bool(unfinished)
    )
    environ: Mapping[str, str] | None = context.environ if use_env else None
    # A legacy file at the store's path cannot be opened as a store: plan against
    # an empty one, importing from that file. One auth.json is imported per run:
    # the legacy store first, then an unfinished import, then the legacy directory's.
    plan_store: AuthStoreProtocol = MemoryAuthStore() if legacy_store else context.store()
    sources = [store_path] if legacy_store else [*unfinished]
    if files.auth_json is not None:
        sources.append(files.auth_json)
    auth_json = sources[0] if sources else None
    notes = tuple(
        f"{later} will be imported by the next `modelcfg doctor --fix`" for later in sources[1:]
    )

    plan = import_legacy_auth(
        plan_store,
        auth_json=auth_json,
        oauth_json=files.oauth_json,
        environ=environ,
        dry_run=True,
    )
    migrated, changes = migrate_config(data) if data is not None else ({}, ())
    known = set(BUILTIN_PROVIDERS)
    if data is not None:
        providers = data.get("providers")
        if isinstance(providers, Mapping):
            known |= {str(p) for p in providers}
    # Seed every provider whose imported profile is in the store after this run, not
    # only those added now: a rerun after an interrupted fix still seeds, and
    # seed_auth_order only adds what is missing.
    present = {str(p) for p in plan.added}
    present |= {
        pid for ids in plan.order_seeds.values() for pid in ids if plan_store.get(pid) is not None
    }
    seeded = [p for p, ids in plan.order_seeds.items() if any(i in present for i in ids)]
    modes = {p: m for p, m in _modes(plan).items() if p in known and p in seeded}
    seed_changes: tuple[Change, ...] = ()
    if data is not None:
        migrated, seed_changes = seed_auth_order(
            migrated, [p for p in seeded if p in known], modes=modes
        )
    skipped_seeds = sorted(p for p in seeded if p not in known) if plan.added else []
    config_changes = (*changes, *seed_changes)
    planned_auth = plan.changes
    if legacy_store:
        planned_auth = (f"Would move the legacy {store_path} aside as its backup.", *planned_auth)
    elif unfinished and auth_json == unfinished[0]:
        planned_auth = (
            f"Would finish importing {auth_json}, a legacy auth store an earlier "
            "`modelcfg doctor --fix` moved aside: none of its credentials is in the auth store.",
            *planned_auth,
        )
    pending = bool(config_changes) or bool(plan.added) or legacy_store

    if not fix:
        _report(
            context, path, config_changes, planned_auth, (*plan.notes, *notes), skipped_seeds, fix
        )
        return Exit.FAILURE if pending else Exit.OK
    if not pending:
        _report(context, path, (), (), (*plan.notes, *notes), skipped_seeds, fix)
        return Exit.OK

    moved: list[str] = []
    target: AuthStoreProtocol = context.store()
    already_backed_up: tuple[Path, ...] = tuple(unfinished)
    if legacy_bytes is not None:
        # The backup first (fsynced, 0600: it holds keys); then the new store, written
        # by the import, replaces the legacy file in one rename. Until that rename the
        # legacy file stays where it is, so a crash or a busy lock loses nothing.
        backup, _written = keep_backup(store_path, mode=PRIVATE_FILE_MODE)
        target = replacing_legacy(context.store(), legacy_bytes)
        auth_json = backup
        already_backed_up = (backup,)
    applied = import_legacy_auth(
        target,
        auth_json=auth_json,
        oauth_json=files.oauth_json,
        environ=environ,
        dry_run=False,
        backups_of=already_backed_up,
    )
    if legacy_bytes is not None:
        moved.append(f"Moved the legacy {store_path} to {auth_json}.")
    elif unfinished and auth_json == unfinished[0]:
        moved.append(f"Finished importing {auth_json}, which an earlier run moved aside.")
    written: list[str] = []
    config_written = path
    if path is not None and config_changes:
        written, config_written = _write_config(path, migrated)
    _report(
        context,
        path,
        config_changes,
        (*moved, *applied.changes),
        (*applied.notes, *notes),
        skipped_seeds,
        fix,
        written,
    )
    if path is not None and config_changes:
        try:
            load_config(migrated, source=str(config_written))
        except ConfigError as exc:
            out.warn("the migrated configuration still needs edits:")
            for line in exc.errors:
                print(f"  {line}", file=out.stderr)
            return Exit.FAILURE
    if config_written != path:
        return Exit.FAILURE  # the file itself still holds the legacy keys
    return Exit.OK


def _write_config(path: Path, data: Mapping[str, object]) -> tuple[list[str], Path]:
    """
    Back *path* up and write the migrated *data* in its format; return notes and the file written.

    A file with comments (TOML, YAML) is left as it is and the migration goes beside it.
    """
    original = path.read_text(encoding="utf-8")
    try:
        target, text = render_config(path, data, original)
    except ValueError as exc:
        raise CliError(f"cannot write the migrated {path}: {exc}", Exit.CONFIG) from None
    mode = stat.S_IMODE(path.stat().st_mode)
    notes: list[str] = []
    if target == path:
        backup = backup_copy(path)
        notes.append(
            f"backed up {path} as {backup}" if backup else f"a backup of {path} exists already"
        )
    atomic_write(target, text.encode("utf-8"), mode=mode)
    if target == path:
        notes.append(f"wrote the migrated configuration to {target}")
    else:
        notes.append(
            f"{path} has comments, which rewriting it would lose: wrote the migrated "
            f"configuration beside it, to {target}; {path} is unchanged: merge the changes "
            "by hand (or move the new file over it)"
        )
    return notes, target


def _credentials(context: Context) -> tuple[int, list[str]] | None:
    """
    How many profiles the auth store holds and which provider key variables are set.

    ``None`` when the store cannot be read as one (a legacy file at its path).
    """
    try:
        stored = len(context.store().profiles())
    except AuthStoreError:
        return None
    names = dict.fromkeys(n for names in DEFAULT_ENV_VARS.values() for n in names)
    return stored, [n for n in names if context.environ.get(n)]


def _no_credentials_line(context: Context) -> str | None:
    found = _credentials(context)
    if found is None or found[0] or found[1]:
        return None
    return (
        f"No credentials: the auth store {context.store_path()} holds none and no provider key "
        "variable is set; run `modelcfg login PROVIDER` or export a key "
        "(OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)."
    )


def _report(
    context: Context,
    path: Path | None,
    config_changes: tuple[Change, ...],
    auth_changes: tuple[str, ...],
    notes: tuple[str, ...],
    skipped_seeds: list[str],
    fix: bool,
    written: list[str] | None = None,
) -> None:
    out = context.out
    seed_notes = [
        f"provider {p!r} is not known to the config, so no auth.order was seeded for it"
        for p in skipped_seeds
    ]
    if context.args.json:
        data: dict[str, JSON] = {
            "config": None if path is None else str(path),
            "fix": fix,
            "configChanges": [
                {"path": c.path, "action": c.action.value, "message": c.message}
                for c in config_changes
            ],
            "authChanges": list(auth_changes),
            "notes": [*notes, *seed_notes],
            "written": list(written or []),
            "pending": (bool(config_changes) or bool(auth_changes)) and not fix,
            "credentials": None
            if (found := _credentials(context)) is None
            else {"stored": found[0], "envSet": list[JSON](found[1])},
        }
        emit_json(out, data)
        return
    where = str(path) if path is not None else "no config file (nothing to migrate there)"
    out.line(f"Config: {where}")
    if not config_changes and not auth_changes:
        out.line("Nothing to do: no legacy config keys and no legacy credentials to import.")
    verb = "Changed" if fix else "Would change"
    if config_changes:
        out.line(f"{verb} the config:")
        for change in config_changes:
            out.line(f"  {change}")
    if auth_changes:
        out.line("Auth store:" if fix else "Auth store (planned):")
        for line in auth_changes:
            out.line(f"  {line}")
    for line in (*notes, *seed_notes):
        out.line(f"  note: {line}")
    for line in written or []:
        out.line(f"  {line}")
    if not fix and (config_changes or auth_changes):
        out.line("Run `modelcfg doctor --fix` to apply these changes.")
    if not auth_changes and (empty := _no_credentials_line(context)) is not None:
        out.line(empty)
