"""
Tests for ScriptedTransport: answers from a list, exceptions raised, requests recorded.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from modelcfg import ChatRequest, Executor, Message, load_config
from modelcfg.testing import FakeClock, ScriptedTransport, ScriptExhaustedError

pytestmark = pytest.mark.anyio

HELLO = ChatRequest(messages=[Message(role="user", content="hello")])


def openai_answer(request: httpx.Request) -> httpx.Response:
    """An OpenAI chat completion naming the requested model."""
    model = json.loads(request.content)["model"]
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"hi from {model}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        },
    )


async def test_steps_answer_in_order_and_requests_are_recorded() -> None:
    """Each request gets the next step; every request is kept, body and all."""
    transport = ScriptedTransport(
        [httpx.Response(503, text="busy"), httpx.Response(200, json={"ok": True})]
    )
    async with httpx.AsyncClient(transport=transport) as client:
        first = await client.post("http://provider.test/v1/a", json={"n": 1})
        second = await client.post("http://provider.test/v1/b", json={"n": 2})

    assert (503, 200) == (first.status_code, second.status_code)
    assert ["/v1/a", "/v1/b"] == [r.url.path for r in transport.requests]
    assert [{"n": 1}, {"n": 2}] == [json.loads(r.content) for r in transport.requests]
    assert 0 == transport.remaining


async def test_an_exception_step_is_raised_to_the_client() -> None:
    """An exception in the script fails the request as a broken connection would."""
    transport = ScriptedTransport([httpx.ConnectError("connection refused")])
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError, match="connection refused"):
            await client.get("http://provider.test/")

    assert 1 == len(transport.requests)


async def test_a_function_step_answers_from_the_request() -> None:
    """A function in the script builds its answer from the request it gets."""
    transport = ScriptedTransport([lambda request: httpx.Response(200, text=request.url.path)])
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get("http://provider.test/echo")

    assert "/echo" == response.text


async def test_past_the_end_a_request_fails_with_its_name() -> None:
    """A request after the last answer fails and says which request it was."""
    transport = ScriptedTransport([httpx.Response(204)])
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("http://provider.test/one")
        with pytest.raises(
            ScriptExhaustedError, match=r"request 2 \(GET http://provider.test/two\)"
        ):
            await client.get("http://provider.test/two")


async def test_the_last_step_repeats_when_asked() -> None:
    """With repeat_last the last response answers every later request, each a fresh copy."""
    transport = ScriptedTransport(
        [httpx.Response(429), httpx.Response(200, json={"n": 1})], repeat_last=True
    )
    async with httpx.AsyncClient(transport=transport) as client:
        codes = [(await client.get("http://provider.test/")).status_code for _ in range(4)]
        body = (await client.get("http://provider.test/")).json()

    assert [429, 200, 200, 200] == codes
    assert {"n": 1} == body
    assert 5 == len(transport.requests)


def test_repeating_needs_a_step() -> None:
    """An empty script cannot repeat its last step."""
    with pytest.raises(ValueError, match="at least one step"):
        ScriptedTransport([], repeat_last=True)


@given(hst.lists(hst.sampled_from([200, 201, 429, 500, 503]), min_size=1, max_size=8))
def test_any_script_of_statuses_is_played_back_in_order(statuses: list[int]) -> None:
    """Whatever the script, the statuses come back in its order, one request each."""
    transport = ScriptedTransport([httpx.Response(code) for code in statuses])
    with httpx.Client(transport=transport) as client:
        played = [client.get("http://provider.test/").status_code for _ in statuses]

    assert statuses == played
    assert len(statuses) == len(transport.requests)


async def test_the_executor_waits_out_a_scripted_rate_limit() -> None:
    """An executor over a script waits out a 429 on the fake clock, at once, and answers."""
    config = load_config(
        {
            "providers": {"openai": {"baseUrl": "http://provider.test/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2"}},
        }
    )
    transport = ScriptedTransport(
        [
            httpx.Response(429, json={"error": {"message": "slow down", "type": "requests"}}),
            openai_answer,
        ]
    )
    clock = FakeClock()
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            config,
            client=client,
            environ={"OPENAI_API_KEY": "sk-test-0123456789abcdef"},
            clock=clock,
            sleep=clock.sleep,
        )
        completion = await executor.complete(HELLO)

    assert "hi from gpt-5.2" == completion.text
    assert ["gpt-5.2", "gpt-5.2"] == [json.loads(r.content)["model"] for r in transport.requests]
    assert 1 == len(clock.sleeps)
    assert 30 <= clock.sleeps[0] <= 30 * 1.2  # the rate limit's window, with its jitter
