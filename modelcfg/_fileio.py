"""
Small, general file helpers: atomic writes, an inter-process lock, permission checks, backups.

They are written for the auth store and meant to be reused by any file that must
never be truncated or lost on a crash (a JSON state store, the config doctor):

- :func:`atomic_write` writes a temporary file in the same directory, created with
  ``O_EXCL`` and an explicit mode, ``fsync``\\ s it, renames it over the target
  with ``os.replace`` and ``fsync``\\ s the directory. A reader sees either the old
  bytes or the new bytes, never a mix, even if the process is killed mid-write.
- :func:`exclusive_lock` holds ``fcntl.flock`` on a sibling ``.lock`` file, so a
  read-modify-write done under it is never interleaved with another process's.
- :func:`loose_permissions` says whether group or others may read a file.
- :func:`backup_copy` keeps a copy of a file next to it (``name.bak``), never
  overwriting an earlier backup.

POSIX only (``fcntl``); modelcfg does not support Windows for file stores.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

__all__ = [
    "LockTimeoutError",
    "PRIVATE_FILE_MODE",
    "atomic_write",
    "backup_copy",
    "exclusive_lock",
    "fsync_directory",
    "keep_backup",
    "lock_path_for",
    "loose_permissions",
]

PRIVATE_FILE_MODE: Final = 0o600
"""Read and write for the owner only."""

_PRIVATE_DIR_MODE: Final = 0o700
_LOCK_POLL_S: Final = 0.005


class LockTimeoutError(TimeoutError):
    """
    Another process held the lock for longer than the caller was willing to wait.

    Attributes:
        path: The lock file.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


def lock_path_for(path: Path) -> Path:
    """
    Return the sibling lock file of *path* (``auth.json`` -> ``auth.json.lock``).
    """
    return path.with_name(path.name + ".lock")


def fsync_directory(directory: Path) -> None:
    """
    Flush a directory entry change (a rename or a new file) to disk.

    Some file systems refuse ``fsync`` on a directory; that is ignored, since the
    data itself has been flushed already.
    """
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """
    Replace *path* with *data* so that readers and crashes see old or new, never a mix.

    The parent directory is created (mode 0700) when missing. The temporary file
    is created with ``O_EXCL`` and *mode* directly, so the result does not depend
    on the process umask. On any error the temporary file is removed and *path*
    is left as it was.

    Args:
        path: The file to replace or create.
        data: The complete new content.
        mode: Permission bits of the new file.

    Raises:
        OSError: The directory cannot be created or written.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True, mode=_PRIVATE_DIR_MODE)
    while True:
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        break
    try:
        try:
            # os.open applies the umask to *mode*; fchmod makes the mode exact.
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(directory)


@contextlib.contextmanager
def exclusive_lock(path: Path, *, timeout_s: float = 10.0) -> Iterator[None]:
    """
    Hold an exclusive ``flock`` on ``lock_path_for(path)`` for the ``with`` block.

    The lock file is created with mode 0600 and left in place afterwards (removing
    it would let two processes lock two different files). The lock is per open
    file, so it also excludes other threads that take it through this function.

    Args:
        path: The file being protected (not the lock file itself).
        timeout_s: How long to wait for another holder before giving up.

    Raises:
        LockTimeoutError: The lock was not acquired within *timeout_s*.
    """
    lock_file = lock_path_for(path)
    lock_file.parent.mkdir(parents=True, exist_ok=True, mode=_PRIVATE_DIR_MODE)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"Could not lock {lock_file} within {timeout_s:g} s: "
                        "another process is holding it.",
                        path=lock_file,
                    ) from None
                time.sleep(_LOCK_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def loose_permissions(path: Path) -> int | None:
    """
    Return the permission bits of *path* when group or others may access it, else ``None``.

    A missing file gives ``None``.
    """
    try:
        st_mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    bits = stat.S_IMODE(st_mode)
    return bits if bits & 0o077 else None


def backup_copy(path: Path, *, suffix: str = ".bak", mode: int | None = None) -> Path | None:
    """
    Copy *path* to ``path + suffix`` and return the copy, never overwriting a backup.

    When ``name.bak`` already holds exactly the same bytes, nothing is written and
    ``None`` is returned. When it holds something else, ``name.bak.1``,
    ``name.bak.2``, ... is used. The copy is written atomically.

    Args:
        path: The file to back up.
        suffix: What the backup's name adds to *path*'s.
        mode: The backup's permission bits (0600 for a file holding keys); the
            original's by default.

    Raises:
        FileNotFoundError: *path* does not exist.
    """
    backup, written = keep_backup(path, suffix=suffix, mode=mode)
    return backup if written else None


def keep_backup(path: Path, *, suffix: str = ".bak", mode: int | None = None) -> tuple[Path, bool]:
    """
    Make sure a backup holds the current bytes of *path*, and say which one.

    Like :func:`backup_copy`, but an existing backup with the same bytes is
    returned too (and given *mode* when one is asked for).

    Returns:
        The backup holding *path*'s bytes, and whether it was written now.

    Raises:
        FileNotFoundError: *path* does not exist.
    """
    data = path.read_bytes()
    original = stat.S_IMODE(path.stat().st_mode)
    candidate = path.with_name(path.name + suffix)
    counter = 0
    while candidate.exists():
        if candidate.read_bytes() == data:
            if mode is not None and stat.S_IMODE(candidate.stat().st_mode) != mode:
                os.chmod(candidate, mode)
            return candidate, False
        counter += 1
        candidate = path.with_name(f"{path.name}{suffix}.{counter}")
    atomic_write(candidate, data, mode=original if mode is None else mode)
    shutil.copystat(path, candidate)
    if mode is not None:
        os.chmod(candidate, mode)  # copystat copied the original's bits
    return candidate, True
