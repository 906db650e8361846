"""
Tests for the SQLite usage ledger: round trips, reports, schema versions, retention,
busy databases and several writing processes.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg.usage import (
    GroupBy,
    SQLiteLedger,
    UsageLedger,
    UsageLedgerError,
    UsageRecord,
)
from modelcfg.usage._ledger import summarise
from modelcfg.usage._sqlite import MIGRATIONS, SCHEMA_VERSION, migrate
from tests.usage.records import T0, record, records

_names = itertools.count()


def fresh(tmp_path: Path, **options: object) -> SQLiteLedger:
    """A ledger on a new file, written often (tests wait with flush(), never sleep)."""
    options.setdefault("flush_interval_s", 0.01)
    options.setdefault("retention_s", None)
    return SQLiteLedger(tmp_path / f"ledger-{next(_names)}.db", **options)  # type: ignore[arg-type]


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


def test_a_sqlite_ledger_is_a_usage_ledger(tmp_path: Path) -> None:
    """SQLiteLedger implements the UsageLedger protocol."""
    with fresh(tmp_path) as ledger:
        assert isinstance(ledger, UsageLedger)


def test_records_come_back_as_they_were_written(tmp_path: Path) -> None:
    """A flushed record reads back equal, tokens, cost, failure and all."""
    written = [
        record(session="s1", api_key="team-a", arm="b", input_tokens=5, output_tokens=7),
        record(T0 + 1, request="r2", attempt=2, answered=False, model="local/llama", profile=None),
    ]
    with fresh(tmp_path) as ledger:
        for one in written:
            ledger.record(one)
        ledger.flush()

        assert written == list(ledger.records())


@settings(max_examples=25)
@given(
    st.lists(records(), max_size=60),
    st.floats(0, 2 * 86400),
    st.floats(0, 3 * 86400),
    st.sampled_from(GroupBy),
)
def test_a_report_from_sqlite_equals_the_reference_rule(
    tmp_path_factory: pytest.TempPathFactory,
    kept: list[UsageRecord],
    start: float,
    length: float,
    by: GroupBy,
) -> None:
    """Hourly sums plus the records at the range's ends give exactly what summing every record gives."""
    since, until = T0 + start, T0 + start + length
    with fresh(tmp_path_factory.mktemp("report")) as ledger:
        for one in kept:
            ledger.record(one)
        ledger.flush()

        assert summarise(kept, since_at=since, until_at=until, by=by) == ledger.report(
            since_at=since, until_at=until, by=by
        )


def test_sums_beyond_what_sqlite_integers_hold_are_added_in_python(tmp_path: Path) -> None:
    """Two attempts of five million dollars each overflow SQLite's sum; the report stays exact."""
    huge = [record(T0 + n * 7200, request=f"r{n}", output_tokens=500_000_000_000) for n in range(2)]
    with fresh(tmp_path) as ledger:
        for one in huge:
            ledger.record(one)
        ledger.flush()

        assert Decimal("10000000") == ledger.report(since_at=T0, until_at=T0 + 86400).total.cost_usd


def test_hourly_sums_edited_by_hand_read_as_whole_numbers_or_are_refused(tmp_path: Path) -> None:
    """A sum written as 3.0 reads as 3; a sum of 2.5 attempts is reported as not a whole number."""
    with fresh(tmp_path) as ledger:
        ledger.record(record(T0 + 7200))
        ledger.flush()
        hours = (T0 + 3600, T0 + 4 * 3600)
        with sqlite3.connect(ledger.path) as connection:
            connection.execute("UPDATE hourly SET attempts = 3.0 WHERE dim = 'provider'")
        whole = ledger.report(since_at=hours[0], until_at=hours[1])
        with sqlite3.connect(ledger.path) as connection:
            connection.execute("UPDATE hourly SET attempts = 2.5 WHERE dim = 'provider'")

        assert (3, 3) == (whole.rows[0].attempts, whole.total.attempts)
        with pytest.raises(UsageLedgerError, match=r"not a whole number: 2\.5"):
            ledger.report(since_at=hours[0], until_at=hours[1])


def test_a_record_that_cannot_be_stored_is_dropped_and_the_rest_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An attempt costing more than SQLite's integers hold is dropped and logged; its batch is not."""
    with fresh(tmp_path, batch_size=3) as ledger:
        ledger.record(record(request="before"))
        ledger.record(record(request="absurd", output_tokens=10**12))
        ledger.record(record(request="after"))
        ledger.flush()

        assert (["before", "after"], 1) == (
            [r.request_id for r in ledger.records()],
            ledger.dropped,
        )
    assert "dropped the record of request 'absurd' attempt 1" in caplog.text


def test_a_new_file_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    """Opening a missing file creates it, private, at the latest version, in WAL mode."""
    with fresh(tmp_path) as ledger:
        path = ledger.path
    with sqlite3.connect(path) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]

    assert (SCHEMA_VERSION, "wal", 0o600) == (version_of(path), mode, path.stat().st_mode & 0o777)


def test_a_migration_step_upgrades_a_file_and_keeps_its_rows(tmp_path: Path) -> None:
    """A later step runs once on an older file, which keeps every row it had."""
    with fresh(tmp_path) as ledger:
        ledger.record(record())
        ledger.flush()
        path = ledger.path
    later = (*MIGRATIONS, ("a note per attempt", ("ALTER TABLE attempts ADD COLUMN note TEXT",)))
    with sqlite3.connect(path, isolation_level=None) as connection:
        before = migrate(connection, later)
        again = migrate(connection, later)
        rows = connection.execute("SELECT request_id, note FROM attempts").fetchall()

    assert (SCHEMA_VERSION, SCHEMA_VERSION + 1, [("r1", None)]) == (before, again, rows)


def test_a_file_from_a_newer_modelcfg_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A schema version above the latest is refused with a clear error; the file is unchanged."""
    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()

    with pytest.raises(UsageLedgerError, match="newer than the 1 this modelcfg knows"):
        SQLiteLedger(path)

    assert before == path.read_bytes()


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Garbage is reported as a ledger that cannot be opened, and never overwritten."""
    path = tmp_path / "garbage.db"
    path.write_bytes(b"not a database at all, " * 100)

    with pytest.raises(UsageLedgerError, match="could not be opened") as caught:
        SQLiteLedger(path)

    assert (str(path), b"not a database at all, " * 100) == (caught.value.path, path.read_bytes())


def test_another_programs_attempts_table_is_refused(tmp_path: Path) -> None:
    """A database whose attempts table lacks the ledger's columns is not taken for a ledger."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE attempts (id INTEGER PRIMARY KEY)")
        connection.execute("PRAGMA user_version = 1")

    with pytest.raises(UsageLedgerError, match="not a modelcfg ledger"):
        SQLiteLedger(path)


def test_records_older_than_the_retention_are_deleted_on_opening(tmp_path: Path) -> None:
    """Reopening after the retention has passed drops old records and their hourly sums."""
    path = tmp_path / "retention.db"
    with SQLiteLedger(path, flush_interval_s=0.01, clock=lambda: T0) as ledger:
        ledger.record(record(T0 - 3 * 86400, request="old"))
        ledger.record(record(T0, request="new"))
    reopened = SQLiteLedger(path, retention_s=86400, clock=lambda: T0 + 60)

    assert ["new"] == [r.request_id for r in reopened.records()]
    assert 1 == reopened.report(since_at=0, until_at=T0 + 86400).total.attempts


def test_a_busy_database_delays_a_batch_but_loses_nothing(tmp_path: Path) -> None:
    """While another connection holds the write lock, batches wait and are written afterwards."""
    ledger = fresh(tmp_path, busy_timeout_s=0.02)
    blocker = sqlite3.connect(ledger.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    for n in range(50):
        ledger.record(record(T0 + n, request=f"r{n}"))
    blocker.execute("ROLLBACK")
    blocker.close()
    ledger.close()

    assert 50 == len(list(ledger.records()))


def test_records_beyond_max_pending_are_dropped_and_counted(tmp_path: Path) -> None:
    """When max_pending records wait (the disk is locked), later ones are dropped and counted."""
    ledger = fresh(tmp_path, busy_timeout_s=0.02, batch_size=5, max_pending=5)
    blocker = sqlite3.connect(ledger.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    for n in range(5):
        ledger.record(record(T0 + n, request=f"r{n}"))
    while ledger.pending < 5:  # the writer took the batch and put it back, or never took it
        pass
    ledger.record(record(T0 + 9, request="dropped"))
    blocker.execute("ROLLBACK")
    blocker.close()
    ledger.close()

    assert (1, 5) == (ledger.dropped, len(list(ledger.records())))


def test_a_closed_ledger_refuses_records(tmp_path: Path) -> None:
    """Recording after close() raises rather than losing the record silently."""
    ledger = fresh(tmp_path)
    ledger.close()

    with pytest.raises(UsageLedgerError, match="is closed"):
        ledger.record(record())


@pytest.mark.parametrize(
    "options",
    [
        {"retention_s": 0.0},
        {"flush_interval_s": 0},
        {"batch_size": 0},
        {"batch_size": 10, "max_pending": 5},
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, object]) -> None:
    """Retention, interval and batch limits that make no sense are refused at once."""
    with pytest.raises(ValueError, match="must be"):
        fresh(tmp_path, **options)


WRITER = """
import sys
from modelcfg import ModelRef, Usage
from modelcfg.usage import SQLiteLedger, UsageRecord

path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with SQLiteLedger(path, retention_s=None, flush_interval_s=0.005, batch_size=7) as ledger:
    for n in range(count):
        ledger.record(
            UsageRecord(
                at=1_750_000_000.0 + n,
                request_id=f"{tag}-{n}",
                model=ModelRef.parse("openai/gpt-5"),
                session=tag,
                usage=Usage(output_tokens=n),
            )
        )
"""


def test_several_processes_write_one_file_without_losing_a_record(tmp_path: Path) -> None:
    """Processes that open, migrate and write one new file at once lose nothing and agree on sums."""
    path = tmp_path / "shared.db"
    root = Path(__file__).resolve().parents[2]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"p{n}", "300"],
            cwd=root,
            stderr=subprocess.PIPE,
        )
        for n in range(3)
    ]
    errors = [child.communicate(timeout=60)[1] for child in children]
    ledger = SQLiteLedger(path, retention_s=None)
    report = ledger.report(since_at=T0, until_at=T0 + 1000, by=GroupBy.SESSION)

    assert [b""] * 3 == errors
    assert 900 == len(list(ledger.records()))
    assert {f"p{n}": (300, 44850) for n in range(3)} == {
        row.key: (row.attempts, row.output_tokens) for row in report.rows
    }
