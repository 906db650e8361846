"""
Budgets: spend limits over a period, and the pure rules that check them.

What lives here:

- :class:`Budget`: a limit in USD on what one provider, model, profile, session
  or API key (or everything) may spend per hour, day, month or rolling window;
- :class:`BudgetPeriod`: the period, and which counters a time falls into;
- :class:`Spender`: who an attempt's spend is charged to;
- :func:`over_limit` and :func:`alerts_due`: the checks, over whole picodollars.

The shell keeps the spend in a store's atomic counters (see
:mod:`modelcfg.usage`); everything here is arithmetic on the numbers it reads.
A hard budget lets a request through only when what is spent (and reserved by
requests in flight) plus the request's estimate stays within the limit, and an
unknown estimate is refused unless the budget says otherwise. Alerts fire at
fractions of the limit, once per period per fraction.
"""

from __future__ import annotations

import datetime
import enum
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

import attrs

from modelcfg._core._cost import Cost, format_usd, from_picodollars, to_decimal, to_picodollars
from modelcfg._core._values import ModelRef, ProfileId

__all__ = [
    "DEFAULT_ALERTS",
    "ROLLING_SLOTS",
    "Budget",
    "BudgetPeriod",
    "BudgetScope",
    "PeriodKind",
    "Spender",
    "alerts_due",
    "over_limit",
]

ROLLING_SLOTS: Final = 10
"""A rolling window is counted in this many slots: spend leaves it up to a slot late."""

DEFAULT_ALERTS: Final = (Decimal("0.5"), Decimal("0.8"), Decimal("1"))
"""Alert when half, four fifths and all of a limit are spent."""

_SAFE_KEY: Final = re.compile(r"[^A-Za-z0-9._@/:+-]")
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)\Z")
_UNIT_S: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class BudgetScope(enum.StrEnum):
    """
    What a budget limits the spend of.
    """

    TOTAL = "total"
    """Everything, together."""
    PROVIDER = "provider"
    """One provider (``openai``), or each provider apart."""
    MODEL = "model"
    """One model (``openai/gpt-5``), or each model apart."""
    PROFILE = "profile"
    """One credential profile (``openai:work``), or each apart."""
    SESSION = "session"
    """One session id, or each session apart."""
    API_KEY = "api_key"
    """One of the host's own API key ids (never the secret itself), or each apart."""


class PeriodKind(enum.StrEnum):
    """
    How a budget's period runs: calendar periods in UTC, or a rolling window.
    """

    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    ROLLING = "rolling"


@attrs.frozen(kw_only=True)
class Spender:
    """
    Who one attempt's spend is charged to.

    Attributes:
        model: The model called (its provider is ``model.provider``).
        profile: The credential profile used, when known.
        session: The host's session id, when it gave one.
        api_key: The host's id for the API key its caller used (a name or a hash,
            never the secret).
    """

    model: ModelRef
    profile: ProfileId | None = None
    session: str | None = None
    api_key: str | None = None

    def subject(self, scope: BudgetScope) -> str | None:
        """
        The value of *scope* for this spender (``None`` when it has none).
        """
        match scope:
            case BudgetScope.TOTAL:
                return "*"
            case BudgetScope.PROVIDER:
                return self.model.provider
            case BudgetScope.MODEL:
                return str(self.model)
            case BudgetScope.PROFILE:
                return None if self.profile is None else str(self.profile)
            case BudgetScope.SESSION:
                return self.session
            case BudgetScope.API_KEY:
                return self.api_key


@attrs.frozen(kw_only=True)
class Bucket:
    """
    The counters one time falls into for a period.

    Attributes:
        key: The counter this time's spend is added to.
        older: The other counters of a rolling window, newest first (empty for
            calendar periods).
        start_at: When the period (or the window) began.
        end_at: When the period ends (or the current slot of the window does).
        ttl_s: How long the counter must outlive its creation.
    """

    key: str
    older: tuple[str, ...]
    start_at: float
    end_at: float
    ttl_s: float


def _month_start(year: int, month: int) -> float:
    return datetime.datetime(year, month, 1, tzinfo=datetime.UTC).timestamp()


@attrs.frozen(kw_only=True)
class BudgetPeriod:
    """
    The period a budget's spend is counted over.

    Calendar periods (``hour``, ``day``, ``month``) begin on the UTC clock; a
    rolling window (``24h``, ``30m``, ``7d``) always covers the last *window_s*
    seconds, counted in :data:`ROLLING_SLOTS` slots.

    Attributes:
        kind: Calendar or rolling.
        window_s: The rolling window's length; ``None`` for calendar periods.
    """

    kind: PeriodKind
    window_s: float | None = None

    def __attrs_post_init__(self) -> None:
        if (self.kind is PeriodKind.ROLLING) != (self.window_s is not None):
            raise ValueError("a rolling budget period needs window_s, and only a rolling one")
        if self.window_s is not None and not (math.isfinite(self.window_s) and self.window_s >= 60):
            raise ValueError(
                f"a rolling window must be at least 60 seconds long, not {self.window_s!r}"
            )

    @classmethod
    def parse(cls, text: str) -> BudgetPeriod:
        """
        ``hour``, ``day``, ``month``, or a rolling window such as ``90m``, ``24h``, ``7d``.

        Raises:
            ValueError: *text* is neither, with what is accepted.
        """
        cleaned = text.strip().lower()
        if cleaned in {"hour", "day", "month"}:
            return cls(kind=PeriodKind(cleaned))
        found = _DURATION.match(cleaned)
        if found is None:
            raise ValueError(
                f"{text!r} is not a budget period: use hour, day, month, or a rolling "
                "window such as 90m, 24h or 7d"
            )
        return cls(kind=PeriodKind.ROLLING, window_s=float(found[1]) * _UNIT_S[found[2]])

    def __str__(self) -> str:
        if self.window_s is None:
            return self.kind.value
        for unit in ("d", "h", "m"):
            count = self.window_s / _UNIT_S[unit]
            if count.is_integer():
                return f"{int(count)}{unit}"
        return f"{self.window_s:g}s"

    def bucket(self, at: float) -> Bucket:
        """
        The counters that hold the spend of the period *at* falls in.
        """
        match self.kind:
            case PeriodKind.HOUR:
                start = at // 3600 * 3600
                end = start + 3600
                label = datetime.datetime.fromtimestamp(start, datetime.UTC).strftime("%Y-%m-%dT%H")
            case PeriodKind.DAY:
                start = at // 86400 * 86400
                end = start + 86400
                label = datetime.datetime.fromtimestamp(start, datetime.UTC).strftime("%Y-%m-%d")
            case PeriodKind.MONTH:
                day = datetime.datetime.fromtimestamp(at, datetime.UTC)
                start = _month_start(day.year, day.month)
                year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
                end = _month_start(year, month)
                label = f"{day.year:04d}-{day.month:02d}"
            case PeriodKind.ROLLING:
                assert self.window_s is not None  # checked on construction
                slot_s = self.window_s / ROLLING_SLOTS
                slot = int(at // slot_s)
                return Bucket(
                    key=f"w{slot}",
                    older=tuple(f"w{slot - n}" for n in range(1, ROLLING_SLOTS)),
                    start_at=(slot - ROLLING_SLOTS + 1) * slot_s,
                    end_at=(slot + 1) * slot_s,
                    ttl_s=self.window_s + slot_s,
                )
        return Bucket(key=label, older=(), start_at=start, end_at=end, ttl_s=end - start + 3600)

    def alert_period(self, at: float) -> str:
        """
        The period an alert is given once in: the calendar period, or a window's length.
        """
        if self.window_s is None:
            return self.bucket(at).key
        return f"a{int(at // self.window_s)}"


def _to_fractions(value: Iterable[object]) -> tuple[Decimal, ...]:
    fractions = []
    for item in value:
        if not isinstance(item, Decimal | int | float | str) or isinstance(item, bool):
            raise ValueError(f"an alert threshold must be a number, not {item!r}")
        fraction = to_decimal(item, what="an alert threshold")
        if fraction == 0:
            raise ValueError("an alert threshold must be above 0 (a fraction of the limit)")
        fractions.append(fraction)
    return tuple(sorted(set(fractions)))


def _to_limit(value: object) -> Decimal:
    if not isinstance(value, Decimal | int | float | str) or isinstance(value, bool):
        raise ValueError(f"a budget limit must be a number of USD, not {value!r}")
    return to_decimal(value, what="a budget limit")


def _check_name(_instance: object, _attribute: object, value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(
            f"a budget name is 1 to 64 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit, not {value!r}"
        )


def _check_match(instance: Budget, _attribute: object, value: str | None) -> None:
    if value is None:
        return
    if instance.scope is BudgetScope.TOTAL:
        raise ValueError("a total budget matches everything: give it no match")
    if not value.strip():
        raise ValueError("a budget's match must not be empty (leave it out to match each)")
    try:
        if instance.scope is BudgetScope.MODEL:
            ModelRef.parse(value)
        elif instance.scope is BudgetScope.PROFILE:
            ProfileId.parse(value)
    except ValueError as exc:
        raise ValueError(f"the match of a {instance.scope} budget is not one: {exc}") from None


@attrs.frozen(kw_only=True)
class Budget:
    """
    A limit on what some spender may spend over a period.

    Attributes:
        name: A short id, used in counter keys, skip reasons and alerts.
        scope: What the limit applies to.
        match: The one provider, model, profile, session or API key id it
            applies to; ``None`` gives each its own limit (for ``total``: none).
        limit_usd: The limit, in USD.
        period: The period the spend is counted over.
        hard: Whether a request that would cross the limit is refused before
            the call (its candidate skipped); a soft budget only alerts.
        alerts: Fractions of the limit at which an alert is given, once per period each.
        allow_unpriced: Whether a hard budget lets through a request whose cost
            cannot be estimated (its model has no known price); refused by default.

    .. versionadded:: 0.2.0
    """

    name: str = attrs.field(validator=_check_name)
    scope: BudgetScope = attrs.field(converter=BudgetScope)
    match: str | None = attrs.field(default=None, validator=_check_match)
    limit_usd: Decimal = attrs.field(converter=_to_limit)
    period: BudgetPeriod
    hard: bool = True
    alerts: tuple[Decimal, ...] = attrs.field(default=DEFAULT_ALERTS, converter=_to_fractions)
    allow_unpriced: bool = False
    limit_pico: int = attrs.field(init=False, repr=False, eq=False)
    alerts_pico: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    @limit_pico.default
    def _limit_pico(self) -> int:
        return to_picodollars(self.limit_usd)

    @alerts_pico.default
    def _alerts_pico(self) -> tuple[int, ...]:
        return tuple(to_picodollars(self.limit_usd * f) for f in self.alerts)

    def subject(self, spender: Spender) -> str | None:
        """
        Which of this budget's counters *spender* is charged to, or ``None`` when
        the budget does not apply to it.
        """
        subject = spender.subject(self.scope)
        if subject is None or (self.match is not None and subject != self.match):
            return None
        return subject

    def counter_key(self, subject: str, bucket_key: str) -> str:
        """
        The state store's counter for *subject*'s spend in one bucket.
        """
        return f"budget:{self.name}:{_SAFE_KEY.sub('_', subject)}:{bucket_key}"

    def alert_key(self, subject: str, period: str, threshold: Decimal) -> str:
        """
        The state store's counter that makes an alert fire once.
        """
        return f"budget-alert:{self.name}:{_SAFE_KEY.sub('_', subject)}:{period}:{threshold}"

    def describe(self, subject: str) -> str:
        """
        The budget in words: ``budget 'daily' (provider openai, $20.00 per day)``.
        """
        who = self.scope.value if self.scope is BudgetScope.TOTAL else f"{self.scope} {subject}"
        per = f"per {self.period}" if self.period.window_s is None else f"per rolling {self.period}"
        return f"budget {self.name!r} ({who}, {format_usd(self.limit_usd)} {per})"


def over_limit(budget: Budget, spent_pico: int, estimate: Cost) -> str | None:
    """
    Why a request estimated at *estimate* may not go out under *budget*, or
    ``None`` when it may.

    *spent_pico* is what the period holds already, requests in flight included.
    Only hard budgets refuse. An estimate with unpriced tokens is refused unless
    the budget allows unpriced requests; its priced part still counts.
    """
    if not budget.hard:
        return None
    if not estimate.known and not budget.allow_unpriced:
        return f"its cost cannot be estimated ({estimate})"
    wanted = spent_pico + to_picodollars(estimate.usd)
    if wanted <= budget.limit_pico:
        return None
    return (
        f"{format_usd(from_picodollars(spent_pico))} of {format_usd(budget.limit_usd)} is "
        f"spent or reserved, and this request is estimated at {estimate}"
    )


def alerts_due(budget: Budget, spent_pico: int) -> tuple[Decimal, ...]:
    """
    The alert thresholds *spent_pico* has reached, lowest first.
    """
    return tuple(
        f for f, at in zip(budget.alerts, budget.alerts_pico, strict=True) if spent_pico >= at
    )
