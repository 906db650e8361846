"""
Routing by need through the executor, over ``httpx.MockTransport``: a model known
to lack tools is never called, and a provider's "unsupported" 400 falls back and
is remembered.
"""

from __future__ import annotations

import json

import httpx
import pytest

from modelcfg import ChatRequest, FailureKind, Message, ModelRef, ToolSpec
from modelcfg._config._load import load_config
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg.adapters import classify

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000.0
TOOLS = ChatRequest(
    messages=[Message(role="user", content="weather in Paris?")],
    tools=[ToolSpec(name="weather", description="Current weather")],
)
UNSUPPORTED = {
    "error": {
        "message": "Unsupported parameter: 'tools' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "tools",
        "code": "unsupported_parameter",
    }
}


def config(small_tools: bool | None) -> object:
    small = {"contextWindow": 8192} if small_tools is None else {"tools": small_tools}
    return load_config(
        {
            "providers": {"openai": {"api": "openai", "baseUrl": "http://mock/v1"}},
            "agent": {
                "models": {"openai/small": small, "openai/big": {"tools": True}},
                "model": {"primary": "openai/small", "fallbacks": ["openai/big"]},
            },
        }
    )


class Provider:
    """An OpenAI-compatible fake: the small model answers *small*, the big one answers."""

    def __init__(self, small: httpx.Response | None = None) -> None:
        self.small = small
        self.models: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        model = body["model"]
        self.models.append(model)
        if model == "small" and self.small is not None:
            return self.small
        return httpx.Response(
            200,
            json={
                "id": "c1",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "sunny"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1},
            },
        )


def executor(provider: Provider, small_tools: bool | None) -> Executor:
    client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    return Executor.from_config(
        config(small_tools),  # type: ignore[arg-type]
        client=client,
        credentials=StaticCredentials({"openai:default": "sk-test"}),
        clock=lambda: T0,
    )


async def test_a_tools_request_skips_a_primary_without_tools() -> None:
    """A tools request on a chain whose primary lacks tools reaches the fallback with no call to the primary."""
    provider = Provider()

    result = await executor(provider, False).complete(TOOLS)

    assert (["big"], "sunny", "first_attempt") == (
        provider.models,
        result.response.text,
        result.attempts[0].reason.code.value,
    )


async def test_an_unsupported_parameter_400_falls_back_and_is_remembered() -> None:
    """The primary's "unsupported parameter" 400 falls back; the next tools request skips it."""
    provider = Provider(small=httpx.Response(400, json=UNSUPPORTED))
    run = executor(provider, None)

    first = await run.complete(TOOLS)
    second = await run.complete(TOOLS)

    assert (["small", "big", "big"], "sunny", "sunny", ("tools",)) == (
        provider.models,
        first.response.text,
        second.response.text,
        run.routes.traits_for(ModelRef.parse("openai/small")).lacking,
    )


def test_an_unsupported_400_names_its_need_in_the_code() -> None:
    """The classified failure is ``unsupported`` with the code ``unsupported:tools``."""
    failure = classify(httpx.Response(400, json=UNSUPPORTED), now=T0)

    assert (FailureKind.UNSUPPORTED, "unsupported:tools") == (failure.kind, failure.code)
