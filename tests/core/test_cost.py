"""
Tests for the pure cost core: rates, exact costs, unknown prices.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import Pricing, Usage
from modelcfg._core._cost import (
    Cost,
    Rates,
    TokenKind,
    cost_of,
    format_usd,
    from_picodollars,
    to_decimal,
    to_picodollars,
)
from tests.strategies import rates, usages

GPT = Rates(input="1.25", output="10", cache_read="0.125")


@given(usages, usages, rates)
def test_the_cost_of_a_sum_is_the_sum_of_the_costs(a: Usage, b: Usage, prices: Rates) -> None:
    """Pricing two usages apart and adding the costs equals pricing their sum, exactly."""

    assert cost_of(a, prices) + cost_of(b, prices) == cost_of(a + b, prices)


@given(usages, rates)
def test_a_cost_survives_picodollars(usage: Usage, prices: Rates) -> None:
    """Any cost at rates with up to six decimals is a whole number of picodollars."""
    usd = cost_of(usage, prices).usd

    assert usd == from_picodollars(to_picodollars(usd))


@given(usages, rates)
def test_a_cost_is_unknown_exactly_when_some_used_kind_has_no_rate(
    usage: Usage, prices: Rates
) -> None:
    """The total is None if and only if tokens of a kind without a rate were used."""
    plain_output = usage.output_tokens - usage.reasoning_tokens
    reasoning_rate = prices.reasoning if prices.reasoning is not None else prices.output
    missing = (
        (usage.input_tokens and prices.input is None)
        or (plain_output and prices.output is None)
        or (usage.cache_read_tokens and prices.cache_read is None)
        or (usage.cache_write_tokens and prices.cache_write is None)
        or (usage.reasoning_tokens and reasoning_rate is None)
    )

    assert bool(missing) == (cost_of(usage, prices).total is None)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (Usage(input_tokens=1_000_000), Decimal("1.25")),
        (Usage(output_tokens=1_000_000), Decimal("10")),
        (Usage(cache_read_tokens=1_000_000), Decimal("0.125")),
        (Usage(output_tokens=1000, reasoning_tokens=400), Decimal("0.01")),
        (
            Usage(input_tokens=1234, output_tokens=567, cache_read_tokens=8901),
            Decimal("0.008325125"),
        ),
    ],
    ids=["input", "output", "cache-read", "reasoning-at-output-rate", "mixed"],
)
def test_each_kind_of_token_is_priced_at_its_rate(usage: Usage, expected: Decimal) -> None:
    """Input, output, cache reads and reasoning are each priced per million tokens."""

    assert Cost(usd=expected) == cost_of(usage, GPT)


def test_reasoning_has_its_own_rate_when_given() -> None:
    """With a reasoning rate, reasoning tokens are billed at it and the rest of the output at the output rate."""
    prices = Rates(output="10", reasoning="20")

    assert Cost(usd=Decimal("0.026")) == cost_of(
        Usage(output_tokens=2000, reasoning_tokens=600), prices
    )


def test_an_unknown_price_gives_an_unknown_cost_never_zero() -> None:
    """Output tokens with no output price leave the cost unknown, not $0."""
    cost = cost_of(Usage(input_tokens=100, output_tokens=50), Rates(input="3"))

    assert (None, frozenset({TokenKind.OUTPUT}), Decimal("0.0003")) == (
        cost.total,
        cost.unpriced,
        cost.usd,
    )
    assert "at least $0.0003 (no price for output tokens)" == str(cost)


def test_unused_kinds_need_no_rate() -> None:
    """A usage without cache tokens is fully priced even when no cache price is known."""

    assert Decimal("0.00003") == cost_of(Usage(input_tokens=24), GPT).total


def test_nothing_used_costs_nothing_whatever_the_rates() -> None:
    """An empty usage costs exactly $0, even at unknown rates."""

    assert Decimal(0) == cost_of(Usage(), Rates()).total


def test_a_catalog_pricing_becomes_exact_rates() -> None:
    """A catalog's float prices become the decimals they print as."""
    rates_ = Rates.of(Pricing(input=0.15, output=0.6, cache_read=0.075))

    assert Rates(input=Decimal("0.15"), output=Decimal("0.6"), cache_read=Decimal("0.075")) == (
        rates_
    )


def test_no_pricing_knows_no_rate() -> None:
    """Rates of no pricing at all are unknown."""

    assert Rates.of(None).is_unknown


def test_costs_stay_exact_whatever_the_hosts_decimal_precision() -> None:
    """A host that lowers the decimal precision of its thread does not change a cost."""
    usage = Usage(input_tokens=123_456_789, output_tokens=987_654_321)
    expected = cost_of(usage, GPT)
    with decimal.localcontext(decimal.Context(prec=3)):
        actual = cost_of(usage, GPT) + cost_of(Usage(), GPT)

    assert expected == actual


@pytest.mark.parametrize("bad", [-1, "-0.5", float("nan"), float("inf"), "abc", True])
def test_a_rate_must_be_a_finite_non_negative_number(bad: object) -> None:
    """Negative, non-finite and non-numeric rates are refused with a message naming them."""
    with pytest.raises(ValueError, match="rate in USD per million tokens") as caught:
        Rates(input=bad)

    assert repr(bad) in str(caught.value)


def test_a_cost_is_never_negative() -> None:
    """A negative amount is not a cost."""
    with pytest.raises(ValueError, match="non-negative Decimal"):
        Cost(usd=Decimal("-1"))


def test_reasoning_cannot_exceed_output() -> None:
    """Reasoning tokens are part of the output, so a usage with more of them is refused."""
    with pytest.raises(ValueError, match="cannot exceed"):
        Usage(output_tokens=3, reasoning_tokens=4)


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        ("0", "$0.00"),
        ("0.5", "$0.50"),
        ("0.123456", "$0.1235"),
        ("0.00000012", "$0.00000012"),
        ("0.008325125", "$0.008325"),
        ("12", "$12.00"),
        ("1234.567", "$1,234.57"),
    ],
)
def test_amounts_print_without_hiding_small_costs(usd: str, shown: str) -> None:
    """Amounts under a dollar keep four significant digits, larger ones two decimals."""

    assert shown == format_usd(Decimal(usd))


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_a_float_becomes_the_decimal_it_prints_as(value: float) -> None:
    """to_decimal() reads a float as its shortest text form, never its binary expansion."""

    assert Decimal(repr(value)) == to_decimal(value)
