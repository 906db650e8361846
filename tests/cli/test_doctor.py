"""
``modelcfg doctor [--fix]``: legacy config keys and legacy credentials.
"""

from __future__ import annotations

import errno
import json
import signal
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from modelcfg._config._file import load_config_file
from modelcfg.auth import AuthStore
from tests.cli.conftest import CANARY, LEAK_MARK, Cli, assert_one_line_error

LEGACY = {
    "agent": {
        "model": "claude-opus-4-5",
        "modelFallbacks": ["gpt-4o", "claude-opus-4-5"],
        "modelAliases": {"Opus": "anthropic/claude-opus-4-5"},
    }
}


@pytest.fixture
def legacy(cli: Cli, tmp_path: Path) -> Path:
    """
    A legacy config in the home, and legacy auth files in an old app directory.
    """
    cli.write_config(LEGACY)
    old = tmp_path / "old-app"
    old.mkdir()
    (old / "auth.json").write_text(json.dumps({"anthropic": {"apiKey": CANARY}}), encoding="utf-8")
    (old / "oauth.json").write_text(
        json.dumps(
            {"openai": {"access_token": f"oa-{LEAK_MARK}-1", "refresh_token": f"rt-{LEAK_MARK}-1"}}
        ),
        encoding="utf-8",
    )
    return old


def test_plan_exits_1_and_changes_nothing(cli: Cli, legacy: Path) -> None:
    """Without --fix the plan lists config and credential changes, exits 1 and writes nothing."""
    before = (cli.home / "config.json").read_bytes()

    result = cli.run("doctor", "--auth-dir", str(legacy))

    assert 1 == result.code
    assert "converted $.agent.model from a string to $.agent.model.primary" in result.stdout
    assert "Would add anthropic:default (API key from" in result.stdout
    assert "added $.auth.order.openai as ['openai:default']" in result.stdout
    assert before == (cli.home / "config.json").read_bytes()
    assert not cli.store_path.exists()
    assert LEAK_MARK not in result.output


def test_fix_migrates_backs_up_imports_and_is_idempotent(cli: Cli, legacy: Path) -> None:
    """--fix writes a loadable config, keeps a backup, imports and seeds; a second run does nothing."""
    original = (cli.home / "config.json").read_bytes()

    first = cli.run("doctor", "--fix", "--auth-dir", str(legacy))
    written = (cli.home / "config.json").read_bytes()
    second = cli.call("doctor", "--fix", "--auth-dir", str(legacy), "--json")
    plan = cli.call("doctor", "--auth-dir", str(legacy))

    config = load_config_file(cli.home / "config.json")
    store = AuthStore(path=cli.store_path)
    assert 0 == first.code, first.stderr
    assert original == (cli.home / "config.json.bak").read_bytes()
    assert "anthropic/claude-opus-4-5 -> openai/gpt-4o" == str(config.text_chain())
    assert {"anthropic", "openai"} == set(config.auth.order)
    assert {"anthropic:default", "openai:default"} == {str(p.profile) for p in store.profiles()}
    assert (0, [], []) == (
        second.code,
        second.json()["configChanges"],
        second.json()["authChanges"],
    )
    assert written == (cli.home / "config.json").read_bytes()
    assert not (cli.home / "config.json.bak.1").exists()
    assert 0 == plan.code
    assert LEAK_MARK not in first.output + second.output


MIGRATED = {
    "agent": {
        "model": {"primary": "openai/gpt-4o", "fallbacks": []},
        "models": {"openai/gpt-4o": {}},
    }
}
"""What doctor --fix makes of ``agent.model = "gpt-4o"``."""


def test_fix_keeps_a_toml_config_as_toml(cli: Cli) -> None:
    """A TOML config without comments is migrated in place, as TOML, after a backup; no JSON appears."""
    toml = cli.home / "config.toml"
    toml.write_text('[agent]\nmodel = "gpt-4o"\n', encoding="utf-8")

    result = cli.call("doctor", "--fix")

    assert 0 == result.code, result.stderr
    assert MIGRATED == tomllib.loads(toml.read_text(encoding="utf-8"))
    assert '[agent]\nmodel = "gpt-4o"\n' == (cli.home / "config.toml.bak").read_text(
        encoding="utf-8"
    )
    assert not (cli.home / "config.json").exists()


def test_fix_never_rewrites_a_commented_toml_config(cli: Cli) -> None:
    """A TOML config with comments is left as it was; the migration goes beside it and exit 1 says so."""
    toml = cli.home / "config.toml"
    text = '# mine\n[agent]\nmodel = "gpt-4o"  # the default\n'
    toml.write_text(text, encoding="utf-8")

    result = cli.call("doctor", "--fix")

    assert 1 == result.code, result.stderr
    assert text == toml.read_text(encoding="utf-8")
    assert MIGRATED == tomllib.loads((cli.home / "config.toml.new").read_text(encoding="utf-8"))
    assert "has comments, which rewriting it would lose" in result.stdout
    assert not (cli.home / "config.json").exists()


def test_fix_keeps_a_yaml_config_as_yaml(cli: Cli) -> None:
    """A YAML config is read, migrated in place as YAML, and the commented one is written beside."""
    plain = cli.home / "config.yaml"
    plain.write_text("agent:\n  model: gpt-4o\n", encoding="utf-8")
    commented = cli.home / "other.yml"
    commented.write_text("# mine\nagent:\n  model: gpt-4o\n", encoding="utf-8")

    fixed = cli.call("doctor", "--fix")
    beside = cli.call("doctor", "--fix", "--config", str(commented))

    assert (0, 1) == (fixed.code, beside.code)
    assert (
        "agent:\n  model:\n    primary: openai/gpt-4o\n    fallbacks: []\n"
        "  models:\n    openai/gpt-4o: {}\n"
    ) == plain.read_text(encoding="utf-8")
    assert "# mine\nagent:\n  model: gpt-4o\n" == commented.read_text(encoding="utf-8")
    assert "openai/gpt-4o" == str(load_config_file(plain).text_chain())
    assert (cli.home / "other.yml.new").exists()


def test_a_yaml_config_without_pyyaml_is_a_clear_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without PyYAML a YAML config is refused in one line that says how to install it."""
    (cli.home / "config.yaml").write_text("agent: {}\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "yaml", None)

    result = cli.call("validate")

    assert 3 == result.code
    assert "needs PyYAML: pip install 'modelcfg[yaml]'" in result.stderr
    assert "Traceback" not in result.output


def test_fix_leaves_unresolved_entries_and_says_so(cli: Cli) -> None:
    """A model the migration cannot complete is kept, the file written, and exit 1 names it."""
    cli.write_config({"agent": {"model": "llama3"}})

    result = cli.call("doctor", "--fix")

    assert 1 == result.code
    assert "still needs edits" in result.stderr
    assert "'llama3'" in result.stderr
    assert (
        "llama3" == json.loads((cli.home / "config.json").read_text())["agent"]["model"]["primary"]
    )


def test_nothing_to_do_on_a_fresh_machine(cli: Cli) -> None:
    """No config file and no legacy files: nothing to do, exit 0, env keys left alone."""
    result = cli.with_env(OPENAI_API_KEY=CANARY).run("doctor")

    assert 0 == result.code
    assert "Nothing to do" in result.stdout


def test_import_env_imports_environment_keys(cli: Cli) -> None:
    """--import-env imports keys from the environment into the store."""
    result = cli.with_env(OPENAI_API_KEY=CANARY).call("doctor", "--fix", "--import-env")

    assert 0 == result.code
    assert AuthStore(path=cli.store_path).get("openai:default") is not None
    assert CANARY not in result.output


def test_malformed_config_exits_3(cli: Cli) -> None:
    """A config that is not JSON is a config error (exit 3) naming line and column."""
    (cli.home / "config.json").write_text("{", encoding="utf-8")

    result = cli.run("doctor")

    assert 3 == result.code
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_auth_dir_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    """--auth-dir that is not a directory exits 2."""
    result = cli.call("doctor", "--auth-dir", str(tmp_path / "nope"))

    assert_one_line_error(result, 2, "is not a directory")


def test_a_rerun_seeds_auth_order_for_profiles_imported_earlier(cli: Cli, legacy: Path) -> None:
    """Credentials imported by an earlier run still get their auth.order seeded by a later one."""
    first = cli.call("doctor", "--fix", "--auth-dir", str(legacy))
    config = cli.write_config({"agent": {"model": {"primary": "anthropic/claude-opus-4-5"}}})

    plan = cli.call("doctor", "--auth-dir", str(legacy))
    second = cli.call("doctor", "--fix", "--auth-dir", str(legacy))
    third = cli.call("doctor", "--fix", "--auth-dir", str(legacy), "--json")

    order = json.loads(config.read_text(encoding="utf-8"))["auth"]["order"]
    assert (0, 1, 0, 0) == (first.code, plan.code, second.code, third.code)
    assert {"anthropic": ["anthropic:default"], "openai": ["openai:default"]} == order
    assert [] == third.json()["configChanges"]


def test_a_legacy_auth_json_at_the_store_path_points_at_doctor(cli: Cli) -> None:
    """A legacy auth.json where the store belongs: commands exit 5 and name `doctor --fix`."""
    cli.store_path.write_text(json.dumps({"anthropic": {"apiKey": CANARY}}), encoding="utf-8")

    result = cli.call("auth", "status")

    assert_one_line_error(result, 5, "legacy auth.json", "modelcfg doctor --fix")
    assert LEAK_MARK not in result.output


def test_fix_moves_a_legacy_store_file_aside_and_imports_it(cli: Cli) -> None:
    """doctor --fix moves the legacy file to a new backup (an older one is kept), imports it,
    and a second run finds nothing to do."""
    legacy_bytes = json.dumps({"anthropic": {"apiKey": CANARY}}).encode()
    cli.store_path.write_bytes(legacy_bytes)
    older = cli.home / "auth.json.bak"
    older.write_text("an older backup", encoding="utf-8")

    plan = cli.call("doctor")
    fixed = cli.call("doctor", "--fix")
    again = cli.call("doctor", "--fix", "--json")
    status = cli.call("auth", "status", "--json")

    stored = AuthStore(path=cli.store_path).get("anthropic:default")
    assert (1, 0, 0) == (plan.code, fixed.code, again.code), fixed.stderr
    assert "Would move the legacy" in plan.stdout
    assert legacy_bytes == (cli.home / "auth.json.bak.1").read_bytes()
    assert "an older backup" == older.read_text(encoding="utf-8")
    assert CANARY == (stored.credential.secret.reveal() if stored else None)
    assert ([], []) == (again.json()["authChanges"], again.json()["configChanges"])
    assert not list(cli.home.glob("*.bak.bak*"))
    assert 5 != status.code
    assert LEAK_MARK not in plan.output + fixed.output + again.output


LEGACY_STORE = json.dumps({"anthropic": {"apiKey": CANARY}}).encode()


def stored_key(cli: Cli, profile: str = "anthropic:default") -> str | None:
    """The key the auth store holds for *profile*, or None."""
    stored = AuthStore(path=cli.store_path).get(profile)
    return stored.credential.secret.reveal() if stored is not None else None


def test_a_failed_store_write_leaves_the_legacy_store_in_place(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the new store cannot be written, the legacy auth.json stays where it was and a rerun imports it."""
    cli.store_path.write_bytes(LEGACY_STORE)

    def full_disk(path: Path, data: bytes, *, mode: int = 0o600) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("modelcfg.auth._store.atomic_write", full_disk)
        failed = cli.call("doctor", "--fix")
    kept = cli.store_path.read_bytes()
    rerun = cli.call("doctor", "--fix")

    assert (5, LEGACY_STORE) == (failed.code, kept), failed.stderr
    assert 0 == rerun.code, rerun.stderr
    assert CANARY == stored_key(cli)
    assert LEAK_MARK not in failed.output + rerun.output


def test_doctor_killed_during_the_import_loses_no_key(cli: Cli) -> None:
    """A doctor --fix killed with SIGKILL during the import leaves the key on disk, and a rerun imports it."""
    cli.store_path.write_bytes(LEGACY_STORE)
    script = (
        "import os, modelcfg._cli._doctor as d\n"
        "real = d.import_legacy_auth\n"
        "def dying(*args, **kwargs):\n"
        "    if kwargs.get('dry_run'):\n"
        "        return real(*args, **kwargs)\n"
        "    os.kill(os.getpid(), 9)\n"
        "d.import_legacy_auth = dying\n"
        "from modelcfg._cli import main\n"
        "main(['doctor', '--fix'])\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script], env=cli.env, cwd=cli.home, capture_output=True, check=False
    )

    rerun = cli.run("doctor", "--fix")

    assert -signal.SIGKILL == killed.returncode
    assert 0 == rerun.code, rerun.stderr
    assert "Nothing to do" not in rerun.stdout
    assert CANARY == stored_key(cli)


def test_a_rerun_finishes_an_import_left_in_the_backup(cli: Cli) -> None:
    """Keys an interrupted earlier run left only in auth.json.bak are found, imported once, and then left alone."""
    (cli.home / "auth.json.bak").write_bytes(LEGACY_STORE)

    plan = cli.call("doctor")
    fixed = cli.call("doctor", "--fix")
    again = cli.call("doctor", "--fix", "--json")

    assert (1, 0, 0) == (plan.code, fixed.code, again.code), fixed.stderr
    assert "Would finish importing" in plan.stdout
    assert "Would add anthropic:default (API key from" in plan.stdout
    assert CANARY == stored_key(cli)
    assert [] == again.json()["authChanges"]
    assert LEAK_MARK not in plan.output + fixed.output + again.output


def test_a_backup_whose_keys_are_stored_is_not_imported_again(cli: Cli) -> None:
    """A finished migration's backup is left alone, even after a profile it held was logged out."""
    (cli.home / "auth.json.bak").write_text(
        json.dumps({"anthropic": {"apiKey": CANARY}, "openai": f"sk-proj-{LEAK_MARK}-abcdef"}),
        encoding="utf-8",
    )
    assert 0 == cli.call("doctor", "--fix").code
    assert 0 == cli.call("logout", "openai").code

    again = cli.call("doctor", "--fix", "--json")

    assert (0, []) == (again.code, again.json()["authChanges"])
    assert None is stored_key(cli, "openai:default")


def test_backups_of_files_holding_keys_are_private(cli: Cli, legacy: Path) -> None:
    """Every backup doctor --fix keeps of a credential file is mode 0600, whatever the original's mode."""
    cli.store_path.write_text(json.dumps({"groq": f"gsk_{LEAK_MARK}-0123456789"}), encoding="utf-8")
    for path in (cli.store_path, legacy / "auth.json", legacy / "oauth.json"):
        path.chmod(0o644)

    first = cli.call("doctor", "--fix", "--auth-dir", str(legacy))
    second = cli.call("doctor", "--fix", "--auth-dir", str(legacy))

    backups = [*legacy.glob("*.bak*"), *cli.home.glob("auth.json.bak*")]
    assert (0, 0) == (first.code, second.code), first.stderr + second.stderr
    assert 3 == len(backups)
    assert {0o600} == {stat.S_IMODE(path.stat().st_mode) for path in backups}


def test_an_existing_backup_of_a_credential_file_is_made_private(cli: Cli, legacy: Path) -> None:
    """A backup an earlier run left readable by others is made 0600 when doctor --fix relies on it."""
    old_backup = legacy / "auth.json.bak"
    old_backup.write_bytes((legacy / "auth.json").read_bytes())
    old_backup.chmod(0o644)

    fixed = cli.call("doctor", "--fix", "--auth-dir", str(legacy))

    assert 0 == fixed.code, fixed.stderr
    assert 0o600 == stat.S_IMODE(old_backup.stat().st_mode)


def test_notes_never_show_a_key_found_where_a_name_belongs(cli: Cli, tmp_path: Path) -> None:
    """A legacy entry named with a key is reported as skipped without showing the key."""
    old = tmp_path / "old"
    old.mkdir()
    (old / "auth.json").write_text(
        json.dumps({CANARY: {"unrelated": 1}, "profiles": {CANARY: CANARY}}), encoding="utf-8"
    )

    plan = cli.call("doctor", "--auth-dir", str(old))

    assert "is not a recognised credential; skipped" in plan.stdout
    assert LEAK_MARK not in plan.output
