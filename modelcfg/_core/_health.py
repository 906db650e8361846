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
longer ``Retry-After`` moves its end later. In half-open one probe is allowed;
other callers stay blocked until it reports or its lease runs out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from itertools import compress
from operator import itemgetter
from typing import Final, TypeVar

import attrs

from modelcfg._core._failures import Failure, FailureKind, _to_kind
from modelcfg._core._policy import KindRule, Mark, Policy, Scope
from modelcfg._core._slots import slot_setters
from modelcfg._core._values import ModelRef, ProfileId, Target

__all__ = [
    "CIRCUIT_CYCLE",
    "WINDOW_CYCLE",
    "Blocked",
    "BlockCode",
    "Circuit",
    "HealthState",
    "KindCounter",
    "Phase",
    "Transition",
    "Window",
    "circuit_phase",
    "render_cycle_mermaid",
    "window_phase",
]

_MAX_OUTCOMES: Final = 64
"""The most call outcomes a circuit keeps, newest last."""

_AT: Final = itemgetter(0)
_OK: Final = itemgetter(1)


class BlockCode(enum.StrEnum):
    """
    Why a target cannot be called right now.
    """

    COOLING_DOWN = "cooling_down"
    DISABLED = "disabled"
    CIRCUIT_OPEN = "circuit_open"
    PROBE_IN_FLIGHT = "probe_in_flight"


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

    kind: FailureKind = attrs.field(converter=_to_kind)
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
        code: What blocks it.
        kind: The failure kind behind the block, if any.
        model_scoped: Whether the block is on the profile with this model only (a
            cooldown of the pair, or the model's circuit) rather than the whole profile.
    """

    until_at: float
    code: BlockCode
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

_STATE_NAMES: Final = {
    _P.CLOSED: "Closed",
    _P.OPEN: "Open",
    _P.HALF_OPEN: "HalfOpen",
    _P.PROBING: "Probing",
}


def render_cycle_mermaid(cycle: tuple[Transition, ...]) -> str:
    """
    *cycle* as a Mermaid state diagram, for ``docs/decisions.md``.
    """
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> Closed"]
    lines += [
        f"    {_STATE_NAMES[t.source]} --> {_STATE_NAMES[t.target]}: {t.event}" for t in cycle
    ]
    lines.append("```")
    return "\n".join(lines) + "\n"


# -- fast builders (see modelcfg._core._slots): the core's own, already trusted values -------

_new = object.__new__
_set_w_kind, _set_w_until, _set_w_strikes, _set_w_last, _set_w_probe = slot_setters(Window)
_set_c_outcomes, _set_c_open, _set_c_probe = slot_setters(Circuit)
_set_k_count, _set_k_last = slot_setters(KindCounter)


def _window(
    kind: FailureKind,
    until_at: float,
    strikes: int,
    last_failure_at: float,
    probe_until_at: float | None = None,
) -> Window:
    window: Window = _new(Window)
    _set_w_kind(window, kind)
    _set_w_until(window, until_at)
    _set_w_strikes(window, strikes)
    _set_w_last(window, last_failure_at)
    _set_w_probe(window, probe_until_at)
    return window


def _circuit(
    outcomes: tuple[tuple[float, bool], ...],
    open_until_at: float | None = None,
    probe_until_at: float | None = None,
) -> Circuit:
    circuit: Circuit = _new(Circuit)
    _set_c_outcomes(circuit, outcomes)
    _set_c_open(circuit, open_until_at)
    _set_c_probe(circuit, probe_until_at)
    return circuit


def _counter(count: int, last_at: float) -> KindCounter:
    counter: KindCounter = _new(KindCounter)
    _set_k_count(counter, count)
    _set_k_last(counter, last_at)
    return counter


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
    """

    cooldowns: Mapping[ProfileId, Window] = attrs.field(factory=dict)
    model_cooldowns: Mapping[Target, Window] = attrs.field(factory=dict)
    disables: Mapping[ProfileId, Window] = attrs.field(factory=dict)
    counters: Mapping[FailureKind, KindCounter] = attrs.field(factory=dict)
    circuits: Mapping[ModelRef, Circuit] = attrs.field(factory=dict)

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

        The decision core asks both about the target it picks, so this looks each
        table up once rather than twice.
        """
        # Hot path (every candidate of every decision): read the tables directly, skip
        # empty ones (their lookups would hash the key for nothing) and build nothing
        # unless something blocks. Ties keep the first block found, in the order
        # disables, profile cooldowns, target cooldowns, circuit.
        found: Blocked | None = None
        probe = False
        if self.disables and (window := self.disables.get(target.profile)) is not None:
            found = _blocked_by(window, now, BlockCode.DISABLED, found)
            probe = window.until_at <= now
        if self.cooldowns and (window := self.cooldowns.get(target.profile)) is not None:
            found = _blocked_by(window, now, BlockCode.COOLING_DOWN, found)
            probe = probe or window.until_at <= now
        if self.model_cooldowns and (window := self.model_cooldowns.get(target)) is not None:
            found = _blocked_by(window, now, BlockCode.COOLING_DOWN, found, model_scoped=True)
            probe = probe or window.until_at <= now
        if (
            self.circuits
            and (circuit := self.circuits.get(target.model)) is not None
            and (open_until := circuit.open_until_at) is not None
        ):
            if now < open_until:
                if found is None or open_until > found.until_at:
                    found = Blocked(
                        until_at=open_until, code=BlockCode.CIRCUIT_OPEN, model_scoped=True
                    )
            else:
                probe = True
                lease = circuit.probe_until_at
                if lease is not None and now < lease and (found is None or lease > found.until_at):
                    found = Blocked(
                        until_at=lease, code=BlockCode.PROBE_IN_FLIGHT, model_scoped=True
                    )
        return found, probe

    # -- transitions -----------------------------------------------------------------

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
        cooldowns, model_cooldowns = self.cooldowns, self.model_cooldowns
        disables, circuits = self.disables, self.circuits
        profile, model = failure.profile, failure.model
        if target is not None:
            profile = profile if profile is not None else target.profile
            model = model if model is not None else target.model
        # Each decision after a failure runs this: the copies below are dict displays
        # rather than helper calls, and the caller's target is reused as a key.
        if rule.mark is not Mark.NONE and profile is not None:
            ra = (
                policy.capped_retry_after(failure.retry_after_s)
                if rule.honour_retry_after
                else None
            )
            kind = failure.kind
            if rule.mark is Mark.DISABLE:
                window = _next_window(disables.get(profile), kind, rule, now, ra, policy)
                disables = {**disables, profile: window}
            elif rule.scope is Scope.PROFILE or model is None:
                window = _next_window(cooldowns.get(profile), kind, rule, now, ra, policy)
                cooldowns = {**cooldowns, profile: window}
            else:
                pair = (
                    target
                    if target is not None and target.model is model and target.profile is profile
                    else Target(model=model, profile=profile)
                )
                window = _next_window(model_cooldowns.get(pair), kind, rule, now, ra, policy)
                model_cooldowns = {**model_cooldowns, pair: window}
        if rule.trips_circuit and model is not None:
            circuits = {**circuits, model: _circuit_after(circuits.get(model), now, policy)}
        if profile is not None and model is not None:
            # A half-open probe reported: whatever the kind, its lease ends now, and a
            # window it was probing opens again (Probing -> Open) unless the failure
            # was about the request rather than the target.
            # Most failures come with no probe out: look before calling the helper.
            reopen = rule.mark is not Mark.NONE or rule.trips_circuit
            if disables and _probing(disables.get(profile)):
                disables = _after_probe_in(disables, profile, now, reopen, policy)
            if cooldowns and _probing(cooldowns.get(profile)):
                cooldowns = _after_probe_in(cooldowns, profile, now, reopen, policy)
            if model_cooldowns:
                pair = (
                    target
                    if target is not None and target.model == model and target.profile == profile
                    else Target(model=model, profile=profile)
                )
                if _probing(model_cooldowns.get(pair)):
                    model_cooldowns = _after_probe_in(model_cooldowns, pair, now, reopen, policy)
            if (
                circuits
                and (circuit := circuits.get(model)) is not None
                and circuit.probe_until_at is not None
            ):
                # A failure that trips circuits already reopened it above; any other
                # gives the lease back and leaves the circuit half-open.
                circuits = {**circuits, model: _circuit(circuit.outcomes, circuit.open_until_at)}
        return _health(
            cooldowns, model_cooldowns, disables, self._counted(failure, policy), circuits
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
            closed = _circuit(((at, True),))
        else:
            closed = _circuit((*circuit.outcomes[-(_MAX_OUTCOMES - 1) :], (at, True)))
        return _health(
            _drop(self.cooldowns, target.profile),
            _drop(self.model_cooldowns, target),
            _drop(self.disables, target.profile),
            self.counters,
            _put(self.circuits, target.model, closed),
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
        )

    def with_probe_released(self, target: Target) -> HealthState:
        """
        The state once a half-open probe to *target* ended without an outcome.

        A cancelled probe neither closes nor reopens anything: it gives its lease
        back, so the next caller may probe at once instead of waiting the lease out.
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
        counter = _counter(count, max(at, old.last_at if old else at))
        return {**self.counters, failure.kind: counter}


_set_h_cooldowns, _set_h_model_cooldowns, _set_h_disables, _set_h_counters, _set_h_circuits = (
    slot_setters(HealthState)
)


def _health(
    cooldowns: Mapping[ProfileId, Window],
    model_cooldowns: Mapping[Target, Window],
    disables: Mapping[ProfileId, Window],
    counters: Mapping[FailureKind, KindCounter],
    circuits: Mapping[ModelRef, Circuit],
) -> HealthState:
    health: HealthState = _new(HealthState)
    _set_h_cooldowns(health, cooldowns)
    _set_h_model_cooldowns(health, model_cooldowns)
    _set_h_disables(health, disables)
    _set_h_counters(health, counters)
    _set_h_circuits(health, circuits)
    return health


def _blocked_by(
    window: Window,
    now: float,
    code: BlockCode,
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
        until, code = window.probe_until_at, BlockCode.PROBE_IN_FLIGHT
    else:
        return found
    if found is not None and until <= found.until_at:
        return found
    return Blocked(until_at=until, code=code, kind=window.kind, model_scoped=model_scoped)


def _probing(window: Window | None) -> bool:
    return window is not None and window.probe_until_at is not None


def _after_probe_in(
    windows: Mapping[_K, Window], key: _K, now: float, reopen: bool, policy: Policy
) -> Mapping[_K, Window]:
    """
    *windows* once a failure at *now* reported on a target that *key* covers.

    When the window at *key* had a half-open probe out, it opens again by its own
    kind's rule (escalated as usual) if *reopen*, else it just gives the lease
    back. Otherwise *windows* is returned as it is.
    """
    window = windows.get(key)
    if window is None or window.probe_until_at is None or now < window.until_at:
        return windows
    if reopen:
        kind = window.kind
        window = _next_window(window, kind, policy.rule_for(kind), now, None, policy)
    else:
        window = attrs.evolve(window, probe_until_at=None)
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
                return _window(kind, fresh, 1, now)
        return _window(
            old.kind, until, old.strikes, max(now, old.last_failure_at), old.probe_until_at
        )
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
    return _window(kind, now + length, strikes, now)


def _circuit_after(old: Circuit | None, now: float, policy: Policy) -> Circuit:
    outcomes = (*(old.outcomes[-(_MAX_OUTCOMES - 1) :] if old else ()), (now, False))
    if old is not None and old.open_until_at is not None:
        if now < old.open_until_at:
            return _circuit(outcomes, old.open_until_at, old.probe_until_at)
        # Half-open: the probe (or a late caller) failed, so the breaker opens again.
        return _circuit(outcomes, now + policy.circuit_open_s)
    horizon = now - policy.circuit_window_s
    # The outcomes inside the window, picked by C-level iterators: a busy circuit holds
    # 64 of them, and this runs on every failure that counts against it.
    recent = list(compress(map(_OK, outcomes), map(horizon.__lt__, map(_AT, outcomes))))
    failed = recent.count(False)
    if (
        len(recent) >= policy.circuit_min_calls
        and failed / len(recent) >= policy.circuit_failure_rate
    ):
        return _circuit(outcomes, now + policy.circuit_open_s)
    return _circuit(outcomes)
