"""
Tests for wrapping any async callable (such as an official SDK client) as an adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import anyio
import attrs
import httpx
import pytest

from modelcfg import FailureKind
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
    collect_stream,
)
from modelcfg.adapters import (
    Adapter,
    AnthropicAdapter,
    CallableAdapter,
    CallLimits,
    Endpoint,
    FirstTokenTimeoutError,
    MalformedResponseError,
    OpenAIAdapter,
    ProviderStreamError,
    StreamInterruptedError,
)
from modelcfg.testing import FakeProvider
from modelcfg.typing import JSON

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
ENDPOINT = Endpoint(model="gpt-4o", credential=CANARY)
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
NO_LIMITS = CallLimits()


@attrs.frozen(kw_only=True)
class Dumped:
    """
    An SDK-style object: pydantic models expose their wire JSON via model_dump().
    """

    data: JSON

    def model_dump(self) -> JSON:
        return self.data


@attrs.frozen(kw_only=True)
class SDKStream:
    """
    An SDK-style stream: an async iterator with an async close(), which records closing.
    """

    items: tuple[object, ...]
    pause_s: float = 0.0
    closed: list[bool] = attrs.field(factory=list)

    def __aiter__(self) -> AsyncIterator[object]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[object]:
        for item in self.items:
            await anyio.sleep(self.pause_s)
            yield item

    async def close(self) -> None:
        self.closed.append(True)


class RateLimitError(Exception):
    """
    Shaped like openai.RateLimitError: status_code, response and the inner error body.
    """

    def __init__(self) -> None:
        super().__init__(f"Error code: 429 - key {CANARY} is rate limited")
        self.status_code = 429
        self.response = httpx.Response(429, headers={"retry-after-ms": "1500"})
        self.body = {
            "message": "Rate limit reached",
            "type": "requests",
            "code": "rate_limit_exceeded",
        }


OPENAI_COMPLETION: JSON = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 8, "completion_tokens": 2},
}
ANTHROPIC_MESSAGE: JSON = {
    "id": "msg_1",
    "type": "message",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Bonjour"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


def returning(result: object) -> CallableAdapter:
    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        return result

    return CallableAdapter(call=call)


def streaming(source: object) -> CallableAdapter:
    async def never(request: ChatRequest, endpoint: Endpoint) -> object:
        raise AssertionError("only streaming is used here")

    def open_stream(request: ChatRequest, endpoint: Endpoint) -> AsyncIterable[object]:
        assert isinstance(source, SDKStream)
        return source

    return CallableAdapter(call=never, stream_call=open_stream)


async def stream_all(adapter: CallableAdapter, limits: CallLimits = NO_LIMITS) -> list[StreamEvent]:
    async with adapter.stream(None, HELLO, ENDPOINT, limits=limits) as events:
        return [event async for event in events]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(ChatResponse(text="as is"), ("as is", None), id="chat-response"),
        pytest.param(OPENAI_COMPLETION, ("Hi there", "gpt-4o-2024-08-06"), id="openai-dict"),
        pytest.param(
            Dumped(data=OPENAI_COMPLETION),
            ("Hi there", "gpt-4o-2024-08-06"),
            id="openai-sdk-object",
        ),
        pytest.param(
            Dumped(data=ANTHROPIC_MESSAGE),
            ("Bonjour", "claude-sonnet-4-5"),
            id="anthropic-sdk-object",
        ),
    ],
)
async def test_complete_reads_any_known_shape(
    result: object, expected: tuple[str, str | None]
) -> None:
    """A ChatResponse, a completion dict or an SDK object with model_dump() all read as answers."""
    answer = await returning(result).complete(None, HELLO, ENDPOINT)

    assert expected == (answer.text, answer.model)


async def test_complete_unknown_shape_is_malformed() -> None:
    """A result of no known shape raises MalformedResponseError, a server failure."""
    adapter = returning(42)

    with pytest.raises(MalformedResponseError) as caught:
        await adapter.complete(None, HELLO, ENDPOINT)

    assert FailureKind.SERVER == adapter.classify(caught.value, now=0.0).kind


async def test_callable_receives_the_request_and_endpoint() -> None:
    """The callable gets the non-streamed request and the endpoint with its credential."""
    seen: list[tuple[bool, str | None]] = []

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        seen.append((request.stream, endpoint.credential))
        return ChatResponse(text="ok")

    await CallableAdapter(call=call).complete(None, attrs.evolve(HELLO, stream=True), ENDPOINT)

    assert [(False, CANARY)] == seen


async def test_sdk_exception_is_classified_without_the_sdk() -> None:
    """An SDK-shaped RateLimitError classifies by status, code and retry-after-ms, key hidden."""

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        raise RateLimitError

    adapter = CallableAdapter(call=call)
    with pytest.raises(RateLimitError) as caught:
        await adapter.complete(None, HELLO, ENDPOINT)
    failure = adapter.classify(caught.value, now=0.0, credential=CANARY)

    assert (FailureKind.RATE_LIMITED, 1.5, "rate_limit_exceeded", False) == (
        failure.kind,
        failure.retry_after_s,
        failure.code,
        CANARY in repr(failure),
    )


async def test_slow_callable_hits_the_first_token_limit() -> None:
    """A callable slower than first_token_s raises FirstTokenTimeoutError."""

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        await anyio.sleep(10)
        return ChatResponse()

    adapter = CallableAdapter(call=call)
    with pytest.raises(FirstTokenTimeoutError) as caught:
        await adapter.complete(None, HELLO, ENDPOINT, limits=CallLimits(first_token_s=0.05))

    assert FailureKind.TIMEOUT == adapter.classify(caught.value, now=0.0).kind


async def test_stream_of_events_passes_through() -> None:
    """A stream callable yielding modelcfg stream events passes them through and is closed."""
    end = StreamEnd(finish_reason="stop", usage=Usage(output_tokens=2))
    source = SDKStream(items=(TextDelta(text="a"), TextDelta(text="b"), end))

    received = await stream_all(streaming(source))

    assert ([TextDelta(text="a"), TextDelta(text="b"), end], [True]) == (received, source.closed)


async def test_stream_of_openai_chunks() -> None:
    """SDK chunk objects in OpenAI's shape are parsed like the wire format."""

    def chunk(content: str | None, finish: str | None = None) -> Dumped:
        delta: JSON = {} if content is None else {"content": content}
        return Dumped(
            data={
                "id": "c",
                "model": "gpt-4o",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    source = SDKStream(items=(chunk("Hel"), chunk("lo"), chunk(None, "stop")))
    answer = collect_stream(await stream_all(streaming(source)))

    assert ("Hello", "stop", "gpt-4o") == (answer.text, answer.finish_reason, answer.model)


async def test_stream_of_anthropic_events() -> None:
    """SDK event objects in Anthropic's shape are parsed like the wire format."""
    items = (
        Dumped(
            data={
                "type": "message_start",
                "message": {"id": "m", "model": "claude", "usage": {"input_tokens": 3}},
            }
        ),
        Dumped(
            data={
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        Dumped(
            data={
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Salut"},
            }
        ),
        Dumped(
            data={
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 2},
            }
        ),
        Dumped(data={"type": "message_stop"}),
    )
    answer = collect_stream(await stream_all(streaming(SDKStream(items=items))))

    assert ("Salut", Usage(input_tokens=3, output_tokens=2)) == (answer.text, answer.usage)


async def test_stream_ending_without_finish_is_interrupted() -> None:
    """A source that ends with no StreamEnd and no finish reason is interrupted, not a success."""
    source = SDKStream(items=(TextDelta(text="trunc"),))

    with pytest.raises(StreamInterruptedError) as caught:
        await stream_all(streaming(source))

    assert ("cut", [True]) == (caught.value.reason, source.closed)


async def test_stream_stall_is_interrupted() -> None:
    """A source that goes quiet after content longer than idle_s is a stall."""
    source = SDKStream(items=(TextDelta(text="a"), TextDelta(text="b")), pause_s=0.3)

    with pytest.raises((StreamInterruptedError, FirstTokenTimeoutError)) as caught:
        await stream_all(streaming(source), CallLimits(first_token_s=1.0, idle_s=0.1))

    assert "stalled" == getattr(caught.value, "reason", None)


async def test_stream_without_stream_call() -> None:
    """Streaming through an adapter without a stream callable says what is missing."""

    with pytest.raises(TypeError, match="no stream_call"):
        await stream_all(returning(ChatResponse()))


def test_every_adapter_meets_the_protocol() -> None:
    """The three adapters all satisfy the Adapter protocol the executor relies on."""
    adapters = [OpenAIAdapter(), AnthropicAdapter(), returning(None)]

    assert [True, True, True] == [isinstance(adapter, Adapter) for adapter in adapters]


def test_adapter_repr_hides_the_callable() -> None:
    """The callables stay out of the adapter's repr and equality."""

    assert "CallableAdapter(name='callable', wire='auto')" == repr(returning(None))


async def test_stream_usage_after_the_finish_reason_is_kept() -> None:
    """An SDK stream's usage chunk after the finish reason (include_usage) is read, not cut off."""
    items = (
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]},
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
    )
    answer = collect_stream(await stream_all(streaming(SDKStream(items=items))))

    assert ("Hi", "stop", Usage(input_tokens=7, output_tokens=2)) == (
        answer.text,
        answer.finish_reason,
        answer.usage,
    )


async def test_stream_error_payload_masks_the_key() -> None:
    """An error payload in an SDK stream that echoes the key never carries it further."""
    items = (
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]},
        {"error": {"code": "server_error", "message": f"key {CANARY} was revoked"}},
    )

    with pytest.raises(ProviderStreamError) as caught:
        await stream_all(streaming(SDKStream(items=items)))

    assert (False, False) == (CANARY in caught.value.detail, CANARY in str(caught.value))


class WrapperError(Exception):
    """
    What a host's own client wrapper raises: a plain exception, no status, no SDK name.
    """


def _wrapping(client: httpx.AsyncClient, url: str, *, keep_cause: bool) -> CallableAdapter:
    """
    A callable adapter whose call goes through *client* and hides what went wrong in
    a plain exception: chained (``from``) when *keep_cause*, else only in its words.
    """

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        try:
            response = await client.post(
                url,
                json={"model": endpoint.model, "messages": [{"role": "user", "content": "Hi"}]},
                headers={"authorization": f"Bearer {endpoint.credential}"},
                timeout=0.2,
            )
        except httpx.TimeoutException as exc:
            if keep_cause:
                raise WrapperError("the upstream call failed") from exc
            raise WrapperError("Request timed out.") from None
        return response.json()

    return CallableAdapter(call=call, name="wrapped")


@pytest.mark.parametrize("keep_cause", [True, False], ids=["in-the-cause", "in-the-words"])
async def test_a_wrapped_timeout_over_a_mock_transport_is_a_timeout(keep_cause: bool) -> None:
    """A host wrapper hiding httpx's timeout in its cause or its words still classifies as a timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        adapter = _wrapping(
            client, "https://api.example.test/v1/chat/completions", keep_cause=keep_cause
        )
        with pytest.raises(WrapperError) as caught:
            await adapter.complete(None, HELLO, ENDPOINT, limits=NO_LIMITS)

    assert FailureKind.TIMEOUT == adapter.classify(caught.value, now=0.0).kind


@pytest.mark.parametrize("keep_cause", [True, False], ids=["in-the-cause", "in-the-words"])
async def test_a_wrapped_timeout_against_a_silent_loopback_server_is_a_timeout(
    keep_cause: bool,
) -> None:
    """Against a real server that never answers, the wrapped read timeout is a timeout."""
    with FakeProvider() as fake:
        async with httpx.AsyncClient() as client:
            adapter = _wrapping(client, f"{fake.base_url}/chat/completions", keep_cause=keep_cause)
            with pytest.raises(WrapperError) as caught:
                await adapter.complete(
                    None, HELLO, attrs.evolve(ENDPOINT, model="silent"), limits=NO_LIMITS
                )

    assert FailureKind.TIMEOUT == adapter.classify(caught.value, now=0.0).kind
