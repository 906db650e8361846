"""
Tests for the executor's accounting: prices from the catalog, ledger records, budget charges.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from modelcfg import (
    ChatRequest,
    Failure,
    FailureKind,
    Message,
    ModelCatalog,
    ModelInfo,
    Target,
    Usage,
)
from modelcfg.stores import MemoryStateStore
from modelcfg.usage import Budget, BudgetPeriod, Cost, MemoryLedger, Refusal, Reservation
from modelcfg.usage._accounting import Accounting, Charge
from tests.usage.records import T0

pytestmark = pytest.mark.anyio

GPT = Target.parse("openai/gpt-5 with openai:work")
LOCAL = Target.parse("local/llama with local:default")
CATALOG = ModelCatalog.from_records(
    [
        ModelInfo.unknown(GPT.model).with_overrides(
            pricing={"input": 1.25, "output": 10.0, "cache_read": 0.125}, max_output_tokens=2000
        )
    ]
)
REQUEST = ChatRequest(
    messages=[Message(role="user", content="x" * 400)], params={"max_tokens": 500}
)
CHARGE = Charge(request_id="req-1", session="chat-1", api_key="team-a", arm="b")


def accounting(**options: object) -> Accounting:
    defaults: dict[str, object] = {
        "catalog": CATALOG,
        "ledger": MemoryLedger(),
        "clock": lambda: T0,
    }
    return Accounting(**{**defaults, **options})  # type: ignore[arg-type]


def test_prices_come_from_the_catalog_and_unknown_models_cost_unknown() -> None:
    """A catalog model is priced at its prices; a model without any has an unknown cost."""
    books = accounting()
    usage = Usage(input_tokens=1000, output_tokens=100)

    assert (Decimal("0.00225"), None) == (
        books.cost(GPT.model, usage).total,
        books.cost(LOCAL.model, usage).total,
    )


def test_the_estimate_prices_the_prompt_and_the_requests_output_limit() -> None:
    """400 characters of prompt (138 tokens at routing's 3.5 a token with its margin, + 4) and max_tokens 500."""

    assert Cost(usd=Decimal("0.0051775")) == accounting().estimate(GPT.model, REQUEST)


def test_an_answer_is_recorded_with_its_cost_and_who_it_is_charged_to() -> None:
    """charge() records the answered attempt with the request's ids and returns its cost."""
    ledger = MemoryLedger()
    cost = accounting(ledger=ledger).record(
        charge=CHARGE, attempt=2, target=GPT, usage=Usage(output_tokens=100)
    )
    (kept,) = ledger.records()

    assert (Decimal("0.001"), "req-1", 2, "chat-1", "team-a", "b", True) == (
        cost.total,
        kept.request_id,
        kept.attempt,
        kept.session,
        kept.api_key,
        kept.arm,
        kept.answered,
    )


def failure(kind: FailureKind, status: int | None = None) -> Failure:
    return Failure(kind=kind, observed_at=T0, status=status, model=GPT.model, profile=GPT.profile)


@pytest.mark.parametrize(
    ("usage", "failed", "expected"),
    [
        (
            Usage(input_tokens=800),
            failure(FailureKind.STREAM_INTERRUPTED),
            Cost(usd=Decimal("0.001")),
        ),
        (None, failure(FailureKind.SERVER, 500), Cost()),
        (None, failure(FailureKind.TIMEOUT), Cost.unknown()),
        (Usage(), None, Cost.unknown()),
        (None, None, Cost.unknown()),
    ],
    ids=["billed-failure", "error-response", "timeout", "answer-without-usage", "no-usage"],
)
def test_every_attempt_is_recorded_with_what_it_cost(
    usage: Usage | None, failed: Failure | None, expected: Cost
) -> None:
    """Usage is priced; an error response without usage cost nothing; any other attempt without usage cost an unknown amount."""
    ledger = MemoryLedger()
    cost = accounting(ledger=ledger).record(
        charge=CHARGE, attempt=1, target=GPT, usage=usage, failure=failed
    )
    (kept,) = ledger.records()

    assert (expected, expected, failed is None) == (cost, kept.cost, kept.answered)


async def test_without_budgets_nothing_is_reserved() -> None:
    """With no budget configured, reserve() holds nothing and refuses nothing."""

    assert None is await accounting().reserve(GPT, REQUEST, CHARGE)


async def test_budgets_are_reserved_then_charged_the_actual_cost() -> None:
    """The estimate is held before the call and replaced by the attempt's cost after."""
    store = MemoryStateStore()
    budget = Budget(
        name="daily", scope="session", limit_usd="0.01", period=BudgetPeriod.parse("day")
    )
    books = accounting(budgets=[budget], counters=store)
    held = await books.reserve(GPT, REQUEST, CHARGE)
    assert isinstance(held, Reservation)
    cost = books.record(charge=CHARGE, attempt=1, target=GPT, usage=Usage(output_tokens=100))
    await books.settle(held, cost)
    second = await books.reserve(GPT, REQUEST, CHARGE)
    third = await books.reserve(GPT, REQUEST, CHARGE)

    assert (True, True) == (isinstance(second, Reservation), isinstance(third, Refusal))
    assert Decimal("0.0061775") == await books.keeper.spent(budget, "chat-1")  # type: ignore[union-attr]


async def test_a_reservation_without_a_cost_is_given_back() -> None:
    """Settling with no cost (nothing was billed) releases what the attempt held."""
    store = MemoryStateStore()
    budget = Budget(name="daily", scope="total", limit_usd="1", period=BudgetPeriod.parse("day"))
    books = accounting(budgets=[budget], counters=store)
    held = await books.reserve(GPT, REQUEST, CHARGE)
    assert isinstance(held, Reservation)
    await books.settle(held, None)

    assert Decimal(0) == await books.keeper.spent(budget, "*")  # type: ignore[union-attr]


def test_budgets_need_a_counter_store() -> None:
    """Budgets without a store to count in are refused at once."""
    budget = Budget(name="d", scope="total", limit_usd=1, period=BudgetPeriod.parse("day"))

    with pytest.raises(ValueError, match="budgets need a store that keeps counters"):
        accounting(budgets=[budget])
