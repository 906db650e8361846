"""
Kill -9 writers of SQLite usage ledgers 200 times and report what survived.

Run: ``python benchmarks/stress_ledger_kill.py [--kills 200] [--ledgers 4] [--seed 0]``.
It is not collected by pytest; ``tests/usage/test_crash.py`` runs the same harness
(:mod:`tests.usage.crash`) with 20 kills.

After every kill it checks that SQLite's ``integrity_check`` passes, that the
surviving records are whole batches in order (no gap, no duplicate), that the
hourly sums match the records, that nothing reported committed was lost, and that
the records lost stay within the documented bound. It prints the number of
corrupt databases (expected: 0) and the records lost per kill.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.usage.crash import FLUSH_INTERVAL_S, MAX_PENDING, run_kills


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--ledgers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="modelcfg-kill-") as directory:
        outcome = run_kills(Path(directory), kills=args.kills, ledgers=args.ledgers, seed=args.seed)
    lost = sorted(outcome.lost) or [0]
    print(f"kills: {outcome.kills} on {args.ledgers} ledgers in {time.monotonic() - started:.0f} s")
    print(f"corrupt databases: {outcome.corrupt}")
    print(f"records that survived: {outcome.survived}")
    print(
        f"records lost per kill: median {statistics.median(lost):g}, max {lost[-1]} "
        f"(bound: {MAX_PENDING}; a writer records one per ms and flushes every "
        f"{FLUSH_INTERVAL_S * 1000:g} ms)"
    )
    for problem in outcome.problems:
        print(f"problem: {problem}")
    return 1 if outcome.problems or outcome.corrupt else 0


if __name__ == "__main__":
    raise SystemExit(main())
