"""
The SQLite usage ledger: one row per attempt in an embedded database.

What lives here: :class:`SQLiteLedger`, its schema and migrations
(:data:`MIGRATIONS`, :func:`migrate`), and the report query.

How it is safe:

- Records are written off the request path: ``record()`` appends to a list in
  memory and a writer thread commits the list as one transaction, every
  *flush_interval_s* or as soon as *batch_size* records wait.
- A crash (``kill -9``, power aside) loses only the records not yet committed:
  at most those recorded in the last *flush_interval_s* (plus the batch being
  written), never more than *max_pending*. A batch is one transaction, so the
  database holds whole batches only, and is never corrupt.
- Several processes may write one file at once: WAL mode, a busy timeout, and a
  batch that could not be written is kept and retried, never dropped. A record
  that can never be stored (a cost beyond 64-bit picodollars) is dropped alone,
  counted and logged.
- The writer converts records in chunks and lets SQLite sum the hourly totals,
  so request threads wait little for the interpreter lock while it works.
- The schema's version is SQLite's ``user_version``; :func:`migrate` brings an
  older file up to date in one transaction and refuses a newer one.
- Rows older than *retention_s* are deleted (in small chunks) when the ledger
  opens and then hourly.
"""

from __future__ import annotations

import atexit
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from modelcfg._core._cost import from_picodollars, to_picodollars
from modelcfg._core._failures import FailureKind
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._log import logger_for
from modelcfg._messages import Usage
from modelcfg.exceptions import UsageLedgerError
from modelcfg.typing import Clock
from modelcfg.usage._ledger import (
    DEFAULT_RETENTION_S,
    NONE_KEY,
    TOTAL_KEY,
    GroupBy,
    ReportRow,
    UsageRecord,
    UsageReport,
    cost_from,
    day_of,
    hour_of,
    summarise,
    unpriced_text,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteLedger", "migrate"]

logger = logger_for(__name__)

_SUM_COLUMNS: Final = (
    "requests",
    "attempts",
    "failures",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_pico",
    "failure_cost_pico",
    "unpriced",
)
"""The sums a report row holds, in :class:`ReportRow` order (costs in picodollars)."""

_SUMS_DDL: Final = ", ".join(f"{column} INTEGER NOT NULL" for column in _SUM_COLUMNS)


_DIMENSIONS: Final = {
    GroupBy.PROVIDER: "provider",
    GroupBy.MODEL: "model",
    GroupBy.PROFILE: "profile",
    GroupBy.SESSION: "session",
    GroupBy.API_KEY: "api_key",
    GroupBy.ARM: "arm",
    GroupBy.DAY: "total",
    GroupBy.HOUR: "total",
}
"""Which dimension of the hourly sums a report reads (by time: the total)."""

_TIME_KEYS: Final = {
    GroupBy.DAY: ("unit / 24", "CAST(at / 86400 AS INTEGER)"),
    GroupBy.HOUR: ("unit", "CAST(at / 3600 AS INTEGER)"),
}
_RAW_SUMS: Final = (
    "attempt = 1, 1, 1 - answered, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, reasoning_tokens, cost_pico, cost_pico * (1 - answered), unpriced != ''"
)
"""The sums of one attempt row, in :data:`_SUM_COLUMNS` order."""

_DIMENSION_VALUES: Final = (
    ("total", "''"),
    ("provider", "provider"),
    ("model", "model"),
    ("profile", "COALESCE(profile, '')"),
    ("session", "COALESCE(session, '')"),
    ("api_key", "COALESCE(api_key, '')"),
    ("arm", "COALESCE(arm, '')"),
)
"""Each dimension of the hourly sums, and its value in an attempt row."""

_ADD_SUMS: Final = tuple(
    f"INSERT INTO hourly (dim, unit, value, {', '.join(_SUM_COLUMNS)}) "
    f"SELECT '{dim}', CAST(at / 3600 AS INTEGER), {value}, "
    + ", ".join(f"SUM({term})" for term in _RAW_SUMS.split(", "))
    + " FROM attempts WHERE id > ? GROUP BY 2, 3 "
    "ON CONFLICT (dim, unit, value) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _SUM_COLUMNS)
    for dim, value in _DIMENSION_VALUES
)
"""Add the attempts after a row id to the hourly sums, one statement per dimension: SQLite
sums them itself, in the batch's transaction."""

_CLOSING_TRIES: Final = 3
"""How often the writer tries a batch once the ledger is closing, before it gives up."""

_CHUNK: Final = 200
"""Records converted between two pauses of the writer, so a request thread waits little for
the interpreter lock."""


def _report_query(by: GroupBy) -> str:
    """
    The sums per group: the hourly sums of the whole hours, plus the attempts of the two
    ends summed per group first, so the outer grouping sorts one row per group and hour.
    """
    summed, raw = _TIME_KEYS.get(by, ("NULLIF(value, '')", _DIMENSIONS[by]))
    # Every group holds at least one row, so no sum is NULL.
    sums = ", ".join(f"SUM({c})" for c in _SUM_COLUMNS)
    raw_sums = ", ".join(f"SUM({term})" for term in _RAW_SUMS.split(", "))
    cost = 2 + _SUM_COLUMNS.index("cost_pico")
    attempts = 2 + _SUM_COLUMNS.index("attempts")
    # The order of order_rows(): by time, else the costliest first, then most attempts,
    # then no value first and the values in code-point order (UTF-8 bytes keep it).
    order = "k" if by in _TIME_KEYS else f"{cost} DESC, {attempts} DESC, k IS NOT NULL, k"
    return (
        f"SELECT k, {sums} FROM ("
        f"SELECT {summed} AS k, {', '.join(_SUM_COLUMNS)} FROM hourly "
        "WHERE dim = ? AND unit >= ? AND unit < ? "
        f"UNION ALL SELECT {raw} AS k, {raw_sums} FROM attempts "
        "WHERE (at >= ? AND at < ?) OR (at >= ? AND at < ?) GROUP BY 1"
        f") GROUP BY k ORDER BY {order}"
    )


MIGRATIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "one row per attempt, indexed by time, and their sums per hour",
        (
            """
            CREATE TABLE attempts (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                request_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                profile TEXT,
                session TEXT,
                api_key TEXT,
                arm TEXT,
                input_tokens INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                cache_read_tokens INTEGER NOT NULL,
                cache_write_tokens INTEGER NOT NULL,
                reasoning_tokens INTEGER NOT NULL,
                cost_pico INTEGER NOT NULL,
                unpriced TEXT NOT NULL,
                answered INTEGER NOT NULL,
                failure TEXT,
                latency_s REAL
            )
            """,
            "CREATE INDEX attempts_at ON attempts (at)",
            f"""
            CREATE TABLE hourly (
                dim TEXT NOT NULL,
                unit INTEGER NOT NULL,
                value TEXT NOT NULL,
                {_SUMS_DDL},
                PRIMARY KEY (dim, unit, value)
            ) WITHOUT ROWID
            """,
        ),
    ),
)
"""Each step's description and statements; step *n* takes a file from version *n* to *n + 1*.

``attempts`` holds every record. ``hourly`` holds their sums per UTC hour (``unit``)
for each value of each dimension (``dim``: provider, model, profile, session,
api_key, arm, and ``total`` with the value ``''``; ``''`` also stands for none),
written in the same transaction as the records: a report over a month reads the
sums of its whole hours and the records only at its two ends, not a million rows."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The version this modelcfg writes."""

_PRUNE_EVERY_S: Final = 3600.0
_PRUNE_CHUNK: Final = 5000
_COLUMNS: Final = (
    "at, request_id, attempt, provider, model, profile, session, api_key, arm, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_pico, "
    "unpriced, answered, failure, latency_s"
)
_INSERT: Final = (
    f"INSERT INTO attempts ({_COLUMNS}) VALUES ({', '.join('?' * _COLUMNS.count(',') + '?')})"
)


def _problem(path: Path, action: str, exc: sqlite3.Error) -> UsageLedgerError:
    return UsageLedgerError(
        f"The usage ledger {str(path)!r} could not be {action}: {exc}. Nothing stored was changed.",
        path=str(path),
    )


def migrate(
    connection: sqlite3.Connection,
    migrations: Sequence[tuple[str, Sequence[str]]] = MIGRATIONS,
) -> int:
    """
    Bring the ledger's schema up to the latest version, in one transaction.

    Safe when several processes open one file at once: the first to take the write
    lock migrates, the others then find nothing to do.

    Returns:
        The version the file had before.

    Raises:
        UsageLedgerError: The file was written by a newer modelcfg (its version is
            above the latest known); it is left as it was.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        _check_version(version, len(migrations))
        for _description, statements in migrations[version:]:
            for statement in statements:
                connection.execute(statement)
        if version != len(migrations):
            connection.execute(f"PRAGMA user_version = {len(migrations):d}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return int(version)


def _check_version(version: int, latest: int = SCHEMA_VERSION) -> None:
    if version > latest:
        raise UsageLedgerError(
            f"The usage ledger has schema version {version}, newer than the "
            f"{latest} this modelcfg knows; upgrade modelcfg to read it."
        )


def _row(record: UsageRecord) -> tuple[object, ...]:
    usage = record.usage
    return (
        record.at,
        record.request_id,
        record.attempt,
        record.model.provider,
        str(record.model),
        None if record.profile is None else str(record.profile),
        record.session,
        record.api_key,
        record.arm,
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        to_picodollars(record.cost.usd),
        unpriced_text(record.cost),
        int(record.answered),
        None if record.failure is None else record.failure.value,
        record.latency_s,
    )


def _record(row: sqlite3.Row) -> UsageRecord:
    return UsageRecord(
        at=row["at"],
        request_id=row["request_id"],
        attempt=row["attempt"],
        model=ModelRef.parse(row["model"]),
        profile=None if row["profile"] is None else ProfileId.parse(row["profile"]),
        session=row["session"],
        api_key=row["api_key"],
        arm=row["arm"],
        usage=Usage(
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cache_read_tokens=row["cache_read_tokens"],
            cache_write_tokens=row["cache_write_tokens"],
            reasoning_tokens=row["reasoning_tokens"],
        ),
        cost=cost_from(row["cost_pico"], row["unpriced"]),
        answered=bool(row["answered"]),
        failure=None if row["failure"] is None else FailureKind(row["failure"]),
        latency_s=row["latency_s"],
    )


def _close_at_exit(reference: weakref.ref[SQLiteLedger]) -> None:
    ledger = reference()
    if ledger is not None:
        ledger.close()


class SQLiteLedger:
    """
    A usage ledger in a SQLite file, shared by the processes of one machine.

    Args:
        path: The database file; created (mode 0600) with its directory when missing.
        retention_s: How long rows are kept; ``None`` keeps them forever.
        flush_interval_s: The longest a record waits in memory before it is written.
        batch_size: Write as soon as this many records wait.
        max_pending: The most records held in memory; beyond it (the disk cannot
            keep up) new records are dropped, counted in :attr:`dropped` and logged.
        busy_timeout_s: How long a write waits for another process's lock before
            the batch is kept for the next try.
        clock: Seconds since the epoch, for retention.

    Raises:
        UsageLedgerError: The file is not a ledger (or not a database), or was
            written by a newer modelcfg; it is left untouched.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        retention_s: float | None = DEFAULT_RETENTION_S,
        flush_interval_s: float = 0.5,
        batch_size: int = 1000,
        max_pending: int = 100_000,
        busy_timeout_s: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        if retention_s is not None and not retention_s > 0:
            raise ValueError(f"retention_s must be positive or None, not {retention_s!r}")
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be positive, not {flush_interval_s!r}")
        if not 1 <= batch_size <= max_pending:
            raise ValueError(
                f"batch_size ({batch_size!r}) must be at least 1 and at most "
                f"max_pending ({max_pending!r})"
            )
        self.path = Path(path)
        self.retention_s = retention_s
        self.flush_interval_s = flush_interval_s
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.busy_timeout_s = busy_timeout_s
        self.clock = clock
        self.dropped = 0
        """How many records were dropped: *max_pending* were waiting, or one could not be stored."""
        self._pending: list[UsageRecord] = []
        self._recorded = 0  # records accepted so far
        self._handled = 0  # of those, committed or dropped by the writer
        self._written = 0  # of those, committed
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._pruned_at = 0.0
        connection = self._connect()
        try:
            self._prune(connection)
        except sqlite3.Error as exc:
            raise _problem(self.path, "pruned", exc) from None
        finally:
            connection.close()
        atexit.register(_close_at_exit, weakref.ref(self))

    def __repr__(self) -> str:
        return f"SQLiteLedger({str(self.path)!r})"

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        path = self.path
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            connection = sqlite3.connect(
                path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise UsageLedgerError(
                f"The usage ledger {str(path)!r} could not be opened: {exc}.", path=str(path)
            ) from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000):d}")
            _check_version(connection.execute("PRAGMA user_version").fetchone()[0])
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            migrate(connection)
            connection.row_factory = sqlite3.Row
            self._check_table(connection)
        except sqlite3.Error as exc:
            connection.close()
            raise _problem(path, "opened", exc) from None
        except UsageLedgerError as exc:
            connection.close()
            raise UsageLedgerError(f"{exc} ({str(path)!r})", path=str(path)) from None
        return connection

    def _check_table(self, connection: sqlite3.Connection) -> None:
        found = {row[1] for row in connection.execute("PRAGMA table_info(attempts)")}
        missing = set(_COLUMNS.replace(" ", "").split(",")) - found
        if missing:
            raise UsageLedgerError(
                f"The usage ledger {str(self.path)!r} has an attempts table without "
                f"{', '.join(sorted(missing))}: it is not a modelcfg ledger.",
                path=str(self.path),
            )

    # -- writing -------------------------------------------------------------------------------

    def record(self, record: UsageRecord) -> None:
        """
        Queue *record* for the next batch; never waits for the disk.

        Raises:
            UsageLedgerError: The ledger was closed.
        """
        with self._lock:
            if self._closed:
                raise UsageLedgerError(
                    f"The usage ledger {str(self.path)!r} is closed.", path=str(self.path)
                )
            pending = self._pending
            if len(pending) >= self.max_pending:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 10_000 == 0:
                    logger.warning(
                        "usage ledger %s is %d records behind; %d dropped so far",
                        self.path,
                        len(pending),
                        self.dropped,
                    )
                return
            pending.append(record)
            self._recorded += 1
            if self._thread is None:
                self._start()
            full = len(pending) >= self.batch_size
        if full:
            self._wake.set()

    @property
    def pending(self) -> int:
        """
        How many records wait to be written.
        """
        return len(self._pending)

    @property
    def written(self) -> int:
        """
        How many records this ledger has committed since it was opened.
        """
        return self._written

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=f"modelcfg-ledger:{self.path.name}")
        thread.daemon = True
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        failures_while_closing = 0
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            with self._lock:
                batch, self._pending = self._pending, []
                closing = self._closed
            written = len(batch)
            try:
                if connection is None:
                    connection = self._connect()
                if batch:
                    written = self._write_batch(connection, batch)
                self._prune(connection)
            except (sqlite3.Error, UsageLedgerError) as exc:  # busy, locked, disk full: retry
                logger.warning(
                    "usage ledger %s: could not write %d records: %s", self.path, len(batch), exc
                )
                with self._lock:
                    self._pending[:0] = batch
                failures_while_closing += closing
                if failures_while_closing >= _CLOSING_TRIES:
                    logger.error(
                        "usage ledger %s closed with %d records unwritten",
                        self.path,
                        len(self._pending),
                    )
                    break
                time.sleep(self.flush_interval_s)
                continue
            with self._done:
                self._written += written
                self._handled += len(batch)
                self._done.notify_all()
                if closing and not self._pending:
                    break
        if connection is not None:
            connection.close()

    def _write_batch(self, connection: sqlite3.Connection, batch: list[UsageRecord]) -> int:
        """
        Write *batch* in one transaction, or, when a record in it cannot be stored at
        all (a cost beyond what SQLite's integers hold), record by record, dropping
        (and logging) those that cannot. Returns how many were written.

        Raises:
            sqlite3.Error: The database is busy, locked or full: try the batch again later.
        """
        try:
            self._write(connection, batch)
            return len(batch)
        except sqlite3.OperationalError as exc:
            if "integer overflow" not in str(exc):
                raise
        except (OverflowError, ValueError, sqlite3.DataError, sqlite3.IntegrityError):
            pass
        written = 0
        for record in batch:
            try:
                self._write(connection, [record])
                written += 1
            except sqlite3.OperationalError as exc:
                if "integer overflow" not in str(exc):
                    raise
                self._drop(record, exc)
            except (OverflowError, ValueError, sqlite3.DataError, sqlite3.IntegrityError) as exc:
                self._drop(record, exc)
        return written

    def _drop(self, record: UsageRecord, exc: Exception) -> None:
        with self._lock:
            self.dropped += 1
        logger.error(
            "usage ledger %s dropped the record of request %r attempt %d: %s",
            self.path,
            record.request_id,
            record.attempt,
            exc,
        )

    def _write(self, connection: sqlite3.Connection, batch: list[UsageRecord]) -> None:
        rows: list[tuple[object, ...]] = []
        for start in range(0, len(batch), _CHUNK):
            rows += [_row(record) for record in batch[start : start + _CHUNK]]
            time.sleep(0)  # let request threads run between chunks
        connection.execute("BEGIN IMMEDIATE")
        try:
            (last,) = connection.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()
            connection.executemany(_INSERT, rows)
            for statement in _ADD_SUMS:
                connection.execute(statement, (last,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _prune(self, connection: sqlite3.Connection) -> None:
        now = self.clock()
        if self.retention_s is None or now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        horizon = now - self.retention_s
        while (
            connection.execute(
                "DELETE FROM attempts WHERE id IN "
                "(SELECT id FROM attempts WHERE at < ? ORDER BY at LIMIT ?)",
                (horizon, _PRUNE_CHUNK),
            ).rowcount
            >= _PRUNE_CHUNK
        ):
            pass
        # Sums of hours that began before the horizon go whole.
        for dim in sorted(set(_DIMENSIONS.values())):
            connection.execute(
                "DELETE FROM hourly WHERE dim = ? AND unit < ?", (dim, int(horizon // 3600))
            )

    def flush(self) -> None:
        """
        Write every record queued so far, and wait until they are committed.

        Raises:
            UsageLedgerError: The writer stopped with records unwritten (the ledger
                was closed while the database could not be written).
        """
        with self._done:
            target = self._recorded
            if self._thread is None or self._handled >= target:
                return
        self._wake.set()
        with self._done:
            while self._handled < target:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    raise UsageLedgerError(
                        f"The usage ledger {str(self.path)!r} stopped with "
                        f"{target - self._handled} records unwritten.",
                        path=str(self.path),
                    )
                self._done.wait(0.1)
                self._wake.set()

    def close(self) -> None:
        """
        Write what is pending and stop the writer; records after this raise.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._wake.set()
            thread.join()

    def __enter__(self) -> SQLiteLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, timeout=self.busy_timeout_s
            )
        except sqlite3.Error as exc:
            raise _problem(self.path, "read", exc) from None
        connection.row_factory = sqlite3.Row
        return connection

    def records(
        self, *, since_at: float = 0.0, until_at: float = float("inf")
    ) -> Iterator[UsageRecord]:
        """
        The records of [*since_at*, *until_at*), oldest first (written ones only).

        Raises:
            UsageLedgerError: The file cannot be read.
        """
        connection = self._reader()
        try:
            cursor = connection.execute(
                f"SELECT {_COLUMNS} FROM attempts WHERE at >= ? AND at < ? ORDER BY at, id",
                (since_at, min(until_at, 1e18)),
            )
            for row in cursor:
                yield _record(row)
        except sqlite3.Error as exc:
            raise _problem(self.path, "read", exc) from None
        finally:
            connection.close()

    def report(
        self, *, since_at: float, until_at: float, by: GroupBy = GroupBy.PROVIDER
    ) -> UsageReport:
        """
        Usage and cost in [*since_at*, *until_at*), one row per *by* (written records only).

        Raises:
            UsageLedgerError: The file cannot be read.
        """
        until = min(until_at, 1e18)
        first, end = math.ceil(since_at / 3600), math.floor(until / 3600)
        if first >= end:  # no whole hour inside: every row comes from the attempts
            first = end = 0
            edges = (since_at, until, until, until)
        else:
            edges = (since_at, first * 3600.0, end * 3600.0, until)
        connection = self._reader()
        try:
            groups = connection.execute(
                _report_query(by), (_DIMENSIONS[by], first, end, *edges)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "integer overflow" not in str(exc):
                raise _problem(self.path, "read", exc) from None
            # Over 9.2 million USD in one sum: add up in Python, whose integers never overflow.
            return summarise(
                self.records(since_at=since_at, until_at=until_at),
                since_at=since_at,
                until_at=until_at,
                by=by,
            )
        except sqlite3.Error as exc:
            raise _problem(self.path, "read", exc) from None
        finally:
            connection.close()
        # Rows come sorted, their sums whole numbers (SQLite sums INTEGER columns exactly):
        # a sum of another type (a file written by hand) shows in its column's total.
        try:
            totals = [sum(column) for column in list(zip(*groups, strict=True))[1:]]
        except TypeError:  # a NULL or a text
            totals = [None]
        if any(type(total) is not int for total in totals):
            groups = [(group[0], *map(_int, group[1:])) for group in groups]
            totals = [sum(column) for column in list(zip(*groups, strict=True))[1:]]
        if by in _TIME_KEYS:
            label = day_of if by is GroupBy.DAY else hour_of
            unit_s = 86400.0 if by is GroupBy.DAY else 3600.0
            keys = [label(group[0] * unit_s) for group in groups]
        else:
            keys = [NONE_KEY if group[0] is None else str(group[0]) for group in groups]
        return UsageReport(
            by=by,
            since_at=since_at,
            until_at=until_at,
            rows=tuple(map(_report_row, keys, groups)),
            total=_report_row(TOTAL_KEY, [None, *(totals or [0] * len(_SUM_COLUMNS))]),
        )


def _int(value: object) -> int:
    """A sum SQLite returned: an integer, or ``NULL`` over no rows."""
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise UsageLedgerError(f"The usage ledger holds a sum that is not a whole number: {value!r}.")


def _report_row(key: str, group: Sequence[Any]) -> ReportRow:
    """
    A report row from a group: its key's raw value, then the sums of :data:`_SUM_COLUMNS`
    in their order.
    """
    (
        _,
        requests,
        attempts,
        failures,
        input_tokens,
        output_tokens,
        cache_read,
        cache_write,
        reasoning,
        cost,
        failure_cost,
        unpriced,
    ) = group
    return ReportRow(
        key=key,
        requests=requests,
        attempts=attempts,
        failures=failures,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        cost_usd=from_picodollars(cost),
        failure_cost_usd=from_picodollars(failure_cost),
        unpriced=unpriced,
    )
