"""
Usage and cost: what each attempt used and cost, a ledger that keeps it, and budgets.

Prices come from the catalog (:class:`modelcfg.Pricing`, USD per million tokens)
and become exact :class:`Rates`; :func:`cost_of` prices a :class:`modelcfg.Usage`
as a :class:`Cost` in :class:`~decimal.Decimal` USD, where an unknown price makes
an unknown cost, never zero. A :class:`Budget` limits what a provider, model,
profile, session or API key may spend per period.

Every attempt's usage goes to a :class:`UsageLedger`: :class:`MemoryLedger` by
default, or :class:`SQLiteLedger`, an embedded database that several processes
may share, written in batches off the request path. ``report()`` sums a time
range by provider, model, profile, session, API key, arm, day or hour.

A :class:`BudgetKeeper` keeps budgets in a state store's counters: it reserves a
request's estimated cost (:func:`estimate_usage`) before the call, refuses one
that would cross a hard limit, settles the actual cost after, and gives a
:class:`BudgetAlert` once per period for each threshold reached.
"""

from __future__ import annotations

from modelcfg._core._budget import Budget, BudgetPeriod, BudgetScope, PeriodKind, Spender
from modelcfg._core._cost import Cost, Rates, TokenKind, cost_of, format_usd
from modelcfg.exceptions import UsageLedgerError
from modelcfg.usage._budgets import BudgetAlert, BudgetKeeper, Counters, Refusal, Reservation
from modelcfg.usage._estimate import estimate_usage
from modelcfg.usage._ledger import (
    GroupBy,
    MemoryLedger,
    ReportRow,
    UsageLedger,
    UsageRecord,
    UsageReport,
)
from modelcfg.usage._sqlite import SQLiteLedger

__all__ = [
    "Budget",
    "BudgetAlert",
    "BudgetKeeper",
    "BudgetPeriod",
    "BudgetScope",
    "Cost",
    "Counters",
    "GroupBy",
    "MemoryLedger",
    "PeriodKind",
    "Rates",
    "Refusal",
    "ReportRow",
    "Reservation",
    "SQLiteLedger",
    "Spender",
    "TokenKind",
    "UsageLedger",
    "UsageLedgerError",
    "UsageRecord",
    "UsageReport",
    "cost_of",
    "estimate_usage",
    "format_usd",
]
