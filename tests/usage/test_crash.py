"""
Tests that a SQLite usage ledger survives its writer being killed with SIGKILL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.usage.crash import MAX_PENDING, run_kills


@pytest.mark.slow
def test_twenty_kills_corrupt_nothing_and_lose_only_unflushed_records(tmp_path: Path) -> None:
    """After each of 20 kill -9s the ledger is intact, whole batches only, losses within the bound."""
    outcome = run_kills(tmp_path, kills=20, ledgers=4, seed=16)

    assert (20, 0, []) == (outcome.kills, outcome.corrupt, outcome.problems)
    assert max(outcome.lost) <= MAX_PENDING
    assert outcome.survived > 0
