"""
``modelcfg doctor [--fix]``: find legacy config keys and legacy credentials, and migrate them.

Without ``--fix`` it only plans and exits 1 when something is pending. With ``--fix``:

1. the config file is backed up (``name.bak``, never overwriting an older backup)
   and the migrated config is written atomically, keeping JSON as JSON; a TOML
   file is written as JSON next to it (``config.toml`` -> ``config.json``) and
   the TOML file is moved to its backup, since modelcfg cannot write TOML;
2. legacy credentials (``auth.json`` / ``oauth.json`` in the config's directory or
   ``--auth-dir``) are imported into the auth store, plus keys from the
   environment when something legacy was found (or with ``--import-env``);
3. ``auth.order`` is seeded with ``provider:default`` for each provider whose
   imported profile is in the auth store (missing entries only).

A legacy ``auth.json`` sitting where the auth store belongs is moved to
``auth.json.bak`` (never overwriting an older backup) and imported from there.
Every precondition is checked before anything is written. A second ``--fix``
finds nothing to do.
"""

from __future__ import annotations

import argparse
import json
import os
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
from modelcfg._config._file import read_config_data
from modelcfg._config._load import load_config
from modelcfg._config._migrate import AuthMode, Change, legacy_keys, migrate_config, seed_auth_order
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._fileio import atomic_write, backup_copy
from modelcfg.auth import (
    AuthStoreProtocol,
    LegacyAuthImport,
    MemoryAuthStore,
    import_legacy_auth,
)
from modelcfg.auth._legacy import is_legacy_auth_document
from modelcfg.exceptions import ConfigError
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


def _is_legacy_store(path: Path) -> bool:
    """
    Whether the auth store's own file is a legacy ``auth.json`` that can be imported.
    """
    data = _read_object(path)
    return data is not None and is_legacy_auth_document(data)


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


def _move_aside(path: Path) -> Path:
    """
    Move *path* to ``name.bak`` (or ``name.bak.1``, ...) without ever overwriting a backup.

    When a backup with exactly the same bytes exists already, *path* is only removed.

    Returns:
        The backup that now holds the content.
    """
    data = path.read_bytes()
    candidate = path.with_name(path.name + ".bak")
    counter = 0
    while True:
        try:
            os.link(path, candidate)  # fails instead of replacing an existing file
        except FileExistsError:
            if candidate.read_bytes() == data:
                break
            counter += 1
            candidate = path.with_name(f"{path.name}.bak.{counter}")
            continue
        break
    os.unlink(path)
    return candidate


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


def _output_path(path: Path) -> Path:
    return path.with_suffix(".json") if path.suffix.lower() == ".toml" else path


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
    legacy_store = _is_legacy_store(store_path)
    use_env = bool(context.args.import_env) or bool(legacy) or files.any() or legacy_store
    environ: Mapping[str, str] | None = context.environ if use_env else None
    # A legacy file at the store's path cannot be opened as a store: plan against
    # an empty one, importing from that file.
    plan_store: AuthStoreProtocol = MemoryAuthStore() if legacy_store else context.store()
    auth_json = store_path if legacy_store else files.auth_json
    notes: tuple[str, ...] = ()
    if legacy_store and files.auth_json is not None:
        notes = (
            f"{files.auth_json} will be imported by the next `modelcfg doctor --fix`, after "
            f"the legacy {store_path} has been moved aside",
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
    pending = bool(config_changes) or bool(plan.added) or legacy_store

    if not fix:
        _report(
            context, path, config_changes, planned_auth, (*plan.notes, *notes), skipped_seeds, fix
        )
        return Exit.FAILURE if pending else Exit.OK
    if not pending:
        _report(context, path, (), (), (*plan.notes, *notes), skipped_seeds, fix)
        return Exit.OK

    if path is not None and config_changes:
        _check_config_writable(path)
    moved: list[str] = []
    already_backed_up: tuple[Path, ...] = ()
    if legacy_store and auth_json is not None:
        backup = _move_aside(store_path)
        moved.append(f"Moved the legacy {store_path} to {backup}.")
        auth_json = backup
        already_backed_up = (backup,)
    applied = import_legacy_auth(
        context.store(),
        auth_json=auth_json,
        oauth_json=files.oauth_json,
        environ=environ,
        dry_run=False,
        backups_of=already_backed_up,
    )
    written: list[str] = []
    if path is not None and config_changes:
        written = _write_config(path, migrated)
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
            load_config(migrated, source=str(_output_path(path)))
        except ConfigError as exc:
            out.warn("the migrated configuration still needs edits:")
            for line in exc.errors:
                print(f"  {line}", file=out.stderr)
            return Exit.FAILURE
    return Exit.OK


def _check_config_writable(path: Path) -> None:
    """
    Refuse, before anything is written, a migration whose output cannot be written.

    Raises:
        CliError: ``config.toml`` would become ``config.json``, which exists already.
    """
    target = _output_path(path)
    if target != path and target.exists():
        raise CliError(
            f"cannot write the migrated {path} as {target}: that file exists already; "
            "move it away and run `modelcfg doctor --fix` again (nothing was changed)",
            Exit.CONFIG,
        )


def _write_config(path: Path, data: Mapping[str, object]) -> list[str]:
    target = _output_path(path)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _check_config_writable(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    backup = backup_copy(path)
    notes = [f"backed up {path} as {backup}" if backup else f"a backup of {path} exists already"]
    atomic_write(target, text.encode("utf-8"), mode=mode)
    notes.append(f"wrote the migrated configuration to {target}")
    if target != path:
        os.unlink(path)
        notes.append(f"removed {path} (kept as its backup): modelcfg reads {target} from now on")
    return notes


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
