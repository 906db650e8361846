"""
The Redis store against a real ``redis-server``: faults, secrets, keys and TTLs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from modelcfg import Failure, FailureKind, HealthState, ModelRef, Policy, ProfileId, Target
from modelcfg._core._state import SessionState
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg.stores import (
    RedisStateStore,
    StateStoreError,
    StoreDegraded,
    StoreEvent,
    StoreRecovered,
)
from tests.stores._fleet import HELLO, KEY, config_for, executor_for, healthy_provider
from tests.stores.conftest import RedisServer, free_port, running_redis, unique_prefix

pytestmark = pytest.mark.anyio

TARGET = Target(model=ModelRef.parse("oai/primary"), profile=ProfileId.parse("oai:default"))
T0 = 1_800_000_000.0
# A busy test machine is not a slow server: only the fault tests keep the 50 ms default bound.
BUSY_S = 5.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis-py's client is asyncio's


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisServer]:
    """
    A redis-server of this test's own, which it may kill, pause and restart.
    """
    with running_redis() as server:
        yield server


def overloaded(at: float) -> Failure:
    return Failure(
        kind=FailureKind.OVERLOADED,
        observed_at=at,
        status=503,
        model=TARGET.model,
        profile=TARGET.profile,
    )


async def wait_until_recovered(store: RedisStateStore, limit_s: float) -> float:
    """
    Keep using *store* until it is no longer degraded; return how long that took.

    Raises:
        AssertionError: It did not recover within *limit_s*.
    """
    started = time.monotonic()
    while store.degraded:
        assert time.monotonic() - started < limit_s, f"not re-synced within {limit_s} s"
        await store.load_health()
        await anyio.sleep(0.02)
    return time.monotonic() - started


# -- faults -------------------------------------------------------------------------------------


async def test_a_store_that_cannot_reach_redis_works_on_its_own_view() -> None:
    """With nothing listening, updates, sessions and counters work locally and one event says so."""
    events: list[StoreEvent] = []
    store = RedisStateStore(
        f"redis://127.0.0.1:{free_port()}/0", prefix=unique_prefix(), observers=[events.append]
    )
    health = await store.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await store.save_session("s", SessionState().with_success(TARGET))
    totals = [await store.add_to_counter("spent", 3), await store.add_to_counter("spent", 4)]
    await store.aclose()

    assert health.blocked_until(TARGET, T0) is not None
    assert (health, SessionState().with_success(TARGET), [3, 7]) == (
        await store.load_health(),
        await store.load_session("s"),
        totals,
    )
    assert [StoreDegraded] == [type(event) for event in events]
    assert store.degraded


async def test_requests_survive_redis_being_killed_and_restarted(own_redis: RedisServer) -> None:
    """Requests keep succeeding while Redis is killed and restarted, and the store re-syncs within 5 s."""
    events: list[StoreEvent] = []
    prefix = unique_prefix()
    store = RedisStateStore(
        own_redis.url,
        prefix=prefix,
        environ=own_redis.environ,
        timeout_s=BUSY_S,
        observers=[events.append],
    )
    failed: list[BaseException] = []
    answered: list[str] = []
    async with httpx.AsyncClient(transport=healthy_provider(frozenset({"primary"}))) as client:
        executor = executor_for(store, client)

        async def lane(number: int, stop_at: float) -> None:
            i = 0
            while time.monotonic() < stop_at:
                try:
                    done = await executor.complete(HELLO, session_id=f"lane-{number}-{i % 3}")
                except Exception as exc:
                    failed.append(exc)
                else:
                    answered.append(done.model.model)
                i += 1
                await anyio.sleep(0.005)

        stop_at = time.monotonic() + 1.5
        async with anyio.create_task_group() as tg:
            for number in range(4):
                tg.start_soon(lane, number, stop_at)
            await anyio.sleep(0.3)
            own_redis.kill()
            await anyio.sleep(0.4)
            # Made while Redis is down: only this process knows them yet.
            await store.save_session("while-down", SessionState().with_success(TARGET))
            await store.add_to_counter("spent", 5)
            own_redis.start()
            restarted = time.monotonic()
        resync_s = await wait_until_recovered(store, limit_s=5.0 - (time.monotonic() - restarted))
        peer = RedisStateStore(
            own_redis.url, prefix=prefix, environ=own_redis.environ, timeout_s=BUSY_S
        )
        seen = (
            await peer.load_session("while-down"),
            await peer.load_counter("spent"),
            (await peer.load_health()).probe_due(TARGET, time.time() + 3600)
            or (await peer.load_health()).blocked_until(TARGET, time.time()) is not None,
        )
        await peer.aclose()
        await store.aclose()

    assert [] == failed
    assert {"backup"} == set(answered)
    assert [StoreDegraded, StoreRecovered] == [type(event) for event in events]
    assert resync_s < 5.0
    # Redis came back empty: what this process knew was written back, with what came meanwhile.
    assert (SessionState().with_success(TARGET), 5, True) == seen


async def test_a_paused_redis_is_slower_than_the_bound_and_then_comes_back(
    own_redis: RedisServer,
) -> None:
    """A stopped server makes calls give up after timeout_s; once it resumes, the store re-syncs."""
    events: list[StoreEvent] = []
    prefix = unique_prefix()
    store = RedisStateStore(
        own_redis.url,
        prefix=prefix,
        environ=own_redis.environ,
        timeout_s=0.05,
        observers=[events.append],
    )
    await store.load_health()
    own_redis.pause()
    try:
        health = await store.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    finally:
        own_redis.resume()
    await wait_until_recovered(store, limit_s=5.0)
    peer = RedisStateStore(
        own_redis.url, prefix=prefix, environ=own_redis.environ, timeout_s=BUSY_S
    )
    shared = await peer.load_health()
    await peer.aclose()
    await store.aclose()

    assert health == shared
    assert ["slower than 0.05 s"] == [e.reason for e in events if isinstance(e, StoreDegraded)]
    assert [1] == [e.replayed for e in events if isinstance(e, StoreRecovered)]


async def test_a_wrong_password_degrades_and_never_shows_the_password(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused login is a fault like any other: requests go on, and no password reaches repr, events or logs."""
    events: list[StoreEvent] = []
    wrong = "pw-wrong-" + "x" * 16
    url_password = "pw-in-url-" + "y" * 16
    store = RedisStateStore(
        f"redis://user:{url_password}@127.0.0.1:{redis_server.port}/0",
        prefix=unique_prefix(),
        environ={"MODELCFG_REDIS_PASSWORD": wrong},
        observers=[events.append],
    )
    with caplog.at_level(logging.DEBUG):
        health = await store.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await store.aclose()
    shown = [repr(store), str(store), caplog.text, *map(repr, events)]

    assert health.blocked_until(TARGET, T0) is not None
    assert [StoreDegraded] == [type(event) for event in events]
    assert [] == [text for text in shown if wrong in text or url_password in text]
    assert f"RedisStateStore('redis://127.0.0.1:{redis_server.port}/0', prefix=" in repr(store)


async def test_a_read_may_reuse_a_snapshot_younger_than_read_max_age(
    redis_server: RedisServer,
) -> None:
    """With the default settings a read sees another process's update once read_max_age_s has passed."""
    prefix = unique_prefix()
    reader = RedisStateStore(
        redis_server.url, prefix=prefix, environ=redis_server.environ, timeout_s=BUSY_S
    )
    writer = RedisStateStore(
        redis_server.url, prefix=prefix, environ=redis_server.environ, timeout_s=BUSY_S
    )
    await reader.load_health()
    health = await writer.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await anyio.sleep(reader.read_max_age_s)
    seen = await reader.load_health()
    await reader.aclose()
    await writer.aclose()

    assert health == seen


async def test_a_success_on_a_healthy_target_writes_nothing(redis_server: RedisServer) -> None:
    """Requests that succeed on a healthy target, with a session, write nothing after the first."""
    from redis.asyncio import Redis

    now = [T0]
    prefix = unique_prefix()
    store = RedisStateStore(
        redis_server.url,
        prefix=prefix,
        environ=redis_server.environ,
        timeout_s=BUSY_S,
        clock=lambda: now[0],
    )
    raw = Redis.from_url(redis_server.url, password=redis_server.password, decode_responses=True)
    async with httpx.AsyncClient(transport=healthy_provider()) as client:
        executor = Executor.from_config(
            config_for("http://127.0.0.1:9/v1"),
            client=client,
            credentials=StaticCredentials({"oai:default": KEY}),
            store=store,
            clock=lambda: now[0],
        )
        await executor.complete(HELLO, session_id="chat")  # starts the circuit and the session
        keys = sorted(await raw.keys(f"{{{prefix}}}:*"))
        before = {key: await raw.dump(key) for key in keys}
        for _ in range(20):
            now[0] += 0.01
            await executor.complete(HELLO, session_id="chat")
        after = {key: await raw.dump(key) for key in sorted(await raw.keys(f"{{{prefix}}}:*"))}
    await raw.aclose()
    await store.aclose()

    assert before == after


# -- keys, prefixes, TTLs and bad data -------------------------------------------------------


async def test_deployments_with_different_prefixes_share_nothing(redis_server: RedisServer) -> None:
    """A store under another key prefix sees none of the first one's state."""
    first = RedisStateStore(
        redis_server.url, prefix=unique_prefix(), environ=redis_server.environ, timeout_s=BUSY_S
    )
    other = RedisStateStore(
        redis_server.url, prefix=unique_prefix(), environ=redis_server.environ, timeout_s=BUSY_S
    )
    await first.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await first.save_session("s", SessionState())
    seen = (await other.load_health(), await other.load_session("s"))
    await first.aclose()
    await other.aclose()

    assert (HealthState(), None) == seen


async def test_every_health_entry_and_session_is_a_key_with_a_ttl(
    redis_server: RedisServer,
) -> None:
    """Each health entry and each session is its own key under the prefix, and each expires."""
    prefix = unique_prefix()
    store = RedisStateStore(
        redis_server.url, prefix=prefix, environ=redis_server.environ, timeout_s=BUSY_S
    )
    await store.update_health(lambda h: h.with_failure(overloaded(T0), Policy()))
    await store.save_session("chat", SessionState())
    from redis.asyncio import Redis

    raw = Redis.from_url(redis_server.url, password=redis_server.password, decode_responses=True)
    keys = sorted(await raw.keys(f"{{{prefix}}}:*"))
    ttls = {key: await raw.pttl(key) for key in keys}
    await raw.aclose()
    await store.aclose()
    entries = [key for key in keys if ":h:" in key or ":s:" in key]

    assert {
        f"{{{prefix}}}:h:model_cooldowns:oai/primary with oai:default",
        f"{{{prefix}}}:h:counters:overloaded",
        f"{{{prefix}}}:s:chat",
    } <= set(entries)
    assert [] == [key for key in entries if ttls[key] <= 0]


async def test_a_malformed_health_key_is_reported_by_name(redis_server: RedisServer) -> None:
    """A health key holding garbage raises StateStoreError naming the entry."""
    prefix = unique_prefix()
    store = RedisStateStore(
        redis_server.url, prefix=prefix, environ=redis_server.environ, timeout_s=BUSY_S
    )
    from redis.asyncio import Redis

    raw = Redis.from_url(redis_server.url, password=redis_server.password)
    await raw.set(f"{{{prefix}}}:h:cooldowns:oai:default", "{not json")
    await raw.sadd(f"{{{prefix}}}:hi", "cooldowns:oai:default")
    await raw.aclose()

    with pytest.raises(StateStoreError, match=r"malformed health row cooldowns\['oai:default'\]"):
        await store.load_health()
    await store.aclose()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_store_says_it_needs_asyncio(anyio_backend: str) -> None:
    """Under trio the store raises a clear error instead of a deep one from redis-py."""
    store = RedisStateStore("redis://127.0.0.1:1/0")

    with pytest.raises(StateStoreError, match="needs the asyncio event loop"):
        await store.load_health()


def test_settings_are_checked() -> None:
    """A missing URL, another scheme or a bad prefix is refused with a clear message."""
    with pytest.raises(ValueError, match="MODELCFG_REDIS_URL"):
        RedisStateStore(environ={})
    with pytest.raises(ValueError, match="redis:// or rediss://"):
        RedisStateStore("http://127.0.0.1:6379")
    with pytest.raises(ValueError, match="prefix"):
        RedisStateStore("redis://127.0.0.1:6379", prefix="a{b}")


def test_tls_and_the_url_come_from_the_environment() -> None:
    """MODELCFG_REDIS_URL and MODELCFG_REDIS_TLS make a rediss:// store, shown without secrets."""
    store = RedisStateStore(
        environ={
            "MODELCFG_REDIS_URL": "redis://:hunter2-secret@cache.internal:6380/2",
            "MODELCFG_REDIS_TLS": "1",
        }
    )

    assert "RedisStateStore('rediss://cache.internal:6380/2', prefix='modelcfg')" == repr(store)
