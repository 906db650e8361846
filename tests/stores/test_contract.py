"""
The store contract (``docs/stores.md``), run against every store: memory, SQLite and a real Redis.

Two instances of a persistent store over the same file or key prefix stand for
two processes: each has its own connection and its own cached view.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg import Failure, FailureKind, HealthState, ModelRef, Policy, ProfileId, Target
from modelcfg._core._state import SessionState
from modelcfg.stores import MemoryStateStore, RedisStateStore, SqliteStateStore
from tests.stores.conftest import STORE_KINDS, RedisServer, make_store, unique_prefix

pytestmark = pytest.mark.anyio

Store = MemoryStateStore | SqliteStateStore | RedisStateStore

CASES = [
    pytest.param(("memory", "asyncio"), id="memory-asyncio"),
    pytest.param(("memory", "trio"), id="memory-trio"),
    pytest.param(("sqlite", "asyncio"), id="sqlite-asyncio"),
    pytest.param(("sqlite", "trio"), id="sqlite-trio"),
    pytest.param(("redis", "asyncio"), id="redis-asyncio"),  # redis-py is asyncio only
]
PERSISTENT = ("sqlite", "redis")

POLICY = Policy()
T0 = 1_800_000_000.0
TARGETS = tuple(
    Target(model=ModelRef.parse(model), profile=ProfileId.parse(profile))
    for model, profile in [
        ("openai/gpt-5.2", "openai:default"),
        ("openai/gpt-5.2", "openai:work"),
        ("anthropic/claude-opus-4-5", "anthropic:default"),
    ]
)
KINDS = (
    FailureKind.RATE_LIMITED,
    FailureKind.SERVER,
    FailureKind.OVERLOADED,
    FailureKind.AUTH,
    FailureKind.BILLING,
    FailureKind.TIMEOUT,
)


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    value: tuple[str, str] = request.param
    return value


@pytest.fixture
def anyio_backend(case: tuple[str, str]) -> str:
    return case[1]


@pytest.fixture
def kind(case: tuple[str, str]) -> str:
    return case[0]


OpenStore = Callable[..., Store]


@pytest.fixture
async def open_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[OpenStore]:
    """
    Opens instances of one store: each call is another process's view of the same state.
    """
    redis = request.getfixturevalue("redis_server") if kind == "redis" else None
    prefix = unique_prefix()
    opened: list[Store] = []
    memory: list[Store] = []

    def open_one(**options: object) -> Store:
        if memory:
            return memory[0]  # one process: every "instance" is the same memory store
        store = make_store(kind, tmp_path, redis=redis, prefix=prefix, **options)
        opened.append(store)
        if kind == "memory":
            memory.append(store)
        return store

    yield open_one
    for store in opened:
        if not isinstance(store, MemoryStateStore):
            await store.aclose()


def failure(kind: FailureKind, at: float, target: Target = TARGETS[0]) -> Failure:
    return Failure(
        kind=kind, observed_at=at, status=503, model=target.model, profile=target.profile
    )


def claim_for(
    target: Target, at: float, claims: dict[int, bool], who: int
) -> Callable[[HealthState], HealthState]:
    """
    The executor's probe claim: take the half-open probe of *target* if nobody holds it.

    Like the executor's, it remembers what its last run saw: a store may run it again.
    """

    def claim(health: HealthState) -> HealthState:
        claims[who] = health.blocked_until(target, at) is None and health.probe_due(target, at)
        return health.with_probe_started(target, at, POLICY) if claims[who] else health

    return claim


# -- basics -----------------------------------------------------------------------------------


async def test_a_new_store_is_empty(open_store: OpenStore) -> None:
    """A store that was never written holds healthy health, no sessions, counters or records."""
    store = open_store()

    assert (HealthState(), None, 0, None) == (
        await store.load_health(),
        await store.load_session("nobody"),
        await store.load_counter("c"),
        await store.load_record("r"),
    )


async def test_sessions_round_trip_between_instances(open_store: OpenStore) -> None:
    """A session saved by one instance is read back by another."""
    writer, reader = open_store(), open_store()
    session = SessionState().with_success(TARGETS[2])
    await writer.save_session("chat-1", session)

    assert session == await reader.load_session("chat-1")


async def test_a_session_is_replaced_by_a_later_save(open_store: OpenStore) -> None:
    """Saving a session again replaces it, for every instance."""
    first, second = open_store(), open_store()
    await first.save_session("chat", SessionState().with_success(TARGETS[0]))
    await first.load_session("chat")
    await second.save_session("chat", SessionState().with_success(TARGETS[1]))

    assert SessionState().with_success(TARGETS[1]) == await first.load_session("chat")


# -- atomic updates -----------------------------------------------------------------------------


async def test_concurrent_health_updates_lose_nothing(open_store: OpenStore) -> None:
    """Forty concurrent failures through two instances are all counted."""
    stores = [open_store(), open_store()]

    async def fail(i: int) -> None:
        store = stores[i % 2]
        await store.update_health(
            lambda h: h.with_failure(failure(FailureKind.SERVER, T0 + i / 100), POLICY)
        )

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(fail, i)

    assert 40 == (await open_store().load_health()).counters[FailureKind.SERVER].count


async def test_one_of_many_concurrent_claims_gets_the_probe(open_store: OpenStore) -> None:
    """Twenty requests in two instances find a target half-open: exactly one claims its probe."""
    stores = [open_store(), open_store()]
    target = TARGETS[0]
    await stores[0].update_health(
        lambda h: h.with_failure(failure(FailureKind.OVERLOADED, T0, target), POLICY)
    )
    health = await stores[1].load_health()
    blocked = health.blocked_until(target, T0)
    assert blocked is not None
    at = blocked.until_at + 0.01
    claims: dict[int, bool] = {}

    async def claim(i: int) -> None:
        await stores[i % 2].update_health(claim_for(target, at, claims, i))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(claim, i)
    final = await open_store().load_health()

    assert (20, 1) == (len(claims), sum(claims.values()))
    assert final.blocked_until(target, at) is not None


async def test_concurrent_counter_additions_lose_nothing(open_store: OpenStore) -> None:
    """Fifty concurrent additions through two instances add up."""
    stores = [open_store(), open_store()]

    async def add(i: int) -> None:
        await stores[i % 2].add_to_counter("budget:openai", i)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(add, i)

    assert sum(range(50)) == await open_store().load_counter("budget:openai")


async def test_concurrent_record_updates_lose_nothing(open_store: OpenStore) -> None:
    """Thirty concurrent read-modify-writes of one record through two instances all land."""
    stores = [open_store(), open_store()]

    def bump(value: object) -> object:
        seen = value if isinstance(value, dict) else {"n": 0, "spent": []}
        return {"n": seen["n"] + 1, "spent": [*seen["spent"], seen["n"]]}

    async def update(i: int) -> None:
        await stores[i % 2].update_record("budget:day", bump)  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        for i in range(30):
            tg.start_soon(update, i)

    assert {"n": 30, "spent": list(range(30))} == await open_store().load_record("budget:day")


async def test_a_record_changed_to_none_is_deleted(open_store: OpenStore) -> None:
    """A change that returns None deletes the record."""
    store = open_store()
    await store.update_record("r", lambda _v: {"a": [1, 2.5, "x", True, None]})
    kept = await open_store().load_record("r")
    await store.update_record("r", lambda _v: None)

    assert ({"a": [1, 2.5, "x", True, None]}, None) == (kept, await open_store().load_record("r"))


async def test_a_record_that_is_not_json_is_refused(open_store: OpenStore) -> None:
    """A change that returns something JSON cannot hold raises TypeError and stores nothing."""
    store = open_store()

    with pytest.raises(TypeError, match="record 'r' must be JSON values"):
        await store.update_record("r", lambda _v: {"when": object()})  # type: ignore[dict-item]
    assert None is await store.load_record("r")


# -- readers and writers ------------------------------------------------------------------------


async def test_a_reader_never_sees_half_an_update(open_store: OpenStore) -> None:
    """An update that opens two cooldowns at once is seen whole or not at all by another instance."""
    writer, reader = open_store(), open_store()
    both = (
        HealthState()
        .with_failure(failure(FailureKind.AUTH, T0, TARGETS[0]), POLICY)
        .with_failure(failure(FailureKind.AUTH, T0, TARGETS[2]), POLICY)
    )
    seen: set[int] = set()
    done = anyio.Event()

    async def write() -> None:
        for i in range(30):
            await writer.update_health(lambda _h, i=i: both if i % 2 == 0 else HealthState())
        done.set()

    async def read() -> None:
        while not done.is_set():
            seen.add(len((await reader.load_health()).cooldowns))
            await anyio.sleep(0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        tg.start_soon(read)

    assert set() == seen - {0, 2}


# -- sessions: time to live and a size cap ----------------------------------------------------------


async def test_sessions_expire_after_their_time_to_live(open_store: OpenStore) -> None:
    """A session not saved again within session_ttl_s is gone."""
    store = open_store(session_ttl_s=0.3)
    await store.save_session("old", SessionState().with_success(TARGETS[0]))
    kept = await store.load_session("old")
    await anyio.sleep(0.4)

    assert (SessionState().with_success(TARGETS[0]), None) == (
        kept,
        await store.load_session("old"),
    )


async def test_sessions_beyond_the_cap_evict_the_least_recently_saved(
    open_store: OpenStore,
) -> None:
    """With a cap of three, saving a fifth session evicts the two saved longest ago."""
    clock = _StepClock()
    store = open_store(max_sessions=3, clock=clock)
    for name in ["a", "b", "c", "d"]:
        await store.save_session(name, SessionState().with_success(TARGETS[0]))
    await store.save_session("b", SessionState().with_success(TARGETS[1]))  # b is fresh again
    await store.save_session("e", SessionState().with_success(TARGETS[0]))
    reader = open_store(max_sessions=3, clock=clock)
    expected = {"a": False, "b": True, "c": False, "d": True, "e": True}

    assert expected == {name: await reader.load_session(name) is not None for name in "abcde"}
    assert expected == {name: await store.load_session(name) is not None for name in "abcde"}


class _StepClock:
    """
    Seconds since the epoch that move one second on every reading.
    """

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


async def test_counters_expire_after_their_time_to_live(open_store: OpenStore) -> None:
    """A counter made with ttl_s is gone after it, and starts again from zero."""
    store = open_store()
    await store.add_to_counter("hour", 5, ttl_s=0.3)
    await store.add_to_counter("hour", 1, ttl_s=0.3)
    before = await store.load_counter("hour")
    await anyio.sleep(0.4)

    assert (6, 0, 2) == (
        before,
        await store.load_counter("hour"),
        await store.add_to_counter("hour", 2),
    )


# -- what survives ------------------------------------------------------------------------------


async def test_persistent_state_survives_the_process(open_store: OpenStore, kind: str) -> None:
    """A new instance, as after a crash, sees every update the old one completed."""
    if kind not in PERSISTENT:
        pytest.skip("the memory store keeps nothing after its process ends (docs/stores.md)")
    old = open_store()
    health = await old.update_health(
        lambda h: h.with_failure(failure(FailureKind.BILLING, T0, TARGETS[1]), POLICY)
    )
    await old.save_session("s", SessionState().with_success(TARGETS[1]))
    await old.add_to_counter("spent", 7)
    await old.update_record("ledger", lambda _v: {"rows": 3})
    new = open_store()

    assert (health, SessionState().with_success(TARGETS[1]), 7, {"rows": 3}) == (
        await new.load_health(),
        await new.load_session("s"),
        await new.load_counter("spent"),
        await new.load_record("ledger"),
    )


# -- health is the fold of its transitions (property) ---------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("fail"),
            st.integers(0, len(TARGETS) - 1),
            st.sampled_from(KINDS),
            st.floats(0, 120),
        ),
        st.tuples(st.just("ok"), st.integers(0, len(TARGETS) - 1), st.floats(0, 120)),
        st.tuples(st.just("probe"), st.integers(0, len(TARGETS) - 1), st.floats(0, 120)),
        st.tuples(st.just("release"), st.integers(0, len(TARGETS) - 1)),
        st.tuples(st.just("clear"), st.integers(0, len(TARGETS) - 1)),
    ),
    max_size=12,
)


def _transition(op: tuple[object, ...], at: float) -> Callable[[HealthState], HealthState]:
    name, index = op[0], op[1]
    assert isinstance(index, int)
    target = TARGETS[index]
    if name == "fail":
        kind = op[2]
        assert isinstance(kind, FailureKind)
        return lambda h: h.with_failure(failure(kind, at, target), POLICY)
    if name == "ok":
        return lambda h: h.with_success(target, at)
    if name == "probe":
        return lambda h: h.with_probe_started(target, at, POLICY)
    if name == "release":
        return lambda h: h.with_probe_released(target)
    return lambda h: h.cleared(profile=target.profile)


@pytest.mark.parametrize("store_kind", STORE_KINDS)
@settings(max_examples=25)
@given(ops=OPS)
def test_stored_health_is_the_fold_of_the_transitions(
    store_kind: str, ops: list[tuple[object, ...]], request: pytest.FixtureRequest
) -> None:
    """Any sequence of transitions, applied through two instances, leaves what the pure fold gives."""
    redis: RedisServer | None = (
        request.getfixturevalue("redis_server") if store_kind == "redis" else None
    )
    expected = HealthState()
    at = T0
    steps = []
    for op in ops:
        at += float(op[-1]) if op[0] in ("fail", "ok", "probe") else 0.0  # type: ignore[arg-type]
        change = _transition(op, at)
        expected = change(expected)
        steps.append(change)

    async def run(where: Path) -> tuple[HealthState, HealthState]:
        prefix = unique_prefix()
        first = make_store(store_kind, where, redis=redis, prefix=prefix)
        second = (
            first
            if store_kind == "memory"
            else make_store(store_kind, where, redis=redis, prefix=prefix)
        )
        try:
            for i, change in enumerate(steps):
                await (first if i % 2 == 0 else second).update_health(change)
            return await first.load_health(), await second.load_health()
        finally:
            for store in {id(first): first, id(second): second}.values():
                if not isinstance(store, MemoryStateStore):
                    await store.aclose()

    with tempfile.TemporaryDirectory() as where:
        seen = anyio.run(run, Path(where))

    assert (expected, expected) == seen
