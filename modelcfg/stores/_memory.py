"""
The in-memory state store: one process, any number of concurrent requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from modelcfg._core._health import HealthState
from modelcfg._core._state import SessionState

__all__ = ["MemoryStateStore"]


class MemoryStateStore:
    """
    Health and sessions held in memory, shared by every request of one process.

    Updates apply a pure transition under a lock, so concurrent requests (in one
    event loop or in several threads) never lose each other's changes.
    """

    def __init__(self, health: HealthState | None = None) -> None:
        self._health = health if health is not None else HealthState()
        self._sessions: dict[str, SessionState] = {}
        self._lock = threading.Lock()

    async def load_health(self) -> HealthState:
        """
        The current health snapshot.
        """
        return self._health

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState:
        """
        Apply *change* to the current health atomically and return the result.
        """
        with self._lock:
            self._health = change(self._health)
            return self._health

    async def load_session(self, session_id: str) -> SessionState | None:
        """
        The session saved under *session_id*, or ``None``.
        """
        return self._sessions.get(session_id)

    async def save_session(self, session_id: str, session: SessionState) -> None:
        """
        Remember *session* under *session_id*.
        """
        with self._lock:
            self._sessions[session_id] = session

    def __repr__(self) -> str:
        return f"MemoryStateStore(<{len(self._sessions)} sessions>)"
