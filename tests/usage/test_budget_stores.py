"""
Tests that budgets hold across processes through the real state stores: memory, SQLite and Redis.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from modelcfg import ModelRef
from modelcfg.stores import MemoryStateStore, RedisStateStore, SqliteStateStore
from modelcfg.usage import (
    Budget,
    BudgetAlert,
    BudgetKeeper,
    BudgetPeriod,
    Cost,
    Refusal,
    Reservation,
    Spender,
)
from tests.stores.conftest import (  # noqa: F401 - the fixture is used by name
    RedisServer,
    make_store,
    redis_server,
    unique_prefix,
)
from tests.usage.records import T0

pytestmark = pytest.mark.anyio

DAILY = Budget(
    name="daily",
    scope="provider",
    match="openai",
    limit_usd="1",
    period=BudgetPeriod.parse("day"),
)
OPENAI = Spender(model=ModelRef.parse("openai/gpt-5"))

Store = MemoryStateStore | SqliteStateStore | RedisStateStore

CASES = [
    pytest.param(("memory", "asyncio"), id="memory-asyncio"),
    pytest.param(("memory", "trio"), id="memory-trio"),
    pytest.param(("sqlite", "asyncio"), id="sqlite-asyncio"),
    pytest.param(("sqlite", "trio"), id="sqlite-trio"),
    pytest.param(("redis", "asyncio"), id="redis-asyncio"),  # redis-py is asyncio only
]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    """A store kind and the event loop it runs under."""
    kind_and_backend: tuple[str, str] = request.param
    return kind_and_backend


@pytest.fixture
def anyio_backend(case: tuple[str, str]) -> str:
    return case[1]


@pytest.fixture
async def workers(
    case: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Store, Store]]:
    """Two store instances sharing one backend, as two worker processes would."""
    kind = case[0]
    if kind == "memory":
        shared = MemoryStateStore()
        yield shared, shared
        return
    server: RedisServer | None = (
        request.getfixturevalue("redis_server") if kind == "redis" else None
    )
    prefix = unique_prefix()
    stores = (
        make_store(kind, tmp_path, redis=server, prefix=prefix),
        make_store(kind, tmp_path, redis=server, prefix=prefix),
    )
    yield stores
    for store in stores:
        assert not isinstance(store, MemoryStateStore)
        await store.aclose()


async def test_workers_sharing_a_store_share_a_budget_and_its_alerts(
    workers: tuple[Store, Store],
) -> None:
    """What one worker spent counts against the other's next request; each alert is given once."""
    first_store, second_store = workers
    alerts: list[BudgetAlert] = []
    first = BudgetKeeper([DAILY], first_store, clock=lambda: T0, on_alert=alerts.append)
    second = BudgetKeeper([DAILY], second_store, clock=lambda: T0, on_alert=alerts.append)

    held = await first.reserve(OPENAI, Cost(usd=Decimal("0.6")))
    assert isinstance(held, Reservation)
    await first.settle(held, Cost(usd=Decimal("0.6")))
    refused = await second.reserve(OPENAI, Cost(usd=Decimal("0.5")))
    allowed = await second.reserve(OPENAI, Cost(usd=Decimal("0.3")))
    assert isinstance(allowed, Reservation)
    await second.settle(allowed, Cost(usd=Decimal("0.3")))

    assert isinstance(refused, Refusal)
    assert (["0.5", "0.8"], Decimal("0.9")) == (
        [str(a.threshold) for a in alerts],
        await first.spent(DAILY, "openai"),
    )


async def test_200_concurrent_requests_stay_within_a_limit_in_every_store(
    workers: tuple[Store, Store],
) -> None:
    """Two workers send 200 concurrent requests against one limit: the spend stays within it."""
    keepers = [BudgetKeeper([DAILY], store, clock=lambda: T0) for store in workers]
    rng = random.Random(16)
    cents = Decimal("0.01")
    plan = [(rng.randrange(1, 6), rng.random()) for _ in range(200)]
    admitted = 0

    async def one(index: int, estimate: int, share: float) -> None:
        nonlocal admitted
        keeper = keepers[index % 2]
        held = await keeper.reserve(OPENAI, Cost(usd=estimate * cents))
        if isinstance(held, Refusal):
            return
        admitted += 1
        await anyio.sleep(0)
        await keeper.settle(held, Cost(usd=int(estimate * share) * cents))

    async with anyio.create_task_group() as group:
        for index, (estimate, share) in enumerate(plan):
            group.start_soon(one, index, estimate, share)
    spent = await keepers[0].spent(DAILY, "openai")

    assert spent <= DAILY.limit_usd
    assert 0 < admitted < 200
