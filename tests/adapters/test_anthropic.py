"""
Tests for the Anthropic Messages adapter, over httpx.MockTransport.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import anyio
import attrs
import httpx
import pytest

from modelcfg import FailureKind
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
    AnthropicAdapter,
    CallLimits,
    Endpoint,
    MalformedResponseError,
    ProviderHTTPError,
    ProviderStreamError,
    StreamInterruptedError,
    UnsupportedRequestError,
)
from modelcfg.typing import JSON

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
OAUTH = "sk-ant-oat01-canary-DO-NOT-LEAK-0123456789"
ENDPOINT = Endpoint(
    model="claude-sonnet-4-5", base_url="https://api.example.test/v1", credential=CANARY
)
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
ADAPTER = AnthropicAdapter()


def body(request: httpx.Request) -> dict[str, JSON]:
    value = json.loads(request.content)
    assert isinstance(value, dict)
    return value


def events(*payloads: dict[str, JSON]) -> bytes:
    out = b""
    for payload in payloads:
        out += f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()
    return out


START: dict[str, JSON] = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude-sonnet-4-5-20250929",
        "usage": {
            "input_tokens": 25,
            "output_tokens": 1,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 50,
        },
    },
}
TEXT_BLOCK: dict[str, JSON] = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}


def text(piece: str, index: int = 0) -> dict[str, JSON]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": piece},
    }


def stop(reason: str = "end_turn", output_tokens: int = 9) -> dict[str, JSON]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": reason},
        "usage": {"output_tokens": output_tokens},
    }


MESSAGE_STOP: dict[str, JSON] = {"type": "message_stop"}


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def stream_all(content: bytes) -> list[StreamEvent]:
    async with (
        client_for(lambda request: httpx.Response(200, content=content)) as client,
        ADAPTER.stream(client, HELLO, ENDPOINT) as stream,
    ):
        return [event async for event in stream]


# ------------------------------------------------------------ building requests


def test_build_request_headers_and_body() -> None:
    """A request to a base ending in /v1 goes to {base}/messages with x-api-key, the version and a default max_tokens."""
    built = ADAPTER.build_request(
        attrs.evolve(HELLO, params={"temperature": 0.5, "stop": "END"}), ENDPOINT
    )

    assert (
        "https://api.example.test/v1/messages",
        CANARY,
        "2023-06-01",
        None,
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "temperature": 0.5,
            "stop_sequences": ["END"],
            "messages": [{"role": "user", "content": "Hi"}],
        },
    ) == (
        str(built.url),
        built.headers["x-api-key"],
        built.headers["anthropic-version"],
        built.headers.get("authorization"),
        body(built),
    )


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        pytest.param(
            "https://api.anthropic.com", "https://api.anthropic.com/v1/messages", id="sdk-root"
        ),
        pytest.param(
            "https://api.anthropic.com/", "https://api.anthropic.com/v1/messages", id="root-slash"
        ),
        pytest.param(
            "https://api.anthropic.com/v1", "https://api.anthropic.com/v1/messages", id="with-v1"
        ),
        pytest.param(
            "https://api.anthropic.com/v1/", "https://api.anthropic.com/v1/messages", id="v1-slash"
        ),
        pytest.param(
            "https://api.z.ai/api/anthropic",
            "https://api.z.ai/api/anthropic/v1/messages",
            id="compatible-root-under-a-prefix",
        ),
        pytest.param(
            "http://127.0.0.1:11434", "http://127.0.0.1:11434/v1/messages", id="local-server"
        ),
    ],
)
def test_messages_url_follows_the_sdk_base_url(base_url: str, expected: str) -> None:
    """The base URL is the API root as Anthropic's SDKs take it; one ending in /v1 is not doubled."""
    built = ADAPTER.build_request(HELLO, attrs.evolve(ENDPOINT, base_url=base_url))

    assert expected == str(built.url)


@pytest.mark.parametrize(
    ("adapter", "credential", "expected"),
    [
        pytest.param(
            AnthropicAdapter(),
            OAUTH,
            (None, f"Bearer {OAUTH}", "oauth-2025-04-20"),
            id="auto-oauth-token",
        ),
        pytest.param(AnthropicAdapter(), CANARY, (CANARY, None, None), id="auto-api-key"),
        pytest.param(
            AnthropicAdapter(auth="bearer", betas=("prompt-caching-2024-07-31",)),
            CANARY,
            (None, f"Bearer {CANARY}", "prompt-caching-2024-07-31,oauth-2025-04-20"),
            id="forced-bearer-with-betas",
        ),
    ],
)
def test_auth_headers(
    adapter: AnthropicAdapter, credential: str, expected: tuple[str | None, ...]
) -> None:
    """OAuth access tokens go in a bearer header with the OAuth beta; keys go in x-api-key."""
    built = adapter.build_request(HELLO, attrs.evolve(ENDPOINT, credential=credential))

    assert expected == (
        built.headers.get("x-api-key"),
        built.headers.get("authorization"),
        built.headers.get("anthropic-beta"),
    )


def test_system_prompts_move_to_the_top() -> None:
    """The system prompt and any system messages become one top-level system field."""
    request = ChatRequest(
        system="Be brief.",
        messages=[
            Message(role="system", content="Answer in French."),
            Message(role="user", content="Hi"),
        ],
    )
    sent = body(ADAPTER.build_request(request, ENDPOINT))

    assert ("Be brief.\n\nAnswer in French.", [{"role": "user", "content": "Hi"}]) == (
        sent["system"],
        sent["messages"],
    )


def test_images_become_source_blocks() -> None:
    """Images become base64 or url source blocks beside the text."""
    request = ChatRequest(
        messages=[
            Message(
                role="user",
                content=(
                    TextPart(text="Compare"),
                    ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
                    ImagePart(url="https://img.test/b.jpg"),
                ),
            )
        ]
    )

    assert [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {"type": "image", "source": {"type": "url", "url": "https://img.test/b.jpg"}},
            ],
        }
    ] == body(ADAPTER.build_request(request, ENDPOINT))["messages"]


def test_tool_use_and_results() -> None:
    """Tool calls become tool_use blocks; consecutive tool results share one user message."""
    request = ChatRequest(
        messages=[
            Message(role="user", content="Weather in Oslo and Rome?"),
            Message(
                role="assistant",
                content="Looking.",
                tool_calls=[
                    ToolCall(id="t1", name="weather", arguments='{"city":"Oslo"}'),
                    ToolCall(id="t2", name="weather", arguments='{"city":"Rome"}'),
                ],
            ),
            Message(role="tool", content="Snow", tool_call_id="t1"),
            Message(role="tool", content="Sun", tool_call_id="t2"),
        ],
        tools=[ToolSpec(name="weather", description="Weather by city")],
        tool_choice="required",
    )
    sent = body(ADAPTER.build_request(request, ENDPOINT))

    assert (
        [
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Looking."},
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}},
                    {"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Rome"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "Snow"}],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "Sun"}],
                    },
                ],
            },
        ],
        [
            {
                "name": "weather",
                "description": "Weather by city",
                "input_schema": {"type": "object", "properties": {}},
            }
        ],
        {"type": "any"},
    ) == (sent["messages"], sent["tools"], sent["tool_choice"])


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        pytest.param("auto", {"type": "auto"}, id="auto"),
        pytest.param("none", {"type": "none"}, id="none"),
        pytest.param("weather", {"type": "tool", "name": "weather"}, id="named"),
    ],
)
def test_tool_choice(choice: str, expected: JSON) -> None:
    """Tool choices map to Anthropic's tool_choice objects."""
    request = attrs.evolve(HELLO, tools=(ToolSpec(name="weather"),), tool_choice=choice)

    assert expected == body(ADAPTER.build_request(request, ENDPOINT))["tool_choice"]


def test_json_output_is_unsupported() -> None:
    """A request that needs JSON output cannot be sent; the failure moves on to another model."""

    with pytest.raises(UnsupportedRequestError) as caught:
        ADAPTER.build_request(attrs.evolve(HELLO, json_output=True), ENDPOINT)

    assert FailureKind.MODEL_NOT_FOUND == ADAPTER.classify(caught.value, now=0.0).kind


def test_credential_is_not_in_reprs() -> None:
    """The credential shows in neither the endpoint's repr nor the request's."""
    built = ADAPTER.build_request(HELLO, ENDPOINT)

    assert [] == [t for t in (repr(ENDPOINT), repr(built), repr(ADAPTER)) if CANARY in t]


# ------------------------------------------------------------- parsing answers


def test_parse_response() -> None:
    """A message gives its text, tool calls, normalised stop reason, usage and request id."""
    response = httpx.Response(
        200,
        headers={"request-id": "req_abc"},
        json={
            "id": "msg_1",
            "type": "message",
            "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}},
            ],
            "stop_reason": "tool_use",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 20,
                "cache_read_input_tokens": 30,
                "cache_creation_input_tokens": 40,
            },
        },
    )

    assert ChatResponse(
        text="Let me check.",
        tool_calls=(ToolCall(id="t1", name="weather", arguments='{"city":"Oslo"}'),),
        finish_reason="tool_calls",
        usage=Usage(input_tokens=10, output_tokens=20, cache_read_tokens=30, cache_write_tokens=40),
        model="claude-sonnet-4-5-20250929",
        provider_request_id="req_abc",
    ) == ADAPTER.parse_response(response)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
    ],
)
def test_stop_reasons_are_normalised(reason: str, expected: str) -> None:
    """Anthropic's stop reasons map to the shared vocabulary; unknown ones pass through."""
    response = httpx.Response(200, json={"content": [], "stop_reason": reason})

    assert expected == ADAPTER.parse_response(response).finish_reason


def test_parse_response_malformed() -> None:
    """A success body that is not a message raises MalformedResponseError."""

    with pytest.raises(MalformedResponseError):
        ADAPTER.parse_response(httpx.Response(200, json={"type": "message"}))


# ------------------------------------------------------------------ streaming


async def test_stream_text_and_usage() -> None:
    """A stream yields text deltas and ends at message_stop with merged usage."""
    content = events(
        START,
        TEXT_BLOCK,
        {"type": "ping"},
        text("Hel"),
        text("lo"),
        {"type": "content_block_stop", "index": 0},
        stop(),
        MESSAGE_STOP,
    )

    assert [
        TextDelta(text="Hel"),
        TextDelta(text="lo"),
        StreamEnd(
            finish_reason="stop",
            usage=Usage(
                input_tokens=25, output_tokens=9, cache_read_tokens=100, cache_write_tokens=50
            ),
            model="claude-sonnet-4-5-20250929",
            provider_request_id="msg_1",
        ),
    ] == await stream_all(content)


async def test_stream_tool_use() -> None:
    """A streamed tool_use block becomes tool call deltas that collect into the call."""
    content = events(
        START,
        TEXT_BLOCK,
        text("Checking."),
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t1", "name": "weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"Oslo"}'},
        },
        stop("tool_use"),
        MESSAGE_STOP,
    )
    received = await stream_all(content)
    answer = collect_stream(received)

    assert (
        ToolCallDelta(index=0, id="t1", name="weather"),
        "Checking.",
        (ToolCall(id="t1", name="weather", arguments='{"city":"Oslo"}'),),
        "tool_calls",
    ) == (received[1], answer.text, answer.tool_calls, answer.finish_reason)


async def test_stream_without_message_stop_is_complete() -> None:
    """A stream that ends after a stop reason but before message_stop still finishes properly."""
    received = await stream_all(events(START, TEXT_BLOCK, text("Hi"), stop()))

    assert ("Hi", "stop", 9) == (
        collect_stream(received).text,
        collect_stream(received).finish_reason,
        collect_stream(received).usage.output_tokens,
    )


async def test_stream_cut_is_interrupted() -> None:
    """A stream that ends before any stop reason raises StreamInterruptedError."""

    with pytest.raises(StreamInterruptedError) as caught:
        await stream_all(events(START, TEXT_BLOCK, text("Hel")))

    assert ("cut", FailureKind.STREAM_INTERRUPTED) == (
        caught.value.reason,
        ADAPTER.classify(caught.value, now=0.0).kind,
    )


async def test_stream_error_event_is_overloaded() -> None:
    """An overloaded_error event mid-stream raises ProviderStreamError, classified as overloaded."""
    error: dict[str, JSON] = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }

    with pytest.raises(ProviderStreamError) as caught:
        await stream_all(events(START, TEXT_BLOCK, text("Hel"), error))

    assert ("overloaded_error", True, FailureKind.OVERLOADED) == (
        caught.value.code,
        caught.value.started,
        ADAPTER.classify(caught.value, now=0.0).kind,
    )


async def test_stream_malformed_event() -> None:
    """An event whose data is not JSON fails the stream as malformed."""
    content = (
        events(START, TEXT_BLOCK)
        + b"event: content_block_delta\ndata: {garbage\n\n"
        + events(stop(), MESSAGE_STOP)
    )

    with pytest.raises(StreamInterruptedError) as caught:
        await stream_all(content)

    assert "malformed" == caught.value.reason


async def test_529_is_overloaded_and_key_is_hidden() -> None:
    """A 529 overloaded_error raises ProviderHTTPError; the failure is overloaded and hides the key."""

    def handler(request: httpx.Request) -> httpx.Response:
        message = f"Overloaded (key {request.headers['x-api-key']})"
        return httpx.Response(
            529, json={"type": "error", "error": {"type": "overloaded_error", "message": message}}
        )

    async with client_for(handler) as client:
        with pytest.raises(ProviderHTTPError) as caught:
            await ADAPTER.complete(client, HELLO, ENDPOINT)
    failure = ADAPTER.classify(caught.value, now=0.0, credential=CANARY)

    assert (FailureKind.OVERLOADED, 529, "overloaded_error", False) == (
        failure.kind,
        failure.status,
        failure.code,
        CANARY in str(caught.value) + repr(failure) + caught.value.body,
    )


async def test_complete_success() -> None:
    """complete() sends a non-streamed request and parses the message."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert "stream" not in body(request)
        return httpx.Response(
            200, json={"content": [{"type": "text", "text": "Bonjour"}], "stop_reason": "end_turn"}
        )

    async with client_for(handler) as client:
        answer = await ADAPTER.complete(client, attrs.evolve(HELLO, stream=True), ENDPOINT)

    assert ("Bonjour", "stop") == (answer.text, answer.finish_reason)


class Held(httpx.AsyncByteStream):
    """
    A body that sends *content* and then keeps the connection open until closed.
    """

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.closed = anyio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.content
        with anyio.move_on_after(30):
            await self.closed.wait()
        raise httpx.ReadError("the response was closed")

    async def aclose(self) -> None:
        self.closed.set()


async def test_stream_ends_at_the_stop_reason_while_the_connection_stays_open() -> None:
    """A stream whose message_stop never comes ends at message_delta's stop reason, with usage."""
    held = Held(events(START, TEXT_BLOCK, text("Hi"), stop()))
    started = anyio.current_time()

    async with (
        client_for(lambda request: httpx.Response(200, stream=held)) as client,
        ADAPTER.stream(client, HELLO, ENDPOINT, limits=CallLimits(idle_s=10)) as stream,
    ):
        received = [event async for event in stream]
    elapsed_s = anyio.current_time() - started

    assert ("Hi", "stop", 9, True) == (
        collect_stream(received).text,
        collect_stream(received).finish_reason,
        collect_stream(received).usage.output_tokens,
        elapsed_s < 1.0,
    )


async def test_stream_error_event_masks_the_key_it_echoes() -> None:
    """An error event that echoes the key gives a ProviderStreamError whose detail hides it."""
    error: dict[str, JSON] = {
        "type": "error",
        "error": {"type": "api_error", "message": f"key {CANARY} broke"},
    }

    with pytest.raises(ProviderStreamError) as caught:
        await stream_all(events(START, TEXT_BLOCK, text("Hel"), error))

    assert ("key [REDACTED] broke", False) == (caught.value.detail, CANARY in str(caught.value))
