"""
Measured health of one target: decayed counts, a bounded latency sketch and a 0-1 score.

Pure and bounded: every value holds a fixed number of floats whatever traffic it
has seen, and recent outcomes weigh more than old ones (exponential decay with a
half-life, so the "window" slides continuously rather than in steps).
"""

from __future__ import annotations

import enum
import math
from typing import Final

import attrs

from modelcfg._core._failures import FailureKind

__all__ = [
    "HALF_LIFE_S",
    "HealthEvent",
    "LatencySketch",
    "TargetMetrics",
    "crossing",
]

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


def _decay(dt: float) -> float:
    return float(0.5 ** (max(dt, 0.0) / HALF_LIFE_S))


def _bucket(seconds: float) -> int:
    if not seconds > _SMALLEST_S:  # also NaN
        return 0
    index = math.ceil(math.log(seconds / _SMALLEST_S) / math.log(_GROWTH))
    return min(index, _BUCKETS - 1)


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

    def added(self, seconds: float, factor: float) -> LatencySketch:
        """
        The sketch with old weights times *factor* and one more duration.
        """
        index = _bucket(seconds)
        weights = [w * factor for w in self.weights] if factor != 1.0 else list(self.weights)
        weights[index] += 1.0
        return LatencySketch(weights=tuple(weights))

    def percentile(self, q: float) -> float | None:
        """
        The *q* quantile (0 to 1) in seconds, or ``None`` with no data.
        """
        total = sum(self.weights)
        if total <= 1e-9:
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


@attrs.frozen(kw_only=True)
class TargetMetrics:
    """
    What recent calls of one target measured; update it with :meth:`with_success`
    and :meth:`with_failure`.

    Attributes:
        updated_at: When it last changed (seconds since the epoch), or ``None``.
        successes: Decayed count of successes.
        errors: Decayed count of failures.
        by_kind: Decayed count of failures per kind, in :class:`FailureKind` order.
        latency: Call durations.
        ttft: Times to first token (streams).
        tokens_per_s: Decayed average of output tokens per second, if measured.
        last_failure: The kind of the latest failure, if any.
        last_failure_at: When it happened.
        degraded: Whether the score fell below :data:`DEGRADED_BELOW` and has not
            risen above :data:`RECOVERED_ABOVE` since.
    """

    updated_at: float | None = None
    successes: float = 0.0
    errors: float = 0.0
    by_kind: tuple[float, ...] = (0.0,) * len(_KINDS)
    latency: LatencySketch = LatencySketch()
    ttft: LatencySketch = LatencySketch()
    tokens_per_s: float | None = None
    last_failure: FailureKind | None = None
    last_failure_at: float | None = None
    degraded: bool = False

    def _factor(self, at: float) -> float:
        return 1.0 if self.updated_at is None else _decay(at - self.updated_at)

    @property
    def success_rate(self) -> float | None:
        """
        Successes over all outcomes, recent ones weighing more; ``None`` with no data.
        """
        total = self.successes + self.errors
        return None if total <= 1e-9 else self.successes / total

    @property
    def score(self) -> float:
        """
        The health score, 0 (failing) to 1 (healthy): ``(successes + 1) / (successes +
        errors + 2)`` over the decayed counts, so a target nothing is known of scores
        0.5 and a few outcomes move it less than many.
        """
        return (self.successes + 1.0) / (self.successes + self.errors + 2.0)

    def error_rate(self, kind: FailureKind) -> float:
        """
        The share of recent outcomes that failed with *kind*.
        """
        total = self.successes + self.errors
        return 0.0 if total <= 1e-9 else self.by_kind[_KIND_INDEX[kind]] / total

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
        factor = self._factor(at)
        speed = self.tokens_per_s
        if output_tokens is not None and latency_s > 0:
            rate = output_tokens / latency_s
            speed = rate if speed is None else 0.8 * speed + 0.2 * rate
        last = self.updated_at
        return TargetMetrics(
            updated_at=at if last is None or at > last else last,
            successes=self.successes * factor + 1.0,
            errors=self.errors * factor,
            by_kind=self.by_kind if factor == 1.0 else tuple([c * factor for c in self.by_kind]),
            latency=self.latency.added(latency_s, factor),
            ttft=self.ttft.added(ttft_s, factor) if ttft_s is not None else self.ttft,
            tokens_per_s=speed,
            last_failure=self.last_failure,
            last_failure_at=self.last_failure_at,
            degraded=self.degraded,
        )._flagged()

    def with_failure(self, at: float, kind: FailureKind, latency_s: float) -> TargetMetrics:
        """
        The metrics after a failure of *kind* at *at* that took *latency_s*.
        """
        factor = self._factor(at)
        by_kind = [c * factor for c in self.by_kind]
        by_kind[_KIND_INDEX[kind]] += 1.0
        updated = attrs.evolve(
            self,
            updated_at=at if self.updated_at is None else max(at, self.updated_at),
            successes=self.successes * factor,
            errors=self.errors * factor + 1.0,
            by_kind=tuple(by_kind),
            latency=self.latency.added(latency_s, factor),
            last_failure=kind,
            last_failure_at=at,
        )
        return updated._flagged()

    def _flagged(self) -> TargetMetrics:
        score = self.score
        if not self.degraded and score < DEGRADED_BELOW:
            return attrs.evolve(self, degraded=True)
        if self.degraded and score > RECOVERED_ABOVE:
            return attrs.evolve(self, degraded=False)
        return self


def crossing(before: TargetMetrics, after: TargetMetrics) -> HealthEvent | None:
    """
    The event to deliver to observers when an update moved a target across a threshold.
    """
    if after.degraded and not before.degraded:
        return HealthEvent.DEGRADED
    if before.degraded and not after.degraded:
        return HealthEvent.RECOVERED
    return None
