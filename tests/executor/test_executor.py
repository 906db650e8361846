"""
Tests for the executor over ``httpx.MockTransport``: the loop, shared state, sessions,
observers and streaming, under asyncio and trio.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import attrs
import httpx
import pytest

from modelcfg import (
    AttemptsExhaustedError,
    Failure,
    FailureKind,
    ModelRef,
    Policy,
    ProfileId,
    ReasonCode,
    Selection,
)
from modelcfg._config._load import load_config
from modelcfg._config._schema import Config
from modelcfg._core._health import HealthState, Window
from modelcfg._core._state import SessionState
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import DEFAULT_LIMITS, Executor
from modelcfg._executor._reports import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    Completion,
    ExecutorEvent,
    RequestGaveUp,
    StreamRestarted,
    TierChanged,
)
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
)
from modelcfg.adapters import (
    CallableAdapter,
    CallLimits,
    DeadlineExceededError,
    Endpoint,
    classify,
)
from modelcfg.exceptions import OutputInterruptedError
from modelcfg.stores import FileStateStore, MemoryStateStore

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
T0 = 1_800_000_000.0

CONFIG = load_config(
    {
        "auth": {
            "profiles": {
                "anthropic:sub": {"provider": "anthropic", "mode": "oauth"},
                "anthropic:paid": {"provider": "anthropic", "mode": "api_key"},
            },
            "order": {"anthropic": ["anthropic:sub", "anthropic:paid"]},
        },
        "providers": {
            "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
            "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
        },
        "agent": {
            "models": {"openai/gpt-5.2": {"input": ["text", "image"]}},
            "model": {
                "primary": "anthropic/claude-opus-4-5",
                "fallbacks": ["openai/gpt-5.2"],
            },
        },
    }
)
KEYS = {"anthropic:sub": "key-sub", "anthropic:paid": "key-paid", "openai:default": CANARY}
HELLO = ChatRequest(messages=[Message(role="user", content="hello")])


# --- a scripted provider ----------------------------------------------------------------------

Reply = Callable[[httpx.Request], httpx.Response]


def anthropic_error(status: int, kind: str, message: str, **headers: str) -> Reply:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return lambda _request: httpx.Response(status, json=body, headers=headers)


def openai_ok(text: str = "hi there") -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        return httpx.Response(
            200,
            json={
                "id": "c1",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3},
            },
        )

    return reply


def sse(*chunks: str, status: int = 200) -> Reply:
    body = "".join(f"data: {c}\n\n" for c in chunks).encode()
    return lambda _request: httpx.Response(
        status, content=body, headers={"content-type": "text/event-stream"}
    )


def openai_chunk(text: str | None = None, finish: str | None = None) -> str:
    delta = {"content": text} if text is not None else {}
    return json.dumps(
        {
            "id": "c1",
            "model": "gpt-5.2",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


class Provider:
    """
    A MockTransport handler scripted per credential: each key has a queue of replies
    (the last one repeats); every request is recorded.
    """

    def __init__(self, **script: list[Reply]) -> None:
        self.script = {key.replace("_", "-"): replies for key, replies in script.items()}
        self.seen: list[tuple[str, str]] = []

    def key_of(self, request: httpx.Request) -> str:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "")
        return key.removeprefix("Bearer ")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = self.key_of(request)
        self.seen.append((key, json.loads(request.content)["model"]))
        replies = self.script.get(key) or self.script.get("canary", [openai_ok()])
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(request)

    def calls(self, key: str) -> int:
        return sum(1 for k, _ in self.seen if k == key)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """A fake sleep that records delays and advances the fake clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.clock.now += delay


def executor(
    client: httpx.AsyncClient,
    *,
    config: Config = CONFIG,
    observers: list[Callable[[ExecutorEvent], None]] | None = None,
    store: Any = None,
    clock: Clock | None = None,
) -> tuple[Executor, Sleeps]:
    clock = clock or Clock()
    sleeps = Sleeps(clock)
    return (
        Executor.from_config(
            config,
            client=client,
            credentials=StaticCredentials(KEYS),
            observers=observers or [],
            store=store,
            clock=clock,
            sleep=sleeps,
        ),
        sleeps,
    )


def client_for(provider: Provider) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(provider))


# --- complete() -------------------------------------------------------------------------------


async def test_first_target_answers() -> None:
    """A healthy primary answers on the first attempt, with its usage."""
    provider = Provider(key_sub=[lambda r: httpx.Response(200, json=_anthropic_ok(r))])
    async with client_for(provider) as client:
        ex, sleeps = executor(client)
        result = await ex.complete(HELLO)

    assert ModelRef.parse("anthropic/claude-opus-4-5") == result.model
    assert ProfileId.parse("anthropic:sub") == result.profile
    assert "hello from claude-opus-4-5" == result.text
    assert 1 == len(result.attempts)
    assert (7, 4) == (result.usage.input_tokens, result.usage.output_tokens)
    assert [] == sleeps.delays


def _anthropic_ok(request: httpx.Request) -> dict[str, Any]:
    model = json.loads(request.content)["model"]
    return {
        "id": "m1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": f"hello from {model}"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 7, "output_tokens": 4},
    }


async def test_auth_rotates_then_rate_limit_falls_back() -> None:
    """401 rotates to the next profile; 429 there falls back to the next model at once."""
    provider = Provider(
        key_sub=[anthropic_error(401, "authentication_error", "expired")],
        key_paid=[anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "20"})],
    )
    async with client_for(provider) as client:
        ex, sleeps = executor(client)
        result = await ex.complete(HELLO)

    assert ModelRef.parse("openai/gpt-5.2") == result.model
    assert [FailureKind.AUTH, FailureKind.RATE_LIMITED, None] == [
        a.failure.kind if a.failure else None for a in result.attempts
    ]
    assert (1, 1, 1) == (
        provider.calls("key-sub"),
        provider.calls("key-paid"),
        provider.calls(CANARY),
    )
    assert [] == sleeps.delays
    assert (5, 3) == (result.usage.input_tokens, result.usage.output_tokens)


async def test_server_error_is_retried_with_backoff_then_succeeds() -> None:
    """A 500 is retried on the same target after a positive backoff."""
    provider = Provider(
        key_sub=[
            anthropic_error(500, "api_error", "boom"),
            lambda r: httpx.Response(200, json=_anthropic_ok(r)),
        ]
    )
    async with client_for(provider) as client:
        ex, sleeps = executor(client)
        result = await ex.complete(HELLO)

    assert ProfileId.parse("anthropic:sub") == result.profile
    assert 2 == provider.calls("key-sub")
    assert 1 == len(sleeps.delays)
    assert sleeps.delays[0] > 0


async def test_content_filter_gives_up_with_the_reason() -> None:
    """A content-filter refusal is never retried anywhere and the reason reaches the caller."""
    provider = Provider(
        key_sub=[
            anthropic_error(
                400, "invalid_request_error", "Output blocked by content filtering policy"
            )
        ]
    )
    async with client_for(provider) as client:
        ex, _ = executor(client)
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)

    assert 1 == len(provider.seen)
    assert "content filtering policy" in str(info.value)
    assert [FailureKind.CONTENT_FILTER] == [f.kind for f in info.value.state.failures]


async def test_give_up_chains_the_last_provider_exception() -> None:
    """When every candidate fails, the error carries every failure and chains the last exception."""
    provider = Provider(
        key_sub=[anthropic_error(503, "overloaded_error", "busy")],
        key_paid=[anthropic_error(503, "overloaded_error", "busy")],
        canary=[lambda r: httpx.Response(503, json={"error": {"message": "busy"}})],
    )
    async with client_for(provider) as client:
        ex, _ = executor(client)
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)

    assert info.value.__cause__ is not None
    assert len(info.value.state.failures) >= 3


async def test_missing_credentials_rotate_like_auth_failures() -> None:
    """A profile without a credential counts as an auth failure of that profile, not a crash."""
    provider = Provider()

    class Missing:
        async def credential(self, profile: ProfileId) -> str | None:
            from modelcfg import CredentialsError

            if profile.provider == "anthropic":
                raise CredentialsError(f"no key for {profile}", provider="anthropic")
            return CANARY

    async with client_for(provider) as client:
        ex = Executor.from_config(CONFIG, client=client, credentials=Missing(), clock=Clock())
        result = await ex.complete(HELLO)

    assert ModelRef.parse("openai/gpt-5.2") == result.model
    assert [FailureKind.AUTH, FailureKind.AUTH] == [
        a.failure.kind for a in result.attempts[:2] if a.failure
    ]


async def test_cooldowns_are_shared_between_requests() -> None:
    """A later request skips the profiles an earlier one found cooling, without calling them."""
    provider = Provider(
        key_sub=[anthropic_error(401, "authentication_error", "expired")],
        key_paid=[anthropic_error(429, "rate_limit_error", "slow", **{"retry-after": "20"})],
    )
    events: list[ExecutorEvent] = []
    async with client_for(provider) as client:
        ex, _ = executor(client, observers=[events.append])
        await ex.complete(HELLO)
        events.clear()
        second = await ex.complete(HELLO)

    assert 1 == len(second.attempts)
    assert (1, 1) == (provider.calls("key-sub"), provider.calls("key-paid"))
    assert 2 == sum(1 for e in events if type(e).__name__ == "CandidateSkipped")


async def test_concurrent_requests_lose_no_health_update() -> None:
    """Fifty concurrent failing requests all land in the shared health counters."""
    provider = Provider(
        key_sub=[anthropic_error(500, "api_error", "boom")],
        key_paid=[anthropic_error(500, "api_error", "boom")],
    )
    store = MemoryStateStore()
    async with client_for(provider) as client:
        ex, _ = executor(client, store=store)
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(ex.complete, HELLO)
        health = await store.load_health()

    failures = sum(1 for k, _ in provider.seen if k != CANARY)
    assert failures == health.counters[FailureKind.SERVER].count


async def test_session_keeps_last_good_and_selection() -> None:
    """A session id keeps the last-known-good profile and the /model selection in the store."""
    provider = Provider(
        key_sub=[
            anthropic_error(401, "authentication_error", "expired"),
            lambda r: httpx.Response(200, json=_anthropic_ok(r)),
        ],
        key_paid=[lambda r: httpx.Response(200, json=_anthropic_ok(r))],
    )
    store = MemoryStateStore()
    async with client_for(provider) as client:
        ex, _ = executor(client, store=store)
        first = await ex.complete(HELLO, session_id="s1")
        pick = Selection(model=ModelRef.parse("openai/gpt-5.2"))
        picked = await ex.complete(HELLO, session_id="s1", selection=pick)
        session = await store.load_session("s1")

    assert ProfileId.parse("anthropic:paid") == first.profile
    assert ModelRef.parse("openai/gpt-5.2") == picked.model
    assert session is not None
    assert ProfileId.parse("anthropic:paid") == session.last_good["anthropic"]
    assert pick == session.override


async def test_images_go_to_a_model_that_takes_them() -> None:
    """A request with images uses the image chain when the text model lacks image input."""
    config = load_config(
        {
            "providers": {
                "openai": {"baseUrl": "http://mock/v1"},
                "ollama": {"baseUrl": "http://mock/v1"},
            },
            "agent": {
                "models": {
                    "ollama/llama3": {"input": ["text"]},
                    "openai/gpt-5.2": {"input": ["text", "image"]},
                },
                "model": {"primary": "ollama/llama3"},
                "imageModel": {"primary": "openai/gpt-5.2"},
            },
        }
    )
    provider = Provider()
    picture = ChatRequest(
        messages=[
            Message(role="user", content=(TextPart(text="what?"), ImagePart(url="http://x/a.png")))
        ]
    )
    async with client_for(provider) as client:
        ex, _ = executor(client, config=config)
        with_image = await ex.complete(picture)
        text_only = await ex.complete(HELLO)

    assert ModelRef.parse("openai/gpt-5.2") == with_image.model
    assert ModelRef.parse("ollama/llama3") == text_only.model


async def test_observers_see_every_step_and_the_tier_change() -> None:
    """Observers hear starts, failures, successes and the move from OAuth to a paid key."""
    provider = Provider(
        key_sub=[anthropic_error(401, "authentication_error", "expired")],
        key_paid=[lambda r: httpx.Response(200, json=_anthropic_ok(r))],
    )
    events: list[ExecutorEvent] = []

    def broken(_event: ExecutorEvent) -> None:
        raise RuntimeError("observer bug")

    async with client_for(provider) as client:
        ex, _ = executor(client, observers=[broken, events.append])
        await ex.complete(HELLO)

    kinds = [type(e) for e in events]
    assert [AttemptStarted, AttemptFailed, TierChanged, AttemptStarted, AttemptSucceeded] == kinds
    tier = events[2]
    assert isinstance(tier, TierChanged)
    assert (ProfileId.parse("anthropic:sub"), ProfileId.parse("anthropic:paid")) == (
        tier.from_profile,
        tier.to_profile,
    )


async def test_cancellation_propagates() -> None:
    """Cancelling a request mid-call propagates instead of becoming a failure."""
    started = anyio.Event()

    async def handler(_request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep(10)
        raise AssertionError("not reached")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex, _ = executor(client)
        with anyio.move_on_after(5) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(ex.complete, HELLO)
                await started.wait()
                tg.cancel_scope.cancel()
        health = await ex.store.load_health()

    assert not scope.cancelled_caught
    assert {} == dict(health.counters)


# --- streaming -------------------------------------------------------------------------------


async def test_stream_fails_over_before_the_first_token() -> None:
    """A stream that fails before any content fails over silently to the next target."""
    provider = Provider(
        key_sub=[anthropic_error(529, "overloaded_error", "Overloaded")],
        key_paid=[anthropic_error(529, "overloaded_error", "Overloaded")],
        canary=[
            sse(openai_chunk("Hel"), openai_chunk("lo"), openai_chunk(finish="stop"), "[DONE]")
        ],
    )
    async with client_for(provider) as client:
        ex, _ = executor(client)
        async with ex.stream(HELLO) as answer:
            events = [e async for e in answer]

    assert "Hello" == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert isinstance(events[-1], StreamEnd)
    assert answer.completion is not None
    assert ModelRef.parse("openai/gpt-5.2") == answer.completion.model
    assert "Hello" == answer.completion.text


async def test_stream_cut_after_output_is_a_clean_error_by_default() -> None:
    """A stream cut after content reached the caller raises OutputInterruptedError, never success."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
        }
    )
    provider = Provider(canary=[sse(openai_chunk("Hal"))])
    async with client_for(provider) as client:
        ex, _ = executor(client, config=config)
        received: list[object] = []

        async def consume() -> None:
            async with ex.stream(HELLO) as answer:
                async for event in answer:
                    received.append(event)
                assert answer.completion is None, "a cut stream never completes"

        with pytest.raises(OutputInterruptedError) as info:
            await consume()

    assert [TextDelta(text="Hal")] == received
    assert FailureKind.STREAM_INTERRUPTED == info.value.failure.kind
    assert 1 == len(provider.seen)


async def test_stream_cut_after_output_restarts_when_asked() -> None:
    """With restart_after_output the caller gets StreamRestarted, then the full answer elsewhere."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
        }
    )
    provider = Provider(
        canary=[
            sse(openai_chunk("Hal")),
            sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]"),
        ]
    )
    async with client_for(provider) as client:
        ex, _ = executor(client, config=config)
        async with ex.stream(HELLO, restart_after_output=True) as answer:
            text = await answer.text()

    assert "Hello" == text
    assert answer.completion is not None
    assert ModelRef.parse("openai/gpt-5-mini") == answer.completion.model
    assert [FailureKind.STREAM_INTERRUPTED, None] == [
        a.failure.kind if a.failure else None for a in answer.completion.attempts
    ]


async def test_stream_restart_event_is_yielded() -> None:
    """The restart marker reaches the caller between the cut output and the new answer."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
        }
    )
    provider = Provider(
        canary=[sse(openai_chunk("Hal")), sse(openai_chunk("Hi"), openai_chunk(finish="stop"))]
    )
    async with client_for(provider) as client:
        ex, _ = executor(client, config=config)
        async with ex.stream(HELLO, restart_after_output=True) as answer:
            kinds = [type(e).__name__ async for e in answer]

    assert ["TextDelta", StreamRestarted.__name__, "TextDelta", "StreamEnd"] == kinds


# --- secrets ----------------------------------------------------------------------------------


async def test_canary_key_never_leaks(caplog: pytest.LogCaptureFixture, tmp_path: Any) -> None:
    """The key sent to a provider never appears in errors, logs, reprs, results or state files."""
    echo = json.dumps(
        {"error": {"message": f"Incorrect API key provided: {CANARY}", "code": "invalid_api_key"}}
    )
    provider = Provider(
        key_sub=[anthropic_error(401, "authentication_error", f"bad key {CANARY}")],
        key_paid=[anthropic_error(429, "rate_limit_error", "slow")],
        canary=[
            lambda r: httpx.Response(
                401, content=echo, headers={"content-type": "application/json"}
            )
        ],
    )
    store = FileStateStore(tmp_path / "state.json")
    caplog.set_level(logging.DEBUG)
    collected: list[str] = []
    async with client_for(provider) as client:
        ex, _ = executor(client, store=store, observers=[lambda e: collected.append(repr(e))])
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO, session_id="s")
        collected += [repr(ex), str(info.value), repr(info.value.state)]
        for failure in info.value.state.failures:
            collected += [str(failure), repr(failure)]

    collected += [r.getMessage() for r in caplog.records]
    collected.append((tmp_path / "state.json").read_text())
    leaks = [text for text in collected if CANARY in text]

    assert [] == leaks


async def test_file_store_shares_health_between_executors(tmp_path: Any) -> None:
    """Two executors on one state file see each other's cooldowns."""
    provider = Provider(
        key_sub=[anthropic_error(401, "authentication_error", "expired")],
        key_paid=[anthropic_error(429, "rate_limit_error", "slow", **{"retry-after": "20"})],
    )
    async with client_for(provider) as client:
        first, _ = executor(client, store=FileStateStore(tmp_path / "state.json"))
        second, _ = executor(client, store=FileStateStore(tmp_path / "state.json"))
        await first.complete(HELLO)
        result = await second.complete(HELLO)

    assert 1 == len(result.attempts)
    assert (1, 1) == (provider.calls("key-sub"), provider.calls("key-paid"))


async def test_completion_usage_counts_only_the_successful_attempt() -> None:
    """Failed attempts that reported usage are not added to the completion's usage."""
    provider = Provider(
        key_sub=[anthropic_error(500, "api_error", "boom")],
        key_paid=[anthropic_error(500, "api_error", "boom")],
    )
    async with client_for(provider) as client:
        ex, _ = executor(client)
        result: Completion = await ex.complete(HELLO)

    assert (5, 3) == (result.usage.input_tokens, result.usage.output_tokens)
    assert all(a.failure is not None for a in result.attempts[:-1])


async def test_gave_up_event_and_session_saved() -> None:
    """Giving up tells observers and still saves the session."""
    provider = Provider(
        key_sub=[anthropic_error(400, "invalid_request_error", "bad request")],
    )
    events: list[ExecutorEvent] = []
    store = MemoryStateStore()
    async with client_for(provider) as client:
        ex, _ = executor(client, observers=[events.append], store=store)
        with pytest.raises(AttemptsExhaustedError):
            await ex.complete(HELLO, session=SessionState(), session_id="x")

    assert isinstance(events[-1], RequestGaveUp)
    assert await store.load_session("x") is not None


# --- review fixes ------------------------------------------------------------------------------

PLAIN_KEY = "0123456789abcdef0123456789abcdef"


async def test_a_key_of_no_known_shape_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    """A key echoed back by a provider is masked even when it has no recognisable shape."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
        }
    )
    body = {"error": {"message": f"key {PLAIN_KEY} is not allowed", "code": "invalid_api_key"}}
    provider = Provider(**{PLAIN_KEY.replace("-", "_"): [lambda r: httpx.Response(401, json=body)]})
    caplog.set_level(logging.DEBUG)
    async with client_for(provider) as client:
        ex = Executor.from_config(
            config,
            client=client,
            credentials=StaticCredentials({"openai:default": PLAIN_KEY}),
            clock=Clock(),
        )
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)

    texts = [str(info.value), repr(info.value.state), str(info.value.__cause__)]
    texts += [r.getMessage() for r in caplog.records]
    assert [] == [t for t in texts if PLAIN_KEY in t]
    assert 1 == len(provider.seen)  # the profile cools down for both models


async def test_keyless_local_provider_is_called_without_a_key() -> None:
    """A built-in loopback provider (ollama) is called with no credential at all."""
    config = load_config({"agent": {"model": {"primary": "ollama/llama3.2"}}})
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return openai_ok()(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(config, client=client, environ={}, clock=Clock())
        result = await ex.complete(HELLO)

    assert "hi there" == result.text
    assert "authorization" not in seen[0].headers
    assert "127.0.0.1:11434" == seen[0].url.netloc.decode()


async def test_a_cancelled_probe_gives_its_lease_back() -> None:
    """When a half-open probe's call is cancelled, the next request may probe at once."""
    config = load_config(
        {
            "providers": {
                "openai": {"baseUrl": "http://mock/v1"},
                "backup": {"api": "openai", "baseUrl": "http://mock/v1"},
            },
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["backup/gpt-5-mini"]}},
            "policy": {"maxTargetRetries": 0},
        }
    )
    calls: list[str] = []
    hang = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        calls.append(model)
        if model == "gpt-5.2" and len(calls) == 1:
            return httpx.Response(
                429, headers={"retry-after": "5"}, json={"error": {"message": "slow"}}
            )
        if model == "gpt-5.2" and len(calls) == 3:
            hang.set()
            await anyio.sleep(30)
        return openai_ok()(request)

    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex, _ = executor(client, config=config, clock=clock)
        await ex.complete(HELLO)  # 429 on the primary, answered by the fallback
        clock.now += 60  # the primary's window has ended: the next call is a probe
        async with anyio.create_task_group() as tg:
            tg.start_soon(ex.complete, HELLO)
            await hang.wait()
            tg.cancel_scope.cancel()
        result = await ex.complete(HELLO)

    assert ["gpt-5.2", "gpt-5-mini", "gpt-5.2", "gpt-5.2"] == calls
    assert ModelRef.parse("openai/gpt-5.2") == result.model


def test_reserved_params_are_refused() -> None:
    """params cannot override the routed model or the request's own fields."""
    with pytest.raises(ValueError, match="params may not set 'model', 'stream'"):
        ChatRequest(
            messages=[Message(role="user", content="x")], params={"model": "m", "stream": True}
        )


def test_http_providers_need_a_client() -> None:
    """An executor without an httpx client for HTTP providers is a setup error, not a failure."""
    from modelcfg import ModelcfgError

    with pytest.raises(ModelcfgError, match=r"pass the httpx\.AsyncClient"):
        Executor.from_config(CONFIG, client=None, credentials=StaticCredentials(KEYS))


async def test_file_store_never_writes_stale_data_back(tmp_path: Any) -> None:
    """An update under the lock reads the file afresh, even when its size and time look unchanged."""
    import os

    path = tmp_path / "state.json"
    first, second = FileStateStore(path), FileStateStore(path)
    await first.save_session(
        "s1", SessionState(last_good={"openai": ProfileId.parse("openai:aaaa")})
    )
    await first.load_session("s1")  # warm first's cache
    stat = path.stat()
    await second.save_session(
        "s1", SessionState(last_good={"openai": ProfileId.parse("openai:bbbb")})
    )
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # a coarse clock: same time stamp
    await first.save_session("s2", SessionState())
    session = await second.load_session("s1")

    assert session is not None
    assert ProfileId.parse("openai:bbbb") == session.last_good["openai"]


async def test_an_executor_from_config_refreshes_oauth_tokens(tmp_path: Any) -> None:
    """Expired OAuth tokens in the auth store are refreshed through the config's endpoints."""
    from modelcfg.auth import AuthStore, OAuthCredential
    from modelcfg.testing import FakeOAuthServer

    with FakeOAuthServer(token_prefix="fresh-") as oauth:
        config = load_config(
            {
                "auth": {"profiles": {"anthropic:sub": {"provider": "anthropic", "mode": "oauth"}}},
                "providers": {
                    "anthropic": {
                        "api": "anthropic",
                        "baseUrl": "http://mock/v1",
                        "oauth": {
                            "authorizeUrl": oauth.authorize_url,
                            "tokenUrl": oauth.token_url,
                            "clientId": oauth.client_id,
                        },
                    }
                },
                "agent": {"model": {"primary": "anthropic/claude-opus-4-5"}},
            }
        )
        store = AuthStore(path=tmp_path / "auth.json")
        store.put(
            "anthropic:sub",
            OAuthCredential(
                access="stale-token", refresh=oauth.issue_refresh_token(), expires_at=T0 - 10
            ),
        )
        sent: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            if str(request.url) == oauth.token_url:  # the refresh goes to the real OAuth server
                real = httpx.post(oauth.token_url, content=request.content, headers=request.headers)
                return httpx.Response(real.status_code, content=real.content, headers=real.headers)
            sent.append(
                request.headers.get("authorization") or request.headers.get("x-api-key", "")
            )
            return httpx.Response(200, json=_anthropic_ok(request))

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            ex = Executor.from_config(
                config, client=client, auth_store=store, environ={}, clock=Clock()
            )
            result = await ex.complete(HELLO)

    assert ProfileId.parse("anthropic:sub") == result.profile
    assert 1 == oauth.refreshes
    assert ["fresh-"] == [s.removeprefix("Bearer ")[:6] for s in sent]


# --- waits, probes and the deadline ------------------------------------------------------------

SINGLE = load_config(
    {
        "providers": {"openai": {"api": "openai", "baseUrl": "http://mock/v1"}},
        "agent": {"model": {"primary": "openai/gpt-5.2"}},
    }
)
TWO = load_config(
    {
        "providers": {
            "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
            "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
        },
        "agent": {
            "models": {
                "anthropic/claude-opus-4-5": {"contextWindow": 8_192, "maxOutputTokens": 4_096},
                "openai/gpt-5.2": {"contextWindow": 400_000},
            },
            "model": {"primary": "anthropic/claude-opus-4-5", "fallbacks": ["openai/gpt-5.2"]},
        },
    }
)
"""An Anthropic primary with one profile (key-a) and an OpenAI fallback (the canary key)."""
TWO_KEYS = {"anthropic:default": "key-a", "openai:default": CANARY}
SHORT = Policy(backoff_base_s=0.05, backoff_max_s=0.2, retry_after_cap_s=2.0, deadline_s=10.0)


class CountingStore(MemoryStateStore):
    """A memory store that counts its health updates."""

    def __init__(self) -> None:
        super().__init__()
        self.updates = 0

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState:
        self.updates += 1
        return await super().update_health(change)


class Held(httpx.AsyncByteStream):
    """A response body that sends *chunks*, then keeps the connection open until closed."""

    def __init__(self, *chunks: bytes, pause_s: float = 0.0) -> None:
        self.chunks = chunks
        self.pause_s = pause_s
        self.closed = anyio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.chunks:
            with anyio.move_on_after(self.pause_s):
                await self.closed.wait()
            if self.closed.is_set():
                raise httpx.ReadError("the response was closed")
            yield piece
        with anyio.move_on_after(30):
            await self.closed.wait()
        raise httpx.ReadError("the response was closed")

    async def aclose(self) -> None:
        self.closed.set()


async def drain(ex: Executor, received: list[object]) -> None:
    """
    Read a whole stream, keeping every event in *received* (also when it raises).
    """
    async with ex.stream(HELLO) as answer:
        async for event in answer:
            received.append(event)


class Pieces(httpx.AsyncByteStream):
    """A response body that arrives as separate network reads, one per chunk."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.chunks:
            await anyio.sleep(0)
            yield piece


def pieces(*chunks: str) -> Reply:
    body = [f"data: {c}\n\n".encode() for c in chunks]
    return lambda _request: httpx.Response(
        200, stream=Pieces(*body), headers={"content-type": "text/event-stream"}
    )


def anthropic_text(text: str) -> str:
    return json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
    )


def held(*chunks: str, pause_s: float = 0.0) -> Reply:
    body = [f"data: {c}\n\n".encode() for c in chunks]
    return lambda _request: httpx.Response(
        200, stream=Held(*body, pause_s=pause_s), headers={"content-type": "text/event-stream"}
    )


def anthropic_sse(text: str) -> Reply:
    events = [
        {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 7}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    return lambda _request: httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream"}
    )


def two_executor(
    client: httpx.AsyncClient,
    *,
    policy: Policy = SHORT,
    limits: CallLimits = DEFAULT_LIMITS,
    observers: list[Callable[[ExecutorEvent], None]] | None = None,
    store: Any = None,
    clock: Clock | None = None,
) -> tuple[Executor, Sleeps]:
    clock = clock or Clock()
    sleeps = Sleeps(clock)
    return (
        Executor.from_config(
            attrs.evolve(TWO, policy=policy),
            client=client,
            credentials=StaticCredentials(TWO_KEYS),
            observers=observers or [],
            store=store,
            limits=limits,
            clock=clock,
            sleep=sleeps,
        ),
        sleeps,
    )


async def test_a_waited_call_claims_its_probe_when_it_goes_out() -> None:
    """A call waiting out a Retry-After claims its half-open probe once, after the wait."""
    provider = Provider(
        canary=[
            lambda r: httpx.Response(
                429, headers={"retry-after": "2"}, json={"error": {"code": "rate_limit_exceeded"}}
            ),
            openai_ok(),
        ]
    )
    store = CountingStore()
    events: list[ExecutorEvent] = []
    async with client_for(provider) as client:
        ex, sleeps = executor(client, config=SINGLE, store=store, observers=[events.append])
        result = await ex.complete(HELLO)
    started = [e for e in events if isinstance(e, AttemptStarted)]

    assert 3 == store.updates  # the failure, the probe's claim, the success
    assert [False, True] == [e.probe for e in started]
    assert 1 == len(sleeps.delays)
    assert sleeps.delays[0] >= 2.0
    assert sleeps.delays[0] == result.attempts[1].delay_s == started[1].delay_s
    assert {} == dict((await store.load_health()).cooldowns)


async def test_a_call_whose_probe_fell_due_during_its_wait_is_decided_again() -> None:
    """When another process's window opened and ended during a backoff, the retry goes out as the probe."""
    provider = Provider(
        canary=[lambda _r: httpx.Response(500, json={"error": {"message": "boom"}}), openai_ok()]
    )
    store = MemoryStateStore()
    events: list[ExecutorEvent] = []
    clock = Clock()
    profile = ProfileId.parse("openai:default")

    class ElsewhereSleeps(Sleeps):
        """A wait during which another process saw the profile rate limited, briefly."""

        async def __call__(self, delay: float) -> None:
            await super().__call__(delay)
            ended = Window(
                kind=FailureKind.RATE_LIMITED, until_at=clock.now - 0.01, last_failure_at=T0
            )
            await store.update_health(lambda h: attrs.evolve(h, cooldowns={profile: ended}))

    async with client_for(provider) as client:
        ex = Executor.from_config(
            SINGLE,
            client=client,
            credentials=StaticCredentials(KEYS),
            observers=[events.append],
            store=store,
            clock=clock,
            sleep=ElsewhereSleeps(clock),
        )
        await ex.complete(HELLO)
    started = [e for e in events if isinstance(e, AttemptStarted)]

    assert [False, True] == [e.probe for e in started]
    assert {} == dict((await store.load_health()).cooldowns)


async def test_concurrent_requests_waiting_out_a_retry_after_send_one_probe_per_window() -> None:
    """Ten requests waiting for a persistently rate-limited model reach it one call per window."""
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(anyio.current_time())
        return httpx.Response(
            429, headers={"retry-after-ms": "200"}, json={"error": {"code": "rate_limit_exceeded"}}
        )

    config = attrs.evolve(SINGLE, policy=attrs.evolve(SHORT, deadline_s=0.7))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(config, client=client, credentials=StaticCredentials(KEYS))
        with pytest.raises(AttemptsExhaustedError):
            await ex.complete(HELLO)  # opens the window and probes it alone
        before = len(arrivals)

        counted: list[int] = []

        async def one() -> None:
            with pytest.raises(AttemptsExhaustedError) as info:
                await ex.complete(HELLO)
            counter = info.value.state.health.counters.get(FailureKind.RATE_LIMITED)
            counted.append(counter.count if counter is not None else 0)

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
    herd = arrivals[before:]
    gaps = [later - earlier for earlier, later in itertools.pairwise(herd)]

    assert 1 <= len(herd) <= 4, herd
    assert all(gap >= 0.19 for gap in gaps), gaps
    # A request that lost a claim decided again without counting its failure twice.
    assert max(counted) <= len(arrivals), (counted, len(arrivals))


async def test_every_attempt_is_bounded_by_the_deadline_without_a_first_token_limit() -> None:
    """With no first-token limit, a provider that never answers is cut at the request's deadline."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return openai_ok()(request)

    config = attrs.evolve(SINGLE, policy=attrs.evolve(SHORT, deadline_s=0.3))
    started = anyio.current_time()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            credentials=StaticCredentials(KEYS),
            limits=CallLimits(first_token_s=None, idle_s=None),
            clock=Clock(),
        )
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    elapsed_s = anyio.current_time() - started

    assert [(FailureKind.TIMEOUT, "deadline")] == [(f.kind, f.code) for f in info.value.failures]
    assert isinstance(info.value.__cause__, DeadlineExceededError)
    assert 0.3 <= elapsed_s < 1.5


async def test_a_stream_whose_output_flows_is_not_cut_at_the_deadline() -> None:
    """Once content flows, a stream that outlasts the deadline still ends as a success; only the idle limit bounds its reads."""
    chunks = (openai_chunk("Hel"), openai_chunk("lo"), openai_chunk(finish="stop"), "[DONE]")
    provider = Provider(canary=[held(*chunks, pause_s=0.2)])
    config = attrs.evolve(SINGLE, policy=attrs.evolve(SHORT, deadline_s=0.3))
    received: list[object] = []
    started = anyio.current_time()
    async with client_for(provider) as client:
        ex = Executor.from_config(
            config,
            client=client,
            credentials=StaticCredentials(KEYS),
            limits=CallLimits(first_token_s=None, idle_s=1.0),
            clock=Clock(),
        )
        await drain(ex, received)
    elapsed_s = anyio.current_time() - started

    assert [TextDelta(text="Hel"), TextDelta(text="lo")] == received[:2]
    assert isinstance(received[-1], StreamEnd)
    assert elapsed_s >= 0.6


async def test_a_deadline_failure_is_not_held_against_the_provider() -> None:
    """A provider still silent at the request's deadline leaves the shared health untouched."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return openai_ok()(request)

    config = attrs.evolve(SINGLE, policy=attrs.evolve(SHORT, deadline_s=0.3))
    store = MemoryStateStore()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            credentials=StaticCredentials(KEYS),
            limits=CallLimits(first_token_s=None, idle_s=None),
            store=store,
            clock=Clock(),
        )
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
        health = await store.load_health()

    assert [(FailureKind.TIMEOUT, "deadline")] == [(f.kind, f.code) for f in info.value.failures]
    assert HealthState() == health


async def test_stopping_at_stream_end_keeps_the_success() -> None:
    """A caller that stops reading at StreamEnd still gets the completion, the health and the session."""
    answers = iter([anthropic_error(429, "rate_limit_error", "slow", **{"retry-after": "5"})])

    def handler(request: httpx.Request) -> httpx.Response:
        if "anthropic-version" in request.headers:
            return next(answers, anthropic_sse("Hi"))(request)
        return openai_ok()(request)

    events: list[ExecutorEvent] = []
    store = MemoryStateStore()
    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex, _ = two_executor(client, observers=[events.append], store=store, clock=clock)
        await ex.complete(HELLO)  # 429 on the primary, answered by the fallback
        clock.now += 10  # the window has ended: the next call to the primary is a probe
        events.clear()
        async with ex.stream(HELLO, session_id="s1") as answer:
            async for event in answer:
                if isinstance(event, StreamEnd):
                    break
        health = await store.load_health()
        session = await store.load_session("s1")

    assert answer.completion is not None
    assert "Hi" == answer.completion.text
    assert [True, AttemptSucceeded] == [
        next(e.probe for e in events if isinstance(e, AttemptStarted)),
        type(events[-1]),
    ]
    assert {} == dict(health.cooldowns)  # the probe closed the window, not given back
    assert session is not None
    assert ProfileId.parse("anthropic:default") == session.last_good["anthropic"]


# --- streams cut after output ------------------------------------------------------------------


OVERLOADED_MIDSTREAM = json.dumps(
    {"error": {"message": "The engine is currently overloaded", "code": "overloaded"}}
)


async def test_a_stream_cut_after_output_reports_one_kind_and_gives_up_visibly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cut after output tells observers it gave up, and every record agrees on its kind."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
        }
    )
    provider = Provider(canary=[pieces(openai_chunk("Hel"), OVERLOADED_MIDSTREAM)])
    events: list[ExecutorEvent] = []
    caplog.set_level(logging.INFO, logger="modelcfg._executor._executor")
    async with client_for(provider) as client:
        ex, _ = executor(client, config=config, observers=[events.append])
        with pytest.raises(OutputInterruptedError) as info:
            await drain(ex, [])
    failed = [e.failure.kind for e in events if isinstance(e, AttemptFailed)]
    gave_up = [e for e in events if isinstance(e, RequestGaveUp)]

    assert [FailureKind.STREAM_INTERRUPTED] == failed
    assert [FailureKind.STREAM_INTERRUPTED] == [f.kind for f in info.value.failures]
    assert FailureKind.STREAM_INTERRUPTED == info.value.failure.kind
    assert [ReasonCode.STREAM_NOT_RESTARTED] == [e.reason.code for e in gave_up]
    assert [FailureKind.STREAM_INTERRUPTED] == [f.kind for f in gave_up[0].failures]
    assert any("gave up" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert 1 == len(provider.seen)


async def test_a_restarted_stream_reports_one_kind_everywhere() -> None:
    """With restarts, the cut attempt is stream_interrupted in its report, events and state."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
        }
    )
    provider = Provider(
        canary=[
            pieces(openai_chunk("Hel"), OVERLOADED_MIDSTREAM),
            sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]"),
        ]
    )
    events: list[ExecutorEvent] = []
    async with client_for(provider) as client:
        ex, _ = executor(client, config=config, observers=[events.append])
        async with ex.stream(HELLO, restart_after_output=True) as answer:
            text = await answer.text()
    assert answer.completion is not None
    kinds = FailureKind.STREAM_INTERRUPTED

    assert "Hello" == text
    assert [kinds, None] == [
        a.failure.kind if a.failure else None for a in answer.completion.attempts
    ]
    assert [kinds] == [f.kind for f in answer.completion.state.failures]
    assert [kinds] == [e.failure.kind for e in events if isinstance(e, AttemptFailed)]


class Truncating:
    """A custom adapter (no HTTP) whose stream ends without a StreamEnd."""

    name = "custom"

    def __init__(self, *events: StreamEvent) -> None:
        self.events = events

    async def complete(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = CallLimits(),  # noqa: B008 - frozen value
    ) -> ChatResponse:
        raise AssertionError("only streaming is used here")

    @contextlib.asynccontextmanager
    async def stream(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = CallLimits(),  # noqa: B008 - frozen value
    ) -> AsyncIterator[AsyncIterator[StreamEvent]]:
        async def events() -> AsyncIterator[StreamEvent]:
            for event in self.events:
                yield event

        yield events()

    def classify(
        self,
        error: BaseException | httpx.Response,
        *,
        now: float,
        model: ModelRef | None = None,
        profile: ProfileId | None = None,
        credential: str | None = None,
    ) -> Failure:
        return classify(error, now=now, model=model, profile=profile, credential=credential)


CUSTOM = load_config(
    {
        "providers": {
            "custom": {"api": "custom"},
            "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
        },
        "agent": {"model": {"primary": "custom/m1", "fallbacks": ["openai/gpt-5.2"]}},
    }
)


@pytest.mark.parametrize("output", [False, True], ids=["empty", "after-output"])
async def test_a_custom_stream_without_an_end_is_an_interrupted_stream(output: bool) -> None:
    """A custom adapter's stream that just stops is a stream_interrupted failure, never a crash."""
    adapter = Truncating(*([TextDelta(text="trunc")] if output else []))
    provider = Provider(canary=[sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]")])
    async with client_for(provider) as client:
        ex = Executor.from_config(
            CUSTOM,
            client=client,
            credentials=StaticCredentials(KEYS),
            adapters={"custom": adapter},
            clock=Clock(),
        )
        received: list[object] = []
        caught: list[OutputInterruptedError] = []
        try:
            async with ex.stream(HELLO) as answer:
                async for event in answer:
                    received.append(event)
        except OutputInterruptedError as exc:
            caught.append(exc)

    if output:
        assert 1 == len(caught)
        assert FailureKind.STREAM_INTERRUPTED == caught[0].failure.kind
        assert [TextDelta(text="trunc")] == received
    else:
        assert answer.completion is not None
        assert ModelRef.parse("openai/gpt-5.2") == answer.completion.model
        assert [FailureKind.STREAM_INTERRUPTED, None] == [
            a.failure.kind if a.failure else None for a in answer.completion.attempts
        ]


# --- credentials -------------------------------------------------------------------------------


async def test_a_failed_oauth_refresh_rotates_to_the_next_profile(tmp_path: Any) -> None:
    """A refresh the token endpoint refuses is an auth failure of that profile: the next answers."""
    from modelcfg.auth import ApiKeyCredential, AuthStore, OAuthCredential
    from modelcfg.testing import FakeOAuthServer

    with FakeOAuthServer(fail_refresh=True) as oauth:
        config = load_config(
            {
                "auth": {
                    "profiles": {
                        "anthropic:sub": {"provider": "anthropic", "mode": "oauth"},
                        "anthropic:paid": {"provider": "anthropic", "mode": "api_key"},
                    },
                    "order": {"anthropic": ["anthropic:sub", "anthropic:paid"]},
                },
                "providers": {
                    "anthropic": {
                        "api": "anthropic",
                        "baseUrl": "http://mock/v1",
                        "oauth": {
                            "authorizeUrl": oauth.authorize_url,
                            "tokenUrl": oauth.token_url,
                            "clientId": oauth.client_id,
                        },
                    }
                },
                "agent": {"model": {"primary": "anthropic/claude-opus-4-5"}},
            }
        )
        store = AuthStore(path=tmp_path / "auth.json")
        store.put(
            "anthropic:sub",
            OAuthCredential(
                access="stale-token", refresh=oauth.issue_refresh_token(), expires_at=T0 - 10
            ),
        )
        store.put("anthropic:paid", ApiKeyCredential(key="key-paid"))
        sent: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            if str(request.url) == oauth.token_url:  # the refresh goes to the real OAuth server
                real = httpx.post(oauth.token_url, content=request.content, headers=request.headers)
                return httpx.Response(real.status_code, content=real.content, headers=real.headers)
            sent.append(request.headers.get("x-api-key", ""))
            return httpx.Response(200, json=_anthropic_ok(request))

        events: list[ExecutorEvent] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            ex = Executor.from_config(
                config,
                client=client,
                auth_store=store,
                environ={},
                clock=Clock(),
                observers=[events.append],
            )
            result = await ex.complete(HELLO)

    assert ProfileId.parse("anthropic:paid") == result.profile
    assert [(FailureKind.AUTH, "invalid_grant"), None] == [
        (a.failure.kind, a.failure.code) if a.failure else None for a in result.attempts
    ]
    assert ["key-paid"] == sent
    assert 1 == sum(1 for e in events if isinstance(e, TierChanged))


# --- each misbehaviour over MockTransport ------------------------------------------------------


async def test_persistent_429_without_retry_after_falls_back_then_is_skipped() -> None:
    """A 429 with no Retry-After falls back at once; the next request skips the cooling primary."""
    provider = Provider(key_a=[anthropic_error(429, "rate_limit_error", "slow down")])
    async with client_for(provider) as client:
        ex, sleeps = two_executor(client)
        first = await ex.complete(HELLO)
        second = await ex.complete(HELLO)

    assert [FailureKind.RATE_LIMITED, None] == [
        a.failure.kind if a.failure else None for a in first.attempts
    ]
    assert [None] == [a.failure for a in second.attempts]
    assert (1, 2) == (provider.calls("key-a"), provider.calls(CANARY))
    assert [] == sleeps.delays


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=["connect-error", "remote-protocol-error"],
)
async def test_reset_before_headers_is_retried_with_backoff_then_falls_back(
    error: Exception,
) -> None:
    """A connection that fails before any header is retried twice after backoffs, then left."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        if "anthropic-version" in request.headers:
            raise error
        return openai_ok()(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex, sleeps = two_executor(client)
        result = await ex.complete(HELLO)

    assert [FailureKind.CONNECTION] * 3 + [None] == [
        a.failure.kind if a.failure else None for a in result.attempts
    ]
    assert ModelRef.parse("openai/gpt-5.2") == result.model
    assert 2 == len(sleeps.delays)
    assert all(delay >= SHORT.backoff_base_s * 0.8 for delay in sleeps.delays)


async def test_slow_first_token_fails_over_silently() -> None:
    """A stream whose first token is later than the limit fails over before any output."""
    provider = Provider(
        key_a=[held(anthropic_text("late"), pause_s=5.0)],
        canary=[sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]")],
    )
    async with client_for(provider) as client:
        ex, _ = two_executor(client, limits=CallLimits(first_token_s=0.1, idle_s=1.0))
        async with ex.stream(HELLO) as answer:
            received = [event async for event in answer]
    assert answer.completion is not None

    assert "Hello" == "".join(e.text for e in received if isinstance(e, TextDelta))
    assert not any(isinstance(e, StreamRestarted) for e in received)
    assert [(FailureKind.TIMEOUT, "first_token"), None] == [
        (a.failure.kind, a.failure.code) if a.failure else None for a in answer.completion.attempts
    ]


@pytest.mark.parametrize("restart", [False, True], ids=["error", "restart"])
async def test_stream_stall_after_output(restart: bool) -> None:
    """A stall after output ends with a clean error, or restarts on the fallback when asked."""
    provider = Provider(
        key_a=[held(anthropic_text("Hel"))],
        canary=[sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]")],
    )
    received: list[object] = []
    caught: list[OutputInterruptedError] = []
    async with client_for(provider) as client:
        ex, _ = two_executor(client, limits=CallLimits(first_token_s=1.0, idle_s=0.1))
        try:
            async with ex.stream(HELLO, restart_after_output=restart) as answer:
                async for event in answer:
                    received.append(event)
        except OutputInterruptedError as exc:
            caught.append(exc)

    if restart:
        assert answer.completion is not None
        assert "Hello" == answer.completion.text
        assert [FailureKind.STREAM_INTERRUPTED, None] == [
            a.failure.kind if a.failure else None for a in answer.completion.attempts
        ]
        assert any(isinstance(e, StreamRestarted) for e in received)
    else:
        assert [("stalled", FailureKind.STREAM_INTERRUPTED)] == [
            (e.failure.code, e.failure.kind) for e in caught
        ]
        assert [TextDelta(text="Hel")] == received


async def test_malformed_chunk_before_output_fails_over_silently() -> None:
    """A garbage first chunk fails that attempt as malformed; the fallback answers in full."""
    provider = Provider(
        key_a=[sse('{"choices": [{"delta": {"content": "GARB')],
        canary=[sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]")],
    )
    async with client_for(provider) as client:
        ex, _ = two_executor(client)
        async with ex.stream(HELLO) as answer:
            received = [event async for event in answer]
    assert answer.completion is not None

    assert "Hello" == "".join(e.text for e in received if isinstance(e, TextDelta))
    assert [(FailureKind.STREAM_INTERRUPTED, "malformed"), None] == [
        (a.failure.kind, a.failure.code) if a.failure else None for a in answer.completion.attempts
    ]


@pytest.mark.parametrize("larger", [True, False], ids=["larger-fallback", "no-larger-model"])
async def test_context_length_400(larger: bool) -> None:
    """A context-length 400 moves to a model with a larger window, or gives up when none is."""
    provider = Provider(
        key_a=[anthropic_error(400, "invalid_request_error", "prompt is too long: 9000 > 8192")]
    )
    policy = SHORT
    config = TWO
    if not larger:
        config = attrs.evolve(
            load_config(
                {
                    "providers": {
                        "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
                        "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
                    },
                    "agent": {
                        "models": {
                            "anthropic/claude-opus-4-5": {
                                "contextWindow": 8_192,
                                "maxOutputTokens": 4_096,
                            },
                            "openai/gpt-5.2": {"contextWindow": 4_096, "maxOutputTokens": 1_024},
                        },
                        "model": {
                            "primary": "anthropic/claude-opus-4-5",
                            "fallbacks": ["openai/gpt-5.2"],
                        },
                    },
                }
            ),
            policy=policy,
        )
    async with client_for(provider) as client:
        ex = Executor.from_config(
            attrs.evolve(config, policy=policy),
            client=client,
            credentials=StaticCredentials(TWO_KEYS),
            clock=Clock(),
        )
        if larger:
            result = await ex.complete(HELLO)
            outcome: list[object] = [result.model, result.attempts[1].reason.code]
        else:
            with pytest.raises(AttemptsExhaustedError) as info:
                await ex.complete(HELLO)
            outcome = [info.value.failures[0].kind, "larger context window" in info.value.reason]

    if larger:
        assert [ModelRef.parse("openai/gpt-5.2"), ReasonCode.LARGER_CONTEXT] == outcome
    else:
        assert [FailureKind.CONTEXT_OVERFLOW, True] == outcome
    assert (1, 1 if larger else 0) == (provider.calls("key-a"), provider.calls(CANARY))


# --- a host's own callable ---------------------------------------------------------------------


class SDKRateLimitError(Exception):
    """Shaped like an SDK's rate-limit error that keeps its headers on itself."""

    def __init__(self, key: str) -> None:
        super().__init__("Error code: 429 - Rate limit reached")
        self.status_code = 429
        self.headers = {"Retry-After": "3"}
        self.body = {"message": "Rate limit reached", "code": "rate_limit_exceeded"}
        self.key = key


async def test_executor_over_a_host_callable_end_to_end() -> None:
    """A host's callable behind CallableAdapter rotates on its SDK-shaped 429 and answers."""
    config = load_config(
        {
            "auth": {
                "profiles": {
                    "sdk:a": {"provider": "sdk", "mode": "api_key"},
                    "sdk:b": {"provider": "sdk", "mode": "api_key"},
                },
                "order": {"sdk": ["sdk:a", "sdk:b"]},
            },
            "providers": {"sdk": {"api": "custom"}},
            "agent": {"model": {"primary": "sdk/gpt-4o"}},
        }
    )
    seen: list[tuple[str | None, str]] = []

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        seen.append((endpoint.credential, endpoint.model))
        if endpoint.credential == "key-a":
            raise SDKRateLimitError("key-a")
        return {
            "id": "c1",
            "model": endpoint.model,
            "choices": [{"index": 0, "message": {"content": "from b"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 6, "completion_tokens": 2},
        }

    ex = Executor.from_config(
        config,
        client=None,
        credentials=StaticCredentials({"sdk:a": "key-a", "sdk:b": "key-b"}),
        adapters={"sdk": CallableAdapter(call=call)},
        clock=Clock(),
    )
    first = await ex.complete(HELLO)
    second = await ex.complete(HELLO)

    assert ("from b", ProfileId.parse("sdk:b"), (6, 2)) == (
        first.text,
        first.profile,
        (first.usage.input_tokens, first.usage.output_tokens),
    )
    assert [(FailureKind.RATE_LIMITED, 3.0), None] == [
        (a.failure.kind, a.failure.retry_after_s) if a.failure else None for a in first.attempts
    ]
    assert 1 == len(second.attempts)  # sdk:a is cooling down: skipped, not called
    assert [("key-a", "gpt-4o"), ("key-b", "gpt-4o"), ("key-b", "gpt-4o")] == seen
