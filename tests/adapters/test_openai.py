"""
Tests for the OpenAI-compatible chat completions adapter, over httpx.MockTransport.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import anyio
import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg import FailureKind, ModelRef, ProfileId
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
    collect_stream,
)
from modelcfg.adapters import (
    CallLimits,
    Endpoint,
    FirstTokenTimeoutError,
    MalformedResponseError,
    OpenAIAdapter,
    ProviderHTTPError,
    ProviderStreamError,
    StreamInterruptedError,
)
from modelcfg.adapters._sse import SSEEvent
from modelcfg.adapters.openai import openai_usage
from modelcfg.typing import JSON

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
ENDPOINT = Endpoint(model="gpt-4o", base_url="https://api.example.test/v1/", credential=CANARY)
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
ADAPTER = OpenAIAdapter()
NO_LIMITS = CallLimits()


@attrs.frozen(kw_only=True)
class Trickle(httpx.AsyncByteStream):
    """
    A response body that arrives in chunks, with a pause before each; records closing.
    """

    chunks: tuple[bytes, ...]
    pauses_s: tuple[float, ...] = ()
    closed: list[bool] = attrs.field(factory=list)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for position, chunk in enumerate(self.chunks):
            pause = self.pauses_s[position] if position < len(self.pauses_s) else 0.0
            if not self.closed:
                await anyio.sleep(pause)
            if self.closed:
                raise httpx.ReadError("the response was closed")
            yield chunk

    async def aclose(self) -> None:
        self.closed.append(True)


def body(request: httpx.Request) -> dict[str, JSON]:
    value = json.loads(request.content)
    assert isinstance(value, dict)
    return value


def sse(*payloads: JSON | str) -> bytes:
    out = b""
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        out += f"data: {data}\n\n".encode()
    return out


def chunk(content: str | None = None, finish: str | None = None, **extra: JSON) -> JSON:
    delta: dict[str, JSON] = {} if content is None else {"content": content}
    delta.update(extra)
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


USAGE_CHUNK: JSON = {
    "id": "chatcmpl-1",
    "choices": [],
    "usage": {
        "prompt_tokens": 30,
        "completion_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 20},
    },
}


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def stream_all(
    adapter: OpenAIAdapter, client: httpx.AsyncClient, limits: CallLimits = NO_LIMITS
) -> list[StreamEvent]:
    async with adapter.stream(client, HELLO, ENDPOINT, limits=limits) as events:
        return [event async for event in events]


# ------------------------------------------------------------ building requests


def test_build_request_url_headers_and_body() -> None:
    """A request goes to {base}/chat/completions with a bearer key, the system prompt first."""
    request = ChatRequest(
        system="Be brief.",
        messages=[Message(role="user", content="Hi")],
        params={"temperature": 0.2, "max_tokens": 50, "stop": ["\n"]},
    )
    built = ADAPTER.build_request(request, ENDPOINT)

    assert (
        "POST",
        "https://api.example.test/v1/chat/completions",
        f"Bearer {CANARY}",
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
            ],
            "temperature": 0.2,
            "max_tokens": 50,
            "stop": ["\n"],
        },
    ) == (built.method, str(built.url), built.headers["authorization"], body(built))


def test_stream_request_asks_for_usage() -> None:
    """A streamed request sets stream and stream_options.include_usage unless told not to."""
    streamed = attrs.evolve(HELLO, stream=True)
    with_usage = body(ADAPTER.build_request(streamed, ENDPOINT))
    without = body(OpenAIAdapter(include_usage=False).build_request(streamed, ENDPOINT))

    assert ((True, {"include_usage": True}), (True, None)) == (
        (with_usage["stream"], with_usage.get("stream_options")),
        (without["stream"], without.get("stream_options")),
    )


def test_images_become_image_url_parts() -> None:
    """Image parts become image_url parts: URLs as they are, base64 as data URLs."""
    request = ChatRequest(
        messages=[
            Message(
                role="user",
                content=(
                    TextPart(text="What is this?"),
                    ImagePart(url="https://img.test/cat.png"),
                    ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
                ),
            )
        ]
    )
    messages = body(ADAPTER.build_request(request, ENDPOINT))["messages"]

    assert [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://img.test/cat.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        }
    ] == messages


def test_tools_tool_calls_and_results() -> None:
    """Tools, a forced tool choice, assistant tool calls and tool results use OpenAI's shapes."""
    request = ChatRequest(
        messages=[
            Message(role="user", content="Weather?"),
            Message(
                role="assistant",
                tool_calls=[ToolCall(id="call_1", name="weather", arguments='{"city":"Oslo"}')],
            ),
            Message(role="tool", content="Sunny", tool_call_id="call_1"),
        ],
        tools=[ToolSpec(name="weather", description="Look up the weather")],
        tool_choice="weather",
    )
    sent = body(ADAPTER.build_request(request, ENDPOINT))

    assert (
        [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "content": "Sunny", "tool_call_id": "call_1"},
        ],
        [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "Look up the weather",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
        {"type": "function", "function": {"name": "weather"}},
    ) == (sent["messages"], sent["tools"], sent["tool_choice"])


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(
            attrs.evolve(HELLO, json_output=True), {"type": "json_object"}, id="json-mode"
        ),
        pytest.param(
            attrs.evolve(HELLO, json_schema={"type": "object"}),
            {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}},
            },
            id="json-schema",
        ),
        pytest.param(HELLO, None, id="text"),
    ],
)
def test_response_format(request_: ChatRequest, expected: JSON) -> None:
    """JSON output becomes response_format; plain text sends none."""

    assert expected == body(ADAPTER.build_request(request_, ENDPOINT)).get("response_format")


def test_openrouter_headers_and_extra_headers() -> None:
    """OpenRouter's optional attribution headers and the endpoint's extra headers are sent."""
    adapter = OpenAIAdapter.openrouter(referer="https://app.test", title="My App")
    endpoint = attrs.evolve(ENDPOINT, headers={"X-Custom": "1"})
    built = adapter.build_request(HELLO, endpoint)

    assert ("openrouter", "https://app.test", "My App", "1") == (
        adapter.name,
        built.headers["http-referer"],
        built.headers["x-title"],
        built.headers["x-custom"],
    )


def test_no_credential_sends_no_authorization() -> None:
    """A local server without a key gets no Authorization header at all."""
    built = ADAPTER.build_request(
        HELLO, Endpoint(model="llama3", base_url="http://127.0.0.1:11434/v1")
    )

    assert "authorization" not in built.headers


def test_credential_is_not_in_reprs() -> None:
    """The credential shows in neither the endpoint's repr nor the request's."""
    built = ADAPTER.build_request(HELLO, ENDPOINT)

    assert [] == [text for text in (repr(ENDPOINT), str(ENDPOINT), repr(built)) if CANARY in text]


# ------------------------------------------------------------- parsing answers


def test_parse_response_text_usage_and_ids() -> None:
    """A completion gives its text, finish reason, model, request id and usage (cache apart)."""
    response = httpx.Response(
        200,
        headers={"x-request-id": "req_123"},
        json={
            "id": "chatcmpl-9",
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 7,
                "prompt_tokens_details": {"cached_tokens": 60},
            },
        },
    )

    assert ChatResponse(
        text="Hello",
        finish_reason="stop",
        usage=Usage(input_tokens=40, output_tokens=7, cache_read_tokens=60),
        model="gpt-4o-2024-08-06",
        provider_request_id="req_123",
    ) == ADAPTER.parse_response(response)


@pytest.mark.parametrize(
    ("details", "reasoning"),
    [({"reasoning_tokens": 300}, 300), ({"reasoning_tokens": 900}, 500), ({}, 0), (None, 0)],
    ids=["reported", "clamped-to-output", "absent", "null"],
)
def test_reasoning_tokens_are_read_as_part_of_the_output(details: JSON, reasoning: int) -> None:
    """completion_tokens_details.reasoning_tokens becomes reasoning_tokens, never above the output."""
    usage = openai_usage(
        {"prompt_tokens": 10, "completion_tokens": 500, "completion_tokens_details": details}
    )

    assert Usage(input_tokens=10, output_tokens=500, reasoning_tokens=reasoning) == usage


def test_parse_response_tool_calls() -> None:
    """Tool calls come back in order with their JSON arguments."""
    response = httpx.Response(
        200,
        json={
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "a", "arguments": '{"x":1}'},
                            },
                            {
                                "id": "c2",
                                "type": "function",
                                "function": {"name": "b", "arguments": "{}"},
                            },
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        },
    )
    parsed = ADAPTER.parse_response(response)

    assert (
        "",
        (
            ToolCall(id="c1", name="a", arguments='{"x":1}'),
            ToolCall(id="c2", name="b", arguments="{}"),
        ),
        "tool_calls",
    ) == (parsed.text, parsed.tool_calls, parsed.finish_reason)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"<html>oops</html>", id="not-json"),
        pytest.param(b'{"choices": []}', id="no-choices"),
    ],
)
def test_parse_response_malformed(content: bytes) -> None:
    """A success body that is not a completion raises MalformedResponseError."""

    with pytest.raises(MalformedResponseError):
        ADAPTER.parse_response(httpx.Response(200, content=content))


# --------------------------------------------------------------- the call path


async def test_complete_success() -> None:
    """complete() sends the request through the injected client and parses the answer."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"content": "Hi!"}, "finish_reason": "stop"}],
            },
        )

    async with client_for(handler) as client:
        answer = await ADAPTER.complete(client, attrs.evolve(HELLO, stream=True), ENDPOINT)

    assert ("Hi!", 1, False) == (answer.text, len(seen), body(seen[0]).get("stream", False))


async def test_complete_error_status_carries_what_classify_needs() -> None:
    """A 429 raises ProviderHTTPError; classify reads its status, code and Retry-After."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            headers={"retry-after": "4"},
            json={
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            },
        )

    async with client_for(handler) as client:
        with pytest.raises(ProviderHTTPError) as caught:
            await ADAPTER.complete(client, HELLO, ENDPOINT)
    failure = ADAPTER.classify(
        caught.value,
        now=0.0,
        model=ModelRef.parse("openai/gpt-4o"),
        profile=ProfileId.parse("openai:work"),
    )

    assert (
        FailureKind.RATE_LIMITED,
        429,
        4.0,
        "rate_limit_exceeded",
        "openai/gpt-4o",
        "openai:work",
    ) == (
        failure.kind,
        failure.status,
        failure.retry_after_s,
        failure.code,
        str(failure.model),
        str(failure.profile),
    )


async def test_echoed_key_never_leaks() -> None:
    """A provider echoing the key back leaks it into no exception, repr or failure."""

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(
            401,
            json={
                "error": {
                    "message": f"Incorrect API key provided: {key}",
                    "code": "invalid_api_key",
                }
            },
        )

    async with client_for(handler) as client:
        with pytest.raises(ProviderHTTPError) as caught:
            await ADAPTER.complete(client, HELLO, ENDPOINT)
    failure = ADAPTER.classify(caught.value, now=0.0, credential=CANARY)
    texts = [str(caught.value), repr(caught.value), caught.value.body, str(failure), repr(failure)]

    assert (FailureKind.AUTH, []) == (failure.kind, [text for text in texts if CANARY in text])


async def test_complete_first_token_limit() -> None:
    """An answer slower than first_token_s raises FirstTokenTimeoutError, classified as timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Trickle(chunks=(b"{}",), pauses_s=(5.0,)))

    async with client_for(handler) as client:
        with pytest.raises(FirstTokenTimeoutError) as caught:
            await ADAPTER.complete(client, HELLO, ENDPOINT, limits=CallLimits(first_token_s=0.05))

    assert FailureKind.TIMEOUT == ADAPTER.classify(caught.value, now=0.0).kind


async def test_complete_without_client_is_a_type_error() -> None:
    """Calling an HTTP adapter without a client says what is missing."""

    with pytest.raises(TypeError, match=r"needs an httpx\.AsyncClient"):
        await ADAPTER.complete(None, HELLO, ENDPOINT)


# ------------------------------------------------------------------ streaming


async def test_stream_text_and_usage() -> None:
    """A stream yields text deltas, then one StreamEnd with the finish reason and usage."""
    content = sse(
        chunk("", role="assistant"),
        chunk("Hel"),
        chunk("lo"),
        chunk(finish="stop"),
        USAGE_CHUNK,
        "[DONE]",
    )

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        events = await stream_all(ADAPTER, client)

    assert [
        TextDelta(text="Hel"),
        TextDelta(text="lo"),
        StreamEnd(
            finish_reason="stop",
            usage=Usage(input_tokens=10, output_tokens=5, cache_read_tokens=20),
            model="gpt-4o-2024-08-06",
            provider_request_id="chatcmpl-1",
        ),
    ] == events


async def test_stream_tool_call_deltas_merge() -> None:
    """Tool call pieces stream as deltas and collect into whole calls."""
    call: JSON = [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": ""},
        }
    ]
    more: JSON = [{"index": 0, "function": {"arguments": '{"city":'}}]
    last: JSON = [{"index": 0, "function": {"arguments": '"Oslo"}'}}]
    content = sse(
        chunk(tool_calls=call),
        chunk(tool_calls=more),
        chunk(tool_calls=last),
        chunk(finish="tool_calls"),
        USAGE_CHUNK,
        "[DONE]",
    )

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        events = await stream_all(ADAPTER, client)
    answer = collect_stream(events)

    assert (
        ToolCallDelta(index=0, id="call_1", name="weather", arguments=""),
        (ToolCall(id="call_1", name="weather", arguments='{"city":"Oslo"}'),),
        "tool_calls",
    ) == (events[0], answer.tool_calls, answer.finish_reason)


async def test_stream_finishes_promptly_without_done() -> None:
    """After a finish reason and usage the stream ends without waiting for [DONE] or the socket."""
    stream = Trickle(
        chunks=(sse(chunk("Hi")), sse(chunk(finish="stop")), sse(USAGE_CHUNK), b"data: [DONE]\n\n"),
        pauses_s=(0.0, 0.0, 0.0, 30.0),
    )

    async with client_for(lambda request: httpx.Response(200, stream=stream)) as client:
        with anyio.fail_after(5):
            events = await stream_all(ADAPTER, client, CallLimits(idle_s=10))

    assert ("Hi", "stop", 5, [True]) == (
        collect_stream(events).text,
        collect_stream(events).finish_reason,
        collect_stream(events).usage.output_tokens,
        stream.closed,
    )


async def test_stream_finish_reason_then_eof_is_complete() -> None:
    """A stream with a finish reason that ends without usage or [DONE] still finishes properly."""
    content = sse(chunk("Hi"), chunk(finish="length"))

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        events = await stream_all(ADAPTER, client)

    assert (
        StreamEnd(
            finish_reason="length", model="gpt-4o-2024-08-06", provider_request_id="chatcmpl-1"
        )
        == events[-1]
    )


async def test_stream_cut_before_finish_is_interrupted() -> None:
    """A stream that ends before any finish reason raises StreamInterruptedError, never success."""
    content = sse(chunk("Hel"), chunk("lo"))

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await stream_all(ADAPTER, client)

    assert ("cut", True, FailureKind.STREAM_INTERRUPTED) == (
        caught.value.reason,
        caught.value.started,
        ADAPTER.classify(caught.value, now=0.0).kind,
    )


async def test_stream_malformed_event_fails_cleanly() -> None:
    """A garbage event fails the stream as malformed; no garbage reaches the text."""
    content = (
        sse(chunk("Hel"))
        + b'data: {"choices": [{"delta": {"content": "GARB\n\n'
        + sse(chunk("lo"), chunk(finish="stop"))
    )
    received: list[StreamEvent] = []

    async def read_into(client: httpx.AsyncClient) -> None:
        async with ADAPTER.stream(client, HELLO, ENDPOINT) as events:
            async for event in events:
                received.append(event)

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await read_into(client)

    assert ("malformed", []) == (
        caught.value.reason,
        [event for event in received if "GARB" in getattr(event, "text", "")],
    )


async def test_stream_error_chunk() -> None:
    """An error object inside the stream raises ProviderStreamError, classified by its code."""
    content = sse(chunk("Hi"), {"error": {"code": "rate_limit_exceeded", "message": "slow down"}})

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        with pytest.raises(ProviderStreamError) as caught:
            await stream_all(ADAPTER, client)

    assert FailureKind.RATE_LIMITED == ADAPTER.classify(caught.value, now=0.0).kind


async def test_stream_stall_after_first_token() -> None:
    """A stream that goes quiet for longer than idle_s after content is interrupted as stalled."""
    stream = Trickle(
        chunks=(sse(chunk("Hi")), b": keep-alive\n\n", sse(chunk(finish="stop"))),
        pauses_s=(0.0, 0.02, 30.0),
    )

    async with client_for(lambda request: httpx.Response(200, stream=stream)) as client:
        with pytest.raises(StreamInterruptedError) as caught:
            await stream_all(ADAPTER, client, CallLimits(idle_s=0.2))

    assert ("stalled", [True]) == (caught.value.reason, stream.closed)


async def test_stream_keep_alives_do_not_count_as_first_token() -> None:
    """Comments alone never satisfy the first-token limit."""
    stream = Trickle(chunks=(b": ping\n\n",) * 50, pauses_s=(0.01,) * 50)

    async with client_for(lambda request: httpx.Response(200, stream=stream)) as client:
        with pytest.raises(FirstTokenTimeoutError):
            await stream_all(ADAPTER, client, CallLimits(first_token_s=0.1))


async def test_stream_error_status_raises_on_open() -> None:
    """An error status raises ProviderHTTPError when the stream opens, with the body read."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503, json={"error": {"message": "overloaded", "type": "server_error"}}
        )

    async with client_for(handler) as client:
        with pytest.raises(ProviderHTTPError) as caught:
            await stream_all(ADAPTER, client)

    assert (503, FailureKind.OVERLOADED) == (
        caught.value.status,
        ADAPTER.classify(caught.value, now=0.0).kind,
    )


async def test_leaving_early_closes_the_response() -> None:
    """Breaking out of a stream closes the response at once."""
    stream = Trickle(chunks=(sse(chunk("a")), sse(chunk("b")), sse(chunk(finish="stop"))))

    async with (
        client_for(lambda request: httpx.Response(200, stream=stream)) as client,
        ADAPTER.stream(client, HELLO, ENDPOINT) as events,
    ):
        async for _event in events:
            break

    assert [True] == stream.closed


@settings(max_examples=50)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=8))
def test_parser_joins_any_text(pieces: list[str]) -> None:
    """Whatever the pieces, the parsed stream's text is their concatenation."""
    parser = ADAPTER.stream_parser(HELLO)
    events: list[StreamEvent] = []
    for payload in [*(chunk(piece) for piece in pieces), chunk(finish="stop"), USAGE_CHUNK]:
        parser, out = parser.feed(SSEEvent(data=json.dumps(payload)))
        events.extend(out)

    assert ("".join(pieces), True) == (collect_stream(events).text, parser.finished)


# ------------------------------------------------------------ ends, bodies and echoed keys


async def test_stream_without_usage_after_the_finish_reason_ends_after_the_grace() -> None:
    """A finish reason with no usage chunk and no [DONE] ends after end_grace_s, not idle_s."""
    stream = Trickle(
        chunks=(sse(chunk("Hi")), sse(chunk(finish="stop")), b"data: [DONE]\n\n"),
        pauses_s=(0.0, 0.0, 30.0),
    )
    started = anyio.current_time()

    async with client_for(lambda request: httpx.Response(200, stream=stream)) as client:
        events = await stream_all(ADAPTER, client, CallLimits(idle_s=10, end_grace_s=0.2))
    elapsed_s = anyio.current_time() - started

    assert ("Hi", "stop", Usage(), True) == (
        collect_stream(events).text,
        collect_stream(events).finish_reason,
        collect_stream(events).usage,
        0.2 <= elapsed_s < 2.0,
    )


async def test_a_usage_chunk_within_the_grace_is_kept() -> None:
    """A usage chunk that follows the finish reason within end_grace_s is read, not cut off."""
    stream = Trickle(
        chunks=(sse(chunk("Hi")), sse(chunk(finish="stop")), sse(USAGE_CHUNK), b"data: [DONE]\n\n"),
        pauses_s=(0.0, 0.0, 0.1, 30.0),
    )

    async with client_for(lambda request: httpx.Response(200, stream=stream)) as client:
        with anyio.fail_after(5):
            events = await stream_all(ADAPTER, client, CallLimits(idle_s=10, end_grace_s=1.0))

    assert (
        Usage(input_tokens=10, output_tokens=5, cache_read_tokens=20)
        == collect_stream(events).usage
    )


async def test_stream_error_chunk_masks_the_key_it_echoes() -> None:
    """An error chunk that echoes the key gives a ProviderStreamError whose text hides it."""
    content = sse(chunk("Hi"), {"error": {"code": "server_error", "message": f"bad {CANARY}"}})

    async with client_for(lambda request: httpx.Response(200, content=content)) as client:
        with pytest.raises(ProviderStreamError) as caught:
            await stream_all(ADAPTER, client)

    assert (False, False, "bad [REDACTED]") == (
        CANARY in caught.value.detail,
        CANARY in str(caught.value),
        caught.value.detail,
    )


@attrs.frozen(kw_only=True)
class Endless(httpx.AsyncByteStream):
    """
    A body of *size* bytes in 16 KiB chunks, which ends when closed (as a socket
    does); records how many bytes were taken.
    """

    size: int
    taken: list[int] = attrs.field(factory=list)
    closed: list[bool] = attrs.field(factory=list)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        piece = b"x" * 16_384
        while sum(self.taken) < self.size and not self.closed:
            self.taken.append(len(piece))
            yield piece

    async def aclose(self) -> None:
        self.closed.append(True)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_huge_error_body_is_read_only_in_part(stream: bool) -> None:
    """A 10 MB error body is read no further than 64 KiB (plus a chunk), whole or streamed."""
    body_stream = Endless(size=10_000_000)

    async with client_for(lambda request: httpx.Response(500, stream=body_stream)) as client:
        call = stream_all(ADAPTER, client) if stream else ADAPTER.complete(client, HELLO, ENDPOINT)
        with pytest.raises(ProviderHTTPError) as caught:
            await call

    assert (True, 65_536, FailureKind.SERVER) == (
        sum(body_stream.taken) <= 65_536 + 16_384,
        len(caught.value.body),
        ADAPTER.classify(caught.value, now=0.0).kind,
    )


async def test_a_deeply_nested_error_body_keeps_its_status_and_retry_after() -> None:
    """A 429 whose JSON body nests past the parser's limit is still a rate limit with its wait."""
    content = b'{"error":' * 5_000 + b"1" + b"}" * 5_000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, content=content, headers={"retry-after": "7"})

    async with client_for(handler) as client:
        with pytest.raises(ProviderHTTPError) as caught:
            await ADAPTER.complete(client, HELLO, ENDPOINT)
    failure = ADAPTER.classify(caught.value, now=0.0)

    assert (FailureKind.RATE_LIMITED, 7.0) == (failure.kind, failure.retry_after_s)


@pytest.mark.parametrize(
    ("payload", "kind", "code"),
    [
        pytest.param(
            {
                "error": {
                    "message": "Rate limit reached for requests",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            },
            FailureKind.RATE_LIMITED,
            "rate_limit_exceeded",
            id="openai-error-object",
        ),
        pytest.param(
            {"error": {"code": 429, "message": "Provider returned error"}},
            FailureKind.RATE_LIMITED,
            None,
            id="openrouter-numeric-code",
        ),
        pytest.param(
            {"error": {"code": 502, "message": "Provider returned error"}},
            FailureKind.SERVER,
            None,
            id="openrouter-upstream-5xx",
        ),
    ],
)
async def test_a_200_carrying_an_error_object_is_classified_from_it(
    payload: JSON, kind: FailureKind, code: str | None
) -> None:
    """A success status whose body is an error object fails the call as that error says."""
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=payload))
    )
    async with client:
        with pytest.raises(ProviderHTTPError) as caught:
            await ADAPTER.complete(client, HELLO, ENDPOINT)
    failure = ADAPTER.classify(caught.value, now=0.0, credential=CANARY)

    assert (kind, code, 200) == (failure.kind, failure.code, failure.status)


async def test_an_answer_mentioning_error_is_still_an_answer() -> None:
    """An answer whose text or fields hold the word error is read as the answer it is."""
    answer = {
        "id": "chatcmpl-1",
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": 'He said "error" twice.'},
                "finish_reason": "stop",
            }
        ],
        "error": None,
    }
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    )
    async with client:
        response = await ADAPTER.complete(client, HELLO, ENDPOINT)

    assert 'He said "error" twice.' == response.text


@pytest.mark.parametrize(
    ("status", "content", "path"),
    [
        pytest.param(
            404, b"<html><body>404 Not Found</body></html>", "/chat/completions", id="html"
        ),
        pytest.param(404, b"404 page not found", "/chat/completions", id="go-text"),
        pytest.param(405, b"", "/chat/completions", id="method-not-allowed"),
    ],
)
async def test_a_wrong_url_names_the_url_and_the_base_url_rule(
    status: int, content: bytes, path: str
) -> None:
    """A 404/405 that is no API error is a wrong base URL, named with the rule for /v1."""
    endpoint = attrs.evolve(ENDPOINT, base_url="https://me:hidden-0123456789@proxy.example.test")
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    )
    async with client:
        with pytest.raises(ProviderHTTPError) as caught:
            await ADAPTER.complete(client, HELLO, endpoint)
    failure = ADAPTER.classify(caught.value, now=0.0, credential=CANARY)

    assert (
        FailureKind.INVALID_REQUEST,
        "endpoint_not_found",
        True,
        True,
        False,
    ) == (
        failure.kind,
        failure.code,
        f"https://proxy.example.test{path}" in failure.message,
        "usually ends in /v1" in failure.message,
        "hidden-0123456789" in failure.message,
    )
