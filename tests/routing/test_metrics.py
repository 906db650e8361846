"""
Measured health of a target: the score, rates, percentiles, threshold events, and
the property that the metrics stay bounded under any sequence of outcomes.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelcfg import FailureKind
from modelcfg._core._metrics import HALF_LIFE_S, HealthEvent, TargetMetrics, crossing

T0 = 1_800_000_000.0


def test_a_target_nothing_is_known_of_scores_one_half() -> None:
    """With no outcomes the score is 0.5 and no rate or percentile is known."""
    fresh = TargetMetrics()

    assert (0.5, None, None) == (fresh.score, fresh.success_rate, fresh.latency.percentile(0.5))


def test_successes_and_failures_set_the_rates() -> None:
    """Three successes and one rate limit give a 75 % success rate and a 25 % rate-limit rate."""
    metrics = TargetMetrics()
    for i in range(3):
        metrics = metrics.with_success(T0, 0.5 + i * 0.1, ttft_s=0.2, output_tokens=100)
    metrics = metrics.with_failure(T0, FailureKind.RATE_LIMITED, 0.05)

    assert (0.75, 0.25, 4 / 6, FailureKind.RATE_LIMITED) == (
        metrics.success_rate,
        metrics.error_rate(FailureKind.RATE_LIMITED),
        metrics.score,
        metrics.last_failure,
    )


def test_percentiles_are_never_low_and_at_most_35_percent_high() -> None:
    """The p50 of durations read from the sketch is within one bucket above the true value."""
    metrics = TargetMetrics()
    for seconds in (0.1, 0.2, 0.3, 0.4, 5.0):
        metrics = metrics.with_success(T0, seconds)
    p50 = metrics.latency.percentile(0.5)

    assert p50 is not None
    assert (True, True) == (0.3 <= p50, p50 <= 0.3 * 1.35)


def test_old_outcomes_fade_with_the_half_life() -> None:
    """A failure one half-life ago counts half as much as a success now."""
    metrics = TargetMetrics().with_failure(T0, FailureKind.SERVER, 1.0)
    later = metrics.with_success(T0 + HALF_LIFE_S, 1.0)

    assert (1.0, 0.5) == (later.successes, later.errors)


def test_degradation_and_recovery_are_crossings_with_hysteresis() -> None:
    """Three failures mark a target degraded (one is too little evidence); recovery needs a rise above 0.8."""
    metrics = TargetMetrics()
    events = []
    outcomes = ["fail"] * 3 + ["ok"] * 4 + ["ok"] * 20
    for step, outcome in enumerate(outcomes):
        at = T0 + step
        before = metrics
        if outcome == "fail":
            metrics = metrics.with_failure(at, FailureKind.SERVER, 1.0)
        else:
            metrics = metrics.with_success(at, 1.0)
        event = crossing(before, metrics)
        if event is not None:
            events.append((step, event))

    assert [(2, HealthEvent.DEGRADED), (17, HealthEvent.RECOVERED)] == events


outcome = st.tuples(
    st.booleans(),
    st.floats(min_value=0, max_value=10_000),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from(list(FailureKind)),
)


@given(st.lists(outcome, max_size=60))
def test_metrics_stay_bounded_under_any_sequence(
    steps: list[tuple[bool, float, float, FailureKind]],
) -> None:
    """Whatever happens, sizes are fixed, counts are finite and the score stays within 0 and 1."""
    metrics = TargetMetrics()
    at = T0
    for ok, gap, seconds, kind in steps:
        at += gap
        if ok:
            metrics = metrics.with_success(at, seconds, ttft_s=seconds / 2, output_tokens=10)
        else:
            metrics = metrics.with_failure(at, kind, seconds)

    assert (40, 40, len(FailureKind)) == (
        len(metrics.latency.weights),
        len(metrics.ttft.weights),
        len(metrics.kind_weights),
    )
    assert 0.0 < metrics.score < 1.0
    assert metrics.successes + metrics.errors <= len(steps) + 1e-6
