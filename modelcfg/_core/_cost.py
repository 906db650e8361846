"""
What tokens cost: a usage record priced at a model's rates, exactly.

What lives here:

- :class:`Rates`: USD per million tokens for each kind of token, as :class:`~decimal.Decimal`;
- :class:`Cost`: the priced part of a usage in USD, and the kinds of tokens that had no price;
- :func:`cost_of`: the one pricing rule.

Money never goes through a float: rates are decimals (a float price from a
catalog becomes the decimal it prints as, ``0.15`` -> ``Decimal("0.15")``), and
token counts are integers, so a cost is exact and the cost of a sum of usages is
the sum of their costs. A count of tokens whose rate is unknown makes the cost
unknown (never zero): :attr:`Cost.total` is then ``None``, and :attr:`Cost.usd`
holds only what could be priced.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, Protocol

import attrs

__all__ = [
    "ZERO_COST",
    "Cost",
    "PriceSheet",
    "Rates",
    "TokenCounts",
    "TokenKind",
    "cost_of",
    "format_usd",
    "from_picodollars",
    "to_decimal",
    "to_picodollars",
]

_ZERO: Final = Decimal(0)
_EXACT: Final = decimal.Context(prec=80)
"""Arithmetic on money: wide enough that any price times any count is exact, whatever
precision the host set for its own decimals."""
_PICO: Final = 10**12


class TokenKind(enum.StrEnum):
    """
    The kinds of tokens a provider bills, each at its own rate.
    """

    INPUT = "input"
    """Prompt tokens read without a cache."""
    OUTPUT = "output"
    """Tokens the model wrote, other than reasoning."""
    CACHE_READ = "cache_read"
    """Prompt tokens served from the provider's prompt cache."""
    CACHE_WRITE = "cache_write"
    """Prompt tokens written to the provider's prompt cache."""
    REASONING = "reasoning"
    """Tokens the model spent thinking (part of its output tokens)."""


class TokenCounts(Protocol):
    """
    Token counts of one usage, as :class:`modelcfg.Usage` holds them.

    ``reasoning_tokens`` are part of ``output_tokens`` (as OpenAI and Anthropic
    report them); the other counts do not overlap.
    """

    @property
    def input_tokens(self) -> int: ...

    @property
    def output_tokens(self) -> int: ...

    @property
    def cache_read_tokens(self) -> int: ...

    @property
    def cache_write_tokens(self) -> int: ...

    @property
    def reasoning_tokens(self) -> int: ...


class PriceSheet(Protocol):
    """
    Prices in USD per million tokens, as :class:`modelcfg.Pricing` holds them (``None`` is unknown).
    """

    @property
    def input(self) -> float | Decimal | None: ...

    @property
    def output(self) -> float | Decimal | None: ...

    @property
    def cache_read(self) -> float | Decimal | None: ...

    @property
    def cache_write(self) -> float | Decimal | None: ...


def to_decimal(value: float | Decimal | int | str, *, what: str = "a price") -> Decimal:
    """
    *value* as an exact decimal: a float becomes the decimal it prints as (``0.1`` -> ``0.1``).

    Raises:
        ValueError: *value* is not a finite, non-negative number; the message names *what*.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except ArithmeticError:
            raise ValueError(f"{what} must be a number, not {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, not {value!r}")
    if not number.is_finite() or number < 0:
        raise ValueError(f"{what} must be a finite, non-negative number, not {value!r}")
    return number + _ZERO  # normalises -0 to 0


def _to_rate(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float | str):
        return to_decimal(value, what="a rate in USD per million tokens")
    raise ValueError(f"a rate in USD per million tokens must be a number, not {value!r}")


@attrs.frozen(kw_only=True)
class Rates:
    """
    What each kind of token costs, in USD per million tokens (``None``: unknown).

    Attributes:
        input: Prompt tokens read without a cache.
        output: Tokens the model wrote.
        cache_read: Prompt tokens served from the provider's cache.
        cache_write: Prompt tokens written to the provider's cache.
        reasoning: Reasoning tokens, when billed apart; ``None`` bills them at the
            *output* rate, as every current provider does.

    .. versionadded:: 0.2.0
    """

    input: Decimal | None = attrs.field(default=None, converter=_to_rate)
    output: Decimal | None = attrs.field(default=None, converter=_to_rate)
    cache_read: Decimal | None = attrs.field(default=None, converter=_to_rate)
    cache_write: Decimal | None = attrs.field(default=None, converter=_to_rate)
    reasoning: Decimal | None = attrs.field(default=None, converter=_to_rate)

    @classmethod
    def of(cls, prices: PriceSheet | None, *, reasoning: float | Decimal | None = None) -> Rates:
        """
        The rates of a catalog's prices (a :class:`modelcfg.Pricing`); ``None`` knows no rate.

        Raises:
            ValueError: A price is negative or not a number.
        """
        if prices is None:
            return cls(reasoning=reasoning)
        return cls(
            input=prices.input,
            output=prices.output,
            cache_read=prices.cache_read,
            cache_write=prices.cache_write,
            reasoning=reasoning,
        )

    @property
    def is_unknown(self) -> bool:
        """
        Whether no rate at all is known.
        """
        return (
            self.input is None
            and self.output is None
            and self.cache_read is None
            and self.cache_write is None
            and self.reasoning is None
        )


def _to_kinds(kinds: Iterable[TokenKind | str]) -> frozenset[TokenKind]:
    return frozenset(map(TokenKind, kinds))


def _check_usd(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"a cost must be a finite, non-negative Decimal of USD, not {value!r}")


@attrs.frozen(kw_only=True)
class Cost:
    """
    What a usage cost, exactly.

    Attributes:
        usd: What the tokens with a known rate cost, in USD.
        unpriced: The kinds of tokens that were used but have no known rate;
            when any, the true cost is unknown (it is at least *usd*).

    Costs add up: ``cost_of(a) + cost_of(b) == cost_of(a + b)``.

    .. versionadded:: 0.2.0
    """

    usd: Decimal = attrs.field(default=_ZERO, validator=_check_usd)
    unpriced: frozenset[TokenKind] = attrs.field(default=frozenset(), converter=_to_kinds)

    @classmethod
    def unknown(cls, *kinds: TokenKind) -> Cost:
        """
        A cost nothing is known of: no rate for *kinds*, or, without any, nothing
        known at all (no usage was reported).
        """
        return cls(unpriced=frozenset(kinds or TokenKind))

    @property
    def known(self) -> bool:
        """
        Whether every token used had a rate, so :attr:`usd` is the whole cost.
        """
        return not self.unpriced

    @property
    def total(self) -> Decimal | None:
        """
        The whole cost in USD, or ``None`` when some tokens had no rate.
        """
        return self.usd if not self.unpriced else None

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(usd=_EXACT.add(self.usd, other.usd), unpriced=self.unpriced | other.unpriced)

    def __str__(self) -> str:
        if not self.unpriced:
            return format_usd(self.usd)
        if self.unpriced == _ALL_KINDS and not self.usd:
            return "unknown"
        kinds = ", ".join(sorted(k.value for k in self.unpriced))
        if self.usd:
            return f"at least {format_usd(self.usd)} (no price for {kinds} tokens)"
        return f"unknown (no price for {kinds} tokens)"


_ALL_KINDS: Final = frozenset(TokenKind)

ZERO_COST: Final = Cost()
"""The cost of using nothing."""


def format_usd(usd: Decimal) -> str:
    """
    *usd* as people read it: ``$0.0123``, with at least two decimals and no float rounding.

    Amounts under a cent keep four significant digits, so a request's cost never shows as ``$0.00``.
    """
    if usd == 0:
        return "$0.00"
    if abs(usd) >= 1:
        return f"${usd.quantize(Decimal('0.01')):,}"
    shown = f"{usd:.{max(2, 4 - usd.adjusted() - 1)}f}"
    if "." in shown:
        whole, _, fraction = shown.partition(".")
        fraction = fraction.rstrip("0").ljust(2, "0")
        shown = f"{whole}.{fraction}"
    return f"${shown}"


def cost_of(usage: TokenCounts, rates: Rates) -> Cost:
    """
    What *usage* costs at *rates*.

    Each kind of token is priced at its own rate: input, cache reads, cache
    writes, reasoning (at the output rate unless the rates say otherwise) and the
    rest of the output. A kind with tokens but no rate leaves the cost unknown,
    never zero; a kind with no tokens needs no rate.

    Returns:
        The exact cost; :attr:`Cost.unpriced` names the kinds that had no rate.
    """
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    reasoning_rate = rates.reasoning if rates.reasoning is not None else rates.output
    usd = _ZERO
    unpriced: list[TokenKind] = []
    for count, rate, kind in (
        (usage.input_tokens, rates.input, TokenKind.INPUT),
        (usage.output_tokens - reasoning, rates.output, TokenKind.OUTPUT),
        (usage.cache_read_tokens, rates.cache_read, TokenKind.CACHE_READ),
        (usage.cache_write_tokens, rates.cache_write, TokenKind.CACHE_WRITE),
        (
            reasoning,
            reasoning_rate,
            TokenKind.REASONING if rates.reasoning is not None else TokenKind.OUTPUT,
        ),
    ):
        if not count:
            continue
        if rate is None:
            unpriced.append(kind)
        else:
            usd = _EXACT.add(usd, _EXACT.multiply(rate, count))
    if not usd and not unpriced:
        return ZERO_COST
    return Cost(usd=_EXACT.scaleb(usd, -6), unpriced=frozenset(unpriced))


def to_picodollars(usd: Decimal) -> int:
    """
    *usd* as a whole number of picodollars (10**-12 USD), the unit stores and ledgers count in.

    Every price with up to six decimals in USD per million tokens gives an exact
    count; a finer one rounds half to even.
    """
    return int(_EXACT.scaleb(usd, 12).to_integral_value(rounding=decimal.ROUND_HALF_EVEN))


def from_picodollars(pico: int) -> Decimal:
    """
    A whole number of picodollars as USD.
    """
    return Decimal(pico).scaleb(-12, _EXACT)
