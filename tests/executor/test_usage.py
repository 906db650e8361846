"""
Tests for usage, cost and budgets in the executor: completions and streams priced from
the catalog, every billed attempt in the ledger, budgets that skip a candidate before
its call, over ``httpx.MockTransport`` and a real loopback server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import anyio
import httpx
import pytest

from modelcfg import AttemptsExhaustedError, ModelRef, SkipCode
from modelcfg._config._load import load_config
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg._executor._reports import (
    AttemptStarted,
    CandidateSkipped,
    ExecutorEvent,
)
from modelcfg._messages import ChatRequest, Message, StreamEnd, Usage
from modelcfg.exceptions import ModelcfgError
from modelcfg.stores import MemoryStateStore
from modelcfg.testing import FakeProvider
from modelcfg.usage import BudgetAlert, Cost, MemoryLedger, TokenKind

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000.0
KEYS = {"anthropic:default": "key-anthropic", "openai:default": "key-openai"}
HELLO = ChatRequest(messages=[Message(role="user", content="hello")], params={"max_tokens": 100})


def config(budgets: list[dict[str, object]] | None = None) -> object:
    return load_config(
        {
            "providers": {
                "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
                "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
            },
            "agent": {
                "model": {
                    "primary": "anthropic/claude-opus-4-5",
                    "fallbacks": ["openai/gpt-5.2"],
                }
            },
            "budgets": budgets or [],
        }
    )


Reply = Callable[[httpx.Request], httpx.Response]


def anthropic_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": json.loads(request.content)["model"],
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1000, "output_tokens": 200, "cache_read_input_tokens": 4000},
        },
    )


def openai_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "model": json.loads(request.content)["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 2000, "completion_tokens": 100},
        },
    )


def anthropic_as_estimated(request: httpx.Request) -> httpx.Response:
    """An answer that uses what the estimate said: a short prompt, max_tokens of output."""
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "max_tokens",
            "usage": {"input_tokens": 6, "output_tokens": body["max_tokens"]},
        },
    )


def openai_as_estimated(request: httpx.Request) -> httpx.Response:
    """An OpenAI answer that uses what the estimate said."""
    body = json.loads(request.content)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 6, "completion_tokens": limit},
        },
    )


def overloaded(_request: httpx.Request) -> httpx.Response:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    return httpx.Response(529, json=body)


def anthropic_cut_after_start(_request: httpx.Request) -> httpx.Response:
    """A stream that reports its input tokens, then fails with an error event."""
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 3000}}},
        ),
        (
            "error",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ),
    ]
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def openai_stream(_request: httpx.Request) -> httpx.Response:
    chunks = [
        {
            "id": "c1",
            "model": "gpt-5.2",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
        },
        {
            "id": "c1",
            "model": "gpt-5.2",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        },
        {
            "id": "c1",
            "model": "gpt-5.2",
            "choices": [],
            "usage": {"prompt_tokens": 2000, "completion_tokens": 100},
        },
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


class Provider:
    """Answers by the key sent; records which provider each request reached."""

    def __init__(self, anthropic: Reply, openai: Reply = openai_ok) -> None:
        self.replies = {"key-anthropic": anthropic, "key-openai": openai}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("x-api-key") or request.headers["authorization"].removeprefix(
            "Bearer "
        )
        self.seen.append(key.removeprefix("key-"))
        return self.replies[key](request)


async def no_sleep(_seconds: float) -> None:
    return None


def build(
    client: httpx.AsyncClient,
    *,
    budgets: list[dict[str, object]] | None = None,
    ledger: MemoryLedger | None = None,
    events: list[ExecutorEvent] | None = None,
    store: object = None,
) -> Executor:
    return Executor.from_config(
        config(budgets),  # type: ignore[arg-type]
        client=client,
        credentials=StaticCredentials(KEYS),
        store=store if store is not None else MemoryStateStore(),  # type: ignore[arg-type]
        ledger=ledger,
        observers=[events.append] if events is not None else [],
        clock=lambda: T0,
        sleep=no_sleep,
    )


def client_for(provider: Provider) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(provider))


async def test_a_completion_carries_its_usage_and_its_cost_from_the_catalog() -> None:
    """The answer's tokens are priced at the curated prices of the model that answered."""
    ledger = MemoryLedger()
    async with client_for(Provider(anthropic_ok)) as client:
        completion = await build(client, ledger=ledger).complete(HELLO, session_id="chat-1")

    # 1,000 x $5 + 200 x $25 + 4,000 x $0.50 per million tokens
    assert Cost(usd=Decimal("0.012")) == completion.cost
    assert (
        Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=4000),
        completion.cost,
    ) == (
        completion.attempts[-1].usage,
        completion.attempts[-1].cost,
    )
    (record,) = ledger.records()
    assert (True, "chat-1", ModelRef.parse("anthropic/claude-opus-4-5"), completion.cost) == (
        record.answered,
        record.session,
        record.model,
        record.cost,
    )


async def test_an_error_response_is_recorded_as_a_failure_that_cost_nothing() -> None:
    """A 529 reports no usage and is not billed: its attempt is recorded as failed, at no cost."""
    ledger = MemoryLedger()
    async with client_for(Provider(overloaded)) as client:
        completion = await build(client, ledger=ledger).complete(HELLO)

    assert (None, Cost()) == (completion.attempts[0].usage, completion.attempts[0].cost)
    assert [(False, Cost()), (True, completion.cost)] == [
        (r.answered, r.cost) for r in ledger.records()
    ]
    assert completion.cost == completion.spent


async def test_a_stream_cut_after_its_usage_is_billed_and_marked_unanswered() -> None:
    """The input tokens a failed stream reported are recorded as not answered, and the stream's end carries the answer's cost."""
    ledger = MemoryLedger()
    async with client_for(Provider(anthropic_cut_after_start, openai_stream)) as client:
        executor = build(client, ledger=ledger)
        async with executor.stream(HELLO) as answer:
            events = [event async for event in answer]
        completion = answer.completion
    assert completion is not None

    failed, answered = ledger.records()
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert (False, Usage(input_tokens=3000), Cost(usd=Decimal("0.015"))) == (
        failed.answered,
        failed.usage,
        failed.cost,
    )
    # 2,000 x $1.75 + 100 x $14 per million tokens
    assert (Cost(usd=Decimal("0.0049")), completion.cost) == (end.cost, answered.cost)
    assert Cost(usd=Decimal("0.0199")) == completion.spent
    assert failed.request_id == answered.request_id


async def test_a_hard_budget_skips_a_candidate_before_its_call() -> None:
    """The primary's provider is over its budget: it is skipped without a request, and the fallback answers."""
    provider = Provider(anthropic_ok)
    events: list[ExecutorEvent] = []
    budgets = [
        {
            "name": "anthropic-day",
            "scope": "provider",
            "match": "anthropic",
            "limitUsd": "0.001",
            "period": "day",
        }
    ]
    async with client_for(provider) as client:
        completion = await build(client, budgets=budgets, events=events).complete(HELLO)

    skips = [e for e in events if isinstance(e, CandidateSkipped)]
    assert (["openai"], "openai/gpt-5.2") == (provider.seen, str(completion.model))
    assert [SkipCode.OVER_BUDGET.value] == [s.code for s in skips]
    assert skips[0].message.startswith(
        "anthropic:default with anthropic/claude-opus-4-5 skipped: over budget 'anthropic-day' "
        "(provider anthropic, $0.001 per day): $0.00 of $0.001 is spent or reserved, and this "
        "request is estimated at $0.00253"
    )


async def test_when_every_candidate_is_over_budget_the_request_gives_up_unsent() -> None:
    """A total budget that nothing fits under gives up without a single request."""
    provider = Provider(anthropic_ok)
    budgets = [{"name": "all", "scope": "total", "limitUsd": 0, "period": "month"}]
    async with client_for(provider) as client:
        with pytest.raises(
            AttemptsExhaustedError, match="no model of the chain can serve"
        ) as caught:
            await build(client, budgets=budgets).complete(HELLO)

    assert ([], 0) == (provider.seen, caught.value.state.attempts)


async def test_budgets_are_charged_the_actual_cost_and_alert_once() -> None:
    """Each answer's cost is charged to the budget; crossing 50% of it alerts once."""
    events: list[ExecutorEvent] = []
    store = MemoryStateStore()
    budgets = [
        {"name": "daily", "scope": "total", "limitUsd": "0.04", "period": "day", "hard": False}
    ]
    async with client_for(Provider(anthropic_ok)) as client:
        executor = build(client, budgets=budgets, events=events, store=store)
        for _ in range(3):
            await executor.complete(HELLO)
        spent = await executor.accounting.keeper.spent(  # type: ignore[union-attr]
            executor.accounting.keeper.budgets[0],  # type: ignore[union-attr]
            "*",
        )

    alerts = [e for e in events if isinstance(e, BudgetAlert)]
    assert (Decimal("0.036"), ["0.5", "0.8"]) == (spent, [str(a.threshold) for a in alerts])


async def test_a_cancelled_call_gives_its_reservation_back() -> None:
    """A request cancelled while its call is out leaves nothing held in its budgets."""
    started = anyio.Event()

    async def hang(_request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    budgets = [{"name": "daily", "scope": "total", "limitUsd": 1, "period": "day"}]
    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        executor = build(client, budgets=budgets)
        async with anyio.create_task_group() as group:
            group.start_soon(executor.complete, HELLO)
            await started.wait()
            group.cancel_scope.cancel()
        keeper = executor.accounting.keeper
        assert keeper is not None

        assert Decimal(0) == await keeper.spent(keeper.budgets[0], "*")


async def test_concurrent_requests_through_the_executor_stay_within_a_limit() -> None:
    """200 concurrent requests against one hard limit: the spend never passes it."""
    budgets = [{"name": "daily", "scope": "total", "limitUsd": "0.5", "period": "day"}]
    async with client_for(Provider(anthropic_as_estimated, openai_as_estimated)) as client:
        executor = build(client, budgets=budgets)
        answered = 0

        async def one() -> None:
            nonlocal answered
            try:
                await executor.complete(HELLO)
                answered += 1
            except AttemptsExhaustedError:
                pass

        async with anyio.create_task_group() as group:
            for _ in range(200):
                group.start_soon(one)
        keeper = executor.accounting.keeper
        assert keeper is not None
        spent = await keeper.spent(keeper.budgets[0], "*")

    assert spent <= Decimal("0.5")
    assert 0 < answered < 200


async def test_budgets_need_a_store_that_keeps_counters() -> None:
    """A host's own state store without counters cannot keep budgets, and says so."""

    class HealthOnly:
        async def load_health(self) -> object: ...
        async def update_health(self, change: object) -> object: ...
        async def load_session(self, session_id: str) -> object: ...
        async def save_session(self, session_id: str, session: object) -> None: ...

    budgets = [{"name": "daily", "scope": "total", "limitUsd": 1, "period": "day"}]
    async with client_for(Provider(anthropic_ok)) as client:
        with pytest.raises(ModelcfgError, match="Budgets are kept in the state store's counters"):
            build(client, budgets=budgets, store=HealthOnly())


async def test_without_a_catalog_price_the_cost_is_unknown() -> None:
    """A model the catalog does not price has an unknown cost, never zero."""
    async with client_for(Provider(anthropic_ok)) as client:
        executor = Executor(
            build(client).routes,
            providers=build(client).providers,
            credentials=StaticCredentials(KEYS),
            client=client,
            clock=lambda: T0,
        )
        completion = await executor.complete(HELLO)

    assert completion.cost is not None
    assert (None, {TokenKind.INPUT, TokenKind.OUTPUT, TokenKind.CACHE_READ}) == (
        completion.cost.total,
        set(completion.cost.unpriced),
    )


async def test_an_attempt_started_event_still_comes_for_the_call_that_went_out() -> None:
    """Skipping a candidate over budget starts exactly one attempt, on the fallback."""
    events: list[ExecutorEvent] = []
    budgets = [
        {
            "name": "a",
            "scope": "model",
            "match": "anthropic/claude-opus-4-5",
            "limitUsd": 0,
            "period": "hour",
        }
    ]
    async with client_for(Provider(anthropic_ok)) as client:
        await build(client, budgets=budgets, events=events).complete(HELLO)

    assert ["openai/gpt-5.2"] == [
        str(e.target.model) for e in events if isinstance(e, AttemptStarted)
    ]


async def test_over_a_real_server_a_cut_stream_is_billed_and_the_fallback_priced() -> None:
    """Against the loopback fake provider: a stream cut after its usage is recorded as not answered, and the restart's answer is priced from the config's own prices."""
    ledger = MemoryLedger()
    with FakeProvider() as fake:
        loopback = load_config(
            {
                "providers": {
                    "ant": {"api": "anthropic", "baseUrl": fake.base_url},
                    "oai": {"api": "openai", "baseUrl": fake.base_url},
                },
                "agent": {
                    "models": {
                        "ant/cut": {"pricing": {"input": 3, "output": 15}},
                        "oai/ok": {"pricing": {"input": 1, "output": 2}},
                    },
                    "model": {"primary": "ant/cut", "fallbacks": ["oai/ok"]},
                },
            }
        )
        async with httpx.AsyncClient() as client:
            executor = Executor.from_config(
                loopback,
                client=client,
                credentials=StaticCredentials({"ant:default": "k1", "oai:default": "k2"}),
                ledger=ledger,
            )
            async with executor.stream(HELLO, restart_after_output=True) as answer:
                events = [event async for event in answer]

    cut, answered = ledger.records()
    end = events[-1]
    assert isinstance(end, StreamEnd)
    # 12 x $3 + 1 x $15, then 12 x $1 + 4 x $2, per million tokens
    assert (False, Usage(input_tokens=12, output_tokens=1), Decimal("0.000051")) == (
        cut.answered,
        cut.usage,
        cut.cost.total,
    )
    assert (True, Decimal("0.00002"), Decimal("0.00002")) == (
        answered.answered,
        answered.cost.total,
        end.cost.total if end.cost else None,
    )
