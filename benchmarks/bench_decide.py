"""
How long one next_attempt() decision takes: 3 models x 3 profiles, realistic health.

Run it with ``python benchmarks/bench_decide.py``; it is not collected by pytest.
Each scenario decides on the same prepared state many times and prints the
median and 90th percentile per decision, in microseconds. Targets: a first attempt
within 5 µs and a decision after a failure within 20 µs, at the median.

The decisions are timed in short batches (20 at a time), so that on a shared machine
few batches span a moment the process was not running: the median then measures the
decision, not the machine's load. Set ``PYTHONPATH`` to another checkout to time its
core with the same script.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from modelcfg import Failure, FailureKind, FallbackChain, ModelRef, ProfileId
from modelcfg._core._actions import Action, Call
from modelcfg._core._decide import next_attempt
from modelcfg._core._health import Circuit, HealthState, KindCounter, Window
from modelcfg._core._state import AttemptState, ModelTraits, Routes, SessionState

T0 = 1_700_000_000.0
ROUNDS = 1_000
LOOPS = 20
FIRST_TARGET_US = 5.0
AFTER_FAILURE_TARGET_US = 20.0


def routes() -> Routes:
    providers = ("anthropic", "openai", "google")
    models = ("anthropic/claude-opus-4-5", "openai/gpt-5.2", "google/gemini-2.5-pro")
    return Routes(
        chain=FallbackChain.of(*models),
        auth_order={
            p: tuple(ProfileId(provider=p, name=n) for n in ("work", "personal", "backup"))
            for p in providers
        },
        traits={
            ModelRef.parse(m): ModelTraits(context_window=w, image_input=True)
            for m, w in zip(models, (200_000, 400_000, 1_000_000), strict=True)
        },
    )


def health() -> HealthState:
    """Some cooldowns and disables, counters, and circuits with recent history."""
    anthropic_work = ProfileId.parse("anthropic:work")
    openai_work = ProfileId.parse("openai:work")
    return HealthState(
        cooldowns={
            anthropic_work: Window(
                kind=FailureKind.RATE_LIMITED, until_at=T0 + 20, last_failure_at=T0
            ),
            ProfileId.parse("google:backup"): Window(
                kind=FailureKind.AUTH, until_at=T0 - 5, last_failure_at=T0 - 305
            ),
        },
        disables={
            openai_work: Window(kind=FailureKind.BILLING, until_at=T0 + 200, last_failure_at=T0)
        },
        counters={
            FailureKind.RATE_LIMITED: KindCounter(count=4, last_at=T0),
            FailureKind.SERVER: KindCounter(count=2, last_at=T0 - 30),
        },
        circuits={
            ModelRef.parse("google/gemini-2.5-pro"): Circuit(
                outcomes=tuple((T0 - i, i % 3 != 0) for i in range(40))
            ),
            ModelRef.parse("openai/gpt-5.2"): Circuit(
                outcomes=tuple((T0 - i, True) for i in range(40))
            ),
        },
    )


def measure(name: str, decide: Callable[[], Action]) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(LOOPS):
            decide()
        samples.append((time.perf_counter_ns() - start) / LOOPS / 1_000)
    samples.sort()
    median = statistics.median(samples)
    p90 = samples[int(len(samples) * 0.9)]
    print(f"{name:<44} median {median:7.2f} µs   p90 {p90:7.2f} µs")
    return median


def main() -> None:
    r = routes()
    session = SessionState(last_good={"anthropic": ProfileId.parse("anthropic:personal")})
    start = AttemptState.start(r, now=T0, session=session, health=health(), seed=11)
    first = next_attempt(None, start)
    assert isinstance(first, Call)
    pending = first.state

    def failure(kind: FailureKind) -> Failure:
        return Failure(kind=kind, observed_at=T0 + 1, status=429, retry_after_s=7.0)

    rate_limited = failure(FailureKind.RATE_LIMITED)
    server = failure(FailureKind.SERVER)
    timeout = failure(FailureKind.TIMEOUT)
    # Two profiles of the primary already failed: a rate limit falls back to the next model.
    rotated = next_attempt(rate_limited, pending)
    assert isinstance(rotated, Call)
    deep = rotated.state

    print(
        f"next_attempt, {len(r.chain.models)} models x 3 profiles, {ROUNDS}x{LOOPS} decisions each"
    )
    first_us = measure("first attempt (skips a cooling profile)", lambda: next_attempt(None, start))
    after_us = [
        measure("rate limited -> rotate profile", lambda: next_attempt(rate_limited, pending)),
        measure("server error -> retry same target", lambda: next_attempt(server, pending)),
        measure("timeout -> fallback (skips disabled)", lambda: next_attempt(timeout, pending)),
        measure(
            "rate limited again -> fallback model",
            lambda: next_attempt(rate_limited, deep),
        ),
    ]
    overall = statistics.median([first_us, *after_us])
    print(f"{'overall median of scenario medians':<44} {overall:7.2f} µs")
    print(
        f"targets: first attempt {first_us:.2f} <= {FIRST_TARGET_US:g} µs "
        f"{'met' if first_us <= FIRST_TARGET_US else 'MISSED'}; after a failure, slowest "
        f"{max(after_us):.2f} <= {AFTER_FAILURE_TARGET_US:g} µs "
        f"{'met' if max(after_us) <= AFTER_FAILURE_TARGET_US else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
