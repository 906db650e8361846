"""
Usage and cost: what each attempt used and cost, a ledger that keeps it, and budgets.

Prices come from the catalog (:class:`modelcfg.Pricing`, USD per million tokens)
and become exact :class:`Rates`; :func:`cost_of` prices a :class:`modelcfg.Usage`
as a :class:`Cost` in :class:`~decimal.Decimal` USD, where an unknown price makes
an unknown cost, never zero. A :class:`Budget` limits what a provider, model,
profile, session or API key may spend per period.
"""

from __future__ import annotations

from modelcfg._core._budget import Budget, BudgetPeriod, BudgetScope, PeriodKind, Spender
from modelcfg._core._cost import Cost, Rates, TokenKind, cost_of, format_usd

__all__ = [
    "Budget",
    "BudgetPeriod",
    "BudgetScope",
    "Cost",
    "PeriodKind",
    "Rates",
    "Spender",
    "TokenKind",
    "cost_of",
    "format_usd",
]
