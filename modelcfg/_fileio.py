"""
Small, general file helpers: atomic writes, an inter-process lock, permission checks, backups.

They are written for the auth store and meant to be reused by any file that must
never be truncated or lost on a crash (a JSON state store, the config doctor):

- :func:`atomic_write` writes a temporary file in the same directory, created with
  ``O_EXCL`` and an explicit mode, ``fsync``\\ s it, renames it over the target
  with ``os.replace`` and ``fsync``\\ s the directory. A reader sees either the old
  bytes or the new bytes, never a mix, even if the process is killed mid-write.
- :func:`exclusive_lock` holds an exclusive lock on a sibling ``.lock`` file, so a
  read-modify-write done under it is never interleaved with another process's.
  It is ``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; neither module
  is imported before the first lock is taken. The lock file is opened with
  ``O_NOFOLLOW`` where the platform has it.
- :func:`read_regular` reads a file only when it is a regular file: a FIFO, a
  device or a directory is refused at once instead of blocking or failing later,
  and so, when asked, is a symbolic link.
- Directories they create are 0700, each of them, whatever the umask.
- Run as root (``sudo``), they keep files with their owners: a replaced file keeps
  its owner, and a new file, lock file or directory belongs to the owner of the
  directory it is made in, so a user's store never becomes root's.
- :func:`loose_permissions` says whether group or others may read a file.
- :func:`backup_copy` keeps a copy of a file next to it (``name.bak``), never
  overwriting an earlier backup.

On Windows there is no ``O_NOFOLLOW``, ``O_NONBLOCK``, ``fchmod``, ``fchown`` or
directory ``fsync``: those steps are skipped there, and the modes asked for are
as close as Windows permissions come (read-only or not).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

__all__ = [
    "LockTimeoutError",
    "PRIVATE_FILE_MODE",
    "atomic_write",
    "backup_copy",
    "FileLocker",
    "exclusive_lock",
    "file_locker",
    "pick_locker",
    "fsync_directory",
    "NotRegularFileError",
    "keep_backup",
    "lock_path_for",
    "loose_permissions",
    "make_private_dirs",
    "read_regular",
    "read_regular_file",
]

PRIVATE_FILE_MODE: Final = 0o600
"""Read and write for the owner only."""

_PRIVATE_DIR_MODE: Final = 0o700
_LOCK_POLL_S: Final = 0.005

# Flags some platforms lack (Windows has none of the first three, and needs O_BINARY
# so that os.read and os.write never translate line ends).
_O_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK: Final = getattr(os, "O_NONBLOCK", 0)
_O_BINARY: Final = getattr(os, "O_BINARY", 0)


class LockTimeoutError(TimeoutError):
    """
    Another process held the lock for longer than the caller was willing to wait.

    Attributes:
        path: The lock file.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


class NotRegularFileError(OSError):
    """
    A path that must be a regular file is something else: a FIFO, a device, a
    directory, or a symbolic link where none is followed.

    Attributes:
        path: The path.
        what: What it is instead, for messages (``a FIFO``, ``a symbolic link``).
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        super().__init__(errno.EINVAL, f"{path} is {what}, not a regular file")


def _what(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_regular(path: Path, *, follow_symlinks: bool = True) -> tuple[bytes, os.stat_result]:
    """
    Read *path*, which must be a regular file, and return its bytes and its status.

    The file is opened without blocking and checked before it is read, so a FIFO
    at *path* is refused at once instead of waiting forever for a writer.

    Args:
        path: The file.
        follow_symlinks: Whether a symbolic link at *path* is followed; when not,
            it is refused.

    Raises:
        FileNotFoundError: Nothing is at *path*.
        NotRegularFileError: *path* is not a regular file (or is a symbolic link
            that is not followed).
        OSError: It cannot be read.
    """
    flags = os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC | _O_BINARY
    if not follow_symlinks:
        if not _O_NOFOLLOW and path.is_symlink():
            raise NotRegularFileError(path, "a symbolic link")
        flags |= _O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks and path.is_symlink():
            raise NotRegularFileError(path, "a symbolic link") from None
        raise
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFileError(path, _what(status.st_mode))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), status
    finally:
        os.close(fd)


def read_regular_file(path: Path, *, follow_symlinks: bool = True) -> bytes:
    """
    The bytes of *path*, which must be a regular file (see :func:`read_regular`).
    """
    return read_regular(path, follow_symlinks=follow_symlinks)[0]


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _owner_of(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_uid, status.st_gid


def make_private_dirs(directory: Path) -> None:
    """
    Create *directory* and any missing parents, each with mode 0700 whatever the umask.

    Existing directories are left as they are. Run as root, each new directory
    belongs to the owner of the directory it was made in.

    Raises:
        OSError: A directory cannot be created.
    """
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for new in reversed(missing):
        try:
            os.mkdir(new, _PRIVATE_DIR_MODE)
        except FileExistsError:
            if new.is_dir():
                continue  # made meanwhile by another process
            raise
        os.chmod(new, _PRIVATE_DIR_MODE)  # os.mkdir applies the umask; make the mode exact
        if _as_root():
            os.chown(new, *_owner_of(new.parent))


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
    if os.name == "nt":
        return  # Windows cannot open a directory as a file; its renames are durable
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """
    Replace *path* with *data* so that readers and crashes see old or new, never a mix.

    The parent directory is created (mode 0700, with any missing parents) when
    missing. The temporary file is created with ``O_EXCL`` and *mode* directly, so
    the result does not depend on the process umask. Run as root, the new file gets
    the owner of the file it replaces, or of its directory. On any error the
    temporary file is removed and *path* is left as it was.

    Args:
        path: The file to replace or create.
        data: The complete new content.
        mode: Permission bits of the new file.

    Raises:
        OSError: The directory cannot be created or written.
    """
    directory = path.parent
    make_private_dirs(directory)
    owner = _keeper(path) if _as_root() else None
    while True:
        tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_BINARY
            fd = os.open(tmp, flags, mode)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        break
    try:
        try:
            # os.open applies the umask to *mode*; fchmod makes the mode exact.
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            if owner is not None:
                os.fchown(fd, *owner)
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


def _keeper(path: Path) -> tuple[int, int]:
    """
    Who should own a file written at *path*: the owner of the file there, else of its directory.
    """
    try:
        status = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return _owner_of(path.parent)
    return status.st_uid, status.st_gid


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
    make_private_dirs(lock_file.parent)
    # O_NOFOLLOW: a symbolic link planted at the lock's name is refused (ELOOP), so
    # creating the lock can never create or truncate a file elsewhere.
    flags = os.O_RDWR | os.O_CREAT | _O_CLOEXEC | _O_NOFOLLOW | _O_BINARY
    if not _O_NOFOLLOW and lock_file.is_symlink():
        raise NotRegularFileError(lock_file, "a symbolic link")
    locker = file_locker()
    fd = os.open(lock_file, flags, PRIVATE_FILE_MODE)
    try:
        if _as_root():
            os.fchown(fd, *_keeper_of_new(fd, lock_file))
        deadline = time.monotonic() + timeout_s
        while not locker.try_lock(fd):
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"Could not lock {lock_file} within {timeout_s:g} s: "
                    "another process is holding it.",
                    path=lock_file,
                )
            time.sleep(_LOCK_POLL_S)
        try:
            yield
        finally:
            locker.unlock(fd)
    finally:
        os.close(fd)


class FileLocker(Protocol):
    """
    One platform's way to hold an exclusive lock on an open file.
    """

    name: str
    """``"fcntl"`` or ``"msvcrt"``."""

    def try_lock(self, fd: int) -> bool:
        """
        Take the lock on *fd* without waiting; ``False`` when another holder has it.
        """

    def unlock(self, fd: int) -> None:
        """
        Release the lock taken on *fd*.
        """


_BUSY: Final = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK})


class _FcntlLocker:
    """
    ``flock`` on the whole file (POSIX): per open file, so it excludes threads too.
    """

    name = "fcntl"

    def __init__(self, module: object) -> None:
        self._fcntl: object = module

    def try_lock(self, fd: int) -> bool:
        fcntl = self._fcntl
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[attr-defined]
        except OSError as exc:
            if exc.errno not in _BUSY:
                raise
            return False
        return True

    def unlock(self, fd: int) -> None:
        fcntl = self._fcntl
        fcntl.flock(fd, fcntl.LOCK_UN)  # type: ignore[attr-defined]


class _MsvcrtLocker:
    """
    ``msvcrt.locking`` of the file's first byte (Windows): per handle, so it excludes threads too.

    Windows locks a byte range of an open handle, and a lock may cover bytes past
    the end of the file, so the empty lock file needs no content.
    """

    name = "msvcrt"

    def __init__(self, module: object) -> None:
        self._msvcrt: object = module

    def try_lock(self, fd: int) -> bool:
        msvcrt = self._msvcrt
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError as exc:
            if exc.errno not in _BUSY:
                raise
            return False
        return True

    def unlock(self, fd: int) -> None:
        msvcrt = self._msvcrt
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


_locker: FileLocker | None = None


def file_locker() -> FileLocker:
    """
    The platform's file locker, chosen (and its module imported) on first use.

    ``fcntl`` where it can be imported, else ``msvcrt``, so ``import modelcfg``
    never needs either.

    Raises:
        OSError: The platform has neither.
    """
    global _locker  # one choice per process, made lazily
    if _locker is None:
        _locker = pick_locker()
    return _locker


def pick_locker() -> FileLocker:
    """
    Choose the file locker from the modules this interpreter can import.

    Raises:
        OSError: Neither ``fcntl`` nor ``msvcrt`` can be imported.
    """
    import importlib

    try:
        return _FcntlLocker(importlib.import_module("fcntl"))
    except ImportError:
        pass
    try:
        return _MsvcrtLocker(importlib.import_module("msvcrt"))
    except ImportError:
        pass
    raise OSError(
        errno.ENOSYS,
        "modelcfg cannot lock files on this platform: it has neither fcntl nor msvcrt",
    )


def _keeper_of_new(fd: int, path: Path) -> tuple[int, int]:
    """
    Who should own the lock file open as *fd*: its owner, unless root just made it.
    """
    status = os.fstat(fd)
    if status.st_uid != 0:
        return status.st_uid, status.st_gid
    return _owner_of(path.parent)


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
