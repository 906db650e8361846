"""
End-to-end tests of the executor against the real misbehaving provider on 127.0.0.1.

Every test drives :class:`~modelcfg.Executor` through a real ``httpx.AsyncClient``
and the real adapters (OpenAI and Anthropic wire formats) against
:class:`~modelcfg.testing.FakeProvider`, under asyncio and trio. Each asserts what
the caller gets, how many requests each model saw (from the server's own records)
and, where it matters, how far apart they arrived. Real sleeps are kept short by
a policy with small backoff; the flapping-primary test uses a fake clock.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import attrs
import httpx
import pytest

from modelcfg import (
    AttemptsExhaustedError,
    AttemptState,
    ChatRequest,
    Completion,
    Config,
    Executor,
    ExecutorEvent,
    FailureKind,
    KindRule,
    Message,
    OutputInterruptedError,
    Policy,
    ProfileId,
    ReasonCode,
    StaticCredentials,
    StreamEnd,
    StreamRestarted,
    TextDelta,
    Usage,
    load_config,
)
from modelcfg.adapters import CallLimits, ProviderHTTPError
from modelcfg.stores import FileStateStore, MemoryStateStore
from modelcfg.testing import FakeProvider, Flap
from modelcfg.typing import StateStore

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
K = FailureKind
TLS = ssl.create_default_context()  # built once: building one per client costs ~50 ms

PROVIDERS = {"openai": "oai", "anthropic": "ant"}
"""Wire format -> the name of the configured provider that speaks it."""

FAST = Policy(
    backoff_base_s=0.05,
    backoff_max_s=0.2,
    jitter_fraction=0.2,
    retry_after_cap_s=2.0,
    deadline_s=10.0,
)
"""The default rules with short real waits: backoff 50 ms (40 ms after jitter) doubling."""

MIN_BACKOFF_S = FAST.backoff_base_s * (1 - FAST.jitter_fraction)
LIMITS = CallLimits(connect_s=2.0, read_s=5.0, first_token_s=2.0, idle_s=2.0)
RETRY_AFTER_S = 1.0
FIRST_TOKEN_DELAY_S = 0.3


@pytest.fixture(params=sorted(PROVIDERS))
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server() -> Iterator[FakeProvider]:
    with FakeProvider(
        retry_after_s=RETRY_AFTER_S, first_token_delay_s=FIRST_TOKEN_DELAY_S
    ) as provider:
        yield provider


# --- helpers -----------------------------------------------------------------------------------


def here(wire: str, model: str) -> str:
    """
    The model on the provider that speaks *wire*, as ``provider/model``.
    """
    return f"{PROVIDERS[wire]}/{model}"


def there(wire: str, model: str) -> str:
    """
    The model on the provider that speaks the other wire format: fallbacks cross wires.
    """
    return here("anthropic" if wire == "openai" else "openai", model)


def config_for(
    server: FakeProvider,
    chain: list[str],
    *,
    policy: Policy = FAST,
    windows: dict[str, int] | None = None,
) -> Config:
    """
    A config whose two providers (one per wire format) both point at *server*.
    """
    data: dict[str, object] = {
        "providers": {
            "oai": {"api": "openai", "baseUrl": server.base_url},
            "ant": {"api": "anthropic", "baseUrl": server.base_url},
        },
        "agent": {
            "models": {ref: {"contextWindow": size} for ref, size in (windows or {}).items()},
            "model": {"primary": chain[0], "fallbacks": chain[1:]},
        },
    }
    return attrs.evolve(load_config(data), policy=policy)


class FakeClock:
    """
    Seconds since the epoch that only move when told to (or when the executor sleeps).
    """

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    """
    A sleep that returns at once, records its delay and moves the fake clock on.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, delay_s: float) -> None:
        self.delays.append(delay_s)
        self.clock.now += delay_s


class Recorder:
    """
    An observer that keeps every event in a list.
    """

    def __init__(self, events: list[ExecutorEvent]) -> None:
        self.events = events

    def __call__(self, event: ExecutorEvent) -> None:
        self.events.append(event)


@asynccontextmanager
async def executor_for(
    server: FakeProvider,
    chain: list[str],
    *,
    policy: Policy = FAST,
    limits: CallLimits = LIMITS,
    windows: dict[str, int] | None = None,
    store: StateStore | None = None,
    clock: FakeClock | None = None,
    events: list[ExecutorEvent] | None = None,
) -> AsyncIterator[Executor]:
    """
    An executor over a real client to *server*, with the canary key for every provider.

    Real clock and real sleeps unless a fake *clock* is given.
    """
    async with httpx.AsyncClient(verify=TLS) as client:
        yield Executor.from_config(
            config_for(server, chain, policy=policy, windows=windows),
            client=client,
            credentials=StaticCredentials({"oai:default": CANARY, "ant:default": CANARY}),
            store=store,
            observers=[Recorder(events)] if events is not None else [],
            limits=limits,
            clock=clock if clock is not None else time.time,
            sleep=FakeSleep(clock) if clock is not None else anyio.sleep,
        )


def counts(server: FakeProvider) -> dict[str, int]:
    """
    How many requests the server saw per model.
    """
    seen: dict[str, int] = {}
    for request in server.requests:
        seen[request.model or ""] = seen.get(request.model or "", 0) + 1
    return seen


def gaps_s(server: FakeProvider, model: str) -> list[float]:
    """
    The time between consecutive requests for *model*, as the server saw them arrive.
    """
    times = [request.arrived_at for request in server.requests_for(model)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def kinds(result: Completion | AttemptsExhaustedError) -> list[FailureKind | None]:
    """
    The failure kind of every attempt (``None`` for the successful one).
    """
    if isinstance(result, Completion):
        return [a.failure.kind if a.failure else None for a in result.attempts]
    return [failure.kind for failure in final_state(result).failures]


def final_state(error: AttemptsExhaustedError | OutputInterruptedError) -> AttemptState:
    """
    The final attempt state an error carries.
    """
    state = getattr(error, "state", None)
    assert isinstance(state, AttemptState)
    return state


def answer_of(result: Completion) -> tuple[str, str, Usage]:
    """
    Who answered, what, and the usage billed: the caller's view of a completion.
    """
    return str(result.model), result.text, result.usage


async def streamed(
    ex: Executor, *, restart_after_output: bool = False, received: list[object] | None = None
) -> tuple[list[object], Completion | None]:
    """
    Every event a streaming caller receives (also kept in *received*, for a stream that
    raises), and the completion once the stream ended.
    """
    received = received if received is not None else []
    async with ex.stream(HELLO, restart_after_output=restart_after_output) as answer:
        async for event in answer:
            received.append(event)
    return received, answer.completion


async def ask(ex: Executor, *, stream: bool) -> Completion | None:
    """
    One request, whole or streamed: its completion.
    """
    if stream:
        return (await streamed(ex))[1]
    return await ex.complete(HELLO)


def text_of(events: list[object]) -> str:
    """
    The text a caller would show: the deltas after the last restart marker.
    """
    last_restart = max(
        (i for i, event in enumerate(events) if isinstance(event, StreamRestarted)), default=-1
    )
    return "".join(e.text for e in events[last_restart + 1 :] if isinstance(e, TextDelta))


OK_USAGE = Usage(input_tokens=12, output_tokens=4)


# --- success -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_healthy_primary_answers_in_one_request(
    server: FakeProvider, wire: str, stream: bool
) -> None:
    """A healthy primary answers on the first request, whole or streamed, with its usage."""
    async with executor_for(server, [here(wire, "ok"), there(wire, "backup")]) as ex:
        result = await ask(ex, stream=stream)
    assert result is not None

    assert (here(wire, "ok"), "Hello from ok", OK_USAGE) == answer_of(result)
    assert [None] == kinds(result)
    assert ProfileId.parse(f"{PROVIDERS[wire]}:default") == result.profile
    assert {"ok": 1} == counts(server)
    assert [stream] == [r.stream for r in server.requests]


# --- rate limits -------------------------------------------------------------------------------


async def test_429_once_waits_for_retry_after_on_a_single_model(
    server: FakeProvider, wire: str
) -> None:
    """A 429 with Retry-After 1 s on a one-model chain is retried once, at least 1 s later."""
    async with executor_for(server, [here(wire, "429-once")]) as ex:
        result = await ex.complete(HELLO)
    (gap_s,) = gaps_s(server, "429-once")

    assert (here(wire, "429-once"), "Hello from 429-once", OK_USAGE) == answer_of(result)
    assert [K.RATE_LIMITED, None] == kinds(result)
    assert [RETRY_AFTER_S, None] == [
        a.failure.retry_after_s if a.failure else None for a in result.attempts
    ]
    assert ReasonCode.WAIT_FOR_REOPENING == result.attempts[1].reason.code
    assert {"429-once": 2} == counts(server)
    assert RETRY_AFTER_S - 0.05 <= gap_s < RETRY_AFTER_S + 1.0


async def test_persistent_429_falls_back_and_later_requests_skip_it(
    server: FakeProvider, wire: str
) -> None:
    """A persistent 429 without Retry-After is tried once, then cools: later requests skip it."""
    async with executor_for(server, [here(wire, "429"), there(wire, "backup")]) as ex:
        results = [await ex.complete(HELLO) for _ in range(3)]

    assert [there(wire, "backup")] * 3 == [str(r.model) for r in results]
    assert [[K.RATE_LIMITED, None], [None], [None]] == [kinds(r) for r in results]
    assert {"429": 1, "backup": 3} == counts(server)


async def test_persistent_429_alone_gives_up_without_waiting_past_the_deadline(
    server: FakeProvider, wire: str
) -> None:
    """A lone persistent 429 whose cooldown (30 s) outlasts the deadline gives up after 1 call."""
    started = time.monotonic()
    async with executor_for(server, [here(wire, "429")]) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    elapsed_s = time.monotonic() - started

    assert [K.RATE_LIMITED] == kinds(info.value)
    assert "deadline" in info.value.reason
    assert isinstance(info.value.__cause__, ProviderHTTPError)
    assert {"429": 1} == counts(server)
    assert elapsed_s < 2.0


async def test_persistent_429_with_short_windows_is_probed_not_hammered(
    server: FakeProvider,
) -> None:
    """With 100 ms cooldowns doubling, a lone persistent 429 sees a few spaced calls, then gives up."""
    rule = KindRule(
        mark="cooldown",
        window_s=0.1,
        escalation=2.0,
        max_window_s=1.0,
        honour_retry_after=True,
        rotate_profile=True,
        fall_back=True,
    )
    policy = attrs.evolve(FAST, deadline_s=1.0, rules={K.RATE_LIMITED: rule})
    started = time.monotonic()
    async with executor_for(server, [here("openai", "429")], policy=policy) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    elapsed_s = time.monotonic() - started
    seen = counts(server)["429"]
    gaps = gaps_s(server, "429")

    # Windows of 0.1, 0.2, 0.4 s... fit at most 4 calls into a 1 s deadline.
    assert 2 <= seen <= 4
    assert [K.RATE_LIMITED] * seen == kinds(info.value)
    assert all(gap >= 0.09 for gap in gaps), gaps
    assert gaps == sorted(gaps), "the windows never shrink"
    assert elapsed_s < policy.deadline_s + 1.0


# --- server errors -----------------------------------------------------------------------------


async def test_500_once_is_retried_on_the_same_model_after_a_backoff(
    server: FakeProvider, wire: str
) -> None:
    """A single 500 is retried on the same model after a backoff; the fallback is not called."""
    async with executor_for(server, [here(wire, "500-once"), there(wire, "backup")]) as ex:
        result = await ex.complete(HELLO)
    (gap_s,) = gaps_s(server, "500-once")

    assert (here(wire, "500-once"), "Hello from 500-once", OK_USAGE) == answer_of(result)
    assert [K.SERVER, None] == kinds(result)
    assert {"500-once": 2} == counts(server)
    assert gap_s >= MIN_BACKOFF_S


@pytest.mark.parametrize("fallback", [True, False], ids=["then-fallback", "alone"])
async def test_persistent_503_gets_bounded_spaced_retries(
    server: FakeProvider, wire: str, fallback: bool
) -> None:
    """A persistent 503 is called 1 + max_target_retries times, spaced by backoff, then left."""
    chain = [here(wire, "503"), *([there(wire, "backup")] if fallback else [])]
    async with executor_for(server, chain) as ex:
        if fallback:
            outcome: Completion | AttemptsExhaustedError = await ex.complete(HELLO)
        else:
            with pytest.raises(AttemptsExhaustedError) as info:
                await ex.complete(HELLO)
            outcome = info.value
    gaps = gaps_s(server, "503")

    assert [K.SERVER] * 3 + ([None] if fallback else []) == kinds(outcome)
    assert {"503": 3, **({"backup": 1} if fallback else {})} == counts(server)
    assert all(gap >= MIN_BACKOFF_S for gap in gaps), gaps
    if isinstance(outcome, AttemptsExhaustedError):
        assert isinstance(outcome.__cause__, ProviderHTTPError)
        assert "no candidate is left" in outcome.reason


# --- connections -------------------------------------------------------------------------------


async def test_reset_before_headers_is_retried_then_falls_back(
    server: FakeProvider, wire: str
) -> None:
    """A TCP reset before any header is a connection failure: bounded retries, then the fallback."""
    async with executor_for(server, [here(wire, "reset"), there(wire, "backup")]) as ex:
        result = await ex.complete(HELLO)

    assert (there(wire, "backup"), "Hello from backup", OK_USAGE) == answer_of(result)
    assert [K.CONNECTION] * 3 + [None] == kinds(result)
    assert {"reset": 3, "backup": 1} == counts(server)
    assert all(gap >= MIN_BACKOFF_S for gap in gaps_s(server, "reset"))


async def test_silent_provider_times_out_once_then_falls_back(
    server: FakeProvider, wire: str
) -> None:
    """A provider that never answers is abandoned at the first-token limit and not retried."""
    limits = attrs.evolve(LIMITS, first_token_s=0.3)
    started = time.monotonic()
    async with executor_for(
        server, [here(wire, "silent"), there(wire, "backup")], limits=limits
    ) as ex:
        result = await ex.complete(HELLO)
    elapsed_s = time.monotonic() - started

    assert (there(wire, "backup"), "Hello from backup", OK_USAGE) == answer_of(result)
    assert [K.TIMEOUT, None] == kinds(result)
    assert {"silent": 1, "backup": 1} == counts(server)
    assert 0.3 <= result.attempts[0].latency_s < 1.5
    assert elapsed_s < 2.0


@pytest.mark.parametrize(
    ("first_token_s", "expected"),
    [
        pytest.param(
            0.1,
            ["backup", [K.TIMEOUT, None], {"slow-first-token": 1, "backup": 1}],
            id="beyond-limit-falls-back",
        ),
        pytest.param(
            2.0, ["slow-first-token", [None], {"slow-first-token": 1}], id="within-limit-succeeds"
        ),
    ],
)
async def test_slow_first_token(
    server: FakeProvider, wire: str, first_token_s: float, expected: list[object]
) -> None:
    """A first token slower than the limit fails over silently; within the limit it is waited for."""
    limits = attrs.evolve(LIMITS, first_token_s=first_token_s)
    async with executor_for(
        server, [here(wire, "slow-first-token"), there(wire, "backup")], limits=limits
    ) as ex:
        events, result = await streamed(ex)
    assert result is not None
    model = expected[0]

    assert expected == [result.model.model, kinds(result), counts(server)]
    assert f"Hello from {model}" == text_of(events)
    assert not any(isinstance(e, StreamRestarted) for e in events)
    if model == "slow-first-token":
        assert (result.attempts[-1].first_token_s or 0.0) >= FIRST_TOKEN_DELAY_S - 0.05


# --- streams -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["reset", "503"])
async def test_stream_failing_before_output_fails_over_silently(
    server: FakeProvider, wire: str, model: str
) -> None:
    """A stream that fails before any content reached the caller fails over with no trace."""
    policy = attrs.evolve(FAST, max_target_retries=0)
    async with executor_for(
        server, [here(wire, model), there(wire, "backup")], policy=policy
    ) as ex:
        events, result = await streamed(ex)
    assert result is not None

    assert {TextDelta, StreamEnd} == {type(e) for e in events}
    assert "Hello from backup" == text_of(events)
    assert (there(wire, "backup"), OK_USAGE) == (str(result.model), result.usage)
    assert {model: 1, "backup": 1} == counts(server)


async def test_stream_garbage_before_output_fails_over_silently(server: FakeProvider) -> None:
    """An Anthropic stream with a garbage event before any text fails over with no trace."""
    async with executor_for(
        server, [here("anthropic", "malformed"), there("anthropic", "backup")]
    ) as ex:
        events, result = await streamed(ex)
    assert result is not None

    assert "Hello from backup" == text_of(events)
    assert not any(isinstance(e, StreamRestarted) for e in events)
    assert [K.STREAM_INTERRUPTED, None] == kinds(result)
    assert {"malformed": 1, "backup": 1} == counts(server)


@pytest.mark.parametrize("model", ["cut", "stall", "malformed"])
async def test_stream_broken_after_output_is_an_error_by_default(
    server: FakeProvider, wire: str, model: str
) -> None:
    """A stream cut, stalled or garbled after output raises OutputInterruptedError promptly."""
    if (wire, model) == ("anthropic", "malformed"):
        pytest.skip("the Anthropic garbage event comes before any text (tested above)")
    limits = attrs.evolve(LIMITS, idle_s=0.3)
    received: list[object] = []
    started = time.monotonic()
    async with executor_for(
        server, [here(wire, model), there(wire, "backup")], limits=limits
    ) as ex:
        with pytest.raises(OutputInterruptedError) as info:
            await streamed(ex, received=received)
    elapsed_s = time.monotonic() - started
    partial = "".join(e.text for e in received if isinstance(e, TextDelta))

    assert K.STREAM_INTERRUPTED == getattr(info.value.failure, "kind", None)
    assert [K.STREAM_INTERRUPTED] == [f.kind for f in final_state(info.value).failures]
    assert "" != partial
    assert "Hello from".startswith(partial)
    assert not any(isinstance(e, StreamEnd) for e in received)
    assert {model: 1} == counts(server)
    assert elapsed_s < 2.0


@pytest.mark.parametrize("model", ["cut", "stall", "malformed"])
async def test_stream_broken_after_output_restarts_when_asked(
    server: FakeProvider, wire: str, model: str
) -> None:
    """With restart_after_output, a broken stream is discarded and the fallback answers in full."""
    limits = attrs.evolve(LIMITS, idle_s=0.3)
    async with executor_for(
        server, [here(wire, model), there(wire, "backup")], limits=limits
    ) as ex:
        events, result = await streamed(ex, restart_after_output=True)
    assert result is not None
    restarted = any(isinstance(e, StreamRestarted) for e in events)
    # The Anthropic garbage event comes before any text: that failover needs no restart marker.
    output_before_failure = (wire, model) != ("anthropic", "malformed")

    assert "Hello from backup" == text_of(events)
    assert (there(wire, "backup"), OK_USAGE) == (str(result.model), result.usage)
    assert [K.STREAM_INTERRUPTED, None] == kinds(result)
    assert output_before_failure == restarted
    assert {model: 1, "backup": 1} == counts(server)


async def test_malformed_whole_body_is_retried_then_falls_back(
    server: FakeProvider, wire: str
) -> None:
    """A garbage non-streamed body is a server failure: bounded retries, then the fallback."""
    async with executor_for(server, [here(wire, "malformed"), there(wire, "backup")]) as ex:
        result = await ex.complete(HELLO)

    assert (there(wire, "backup"), "Hello from backup", OK_USAGE) == answer_of(result)
    assert [K.SERVER] * 3 + [None] == kinds(result)
    assert {"malformed": 3, "backup": 1} == counts(server)


async def test_stream_without_done_finishes_promptly_with_usage(
    server: FakeProvider, wire: str
) -> None:
    """A stream without [DONE] / message_stop but with a finish reason ends at once, with usage."""
    limits = attrs.evolve(LIMITS, idle_s=5.0, read_s=5.0)
    started = time.monotonic()
    async with executor_for(
        server, [here(wire, "no-done"), there(wire, "backup")], limits=limits
    ) as ex:
        events, result = await streamed(ex)
    elapsed_s = time.monotonic() - started
    assert result is not None

    assert (here(wire, "no-done"), "Hello from no-done", OK_USAGE) == answer_of(result)
    assert isinstance(events[-1], StreamEnd)
    assert "stop" == events[-1].finish_reason
    assert {"no-done": 1} == counts(server)
    assert elapsed_s < 1.5


# --- requests the provider refuses -------------------------------------------------------------


async def test_context_length_moves_to_a_larger_model(server: FakeProvider, wire: str) -> None:
    """A context-length 400 skips models no larger and goes to one with a larger window."""
    chain = [here(wire, "context-length"), there(wire, "small"), there(wire, "big")]
    windows = {chain[0]: 8_192, chain[1]: 8_192, chain[2]: 200_000}
    async with executor_for(server, chain, windows=windows) as ex:
        result = await ex.complete(HELLO)

    assert (chain[2], "Hello from big", OK_USAGE) == answer_of(result)
    assert [K.CONTEXT_OVERFLOW, None] == kinds(result)
    assert ReasonCode.LARGER_CONTEXT == result.attempts[1].reason.code
    assert {"context-length": 1, "big": 1} == counts(server)


async def test_context_length_gives_up_when_no_model_is_larger(
    server: FakeProvider, wire: str
) -> None:
    """A context-length 400 with no larger model in the chain gives up cleanly after 1 request."""
    chain = [here(wire, "context-length"), there(wire, "small")]
    windows = {chain[0]: 8_192, chain[1]: 4_096}
    async with executor_for(server, chain, windows=windows) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)

    assert [K.CONTEXT_OVERFLOW] == kinds(info.value)
    assert "larger context window" in info.value.reason
    assert {"context-length": 1} == counts(server)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_content_filter_gives_up_at_once_with_the_reason(
    server: FakeProvider, wire: str, stream: bool
) -> None:
    """A content-filter 400 is never retried anywhere; the provider's reason reaches the caller."""
    reason = {"openai": "safety system", "anthropic": "content filtering policy"}[wire]
    async with executor_for(server, [here(wire, "content-filter"), there(wire, "backup")]) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ask(ex, stream=stream)

    assert [K.CONTENT_FILTER] == kinds(info.value)
    assert reason in str(info.value)
    assert reason in info.value.reason
    assert {"content-filter": 1} == counts(server)


async def test_echoed_key_never_reaches_errors_or_logs(
    server: FakeProvider, wire: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider that echoes the key in its 401 never gets it into errors, state or logs."""
    caplog.set_level(logging.DEBUG)
    events: list[ExecutorEvent] = []
    async with executor_for(server, [here(wire, "auth")], events=events) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    state = final_state(info.value)
    texts = [str(info.value), repr(info.value), repr(state), str(info.value.__cause__)]
    texts += [repr(f) for f in state.failures] + [repr(e) for e in events]
    texts += [record.getMessage() for record in caplog.records]

    assert [K.AUTH] == kinds(info.value)
    assert [CANARY] == [
        r.headers.get("x-api-key") or r.headers["authorization"][7:] for r in server.requests
    ]
    assert [] == [text for text in texts if CANARY in text]


# --- a primary that is down for a while --------------------------------------------------------


def store_for(kind: str, tmp_path: Path) -> StateStore:
    return FileStateStore(tmp_path / "state.json") if kind == "file" else MemoryStateStore()


@pytest.mark.parametrize("store_kind", ["memory", "file"])
async def test_flapping_primary_is_probed_not_hammered_and_gets_traffic_back(
    wire: str, store_kind: str, tmp_path: Path
) -> None:
    """While the primary is down the fallback answers and the primary sees only probes; then it is back."""
    policy = attrs.evolve(FAST, circuit_min_calls=5, circuit_open_s=5.0, circuit_window_s=60.0)
    clock = FakeClock()
    served: list[str] = []
    primary_calls: list[int] = []
    # Before each request the fake clock moves on by this much: twice a whole open window.
    waits_s = [0.0] * 6 + [policy.circuit_open_s, 0.0, policy.circuit_open_s, 0.0, 0.0]
    with FakeProvider(behaviours={"primary": Flap(down_requests=6)}) as server:
        async with executor_for(
            server,
            [here(wire, "primary"), there(wire, "backup")],
            policy=policy,
            store=store_for(store_kind, tmp_path),
            clock=clock,
        ) as ex:
            for wait_s in waits_s:
                clock.now += wait_s + 0.01
                before = len(server.requests_for("primary"))
                served.append((await ex.complete(HELLO)).model.model)
                primary_calls.append(len(server.requests_for("primary")) - before)

    # 1-2: 1 + 2 retries each until five failures open the circuit; 3-6: the primary is
    # skipped; 7: one half-open probe, still down; 8: skipped; 9: the next probe succeeds
    # and closes the circuit; 10-11: the primary answers again.
    assert ["backup"] * 8 + ["primary"] * 3 == served
    assert [3, 2, 0, 0, 0, 0, 1, 0, 1, 1, 1] == primary_calls
    assert {"primary": 9, "backup": 8} == counts(server)


async def test_flapping_primary_in_real_time() -> None:
    """In real time, a primary down for 0.6 s gets a bounded number of calls and traffic back."""
    policy = attrs.evolve(
        FAST, circuit_min_calls=3, circuit_open_s=0.2, circuit_window_s=5.0, max_target_retries=0
    )
    down_s = 0.6
    with FakeProvider(behaviours={"primary": Flap(down_requests=None, down_s=down_s)}) as flappy:
        async with executor_for(
            flappy, [here("openai", "primary"), there("openai", "backup")], policy=policy
        ) as ex:
            served: list[str] = []
            started = time.monotonic()
            while served[-3:] != ["primary"] * 3 and time.monotonic() - started < 5.0:
                served.append((await ex.complete(HELLO)).model.model)
                await anyio.sleep(0.02)
        first = flappy.requests_for("primary")[0].arrived_at
        while_down = [r for r in flappy.requests_for("primary") if r.arrived_at - first < down_s]
        backups = len(flappy.requests_for("backup"))

    # At most the calls that open the circuit, then one probe per open window.
    bound = policy.circuit_min_calls + int(down_s / policy.circuit_open_s) + 1
    assert ["backup"] * (len(served) - 3) + ["primary"] * 3 == served
    assert len(while_down) <= bound, (len(while_down), bound)
    assert len(served) - 3 == backups


async def test_concurrent_requests_send_one_half_open_probe(tmp_path: Path) -> None:
    """Ten concurrent requests sharing a memory store send the half-open primary one probe."""
    policy = attrs.evolve(FAST, circuit_min_calls=5, circuit_open_s=5.0, circuit_window_s=60.0)
    served = await _probe_stampede(policy, MemoryStateStore())

    assert (1, ["backup"] * 10) == served


async def test_concurrent_requests_on_a_file_store_send_one_half_open_probe(
    tmp_path: Path,
) -> None:
    """Ten concurrent requests sharing a state file send the half-open primary one probe."""
    policy = attrs.evolve(FAST, circuit_min_calls=5, circuit_open_s=5.0, circuit_window_s=60.0)
    served = await _probe_stampede(policy, FileStateStore(tmp_path / "state.json"))

    assert (1, ["backup"] * 10) == served


async def _probe_stampede(policy: Policy, store: StateStore) -> tuple[int, list[str]]:
    """
    Open the primary's circuit, let the window pass, then send ten requests at once.

    Returns:
        How many of the ten reached the (still down) primary, and who answered each.
    """
    clock = FakeClock()
    served: list[str] = []
    with FakeProvider(behaviours={"primary": Flap(down_requests=100)}) as server:
        async with executor_for(
            server,
            [here("openai", "primary"), there("openai", "backup")],
            policy=policy,
            store=store,
            clock=clock,
        ) as ex:
            for _ in range(2):  # 3 + 2 failures open the circuit
                await ex.complete(HELLO)
            clock.now += policy.circuit_open_s + 0.01
            before = len(server.requests_for("primary"))

            async def one() -> None:
                served.append((await ex.complete(HELLO)).model.model)

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(one)
        return len(server.requests_for("primary")) - before, served


# --- bounds and cancellation -------------------------------------------------------------------


async def test_deadline_cuts_a_long_first_token_limit_short(server: FakeProvider) -> None:
    """The request's deadline bounds a silent provider even when the first-token limit is longer."""
    limits = attrs.evolve(LIMITS, first_token_s=5.0)
    policy = attrs.evolve(FAST, deadline_s=0.3)
    started = time.monotonic()
    async with executor_for(
        server, [here("openai", "silent"), there("openai", "backup")], policy=policy, limits=limits
    ) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    elapsed_s = time.monotonic() - started

    assert [K.TIMEOUT] == kinds(info.value)
    assert "deadline" in info.value.reason
    assert {"silent": 1} == counts(server)
    assert 0.3 <= elapsed_s < 1.5


async def test_leaving_a_stream_early_closes_it_without_a_failure(server: FakeProvider) -> None:
    """A caller that stops reading a stalled stream leaves at once, and no failure is recorded."""
    limits = attrs.evolve(LIMITS, idle_s=5.0, read_s=10.0)
    started = time.monotonic()
    async with executor_for(
        server, [here("openai", "stall"), there("openai", "backup")], limits=limits
    ) as ex:
        async with ex.stream(HELLO) as answer:
            async for event in answer:
                if isinstance(event, TextDelta):
                    break
        health = await ex.store.load_health()
    elapsed_s = time.monotonic() - started

    assert None is answer.completion
    assert {} == dict(health.counters)
    assert {"stall": 1} == counts(server)
    assert elapsed_s < 1.0


async def test_cancelling_a_silent_stream_propagates_and_records_nothing(
    server: FakeProvider,
) -> None:
    """Cancelling a request waiting on a silent provider ends it promptly; it is not a failure."""
    started = time.monotonic()
    async with executor_for(server, [here("openai", "silent"), there("openai", "backup")]) as ex:
        with anyio.move_on_after(0.2) as scope:
            async with ex.stream(HELLO) as answer:
                async for _event in answer:
                    pass
        health = await ex.store.load_health()
    elapsed_s = time.monotonic() - started

    assert True is scope.cancelled_caught
    assert {} == dict(health.counters)
    assert {"silent": 1} == counts(server)
    assert elapsed_s < 1.0


# --- waits shared by concurrent requests -------------------------------------------------------


async def test_concurrent_requests_on_a_persistent_429_send_one_probe_per_window(
    server: FakeProvider,
) -> None:
    """Ten requests waiting for a persistently rate-limited model reach it once per window."""
    window_s = 0.2
    rule = KindRule(
        mark="cooldown",
        window_s=window_s,
        escalation=1.0,
        max_window_s=window_s,
        honour_retry_after=True,
        rotate_profile=True,
        fall_back=True,
    )
    policy = attrs.evolve(FAST, deadline_s=0.7, rules={K.RATE_LIMITED: rule})
    async with executor_for(server, [here("openai", "429")], policy=policy) as ex:
        with pytest.raises(AttemptsExhaustedError):
            await ex.complete(HELLO)  # the first request opens the window and probes it
        before = len(server.requests_for("429"))

        async def one() -> None:
            with pytest.raises(AttemptsExhaustedError):
                await ex.complete(HELLO)

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
    arrivals = [r.arrived_at for r in server.requests_for("429")[before:]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]

    # 0.7 s of requests with 0.2 s windows: one probe per window, never ten at once.
    assert 1 <= len(arrivals) <= 4, arrivals
    assert all(gap >= window_s - 0.02 for gap in gaps), gaps


# --- overloaded --------------------------------------------------------------------------------


async def test_overloaded_529_on_the_anthropic_wire_falls_back_and_cools(
    server: FakeProvider,
) -> None:
    """A 529 overloaded_error falls back at once; the next request skips the cooling model."""
    async with executor_for(
        server, [here("anthropic", "overloaded"), there("anthropic", "backup")]
    ) as ex:
        first = await ex.complete(HELLO)
        second = await ex.complete(HELLO)

    assert (there("anthropic", "backup"), "Hello from backup", OK_USAGE) == answer_of(first)
    assert [(K.OVERLOADED, 529, "overloaded_error"), None] == [
        (a.failure.kind, a.failure.status, a.failure.code) if a.failure else None
        for a in first.attempts
    ]
    assert [None] == kinds(second)
    assert {"overloaded": 1, "backup": 2} == counts(server)


# --- streams that never end by themselves ------------------------------------------------------


async def test_stream_on_a_connection_kept_open_without_an_end_marker_finishes_promptly(
    server: FakeProvider, wire: str
) -> None:
    """A stream whose [DONE] / message_stop never comes, on an open connection, ends with usage."""
    limits = attrs.evolve(LIMITS, idle_s=5.0, read_s=10.0)
    started = time.monotonic()
    async with executor_for(
        server, [here(wire, "no-done-open"), there(wire, "backup")], limits=limits
    ) as ex:
        events, result = await streamed(ex)
    elapsed_s = time.monotonic() - started
    assert result is not None

    assert (here(wire, "no-done-open"), "Hello from no-done-open", OK_USAGE) == answer_of(result)
    assert isinstance(events[-1], StreamEnd)
    assert {"no-done-open": 1} == counts(server)
    assert elapsed_s < 1.5


# --- limits ------------------------------------------------------------------------------------


@pytest.fixture
def blackhole() -> Iterator[str]:
    """
    A base URL on 127.0.0.1 whose listener never accepts and whose backlog is full,
    so that a new connection's handshake never completes.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_connect_limit_takes_effect(server: FakeProvider, blackhole: str) -> None:
    """A connection that cannot be established fails at connect_s, as a timeout, and falls back."""
    config = load_config(
        {
            "providers": {
                "hole": {"api": "openai", "baseUrl": blackhole},
                "oai": {"api": "openai", "baseUrl": server.base_url},
            },
            "agent": {"model": {"primary": "hole/ok", "fallbacks": ["oai/backup"]}},
        }
    )
    limits = CallLimits(connect_s=0.2, read_s=5.0, first_token_s=5.0, idle_s=5.0)
    started = time.monotonic()
    async with httpx.AsyncClient(verify=TLS) as client:
        ex = Executor.from_config(
            attrs.evolve(config, policy=FAST),
            client=client,
            credentials=StaticCredentials({"hole:default": CANARY, "oai:default": CANARY}),
            limits=limits,
        )
        result = await ex.complete(HELLO)
    elapsed_s = time.monotonic() - started

    assert ("oai/backup", "Hello from backup") == (str(result.model), result.text)
    assert [(K.TIMEOUT, "ConnectTimeout"), None] == [
        (a.failure.kind, a.failure.code) if a.failure else None for a in result.attempts
    ]
    assert 0.2 <= result.attempts[0].latency_s < 1.5
    assert elapsed_s < 3.0


async def test_deadline_bounds_a_silent_provider_without_a_first_token_limit(
    server: FakeProvider,
) -> None:
    """With no first-token limit at all, a provider that never answers is cut at the deadline."""
    limits = CallLimits(connect_s=2.0, first_token_s=None, idle_s=None)
    policy = attrs.evolve(FAST, deadline_s=0.4)
    started = time.monotonic()
    async with executor_for(server, [here("openai", "silent")], policy=policy, limits=limits) as ex:
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    elapsed_s = time.monotonic() - started

    assert [(K.TIMEOUT, "deadline")] == [(f.kind, f.code) for f in info.value.failures]
    assert {"silent": 1} == counts(server)
    assert 0.4 <= elapsed_s < 1.5


async def test_deadline_bounds_a_stalled_stream_without_an_idle_limit(
    server: FakeProvider, wire: str
) -> None:
    """Once a stream has started, the deadline still ends a stall when no idle limit is set."""
    limits = CallLimits(connect_s=2.0, first_token_s=None, idle_s=None)
    policy = attrs.evolve(FAST, deadline_s=0.5)
    received: list[object] = []
    started = time.monotonic()
    async with executor_for(server, [here(wire, "stall")], policy=policy, limits=limits) as ex:
        with pytest.raises(OutputInterruptedError) as info:
            await streamed(ex, received=received)
    elapsed_s = time.monotonic() - started

    assert (K.STREAM_INTERRUPTED, "deadline") == (info.value.failure.kind, info.value.failure.code)
    assert "" != text_of(received)
    assert 0.5 <= elapsed_s < 1.5


async def test_stopping_at_stream_end_records_the_success(server: FakeProvider, wire: str) -> None:
    """A caller that stops at StreamEnd still gets its completion, and the success is recorded."""
    events: list[ExecutorEvent] = []
    store = MemoryStateStore()
    async with executor_for(server, [here(wire, "ok")], store=store, events=events) as ex:
        async with ex.stream(HELLO, session_id="s1") as answer:
            async for event in answer:
                if isinstance(event, StreamEnd):
                    break
        session = await store.load_session("s1")

    assert answer.completion is not None
    assert "Hello from ok" == answer.completion.text
    assert "AttemptSucceeded" == type(events[-1]).__name__
    assert session is not None
