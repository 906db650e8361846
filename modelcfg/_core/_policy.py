"""
What the decision core does about each kind of failure, as data.

:data:`DEFAULT_RULES` maps every :class:`~modelcfg.FailureKind` to a
:class:`KindRule`; :class:`Policy` holds that table plus every other knob
(budgets, backoff, circuit breaker). ``docs/gen_decisions.py`` renders the same
table into the docs, so the documentation cannot drift from the code.
Special cases that do not fit a table row live in ``_decide.py``, each commented.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Final

import attrs

from modelcfg._core._failures import FailureKind

__all__ = [
    "DEFAULT_RULES",
    "KindRule",
    "Mark",
    "Policy",
    "RoutingPolicy",
    "Scope",
]


class Mark(enum.StrEnum):
    """
    What a failure leaves behind in the shared health state.
    """

    NONE = "none"
    """Nothing: the failure concerns this request only (it may still count for the circuit)."""
    COOLDOWN = "cooldown"
    """A cooldown window; after it a single probe is allowed (half-open)."""
    DISABLE = "disable"
    """A disable, kept apart from cooldowns (billing, revoked keys); cleared the same way."""


class Scope(enum.StrEnum):
    """
    What a cooldown or disable applies to.
    """

    PROFILE = "profile"
    """The profile, for every model of its provider."""
    PROFILE_MODEL = "profile_model"
    """The profile with this model only; the profile stays usable for other models."""


def _to_mark(value: str) -> Mark:
    return Mark(value)


def _to_scope(value: str) -> Scope:
    return Scope(value)


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, not {value!r}")


def _at_least_one(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 1):
        raise ValueError(f"{attribute.name} must be a finite number >= 1, not {value!r}")


def _count(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, not {value!r}")


def _check_steps(
    _instance: object, attribute: attrs.Attribute[tuple[float, ...]], value: tuple[float, ...]
) -> None:
    for step in value:
        if not (
            isinstance(step, int | float)
            and not isinstance(step, bool)
            and math.isfinite(step)
            and step >= 0
        ):
            raise ValueError(f"{attribute.name} must hold finite numbers >= 0, not {step!r}")


@attrs.frozen(kw_only=True)
class KindRule:
    """
    The policy for one failure kind: one row of the decision table.

    Attributes:
        mark: What the failure leaves in the health state.
        scope: Whether the mark covers the profile or only the profile with this model.
        window_s: How long a fresh cooldown or disable lasts.
        escalation: Each repeat that comes after the previous window closed (and within
            the counter quiet window) multiplies the window by this; ``1`` keeps it fixed.
        max_window_s: The longest window escalation can reach.
        steps: An explicit cooldown curve, such as ``(30, 60, 300)``: the n-th failure
            in a row gets the n-th step, and later ones the last step. When given, it
            replaces ``window_s``, ``escalation`` and ``max_window_s``.
        honour_retry_after: Whether the provider's ``Retry-After`` (capped by
            :attr:`Policy.retry_after_cap_s`) sets the window and the retry delay: a
            retry of the same target waits at least that long, and falls back
            instead when the wait would pass the request's deadline.
        retries: How many times the same target is retried (with backoff) before moving on.
        rotate_profile: Whether to try the model's other profiles next.
        fall_back: Whether to move on to the next model of the chain.
        trips_circuit: Whether the failure counts against the target's circuit breaker.
        note: A remark shown in the docs' table.
    """

    mark: Mark = attrs.field(default=Mark.NONE, converter=_to_mark)
    scope: Scope = attrs.field(default=Scope.PROFILE, converter=_to_scope)
    window_s: float = attrs.field(default=0.0, validator=_non_negative)
    escalation: float = attrs.field(default=1.0, validator=_at_least_one)
    max_window_s: float = attrs.field(default=0.0, validator=_non_negative)
    steps: tuple[float, ...] = attrs.field(default=(), converter=tuple, validator=_check_steps)
    honour_retry_after: bool = False
    retries: int = attrs.field(default=0, validator=_count)
    rotate_profile: bool = False
    fall_back: bool = False
    trips_circuit: bool = False
    note: str = ""

    @property
    def gives_up(self) -> bool:
        """
        Whether the rule ends the request at once: no retry, no rotation, no fallback.
        """
        return not (self.retries or self.rotate_profile or self.fall_back)

    def window_for(self, strikes: int) -> float:
        """
        The length of a fresh window after *strikes* failures in a row (1 for the first).
        """
        if self.steps:
            return self.steps[min(max(strikes, 1), len(self.steps)) - 1]
        cap = max(self.max_window_s, self.window_s)
        try:
            length = self.window_s * self.escalation ** max(strikes - 1, 0)
        except OverflowError:  # A huge escalation: the window has long reached its cap.
            return cap if self.window_s > 0 else 0.0
        return min(length, cap)


_K = FailureKind

DEFAULT_RULES: Final[Mapping[FailureKind, KindRule]] = {
    _K.AUTH: KindRule(
        mark=Mark.COOLDOWN,
        window_s=300.0,
        max_window_s=300.0,
        rotate_profile=True,
        fall_back=True,
        note="Credentials rejected: the next profile of `auth_order`, then the next model.",
    ),
    _K.AUTH_PERMANENT: KindRule(
        mark=Mark.DISABLE,
        window_s=86_400.0,
        max_window_s=86_400.0,
        rotate_profile=True,
        fall_back=True,
        note="Revoked or deactivated key: the profile is disabled for a day.",
    ),
    _K.RATE_LIMITED: KindRule(
        mark=Mark.COOLDOWN,
        scope=Scope.PROFILE_MODEL,
        window_s=30.0,
        escalation=2.0,
        max_window_s=300.0,
        honour_retry_after=True,
        rotate_profile=True,
        fall_back=True,
        note="Cools the profile with this model only (providers limit per model): "
        "the next profile on the same model first, then the next model.",
    ),
    _K.OVERLOADED: KindRule(
        mark=Mark.COOLDOWN,
        scope=Scope.PROFILE_MODEL,
        window_s=15.0,
        escalation=2.0,
        max_window_s=30.0,
        honour_retry_after=True,
        rotate_profile=True,
        fall_back=True,
        trips_circuit=True,
        note="The model is busy: other profiles, then the next model; the window is "
        "bounded at 30 s so traffic returns soon after recovery.",
    ),
    _K.BILLING: KindRule(
        mark=Mark.DISABLE,
        window_s=300.0,
        escalation=2.0,
        max_window_s=3_600.0,
        rotate_profile=True,
        fall_back=True,
        note="Short disable that doubles on repeats after it closed, capped at an hour.",
    ),
    _K.TIMEOUT: KindRule(
        fall_back=True,
        trips_circuit=True,
        note="A silent target is not retried unless `retry_timeout_same_target` is set.",
    ),
    _K.CONNECTION: KindRule(
        retries=2,
        fall_back=True,
        trips_circuit=True,
        note="Bounded retries with backoff, then the next model without sleeping.",
    ),
    _K.SERVER: KindRule(
        honour_retry_after=True,
        retries=2,
        fall_back=True,
        trips_circuit=True,
        note="Bounded retries with backoff (never sooner than a capped `Retry-After`), "
        "then the next model without sleeping.",
    ),
    _K.MODEL_NOT_FOUND: KindRule(
        mark=Mark.COOLDOWN,
        scope=Scope.PROFILE_MODEL,
        window_s=3_600.0,
        max_window_s=3_600.0,
        fall_back=True,
        note="The next model at once; the profile with this model is marked for an hour.",
    ),
    _K.CONTEXT_OVERFLOW: KindRule(
        fall_back=True,
        note="Never this model again; only models with a larger known context window.",
    ),
    _K.CONTENT_FILTER: KindRule(
        note="Gives up at once with the provider's message.",
    ),
    _K.INVALID_REQUEST: KindRule(
        note="Gives up at once with the provider's message.",
    ),
    _K.UNSUPPORTED: KindRule(
        fall_back=True,
        note="The model lacks what the request used: the next model, no retry, no mark.",
    ),
    _K.STREAM_INTERRUPTED: KindRule(
        fall_back=True,
        trips_circuit=True,
        note="Restarts on the next model (after output, if the caller asks); never a success.",
    ),
    _K.UNKNOWN: KindRule(
        honour_retry_after=True,
        retries=2,
        fall_back=True,
        trips_circuit=True,
        note="Treated like a server error.",
    ),
}
"""The default rule for every failure kind."""


def _with_default_rules(value: Mapping[FailureKind, KindRule]) -> dict[FailureKind, KindRule]:
    rules = dict(DEFAULT_RULES)
    for kind, rule in value.items():
        rules[FailureKind(kind)] = rule
    return rules


def _check_rules(
    _instance: object,
    _attribute: attrs.Attribute[Mapping[FailureKind, KindRule]],
    value: Mapping[FailureKind, KindRule],
) -> None:
    for kind, rule in value.items():
        if not isinstance(rule, KindRule):
            raise TypeError(f"the rule for {kind.value!r} must be a KindRule, not {rule!r}")


def _fraction(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and 0 <= value < 1):
        raise ValueError(f"{attribute.name} must be a number in [0, 1), not {value!r}")


def _rate(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and 0 < value <= 1):
        raise ValueError(f"{attribute.name} must be a number in (0, 1], not {value!r}")


def _at_least_one_call(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number >= 1, not {value!r}")


class RoutingPolicy(enum.StrEnum):
    """
    How the candidates that can serve a request are ordered.
    """

    ORDERED = "ordered"
    """The configured chain, as it is (the default)."""
    COST = "cost"
    """Cheapest estimated cost first (catalog prices times the request's token estimate)."""
    LATENCY = "latency"
    """Lowest recent median latency first, else lowest time to first token."""
    RELIABILITY = "reliability"
    """Highest recent success rate first."""


@attrs.frozen(kw_only=True)
class Policy:
    """
    Every knob of the decision core, each with a default.

    Attributes:
        max_attempts: Calls one request may make in all.
        deadline_s: How long one request may take from its start; a delay that would
            end later is not taken.
        max_target_retries: The most retries of one target in one request, whatever
            the kinds' own ``retries`` say.
        backoff_base_s: The delay before the first retry of a target.
        backoff_multiplier: Each further retry multiplies the delay by this.
        backoff_max_s: The longest backoff delay.
        jitter_fraction: Up to this fraction of each backoff delay is taken off,
            and up to this fraction of a wait for a window to end is added, chosen
            from the request's seed.
        retry_after_cap_s: The longest ``Retry-After`` honoured.
        counter_reset_s: A kind's counters restart after this long without that failure.
        probe_lease_s: How long a half-open probe keeps other callers away while it
            has not reported.
        circuit_window_s: The sliding window the circuit breaker counts calls in.
        circuit_min_calls: Calls in the window before the breaker may open.
        circuit_failure_rate: The failure rate that opens the breaker.
        circuit_open_s: How long an open breaker refuses calls before one probe.
        retry_timeout_same_target: Retry a target that timed out (with the
            ``max_target_retries`` budget) instead of falling back at once.
        rules: The rule for each failure kind; kinds left out keep :data:`DEFAULT_RULES`.
    """

    max_attempts: int = attrs.field(default=8, validator=_at_least_one_call)
    deadline_s: float = attrs.field(default=120.0, validator=_positive)
    max_target_retries: int = attrs.field(default=2, validator=_count)
    backoff_base_s: float = attrs.field(default=0.5, validator=_positive)
    backoff_multiplier: float = attrs.field(default=2.0, validator=_at_least_one)
    backoff_max_s: float = attrs.field(default=30.0, validator=_positive)
    jitter_fraction: float = attrs.field(default=0.2, validator=_fraction)
    retry_after_cap_s: float = attrs.field(default=60.0, validator=_non_negative)
    counter_reset_s: float = attrs.field(default=600.0, validator=_positive)
    probe_lease_s: float = attrs.field(default=60.0, validator=_positive)
    circuit_window_s: float = attrs.field(default=60.0, validator=_positive)
    circuit_min_calls: int = attrs.field(default=5, validator=_at_least_one_call)
    circuit_failure_rate: float = attrs.field(default=0.5, validator=_rate)
    circuit_open_s: float = attrs.field(default=30.0, validator=_positive)
    retry_timeout_same_target: bool = False
    rules: Mapping[FailureKind, KindRule] = attrs.field(
        factory=lambda: dict(DEFAULT_RULES), converter=_with_default_rules, validator=_check_rules
    )

    def rule_for(self, kind: FailureKind) -> KindRule:
        """
        The rule for *kind*, with the policy's switches applied.

        ``retry_timeout_same_target`` gives TIMEOUT the ``max_target_retries`` budget.
        """
        rule = self.rules[kind]
        if kind is FailureKind.TIMEOUT and self.retry_timeout_same_target and not rule.retries:
            return attrs.evolve(rule, retries=self.max_target_retries)
        return rule

    def backoff_s(self, retry: int, unit: float) -> float:
        """
        The delay before the *retry*-th retry of a target (1 for the first).

        Args:
            retry: Which retry this is, from 1.
            unit: A number in ``[0, 1)``, normally from the request's seed; it takes
                up to ``jitter_fraction`` off the delay.
        """
        exponent = min(max(retry - 1, 0), 64)
        try:
            delay = min(self.backoff_base_s * self.backoff_multiplier**exponent, self.backoff_max_s)
        except OverflowError:  # A huge multiplier: the delay has long reached its cap.
            delay = self.backoff_max_s
        return delay * (1.0 - self.jitter_fraction * unit)

    def reopening_delay_s(self, wait_s: float, unit: float) -> float:
        """
        The delay before calling a target whose block ends in *wait_s* seconds.

        Never shorter than the block: a cooling profile is not called early. Up to
        ``jitter_fraction`` of the wait (at most ``jitter_fraction`` of
        ``backoff_max_s``) is added, chosen by *unit*, so that callers waiting for
        the same window to end spread out instead of arriving together.

        Args:
            wait_s: How long the block still lasts.
            unit: A number in ``[0, 1)``, normally from the request's seed.
        """
        return wait_s + self.jitter_fraction * unit * min(wait_s, self.backoff_max_s)

    def capped_retry_after(self, retry_after_s: float | None) -> float | None:
        """
        ``Retry-After`` limited to ``retry_after_cap_s``, or ``None`` when not given.
        """
        return None if retry_after_s is None else min(retry_after_s, self.retry_after_cap_s)
