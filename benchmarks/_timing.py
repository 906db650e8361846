"""
Small timing helpers shared by the benchmark scripts (not part of the package).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def sample_ns(func: Callable[[], object], *, repeat: int, number: int = 1) -> list[float]:
    """
    Time *func* *repeat* times, each a batch of *number* calls; nanoseconds per call.
    """
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(number):
            func()
        samples.append((time.perf_counter_ns() - start) / number)
    return samples


def summary(samples_ns: list[float], unit: str = "us") -> str:
    """
    Median, p90 and min of *samples_ns*, in *unit* (``us`` or ``ms``).
    """
    scale = {"us": 1e3, "ms": 1e6}[unit]
    ordered = sorted(samples_ns)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"median {statistics.median(ordered) / scale:8.2f} {unit}   "
        f"p90 {p90 / scale:8.2f} {unit}   min {ordered[0] / scale:8.2f} {unit}"
    )
