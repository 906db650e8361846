"""
How long routing by need and by policy takes: 50 candidates, a request with needs,
ordered by the ``cost`` policy, then the first decision.

Run it with ``python benchmarks/bench_routing.py``; it is not collected by pytest.
It prints the median, p90 and minimum per decision in microseconds. Target: checking
the needs of 50 candidates, ordering them by cost and deciding the first call within
50 µs at the median.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import sample_ns, summary
from modelcfg import AttemptState, FallbackChain, ModelRef, ModelTraits, RequestNeeds, Routes
from modelcfg._core._decide import next_attempt
from modelcfg._core._routing import RoutingPolicy, order_candidates

T0 = 1_700_000_000.0
CANDIDATES = 50
TARGET_US = 50.0


def setup() -> tuple[Routes, RequestNeeds]:
    models = tuple(ModelRef.parse(f"openai/m{i:02d}") for i in range(CANDIDATES))
    traits = {
        m: ModelTraits(
            context_window=128_000 if i % 7 else 4_096,
            tools=None if i % 5 else False,
            json_output=True,
            input_price=0.1 + (i * 37 % 50) / 10,
            output_price=0.4 + (i * 37 % 50) / 5,
        )
        for i, m in enumerate(models)
    }
    needs = RequestNeeds(
        tools=True,
        json_output=True,
        prompt_tokens=6_000,
        output_tokens=1_000,
        min_context_tokens=7_000,
        max_cost_usd=0.05,
    )
    return Routes(chain=FallbackChain.of(*models), traits=traits), needs


def main() -> None:
    routes, needs = setup()

    def decide_prepared() -> object:
        return next_attempt(None, AttemptState.start(prepared, now=T0, needs=needs))

    ordered = order_candidates(
        routes.chain.models, RoutingPolicy.COST, needs=needs, traits=routes.traits
    )
    prepared = Routes(chain=FallbackChain.of(*ordered), traits=routes.traits)
    order_only = sample_ns(
        lambda: order_candidates(
            routes.chain.models, RoutingPolicy.COST, needs=needs, traits=routes.traits
        ),
        repeat=500,
        number=20,
    )
    first = sample_ns(decide_prepared, repeat=500, number=20)
    print(f"order 50 candidates by cost          {summary(order_only)}")
    print(f"needs + first call, cost-ordered     {summary(first)}")
    median_us = (statistics.median(order_only) + statistics.median(first)) / 1e3
    verdict = "ok" if median_us <= TARGET_US else "over"
    print(
        f"order + decide: {median_us:.1f} µs at the median "
        f"(target <= {TARGET_US:.0f} µs): {verdict}"
    )


if __name__ == "__main__":
    main()
