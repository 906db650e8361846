"""
The JSON-file state store: health and sessions shared by the processes of one machine.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

import anyio.to_thread

from modelcfg._core._health import HealthState
from modelcfg._core._state import SessionState, dump_state, load_state
from modelcfg._fileio import atomic_write, exclusive_lock, read_regular_file
from modelcfg.exceptions import ModelcfgError

__all__ = ["FileStateStore", "StateFileError"]

STATE_FILE_VERSION: Final = 1
_T = TypeVar("_T")


class StateFileError(ModelcfgError):
    """
    The state file cannot be read; it is left as it is.

    Attributes:
        path: The state file.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


class FileStateStore:
    """
    Health and sessions in one JSON file, safe for several processes.

    Every update is a read-modify-write under an exclusive lock on a sibling
    ``.lock`` file, and the new content replaces the old atomically, so a crash
    never leaves a truncated file and two processes never lose an update. A file
    that cannot be read (corrupt, or written by a newer modelcfg) is refused and
    left untouched. The file holds no secrets.

    Args:
        path: The state file; created on the first update.
        lock_timeout_s: How long to wait for another process's lock.
    """

    def __init__(self, path: str | Path, *, lock_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self._lock_timeout_s = lock_timeout_s
        self._cache: tuple[tuple[int, ...], HealthState, dict[str, object]] | None = None
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileStateStore({str(self.path)!r})"

    async def load_health(self) -> HealthState:
        """
        The health recorded in the file (all healthy if there is no file yet).
        """
        health, _sessions = await anyio.to_thread.run_sync(self._read)
        return health

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState:
        """
        Apply *change* to the file's health under the lock, atomically.
        """

        def update() -> HealthState:
            with self._locked():
                health, sessions = self._read(cached=False)
                new = change(health)
                if new != health:
                    self._write(new, sessions)
                return new

        return await anyio.to_thread.run_sync(update)

    async def load_session(self, session_id: str) -> SessionState | None:
        """
        The session saved under *session_id*, or ``None``.
        """
        _health, sessions = await anyio.to_thread.run_sync(self._read)
        data = sessions.get(session_id)
        return (
            None if data is None else self._structure(data, SessionState, f"sessions.{session_id}")
        )

    async def save_session(self, session_id: str, session: SessionState) -> None:
        """
        Remember *session* under *session_id* in the file.
        """

        def save() -> None:
            with self._locked():
                health, sessions = self._read(cached=False)
                self._write(health, {**sessions, session_id: dump_state(session)})

        await anyio.to_thread.run_sync(save)

    # --- file access (blocking; called in a worker thread) -------------------------------------

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return exclusive_lock(self.path, timeout_s=self._lock_timeout_s)

    def _read(self, *, cached: bool = True) -> tuple[HealthState, dict[str, object]]:
        """
        The file's content; plain reads may reuse the last parse of the same file.

        A read-modify-write under the lock always reads afresh: a time stamp too
        coarse to tell two writes apart must never make it write stale data back.
        """
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return HealthState(), {}
        # Every write replaces the file, so a new inode marks a new content.
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)
        with self._thread_lock:
            if cached and self._cache is not None and self._cache[0] == key:
                return self._cache[1], self._cache[2]
        try:
            data = json.loads(read_regular_file(self.path))  # a FIFO is refused, never waited on
        except (OSError, ValueError, RecursionError) as exc:
            raise StateFileError(
                f"The state file {self.path} cannot be read ({type(exc).__name__}); "
                "it was left as it is: move it away to start with fresh state.",
                path=self.path,
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise StateFileError(
                f"The state file {self.path} is not a modelcfg state file; it was left as it is.",
                path=self.path,
            )
        if data["version"] > STATE_FILE_VERSION:
            raise StateFileError(
                f"The state file {self.path} was written by a newer modelcfg (format "
                f"{data['version']}); upgrade modelcfg or use another file.",
                path=self.path,
            )
        health = self._structure(data.get("health", {}), HealthState, "health")
        sessions = data.get("sessions", {})
        if not isinstance(sessions, dict):
            raise StateFileError(
                f"The state file {self.path} has a malformed 'sessions' entry.", path=self.path
            )
        with self._thread_lock:
            self._cache = (key, health, sessions)
        return health, sessions

    def _write(self, health: HealthState, sessions: dict[str, object]) -> None:
        payload = {
            "version": STATE_FILE_VERSION,
            "health": dump_state(health),
            "sessions": sessions,
        }
        atomic_write(self.path, json.dumps(payload, separators=(",", ":")).encode())
        with self._thread_lock:
            self._cache = None

    def _structure(self, data: object, cls: type[_T], where: str) -> _T:
        try:
            return load_state(data, cls)
        except Exception as exc:  # cattrs raises several kinds; all mean "malformed"
            raise StateFileError(
                f"The state file {self.path} has a malformed '{where}' entry "
                f"({type(exc).__name__}); it was left as it is.",
                path=self.path,
            ) from None
