"""
Measured health in the shared state: per model and per profile, folded as pure
values, batched by the executor so a success writes nothing at once, delivered to
observers when a score crosses a threshold, and fed by active checks.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import (
    ChatRequest,
    FailureKind,
    HealthEvent,
    HealthState,
    Message,
    ModelRef,
    ProfileId,
    Target,
    dump_state,
    load_config,
    load_state,
)
from modelcfg._core._metrics import Measured, TargetMetrics
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg._executor._health import MetricsBatch, counts_against
from modelcfg._executor._reports import ExecutorEvent, HealthChanged
from modelcfg.adapters import CallLimits
from modelcfg.stores import MemoryStateStore
from modelcfg.testing import FakeProvider
from modelcfg.usage import MemoryLedger

T0 = 1_800_000_000.0
PROFILE = ProfileId.parse("openai:default")
MODEL = ModelRef.parse("openai/ok")
TARGET = Target(model=MODEL, profile=PROFILE)
HELLO = ChatRequest(messages=[Message(role="user", content="hi")])


def sample(failure: FailureKind | None = None, at: float = T0, latency_s: float = 0.5) -> Measured:
    return Measured(target=TARGET, at=at, latency_s=latency_s, failure=failure)


def test_a_measurement_updates_the_model_and_the_profile() -> None:
    """One success counts for its model and for its profile, and nowhere else."""
    health = HealthState().with_measured([sample()])

    assert ([MODEL], [PROFILE], 1.0) == (
        list(health.model_metrics),
        list(health.profile_metrics),
        health.model_metrics[MODEL].success_rate,
    )


def test_no_measurement_changes_nothing() -> None:
    """An empty batch returns the very same state, so a store writes nothing."""
    health = HealthState().with_measured([sample()])

    assert health is health.with_measured([])


def test_circuit_transitions_keep_the_metrics() -> None:
    """Successes and failures recorded on the circuits leave the measured metrics as they were."""
    from modelcfg import Failure, Policy

    health = HealthState().with_measured([sample()])
    failure = Failure(kind=FailureKind.SERVER, observed_at=T0, status=500, model=MODEL)
    after = health.with_failure(failure, Policy(), target=TARGET).with_success(TARGET, T0 + 1)

    assert (health.model_metrics, health.profile_metrics) == (
        after.model_metrics,
        after.profile_metrics,
    )


def test_metrics_survive_a_json_round_trip() -> None:
    """The measured health dumps to JSON and loads back equal."""
    health = HealthState().with_measured(
        [sample(), sample(FailureKind.RATE_LIMITED, at=T0 + 3, latency_s=0.05)]
    )

    assert health == load_state(json.loads(json.dumps(dump_state(health))), HealthState)


@pytest.mark.parametrize(
    ("kind", "counted"),
    [
        (None, True),
        (FailureKind.SERVER, True),
        (FailureKind.RATE_LIMITED, True),
        (FailureKind.CONTEXT_OVERFLOW, False),
        (FailureKind.INVALID_REQUEST, False),
        (FailureKind.UNSUPPORTED, False),
        (FailureKind.CONTENT_FILTER, False),
    ],
)
def test_failures_about_the_request_are_not_the_targets(
    kind: FailureKind | None, counted: bool
) -> None:
    """A failure about the request itself (too long, filtered, malformed) says nothing of the target."""
    from modelcfg import Failure

    failure = None if kind is None else Failure(kind=kind, observed_at=T0)

    assert counted == counts_against(failure)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_waits_for_its_interval_unless_a_write_happens_anyway() -> None:
    """Successes are held until the interval passed, or a write that happens anyway takes them."""
    clock = Clock()
    batch = MetricsBatch(1.0, clock=clock)
    batch.add(sample())
    held = batch.merge(write_anyway=False)(HealthState())
    clock.now = 1.0
    due = batch.merge(write_anyway=False)(HealthState())
    batch.add(sample())
    carried = batch.merge(write_anyway=True)(HealthState())

    assert (0, 1, 1, 0) == (
        len(held.model_metrics),
        len(due.model_metrics),
        len(carried.model_metrics),
        len(batch),
    )


def test_a_batch_announces_the_thresholds_its_merge_crossed() -> None:
    """Three failures merged at once degrade the model and the profile, and the observers hear it."""
    batch = MetricsBatch(1.0)
    for _ in range(3):
        batch.add(sample(FailureKind.SERVER))
    batch.merge(write_anyway=True)(HealthState())
    heard: list[HealthChanged] = []
    batch.announce(heard.append)

    assert [("openai/ok", HealthEvent.DEGRADED), ("openai:default", HealthEvent.DEGRADED)] == [
        (e.subject, e.event) for e in heard
    ]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["openai/a", "openai/b", "anthropic/c"]),
            st.one_of(st.none(), st.sampled_from(list(FailureKind))),
            st.floats(min_value=0, max_value=1e5),
            st.floats(min_value=0, max_value=1e4, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_the_shared_metrics_stay_bounded(
    steps: list[tuple[str, FailureKind | None, float, float]],
) -> None:
    """Any sequence keeps one fixed-size record per model and per profile, and scores within 0 to 1."""
    health = HealthState()
    for model, failure, after_s, latency_s in steps:
        ref = ModelRef.parse(model)
        target = Target(model=ref, profile=ProfileId.default_for(ref.provider))
        health = health.with_measured(
            [Measured(target=target, at=T0 + after_s, latency_s=latency_s, failure=failure)]
        )
    records = [*health.model_metrics.values(), *health.profile_metrics.values()]
    empty = TargetMetrics()

    assert len(health.model_metrics) <= 3
    assert len(health.profile_metrics) <= 2
    for metrics in records:
        assert 0.0 <= metrics.score <= 1.0
        assert len(empty.latency.weights) == len(metrics.latency.weights)
        assert len(empty.kind_weights) == len(metrics.kind_weights)


# --- through the executor --------------------------------------------------------------------


pytestmark = pytest.mark.anyio

CONFIG = {
    "providers": {"openai": {"api": "openai", "baseUrl": "http://mock/v1"}},
    "agent": {"model": {"primary": "openai/ok", "fallbacks": ["openai/down"]}},
}


def answer(request: httpx.Request) -> httpx.Response:
    if request.method == "GET":
        return httpx.Response(200, json={"object": "list", "data": []})
    model = json.loads(request.content)["model"]
    if model == "down":
        return httpx.Response(503, json={"error": {"message": "down", "type": "server_error"}})
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1},
        },
    )


def build(
    store: MemoryStateStore, events: list[ExecutorEvent], clock: Clock, **extra: object
) -> Executor:
    executor = Executor.from_config(
        load_config(CONFIG),
        client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        credentials=StaticCredentials({"openai:default": "sk-test"}),
        store=store,
        observers=[events.append],
        clock=lambda: T0,
        **extra,  # type: ignore[arg-type]
    )
    executor.metrics = MetricsBatch(1.0, clock=clock)
    return executor


async def test_a_success_writes_its_metrics_only_once_the_interval_passed() -> None:
    """Successes stay in the process until a second passed; then the next store update carries those held."""
    store, events, clock = MemoryStateStore(), [], Clock()
    executor = build(store, events, clock)
    await executor.complete(HELLO)
    await executor.complete(HELLO)
    early = await store.load_health()
    clock.now = 1.5
    await executor.complete(HELLO)
    later = await store.load_health()

    assert ({}, 2.0, 1) == (
        dict(early.model_metrics),
        round(later.model_metrics[MODEL].successes, 6),
        len(executor.metrics),
    )


async def test_flush_health_writes_what_is_held() -> None:
    """``flush_health()`` writes the held metrics at once (a host's shutdown or timer)."""
    store, events, clock = MemoryStateStore(), [], Clock()
    executor = build(store, events, clock)
    await executor.complete(HELLO)
    await executor.flush_health()

    assert [MODEL] == list((await store.load_health()).model_metrics)


async def test_failures_write_with_the_circuit_and_degrade_the_target() -> None:
    """A failure's store write carries the metrics; the third one degrades the model and observers hear it."""
    store, events, clock = MemoryStateStore(), [], Clock()
    executor = build(store, events, clock)
    for _ in range(3):
        await executor.complete(HELLO, selection=None)  # ok answers: nothing degrades
    down = Target(model=ModelRef.parse("openai/down"), profile=PROFILE)
    for _ in range(3):
        executor.metrics.add(
            Measured(target=down, at=T0, latency_s=0.1, failure=FailureKind.SERVER)
        )
    await executor.flush_health()
    changed = [e for e in events if isinstance(e, HealthChanged)]

    assert [("openai/down", HealthEvent.DEGRADED)] == [(e.subject, e.event) for e in changed]


async def test_check_health_lists_models_and_is_not_user_traffic() -> None:
    """An active check uses the models listing, feeds the metrics, and reaches neither ledger nor attempt events."""
    store, events, clock = MemoryStateStore(), [], Clock()
    ledger = MemoryLedger()
    executor = build(store, events, clock, ledger=ledger)
    checks = await executor.check_health()
    health = await store.load_health()

    assert [("openai/ok", "models", True), ("openai/down", "models", True)] == [
        (str(c.target.model), c.via, c.ok) for c in checks
    ]
    assert {MODEL, ModelRef.parse("openai/down")} == set(health.model_metrics)
    assert ((), []) == (ledger.records(), [e for e in events if not isinstance(e, HealthChanged)])


async def test_check_health_on_a_loopback_server_reports_a_bad_key() -> None:
    """Against a real loopback provider, a listing with no key fails as auth and counts as an error."""
    with FakeProvider() as fake:
        config = load_config(
            {
                "providers": {"openai": {"api": "openai", "baseUrl": fake.base_url}},
                "agent": {"model": {"primary": "openai/ok"}},
            }
        )
        store = MemoryStateStore()
        async with httpx.AsyncClient() as client:
            executor = Executor.from_config(
                config,
                client=client,
                credentials=StaticCredentials({"openai:default": ""}),
                store=store,
            )
            checks = await executor.check_health(limits=CallLimits(connect_s=5.0))
        paths = [(r.method, r.path) for r in fake.requests]
    health = await store.load_health()

    assert [("GET", "/v1/models")] == paths
    assert (FailureKind.AUTH, FailureKind.AUTH) == (
        checks[0].failure.kind if checks[0].failure else None,
        health.model_metrics[MODEL].last_failure,
    )


async def test_a_provider_without_a_listing_is_checked_with_one_token() -> None:
    """A custom provider gets a one-token completion, and its failure is measured by kind."""
    from modelcfg import ChatResponse
    from modelcfg.adapters import CallableAdapter, Endpoint

    asked: list[tuple[str, object]] = []

    async def call(request: ChatRequest, endpoint: Endpoint) -> ChatResponse:
        asked.append((endpoint.model, request.params.get("max_tokens")))
        if endpoint.model == "down":
            raise ConnectionResetError(104, "Connection reset by peer")
        return ChatResponse(text="p")

    config = load_config(
        {
            "providers": {"sdk": {"api": "custom"}},
            "agent": {"model": {"primary": "sdk/up", "fallbacks": ["sdk/down"]}},
        }
    )
    store = MemoryStateStore()
    executor = Executor.from_config(
        config,
        client=None,
        credentials=StaticCredentials({"sdk:default": "k"}),
        adapters={"sdk": CallableAdapter(call=call)},
        store=store,
        clock=lambda: T0,
    )
    checks = await executor.check_health()
    health = await store.load_health()

    assert [("up", 1), ("down", 1)] == sorted(asked, reverse=True)
    assert [("completion", None), ("completion", FailureKind.CONNECTION)] == [
        (c.via, c.failure.kind if c.failure else None) for c in checks
    ]
    assert FailureKind.CONNECTION == health.model_metrics[ModelRef.parse("sdk/down")].last_failure
