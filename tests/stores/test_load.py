"""
Load on the SQLite store: thousands of concurrent requests with sessions against a healthy provider.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from modelcfg import AttemptsExhaustedError
from modelcfg.stores import SqliteStateStore
from tests.stores._fleet import HELLO, executor_for, healthy_provider

pytestmark = pytest.mark.anyio

REQUESTS = 2000


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.slow
async def test_two_thousand_concurrent_requests_with_sessions_miss_no_deadline(
    tmp_path: Path,
) -> None:
    """2,000 concurrent requests, each with its own session id, all succeed within the 10 s deadline on a SQLite store."""
    store = SqliteStateStore(tmp_path / "state.db")
    gave_up: list[str] = []
    answered: list[str] = []
    async with httpx.AsyncClient(transport=healthy_provider()) as client:
        executor = executor_for(store, client)

        async def one(i: int) -> None:
            try:
                done = await executor.complete(HELLO, session_id=f"user-{i}")
            except AttemptsExhaustedError as exc:
                gave_up.append(str(exc))
            else:
                answered.append(done.model.model)

        async with anyio.create_task_group() as tg:
            for i in range(REQUESTS):
                tg.start_soon(one, i)
    sessions = [await store.load_session(f"user-{i}") for i in range(0, REQUESTS, 97)]
    await store.aclose()

    assert ([], ["primary"] * REQUESTS) == (gave_up, answered)
    assert [] == [s for s in sessions if s is None]
