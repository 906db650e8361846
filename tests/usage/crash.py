"""
Kill -9 a process while it writes a SQLite usage ledger, many times, and check what survived.

A writer (:func:`write_forever`, run as ``python -m tests.usage.crash PATH PROGRESS START``)
records attempt *n* = START, START + 1, ... with tokens derived from *n*, one
record per millisecond, and appends ``recorded written`` to its progress file
after each record. :func:`run_kills` starts writers on a few ledgers, kills each
at a random moment with SIGKILL, and after every kill checks the ledger:

- SQLite's ``integrity_check`` is ``ok``;
- the surviving records are exactly START, START + 1, ..., with no gap and no
  duplicate (a batch is one transaction: whole or absent), each holding the
  tokens of its number;
- the hourly sums equal the sums of the surviving records;
- nothing the writer reported as committed was lost, and what was lost is
  within the documented bound: at most *max_pending* records recorded but not
  yet committed (in practice one flush interval's worth).

The next writer continues the sequence on the same file, so kills pile up on one
database as they would on a host that crashes repeatedly.
``tests/usage/test_crash.py`` runs 20 kills; ``benchmarks/stress_ledger_kill.py``
runs 200 and prints the figures.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

import attrs

FLUSH_INTERVAL_S: Final = 0.02
BATCH_SIZE: Final = 50
MAX_PENDING: Final = 400
T0: Final = 1_750_000_000.0
ROOT: Final = Path(__file__).resolve().parents[2]


def tokens_of(n: int) -> tuple[int, int]:
    """The input and output tokens writer record *n* carries."""
    return n % 977 + 1, n % 89


def write_forever(path: str, progress: str, start: int) -> None:
    """Record attempts *start*, *start* + 1, ... until killed, reporting progress."""
    from modelcfg import ModelRef, Usage
    from modelcfg.usage import Rates, SQLiteLedger, UsageRecord, cost_of

    rates = Rates(input="1.25", output="10")
    model = ModelRef.parse("openai/gpt-5")
    ledger = SQLiteLedger(
        path,
        retention_s=None,
        flush_interval_s=FLUSH_INTERVAL_S,
        batch_size=BATCH_SIZE,
        max_pending=MAX_PENDING,
    )
    with open(progress, "a", buffering=1) as out:
        n = start
        while True:
            input_tokens, output_tokens = tokens_of(n)
            usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
            ledger.record(
                UsageRecord(
                    at=T0 + n * 0.5,
                    request_id=str(n),
                    model=model,
                    usage=usage,
                    cost=cost_of(usage, rates),
                )
            )
            n += 1
            out.write(f"{n - start} {ledger.written}\n")
            time.sleep(0.001)


@attrs.define
class Outcome:
    """What the kills did to the ledgers."""

    kills: int = 0
    corrupt: int = 0
    problems: list[str] = attrs.field(factory=list)
    lost: list[int] = attrs.field(factory=list)
    """Per kill: records the writer had recorded (as far as it said) that did not survive."""
    survived: int = 0


def _progress(path: Path) -> tuple[int, int]:
    """The last complete ``recorded written`` line of a progress file, or (0, 0)."""
    lines = path.read_text().split("\n")[:-1] if path.exists() else []
    if not lines:
        return 0, 0
    recorded, written = lines[-1].split()
    return int(recorded), int(written)


def _check(path: Path, start: int, progress: Path, outcome: Outcome) -> int:
    """Check the ledger after a kill of a writer that began at *start*; return the next start."""
    connection = sqlite3.connect(path)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            outcome.corrupt += 1
            outcome.problems.append(f"{path.name}: integrity_check failed")
            return start
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        if "attempts" not in tables:  # killed before the schema was committed
            return start
        rows = connection.execute(
            "SELECT CAST(request_id AS INTEGER), input_tokens, output_tokens FROM attempts "
            "WHERE CAST(request_id AS INTEGER) >= ? ORDER BY id",
            (start,),
        ).fetchall()
        raw = connection.execute(
            "SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens) FROM attempts"
        ).fetchone()
        summed = connection.execute(
            "SELECT SUM(attempts), SUM(input_tokens), SUM(output_tokens) FROM hourly "
            "WHERE dim = 'total'"
        ).fetchone()
    finally:
        connection.close()
    numbers = [row[0] for row in rows]
    if numbers != list(range(start, start + len(rows))):
        outcome.problems.append(f"{path.name}: records after {start} are not a sequence")
    if any((i, o) != tokens_of(n) for n, i, o in rows):
        outcome.problems.append(f"{path.name}: a record's tokens do not match its number")
    if tuple(v or 0 for v in raw) != tuple(v or 0 for v in summed):
        outcome.problems.append(f"{path.name}: hourly sums {summed} differ from records {raw}")
    recorded, written = _progress(progress)
    if len(rows) < written:
        outcome.problems.append(f"{path.name}: {written} committed, only {len(rows)} survived")
    lost = max(recorded - len(rows), 0)
    if lost > MAX_PENDING:
        outcome.problems.append(f"{path.name}: {lost} lost, above the bound of {MAX_PENDING}")
    outcome.lost.append(lost)
    outcome.survived += len(rows)
    return start + len(rows)


def _wait_until_writing(progress: Path, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while child.poll() is None and time.monotonic() < deadline:
        if progress.exists() and progress.stat().st_size:
            return
        time.sleep(0.005)


def run_kills(
    directory: Path, *, kills: int, ledgers: int = 4, seed: int = 0, max_delay_s: float = 0.3
) -> Outcome:
    """
    Kill writers *kills* times in all, spread over *ledgers* files written side by side.

    A writer is killed a random time (up to *max_delay_s*) after it began writing,
    or, one time in five, that long after it was started, perhaps while it opens
    the file.
    """
    rng = random.Random(seed)
    outcome = Outcome()
    starts = [0] * ledgers
    round_ = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    while outcome.kills < kills:
        batch = range(min(ledgers, kills - outcome.kills))
        running = []
        for index in batch:
            path = directory / f"ledger-{index}.db"
            progress = directory / f"progress-{index}-{round_}.txt"
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.usage.crash",
                    str(path),
                    str(progress),
                    str(starts[index]),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            early = rng.random() < 0.2  # sometimes while it opens (and perhaps migrates) the file
            running.append((index, path, progress, child, early, rng.uniform(0.01, max_delay_s)))
        for index, path, progress, child, early, delay_s in running:
            if early:
                time.sleep(delay_s)
            else:
                _wait_until_writing(progress, child)
                time.sleep(delay_s)
            if child.poll() is not None:
                error = child.stderr.read().decode() if child.stderr else ""
                outcome.problems.append(f"writer exited early ({child.returncode}): {error[-500:]}")
            child.send_signal(signal.SIGKILL)
            child.wait()
            if child.stderr:
                child.stderr.close()
            outcome.kills += 1
            starts[index] = _check(path, starts[index], progress, outcome)
        round_ += 1
    return outcome


if __name__ == "__main__":
    write_forever(sys.argv[1], sys.argv[2], int(sys.argv[3]))
