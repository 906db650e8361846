"""
Budgets in a shared store: reserve a request's estimate before the call, settle
its actual cost after, and alert once per period per threshold.

The spend of each budget and subject is a store counter per period (per slot of
a rolling window), in whole picodollars. The rules are pure
(:mod:`modelcfg._core._budget`); this module only reads and adds to counters:

- :meth:`BudgetKeeper.reserve` adds the request's estimate to every hard
  budget that applies, reads the total back (one atomic addition), and takes the
  reservation back at once if the total would cross a limit. Requests in flight
  hold their estimates, so however many run at once, the reservations together
  never exceed a limit: the limit is crossed only by what attempts cost beyond
  their estimates.
- :meth:`BudgetKeeper.settle` replaces the reservation with the actual cost (and
  charges soft budgets), then gives each alert threshold the spend has reached,
  once per period: the first process whose increment of the alert's own counter
  returns 1 gives it, so a fleet sharing a Redis store alerts once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Protocol

import attrs

from modelcfg._core._budget import Bucket, Budget, Spender, alerts_due, over_limit
from modelcfg._core._cost import Cost, from_picodollars, to_picodollars
from modelcfg.typing import Clock

__all__ = ["BudgetAlert", "BudgetKeeper", "Counters", "Refusal", "Reservation"]


class Counters(Protocol):
    """
    Atomic named counters: the part of :class:`modelcfg.typing.CounterStore` budgets use,
    which every state store of :mod:`modelcfg.stores` implements.
    """

    async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int: ...

    async def load_counter(self, key: str) -> int: ...


@attrs.frozen(kw_only=True)
class BudgetAlert:
    """
    A budget's spend reached one of its alert thresholds (given once per period).

    Attributes:
        budget: The budget's name.
        subject: Whom it was charged to (``openai``, a session id, ...; ``*`` for a total budget).
        threshold: The fraction of the limit reached (``0.8`` for 80%).
        spent_usd: The spend of the period when the alert was given, reservations included.
        limit_usd: The budget's limit.
        period: The period (``2025-06``, ``2025-06-14``, or a rolling window's ``a…`` id).
        hard: Whether the budget refuses requests at its limit.
        message: One sentence for people.
        request_id: The request whose cost reached the threshold (set by the executor).

    .. versionadded:: 0.2.0
    """

    budget: str
    subject: str
    threshold: Decimal
    spent_usd: Decimal
    limit_usd: Decimal
    period: str
    hard: bool
    message: str
    request_id: str = ""


@attrs.frozen(kw_only=True)
class Refusal:
    """
    Why a hard budget refused a request before its call.

    Attributes:
        budget: The budget that refused.
        subject: Whom the request would have been charged to.
        reason: Why, with the figures.
    """

    budget: Budget
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"{self.budget.describe(self.subject)}: {self.reason}"


@attrs.frozen(kw_only=True)
class _Hold:
    budget: Budget
    subject: str
    key: str
    bucket: Bucket
    amount: int


@attrs.frozen(kw_only=True)
class Reservation:
    """
    What a request holds of its budgets while it runs; settle or release it once.

    Attributes:
        spender: Whom the request is charged to.
        at: When the reservation was made (its periods).
        estimate: The cost reserved.
    """

    spender: Spender
    at: float
    estimate: Cost
    holds: tuple[_Hold, ...] = attrs.field(repr=False)


class BudgetKeeper:
    """
    Checks and charges budgets against a store's counters.

    Args:
        budgets: The budgets to keep.
        counters: Where the spend is counted (a state store; share one across
            processes to share the budgets).
        clock: Seconds since the epoch, for the periods.
        on_alert: Told about every alert (once per period per threshold).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        budgets: Sequence[Budget],
        counters: Counters,
        *,
        clock: Clock = time.time,
        on_alert: Callable[[BudgetAlert], None] | None = None,
    ) -> None:
        names = [b.name for b in budgets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"budget names must be unique: {', '.join(map(repr, duplicates))}")
        self.budgets = tuple(budgets)
        self.counters = counters
        self.clock = clock
        self.on_alert = on_alert

    def __repr__(self) -> str:
        return f"BudgetKeeper(<{len(self.budgets)} budgets>)"

    def applicable(self, spender: Spender) -> list[tuple[Budget, str]]:
        """
        The budgets that charge *spender*, each with the subject it is charged as.
        """
        found = []
        for budget in self.budgets:
            subject = budget.subject(spender)
            if subject is not None:
                found.append((budget, subject))
        return found

    async def reserve(self, spender: Spender, estimate: Cost) -> Reservation | Refusal:
        """
        Hold *estimate* in every hard budget of *spender*, or refuse if one would be crossed.

        On a refusal nothing stays held.
        """
        at = self.clock()
        amount = to_picodollars(estimate.usd)
        holds: list[_Hold] = []
        for budget, subject in self.applicable(spender):
            if not budget.hard:
                continue
            if not estimate.known and not budget.allow_unpriced:
                await self._give_back(holds)
                return Refusal(
                    budget=budget, subject=subject, reason=str(over_limit(budget, 0, estimate))
                )
            bucket = budget.period.bucket(at)
            key = budget.counter_key(subject, bucket.key)
            total = await self.counters.add_to_counter(key, amount, ttl_s=bucket.ttl_s)
            holds.append(
                _Hold(budget=budget, subject=subject, key=key, bucket=bucket, amount=amount)
            )
            spent = total - amount + await self._older(budget, subject, bucket)
            reason = over_limit(budget, spent, estimate)
            if reason is not None:
                await self._give_back(holds)
                return Refusal(budget=budget, subject=subject, reason=reason)
        return Reservation(spender=spender, at=at, estimate=estimate, holds=tuple(holds))

    async def settle(self, reservation: Reservation, actual: Cost) -> tuple[BudgetAlert, ...]:
        """
        Charge *actual* instead of the estimate, and give the alerts now due.

        Returns:
            The alerts given (also passed to *on_alert*).
        """
        amount = to_picodollars(actual.usd)
        totals: dict[str, int] = {}
        for hold in reservation.holds:
            delta = amount - hold.amount
            totals[hold.key] = (
                await self.counters.add_to_counter(hold.key, delta, ttl_s=hold.bucket.ttl_s)
                if delta
                else await self.counters.load_counter(hold.key)
            )
        held = {(h.budget.name, h.subject) for h in reservation.holds}
        for budget, subject in self.applicable(reservation.spender):
            if (budget.name, subject) in held:
                continue
            bucket = budget.period.bucket(reservation.at)
            key = budget.counter_key(subject, bucket.key)
            totals[key] = await self.counters.add_to_counter(key, amount, ttl_s=bucket.ttl_s)
        return await self._alerts(reservation, totals)

    async def release(self, reservation: Reservation) -> None:
        """
        Give back a reservation whose request cost nothing (it was never sent, or
        cancelled before any usage was reported).
        """
        await self._give_back(list(reservation.holds))

    async def spent(self, budget: Budget, subject: str) -> Decimal:
        """
        What *subject* has spent (and holds in flight) in *budget*'s current period.
        """
        bucket = budget.period.bucket(self.clock())
        current = await self.counters.load_counter(budget.counter_key(subject, bucket.key))
        return from_picodollars(current + await self._older(budget, subject, bucket))

    async def _older(self, budget: Budget, subject: str, bucket: Bucket) -> int:
        total = 0
        for key in bucket.older:
            total += await self.counters.load_counter(budget.counter_key(subject, key))
        return total

    async def _give_back(self, holds: list[_Hold]) -> None:
        for hold in holds:
            if hold.amount:
                await self.counters.add_to_counter(hold.key, -hold.amount, ttl_s=hold.bucket.ttl_s)

    async def _alerts(
        self, reservation: Reservation, totals: dict[str, int]
    ) -> tuple[BudgetAlert, ...]:
        given: list[BudgetAlert] = []
        at = reservation.at
        for budget, subject in self.applicable(reservation.spender):
            if not budget.alerts:
                continue
            bucket = budget.period.bucket(at)
            key = budget.counter_key(subject, bucket.key)
            current = totals.get(key)
            if current is None:
                current = await self.counters.load_counter(key)
            spent = current + await self._older(budget, subject, bucket)
            period = budget.period.alert_period(at)
            for threshold in alerts_due(budget, spent):
                once = budget.alert_key(subject, period, threshold)
                if await self.counters.add_to_counter(once, 1, ttl_s=bucket.ttl_s) != 1:
                    continue
                alert = _alert(budget, subject, threshold, spent, period)
                given.append(alert)
                if self.on_alert is not None:
                    self.on_alert(alert)
        return tuple(given)


def _alert(
    budget: Budget, subject: str, threshold: Decimal, spent: int, period: str
) -> BudgetAlert:
    spent_usd = from_picodollars(spent)
    percent = f"{threshold * 100:.0f}%"
    return BudgetAlert(
        budget=budget.name,
        subject=subject,
        threshold=threshold,
        spent_usd=spent_usd,
        limit_usd=budget.limit_usd,
        period=period,
        hard=budget.hard,
        message=f"{budget.describe(subject)} reached {percent} of its limit "
        f"({spent_usd.quantize(Decimal('0.01'))} USD spent or reserved)",
    )
