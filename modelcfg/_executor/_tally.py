"""
Outcomes per experiment arm, counted from the executor's events.

:class:`ExperimentTally` is an observer: give it to the executor
(``observers=[tally]``) and it counts, per arm, the requests, the answered ones,
the attempts and how they failed, latencies and tokens per model. Its JSON form
(:meth:`ExperimentTally.to_json`) is what ``modelcfg experiments report`` reads,
one file per process, merged; the usage ledger (``modelcfg usage --by arm``)
keeps the same outcomes per attempt when a host records one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from modelcfg._core._values import ModelRef
from modelcfg._executor._reports import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    ExecutorEvent,
)
from modelcfg._messages import Usage
from modelcfg.typing import JSON, JSONObject

__all__ = ["ArmStats", "ExperimentTally", "merged"]

_FORMAT: Final = 1
"""The version of :meth:`ExperimentTally.to_json`'s form."""


@attrs.frozen(kw_only=True)
class ArmStats:
    """
    What the requests of one arm came to.

    Attributes:
        arm: The arm, ``experiment:arm``.
        requests: Requests that made a first attempt.
        answered: Requests that got an answer.
        attempts: Calls made, retries and fallbacks included.
        failures: Failed attempts, by failure kind.
        latency_s: The summed latency of the answering attempts.
        first_token_s: The summed time to first content of the answering attempts
            that reported one, and how many did.
        usage: Tokens of the answering attempts, per model.
    """

    arm: str
    requests: int = 0
    answered: int = 0
    attempts: int = 0
    failures: Mapping[str, int] = attrs.field(factory=dict)
    latency_s: float = 0.0
    first_token_s: tuple[float, int] = (0.0, 0)
    usage: Mapping[ModelRef, Usage] = attrs.field(factory=dict)

    @property
    def success_rate(self) -> float | None:
        """
        Answered requests per request, from 0 to 1; ``None`` before any request.
        """
        return self.answered / self.requests if self.requests else None

    @property
    def mean_latency_s(self) -> float | None:
        """
        The mean latency of the answering attempts; ``None`` before any answer.
        """
        return self.latency_s / self.answered if self.answered else None

    @property
    def tokens(self) -> Usage:
        """
        Every answering attempt's tokens, all models together.
        """
        return _sum(self.usage.values())


def _sum(usages: Iterable[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total = Usage(
            input_tokens=total.input_tokens + usage.input_tokens,
            output_tokens=total.output_tokens + usage.output_tokens,
            cache_read_tokens=total.cache_read_tokens + usage.cache_read_tokens,
            cache_write_tokens=total.cache_write_tokens + usage.cache_write_tokens,
        )
    return total


class _Counts:
    __slots__ = ("answered", "attempts", "failures", "first", "latency", "requests", "usage")

    def __init__(self) -> None:
        self.requests = 0
        self.answered = 0
        self.attempts = 0
        self.failures: dict[str, int] = {}
        self.latency = 0.0
        self.first = (0.0, 0)
        self.usage: dict[ModelRef, Usage] = {}


class ExperimentTally:
    """
    An observer that counts outcomes per experiment arm; events without an arm are ignored.

    Thread-safe, so one tally may watch several executors (or a sync client).
    """

    def __init__(self) -> None:
        self._arms: dict[str, _Counts] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ExperimentTally(arms={sorted(self._arms)})"

    def __call__(self, event: ExecutorEvent, /) -> None:
        arm = getattr(event, "arm", None)
        if arm is None:
            return
        with self._lock:
            counts = self._arms.setdefault(arm, _Counts())
            match event:
                case AttemptStarted(number=number):
                    counts.attempts += 1
                    if number == 1:
                        counts.requests += 1
                case AttemptSucceeded(target=target, latency_s=latency, first_token_s=first):
                    counts.answered += 1
                    counts.latency += latency
                    if first is not None:
                        counts.first = (counts.first[0] + first, counts.first[1] + 1)
                    model = target.model
                    counts.usage[model] = _sum((counts.usage.get(model, Usage()), event.usage))
                case AttemptFailed(failure=failure):
                    kind = failure.kind.value
                    counts.failures[kind] = counts.failures.get(kind, 0) + 1

    def stats(self) -> tuple[ArmStats, ...]:
        """
        Each arm's outcomes so far, by arm name.
        """
        with self._lock:
            return tuple(
                ArmStats(
                    arm=arm,
                    requests=c.requests,
                    answered=c.answered,
                    attempts=c.attempts,
                    failures=dict(c.failures),
                    latency_s=c.latency,
                    first_token_s=c.first,
                    usage=dict(c.usage),
                )
                for arm, c in sorted(self._arms.items())
            )

    def to_json(self) -> JSONObject:
        """
        The counts as JSON, for ``modelcfg experiments report`` (write one file per process).
        """
        arms: JSONObject = {}
        for stats in self.stats():
            usage: JSONObject = {
                str(model): {
                    "input": u.input_tokens,
                    "output": u.output_tokens,
                    "cacheRead": u.cache_read_tokens,
                    "cacheWrite": u.cache_write_tokens,
                }
                for model, u in stats.usage.items()
            }
            arms[stats.arm] = {
                "requests": stats.requests,
                "answered": stats.answered,
                "attempts": stats.attempts,
                "failures": dict(stats.failures),
                "latencySeconds": stats.latency_s,
                "firstTokenSeconds": list(stats.first_token_s),
                "usage": usage,
            }
        return {"format": _FORMAT, "arms": arms}

    @classmethod
    def from_json(cls, data: JSON, *, where: str = "$") -> tuple[ArmStats, ...]:
        """
        The arm outcomes a :meth:`to_json` form holds.

        Raises:
            ValueError: *data* is not such a form; the message names the JSON path.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{where}: not an experiment tally (format {_FORMAT})")
        arms = data.get("arms")
        if not isinstance(arms, dict):
            raise ValueError(f"{where}.arms: expected an object")
        return tuple(_arm(name, item, f"{where}.arms.{name}") for name, item in arms.items())


def _count(value: JSON, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: expected a whole number of at least 0")
    return value


def _seconds(value: JSON, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{where}: expected a number of seconds of at least 0")
    return float(value)


def _arm(name: str, item: JSON, where: str) -> ArmStats:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object")
    failures = item.get("failures", {})
    first = item.get("firstTokenSeconds", [0, 0])
    usage = item.get("usage", {})
    if not isinstance(failures, dict) or not isinstance(usage, dict):
        raise ValueError(f"{where}: failures and usage must be objects")
    if not isinstance(first, list) or len(first) != 2:
        raise ValueError(f"{where}.firstTokenSeconds: expected [seconds, count]")
    per_model: dict[ModelRef, Usage] = {}
    for model, tokens in usage.items():
        place = f"{where}.usage.{model}"
        if not isinstance(tokens, dict):
            raise ValueError(f"{place}: expected an object")
        try:
            ref = ModelRef.parse(model)
        except ValueError as error:
            raise ValueError(f"{place}: {error}") from None
        per_model[ref] = Usage(
            input_tokens=_count(tokens.get("input", 0), f"{place}.input"),
            output_tokens=_count(tokens.get("output", 0), f"{place}.output"),
            cache_read_tokens=_count(tokens.get("cacheRead", 0), f"{place}.cacheRead"),
            cache_write_tokens=_count(tokens.get("cacheWrite", 0), f"{place}.cacheWrite"),
        )
    return ArmStats(
        arm=name,
        requests=_count(item.get("requests", 0), f"{where}.requests"),
        answered=_count(item.get("answered", 0), f"{where}.answered"),
        attempts=_count(item.get("attempts", 0), f"{where}.attempts"),
        failures={k: _count(v, f"{where}.failures.{k}") for k, v in failures.items()},
        latency_s=_seconds(item.get("latencySeconds", 0), f"{where}.latencySeconds"),
        first_token_s=(
            _seconds(first[0], f"{where}.firstTokenSeconds[0]"),
            _count(first[1], f"{where}.firstTokenSeconds[1]"),
        ),
        usage=per_model,
    )


def merged(stats: Iterable[ArmStats]) -> tuple[ArmStats, ...]:
    """
    The outcomes of the same arms (from several processes' tallies) added up, by arm name.
    """
    totals: dict[str, ArmStats] = {}
    for s in stats:
        t = totals.get(s.arm)
        if t is None:
            totals[s.arm] = s
            continue
        failures = dict(t.failures)
        for kind, count in s.failures.items():
            failures[kind] = failures.get(kind, 0) + count
        usage = dict(t.usage)
        for model, u in s.usage.items():
            usage[model] = _sum((usage.get(model, Usage()), u))
        totals[s.arm] = ArmStats(
            arm=s.arm,
            requests=t.requests + s.requests,
            answered=t.answered + s.answered,
            attempts=t.attempts + s.attempts,
            failures=failures,
            latency_s=t.latency_s + s.latency_s,
            first_token_s=(
                t.first_token_s[0] + s.first_token_s[0],
                t.first_token_s[1] + s.first_token_s[1],
            ),
            usage=usage,
        )
    return tuple(totals[arm] for arm in sorted(totals))
