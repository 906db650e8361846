"""
What the executor does about money, in one place: price attempts, keep them in the
ledger, and reserve and charge budgets.

The executor calls three things: :meth:`Accounting.reserve` before an attempt goes
out (a :class:`~modelcfg.usage.Refusal` skips the candidate), :meth:`Accounting.record`
when it ended (answered or not, with whatever usage the provider reported), and
:meth:`Accounting.settle` to charge its budgets (or give the reservation back when
it cost nothing, was never sent, or was cancelled). Recording is batched by the
ledger, so none of this waits for a disk; budget counters live in the executor's
state store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from modelcfg._core._budget import Budget, Spender
from modelcfg._core._cost import ZERO_COST, Cost, Rates, cost_of
from modelcfg._core._failures import Failure
from modelcfg._core._routing import needs_of
from modelcfg._core._state import RequestNeeds
from modelcfg._core._values import ModelRef, Target
from modelcfg._messages import ChatRequest, Usage
from modelcfg.typing import Clock
from modelcfg.usage._budgets import BudgetAlert, BudgetKeeper, Counters, Refusal, Reservation
from modelcfg.usage._estimate import DEFAULT_OUTPUT_TOKENS, usage_of_needs
from modelcfg.usage._ledger import UsageLedger, UsageRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelcfg import ModelCatalog

__all__ = ["Accounting", "Charge"]


@attrs.frozen(kw_only=True)
class Charge:
    """
    Who a request is charged to, beyond the model and profile of each attempt.

    Attributes:
        request_id: The request's id; its attempts share it in the ledger.
        session: The host's session id, when it gave one.
        api_key: The host's id for its caller's API key (never the secret).
        arm: The experiment arm that chose the request's route, when any.
    """

    request_id: str
    session: str | None = None
    api_key: str | None = None
    arm: str | None = None

    def spender(self, target: Target) -> Spender:
        """
        Whom an attempt on *target* is charged to.
        """
        return Spender(
            model=target.model, profile=target.profile, session=self.session, api_key=self.api_key
        )


class Accounting:
    """
    Prices attempts from the catalog, records them in a ledger, keeps the budgets.

    Args:
        catalog: Where prices and output limits come from; without one every cost
            is unknown.
        ledger: Where every attempt is recorded; ``None`` records nothing.
        budgets: The budgets to keep, in *counters*.
        counters: The store that keeps budget spend (the executor's state store).
        clock: Seconds since the epoch.
        on_alert: Told about budget alerts.
        default_output_tokens: The output a request without ``max_tokens`` is
            estimated at (see :func:`~modelcfg.usage.estimate_usage`).
    """

    def __init__(
        self,
        *,
        catalog: ModelCatalog | None,
        ledger: UsageLedger | None,
        budgets: Sequence[Budget] = (),
        counters: Counters | None = None,
        clock: Clock,
        on_alert: Callable[[BudgetAlert], None] | None = None,
        default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    ) -> None:
        if budgets and counters is None:
            raise ValueError("budgets need a store that keeps counters")
        self.catalog = catalog
        self.ledger = ledger
        self.clock = clock
        self.default_output_tokens = default_output_tokens
        self.keeper = (
            BudgetKeeper(budgets, counters, clock=clock, on_alert=on_alert)
            if budgets and counters is not None
            else None
        )
        self._rates: dict[ModelRef, tuple[Rates, int | None]] = {}

    def __repr__(self) -> str:
        return f"Accounting(ledger={self.ledger!r}, budgets={self.keeper!r})"

    def _model(self, model: ModelRef) -> tuple[Rates, int | None]:
        found = self._rates.get(model)
        if found is None:
            info = None if self.catalog is None else self.catalog.get(model)
            found = (
                Rates.of(None if info is None else info.pricing),
                None if info is None else info.max_output_tokens,
            )
            self._rates[model] = found
        return found

    def rates(self, model: ModelRef) -> Rates:
        """
        *model*'s rates, from its catalog prices (unknown when the catalog has none).
        """
        return self._model(model)[0]

    def cost(self, model: ModelRef, usage: Usage) -> Cost:
        """
        What *usage* on *model* cost.
        """
        return cost_of(usage, self._model(model)[0])

    def estimate(
        self, model: ModelRef, request: ChatRequest, needs: RequestNeeds | None = None
    ) -> Cost:
        """
        What *request* will probably cost on *model*: its prompt and output estimates
        (*needs*, as routing made them, else made here; see :func:`estimate_usage`).
        """
        rates, max_output = self._model(model)
        if needs is None or needs.prompt_tokens is None:
            needs = needs_of(request)
        usage = usage_of_needs(
            needs,
            max_output_tokens=max_output,
            default_output_tokens=self.default_output_tokens,
        )
        return cost_of(usage, rates)

    async def reserve(
        self,
        target: Target,
        request: ChatRequest,
        charge: Charge,
        needs: RequestNeeds | None = None,
    ) -> Reservation | Refusal | None:
        """
        Hold the attempt's estimated cost in its budgets; ``None`` when no budget is kept.
        """
        if self.keeper is None:
            return None
        estimate = self.estimate(target.model, request, needs)
        return await self.keeper.reserve(charge.spender(target), estimate)

    def record(
        self,
        *,
        charge: Charge,
        attempt: int,
        target: Target,
        usage: Usage | None,
        failure: Failure | None = None,
        latency_s: float | None = None,
    ) -> Cost:
        """
        Price an attempt that ended, answered or failed (*failure*), and record it in
        the ledger (batched: never waits).

        With the *usage* its provider reported (a failed stream's usage so far, too),
        the attempt is priced at the catalog's rates. Without usage, a failure the
        provider answered with an error status cost nothing (providers bill no error
        response); anything else (an answer without usage, a timeout, a reset, a
        stream cut before its usage) has an unknown cost, since it may have been billed.

        Returns:
            The attempt's cost.
        """
        if usage is not None and not usage.is_empty:
            cost = self.cost(target.model, usage)
        elif failure is not None and failure.status is not None:
            cost = ZERO_COST
        else:
            cost = Cost.unknown()
        if self.ledger is not None:
            self.ledger.record(
                UsageRecord(
                    at=self.clock(),
                    request_id=charge.request_id,
                    attempt=attempt,
                    model=target.model,
                    profile=target.profile,
                    session=charge.session,
                    api_key=charge.api_key,
                    arm=charge.arm,
                    usage=usage if usage is not None else Usage(),
                    cost=cost,
                    answered=failure is None,
                    failure=None if failure is None else failure.kind,
                    latency_s=latency_s,
                )
            )
        return cost

    async def settle(
        self, reservation: Reservation | None, cost: Cost | None
    ) -> tuple[BudgetAlert, ...]:
        """
        Charge an attempt's *cost* to the budgets its *reservation* held (its priced
        part, when some is unknown), or give the reservation back (``None``: the
        attempt was never made, or was cancelled).

        Returns:
            The budget alerts the charge gave (also passed to *on_alert*).
        """
        if reservation is None or self.keeper is None:
            return ()
        if cost is None:
            await self.keeper.release(reservation)
            return ()
        return await self.keeper.settle(reservation, cost)
