"""
Tests that a stream that fails after reporting usage hands that usage on with its error.
"""

from __future__ import annotations

import json

import httpx
import pytest

from modelcfg._messages import ChatRequest, Message, Usage
from modelcfg.adapters import (
    AnthropicAdapter,
    Endpoint,
    OpenAIAdapter,
    ProviderError,
    ProviderStreamError,
    StreamInterruptedError,
)

pytestmark = pytest.mark.anyio

ENDPOINT = Endpoint(model="m", base_url="https://api.example.test/v1", credential="k")
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])


def sse(*events: tuple[str | None, object]) -> bytes:
    return "".join(
        (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"
        for name, data in events
    ).encode()


async def drain(adapter: AnthropicAdapter | OpenAIAdapter, client: httpx.AsyncClient) -> None:
    async with adapter.stream(client, HELLO, ENDPOINT) as events:
        async for _event in events:
            pass


async def failure_of(adapter: AnthropicAdapter | OpenAIAdapter, content: bytes) -> ProviderError:
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, content=content))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(ProviderError) as caught:
            await drain(adapter, client)
    return caught.value


START = (
    "message_start",
    {
        "type": "message_start",
        "message": {"id": "m1", "usage": {"input_tokens": 40, "output_tokens": 1}},
    },
)
TEXT = (
    "content_block_delta",
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
)


async def test_an_anthropic_error_event_carries_the_input_tokens_reported_before_it() -> None:
    """An error event after message_start raises with the usage message_start reported."""
    error = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})

    failure = await failure_of(AnthropicAdapter(), sse(START, TEXT, error))

    assert isinstance(failure, ProviderStreamError)
    assert Usage(input_tokens=40, output_tokens=1) == failure.usage


async def test_a_cut_anthropic_stream_carries_its_usage_so_far() -> None:
    """A stream that ends mid-answer raises an interruption holding the usage so far."""
    failure = await failure_of(AnthropicAdapter(), sse(START, TEXT))

    assert isinstance(failure, StreamInterruptedError)
    assert Usage(input_tokens=40, output_tokens=1) == failure.usage


async def test_an_openai_stream_cut_before_its_usage_chunk_carries_none() -> None:
    """OpenAI reports usage last: a stream cut before it has no usage to hand on."""
    chunk = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
    }

    failure = await failure_of(OpenAIAdapter(), sse((None, chunk)))

    assert None is failure.usage
