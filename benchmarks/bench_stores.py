"""
What each state store costs, side by side with the memory store, in one run.

Run: ``python benchmarks/bench_stores.py`` (Redis figures need ``redis-server`` on
the PATH and the ``redis`` extra; the script starts its own server on a free
loopback port). ``--kills 200`` also runs the kill -9 stress of the SQLite store
(the test suite runs 24 rounds). Figures:

- overhead per request on the success path, with a session id: the p50 of each
  store's request time and its difference to the memory store's (stores take turns
  in blocks of 100 requests); targets: SQLite <= 150 us, Redis on loopback <= 300 us;
- 10,000 sessions saved with a cap of 1,000: what the process holds (tracemalloc)
  and what the store keeps;
- throughput at concurrency 50;
- with ``--kills N``: N kill -9 rounds of a SQLite writer, and how many databases
  failed ``PRAGMA integrity_check`` or lost a commit.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.to_thread
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelcfg import SessionState
from modelcfg.stores import MemoryStateStore, RedisStateStore, SqliteStateStore
from tests.stores._fleet import HELLO, executor_for, healthy_provider
from tests.stores.conftest import running_redis
from tests.stores.test_sqlite import check_database, kill_round

Store = MemoryStateStore | SqliteStateStore | RedisStateStore
SESSIONS = 100
"""Session ids the requests cycle through: conversations that come back."""


async def overhead(stores: dict[str, Store], rounds: int) -> dict[str, list[float]]:
    """
    Request times per store, taken in alternating blocks of 100 requests, so that machine
    noise hits every store alike while each block runs one store undisturbed.
    """
    times: dict[str, list[float]] = {name: [] for name in stores}
    async with httpx.AsyncClient(transport=healthy_provider()) as client:
        executors = {name: executor_for(store, client) for name, store in stores.items()}
        for executor in executors.values():  # warm: connections, caches, scripts
            for i in range(200):
                await executor.complete(HELLO, session_id=f"chat-{i % SESSIONS}")
        for block in range(0, rounds, 100):
            for name, executor in executors.items():
                for i in range(block, min(block + 100, rounds)):
                    started = time.perf_counter()
                    await executor.complete(HELLO, session_id=f"chat-{i % SESSIONS}")
                    times[name].append(time.perf_counter() - started)
    return times


async def throughput(store: Store, requests: int, concurrency: int) -> float:
    """
    Requests per second with *concurrency* requests in flight.
    """
    limit = anyio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=healthy_provider()) as client:
        executor = executor_for(store, client)

        async def one(i: int) -> None:
            async with limit:
                await executor.complete(HELLO, session_id=f"tp-{i % 1000}")

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(requests):
                tg.start_soon(one, i)
        return requests / (time.perf_counter() - started)


async def bounded_sessions(make: Callable[[], Store], saved: int) -> tuple[float, int]:
    """
    Save *saved* distinct sessions; return the KiB the process holds for them and how many
    the store keeps.
    """
    gc.collect()
    tracemalloc.start()
    store = make()
    session = SessionState()
    for i in range(saved):
        await store.save_session(f"user-{i:06d}", session)
    gc.collect()
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = sum([await store.load_session(f"user-{i:06d}") is not None for i in range(saved)])
    if not isinstance(store, MemoryStateStore):
        await store.aclose()
    return held / 1024, kept


def median_us(values: list[float]) -> float:
    return statistics.median(values) * 1e6


async def run(args: argparse.Namespace, where: Path, redis: object | None) -> None:
    def stores() -> dict[str, Store]:
        made: dict[str, Store] = {
            "memory": MemoryStateStore(),
            "sqlite": SqliteStateStore(where / f"bench-{random.random()}.db"),
        }
        if redis is not None:
            made["redis"] = RedisStateStore(
                redis.url,  # type: ignore[attr-defined]
                prefix=f"bench{random.getrandbits(32)}",
                environ=redis.environ,  # type: ignore[attr-defined]
            )
        return made

    print("the floor on this machine now (what one off-loop call and one Redis round trip cost)")
    hops = []
    for _ in range(2000):
        started = time.perf_counter()
        await anyio.to_thread.run_sync(int)
        hops.append(time.perf_counter() - started)
    print(f"  anyio.to_thread.run_sync() p50 {median_us(hops):7.1f} us")
    if redis is not None:
        from redis.asyncio import Redis

        client = Redis.from_url(redis.url, password=redis.password)  # type: ignore[attr-defined]
        pings = []
        for _ in range(2000):
            started = time.perf_counter()
            await client.ping()
            pings.append(time.perf_counter() - started)
        await client.aclose()
        print(f"  redis-py PING round trip   p50 {median_us(pings):7.1f} us")

    print(f"success path with a session id, {args.rounds} requests per store, in turns")
    opened = stores()
    times = await overhead(opened, args.rounds)
    base = times["memory"]
    targets = {"sqlite": 150.0, "redis": 300.0}
    for name, values in times.items():
        line = f"  {name:7} p50 {median_us(values):7.1f} us"
        if name != "memory":
            line += (
                f"   overhead over memory (p50 difference) "
                f"{median_us(values) - median_us(base):7.1f} us   target <= {targets[name]:.0f} us"
            )
        print(line)
    for store in opened.values():
        if not isinstance(store, MemoryStateStore):
            await store.aclose()

    print(f"throughput, {args.requests} requests at concurrency 50")
    for name, store in stores().items():
        rate = await throughput(store, args.requests, 50)
        print(f"  {name:7} {rate:8.0f} requests/s")
        if not isinstance(store, MemoryStateStore):
            await store.aclose()

    print("10,000 sessions saved with max_sessions=1,000 (process memory via tracemalloc)")
    makers: dict[str, Callable[[], Store]] = {
        "memory": lambda: MemoryStateStore(max_sessions=1000),
        "sqlite": lambda: SqliteStateStore(
            where / f"sessions-{random.random()}.db", max_sessions=1000
        ),
    }
    if redis is not None:
        makers["redis"] = lambda: RedisStateStore(
            redis.url,  # type: ignore[attr-defined]
            prefix=f"bench{random.getrandbits(32)}",
            environ=redis.environ,  # type: ignore[attr-defined]
            max_sessions=1000,
        )
    for name, make in makers.items():
        small, _ = await bounded_sessions(make, 1000)
        large, kept = await bounded_sessions(make, 10_000)
        print(
            f"  {name:7} after 1,000: {small:7.0f} KiB   after 10,000: {large:7.0f} KiB"
            f"   sessions kept: {kept}"
        )


def kills(count: int, where: Path) -> None:
    rng = random.Random(200)
    corrupt = lost = 0
    started = time.monotonic()
    for kill in range(count):
        path = where / f"kill-{kill % 5}.db"
        reported = kill_round(path, rng)
        verdict, committed = check_database(path)
        corrupt += verdict != "ok"
        lost += committed < reported
    print(
        f"kill -9 of SQLite writers: {count} kills, {corrupt} corrupt databases, "
        f"{lost} lost commits ({time.monotonic() - started:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=2000, help="requests per store")
    parser.add_argument("--requests", type=int, default=5000, help="throughput requests")
    parser.add_argument("--kills", type=int, default=0, help="kill -9 rounds (200 for the issue)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        where = Path(directory)
        if args.no_redis:
            anyio.run(run, args, where, None)
        else:
            with running_redis() as redis:
                anyio.run(run, args, where, redis)
        if args.kills:
            kills(args.kills, where)


if __name__ == "__main__":
    main()
