"""
Policies that order the candidates, as pure decisions: each policy, ties, unknowns,
the user's selection, and the property that a policy only permutes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import ModelRef, ModelTraits, RequestNeeds
from modelcfg._core._routing import (
    ModelStats,
    RoutingPolicy,
    explain_order,
    order_candidates,
    place_candidates,
)

A, B, C, D = (ModelRef.parse(f"openai/{name}") for name in "abcd")
CHAIN = (A, B, C, D)
NEEDS = RequestNeeds(prompt_tokens=1000, output_tokens=1000)
TRAITS = {
    A: ModelTraits(input_price=15.0, output_price=75.0),
    B: ModelTraits(input_price=0.15, output_price=0.6),
    C: ModelTraits(),
    D: ModelTraits(input_price=0.15, output_price=0.6),
}
STATS = {
    A: ModelStats(p50_s=2.0, success_rate=0.99),
    B: ModelStats(ttft_s=0.3, success_rate=0.5),
    C: ModelStats(p50_s=0.8, success_rate=0.99),
}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RoutingPolicy.ORDERED, (A, B, C, D)),
        (RoutingPolicy.COST, (B, D, A, C)),
        (RoutingPolicy.LATENCY, (B, C, A, D)),
        (RoutingPolicy.RELIABILITY, (A, C, B, D)),
    ],
)
def test_each_policy_orders_the_candidates(
    policy: RoutingPolicy, expected: tuple[ModelRef, ...]
) -> None:
    """Each policy sorts by its key; ties and unknowns keep the configured order, unknowns last."""
    assert expected == order_candidates(CHAIN, policy, needs=NEEDS, traits=TRAITS, stats=STATS)


def test_the_users_selection_stays_first() -> None:
    """With a fixed lead, the selected model stays first and only the rest are ordered."""
    ordered = order_candidates(
        CHAIN, RoutingPolicy.COST, needs=NEEDS, traits=TRAITS, fixed_lead=True
    )

    assert (A, B, D, C) == ordered


def test_explain_says_why_each_candidate_stands_where_it_does() -> None:
    """The explanation lists each candidate's place, configured position and key."""
    placed = place_candidates(CHAIN, RoutingPolicy.COST, needs=NEEDS, traits=TRAITS)

    assert (
        "policy cost:\n"
        "  1. openai/b (configured #2): estimated $0.000750\n"
        "  2. openai/d (configured #4): estimated $0.000750\n"
        "  3. openai/a (configured #1): estimated $0.090000\n"
        "  4. openai/c (configured #3): cost unknown"
    ) == explain_order(placed, RoutingPolicy.COST)


prices = st.none() | st.floats(min_value=0, max_value=100)
rates = st.none() | st.floats(min_value=0, max_value=1)
seconds = st.none() | st.floats(min_value=0, max_value=60)


@given(
    st.lists(st.tuples(prices, prices, seconds, seconds, rates), min_size=0, max_size=12),
    st.sampled_from(list(RoutingPolicy)),
    st.booleans(),
)
def test_a_policy_only_permutes_the_candidates(
    rows: list[tuple[float | None, ...]], policy: RoutingPolicy, fixed_lead: bool
) -> None:
    """Whatever the prices and measurements, the result holds every candidate exactly once."""
    models = tuple(ModelRef.parse(f"openai/m{i}") for i in range(len(rows)))
    traits = {
        m: ModelTraits(input_price=r[0], output_price=r[1])
        for m, r in zip(models, rows, strict=True)
    }
    stats = {
        m: ModelStats(p50_s=r[2], ttft_s=r[3], success_rate=r[4])
        for m, r in zip(models, rows, strict=True)
    }

    ordered = order_candidates(
        models, policy, needs=NEEDS, traits=traits, stats=stats, fixed_lead=fixed_lead
    )

    placed = place_candidates(
        models, policy, needs=NEEDS, traits=traits, stats=stats, fixed_lead=fixed_lead
    )
    assert [p.model for p in placed] == list(ordered)
    assert sorted(models, key=str) == sorted(ordered, key=str)
    assert len(models) == len(ordered)
    if fixed_lead and models:
        assert models[0] == ordered[0]
