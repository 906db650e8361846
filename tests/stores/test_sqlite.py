"""
The SQLite store: its file, what it writes, bad files, the JSON format, and kill -9 of writers.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import anyio
import httpx
import pytest

from modelcfg import Failure, FailureKind, HealthState, ModelRef, Policy, ProfileId, Target
from modelcfg._core._state import SessionState
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg.stores import FileStateStore, SqliteStateStore, StateStoreError
from tests.stores._fleet import HELLO, KEY, config_for, healthy_provider

pytestmark = pytest.mark.anyio

TARGET = Target(model=ModelRef.parse("oai/primary"), profile=ProfileId.parse("oai:default"))
T0 = 1_800_000_000.0
KILLS = int(os.environ.get("MODELCFG_TEST_KILLS", "24"))
"""kill -9 rounds in the test suite; ``benchmarks/bench_stores.py --kills 200`` runs the full 200."""


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def overloaded(at: float) -> Failure:
    return Failure(
        kind=FailureKind.OVERLOADED, observed_at=at, model=TARGET.model, profile=TARGET.profile
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def test_the_database_is_in_wal_mode_with_one_row_per_entry(tmp_path: Path) -> None:
    """The file is in WAL mode, and each health entry and session is one row."""
    store = SqliteStateStore(tmp_path / "state.db")
    health = await store.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await store.save_session("a", SessionState())
    await store.save_session("b", SessionState().with_success(TARGET))
    await store.aclose()
    with closing(sqlite3.connect(tmp_path / "state.db")) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        rows = connection.execute("SELECT tbl, key FROM health ORDER BY tbl, key").fetchall()
        sessions = connection.execute("SELECT id FROM sessions ORDER BY id").fetchall()

    assert "wal" == mode
    assert (
        sorted(
            (table, str(key))
            for table in ("cooldowns", "model_cooldowns", "disables", "counters", "circuits")
            for key in getattr(health, table)
        )
        == rows
    )
    assert 3 == len(rows)  # the pair's cooldown, the kind's counter and the model's circuit
    assert [("a",), ("b",)] == sessions


async def test_a_change_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    """A no-op update and an unchanged session saved again soon leave the file as it was."""
    clock = Clock()
    store = SqliteStateStore(tmp_path / "state.db", clock=clock, touch_interval_s=60.0)
    await store.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await store.save_session("s", SessionState().with_success(TARGET))
    with closing(sqlite3.connect(tmp_path / "state.db")) as watcher:
        before = watcher.execute("PRAGMA data_version").fetchone()[0]
        await store.update_health(lambda h: h)
        await store.update_health(lambda h: h.with_probe_released(TARGET))
        clock.now += 30
        await store.save_session("s", SessionState().with_success(TARGET))
        quiet = watcher.execute("PRAGMA data_version").fetchone()[0]
        clock.now += 31
        await store.save_session("s", SessionState().with_success(TARGET))
        touched = watcher.execute("PRAGMA data_version").fetchone()[0]
    await store.aclose()

    assert (before, True) == (quiet, touched != quiet)


async def test_a_success_on_a_healthy_target_writes_nothing(tmp_path: Path) -> None:
    """Requests that succeed on a healthy target, with a session, write nothing after the first."""
    clock = Clock()
    store = SqliteStateStore(tmp_path / "state.db", clock=clock)
    async with httpx.AsyncClient(transport=healthy_provider()) as client:
        executor = Executor.from_config(
            config_for("http://127.0.0.1:9/v1"),
            client=client,
            credentials=StaticCredentials({"oai:default": KEY}),
            store=store,
            clock=clock,
        )
        await executor.complete(HELLO, session_id="chat")  # starts the circuit and the session
        with closing(sqlite3.connect(tmp_path / "state.db")) as watcher:
            before = watcher.execute("PRAGMA data_version").fetchone()[0]
            for _ in range(20):
                clock.now += 0.01
                await executor.complete(HELLO, session_id="chat")
            after = watcher.execute("PRAGMA data_version").fetchone()[0]
    await store.aclose()

    assert before == after


async def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A corrupt file raises StateStoreError naming it, and its bytes are unchanged."""
    path = tmp_path / "state.db"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    store = SqliteStateStore(path)

    with pytest.raises(StateStoreError, match=r"state\.db'\) cannot be used"):
        await store.load_health()
    assert garbage == path.read_bytes()


async def test_a_database_from_a_newer_modelcfg_is_refused(tmp_path: Path) -> None:
    """A schema newer than this modelcfg's raises StateStoreError saying to upgrade."""
    path = tmp_path / "state.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA user_version = 99")
    store = SqliteStateStore(path)

    with pytest.raises(StateStoreError, match="newer modelcfg"):
        await store.load_health()
    await store.aclose()


async def test_a_malformed_row_is_reported_by_name(tmp_path: Path) -> None:
    """A health row holding garbage raises StateStoreError naming the row."""
    path = tmp_path / "state.db"
    await SqliteStateStore(path).load_health()
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("INSERT INTO health VALUES ('disables', 'oai:default', '[1, 2]')")
        connection.commit()
    store = SqliteStateStore(path)

    with pytest.raises(StateStoreError, match=r"malformed health row disables\['oai:default'\]"):
        await store.load_health()
    await store.aclose()


async def test_the_json_state_file_format_round_trips(tmp_path: Path) -> None:
    """export_file() writes what FileStateStore reads, and import_file() reads it back."""
    source = SqliteStateStore(tmp_path / "a.db")
    health = await source.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await source.save_session("s", SessionState().with_success(TARGET))
    await source.export_file(tmp_path / "state.json")
    target = SqliteStateStore(tmp_path / "b.db")
    await target.import_file(tmp_path / "state.json")
    file_store = FileStateStore(tmp_path / "state.json")

    assert (health, SessionState().with_success(TARGET)) == (
        await file_store.load_health(),
        await file_store.load_session("s"),
    )
    assert (health, SessionState().with_success(TARGET)) == (
        await target.load_health(),
        await target.load_session("s"),
    )
    assert 1 == json.loads((tmp_path / "state.json").read_text())["version"]
    await source.aclose()
    await target.aclose()


# -- kill -9 of writers -------------------------------------------------------------------------

WRITER = """
import sys, time

import anyio

from modelcfg import Failure, FailureKind, ModelRef, Policy, ProfileId, Target
from modelcfg._core._state import SessionState
from modelcfg.stores import SqliteStateStore

store = SqliteStateStore(sys.argv[1])
target = Target(model=ModelRef.parse("oai/m"), profile=ProfileId.parse("oai:default"))


async def write() -> None:
    i = 0
    while True:
        i += 1
        failure = Failure(kind=FailureKind.SERVER, observed_at=1_800_000_000.0 + i, model=target.model, profile=target.profile)
        await store.update_health(lambda h: h.with_failure(failure, Policy()).with_success(target, failure.observed_at))
        await store.save_session(f"s{i % 50}", SessionState().with_success(target))
        total = await store.add_to_counter("writes", 1)
        print(total, flush=True)


anyio.run(write)
"""


def kill_round(path: Path, rng: random.Random) -> int:
    """
    Start a writer, let it commit, kill -9 it at a random moment; return its last reported total.
    """
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        last = int(process.stdout.readline())  # it is writing now
        for _ in range(rng.randrange(0, 40)):
            line = process.stdout.readline()
            if line:
                last = int(line)
        process.send_signal(signal.SIGKILL)
        for line in process.stdout:
            last = int(line)  # what it reported before dying was committed
        process.wait(timeout=10)
    return last


def check_database(path: Path) -> tuple[str, int]:
    """
    The integrity check's verdict and the committed number of writes.
    """
    with closing(sqlite3.connect(path)) as connection:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        row = connection.execute("SELECT value FROM counters WHERE key = 'writes'").fetchone()
    return verdict, row[0]


@pytest.mark.slow
def test_killing_writers_never_corrupts_the_database_nor_loses_a_commit(tmp_path: Path) -> None:
    """kill -9 during writes, again and again: the file passes integrity_check and keeps every commit."""
    rng = random.Random(17)
    verdicts = []
    lost = []
    for kill in range(KILLS):
        path = tmp_path / f"state-{kill % 3}.db"
        reported = kill_round(path, rng)
        verdict, committed = check_database(path)
        verdicts.append(verdict)
        if committed < reported:
            lost.append((kill, reported, committed))
    health = anyio.run(SqliteStateStore(tmp_path / "state-0.db").load_health)

    assert ["ok"] * KILLS == verdicts
    assert [] == lost
    assert isinstance(health, HealthState)
