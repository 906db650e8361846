"""
Tests for budgets kept in a store's counters: reservations, refusals, settlement and alerts.
"""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg import ModelRef, ProfileId
from modelcfg.stores import MemoryStateStore
from modelcfg.usage import Budget, BudgetPeriod, Cost, Spender
from modelcfg.usage._budgets import BudgetAlert, BudgetKeeper, Counters, Refusal, Reservation
from tests.usage.records import T0

pytestmark = pytest.mark.anyio

OPENAI = Spender(
    model=ModelRef.parse("openai/gpt-5"),
    profile=ProfileId.parse("openai:work"),
    session="chat-1",
    api_key="team-a",
)


class Interleaving:
    """Counters that let other tasks run before and after every operation, as a network store does."""

    def __init__(self, inner: Counters) -> None:
        self.inner = inner

    async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int:
        await anyio.sleep(0)
        total = await self.inner.add_to_counter(key, amount, ttl_s=ttl_s)
        await anyio.sleep(0)
        return total

    async def load_counter(self, key: str) -> int:
        await anyio.sleep(0)
        return await self.inner.load_counter(key)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def usd(text: str) -> Cost:
    return Cost(usd=Decimal(text))


def daily(**fields: object) -> Budget:
    defaults: dict[str, object] = {
        "name": "daily",
        "scope": "provider",
        "match": "openai",
        "limit_usd": "1",
        "period": BudgetPeriod.parse("day"),
    }
    return Budget(**{**defaults, **fields})  # type: ignore[arg-type]


def keeper(
    *budgets: Budget, counters: Counters | None = None, clock: Clock | None = None
) -> BudgetKeeper:
    alerts: list[BudgetAlert] = []
    made = BudgetKeeper(
        budgets or (daily(),),
        counters if counters is not None else MemoryStateStore(),
        clock=clock or Clock(),
        on_alert=alerts.append,
    )
    made.alerts = alerts  # type: ignore[attr-defined]
    return made


async def test_a_request_within_its_budget_is_held_then_charged_its_actual_cost() -> None:
    """The estimate is held while the request runs and replaced by the actual cost after."""
    budgets = keeper()
    reservation = await budgets.reserve(OPENAI, usd("0.30"))
    held = await budgets.spent(daily(), "openai")
    assert isinstance(reservation, Reservation)
    await budgets.settle(reservation, usd("0.12"))

    assert (Decimal("0.3"), Decimal("0.12")) == (held, await budgets.spent(daily(), "openai"))


async def test_a_request_that_would_cross_a_hard_limit_is_refused_with_the_figures() -> None:
    """The refusal names the budget, the spend so far and the estimate."""
    budgets = keeper()
    first = await budgets.reserve(OPENAI, usd("0.90"))
    assert isinstance(first, Reservation)

    refusal = await budgets.reserve(OPENAI, usd("0.20"))

    assert (
        "budget 'daily' (provider openai, $1.00 per day): $0.90 of $1.00 is spent or reserved, "
        "and this request is estimated at $0.20"
    ) == str(refusal)


async def test_a_refusal_leaves_nothing_held() -> None:
    """When a later budget refuses, the holds already taken in earlier ones are given back."""
    roomy = daily(name="roomy", limit_usd="100")
    tight = daily(name="tight", scope="session", match=None, limit_usd="0.10")
    budgets = keeper(roomy, tight)

    refusal = await budgets.reserve(OPENAI, usd("0.50"))

    assert isinstance(refusal, Refusal)
    assert ("tight", Decimal(0), Decimal(0)) == (
        refusal.budget.name,
        await budgets.spent(roomy, "openai"),
        await budgets.spent(tight, "chat-1"),
    )


async def test_an_unpriced_request_is_refused_unless_the_budget_allows_it() -> None:
    """A hard budget refuses a request it cannot price, unless told to let those through."""
    strict, lenient = keeper(), keeper(daily(allow_unpriced=True))

    assert (True, True) == (
        isinstance(await strict.reserve(OPENAI, Cost.unknown()), Refusal),
        isinstance(await lenient.reserve(OPENAI, Cost.unknown()), Reservation),
    )


async def test_budgets_that_do_not_match_the_spender_are_left_alone() -> None:
    """A budget on another provider neither refuses nor is charged."""
    other = daily(match="anthropic", limit_usd="0")
    budgets = keeper(other)
    reservation = await budgets.reserve(OPENAI, usd("5"))
    assert isinstance(reservation, Reservation)
    await budgets.settle(reservation, usd("5"))

    assert Decimal(0) == await budgets.spent(other, "anthropic")


async def test_a_soft_budget_never_refuses_and_is_charged_after() -> None:
    """A soft budget lets a request over its limit through and counts its cost."""
    soft = daily(hard=False)
    budgets = keeper(soft)
    reservation = await budgets.reserve(OPENAI, usd("3"))
    assert isinstance(reservation, Reservation)
    await budgets.settle(reservation, usd("2.5"))

    assert Decimal("2.5") == await budgets.spent(soft, "openai")


async def test_alerts_fire_once_per_period_per_threshold() -> None:
    """Crossing 50% and 80% alerts once each; the next day the same thresholds alert again."""
    clock = Clock()
    budgets = keeper(daily(hard=False), clock=clock)
    for cost in ("0.55", "0.10", "0.20", "0.01"):
        reservation = await budgets.reserve(OPENAI, usd(cost))
        assert isinstance(reservation, Reservation)
        await budgets.settle(reservation, usd(cost))
    clock.now += 86400
    reservation = await budgets.reserve(OPENAI, usd("0.6"))
    assert isinstance(reservation, Reservation)
    await budgets.settle(reservation, usd("0.6"))

    assert [("0.5", "2025-06-15"), ("0.8", "2025-06-15"), ("0.5", "2025-06-16")] == [
        (str(a.threshold), a.period)
        for a in budgets.alerts  # type: ignore[attr-defined]
    ]


async def test_two_processes_sharing_counters_alert_once() -> None:
    """Keepers over one store (two workers) give each alert once between them."""
    shared = MemoryStateStore()
    first, second = keeper(counters=shared), keeper(counters=shared)
    for budgets in (first, second, first):
        reservation = await budgets.reserve(OPENAI, usd("0.3"))
        assert isinstance(reservation, Reservation)
        await budgets.settle(reservation, usd("0.3"))

    assert (["0.8"], ["0.5"]) == (
        [str(a.threshold) for a in first.alerts],  # type: ignore[attr-defined]
        [str(a.threshold) for a in second.alerts],  # type: ignore[attr-defined]
    )


async def test_an_alert_says_what_was_reached() -> None:
    """An alert carries the budget, subject, threshold, spend and a sentence."""
    budgets = keeper()
    reservation = await budgets.reserve(OPENAI, usd("0.5"))
    assert isinstance(reservation, Reservation)

    (alert,) = await budgets.settle(reservation, usd("0.5"))

    assert (
        BudgetAlert(
            budget="daily",
            subject="openai",
            threshold=Decimal("0.5"),
            spent_usd=Decimal("0.5"),
            limit_usd=Decimal("1"),
            period="2025-06-15",
            hard=True,
            message="budget 'daily' (provider openai, $1.00 per day) reached 50% of its limit "
            "(0.50 USD spent or reserved)",
        )
        == alert
    )


async def test_spend_leaves_a_rolling_window_as_it_ages() -> None:
    """A 24h window counts spend from 23 hours ago but not from 25 hours ago."""
    clock = Clock()
    window = daily(period=BudgetPeriod.parse("24h"))
    budgets = keeper(window, clock=clock)
    reservation = await budgets.reserve(OPENAI, usd("0.7"))
    assert isinstance(reservation, Reservation)
    await budgets.settle(reservation, usd("0.7"))
    clock.now += 23 * 3600
    within = await budgets.spent(window, "openai")
    clock.now += 2 * 3600

    assert (Decimal("0.7"), Decimal(0)) == (within, await budgets.spent(window, "openai"))


async def test_a_released_reservation_costs_nothing() -> None:
    """Releasing a reservation (the request was never sent) gives its estimate back."""
    budgets = keeper()
    reservation = await budgets.reserve(OPENAI, usd("0.6"))
    assert isinstance(reservation, Reservation)
    await budgets.release(reservation)

    assert Decimal(0) == await budgets.spent(daily(), "openai")


async def test_an_attempt_costing_more_than_its_estimate_can_cross_the_limit() -> None:
    """Only cost beyond an estimate crosses a hard limit; then even a free request is refused."""
    budgets = keeper()
    reservation = await budgets.reserve(OPENAI, usd("0.9"))
    assert isinstance(reservation, Reservation)
    await budgets.settle(reservation, usd("1.2"))

    assert (Decimal("1.2"), True) == (
        await budgets.spent(daily(), "openai"),
        isinstance(await budgets.reserve(OPENAI, usd("0")), Refusal),
    )


def test_budget_names_must_be_unique() -> None:
    """Two budgets with one name would share counters, so they are refused."""
    with pytest.raises(ValueError, match="budget names must be unique: 'daily'"):
        BudgetKeeper([daily(), daily(scope="total", match=None)], MemoryStateStore())


@settings(max_examples=10, deadline=None)
@given(
    limit=st.integers(1, 2000),
    estimates=st.lists(st.integers(1, 40), min_size=200, max_size=200),
    spends=st.lists(st.floats(0, 1), min_size=200, max_size=200),
    pauses=st.lists(st.integers(0, 3), min_size=200, max_size=200),
)
def test_concurrent_requests_never_cross_a_limit_by_more_than_one_estimate(
    limit: int, estimates: list[int], spends: list[float], pauses: list[int]
) -> None:
    """200 concurrent requests against one hard limit: the spend never exceeds it by more than one estimate."""
    cents = Decimal("0.01")
    counters = MemoryStateStore()
    budgets = BudgetKeeper(
        [daily(limit_usd=Decimal(limit) * cents)], Interleaving(counters), clock=Clock()
    )
    admitted: list[int] = []

    async def request(estimate: int, spend: float, pause: int) -> None:
        reservation = await budgets.reserve(OPENAI, Cost(usd=estimate * cents))
        if isinstance(reservation, Refusal):
            return
        admitted.append(estimate)
        for _ in range(pause):
            await anyio.sleep(0)
        await budgets.settle(reservation, Cost(usd=int(estimate * spend) * cents))

    async def main() -> Decimal:
        async with anyio.create_task_group() as group:
            for estimate, spend, pause in zip(estimates, spends, pauses, strict=True):
                group.start_soon(request, estimate, spend, pause)
        return await budgets.spent(daily(), "openai")

    spent = anyio.run(main)

    assert spent <= Decimal(limit) * cents + max(estimates) * cents
    assert spent <= Decimal(limit) * cents  # estimates bound the costs, so not even one over
    # The first request reserves first (asyncio runs tasks in order): if it fits, it goes out.
    assert admitted or estimates[0] > limit
