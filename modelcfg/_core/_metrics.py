"""
Measured health of one target: decayed counts, a bounded latency sketch and a 0-1 score.

Pure and bounded: every value holds a fixed number of floats whatever traffic it
has seen, and recent outcomes weigh more than old ones (exponential decay with a
half-life, so the "window" slides continuously rather than in steps).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Mapping
from typing import Final, TypeVar

import attrs

from modelcfg._core._failures import FailureKind
from modelcfg._core._values import Target

__all__ = [
    "HALF_LIFE_S",
    "HealthEvent",
    "LatencySketch",
    "Measured",
    "TargetMetrics",
    "crossing",
    "crossings",
    "measured",
]

_K = TypeVar("_K")

HALF_LIFE_S: Final = 300.0
"""After this many seconds an outcome counts half as much (five minutes)."""

_KINDS: Final = tuple(FailureKind)
_KIND_INDEX: Final = {kind: index for index, kind in enumerate(_KINDS)}

_BUCKETS: Final = 40
_SMALLEST_S: Final = 0.01
_GROWTH: Final = 1.35
"""Bucket *i* holds latencies up to ``0.01 * 1.35**i`` s: 10 ms to about 1.6 hours, 35 % wide."""
_BOUNDS: Final = tuple(_SMALLEST_S * _GROWTH**i for i in range(_BUCKETS))

DEGRADED_BELOW: Final = 0.5
"""A score falling below this is a degradation."""
RECOVERED_ABOVE: Final = 0.8
"""A degraded target whose score rises above this has recovered (hysteresis)."""
MIN_EVIDENCE: Final = 2.5
"""A target is called degraded only once this much recent evidence (decayed outcomes:
three recent ones) is known, so one early failure of a target nothing else is known of
is no degradation."""


def _bucket(seconds: float) -> int:
    if not seconds > _SMALLEST_S:  # also NaN
        return 0
    return min(bisect.bisect_left(_BOUNDS, seconds), _BUCKETS - 1)


def _degraded(was: bool, successes: float, errors: float) -> bool:
    """
    Whether a target is degraded after an update, from its decayed counts (hysteresis:
    below :data:`DEGRADED_BELOW` with enough evidence, until above :data:`RECOVERED_ABOVE`).
    """
    score = (successes + 1.0) / (successes + errors + 2.0)
    if was:
        return not score > RECOVERED_ABOVE
    return score < DEGRADED_BELOW and successes + errors >= MIN_EVIDENCE


@attrs.frozen(kw_only=True)
class LatencySketch:
    """
    A fixed-size log-bucket histogram of durations, with decayed weights.

    Percentiles are read as the upper bound of the bucket that holds them, so they
    are at most 35 % high and never low.

    Attributes:
        weights: The decayed weight of each bucket (always ``_BUCKETS`` of them).
    """

    weights: tuple[float, ...] = (0.0,) * _BUCKETS

    def added(self, seconds: float, weight: float) -> LatencySketch:
        """
        The sketch with one more duration, weighing *weight*.
        """
        weights = list(self.weights)
        weights[_bucket(seconds)] += weight
        return LatencySketch(weights=tuple(weights))

    def percentile(self, q: float) -> float | None:
        """
        The *q* quantile (0 to 1) in seconds, or ``None`` with no data.
        """
        total = sum(self.weights)
        if total <= 0.0:
            return None
        wanted = q * total
        seen = 0.0
        for index, weight in enumerate(self.weights):
            seen += weight
            if seen >= wanted and weight > 0:
                return _BOUNDS[index]
        return _BOUNDS[-1]


class HealthEvent(enum.StrEnum):
    """
    A threshold crossing of a target's score, for observers.
    """

    DEGRADED = "degraded"
    RECOVERED = "recovered"


_REBASE_HALF_LIVES: Final = 400.0
"""Past this many half-lives from the reference time the stored weights are rebased."""


@attrs.frozen(kw_only=True)
class TargetMetrics:
    """
    What recent calls of one target measured; update it with :meth:`with_success`
    and :meth:`with_failure`.

    An update costs the same whatever the history: instead of decaying every stored
    weight, each new outcome is weighed ``2 ** ((at - ref_at) / HALF_LIFE_S)``, and
    reading divides by the weight of ``updated_at`` (the weights are rebased to a
    new reference time before they could overflow).

    Attributes:
        ref_at: The reference time of the stored weights, or ``None`` with no data.
        updated_at: When it last changed (seconds since the epoch), or ``None``.
        success_weight: The successes, weighed.
        error_weight: The failures, weighed.
        kind_weights: The failures of each kind, weighed, in :class:`FailureKind` order.
        latency: Call durations.
        ttft: Times to first token (streams).
        tokens_per_s: Moving average of output tokens per second, if measured.
        last_failure: The kind of the latest failure, if any.
        last_failure_at: When it happened.
        degraded: Whether the score fell below :data:`DEGRADED_BELOW` and has not
            risen above :data:`RECOVERED_ABOVE` since.
    """

    ref_at: float | None = None
    updated_at: float | None = None
    success_weight: float = 0.0
    error_weight: float = 0.0
    kind_weights: tuple[float, ...] = (0.0,) * len(_KINDS)
    latency: LatencySketch = LatencySketch()
    ttft: LatencySketch = LatencySketch()
    tokens_per_s: float | None = None
    last_failure: FailureKind | None = None
    last_failure_at: float | None = None
    degraded: bool = False

    def _now_weight(self) -> float:
        if self.ref_at is None or self.updated_at is None:
            return 1.0
        return float(2.0 ** ((self.updated_at - self.ref_at) / HALF_LIFE_S))

    @property
    def successes(self) -> float:
        """
        Successes, each counting half as much per half-life of age.
        """
        return self.success_weight / self._now_weight()

    @property
    def errors(self) -> float:
        """
        Failures, each counting half as much per half-life of age.
        """
        return self.error_weight / self._now_weight()

    @property
    def by_kind(self) -> dict[FailureKind, float]:
        """
        Failures of each kind, decayed like :attr:`errors`.
        """
        now = self._now_weight()
        return {kind: weight / now for kind, weight in zip(_KINDS, self.kind_weights, strict=True)}

    @property
    def success_rate(self) -> float | None:
        """
        Successes over all outcomes, recent ones weighing more; ``None`` with no data.
        """
        total = self.success_weight + self.error_weight
        return None if total <= 0.0 else self.success_weight / total

    @property
    def score(self) -> float:
        """
        The health score, 0 (failing) to 1 (healthy): ``(successes + 1) / (successes +
        errors + 2)`` over the decayed counts, so a target nothing is known of scores
        0.5 and a few outcomes move it less than many.
        """
        successes = self.successes
        return (successes + 1.0) / (successes + self.errors + 2.0)

    def error_rate(self, kind: FailureKind) -> float:
        """
        The share of recent outcomes that failed with *kind*.
        """
        total = self.success_weight + self.error_weight
        return 0.0 if total <= 0.0 else self.kind_weights[_KIND_INDEX[kind]] / total

    def _weighed(self, at: float) -> tuple[TargetMetrics, float, float]:
        """
        Itself (rebased when needed), the time of the update, and the weight of an
        outcome then. An outcome older than the latest counts as of the latest.
        """
        current = self
        last = self.updated_at
        at = at if last is None or at > last else last
        ref = self.ref_at
        if ref is None:
            return current, at, 1.0
        age = (at - ref) / HALF_LIFE_S
        if age > _REBASE_HALF_LIVES:
            scale = float(2.0**-age)
            current = attrs.evolve(
                self,
                ref_at=at,
                success_weight=self.success_weight * scale,
                error_weight=self.error_weight * scale,
                kind_weights=tuple(w * scale for w in self.kind_weights),
                latency=LatencySketch(weights=tuple(w * scale for w in self.latency.weights)),
                ttft=LatencySketch(weights=tuple(w * scale for w in self.ttft.weights)),
            )
            return current, at, 1.0
        return current, at, float(2.0**age)

    def with_success(
        self,
        at: float,
        latency_s: float,
        *,
        ttft_s: float | None = None,
        output_tokens: int | None = None,
    ) -> TargetMetrics:
        """
        The metrics after a success at *at* that took *latency_s*.
        """
        base, at, weight = self._weighed(at)
        speed = base.tokens_per_s
        if output_tokens is not None and latency_s > 0:
            rate = output_tokens / latency_s
            speed = rate if speed is None else 0.8 * speed + 0.2 * rate
        successes = base.success_weight + weight
        return TargetMetrics(
            ref_at=at if base.ref_at is None else base.ref_at,
            updated_at=at,
            success_weight=successes,
            error_weight=base.error_weight,
            kind_weights=base.kind_weights,
            latency=base.latency.added(latency_s, weight),
            ttft=base.ttft.added(ttft_s, weight) if ttft_s is not None else base.ttft,
            tokens_per_s=speed,
            last_failure=base.last_failure,
            last_failure_at=base.last_failure_at,
            degraded=_degraded(base.degraded, successes / weight, base.error_weight / weight),
        )

    def with_failure(self, at: float, kind: FailureKind, latency_s: float) -> TargetMetrics:
        """
        The metrics after a failure of *kind* at *at* that took *latency_s*.
        """
        base, at, weight = self._weighed(at)
        kinds = list(base.kind_weights)
        kinds[_KIND_INDEX[kind]] += weight
        errors = base.error_weight + weight
        return TargetMetrics(
            ref_at=at if base.ref_at is None else base.ref_at,
            updated_at=at,
            success_weight=base.success_weight,
            error_weight=errors,
            kind_weights=tuple(kinds),
            latency=base.latency.added(latency_s, weight),
            ttft=base.ttft,
            tokens_per_s=base.tokens_per_s,
            last_failure=kind,
            last_failure_at=at,
            degraded=_degraded(base.degraded, base.success_weight / weight, errors / weight),
        )


def crossing(before: TargetMetrics, after: TargetMetrics) -> HealthEvent | None:
    """
    The event to deliver to observers when an update moved a target across a threshold.
    """
    if after.degraded and not before.degraded:
        return HealthEvent.DEGRADED
    if before.degraded and not after.degraded:
        return HealthEvent.RECOVERED
    return None


@attrs.frozen(kw_only=True)
class Measured:
    """
    What one call (or one active check) measured, to fold into the health metrics.

    Attributes:
        target: Where the call went.
        at: When its outcome was seen.
        latency_s: How long it took.
        failure: The kind it failed with, or ``None`` for a success.
        ttft_s: Its time to first token (streams), if measured.
        output_tokens: The tokens it answered with, if reported.
    """

    target: Target
    at: float
    latency_s: float
    failure: FailureKind | None = None
    ttft_s: float | None = None
    output_tokens: int | None = None


def measured(metrics: TargetMetrics | None, sample: Measured) -> TargetMetrics:
    """
    *metrics* (empty when ``None``) after *sample*.
    """
    base = metrics if metrics is not None else _EMPTY
    if sample.failure is not None:
        return base.with_failure(sample.at, sample.failure, sample.latency_s)
    return base.with_success(
        sample.at, sample.latency_s, ttft_s=sample.ttft_s, output_tokens=sample.output_tokens
    )


_EMPTY: Final = TargetMetrics()


def crossings(
    before: Mapping[_K, TargetMetrics], after: Mapping[_K, TargetMetrics]
) -> tuple[tuple[_K, HealthEvent], ...]:
    """
    Every key of *after* whose metrics crossed a threshold since *before*, with the event.
    """
    if before is after:
        return ()
    events = []
    for key, now in after.items():
        was = before.get(key)
        if was is not now:
            event = crossing(was if was is not None else _EMPTY, now)
            if event is not None:
                events.append((key, event))
    return tuple(events)
