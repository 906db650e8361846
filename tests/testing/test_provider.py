"""
Tests for the misbehaving loopback provider, through the real adapters and a real
httpx.AsyncClient, under asyncio and trio.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from modelcfg import Failure, FailureKind
from modelcfg._messages import ChatRequest, ChatResponse, Message, Usage, collect_stream
from modelcfg.adapters import (
    Adapter,
    AnthropicAdapter,
    CallLimits,
    Endpoint,
    FirstTokenTimeoutError,
    OpenAIAdapter,
    StreamInterruptedError,
)
from modelcfg.testing._provider import BEHAVIOURS, FakeProvider, Flap

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
LIMITS = CallLimits(connect_s=2.0, read_s=5.0, first_token_s=2.0, idle_s=0.3)
ADAPTERS: dict[str, Adapter] = {"openai": OpenAIAdapter(), "anthropic": AnthropicAdapter()}
K = FailureKind
TLS = ssl.create_default_context()  # built once: building one per client costs ~50 ms


@pytest.fixture(params=sorted(ADAPTERS))
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(
        retry_after_s=2,
        first_token_delay_s=0.25,
        behaviours={"primary": Flap(down_requests=2), "backup": "ok"},
    ) as provider:
        yield provider


async def attempt(
    wire: str, fake: FakeProvider, model: str, *, stream: bool, limits: CallLimits = LIMITS
) -> ChatResponse | Failure:
    """
    One attempt through the real adapter: the answer, or the classified failure.
    """
    adapter = ADAPTERS[wire]
    endpoint = Endpoint(model=model, base_url=fake.base_url, credential=CANARY)
    async with httpx.AsyncClient(verify=TLS) as client:
        try:
            if stream:
                async with adapter.stream(client, HELLO, endpoint, limits=limits) as events:
                    return collect_stream([event async for event in events])
            return await adapter.complete(client, HELLO, endpoint, limits=limits)
        except Exception as exc:
            return adapter.classify(exc, now=0.0, credential=CANARY)


def kind(outcome: ChatResponse | Failure) -> str:
    return "ok" if isinstance(outcome, ChatResponse) else outcome.kind.value


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_ok(wire: str, fake: FakeProvider, stream: bool) -> None:
    """A healthy model answers deterministically, with usage, whole or streamed."""
    outcome = await attempt(wire, fake, "ok", stream=stream)

    assert (
        ChatResponse(
            text="Hello from ok",
            finish_reason="stop",
            usage=Usage(input_tokens=12, output_tokens=4),
            model="ok",
            provider_request_id=outcome.provider_request_id
            if isinstance(outcome, ChatResponse)
            else None,
        )
        == outcome
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("429", [K.RATE_LIMITED, K.RATE_LIMITED], id="429-persistent"),
        pytest.param("500-once", [K.SERVER, "ok"], id="500-once"),
        pytest.param("503", [K.SERVER, K.SERVER], id="503-persistent"),
        pytest.param("overloaded", [K.OVERLOADED, K.OVERLOADED], id="overloaded"),
        pytest.param("context-length", [K.CONTEXT_OVERFLOW], id="context-length"),
        pytest.param("content-filter", [K.CONTENT_FILTER], id="content-filter"),
        pytest.param("auth", [K.AUTH], id="auth"),
        pytest.param("billing", [K.BILLING], id="billing"),
        pytest.param("not-found", [K.MODEL_NOT_FOUND], id="not-found"),
        pytest.param("reset", [K.CONNECTION], id="reset"),
        pytest.param("primary", [K.SERVER, K.SERVER, "ok"], id="flap-down-for-two-requests"),
    ],
)
async def test_status_behaviours(
    wire: str, fake: FakeProvider, model: str, expected: list[str]
) -> None:
    """Each behaviour fails (and recovers) as documented, and the server counts the requests."""
    outcomes = [kind(await attempt(wire, fake, model, stream=False)) for _ in expected]

    assert ([str(value) for value in expected], len(expected)) == (
        outcomes,
        len(fake.requests_for(model)),
    )


async def test_429_once_sends_retry_after(wire: str, fake: FakeProvider) -> None:
    """429-once answers 429 with the configured Retry-After, then succeeds."""
    first = await attempt(wire, fake, "429-once", stream=True)
    second = await attempt(wire, fake, "429-once", stream=True)

    assert (K.RATE_LIMITED, 2.0, "ok") == (
        first.kind if isinstance(first, Failure) else None,
        first.retry_after_s if isinstance(first, Failure) else None,
        kind(second),
    )


async def test_persistent_429_has_no_retry_after(wire: str, fake: FakeProvider) -> None:
    """The persistent 429 gives no Retry-After, so the failure carries none."""
    outcome = await attempt(wire, fake, "429", stream=False)

    assert None is (outcome.retry_after_s if isinstance(outcome, Failure) else "answered")


async def test_echoed_key_is_redacted(wire: str, fake: FakeProvider) -> None:
    """The auth behaviour echoes the key; the failure never shows it."""
    outcome = await attempt(wire, fake, "auth", stream=False)

    assert (K.AUTH, False) == (
        outcome.kind if isinstance(outcome, Failure) else None,
        CANARY in repr(outcome),
    )


async def test_silent_is_a_timeout(wire: str, fake: FakeProvider) -> None:
    """A server that never answers runs into the first-token limit: a timeout."""
    limits = CallLimits(first_token_s=0.15)
    started = time.monotonic()
    outcomes = [
        kind(await attempt(wire, fake, "silent", stream=stream, limits=limits))
        for stream in (False, True)
    ]

    assert (["timeout", "timeout"], True) == (outcomes, time.monotonic() - started < 3)


async def test_silent_with_httpx_read_timeout(wire: str, fake: FakeProvider) -> None:
    """Without a first-token limit, httpx's read timeout catches the silent server."""
    outcome = await attempt(wire, fake, "silent", stream=False, limits=CallLimits(read_s=0.15))

    assert ("timeout", "ReadTimeout") == (kind(outcome), getattr(outcome, "code", None))


async def test_slow_first_token(wire: str, fake: FakeProvider) -> None:
    """A first token slower than the limit is a timeout; within a longer limit it succeeds."""
    too_slow = await attempt(
        wire, fake, "slow-first-token", stream=True, limits=CallLimits(first_token_s=0.15)
    )
    started = time.monotonic()
    patient = await attempt(
        wire, fake, "slow-first-token", stream=True, limits=CallLimits(first_token_s=3.0)
    )
    waited_s = time.monotonic() - started

    assert ("timeout", "ok", True) == (kind(too_slow), kind(patient), waited_s >= 0.2)


async def test_cut_stream_is_interrupted(wire: str, fake: FakeProvider) -> None:
    """A stream cut mid-answer is stream_interrupted, never a truncated success."""
    outcome = await attempt(wire, fake, "cut", stream=True)

    assert ("stream_interrupted", "cut") == (kind(outcome), getattr(outcome, "code", None))


async def test_stalled_stream_is_interrupted_promptly(wire: str, fake: FakeProvider) -> None:
    """A stream that stops sending is interrupted after the idle limit, not the socket's."""
    started = time.monotonic()
    outcome = await attempt(
        wire, fake, "stall", stream=True, limits=CallLimits(idle_s=0.15, read_s=30)
    )
    elapsed_s = time.monotonic() - started

    assert ("stream_interrupted", "stalled", True) == (
        kind(outcome),
        getattr(outcome, "code", None),
        elapsed_s < 3,
    )


async def test_malformed_stream_fails_cleanly(wire: str, fake: FakeProvider) -> None:
    """A garbage event fails the stream as malformed; a garbage whole body is a server failure."""
    streamed = await attempt(wire, fake, "malformed", stream=True)
    whole = await attempt(wire, fake, "malformed", stream=False)

    assert (("stream_interrupted", "malformed"), ("server", "malformed_response")) == (
        (kind(streamed), getattr(streamed, "code", None)),
        (kind(whole), getattr(whole, "code", None)),
    )


async def test_missing_done_is_fine(wire: str, fake: FakeProvider) -> None:
    """A stream without [DONE] / message_stop, but with a finish reason and usage, succeeds."""
    outcome = await attempt(wire, fake, "no-done", stream=True)

    assert ("Hello from no-done", "stop", Usage(input_tokens=12, output_tokens=4)) == (
        getattr(outcome, "text", None),
        getattr(outcome, "finish_reason", None),
        getattr(outcome, "usage", None),
    )


async def test_stream_errors_are_typed(wire: str, fake: FakeProvider) -> None:
    """The call path raises the documented exception types for cut streams and slow starts."""
    adapter = ADAPTERS[wire]
    raised: list[type[BaseException]] = []
    async with httpx.AsyncClient(verify=TLS) as client:
        for model, limits in (("cut", LIMITS), ("slow-first-token", CallLimits(first_token_s=0.1))):
            endpoint = Endpoint(model=model, base_url=fake.base_url, credential=CANARY)
            try:
                async with adapter.stream(client, HELLO, endpoint, limits=limits) as events:
                    async for _event in events:
                        pass
            except Exception as exc:
                raised.append(type(exc))

    assert [StreamInterruptedError, FirstTokenTimeoutError] == raised


async def test_flap_by_time(wire: str) -> None:
    """A provider down for a time answers 503 until the window has passed, then recovers."""
    with FakeProvider(behaviours={"primary": Flap(down_requests=None, down_s=0.15)}) as fake:
        early = await attempt(wire, fake, "primary", stream=False)
        await anyio.sleep(0.2)
        late = await attempt(wire, fake, "primary", stream=False)

    assert ("server", "ok") == (kind(early), kind(late))


async def test_requests_are_recorded_with_arrival_times(wire: str, fake: FakeProvider) -> None:
    """Every request is recorded in order with its model, wire, behaviour and arrival time."""
    for model in ("ok", "backup", "429"):
        await attempt(wire, fake, model, stream=model == "ok")
    records = fake.requests
    times = [record.arrived_at for record in records]

    assert (
        [("ok", wire, "ok", True), ("backup", wire, "ok", False), ("429", wire, "429", False)],
        sorted(times),
        False,
    ) == (
        [(r.model, r.wire, r.behaviour, r.stream) for r in records],
        times,
        any(CANARY in repr(r) for r in records),
    )


async def test_api_key_is_checked_when_set(wire: str) -> None:
    """With api_key set, a request with another key gets 401."""
    with FakeProvider(api_key="sk-canary-other-key-0000000000") as fake:
        outcome = await attempt(wire, fake, "ok", stream=False)

    assert "auth" == kind(outcome)


async def test_models_listing(wire: str, fake: FakeProvider) -> None:
    """GET /v1/models lists every behaviour in the wire format's shape."""
    headers = {"anthropic-version": "2023-06-01"} if wire == "anthropic" else {}
    async with httpx.AsyncClient(verify=TLS) as client:
        response = await client.get(f"{fake.base_url}/models", headers=headers)
    ids = [item["id"] for item in response.json()["data"]]

    assert (200, list(BEHAVIOURS), wire == "anthropic") == (
        response.status_code,
        ids,
        "has_more" in response.json(),
    )


def test_stop_returns_with_connections_still_open() -> None:
    """Stopping drops silent connections at once instead of waiting for them."""
    fake = FakeProvider().start()
    sock = __import__("socket").create_connection(("127.0.0.1", fake.port))
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 17\r\n\r\n"
        b'{"model":"silent"}'[:17]
    )
    time.sleep(0.1)
    started = time.monotonic()
    fake.stop()
    sock.close()

    assert True is (time.monotonic() - started < 2)


def test_only_loopback() -> None:
    """The fake provider refuses to bind anywhere but loopback."""

    with pytest.raises(ValueError, match="loopback"):
        FakeProvider(host="0.0.0.0")


def test_unknown_behaviour_is_rejected() -> None:
    """A behaviour name that does not exist is an error naming the choices."""

    with pytest.raises(ValueError, match="is not one of"):
        FakeProvider(behaviours={"m": "explode"})


def test_port_needs_a_running_server() -> None:
    """Asking for the URL of a stopped server says how to start it."""

    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeProvider().base_url


async def test_missing_done_with_the_connection_open_finishes_promptly(
    wire: str, fake: FakeProvider
) -> None:
    """A stream whose end marker never comes on a connection kept open ends at once, with usage."""
    started = time.monotonic()
    outcome = await attempt(
        wire, fake, "no-done-open", stream=True, limits=CallLimits(idle_s=5.0, read_s=10.0)
    )
    elapsed_s = time.monotonic() - started

    assert ("Hello from no-done-open", "stop", Usage(input_tokens=12, output_tokens=4), True) == (
        getattr(outcome, "text", None),
        getattr(outcome, "finish_reason", None),
        getattr(outcome, "usage", None),
        elapsed_s < 1.0,
    )


def test_the_docs_list_every_behaviour() -> None:
    """docs/providers.md has a row for every behaviour a model name can pick, and no other."""
    docs = (Path(__file__).parents[2] / "docs" / "providers.md").read_text(encoding="utf-8")
    section = docs.split("## Testing against a misbehaving provider", 1)[1].split("```", 1)[0]
    documented = {
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([a-z0-9-]+)`", line.split("|")[1])
    }

    assert set(BEHAVIOURS) == documented
