"""
The SQLite state store: health, sessions, counters and records shared on one machine.

One database file in WAL mode, one row per health entry, session, counter or
record. Writes are short ``BEGIN IMMEDIATE`` transactions run in a worker thread.
Reads are answered from this process's copy while ``PRAGMA data_version`` says
no other connection committed since it was taken (a check of a few microseconds
that never waits on a lock), and from the database otherwise.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Final, Self, TypeVar

import anyio.to_thread

from modelcfg._core._health import HealthState
from modelcfg._core._state import SessionState, dump_state
from modelcfg._fileio import atomic_write
from modelcfg.stores._codec import (
    HealthRows,
    StateStoreError,
    decode_session,
    encode_session,
    health_diff,
)
from modelcfg.stores._memory import (
    DEFAULT_MAX_SESSIONS,
    DEFAULT_SESSION_TTL_S,
    check_limits,
    copy_json,
)
from modelcfg.typing import JSON, Clock

__all__ = ["SqliteStateStore"]

SCHEMA_VERSION: Final = 1
"""The database layout this modelcfg writes, kept in ``PRAGMA user_version``."""

_SESSION_CACHE: Final = 4096
"""The most sessions this process keeps parsed; the database keeps every one."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS health (
    tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, value TEXT NOT NULL, used_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_use ON sessions (used_at);
CREATE TABLE IF NOT EXISTS session_count (n INTEGER NOT NULL);
INSERT INTO session_count (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM session_count);
CREATE TRIGGER IF NOT EXISTS session_added AFTER INSERT ON sessions
    BEGIN UPDATE session_count SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS session_removed AFTER DELETE ON sessions
    BEGIN UPDATE session_count SET n = n - 1; END;
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL
) WITHOUT ROWID;
"""

_T = TypeVar("_T")


class SqliteStateStore:
    """
    Health, sessions, counters and records in one SQLite database, safe for many processes.

    The embedded persistent store for one machine: every process that opens the
    same file shares one view of failing providers, half-open probes and sessions.
    Each update is one short transaction (``BEGIN IMMEDIATE``, so claims never
    race), writes only the rows that changed, and runs off the event loop. An
    update that changes nothing writes nothing, and neither does saving a session
    unchanged within *touch_interval_s* of its last save. A crash of the process
    loses no committed update (WAL mode); a crash of the machine may lose the
    last ones but never corrupts the file.

    Args:
        path: The database file; created, with its tables, on first use.
        max_sessions: The most sessions kept; beyond it the least recently saved go.
        session_ttl_s: How long a session is kept after it was last saved.
        touch_interval_s: How often saving an unchanged session refreshes its age.
        busy_timeout_s: How long to wait for another process's write.
        clock: Seconds since the epoch, for session and counter expiry.

    Raises:
        ValueError: A limit would keep nothing.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        session_ttl_s: float = DEFAULT_SESSION_TTL_S,
        touch_interval_s: float = 60.0,
        busy_timeout_s: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        check_limits(max_sessions, session_ttl_s)
        self.path = Path(path)
        self.max_sessions = max_sessions
        self.session_ttl_s = session_ttl_s
        self.touch_interval_s = touch_interval_s
        self._busy_timeout_s = busy_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        # What this process knows, valid while the database's data_version is _seen.
        self._seen: int | None = None
        self._health: HealthState | None = None
        self._rows = HealthRows(repr(self))
        self._sessions: OrderedDict[str, tuple[SessionState, float]] = OrderedDict()

    def __repr__(self) -> str:
        return f"SqliteStateStore({str(self.path)!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """
        Close the database connection; the next call opens it again.
        """
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            self._forget()

    async def aclose(self) -> None:
        """
        Close the database connection (in a worker thread).
        """
        await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- health ------------------------------------------------------------------------------

    async def load_health(self) -> HealthState:
        """
        The health as last committed by any process.
        """
        if self._current() and self._health is not None:
            return self._health
        return await self._off_loop(self._read_health)

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState:
        """
        Apply *change* in one ``BEGIN IMMEDIATE`` transaction, writing the changed rows only.

        When this process's copy is current and *change* leaves it as it is, nothing
        is written and no thread is used.
        """
        health = self._health
        if health is not None and self._current():
            new = change(health)
            if new is health or new == health:
                return health
        return await self._off_loop(self._update_health, change)

    # -- sessions ----------------------------------------------------------------------------

    async def load_session(self, session_id: str) -> SessionState | None:
        """
        The session saved under *session_id*, or ``None`` (never saved, expired or evicted).
        """
        found = self._sessions.get(session_id)
        if found is not None and found[1] + self.session_ttl_s > self._clock() and self._current():
            return found[0]
        return await self._off_loop(self._read_session, session_id)

    async def save_session(self, session_id: str, session: SessionState) -> None:
        """
        Remember *session* under *session_id*, as the most recently saved.

        Saving what is already there within *touch_interval_s* of the last save
        writes nothing.
        """
        found = self._sessions.get(session_id)
        if (
            found is not None
            and found[1] + self.touch_interval_s > self._clock()
            and (found[0] is session or found[0] == session)
            and self._current()
        ):
            return
        await self._off_loop(self._write_session, session_id, session)

    # -- counters and records ----------------------------------------------------------------

    async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int:
        """
        Add *amount* to the counter *key* atomically and return its new total.

        A new counter starts at 0 and, with *ttl_s*, expires that long after it was created.
        """
        return await self._off_loop(self._add, key, amount, ttl_s)

    async def load_counter(self, key: str) -> int:
        """
        The counter *key*'s total (0 when there is none).
        """
        return await self._off_loop(self._read_counter, key)

    async def load_record(self, key: str) -> JSON:
        """
        The record *key* (``None`` when there is none).
        """
        return await self._off_loop(self._read_record, key)

    async def update_record(
        self, key: str, change: Callable[[JSON], JSON], *, ttl_s: float | None = None
    ) -> JSON:
        """
        Apply *change* to the record *key* in one transaction; ``None`` from *change* deletes it.
        """
        return await self._off_loop(self._update_record, key, change, ttl_s)

    # -- the JSON state-file format ------------------------------------------------------------

    async def export_file(self, path: str | Path) -> None:
        """
        Write the health and the live sessions to *path* in the JSON state-file format.

        The file is what :class:`~modelcfg.stores.FileStateStore` reads, written
        atomically; it holds no secrets.
        """
        health = await self.load_health()
        sessions = await self._off_loop(self._all_sessions)
        payload = {
            "version": 1,
            "health": dump_state(health),
            "sessions": {sid: json.loads(text) for sid, text in sessions},
        }
        data = json.dumps(payload, separators=(",", ":")).encode()
        await anyio.to_thread.run_sync(atomic_write, Path(path), data)

    async def import_file(self, path: str | Path) -> None:
        """
        Replace the health with the one in the JSON state file *path*, and add its sessions.

        Raises:
            modelcfg.stores.StateFileError: The file cannot be read; nothing was changed.
        """
        from modelcfg.stores._file import FileStateStore

        health, sessions = await anyio.to_thread.run_sync(FileStateStore(path)._read)
        source = FileStateStore(path)
        parsed = [
            (sid, source._structure(data, SessionState, f"sessions.{sid}"))
            for sid, data in sessions.items()
        ]
        await self.update_health(lambda _old: health)
        for sid, session in parsed:
            await self._off_loop(self._write_session, sid, session)

    # -- on the event loop -----------------------------------------------------------------------

    def _current(self) -> bool:
        """
        Whether this process's copy is still what the database holds, checked without waiting.

        ``False`` when the database is not open yet, or another thread is using the
        connection: the caller then asks the database from a worker thread.
        """
        connection = self._connection
        if connection is None or not self._lock.acquire(blocking=False):
            return False
        try:
            return self._data_version(connection) == self._seen
        except sqlite3.Error:
            return False
        finally:
            self._lock.release()

    async def _off_loop(self, call: Callable[..., _T], *args: object) -> _T:
        return await anyio.to_thread.run_sync(self._locked, call, *args)

    def _locked(self, call: Callable[..., _T], *args: object) -> _T:
        with self._lock:
            try:
                return call(self._connect(), *args)
            except sqlite3.DatabaseError as exc:
                raise StateStoreError(
                    f"{self!r} cannot be used ({type(exc).__name__}: {exc}); "
                    "the file was left as it is.",
                    where=repr(self),
                ) from None

    # -- in a worker thread, under the lock ------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            # Two processes opening a new file at once can find it locked in ways SQLite's
            # busy handler does not wait for (switching to WAL): try again for a while.
            deadline = time.monotonic() + self._busy_timeout_s
            while True:
                try:
                    self._prepare(connection)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        # WAL: readers never wait for the writer; NORMAL: commits skip fsync (a
        # checkpoint syncs), so a process crash loses nothing and a power loss
        # loses at most the last commits, never the file's consistency.
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        with _transaction(connection, immediate=True):
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateStoreError(
                    f"{self!r} was written by a newer modelcfg (schema {version}); "
                    "upgrade modelcfg or use another file.",
                    where=repr(self),
                )
            if version < SCHEMA_VERSION:
                # One statement at a time: executescript() would commit this transaction.
                for statement in _SCHEMA.split(";\n"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            now = self._clock()
            connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
            connection.execute("DELETE FROM records WHERE expires_at <= ?", (now,))

    @staticmethod
    def _data_version(connection: sqlite3.Connection) -> int:
        version: int = connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _forget(self) -> None:
        self._seen = None
        self._health = None
        self._sessions.clear()

    def _catch_up(self, connection: sqlite3.Connection) -> None:
        """
        Drop this process's copy when another connection committed since it was taken.
        """
        version = self._data_version(connection)
        if version != self._seen:
            self._forget()
            self._seen = version

    def _health_rows(self, connection: sqlite3.Connection) -> HealthState:
        if self._health is None:
            rows = connection.execute("SELECT tbl, key, value FROM health")
            self._health = self._rows.build(rows)
        return self._health

    def _read_health(self, connection: sqlite3.Connection) -> HealthState:
        self._catch_up(connection)
        return self._health_rows(connection)

    def _update_health(
        self, connection: sqlite3.Connection, change: Callable[[HealthState], HealthState]
    ) -> HealthState:
        with _transaction(connection, immediate=True):
            self._catch_up(connection)
            old = self._health_rows(connection)
            new = change(old)
            writes, deletes = health_diff(old, new)
            if writes:
                connection.executemany(
                    "INSERT INTO health (tbl, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
                    [(table, key, text) for table, key, text, _ in writes],
                )
            if deletes:
                connection.executemany("DELETE FROM health WHERE tbl = ? AND key = ?", deletes)
        self._health = new
        self._rows.remember(writes, deletes)
        return new

    def _read_session(self, connection: sqlite3.Connection, session_id: str) -> SessionState | None:
        self._catch_up(connection)
        row = connection.execute(
            "SELECT value, used_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None or row[1] + self.session_ttl_s <= self._clock():
            return None
        session = decode_session(row[0], where=repr(self), session_id=session_id)
        self._cache_session(session_id, session, row[1])
        return session

    def _write_session(
        self, connection: sqlite3.Connection, session_id: str, session: SessionState
    ) -> None:
        now = self._clock()
        text = encode_session(session)
        with _transaction(connection, immediate=True):
            self._catch_up(connection)
            connection.execute(
                "INSERT INTO sessions (id, value, used_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET value = excluded.value, used_at = excluded.used_at",
                (session_id, text, now),
            )
            (count,) = connection.execute("SELECT n FROM session_count").fetchone()
            evicted = connection.execute(
                "SELECT id FROM sessions WHERE used_at <= ? UNION "
                "SELECT id FROM (SELECT id FROM sessions ORDER BY used_at LIMIT ?)",
                (now - self.session_ttl_s, max(0, count - self.max_sessions)),
            ).fetchall()
            if evicted:
                connection.executemany("DELETE FROM sessions WHERE id = ?", evicted)
        for (gone,) in evicted:
            self._sessions.pop(gone, None)
        self._cache_session(session_id, session, now)

    def _cache_session(self, session_id: str, session: SessionState, used_at: float) -> None:
        sessions = self._sessions
        sessions[session_id] = (session, used_at)
        sessions.move_to_end(session_id)
        if len(sessions) > min(_SESSION_CACHE, self.max_sessions):
            sessions.popitem(last=False)

    def _all_sessions(self, connection: sqlite3.Connection) -> list[tuple[str, str]]:
        horizon = self._clock() - self.session_ttl_s
        rows = connection.execute(
            "SELECT id, value FROM sessions WHERE used_at > ? ORDER BY used_at", (horizon,)
        )
        return [(sid, text) for sid, text in rows]

    def _add(
        self, connection: sqlite3.Connection, key: str, amount: int, ttl_s: float | None
    ) -> int:
        now = self._clock()
        with _transaction(connection, immediate=True):
            row = connection.execute(
                "SELECT value, expires_at FROM counters WHERE key = ?", (key,)
            ).fetchone()
            if row is None or (row[1] is not None and row[1] <= now):
                total, expires_at = amount, (None if ttl_s is None else now + ttl_s)
            else:
                total, expires_at = row[0] + amount, row[1]
            connection.execute(
                "INSERT OR REPLACE INTO counters (key, value, expires_at) VALUES (?, ?, ?)",
                (key, total, expires_at),
            )
        return int(total)

    def _read_counter(self, connection: sqlite3.Connection, key: str) -> int:
        row = connection.execute(
            "SELECT value FROM counters WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock()),
        ).fetchone()
        return 0 if row is None else int(row[0])

    def _read_record(self, connection: sqlite3.Connection, key: str) -> JSON:
        row = connection.execute(
            "SELECT value FROM records WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock()),
        ).fetchone()
        return None if row is None else self._parse_record(key, row[0])

    def _update_record(
        self,
        connection: sqlite3.Connection,
        key: str,
        change: Callable[[JSON], JSON],
        ttl_s: float | None,
    ) -> JSON:
        now = self._clock()
        with _transaction(connection, immediate=True):
            old = self._read_record(connection, key)
            new = copy_json(change(old), where=f"record {key!r}")
            if new is None:
                connection.execute("DELETE FROM records WHERE key = ?", (key,))
            else:
                connection.execute(
                    "INSERT OR REPLACE INTO records (key, value, expires_at) VALUES (?, ?, ?)",
                    (key, json.dumps(new), None if ttl_s is None else now + ttl_s),
                )
        return new

    def _parse_record(self, key: str, text: str) -> JSON:
        try:
            value: JSON = json.loads(text)
        except ValueError:
            raise StateStoreError(
                f"{self!r} has a malformed record {key!r}.", where=repr(self)
            ) from None
        return value


@contextmanager
def _transaction(connection: sqlite3.Connection, *, immediate: bool = False) -> Iterator[None]:
    """
    One transaction: committed when the block ends, rolled back when it raises.
    """
    connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
