"""
Wire conformance: every built-in provider's request matches its published API.

Each row of :data:`PUBLISHED` is what one provider's own API reference says a chat
request looks like: the exact URL and method, the credential header, the other
required headers, and the required body fields. The requests are made the way a
host makes them (a config naming the built-in provider, ``Executor.from_config``
with the key in the environment), and checked twice: captured by an
``httpx.MockTransport`` against the exact published URL, and served by the
strict loopback :class:`~modelcfg.testing.FakeProvider` playing that provider's
paths, which refuses what the real service refuses.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

import attrs
import httpx
import pytest

from modelcfg import ChatRequest, Executor, Message, load_config
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg.testing import FakeProvider
from modelcfg.typing import JSON

pytestmark = pytest.mark.anyio

KEY = "sk-conformance-fake-0123456789"
MODEL = "some-model"
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")], system="Be brief.")
TLS = ssl.create_default_context()  # built once: building one per client costs ~50 ms


@attrs.frozen(kw_only=True)
class Published:
    """
    What a provider's API reference says one chat request looks like.

    Attributes:
        url: The exact URL of a chat request, for the built-in base URL.
        auth: Where the key goes: ``Authorization: Bearer``, ``x-api-key``, or
            nowhere (a local server that takes none).
        env: The environment variable the key is read from.
        headers: Other required headers, with their exact values.
        body: The body fields the API requires.
    """

    url: str
    auth: Literal["bearer", "x-api-key", "none"]
    env: str | None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: tuple[str, ...] = ("model", "messages")

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def wire(self) -> Literal["openai", "anthropic"]:
        return "anthropic" if self.path.endswith("/messages") else "openai"


PUBLISHED: Mapping[str, Published] = {
    # https://platform.openai.com/docs/api-reference/chat/create: POST
    # https://api.openai.com/v1/chat/completions, "Authorization: Bearer $OPENAI_API_KEY",
    # model and messages required (openai-python: base_url https://api.openai.com/v1,
    # path /chat/completions).
    "openai": Published(
        url="https://api.openai.com/v1/chat/completions", auth="bearer", env="OPENAI_API_KEY"
    ),
    # https://docs.anthropic.com/en/api/messages and /en/api/overview: POST
    # https://api.anthropic.com/v1/messages with x-api-key, anthropic-version: 2023-06-01
    # and content-type: application/json; model, max_tokens and messages required
    # (anthropic-sdk-python: base_url https://api.anthropic.com, path /v1/messages).
    "anthropic": Published(
        url="https://api.anthropic.com/v1/messages",
        auth="x-api-key",
        env="ANTHROPIC_API_KEY",
        headers={"anthropic-version": "2023-06-01"},
        body=("model", "max_tokens", "messages"),
    ),
    # https://openrouter.ai/docs/api-reference/chat-completion: POST
    # https://openrouter.ai/api/v1/chat/completions, "Authorization: Bearer
    # <OPENROUTER_API_KEY>" (HTTP-Referer and X-Title are optional).
    "openrouter": Published(
        url="https://openrouter.ai/api/v1/chat/completions",
        auth="bearer",
        env="OPENROUTER_API_KEY",
    ),
    # https://ai.google.dev/gemini-api/docs/openai: base_url
    # https://generativelanguage.googleapis.com/v1beta/openai/ with the Gemini API key
    # as the bearer token; chat completions under it.
    "google": Published(
        url="https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        auth="bearer",
        env="GEMINI_API_KEY",
    ),
    # https://console.groq.com/docs/openai: base_url https://api.groq.com/openai/v1.
    "groq": Published(
        url="https://api.groq.com/openai/v1/chat/completions", auth="bearer", env="GROQ_API_KEY"
    ),
    # https://docs.mistral.ai/api/: POST /v1/chat/completions on https://api.mistral.ai,
    # bearer authentication.
    "mistral": Published(
        url="https://api.mistral.ai/v1/chat/completions", auth="bearer", env="MISTRAL_API_KEY"
    ),
    # https://docs.together.ai/reference/chat-completions-1: POST
    # https://api.together.xyz/v1/chat/completions, bearer authentication.
    "together": Published(
        url="https://api.together.xyz/v1/chat/completions",
        auth="bearer",
        env="TOGETHER_API_KEY",
    ),
    # https://api-docs.deepseek.com/: base_url https://api.deepseek.com, or
    # https://api.deepseek.com/v1 for OpenAI compatibility (the v1 is no model version);
    # POST .../chat/completions with "Authorization: Bearer".
    "deepseek": Published(
        url="https://api.deepseek.com/v1/chat/completions", auth="bearer", env="DEEPSEEK_API_KEY"
    ),
    # https://docs.x.ai/api: POST https://api.x.ai/v1/chat/completions,
    # "Authorization: Bearer $XAI_API_KEY".
    "xai": Published(url="https://api.x.ai/v1/chat/completions", auth="bearer", env="XAI_API_KEY"),
    # https://github.com/ollama/ollama/blob/main/docs/openai.md: base_url
    # http://localhost:11434/v1/, the API key "required but ignored" by the SDK; curl
    # examples send none.
    "ollama": Published(url="http://127.0.0.1:11434/v1/chat/completions", auth="none", env=None),
    # https://lmstudio.ai/docs/app/api/endpoints/openai: base_url http://localhost:1234/v1,
    # POST /v1/chat/completions, no key unless authentication is switched on.
    "lmstudio": Published(url="http://127.0.0.1:1234/v1/chat/completions", auth="none", env=None),
    # https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html: `vllm serve`
    # listens on port 8000; base_url http://localhost:8000/v1, POST /v1/chat/completions;
    # a key only when the server is started with --api-key.
    "vllm": Published(url="http://127.0.0.1:8000/v1/chat/completions", auth="none", env=None),
}
"""Every built-in provider's chat request, as its published API reference gives it."""

_ANSWERS: Mapping[str, JSON] = {
    "openai": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    },
    "anthropic": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    },
}


def _sse(*events: tuple[str, JSON]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


_STREAMS: Mapping[str, bytes] = {
    "openai": _sse(
        (
            "message",
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "model": MODEL,
                "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": "stop"}],
            },
        ),
        (
            "message",
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "model": MODEL,
                "choices": [],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            },
        ),
    )
    + b"data: [DONE]\n\n",
    "anthropic": _sse(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {"id": "msg_1", "model": MODEL, "usage": {"input_tokens": 3}},
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Hello"},
            },
        ),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 1},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ),
}


def executor_for(provider: str, client: httpx.AsyncClient, base_url: str | None = None) -> Executor:
    """
    An executor for ``provider/some-model`` built as a host builds one: a config that
    names the built-in provider (its base URL moved to *base_url* when given) and
    the key in the environment the provider reads.
    """
    row = PUBLISHED[provider]
    data: dict[str, JSON] = {"agent": {"model": {"primary": f"{provider}/{MODEL}"}}}
    if base_url is not None:
        data["providers"] = {
            provider: {"api": BUILTIN_PROVIDERS[provider].api.value, "baseUrl": base_url}
        }
    environ = {row.env: KEY} if row.env else {}
    return Executor.from_config(load_config(data), client=client, environ=environ)


def headers_as_published(row: Published, headers: httpx.Headers) -> dict[str, str | None]:
    """
    The headers the row speaks of, as sent (``None`` for one that is absent).
    """
    names = ["authorization", "x-api-key", "content-type", *row.headers]
    return {name: headers.get(name) for name in names}


def expected_headers(row: Published) -> dict[str, str | None]:
    return {
        "authorization": f"Bearer {KEY}" if row.auth == "bearer" else None,
        "x-api-key": KEY if row.auth == "x-api-key" else None,
        "content-type": "application/json",
        **row.headers,
    }


def test_every_builtin_provider_has_a_published_row() -> None:
    """A built-in provider cannot be added without the row its API reference gives."""

    assert sorted(BUILTIN_PROVIDERS) == sorted(PUBLISHED)


def test_rows_agree_with_the_builtin_table() -> None:
    """Each row's URL is the built-in base URL plus the wire's path; its key variable is read; keyless rows are the local servers."""
    joined = {
        provider: (
            builtin_base(provider)
            + ("/v1/messages" if row.wire == "anthropic" else "/chat/completions"),
            row.env is None or row.env in _env_vars(provider),
            BUILTIN_PROVIDERS[provider].keyless,
        )
        for provider, row in PUBLISHED.items()
    }

    assert {
        provider: (row.url, True, row.auth == "none") for provider, row in PUBLISHED.items()
    } == joined


def builtin_base(provider: str) -> str:
    return BUILTIN_PROVIDERS[provider].base_url


def _env_vars(provider: str) -> tuple[str, ...]:
    return BUILTIN_PROVIDERS[provider].env_vars


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("provider", sorted(PUBLISHED))
async def test_request_matches_the_published_api(provider: str, stream: bool) -> None:
    """The request a built-in provider gets has its published URL, method, headers and body."""
    row = PUBLISHED[provider]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if stream:
            headers = {"content-type": "text/event-stream"}
            return httpx.Response(200, headers=headers, content=_STREAMS[row.wire])
        return httpx.Response(200, json=_ANSWERS[row.wire])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        executor = executor_for(provider, client)
        if stream:
            async with executor.stream(HELLO) as answer:
                async for _event in answer:
                    pass
            text = answer.completion.response.text if answer.completion else None
        else:
            text = (await executor.complete(HELLO)).response.text
    request = seen[0]
    body = json.loads(request.content)

    assert (
        "Hello",
        "POST",
        row.url,
        expected_headers(row),
        dict.fromkeys(row.body, True),
        MODEL,
        stream,
    ) == (
        text,
        request.method,
        str(request.url),
        headers_as_published(row, request.headers),
        {field: field in body for field in row.body},
        body["model"],
        body.get("stream", False),
    )


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("provider", sorted(PUBLISHED))
async def test_the_strict_fake_serves_every_builtin_provider(provider: str, stream: bool) -> None:
    """Served by the strict fake on the provider's own paths, every built-in provider gets an answer."""
    row = PUBLISHED[provider]
    base_path = urlsplit(builtin_base(provider)).path
    api_root = row.path.removesuffix(
        "/messages" if row.wire == "anthropic" else "/chat/completions"
    )
    with FakeProvider(api_root=api_root, keyless=row.auth == "none") as fake:
        async with httpx.AsyncClient(verify=TLS) as client:
            executor = executor_for(provider, client, base_url=fake.root_url + base_path)
            if stream:
                async with executor.stream(HELLO) as answer:
                    async for _event in answer:
                        pass
                text = answer.completion.response.text if answer.completion else None
            else:
                text = (await executor.complete(HELLO)).response.text
        recorded = fake.requests

    assert (f"Hello from {MODEL}", [(row.path, row.wire, stream)]) == (
        text,
        [(r.path, r.wire, r.stream) for r in recorded],
    )
