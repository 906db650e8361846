"""
End to end: the request body each provider receives carries exactly the resolved, translated parameters.

Each test runs the executor built from a configuration (``Executor.from_config``)
through a real ``httpx.AsyncClient``, against a scripted ``httpx.MockTransport``
or the loopback :class:`~modelcfg.testing.FakeProvider`, and asserts the JSON
body the provider got, attempt by attempt: a fallback model gets its own
parameters.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from modelcfg import (
    ChatRequest,
    Config,
    Executor,
    ExecutorEvent,
    Message,
    SessionState,
    StaticCredentials,
    load_config,
    resolve_choice,
)
from modelcfg._executor._reports import AttemptStarted, ParamsDropped
from modelcfg.exceptions import InvalidParamsError, UnknownPresetError
from modelcfg.testing import FakeProvider, ScriptedTransport

pytestmark = pytest.mark.anyio

HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
MESSAGES = [{"role": "user", "content": "Hi"}]
KEYS = StaticCredentials(
    {
        "openai:default": "sk-test-openai",
        "anthropic:default": "sk-ant-test",
        "openrouter:default": "sk-or-test",
        "ant:default": "sk-ant-test",
        "orr:default": "sk-or-test",
        "oai:default": "sk-test",
    }
)


async def no_wait(_delay_s: float) -> None:
    """A sleep that returns at once."""


def openai_answer(model: str) -> httpx.Response:
    """A chat completion, as OpenAI's API answers one."""
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"Hello from {model}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        },
    )


def anthropic_answer(model: str) -> httpx.Response:
    """A message, as the Anthropic Messages API answers one."""
    return httpx.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": f"Hello from {model}"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
    )


RATE_LIMITED = httpx.Response(
    429,
    json={"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}},
)


def body(request: httpx.Request) -> dict[str, Any]:
    """The JSON body of *request*."""
    data: dict[str, Any] = json.loads(request.content)
    return data


def built_in(extra: dict[str, Any] | None = None) -> Config:
    """A config over the built-in OpenAI and Anthropic providers: o3, then Claude Sonnet."""
    data: dict[str, Any] = {
        "params": {"temperature": 0.7, "seed": 5},
        "agent": {
            "models": {"openai/o3": {"params": {"max_tokens": 4000}}},
            "model": {"primary": "openai/o3", "fallbacks": ["anthropic/claude-sonnet-4-5"]},
        },
        "presets": {"deep": {"params": {"reasoning_effort": "high", "seed": None}}},
    }
    data.update(extra or {})
    return load_config(data)


async def test_each_attempt_sends_its_models_own_parameters() -> None:
    """o3 gets max_completion_tokens and no temperature; the Claude fallback gets a thinking budget."""
    transport = ScriptedTransport([RATE_LIMITED, anthropic_answer("claude-sonnet-4-5")])
    events: list[ExecutorEvent] = []
    request = ChatRequest(messages=HELLO.messages, params={"user": "u-1"})
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            built_in(), client=client, credentials=KEYS, observers=[events.append], sleep=no_wait
        )
        done = await executor.complete(request, preset="deep")
    openai, anthropic = (body(r) for r in transport.requests)

    assert {
        "model": "o3",
        "messages": MESSAGES,
        "max_completion_tokens": 4000,
        "reasoning_effort": "high",
        "user": "u-1",
    } == openai
    assert {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 3276},
        "metadata": {"user_id": "u-1"},
        "messages": MESSAGES,
    } == anthropic
    assert [
        {k: v for k, v in openai.items() if k not in ("model", "messages")},
        {k: v for k, v in anthropic.items() if k not in ("model", "messages")},
    ] == [dict(report.params) for report in done.attempts]
    assert [("temperature",), ("temperature",)] == [
        tuple(p.name for p in e.dropped) for e in events if isinstance(e, ParamsDropped)
    ]


async def test_a_request_without_presets_sends_the_layers_below() -> None:
    """With no preset, the global and model layers reach the wire, translated."""
    transport = ScriptedTransport([openai_answer("o3")])
    config = built_in({"paramsPolicy": "pass"})
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(config, client=client, credentials=KEYS)
        await executor.complete(HELLO)

    assert {
        "model": "o3",
        "messages": MESSAGES,
        "temperature": 0.7,
        "seed": 5,
        "max_completion_tokens": 4000,
    } == body(transport.requests[0])


async def test_the_error_policy_refuses_before_any_call() -> None:
    """Under paramsPolicy error, a parameter o3 refuses raises InvalidParamsError and nothing is sent."""
    transport = ScriptedTransport([openai_answer("o3")])
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            built_in({"paramsPolicy": "error"}), client=client, credentials=KEYS
        )
        with pytest.raises(InvalidParamsError) as refused:
            await executor.complete(HELLO)

    assert ("openai/o3", ["temperature"], []) == (
        refused.value.model,
        [p.name for p in refused.value.problems],
        transport.requests,
    )
    assert "temperature=0.7 from global" in str(refused.value)


async def test_request_and_session_layers_and_null_removal_reach_the_wire() -> None:
    """The session's preset and parameters apply under the request's; a request null removes a key."""
    transport = ScriptedTransport([anthropic_answer("claude-sonnet-4-5")])
    config = load_config(
        {
            "params": {"temperature": 0.5, "top_k": 20},
            "agent": {"model": {"primary": "anthropic/claude-sonnet-4-5"}},
        }
    )
    session = SessionState(preset="precise", params={"max_tokens": 900, "stop": "END"})
    request = ChatRequest(messages=HELLO.messages, params={"top_k": None})
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(config, client=client, credentials=KEYS)
        await executor.complete(request, session=session)

    assert {
        "model": "claude-sonnet-4-5",
        "max_tokens": 900,
        "temperature": 0.2,
        "stop_sequences": ["END"],
        "messages": MESSAGES,
    } == body(transport.requests[0])


async def test_a_preset_chosen_with_model_text_routes_and_sets_parameters() -> None:
    """/model +deep: a preset naming a model and chain sends the request there first."""
    transport = ScriptedTransport([anthropic_answer("claude-opus-4-5")])
    config = load_config(
        {
            "agent": {
                "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}},
                "model": {"primary": "openai/gpt-4o"},
            },
            "presets": {
                "deep": {
                    "params": {"reasoning_effort": "medium", "max_tokens": 8000},
                    "model": "Opus",
                    "fallbacks": ["openai/gpt-4o"],
                }
            },
        }
    )
    choice = resolve_choice("+deep", config)
    session = SessionState().with_preset(choice.preset)
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(config, client=client, credentials=KEYS)
        done = await executor.complete(HELLO, session=session)

    assert "anthropic/claude-opus-4-5" == str(done.model)
    assert {
        "model": "claude-opus-4-5",
        "max_tokens": 8000,
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "messages": MESSAGES,
    } == body(transport.requests[0])


async def test_an_unknown_preset_is_refused_before_any_call() -> None:
    """A preset name that names nothing raises UnknownPresetError with a suggestion."""
    transport = ScriptedTransport([openai_answer("o3")])
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(built_in(), client=client, credentials=KEYS)
        with pytest.raises(UnknownPresetError, match="Did you mean 'deep'"):
            await executor.complete(HELLO, preset="dep")

    assert [] == transport.requests


async def test_openrouter_gets_its_reasoning_object() -> None:
    """On OpenRouter, reasoning_effort travels as the reasoning object and max_tokens keeps its name."""
    transport = ScriptedTransport([openai_answer("anthropic/claude-sonnet-4.5")])
    config = load_config(
        {
            "params": {"max_completion_tokens": 1200},
            "agent": {"model": {"primary": "openrouter/anthropic/claude-sonnet-4.5"}},
        }
    )
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(config, client=client, credentials=KEYS)
        await executor.complete(HELLO, preset="fast")

    assert {
        "model": "anthropic/claude-sonnet-4.5",
        "messages": MESSAGES,
        "max_tokens": 1200,
        "reasoning": {"effort": "low"},
    } == body(transport.requests[0])


async def test_experiment_arms_are_sticky_and_recorded_on_every_attempt() -> None:
    """Each session keeps its arm across requests; the arm's preset applies and every report names the arm."""
    config = load_config(
        {
            "agent": {"model": {"primary": "openai/gpt-4o"}},
            "experiments": {
                "tone": {
                    "arms": {
                        "control": {"weight": 1},
                        "precise": {"weight": 1, "preset": "precise"},
                    }
                }
            },
        }
    )
    transport = ScriptedTransport([openai_answer("gpt-4o")], repeat_last=True)
    events: list[ExecutorEvent] = []
    arms: dict[str, set[str | None]] = {}
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            config, client=client, credentials=KEYS, observers=[events.append]
        )
        for round_ in range(2):
            for session in ("s-1", "s-2", "s-3", "s-4", "s-5", "s-6"):
                done = await executor.complete(HELLO, session_id=session)
                arms.setdefault(session, set()).add(done.arm)
                assert {done.arm} == {report.arm for report in done.attempts}, round_
    sent = [body(r).get("temperature") for r in transport.requests]
    chosen = [next(iter(a)) for a in arms.values()]

    assert all(len(a) == 1 for a in arms.values())
    assert {"tone:control", "tone:precise"} == set(chosen)
    assert [0.2 if arm == "tone:precise" else None for arm in chosen] * 2 == sent
    assert {e.arm for e in events if isinstance(e, AttemptStarted)} == set(chosen)


async def test_a_session_that_chose_a_preset_is_not_overridden_by_its_arm() -> None:
    """The arm's preset applies only when the session and the request name none; the arm is still recorded."""
    config = load_config(
        {
            "agent": {"model": {"primary": "openai/gpt-4o"}},
            "experiments": {"tone": {"arms": {"creative": {"weight": 1, "preset": "creative"}}}},
        }
    )
    transport = ScriptedTransport([openai_answer("gpt-4o")], repeat_last=True)
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(config, client=client, credentials=KEYS)
        await executor.store.save_session("s-1", SessionState(preset="precise"))
        done = await executor.complete(HELLO, session_id="s-1")

    assert ("tone:creative", 0.2) == (done.arm, body(transport.requests[0])["temperature"])


# --- the loopback fake provider ---------------------------------------------------------------


def loopback(server: FakeProvider, primary: str, fallbacks: list[str]) -> Config:
    """Three providers on *server*: Anthropic's wire, OpenRouter's and a plain OpenAI-compatible one."""
    return load_config(
        {
            "params": {"temperature": 0.3, "max_tokens": 2000},
            "providers": {
                "ant": {"api": "anthropic", "baseUrl": server.base_url},
                "orr": {"api": "openrouter", "baseUrl": server.base_url},
                "oai": {"api": "openai", "baseUrl": server.base_url},
            },
            "agent": {
                "models": {"orr/vendor/model-y": {"params": {"stop": ["STOP"]}}},
                "model": {"primary": primary, "fallbacks": fallbacks},
            },
        }
    )


async def test_the_loopback_provider_receives_the_translated_parameters_per_wire() -> None:
    """Against the real fake server, each wire's request body holds its own spelling of the layers."""
    with FakeProvider() as server:
        config = loopback(server, "ant/429", ["orr/vendor/model-y", "oai/ok"])
        async with httpx.AsyncClient() as client:
            executor = Executor.from_config(config, client=client, credentials=KEYS, sleep=no_wait)
            done = await executor.complete(HELLO, preset="economical")
        received = [r.body for r in server.requests]

    assert "orr/vendor/model-y" == str(done.model)
    # The Anthropic attempt: 1024 tokens leave no room for a thinking budget, so the
    # effort is dropped and the temperature stays.
    assert {
        "model": "429",
        "max_tokens": 1024,
        "temperature": 0.3,
        "messages": MESSAGES,
    } == received[0]
    assert {
        "model": "vendor/model-y",
        "messages": MESSAGES,
        "temperature": 0.3,
        "max_tokens": 1024,
        "stop": ["STOP"],
        "reasoning": {"effort": "low"},
    } == received[1]


async def test_a_stream_sends_the_resolved_parameters_too() -> None:
    """A streamed request to the loopback server carries the same resolved parameters, with stream set."""
    with FakeProvider() as server:
        config = loopback(server, "oai/ok", [])
        async with httpx.AsyncClient() as client:
            executor = Executor.from_config(config, client=client, credentials=KEYS)
            request = ChatRequest(messages=HELLO.messages, params={"seed": 9}, stream=True)
            async with executor.stream(request, preset="precise") as answer:
                text = await answer.text()
        received = server.requests[0].body

    assert "Hello from ok" == text
    assert {
        "model": "ok",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 2000,
        "seed": 9,
        "stream": True,
        "stream_options": {"include_usage": True},
    } == received
