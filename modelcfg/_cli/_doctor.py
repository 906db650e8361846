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
3. ``auth.order`` is seeded with ``provider:default`` for each provider imported.

A second ``--fix`` finds nothing to do.
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
)
from modelcfg._config import BUILTIN_PROVIDERS, load_config
from modelcfg._config_file import read_config_data
from modelcfg._fileio import atomic_write, backup_copy
from modelcfg._migrate import AuthMode, Change, legacy_keys, migrate_config, seed_auth_order
from modelcfg.auth import LegacyAuthImport, import_legacy_auth
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


def _looks_like_store(path: Path) -> bool:
    """
    Whether *path* is a modelcfg auth store rather than a legacy file (it has a ``version``).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("version"), int)


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


def _output_path(path: Path) -> Path:
    return path.with_suffix(".json") if path.suffix.lower() == ".toml" else path


def run_doctor(context: Context) -> int:
    """
    ``doctor``: plan (exit 1 when something is pending) or, with ``--fix``, apply.
    """
    out = context.out
    fix = bool(context.args.fix)
    path = config_path(context.args, context.environ)
    if path is not None and not path.exists():
        raise CliError(f"the config file {path} does not exist", Exit.CONFIG)
    data: dict[str, object] | None = read_config_data(path) if path is not None else None
    legacy = legacy_keys(data) if data is not None else ()
    files = _legacy_files(context, path)
    use_env = bool(context.args.import_env) or bool(legacy) or files.any()
    environ: Mapping[str, str] | None = context.environ if use_env else None
    store = context.store()

    plan = import_legacy_auth(
        store,
        auth_json=files.auth_json,
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
    modes = {p: m for p, m in _modes(plan).items() if p in known}
    seed_changes: tuple[Change, ...] = ()
    if data is not None and plan.added:
        migrated, seed_changes = seed_auth_order(
            migrated, [p for p in plan.order_seeds if p in known], modes=modes
        )
    skipped_seeds = sorted(p for p in plan.order_seeds if p not in known and plan.added)
    config_changes = (*changes, *seed_changes)
    pending = bool(config_changes) or bool(plan.added)

    if not fix:
        _report(context, path, config_changes, plan.changes, plan.notes, skipped_seeds, fix)
        return Exit.FAILURE if pending else Exit.OK
    if not pending:
        _report(context, path, (), (), plan.notes, skipped_seeds, fix)
        return Exit.OK

    applied = import_legacy_auth(
        store,
        auth_json=files.auth_json,
        oauth_json=files.oauth_json,
        environ=environ,
        dry_run=False,
    )
    written: list[str] = []
    if path is not None and config_changes:
        written = _write_config(path, migrated)
    _report(
        context, path, config_changes, applied.changes, applied.notes, skipped_seeds, fix, written
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


def _write_config(path: Path, data: Mapping[str, object]) -> list[str]:
    target = _output_path(path)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if target != path and target.exists():
        raise CliError(
            f"cannot write the migrated {path} as {target}: that file exists already; "
            "move it away and run `modelcfg doctor --fix` again",
            Exit.CONFIG,
        )
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
