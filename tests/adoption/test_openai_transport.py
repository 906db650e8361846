"""
The OpenAI SDK, unchanged, on modelcfg's httpx transports, against the fake provider on 127.0.0.1.

Every test drives the real ``openai`` package. The primary model's two profiles
answer 429 (so the SDK's request is rotated, then falls back), and the caller
still sees an ordinary ``ChatCompletion``. Bodies and chunks are also checked
strictly against the SDK's own pydantic types (``model_validate``, which the SDK
itself skips).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from modelcfg import (
    ChatResponse,
    Client,
    Completion,
    Config,
    StaticCredentials,
    StreamEnd,
    ToolCall,
    ToolCallDelta,
    Usage,
    load_config,
)
from modelcfg._transport import (
    AsyncOpenAITransport,
    OpenAITransport,
    _ChunkWriter,
    completion_json,
)
from modelcfg.testing import FakeProvider

KEY_A = "sk-fake-transport-a-0123456789"
KEY_B = "sk-fake-transport-b-0123456789"
KEYS = StaticCredentials(
    {"local:a": KEY_A, "local:b": KEY_B, "backup:default": "sk-fake-transport-backup-0123"}
)
HI = [{"role": "user", "content": "Hi"}]
NOWHERE = "http://127.0.0.1:9/v1"
"""The SDK's base URL: chat completions never reach it, and nothing listens there."""


@pytest.fixture
def anyio_backend() -> str:
    """The SDK's async client runs on asyncio (its own generators are not closed the way trio asks)."""
    return "asyncio"


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


def config_for(
    fake: FakeProvider, primary: str = "local/429", fallbacks: tuple[str, ...] = ("backup/ok",)
) -> Config:
    """
    ``Primary`` is *primary* on provider ``local`` (profiles a then b), then *fallbacks*.
    """
    return load_config(
        {
            "providers": {
                "local": {"api": "openai", "baseUrl": fake.base_url},
                "backup": {"api": "openai", "baseUrl": fake.base_url},
            },
            "auth": {
                "profiles": {
                    "local:a": {"provider": "local", "mode": "api_key"},
                    "local:b": {"provider": "local", "mode": "api_key"},
                },
                "order": {"local": ["local:a", "local:b"]},
            },
            "agent": {
                "models": {primary: {"alias": "Primary"}},
                "model": {
                    "primary": primary,
                    "fallbacks": list(fallbacks),
                },
            },
            "policy": {
                "backoffBaseSeconds": 0.001,
                "backoffMaxSeconds": 0.002,
                "deadlineSeconds": 5,
            },
        }
    )


@pytest.fixture
def sdk(fake: FakeProvider) -> Iterator[openai.OpenAI]:
    transport = OpenAITransport.from_config(config_for(fake), credentials=KEYS)
    with openai.OpenAI(
        api_key="unused", base_url=NOWHERE, http_client=httpx.Client(transport=transport)
    ) as client:
        yield client


@pytest.fixture
async def async_sdk(fake: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    transport = AsyncOpenAITransport.from_config(config_for(fake), credentials=KEYS)
    async with openai.AsyncOpenAI(
        api_key="unused", base_url=NOWHERE, http_client=httpx.AsyncClient(transport=transport)
    ) as client:
        yield client


def keys_seen(fake: FakeProvider, model: str) -> list[str]:
    return [r.headers["authorization"].removeprefix("Bearer ") for r in fake.requests_for(model)]


def assert_rotated_then_fell_back(fake: FakeProvider) -> None:
    assert [KEY_A, KEY_B] == keys_seen(fake, "429")
    assert 1 == len(fake.requests_for("ok"))


def test_sync_sdk_gets_a_chat_completion_after_rotation_and_fallback(
    fake: FakeProvider, sdk: openai.OpenAI
) -> None:
    """The sync SDK's create() is rotated across both 429ing profiles, falls back, and returns a ChatCompletion."""
    answer = sdk.chat.completions.create(model="Primary", messages=HI)  # type: ignore[arg-type]

    assert isinstance(answer, ChatCompletion)
    assert "Hello from ok" == answer.choices[0].message.content
    assert "backup/ok" == answer.model
    assert (12, 4, 16) == (
        answer.usage.prompt_tokens if answer.usage else None,
        answer.usage.completion_tokens if answer.usage else None,
        answer.usage.total_tokens if answer.usage else None,
    )
    assert_rotated_then_fell_back(fake)


def test_sync_sdk_streams_chunks_after_rotation_and_fallback(
    fake: FakeProvider, sdk: openai.OpenAI
) -> None:
    """A streamed create() yields chat.completion.chunk objects from the fallback, usage last when asked."""
    chunks = list(
        sdk.chat.completions.create(
            model="Primary",
            messages=HI,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "Hello from ok" == "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert {"backup/ok"} == {c.model for c in chunks}
    assert "assistant" == chunks[0].choices[0].delta.role
    assert "stop" == chunks[-2].choices[0].finish_reason
    assert [] == chunks[-1].choices
    assert chunks[-1].usage is not None
    assert 16 == chunks[-1].usage.total_tokens
    assert_rotated_then_fell_back(fake)


@pytest.mark.anyio
async def test_async_sdk_gets_a_chat_completion_after_rotation_and_fallback(
    fake: FakeProvider, async_sdk: openai.AsyncOpenAI
) -> None:
    """The async SDK's create() is rotated, falls back, and returns a ChatCompletion."""
    answer = await async_sdk.chat.completions.create(model="Primary", messages=HI)  # type: ignore[arg-type]

    assert isinstance(answer, ChatCompletion)
    assert ("Hello from ok", "backup/ok") == (answer.choices[0].message.content, answer.model)
    assert_rotated_then_fell_back(fake)


@pytest.mark.anyio
async def test_async_sdk_streams_chunks_after_rotation_and_fallback(
    fake: FakeProvider, async_sdk: openai.AsyncOpenAI
) -> None:
    """The async SDK's streamed create() yields the fallback's chunks, with no usage chunk unless asked."""
    stream = await async_sdk.chat.completions.create(
        model="Primary",
        messages=HI,  # type: ignore[arg-type]
        stream=True,
    )
    chunks = [chunk async for chunk in stream]

    assert "Hello from ok" == "".join(c.choices[0].delta.content or "" for c in chunks)
    assert all(c.usage is None and c.choices for c in chunks)
    assert "stop" == chunks[-1].choices[0].finish_reason
    assert_rotated_then_fell_back(fake)


def test_headers_say_who_answered(fake: FakeProvider, sdk: openai.OpenAI) -> None:
    """The raw response names the model, profile and attempts behind the answer."""
    raw = sdk.chat.completions.with_raw_response.create(model="Primary", messages=HI)  # type: ignore[arg-type]

    assert ("backup/ok", "backup:default", "3") == (
        raw.headers["x-modelcfg-model"],
        raw.headers["x-modelcfg-profile"],
        raw.headers["x-modelcfg-attempts"],
    )
    assert raw.headers["x-request-id"] == raw.parse().id


def test_the_wire_shapes_pass_the_sdks_strict_validation(fake: FakeProvider) -> None:
    """The body and every chunk validate strictly against the SDK's own types, and the stream ends with [DONE]."""
    transport = OpenAITransport.from_config(config_for(fake), credentials=KEYS)
    with httpx.Client(transport=transport, base_url=NOWHERE) as http:
        whole = http.post("/chat/completions", json={"model": "Primary", "messages": HI})
        streamed = http.post(
            "/chat/completions",
            json={
                "model": "Primary",
                "messages": HI,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    events = [line.removeprefix("data: ") for line in streamed.text.split("\n\n") if line]

    ChatCompletion.model_validate(whole.json(), strict=True)
    assert "text/event-stream" == streamed.headers["content-type"]
    assert "[DONE]" == events[-1]
    for event in events[:-1]:
        ChatCompletionChunk.model_validate(json.loads(event), strict=True)


def test_tool_calls_are_written_in_the_openai_shape() -> None:
    """Tool calls, whole and streamed, come out as the SDK's tool call objects with finish reason tool_calls."""
    fake_completion = Completion(
        response=ChatResponse(
            tool_calls=(ToolCall(id="call_1", name="look", arguments='{"x":1}'),),
            finish_reason="tool_calls",
            usage=Usage(input_tokens=3, output_tokens=2, cache_read_tokens=5),
        ),
        target=__import__("modelcfg").Target.parse("local/ok with local:a"),
        attempts=(),
        state=None,  # type: ignore[arg-type]  # not read by the writer
    )
    body = completion_json(fake_completion, completion_id="chatcmpl-x", created=1)
    writer = _ChunkWriter(
        completion_id="chatcmpl-x", created=1, model="local/ok", include_usage=False
    )
    lines = b"".join(
        [
            writer.opening(),
            writer.event(ToolCallDelta(index=0, id="call_1", name="look", arguments="")),
            writer.event(ToolCallDelta(index=0, arguments='{"x":1}')),
            writer.event(StreamEnd(finish_reason="tool_calls")),
        ]
    ).decode()
    chunks = [
        ChatCompletionChunk.model_validate(json.loads(part.removeprefix("data: ")), strict=True)
        for part in lines.split("\n\n")
        if part and part != "data: [DONE]"
    ]

    parsed = ChatCompletion.model_validate(body, strict=True)
    call = (parsed.choices[0].message.tool_calls or [])[0]
    assert ("call_1", "look", '{"x":1}') == (call.id, call.function.name, call.function.arguments)  # type: ignore[union-attr]
    assert (None, "tool_calls") == (
        parsed.choices[0].message.content,
        parsed.choices[0].finish_reason,
    )
    assert parsed.usage is not None
    assert (8, 5) == (
        parsed.usage.prompt_tokens,
        parsed.usage.prompt_tokens_details.cached_tokens,
    )
    deltas = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    assert [("call_1", "look", ""), (None, None, '{"x":1}')] == [
        (
            d[0].id,
            d[0].function.name if d[0].function else None,
            d[0].function.arguments if d[0].function else None,
        )
        for d in deltas
    ]
    assert "tool_calls" == chunks[-1].choices[0].finish_reason


def test_other_paths_pass_through_to_the_inner_transport(fake: FakeProvider) -> None:
    """Requests other than chat completions reach the inner transport unchanged."""
    seen: list[tuple[str, str]] = []

    def inner(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": [{"id": "m", "object": "model", "created": 0, "owned_by": "x"}],
            },
        )

    transport = OpenAITransport.from_config(
        config_for(fake), credentials=KEYS, inner=httpx.MockTransport(inner)
    )
    with openai.OpenAI(
        api_key="unused", base_url=NOWHERE, http_client=httpx.Client(transport=transport)
    ) as sdk:
        models = sdk.models.list()

    assert [("GET", "/v1/models")] == seen
    assert ["m"] == [m.id for m in models]
    assert [] == list(fake.requests)


def test_a_give_up_raises_the_sdks_typed_error_without_sdk_retries(fake: FakeProvider) -> None:
    """When every profile is rate limited, the SDK raises RateLimitError and does not retry on its own."""
    transport = OpenAITransport.from_config(config_for(fake, "local/429", ()), credentials=KEYS)
    with openai.OpenAI(
        api_key="unused",
        base_url=NOWHERE,
        http_client=httpx.Client(transport=transport),
        max_retries=2,
    ) as sdk:
        with pytest.raises(openai.BadRequestError) as filtered:
            sdk.chat.completions.create(model="local/content-filter", messages=HI)  # type: ignore[arg-type]
        fake.reset()
        with pytest.raises(openai.RateLimitError) as limited:
            sdk.chat.completions.create(model="Primary", messages=HI, stream=True)  # type: ignore[arg-type]

    assert "content_filter" == filtered.value.code
    assert "rate_limit_exceeded" == limited.value.code
    assert [KEY_A, KEY_B] == keys_seen(fake, "429")


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        ({"model": "gpt-nonexistent", "messages": HI}, openai.NotFoundError, "not a known"),
        ({"model": "openai/gpt-5.2", "messages": HI}, openai.BadRequestError, "provider 'openai'"),
        ({"model": "Primary", "messages": HI, "n": 2}, openai.BadRequestError, "n must be 1"),
        (
            {"model": "Primary", "messages": [{"role": "robot", "content": "x"}]},
            openai.BadRequestError,
            r"messages\[0\].role",
        ),
        (
            {"model": "Primary", "messages": HI, "tools": [{"type": "web"}]},
            openai.BadRequestError,
            r"tools\[0\]",
        ),
    ],
    ids=["unknown model", "unreachable provider", "several choices", "bad message", "bad tool"],
)
def test_requests_modelcfg_cannot_serve_get_openai_errors(
    fake: FakeProvider,
    sdk: openai.OpenAI,
    body: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    """A request that cannot be served raises the SDK's 4xx error with the reason, and no provider is called."""
    with pytest.raises(error, match=match):
        sdk.chat.completions.create(**body)  # type: ignore[call-overload]

    assert [] == list(fake.requests)


def test_a_stream_cut_after_output_raises_in_the_sdk(fake: FakeProvider) -> None:
    """A stream cut after some text ends with an error event, which the SDK raises as APIError."""
    transport = OpenAITransport.from_config(config_for(fake, "local/cut", ()), credentials=KEYS)
    received: list[str] = []
    with openai.OpenAI(
        api_key="unused", base_url=NOWHERE, http_client=httpx.Client(transport=transport)
    ) as sdk:
        stream = sdk.chat.completions.create(model="Primary", messages=HI, stream=True)  # type: ignore[arg-type]

        def read() -> None:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")

        with pytest.raises(openai.APIError, match="cut after part of the answer"):
            read()

    assert "" != "".join(received)


def test_the_key_never_reaches_the_sdk(fake: FakeProvider) -> None:
    """An auth failure that echoes the key gives the SDK an AuthenticationError without the key."""
    transport = OpenAITransport.from_config(config_for(fake, "local/auth", ()), credentials=KEYS)
    with (
        openai.OpenAI(
            api_key="unused", base_url=NOWHERE, http_client=httpx.Client(transport=transport)
        ) as sdk,
        pytest.raises(openai.AuthenticationError) as raised,
    ):
        sdk.chat.completions.create(model="Primary", messages=HI)  # type: ignore[arg-type]

    assert KEY_A not in json.dumps(raised.value.body)
    assert KEY_B not in str(raised.value)


def test_a_transport_on_a_client_without_config_is_refused(fake: FakeProvider) -> None:
    """OpenAITransport needs a client with a configuration, to resolve the request's model."""
    config = config_for(fake)

    def build(http: httpx.AsyncClient) -> __import__("modelcfg").Executor:
        return __import__("modelcfg").Executor.from_config(config, client=http, credentials=KEYS)

    with Client.from_executor(build) as client, pytest.raises(Exception, match="configuration"):
        OpenAITransport(client)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_async_transport_streams_under_both_loops(fake: FakeProvider, backend: str) -> None:
    """Without the SDK, a plain httpx.AsyncClient on the async transport streams SSE under asyncio and trio."""
    import anyio

    async def read() -> list[str]:
        transport = AsyncOpenAITransport.from_config(config_for(fake), credentials=KEYS)
        async with httpx.AsyncClient(transport=transport, base_url=NOWHERE) as http:
            body = {"model": "Primary", "messages": HI, "stream": True}
            async with http.stream("POST", "/chat/completions", json=body) as response:
                return [line async for line in response.aiter_lines() if line]

    lines = anyio.run(read, backend=backend)

    assert "data: [DONE]" == lines[-1]
    texts = [
        json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in lines[:-1]
    ]
    assert "Hello from ok" == "".join(texts)
