"""
Tests for the limits that bound what a hostile provider can make a call hold: success
bodies, streams and server-sent events, over ``httpx.MockTransport`` and the loopback
provider, under asyncio and trio.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from modelcfg import Executor, load_config
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._messages import ChatRequest, Message, collect_stream
from modelcfg.adapters import (
    MAX_BODY_BYTES,
    AnthropicAdapter,
    CallLimits,
    Endpoint,
    HTTPAdapter,
    MalformedResponseError,
    OpenAIAdapter,
    StreamInterruptedError,
)
from modelcfg.adapters._sse import EventTooLargeError, SSEDecoder, SSEEvent
from modelcfg.testing._provider import FakeProvider

pytestmark = pytest.mark.anyio

KEY = "sk-fake-limits-0123456789abcdef"
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
SMALL = CallLimits(
    max_body_bytes=1 << 20, max_stream_bytes=1 << 20, max_event_bytes=1 << 16, idle_s=5.0
)
ADAPTERS: dict[str, HTTPAdapter] = {"openai": OpenAIAdapter(), "anthropic": AnthropicAdapter()}

OPENAI_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
}
DELTA = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"more "},"finish_reason":null}]}\n\n'
)


@pytest.fixture(params=sorted(ADAPTERS))
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def hostile() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


async def endless(piece: bytes, head: bytes = b"") -> AsyncIterator[bytes]:
    """
    *head*, then *piece* forever.
    """
    if head:
        yield head
    while True:
        yield piece


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def complete(client: httpx.AsyncClient, base_url: str, limits: CallLimits) -> object:
    endpoint = Endpoint(model="m", base_url=base_url, credential=KEY)
    return await OpenAIAdapter().complete(client, HELLO, endpoint, limits=limits)


async def stream(
    adapter: HTTPAdapter, client: httpx.AsyncClient, base_url: str, model: str, limits: CallLimits
) -> object:
    endpoint = Endpoint(model=model, base_url=base_url, credential=KEY)
    async with adapter.stream(client, HELLO, endpoint, limits=limits) as events:
        return collect_stream([event async for event in events])


# ------------------------------------------------------------------ success bodies


async def test_an_endless_success_body_stops_at_the_cap() -> None:
    """A 2xx body that never ends fails with a MalformedResponseError naming the cap."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless(b"a" * 65_536, b'{"choices":[{"x":"'))

    async with mock(handler) as client:
        with pytest.raises(MalformedResponseError) as caught:
            await complete(client, "http://mock/v1", SMALL)

    assert "1048576-byte cap (CallLimits.max_body_bytes)" in str(caught.value)


async def test_a_gzip_bomb_stops_at_the_cap() -> None:
    """A small gzip body that inflates past the cap fails, naming the cap."""
    bomb = gzip.compress(b" " * (4 << 20))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=bomb)

    async with mock(handler) as client:
        with pytest.raises(MalformedResponseError) as caught:
            await complete(client, "http://mock/v1", SMALL)

    assert "CallLimits.max_body_bytes" in str(caught.value)


async def test_a_compressed_answer_under_the_cap_is_read() -> None:
    """A gzip answer under the cap is decoded and parsed as before."""
    body = gzip.compress(json.dumps(OPENAI_ANSWER).encode())

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-encoding": "gzip", "x-request-id": "req_1"}, content=body
        )

    async with mock(handler) as client:
        response = await complete(client, "http://mock/v1", SMALL)

    assert ("hi", "req_1") == (response.text, response.provider_request_id)  # type: ignore[attr-defined]


def test_the_default_body_cap_is_32_mib() -> None:
    """Calls read at most 32 MiB of decoded success body unless told otherwise."""
    assert (32 * 1024 * 1024, MAX_BODY_BYTES) == (CallLimits().max_body_bytes, MAX_BODY_BYTES)


@pytest.mark.parametrize("name", ["max_body_bytes", "max_stream_bytes", "max_event_bytes"])
def test_a_byte_cap_must_be_positive(name: str) -> None:
    """A byte cap of zero is refused with a message naming it."""
    with pytest.raises(ValueError, match=name):
        CallLimits(**{name: 0})


@pytest.mark.parametrize("model", ["endless-body", "gzip-bomb"])
async def test_hostile_bodies_from_the_loopback_server_stop_at_the_cap(
    wire: str, hostile: FakeProvider, model: str
) -> None:
    """The loopback server's endless body and gzip bomb both end at the body cap."""
    endpoint = Endpoint(model=model, base_url=hostile.base_url, credential=KEY)
    async with httpx.AsyncClient() as client:
        with pytest.raises(MalformedResponseError) as caught:
            await ADAPTERS[wire].complete(client, HELLO, endpoint, limits=SMALL)

    assert "CallLimits.max_body_bytes" in str(caught.value)


# ------------------------------------------------------------------ streams


async def test_an_endless_stream_stops_at_its_byte_cap() -> None:
    """A valid stream that never ends fails as too_large once it carried the cap."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=endless(DELTA * 100)
        )

    async with mock(handler) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await stream(OpenAIAdapter(), client, "http://mock/v1", "m", SMALL)

    assert ("too_large", True) == (caught.value.reason, "max_stream_bytes" in str(caught.value))


async def test_an_endless_stream_stops_at_its_time_cap() -> None:
    """A valid stream that never ends fails as too_long once it ran for its time cap."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=endless(DELTA)
        )

    limits = CallLimits(max_stream_s=0.05, max_stream_bytes=None, idle_s=5.0)
    async with mock(handler) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await stream(OpenAIAdapter(), client, "http://mock/v1", "m", limits)

    assert ("too_long", True) == (caught.value.reason, "max_stream_s" in str(caught.value))


async def test_an_event_that_never_dispatches_stops_at_its_cap() -> None:
    """data: lines without a blank line fail as too_large at the event cap."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=endless(b"data: x\n" * 500)
        )

    async with mock(handler) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await stream(OpenAIAdapter(), client, "http://mock/v1", "m", SMALL)

    assert ("too_large", True) == (caught.value.reason, "max_event_bytes" in str(caught.value))


@pytest.mark.parametrize(
    ("model", "cap"), [("endless-sse", "max_stream_bytes"), ("sse-no-dispatch", "max_event_bytes")]
)
async def test_hostile_streams_from_the_loopback_server_stop_at_their_cap(
    wire: str, hostile: FakeProvider, model: str, cap: str
) -> None:
    """The loopback server's endless stream and undispatched event end at their caps."""
    async with httpx.AsyncClient() as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await stream(ADAPTERS[wire], client, hostile.base_url, model, SMALL)

    assert ("too_large", True) == (caught.value.reason, cap in str(caught.value))


# ------------------------------------------------------------------ the decoder


def test_a_growing_line_is_kept_as_its_chunks_not_copied() -> None:
    """Chunks without a line end are linked, not joined, so a long line costs linear work."""
    chunks = [b"data: " + bytes([65 + n % 26]) * 100 for n in range(50)]
    decoder = SSEDecoder()
    for chunk in chunks:
        decoder, _ = decoder.feed(chunk)
    kept = []
    link = decoder.pieces
    while link is not None:
        kept.append(link.value)
        link = link.prev

    assert (True, b"".join(chunks)) == (
        all(a is b for a, b in zip(reversed(kept), chunks, strict=True)),
        decoder.tail,
    )


def test_an_undispatched_event_is_capped() -> None:
    """A run of data lines past max_event_bytes raises EventTooLargeError."""
    decoder = SSEDecoder(max_event_bytes=1000)
    decoder, _ = decoder.feed(b"data: x\n" * 100)
    with pytest.raises(EventTooLargeError) as caught:
        decoder.feed(b"data: x\n" * 100)

    assert 1000 == caught.value.limit


def test_a_dispatched_event_resets_the_cap() -> None:
    """Events that dispatch in time never count towards the cap, however many."""
    decoder = SSEDecoder(max_event_bytes=100)
    events: tuple[SSEEvent, ...] = ()
    for _ in range(50):
        decoder, events = decoder.feed(b"data: " + b"y" * 50 + b"\n\n")

    assert ("y" * 50, 0) == (events[0].data, decoder.data_size)


# ------------------------------------------------------------------ the host's own errors


async def drain(executor: Executor) -> None:
    async with executor.stream(HELLO) as events:
        async for _ in events:
            pass


@pytest.mark.parametrize("error", [MemoryError, RecursionError])
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_the_hosts_own_errors_are_never_retried(
    error: type[BaseException], streamed: bool
) -> None:
    """MemoryError and RecursionError propagate from the executor; no fallback is tried."""
    config = load_config(
        {
            "providers": {
                "a": {"api": "openai", "baseUrl": "http://a/v1"},
                "b": {"api": "openai", "baseUrl": "http://b/v1"},
            },
            "agent": {"model": {"primary": "a/m", "fallbacks": ["b/m"]}},
        }
    )
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        raise error("the host ran out")

    credentials = StaticCredentials({"a:default": KEY, "b:default": KEY})
    async with mock(handler) as client:
        executor = Executor.from_config(config, client=client, credentials=credentials)
        with pytest.raises(error):
            await (drain(executor) if streamed else executor.complete(HELLO))

    assert ["a"] == hosts


async def test_a_large_chunk_is_decoded_in_slices_with_others_running_between() -> None:
    """A chunk of many events lets other tasks run while it is decoded, and loses no event."""
    import anyio

    from modelcfg._messages import TextDelta
    from modelcfg.adapters._http import _sse_step, pump_events
    from modelcfg.adapters.openai import OpenAIStreamParser

    chunk = {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": "ab"}}]}
    end = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    body = (b"data: " + json.dumps(chunk).encode() + b"\n\n") * 2_000
    body += b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n"

    class Source:
        def __aiter__(self) -> Source:
            return self

        async def __anext__(self) -> bytes:
            nonlocal sent
            if sent:
                raise StopAsyncIteration
            sent = True
            return body

    sent = False
    ticks: list[int] = []

    async def ticker() -> None:
        while True:
            ticks.append(1)
            await anyio.sleep(0)

    texts: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await anyio.sleep(0)
        started = len(ticks)
        events = pump_events(
            Source(),
            _sse_step(OpenAIStreamParser(expect_usage=False), None),
            provider="openai",
            model="m",
            deadline=None,
            limits=CallLimits(),
        )
        async for event in events:
            if isinstance(event, TextDelta):
                texts.append(event.text)
        ran_between = len(ticks) - started
        group.cancel_scope.cancel()

    # Decoded whole, the body would let the other task run once or twice at most. Sliced,
    # it runs about once per gap between slices; trio may run a batch of ready tasks in
    # either order, so some gaps see it twice and others not at all.
    gaps = -(-len(body) // 8_192) - 1

    assert (2_000, True) == (len(texts), ran_between >= gaps // 2)
