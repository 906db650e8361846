"""
Tests for the JSON-file state store across real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from modelcfg import FailureKind
from modelcfg.stores import FileStateStore

pytestmark = pytest.mark.anyio

PROCESSES = 3
UPDATES = 25

CHILD = """
import sys, time
from pathlib import Path

import anyio

from modelcfg import Failure, FailureKind, ModelRef, Policy, ProfileId
from modelcfg._core._state import SessionState
from modelcfg.stores import FileStateStore

path, tag, barrier, count = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
store = FileStateStore(path)
model, profile = ModelRef.parse("openai/gpt-5.2"), ProfileId.parse("openai:default")


async def work() -> None:
    for i in range(count):
        failure = Failure(
            kind=FailureKind.SERVER,
            observed_at=1_800_000_000.0 + i,
            message="boom",
            model=model,
            profile=profile,
        )
        await store.update_health(lambda health: health.with_failure(failure, Policy()))
        await store.save_session(f"{tag}-{i}", SessionState())


(barrier / f"ready-{tag}").touch()
deadline = time.monotonic() + 20
while not (barrier / "go").exists():  # every process starts its updates at the same moment
    if time.monotonic() > deadline:
        sys.exit("the barrier never opened")
    time.sleep(0.005)
anyio.run(work)
"""


async def test_two_processes_writing_at_once_lose_no_update(tmp_path: Path) -> None:
    """Processes that update one state file at the same time lose neither health nor sessions."""
    path = tmp_path / "state.json"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), f"p{n}", str(barrier), str(UPDATES)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    started = time.monotonic()
    while len(list(barrier.glob("ready-*"))) < PROCESSES and time.monotonic() - started < 20:
        await anyio.sleep(0.01)
    (barrier / "go").touch()
    errors = [child.communicate(timeout=60)[1] for child in children]
    results = [(child.returncode, error) for child, error in zip(children, errors, strict=True)]
    health = await FileStateStore(path).load_health()
    sessions = json.loads(path.read_text())["sessions"]

    assert [(0, "")] * PROCESSES == results
    assert PROCESSES * UPDATES == health.counters[FailureKind.SERVER].count
    assert {f"p{n}-{i}" for n in range(PROCESSES) for i in range(UPDATES)} == set(sessions)
