"""
How long routing by need and by policy takes: 50 candidates, a request with needs,
ordered by the ``cost`` policy, then the first decision.

Run it with ``python benchmarks/bench_routing.py``; it is not collected by pytest.
It prints the median, p90 and minimum per decision in microseconds. Targets:

- one decision among 50 candidates with needs and the ``cost`` policy (checking the
  needs, ordering by cost inside ``AttemptState.start()``, deciding the first call)
  within 50 µs at the median;
- one health update (a measured call folded into a target's metrics) within 5 µs;
- the metrics of one target within 4 KiB.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._timing import sample_ns, summary
from modelcfg import AttemptState, FallbackChain, ModelRef, ModelTraits, RequestNeeds, Routes
from modelcfg._core._decide import next_attempt
from modelcfg._core._failures import FailureKind
from modelcfg._core._health import HealthState
from modelcfg._core._metrics import Measured, TargetMetrics
from modelcfg._core._routing import RoutingPolicy, order_candidates
from modelcfg._core._values import ProfileId, Target

T0 = 1_700_000_000.0
CANDIDATES = 50
TARGET_US = 50.0
UPDATE_TARGET_US = 5.0
MEMORY_TARGET_BYTES = 4096


def deep_size(value: object, seen: set[int] | None = None) -> int:
    """Bytes held by *value* and everything it refers to (shared floats counted once)."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, tuple | list):
        size += sum(deep_size(item, seen) for item in value)
    elif hasattr(value, "__attrs_attrs__"):
        size += sum(deep_size(getattr(value, a.name), seen) for a in value.__attrs_attrs__)
    return size


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
    by_cost = Routes(chain=routes.chain, traits=routes.traits, routing=RoutingPolicy.COST)

    def decide() -> object:
        return next_attempt(None, AttemptState.start(by_cost, now=T0, needs=needs))

    order_only = sample_ns(
        lambda: order_candidates(
            routes.chain.models, RoutingPolicy.COST, needs=needs, traits=routes.traits
        ),
        repeat=500,
        number=20,
    )
    first = sample_ns(decide, repeat=500, number=20)
    print(f"order 50 candidates by cost          {summary(order_only)}")
    print(f"one decision: needs + cost + call    {summary(first)}")
    median_us = statistics.median(first) / 1e3
    verdict = "ok" if median_us <= TARGET_US else "over"
    print(
        f"decision among {CANDIDATES} with needs and cost: {median_us:.1f} µs at the median "
        f"(target <= {TARGET_US:.0f} µs): {verdict}"
    )


def metrics() -> None:
    warm = TargetMetrics()
    for i in range(200):
        warm = warm.with_success(T0 + i, 0.2 + (i % 13) / 10, ttft_s=0.1, output_tokens=300)
        if i % 9 == 0:
            warm = warm.with_failure(T0 + i, FailureKind.RATE_LIMITED, 0.05)
    success = sample_ns(
        lambda: warm.with_success(T0 + 500, 0.8, ttft_s=0.2, output_tokens=250),
        repeat=500,
        number=20,
    )
    failure = sample_ns(
        lambda: warm.with_failure(T0 + 500, FailureKind.SERVER, 0.3), repeat=500, number=20
    )
    target = Target(model=ModelRef.parse("openai/m00"), profile=ProfileId.parse("openai:default"))
    shared = HealthState().with_measured([Measured(target=target, at=T0, latency_s=0.4)])
    call = (Measured(target=target, at=T0 + 1, latency_s=0.8, ttft_s=0.2, output_tokens=250),)
    merge = sample_ns(lambda: shared.with_measured(call), repeat=500, number=20)
    print(f"health update, success              {summary(success)}")
    print(f"health update, failure              {summary(failure)}")
    print(f"one call merged (model + profile)   {summary(merge)}")
    median_us = max(statistics.median(success), statistics.median(failure)) / 1e3
    verdict = "ok" if median_us <= UPDATE_TARGET_US else "over"
    print(f"health update: {median_us:.1f} µs at the median (target <= 5 µs): {verdict}")
    size = deep_size(warm)
    verdict = "ok" if size <= MEMORY_TARGET_BYTES else "over"
    print(f"memory per target: {size} bytes (target <= {MEMORY_TARGET_BYTES}): {verdict}")


if __name__ == "__main__":
    metrics()
    main()
