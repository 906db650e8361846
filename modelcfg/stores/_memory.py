"""
The in-memory state store: one process, any number of concurrent requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from modelcfg._core._health import HealthState
from modelcfg._core._state import SessionState
from modelcfg.typing import JSON, Clock

__all__ = [
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_SESSION_TTL_S",
    "MemoryStateStore",
    "check_limits",
    "copy_json",
]

DEFAULT_MAX_SESSIONS: Final = 10_000
"""How many sessions a store keeps by default before it evicts the least recently saved."""

DEFAULT_SESSION_TTL_S: Final = 7 * 24 * 3600.0
"""How long a session is kept by default after it was last saved: a week."""


def check_limits(max_sessions: int, session_ttl_s: float) -> None:
    """
    Refuse session limits that would keep nothing.

    Raises:
        ValueError: *max_sessions* is below 1 or *session_ttl_s* is not positive.
    """
    if max_sessions < 1:
        raise ValueError(f"max_sessions must be at least 1, not {max_sessions}")
    if not session_ttl_s > 0:
        raise ValueError(f"session_ttl_s must be positive, not {session_ttl_s}")


def copy_json(value: JSON, *, where: str) -> JSON:
    """
    A deep copy of *value* through JSON text, as every store keeps records.

    Raises:
        TypeError: *value* is not made of JSON values; the message names *where*.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        copied: JSON = json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where} must be JSON values (dict, list, str, number): {exc}") from None
    return copied


class MemoryStateStore:
    """
    Health, sessions, counters and records held in memory, shared by every request of one process.

    Updates apply a pure transition under a lock, so concurrent requests (in one
    event loop or in several threads) never lose each other's changes. Sessions
    expire *session_ttl_s* after they were last saved, and beyond *max_sessions*
    the least recently saved are evicted, so memory stays bounded.

    Args:
        health: The health to start from.
        max_sessions: The most sessions kept.
        session_ttl_s: How long a session is kept after it was last saved.
        clock: Seconds since the epoch, for session and counter expiry.
    """

    def __init__(
        self,
        health: HealthState | None = None,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        session_ttl_s: float = DEFAULT_SESSION_TTL_S,
        clock: Clock = time.time,
    ) -> None:
        check_limits(max_sessions, session_ttl_s)
        self._health = health if health is not None else HealthState()
        self._sessions: OrderedDict[str, tuple[SessionState, float]] = OrderedDict()
        self._counters: dict[str, tuple[int, float | None]] = {}
        self._records: dict[str, tuple[JSON, float | None]] = {}
        self._lock = threading.Lock()
        self.max_sessions = max_sessions
        self.session_ttl_s = session_ttl_s
        self._clock = clock

    def __repr__(self) -> str:
        return f"MemoryStateStore(<{len(self._sessions)} sessions>)"

    # -- health ------------------------------------------------------------------------------

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

    # -- sessions ----------------------------------------------------------------------------

    async def load_session(self, session_id: str) -> SessionState | None:
        """
        The session saved under *session_id*, or ``None`` (never saved, expired or evicted).
        """
        found = self._sessions.get(session_id)
        if found is None or found[1] + self.session_ttl_s <= self._clock():
            return None
        return found[0]

    async def save_session(self, session_id: str, session: SessionState) -> None:
        """
        Remember *session* under *session_id*, as the most recently saved.
        """
        now = self._clock()
        with self._lock:
            sessions = self._sessions
            sessions[session_id] = (session, now)
            sessions.move_to_end(session_id)
            horizon = now - self.session_ttl_s
            while sessions and (
                len(sessions) > self.max_sessions or next(iter(sessions.values()))[1] <= horizon
            ):
                sessions.popitem(last=False)

    def session_count(self) -> int:
        """
        How many sessions are held now (expired ones may still count until the next save).
        """
        return len(self._sessions)

    # -- counters and records ----------------------------------------------------------------

    async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int:
        """
        Add *amount* to the counter *key* atomically and return its new total.

        A new counter starts at 0 and, with *ttl_s*, expires that long after it was created.
        """
        now = self._clock()
        with self._lock:
            found = self._live_counter(key, now)
            if found is None:
                value, expires_at = 0, (None if ttl_s is None else now + ttl_s)
            else:
                value, expires_at = found
            total = value + amount
            self._counters[key] = (total, expires_at)
            return total

    async def load_counter(self, key: str) -> int:
        """
        The counter *key*'s total (0 when there is none).
        """
        found = self._live_counter(key, self._clock())
        return 0 if found is None else found[0]

    async def load_record(self, key: str) -> JSON:
        """
        The record *key* (``None`` when there is none).
        """
        return copy_json(self._live_record(key, self._clock()), where=f"record {key!r}")

    async def update_record(
        self, key: str, change: Callable[[JSON], JSON], *, ttl_s: float | None = None
    ) -> JSON:
        """
        Apply *change* to the record *key* atomically; ``None`` from *change* deletes it.
        """
        now = self._clock()
        with self._lock:
            old = self._live_record(key, now)
            new = copy_json(
                change(copy_json(old, where=f"record {key!r}")), where=f"record {key!r}"
            )
            if new is None:
                self._records.pop(key, None)
            else:
                self._records[key] = (new, None if ttl_s is None else now + ttl_s)
            return copy_json(new, where=f"record {key!r}")

    def _live_counter(self, key: str, now: float) -> tuple[int, float | None] | None:
        found = self._counters.get(key)
        if found is None or (found[1] is not None and found[1] <= now):
            return None
        return found

    def _live_record(self, key: str, now: float) -> JSON:
        found = self._records.get(key)
        if found is None or (found[1] is not None and found[1] <= now):
            return None
        return found[0]
