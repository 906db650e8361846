"""
The file helpers under the auth store and the state store, in hostile places.

A FIFO, a symbolic link or a directory where a store belongs, a umask of 000, a
store of another user, and a run as root on a user's store: nothing hangs, nothing
is written through a link, directories are private, and files keep their owners.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

import modelcfg._fileio as fileio
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    InsecureAuthFileWarning,
    MemoryAuthStore,
    import_legacy_auth,
)
from modelcfg.exceptions import AuthStoreError
from modelcfg.stores import FileStateStore
from modelcfg.stores._file import StateFileError

KEY = ApiKeyCredential(key="sk-file-0123456789")
STORE = json.dumps({"version": 1, "profiles": {}}).encode()
USER = 4242
"""A user id that is not ours, for the tests run as root."""

as_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing owners needs root"
)


def within(seconds: float, action: Callable[[], object]) -> BaseException | None:
    """Run *action* in a thread; fail the test if it is still running after *seconds*."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still blocked after {seconds} s")
    return outcome[0]


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def modes(*paths: Path) -> list[int]:
    """The permission bits of each of *paths*."""
    return [stat.S_IMODE(path.stat().st_mode) for path in paths]


def test_a_fifo_at_the_store_path_is_refused_at_once(tmp_path: Path) -> None:
    """A FIFO where the auth store belongs is an AuthStoreError, for reads and writes, without waiting."""
    path = tmp_path / "auth.json"
    os.mkfifo(path)

    on_read = within(5, lambda: AuthStore(path=path).profiles())
    on_write = within(5, lambda: AuthStore(path=path).put("openai:default", KEY))

    assert isinstance(on_read, AuthStoreError)
    assert isinstance(on_write, AuthStoreError)
    assert "is a FIFO (named pipe), not a regular file" in str(on_read)
    assert stat.S_ISFIFO(path.stat().st_mode)


def test_a_fifo_at_the_state_path_is_refused_at_once(tmp_path: Path) -> None:
    """A FIFO where the state file belongs is a StateFileError, without waiting."""
    path = tmp_path / "state.json"
    os.mkfifo(path)

    raised = within(5, lambda: anyio.run(FileStateStore(path).load_health))

    assert isinstance(raised, StateFileError)


def test_a_fifo_as_a_legacy_file_becomes_a_note(tmp_path: Path) -> None:
    """A FIFO named auth.json is not imported and does not block the import."""
    path = tmp_path / "auth.json"
    os.mkfifo(path)
    notes: list[tuple[str, ...]] = []

    raised = within(
        5, lambda: notes.append(import_legacy_auth(MemoryAuthStore(), auth_json=path).notes)
    )

    assert None is raised
    assert "cannot be read" in notes[0][0]


def test_a_directory_at_the_store_path_is_refused(tmp_path: Path) -> None:
    """A directory where the auth store belongs is an AuthStoreError naming what it is."""
    path = tmp_path / "auth.json"
    path.mkdir()

    with pytest.raises(AuthStoreError, match="is a directory, not a regular file"):
        AuthStore(path=path).profiles()


def test_a_symlinked_store_is_refused_and_never_replaced(tmp_path: Path) -> None:
    """A store that is a symbolic link is refused, read and write, and the link and its target stay."""
    target = tmp_path / "elsewhere.json"
    target.write_bytes(STORE)
    target.chmod(0o600)
    path = tmp_path / "auth.json"
    path.symlink_to(target)
    store = AuthStore(path=path)

    with pytest.raises(AuthStoreError, match="is a symbolic link") as on_read:
        store.profiles()
    with pytest.raises(AuthStoreError, match="is a symbolic link"):
        store.put("openai:default", KEY)

    assert str(target) in str(on_read.value)
    assert path.is_symlink()
    assert STORE == target.read_bytes()


def test_a_symlink_at_the_lock_path_is_never_followed(tmp_path: Path) -> None:
    """A symbolic link planted where the lock file goes makes the write fail; its target is never created."""
    path = tmp_path / "auth.json"
    target = tmp_path / "planted"
    (tmp_path / "auth.json.lock").symlink_to(target)

    with pytest.raises(AuthStoreError, match="Cannot write the auth store"):
        AuthStore(path=path).put("openai:default", KEY)

    assert not target.exists()
    assert not path.exists()


@pytest.mark.usefixtures("umask_000")
def test_directories_made_for_a_store_are_private_under_any_umask(tmp_path: Path) -> None:
    """Under umask 000 every directory made for the auth store and the state file is 0700."""
    AuthStore(path=tmp_path / "a" / "b" / "modelcfg" / "auth.json").put("openai:default", KEY)
    anyio.run(
        FileStateStore(tmp_path / "s" / "t" / "state.json").update_health, lambda health: health
    )

    assert [0o700] * 5 == modes(
        tmp_path / "a",
        tmp_path / "a" / "b",
        tmp_path / "a" / "b" / "modelcfg",
        tmp_path / "s",
        tmp_path / "s" / "t",
    )
    assert [0o600, 0o600] == modes(
        tmp_path / "a" / "b" / "modelcfg" / "auth.json",
        tmp_path / "a" / "b" / "modelcfg" / "auth.json.lock",
    )


def test_a_store_of_another_user_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a store that belongs to another user warns once, naming both users."""
    path = tmp_path / "auth.json"
    path.write_bytes(STORE)
    path.chmod(0o600)
    owner = path.stat().st_uid
    monkeypatch.setattr("modelcfg.auth._store.os.geteuid", lambda: owner + 1)
    store = AuthStore(path=path)

    with pytest.warns(InsecureAuthFileWarning, match=f"belongs to another user \\(uid {owner}\\)"):
        store.profiles()
    store.profiles()  # a second read says nothing new (the warnings filter would fail it)


@as_root
def test_root_keeps_the_user_as_owner_of_a_changed_store(tmp_path: Path) -> None:
    """A store changed by root keeps its user as owner, and so does the lock file root creates."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, USER, USER)
    path = home / "auth.json"
    path.write_bytes(STORE)
    path.chmod(0o600)
    os.chown(path, USER, USER)

    AuthStore(path=path).put("openai:default", KEY)

    owners = [(p.stat().st_uid, p.stat().st_gid) for p in (path, home / "auth.json.lock")]
    assert [(USER, USER), (USER, USER)] == owners
    assert [0o600, 0o600] == modes(path, home / "auth.json.lock")


@as_root
def test_root_gives_new_files_and_directories_to_the_owner_of_their_directory(
    tmp_path: Path,
) -> None:
    """A new store root makes in a user's directory belongs to that user, with every new directory."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, USER, USER)
    path = home / ".config" / "modelcfg" / "auth.json"

    AuthStore(path=path).put("openai:default", KEY)

    made = [home / ".config", home / ".config" / "modelcfg", path, path.with_name("auth.json.lock")]
    assert [USER] * 4 == [p.stat().st_uid for p in made]


@as_root
def test_root_keeps_a_lock_file_it_made_earlier_with_the_user(tmp_path: Path) -> None:
    """A lock file an older version left owned by root in a user's directory goes back to the user."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, USER, USER)
    lock = home / "auth.json.lock"
    lock.touch(mode=0o600)

    AuthStore(path=home / "auth.json").put("openai:default", KEY)

    assert USER == lock.stat().st_uid


def test_the_owner_kept_is_the_replaced_files_then_the_directorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever runs the tests: as root, a replaced file keeps its owner and a new one takes its directory's."""
    given: list[tuple[int, int]] = []
    monkeypatch.setattr(fileio, "_as_root", lambda: True)
    monkeypatch.setattr(fileio.os, "fchown", lambda fd, uid, gid: given.append((uid, gid)))
    monkeypatch.setattr(fileio.os, "chown", lambda path, uid, gid: given.append((uid, gid)))
    existing = tmp_path / "existing.json"
    existing.write_bytes(b"{}")
    mine = (existing.stat().st_uid, existing.stat().st_gid)
    directory = (tmp_path.stat().st_uid, tmp_path.stat().st_gid)

    fileio.atomic_write(existing, b"[]")
    fileio.atomic_write(tmp_path / "new" / "file.json", b"[]")

    assert [mine, directory, directory] == given
