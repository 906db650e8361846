"""
Cooldowns, disables, per-kind counters and circuit breakers, as pure transitions.

:class:`HealthState` is shared between concurrent requests and persisted by hosts.
Every change returns a new instance; the executor applies the same transitions
to a shared store atomically, and :func:`~modelcfg.next_attempt` applies them to
the snapshot it carries.

Windows follow one cycle::

    closed --failure--> open --window ends--> half-open --probe succeeds--> closed
                         ^                        |
                         +----probe fails---------+

A failure while a window is open never extends it, except that an explicit,
longer ``Retry-After`` moves its end later. In half-open one probe is allowed:
:meth:`HealthState.claim_probe` is the one place that rule lives. Other callers stay
blocked until the probe reports or its lease runs out.

The decision core says what the shared health must learn as :data:`HealthUpdate`
values (a failure to record, a probe to claim or give back, a success), carried by
every action; :meth:`HealthState.applied` folds them, so a shell applies them in one
store update and never picks a transition itself.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Final, TypeAlias, TypeVar, assert_never

import attrs

from modelcfg._core._failures import Failure, FailureKind
from modelcfg._core._metrics import Measured, TargetMetrics, measured
from modelcfg._core._policy import KindRule, Mark, Policy, Scope
from modelcfg._core._reasons import SkipCode
from modelcfg._core._values import ModelRef, ProfileId, Target

__all__ = [
    "CIRCUIT_CYCLE",
    "WINDOW_CYCLE",
    "Blocked",
    "Circuit",
    "ClaimProbe",
    "HealthState",
    "HealthUpdate",
    "KindCounter",
    "Phase",
    "ProbeClaim",
    "RecordFailure",
    "RecordSuccess",
    "ReleaseProbe",
    "Transition",
    "Window",
    "circuit_phase",
    "window_phase",
]

_MAX_OUTCOMES: Final = 64
"""The most call outcomes a circuit keeps, newest last."""


@attrs.frozen(kw_only=True)
class Window:
    """
    A cooldown or disable: the key is blocked until ``until_at``, then half-open.

    Attributes:
        kind: The failure that opened the window.
        until_at: When the window ends and one probe is allowed.
        strikes: Failures in a row of this kind here (each one after a window closed).
        last_failure_at: When the last such failure was seen.
        probe_until_at: While a half-open probe is out, the end of its lease.
    """

    kind: FailureKind
    until_at: float
    strikes: int = 1
    last_failure_at: float
    probe_until_at: float | None = None


@attrs.frozen(kw_only=True)
class Circuit:
    """
    The circuit breaker of one target model.

    Attributes:
        outcomes: Recent calls as ``(at, succeeded)``, oldest first, at most 64.
        open_until_at: While open, when it admits a probe; ``None`` when closed.
        probe_until_at: While a half-open probe is out, the end of its lease.
    """

    outcomes: tuple[tuple[float, bool], ...] = ()
    open_until_at: float | None = None
    probe_until_at: float | None = None


@attrs.frozen(kw_only=True)
class KindCounter:
    """
    How often one failure kind was seen since it was last quiet.

    Attributes:
        count: Failures of the kind since the counter last restarted.
        last_at: When the last one was seen.
    """

    count: int
    last_at: float


@attrs.frozen(kw_only=True)
class Blocked:
    """
    Why and until when a target cannot be called.

    Attributes:
        until_at: When the block ends (for a probe in flight, when its lease ends).
        code: What blocks it (never ``context_too_small``, which is no health matter).
        kind: The failure kind behind the block, if any.
        model_scoped: Whether the block is on the profile with this model only (a
            cooldown of the pair, or the model's circuit) rather than the whole profile.
    """

    until_at: float
    code: SkipCode
    kind: FailureKind | None = None
    model_scoped: bool = False


class Phase(enum.StrEnum):
    """
    Where a cooldown, a disable or a circuit breaker is in its cycle.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    PROBING = "probing"


def window_phase(window: Window | None, now: float) -> Phase:
    """
    The phase of a cooldown or disable *window* (``None``: there is none) at *now*.
    """
    if window is None:
        return Phase.CLOSED
    if now < window.until_at:
        return Phase.OPEN
    if window.probe_until_at is not None and now < window.probe_until_at:
        return Phase.PROBING
    return Phase.HALF_OPEN


def circuit_phase(circuit: Circuit | None, now: float) -> Phase:
    """
    The phase of a model's *circuit* breaker (``None``: no calls recorded) at *now*.
    """
    if circuit is None or circuit.open_until_at is None:
        return Phase.CLOSED
    if now < circuit.open_until_at:
        return Phase.OPEN
    if circuit.probe_until_at is not None and now < circuit.probe_until_at:
        return Phase.PROBING
    return Phase.HALF_OPEN


@attrs.frozen(kw_only=True)
class Transition:
    """
    One step of a cycle: from *source* to *target* when *event* happens.

    Attributes:
        source: The phase before.
        target: The phase after.
        event: What happens, in words (the edge label of the docs' diagram).
    """

    source: Phase
    target: Phase
    event: str


_P = Phase
WINDOW_CYCLE: Final = (
    Transition(source=_P.CLOSED, target=_P.OPEN, event="failure (cooldown / disable)"),
    Transition(
        source=_P.OPEN,
        target=_P.OPEN,
        event="repeat failure (end kept; a longer Retry-After or a graver kind moves it later)",
    ),
    Transition(source=_P.OPEN, target=_P.HALF_OPEN, event="window ends"),
    Transition(
        source=_P.HALF_OPEN, target=_P.PROBING, event="one caller's call (Call.probe = true)"
    ),
    Transition(source=_P.PROBING, target=_P.CLOSED, event="success (with_success)"),
    Transition(
        source=_P.PROBING,
        target=_P.OPEN,
        event="failure about the target (next window, longer for escalating kinds)",
    ),
    Transition(
        source=_P.PROBING,
        target=_P.HALF_OPEN,
        event="failure about the request only (lease given back)",
    ),
    Transition(
        source=_P.PROBING, target=_P.HALF_OPEN, event="probe lease (probe_lease_s) runs out"
    ),
    Transition(
        source=_P.PROBING, target=_P.HALF_OPEN, event="probe cancelled (with_probe_released)"
    ),
    Transition(source=_P.OPEN, target=_P.CLOSED, event="cleared()"),
)
"""The cycle of a cooldown or disable; ``tests/test_health.py`` drives every step."""

CIRCUIT_CYCLE: Final = (
    Transition(
        source=_P.CLOSED,
        target=_P.OPEN,
        event="failure rate >= circuit_failure_rate over circuit_window_s, "
        "with >= circuit_min_calls calls",
    ),
    Transition(source=_P.OPEN, target=_P.HALF_OPEN, event="circuit_open_s passed"),
    Transition(
        source=_P.HALF_OPEN, target=_P.PROBING, event="one caller's call (Call.probe = true)"
    ),
    Transition(
        source=_P.PROBING,
        target=_P.CLOSED,
        event="probe succeeds: traffic returns to the primary",
    ),
    Transition(source=_P.PROBING, target=_P.OPEN, event="probe fails (a kind that counts)"),
    Transition(
        source=_P.PROBING,
        target=_P.HALF_OPEN,
        event="probe lease runs out, is cancelled, or fails for the request only",
    ),
    Transition(source=_P.OPEN, target=_P.CLOSED, event="cleared()"),
)
"""The cycle of a model's circuit breaker; ``tests/test_health.py`` drives every step."""


class ProbeClaim(enum.StrEnum):
    """
    What :meth:`HealthState.claim_probe` found for a call about to go out.
    """

    CLAIMED = "claimed"
    """A half-open probe was due, and the call now holds it."""
    OPEN = "open"
    """Nothing blocks the target and no probe is due: the call goes out as it is."""
    BLOCKED = "blocked"
    """A window, an open circuit or another caller's probe blocks the target."""


@attrs.frozen(kw_only=True)
class RecordFailure:
    """
    Record *failure* of a call to *target* (:meth:`HealthState.with_failure`).

    Attributes:
        failure: What happened.
        target: Where it happened.
    """

    failure: Failure
    target: Target


@attrs.frozen(kw_only=True)
class ReleaseProbe:
    """
    Record nothing, but give back *target*'s half-open probe if one is out
    (:meth:`HealthState.with_probe_released`): the call's failure belongs to the
    request only (it ran out of its own time), or the call never reported.

    Attributes:
        target: The target of the call.
    """

    target: Target


@attrs.frozen(kw_only=True)
class ClaimProbe:
    """
    Claim *target*'s half-open probe for a call going out at *at*
    (:meth:`HealthState.claim_probe`).

    Attributes:
        target: The target of the call.
        at: When the call goes out.
    """

    target: Target
    at: float


@attrs.frozen(kw_only=True)
class RecordSuccess:
    """
    Record a successful call to *target* at *at* (:meth:`HealthState.with_success`).

    Attributes:
        target: The target of the call.
        at: When the success was seen.
    """

    target: Target
    at: float


HealthUpdate: TypeAlias = RecordFailure | ReleaseProbe | ClaimProbe | RecordSuccess
"""One change a decision or an outcome makes to the shared health."""


_K = TypeVar("_K")
_V = TypeVar("_V")


def _put(mapping: Mapping[_K, _V], key: _K, value: _V) -> dict[_K, _V]:
    new = dict(mapping)
    new[key] = value
    return new


def _drop(mapping: Mapping[_K, _V], key: _K) -> Mapping[_K, _V]:
    if key not in mapping:
        return mapping
    new = dict(mapping)
    del new[key]
    return new


@attrs.frozen(kw_only=True)
class HealthState:
    """
    What modelcfg remembers about profiles and models between requests.

    Attributes:
        cooldowns: Profile-wide cooldowns (auth, rate limits).
        model_cooldowns: Cooldowns of one profile with one model, keyed by the target.
        disables: Profile disables (billing, revoked keys), kept apart from cooldowns.
        counters: How often each failure kind was seen lately.
        circuits: The circuit breaker of each model.
        model_metrics: What recent calls measured of each model (:class:`TargetMetrics`).
        profile_metrics: What recent calls measured of each profile, all models together.
    """

    cooldowns: Mapping[ProfileId, Window] = attrs.field(factory=dict)
    model_cooldowns: Mapping[Target, Window] = attrs.field(factory=dict)
    disables: Mapping[ProfileId, Window] = attrs.field(factory=dict)
    counters: Mapping[FailureKind, KindCounter] = attrs.field(factory=dict)
    circuits: Mapping[ModelRef, Circuit] = attrs.field(factory=dict)
    model_metrics: Mapping[ModelRef, TargetMetrics] = attrs.field(factory=dict)
    profile_metrics: Mapping[ProfileId, TargetMetrics] = attrs.field(factory=dict)

    # -- queries ---------------------------------------------------------------------

    def blocked_until(self, target: Target, now: float) -> Blocked | None:
        """
        Whether *target* is blocked at *now*, and until when; ``None`` when callable.

        When several things block it, the one that lasts longest is returned.
        A half-open window whose probe is out blocks until the probe's lease ends.
        """
        return self._admission(target, now)[0]

    def probe_due(self, target: Target, now: float) -> bool:
        """
        Whether a call to *target* at *now* would be a half-open probe.

        That is: some window or open circuit covering it has ended, and no success
        has closed it yet.
        """
        return self._admission(target, now)[1]

    def _admission(self, target: Target, now: float) -> tuple[Blocked | None, bool]:
        """
        :meth:`blocked_until` and :meth:`probe_due` of *target* at *now*, in one pass.
        """
        # Ties keep the first block found, in the order disables, profile cooldowns,
        # target cooldowns, circuit.
        found: Blocked | None = None
        probe = False
        window = self.disables.get(target.profile)
        if window is not None:
            found = _blocked_by(window, now, SkipCode.DISABLED, found)
            probe = window.until_at <= now
        window = self.cooldowns.get(target.profile)
        if window is not None:
            found = _blocked_by(window, now, SkipCode.COOLING_DOWN, found)
            probe = probe or window.until_at <= now
        window = self.model_cooldowns.get(target)
        if window is not None:
            found = _blocked_by(window, now, SkipCode.COOLING_DOWN, found, model_scoped=True)
            probe = probe or window.until_at <= now
        circuit = self.circuits.get(target.model)
        if circuit is not None and (open_until := circuit.open_until_at) is not None:
            if now < open_until:
                if found is None or open_until > found.until_at:
                    found = Blocked(
                        until_at=open_until, code=SkipCode.CIRCUIT_OPEN, model_scoped=True
                    )
            else:
                probe = True
                lease = circuit.probe_until_at
                if lease is not None and now < lease and (found is None or lease > found.until_at):
                    found = Blocked(
                        until_at=lease, code=SkipCode.PROBE_IN_FLIGHT, model_scoped=True
                    )
        return found, probe

    def claim_probe(
        self, target: Target, at: float, policy: Policy
    ) -> tuple[ProbeClaim, HealthState, Blocked | None]:
        """
        Check *target* for a call going out at *at*, and claim its half-open probe if one is due.

        This is the half-open rule, in one place: the decision core asks it about each
        candidate, and the executor asks the shared store again as the call goes out.

        Returns:
            The claim, the state after it, and what blocks *target* (as
            :meth:`blocked_until` says). ``BLOCKED`` and this state when a window, an
            open circuit or another caller's probe blocks it; ``OPEN`` and this state
            when nothing blocks it and no probe is due; ``CLAIMED`` and the state
            holding the probe's lease (:meth:`with_probe_started`) when a window or
            open circuit covering it has ended and no success has closed it yet.
        """
        blocked, probe = self._admission(target, at)
        if blocked is not None:
            return ProbeClaim.BLOCKED, self, blocked
        if not probe:
            return ProbeClaim.OPEN, self, None
        return ProbeClaim.CLAIMED, self.with_probe_started(target, at, policy), None

    def applied(self, updates: Iterable[HealthUpdate], policy: Policy) -> HealthState:
        """
        The state after *updates*, in order: what an action or an outcome tells the
        shared health (``action.updates``).
        """
        health = self
        for update in updates:
            match update:
                case RecordFailure(failure=failure, target=target):
                    health = health.with_failure(failure, policy, target=target)
                case ReleaseProbe(target=target):
                    health = health.with_probe_released(target)
                case ClaimProbe(target=target, at=at):
                    _claim, health, _blocked = health.claim_probe(target, at, policy)
                case RecordSuccess(target=target, at=at):
                    health = health.with_success(target, at)
                case _:
                    assert_never(update)
        return health

    # -- transitions -----------------------------------------------------------------

    def with_measured(self, samples: Iterable[Measured]) -> HealthState:
        """
        The state with *samples* folded into the metrics of their models and profiles.

        This is the merge of a batch of measurements kept apart from the circuits, so
        a success that changes no circuit need not write the store at once.
        """
        batch = tuple(samples)
        if not batch:
            return self
        models = dict(self.model_metrics)
        profiles = dict(self.profile_metrics)
        for sample in batch:
            model, profile = sample.target.model, sample.target.profile
            models[model] = measured(models.get(model), sample)
            profiles[profile] = measured(profiles.get(profile), sample)
        return attrs.evolve(self, model_metrics=models, profile_metrics=profiles)

    def with_failure(
        self, failure: Failure, policy: Policy, *, target: Target | None = None
    ) -> HealthState:
        """
        The state after *failure*: counters, cooldown or disable, and circuit.

        Args:
            failure: What happened.
            policy: The rules to apply.
            target: Where it happened, for a failure whose ``model`` or ``profile``
                is not set.

        Without a profile no cooldown is marked; without a model circuits are left
        alone. A window that is open keeps its end unless the failure brings a
        longer (capped) ``Retry-After``; a failure after a window ended opens the
        next one, longer for kinds that escalate. Strikes count as in a row while
        each failure comes within ``counter_reset_s`` of the previous window's end.

        A failure on a target whose half-open probe is out ends the probe's lease,
        whatever its kind: each window the probe was testing opens again by its own
        kind's rule (escalated as usual), unless the failure is about the request
        only (no mark, no circuit: a content filter, an invalid request, a context
        overflow), which just gives the lease back. A half-open circuit reopens on a
        failure that counts against it and otherwise gives its lease back.
        """
        now = failure.observed_at
        rule = policy.rule_for(failure.kind)
        profile, model = failure.profile, failure.model
        if target is not None:
            profile = profile if profile is not None else target.profile
            model = model if model is not None else target.model
        pair: Target | None = None  # The profile with the model, when both are known.
        if target is not None and target.model == model and target.profile == profile:
            pair = target
        elif profile is not None and model is not None:
            pair = Target(model=model, profile=profile)
        # The window the rule marks moves on to its next one; in the others, a half-open
        # probe of this very target reports (only when the model is known too).
        mark = rule.mark if profile is not None else Mark.NONE
        scoped = rule.scope is Scope.PROFILE_MODEL and pair is not None
        ra = policy.capped_retry_after(failure.retry_after_s) if rule.honour_retry_after else None
        probed = pair is not None
        disables, cooldowns = self.disables, self.cooldowns
        if profile is not None:
            marks = mark is Mark.DISABLE
            disables = _after(disables, profile, failure, rule, marks, probed, ra, policy)
            marks = mark is Mark.COOLDOWN and not scoped
            cooldowns = _after(cooldowns, profile, failure, rule, marks, probed, ra, policy)
        model_cooldowns = self.model_cooldowns
        if pair is not None:
            marks = mark is Mark.COOLDOWN and scoped
            model_cooldowns = _after(model_cooldowns, pair, failure, rule, marks, True, ra, policy)
        circuits = self.circuits
        if model is not None:
            circuit = circuits.get(model)
            if rule.trips_circuit:
                circuits = {**circuits, model: _circuit_after(circuit, now, policy)}
            elif probed and circuit is not None and circuit.probe_until_at is not None:
                # A probe of a half-open circuit failed for the request only: it gives
                # the lease back and leaves the circuit half-open.
                circuits = {**circuits, model: attrs.evolve(circuit, probe_until_at=None)}
        return HealthState(
            cooldowns=cooldowns,
            model_cooldowns=model_cooldowns,
            disables=disables,
            counters=self._counted(failure, policy),
            circuits=circuits,
            model_metrics=self.model_metrics,
            profile_metrics=self.profile_metrics,
        )

    def with_success(self, target: Target, at: float) -> HealthState:
        """
        The state after a successful call to *target* at *at*.

        Closes the profile's cooldown and disable, the target's own cooldown and
        the model's circuit (half-open or not), and records the success in the
        circuit's window.
        """
        circuit = self.circuits.get(target.model)
        if circuit is None or circuit.open_until_at is not None:
            closed = Circuit(outcomes=((at, True),))
        else:
            closed = Circuit(outcomes=(*circuit.outcomes[-(_MAX_OUTCOMES - 1) :], (at, True)))
        return HealthState(
            cooldowns=_drop(self.cooldowns, target.profile),
            model_cooldowns=_drop(self.model_cooldowns, target),
            disables=_drop(self.disables, target.profile),
            counters=self.counters,
            circuits=_put(self.circuits, target.model, closed),
            model_metrics=self.model_metrics,
            profile_metrics=self.profile_metrics,
        )

    def with_probe_started(self, target: Target, at: float, policy: Policy) -> HealthState:
        """
        The state once a half-open probe to *target* went out at *at*.

        Other callers see the target blocked until the probe reports or its
        ``probe_lease_s`` runs out. Windows that are still open, or closed, are
        left alone.
        """
        lease = at + policy.probe_lease_s

        def leased(window: Window | None) -> Window | None:
            if window is not None and window.until_at <= at:
                return attrs.evolve(window, probe_until_at=lease)
            return None

        cooldowns, model_cooldowns = self.cooldowns, self.model_cooldowns
        disables, circuits = self.disables, self.circuits
        if (window := leased(disables.get(target.profile))) is not None:
            disables = _put(disables, target.profile, window)
        if (window := leased(cooldowns.get(target.profile))) is not None:
            cooldowns = _put(cooldowns, target.profile, window)
        if (window := leased(model_cooldowns.get(target))) is not None:
            model_cooldowns = _put(model_cooldowns, target, window)
        circuit = circuits.get(target.model)
        if (
            circuit is not None
            and circuit.open_until_at is not None
            and circuit.open_until_at <= at
        ):
            circuits = _put(circuits, target.model, attrs.evolve(circuit, probe_until_at=lease))
        return HealthState(
            cooldowns=cooldowns,
            model_cooldowns=model_cooldowns,
            disables=disables,
            counters=self.counters,
            circuits=circuits,
            model_metrics=self.model_metrics,
            profile_metrics=self.profile_metrics,
        )

    def with_probe_released(self, target: Target) -> HealthState:
        """
        The state once a half-open probe to *target* ended with nothing to say about
        the target: the call was cancelled, or ran out of the request's own time.

        Such a probe neither closes nor reopens anything: it gives its lease back, so
        the next caller may probe at once instead of waiting the lease out.
        """

        def released(window: Window | None) -> Window | None:
            if window is not None and window.probe_until_at is not None:
                return attrs.evolve(window, probe_until_at=None)
            return None

        cooldowns, model_cooldowns = self.cooldowns, self.model_cooldowns
        disables, circuits = self.disables, self.circuits
        if (window := released(disables.get(target.profile))) is not None:
            disables = _put(disables, target.profile, window)
        if (window := released(cooldowns.get(target.profile))) is not None:
            cooldowns = _put(cooldowns, target.profile, window)
        if (window := released(model_cooldowns.get(target))) is not None:
            model_cooldowns = _put(model_cooldowns, target, window)
        circuit = circuits.get(target.model)
        if circuit is not None and circuit.probe_until_at is not None:
            circuits = _put(circuits, target.model, attrs.evolve(circuit, probe_until_at=None))
        return HealthState(
            cooldowns=cooldowns,
            model_cooldowns=model_cooldowns,
            disables=disables,
            counters=self.counters,
            circuits=circuits,
            model_metrics=self.model_metrics,
            profile_metrics=self.profile_metrics,
        )

    def cleared(
        self, profile: ProfileId | None = None, model: ModelRef | None = None
    ) -> HealthState:
        """
        The state with cooldowns, disables and circuits cleared.

        Args:
            profile: Clear only what concerns this profile (billing disables included).
            model: Clear only what concerns this model (its circuit included).

        With both, only that profile's cooldowns with that model are cleared; with
        neither, everything but the counters is.
        """
        if profile is None and model is None:
            return attrs.evolve(self, cooldowns={}, model_cooldowns={}, disables={}, circuits={})
        if profile is not None and model is not None:
            pair = Target(model=model, profile=profile)
            kept = {k: w for k, w in self.model_cooldowns.items() if k != pair}
            return attrs.evolve(self, model_cooldowns=kept)
        if profile is not None:
            return attrs.evolve(
                self,
                cooldowns={k: w for k, w in self.cooldowns.items() if k != profile},
                disables={k: w for k, w in self.disables.items() if k != profile},
                model_cooldowns={
                    k: w for k, w in self.model_cooldowns.items() if k.profile != profile
                },
            )
        return attrs.evolve(
            self,
            model_cooldowns={k: w for k, w in self.model_cooldowns.items() if k.model != model},
            circuits={k: c for k, c in self.circuits.items() if k != model},
        )

    def pruned(self, now: float, policy: Policy) -> HealthState:
        """
        The state without records that no longer matter at *now*.

        Windows that ended more than ``counter_reset_s`` ago (their strikes have
        expired too), quiet counters and closed circuits with no recent calls go.
        """
        horizon = now - policy.counter_reset_s

        def live(window: Window) -> bool:
            return window.until_at > horizon or window.last_failure_at > horizon

        return attrs.evolve(
            self,
            cooldowns={k: w for k, w in self.cooldowns.items() if live(w)},
            model_cooldowns={k: w for k, w in self.model_cooldowns.items() if live(w)},
            disables={k: w for k, w in self.disables.items() if live(w)},
            counters={k: c for k, c in self.counters.items() if c.last_at > horizon},
            circuits={
                k: c
                for k, c in self.circuits.items()
                if c.open_until_at is not None
                or (c.outcomes and c.outcomes[-1][0] > now - policy.circuit_window_s)
            },
        )

    def _counted(self, failure: Failure, policy: Policy) -> dict[FailureKind, KindCounter]:
        old = self.counters.get(failure.kind)
        at = failure.observed_at
        quiet = old is None or at - old.last_at >= policy.counter_reset_s
        count = 1 if quiet or old is None else old.count + 1
        counter = KindCounter(count=count, last_at=max(at, old.last_at if old else at))
        return {**self.counters, failure.kind: counter}


def _blocked_by(
    window: Window,
    now: float,
    code: SkipCode,
    found: Blocked | None,
    *,
    model_scoped: bool = False,
) -> Blocked | None:
    """
    *found*, or the block *window* puts on a target at *now* when that lasts longer.
    """
    if now < window.until_at:
        until = window.until_at
    elif window.probe_until_at is not None and now < window.probe_until_at:
        until, code = window.probe_until_at, SkipCode.PROBE_IN_FLIGHT
    else:
        return found
    if found is not None and until <= found.until_at:
        return found
    return Blocked(until_at=until, code=code, kind=window.kind, model_scoped=model_scoped)


def _after(
    windows: Mapping[_K, Window],
    key: _K,
    failure: Failure,
    rule: KindRule,
    marks: bool,
    probed: bool,
    retry_after_s: float | None,
    policy: Policy,
) -> Mapping[_K, Window]:
    """
    *windows* once *failure* (under *rule*) reported on a target that *key* covers.

    When the failure *marks* this table, the window at *key* moves on to its next one,
    which also ends a half-open probe out on it. Otherwise, when the failure was a call
    to the target itself (*probed*) while the window's half-open probe was out, the
    window opens again by its own kind's rule (escalated as usual) if the failure is
    about the target, or just gives the lease back if it is about the request only.
    """
    old = windows.get(key)
    now = failure.observed_at
    if marks:
        window = _next_window(old, failure.kind, rule, now, retry_after_s, policy)
    elif probed and old is not None and old.probe_until_at is not None and now >= old.until_at:
        if rule.mark is not Mark.NONE or rule.trips_circuit:
            window = _next_window(old, old.kind, policy.rule_for(old.kind), now, None, policy)
        else:
            window = attrs.evolve(old, probe_until_at=None)
    else:
        return windows
    return {**windows, key: window}


def _next_window(
    old: Window | None,
    kind: FailureKind,
    rule: KindRule,
    now: float,
    retry_after_s: float | None,
    policy: Policy,
) -> Window:
    if old is not None and now < old.until_at:
        # Open: never extended by repeats, only by an explicit longer Retry-After.
        until = old.until_at if retry_after_s is None else max(old.until_at, now + retry_after_s)
        if kind is not old.kind and rule.window_for(1) > policy.rule_for(old.kind).window_for(
            old.strikes
        ):
            # A graver kind (auth while rate limited: its fresh window is longer) takes
            # the window over. Only a graver one does, so alternating kinds cannot keep
            # a window open for ever.
            fresh = now + (
                max(retry_after_s, policy.backoff_base_s)
                if retry_after_s is not None
                else rule.window_for(1)
            )
            if fresh > until:
                return Window(kind=kind, until_at=fresh, last_failure_at=now)
        return attrs.evolve(old, until_at=until, last_failure_at=max(now, old.last_failure_at))
    # Strikes count failures of one kind in a row: they stay recent when this failure
    # comes within counter_reset_s of the previous window's end (not of its failure: a
    # window may itself be longer than that), and another kind starts again at one.
    recent = (
        old is not None
        and old.kind is kind
        and now - max(old.until_at, old.last_failure_at) < policy.counter_reset_s
    )
    strikes = old.strikes + 1 if old is not None and recent else 1
    # A fresh window: the provider's Retry-After when it gave one (but never shorter than
    # one backoff step, so "Retry-After: 0" cannot cause a tight loop), else the rule's.
    length = (
        max(retry_after_s, policy.backoff_base_s)
        if retry_after_s is not None
        else rule.window_for(strikes)
    )
    return Window(kind=kind, until_at=now + length, strikes=strikes, last_failure_at=now)


def _circuit_after(old: Circuit | None, now: float, policy: Policy) -> Circuit:
    outcomes = (*(old.outcomes[-(_MAX_OUTCOMES - 1) :] if old else ()), (now, False))
    if old is not None and old.open_until_at is not None:
        if now < old.open_until_at:
            return attrs.evolve(old, outcomes=outcomes)
        # Half-open: the probe (or a late caller) failed, so the breaker opens again.
        return Circuit(outcomes=outcomes, open_until_at=now + policy.circuit_open_s)
    horizon = now - policy.circuit_window_s
    recent = [ok for at, ok in outcomes if at > horizon]
    failed = recent.count(False)
    if (
        len(recent) >= policy.circuit_min_calls
        and failed / len(recent) >= policy.circuit_failure_rate
    ):
        return Circuit(outcomes=outcomes, open_until_at=now + policy.circuit_open_s)
    return Circuit(outcomes=outcomes)
