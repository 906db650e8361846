"""
Tests for cooldowns, disables, counters and circuit breakers.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import Failure, FailureKind, ModelRef, ProfileId, Target
from modelcfg._core._health import (
    CIRCUIT_CYCLE,
    WINDOW_CYCLE,
    Circuit,
    ClaimProbe,
    HealthState,
    Phase,
    ProbeClaim,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    Transition,
    circuit_phase,
    window_phase,
)
from modelcfg._core._policy import DEFAULT_RULES, KindRule, Policy, Scope
from modelcfg._core._reasons import SkipCode

T0 = 1_700_000_000.0
K = FailureKind
POLICY = Policy(
    rules={K.RATE_LIMITED: attrs.evolve(DEFAULT_RULES[K.RATE_LIMITED], scope=Scope.PROFILE)}
)
"""Rate limits cool the whole profile here, so these tests can watch its window."""
MODEL = ModelRef.parse("anthropic/opus")
OTHER = ModelRef.parse("anthropic/sonnet")
WORK = ProfileId.parse("anthropic:work")
HOME = ProfileId.parse("anthropic:home")
TARGET = Target(model=MODEL, profile=WORK)


def fail(
    kind: FailureKind, at: float, retry_after_s: float | None = None, model: ModelRef = MODEL
) -> Failure:
    return Failure(
        kind=kind, observed_at=at, retry_after_s=retry_after_s, model=model, profile=WORK
    )


def until(health: HealthState, at: float, target: Target = TARGET) -> float | None:
    blocked = health.blocked_until(target, at)
    return None if blocked is None else blocked.until_at


def test_rate_limit_cools_only_the_profile_with_that_model_by_default() -> None:
    """By default a rate limit blocks (profile, model) for 30 s; other models stay usable."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), Policy())

    assert T0 + 30 == until(health, T0 + 1)
    assert until(health, T0 + 1, Target(model=OTHER, profile=WORK)) is None
    assert {} == health.cooldowns


def test_rate_limit_cools_the_profile_for_every_model_when_so_scoped() -> None:
    """A rate limit scoped to the profile blocks it with other models too."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)

    expected = T0 + 30
    assert expected == until(health, T0 + 1, Target(model=OTHER, profile=WORK))
    assert until(health, T0 + 1, Target(model=MODEL, profile=HOME)) is None


def test_overload_cools_only_the_profile_with_that_model() -> None:
    """An overload marks (profile, model); the profile stays usable with other models."""
    health = HealthState().with_failure(fail(K.OVERLOADED, T0), POLICY)

    expected = T0 + 15
    assert expected == until(health, T0 + 1)
    assert until(health, T0 + 1, Target(model=OTHER, profile=WORK)) is None


def test_repeat_failure_does_not_extend_an_open_window() -> None:
    """A second rate limit inside the window keeps the window's end."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)
    again = health.with_failure(fail(K.RATE_LIMITED, T0 + 20), POLICY)

    expected = T0 + 30
    assert expected == until(again, T0 + 21)


def test_longer_retry_after_moves_an_open_window_later() -> None:
    """An explicit Retry-After longer than the rest of the window is honoured."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)
    again = health.with_failure(fail(K.RATE_LIMITED, T0 + 20, retry_after_s=45), POLICY)

    expected = T0 + 65
    assert expected == until(again, T0 + 21)


def test_retry_after_is_capped() -> None:
    """A Retry-After above retry_after_cap_s opens a window of the cap only."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0, retry_after_s=10_000), POLICY)

    expected = T0 + 60
    assert expected == until(health, T0 + 1)


def test_billing_disable_doubles_after_the_window_closed() -> None:
    """Billing disables the profile for 5 min, then 10 min when it fails again after reopening."""
    first = HealthState().with_failure(fail(K.BILLING, T0), POLICY)
    second = first.with_failure(fail(K.BILLING, T0 + 301), POLICY)
    blocked = first.blocked_until(TARGET, T0)
    assert blocked is not None

    expected = (SkipCode.DISABLED, T0 + 300, T0 + 301 + 600)
    assert expected == (blocked.code, blocked.until_at, until(second, T0 + 302))


def test_billing_strikes_reset_after_a_quiet_window() -> None:
    """A billing failure long after the last one starts again at the short window."""
    first = HealthState().with_failure(fail(K.BILLING, T0), POLICY)
    later = first.with_failure(fail(K.BILLING, T0 + 5_000), POLICY)

    expected = T0 + 5_300
    assert expected == until(later, T0 + 5_001)


def test_clearing_a_profile_lifts_its_billing_disable() -> None:
    """cleared(profile=...) removes the profile's disables and cooldowns."""
    health = HealthState().with_failure(fail(K.BILLING, T0), POLICY)
    health = health.with_failure(fail(K.MODEL_NOT_FOUND, T0), POLICY)

    assert until(health.cleared(profile=WORK), T0 + 1) is None
    assert until(health.cleared(profile=HOME), T0 + 1) is not None


def test_clearing_a_model_closes_its_circuit() -> None:
    """cleared(model=...) removes the model's circuit and pair cooldowns, not profile cooldowns."""
    policy = Policy(circuit_min_calls=1)
    health = HealthState().with_failure(fail(K.SERVER, T0), policy)
    blocked = health.blocked_until(TARGET, T0 + 1)
    assert blocked is not None

    expected = SkipCode.CIRCUIT_OPEN
    assert expected == blocked.code
    assert until(health.cleared(model=MODEL), T0 + 1) is None


def test_half_open_allows_one_probe_at_a_time() -> None:
    """After the window one probe goes out; others are blocked until it reports or its lease ends."""
    health = HealthState().with_failure(fail(K.AUTH, T0), POLICY)
    probing = health.with_probe_started(TARGET, T0 + 301, POLICY)
    blocked = probing.blocked_until(TARGET, T0 + 302)

    assert health.probe_due(TARGET, T0 + 301)
    assert blocked is not None
    expected = SkipCode.PROBE_IN_FLIGHT
    assert expected == blocked.code
    assert until(probing, T0 + 301 + POLICY.probe_lease_s) is None


def test_probe_success_closes_and_failure_reopens() -> None:
    """A successful probe clears the cooldown; a failed one opens the next window."""
    health = HealthState().with_failure(fail(K.AUTH, T0), POLICY)
    probing = health.with_probe_started(TARGET, T0 + 301, POLICY)
    closed = probing.with_success(TARGET, T0 + 302)
    reopened = probing.with_failure(fail(K.AUTH, T0 + 302), POLICY)

    assert (until(closed, T0 + 302), closed.probe_due(TARGET, T0 + 302)) == (None, False)
    expected = T0 + 602
    assert expected == until(reopened, T0 + 303)


def test_circuit_opens_on_failure_rate_with_enough_calls() -> None:
    """The breaker opens once min_calls calls in the window fail at the threshold rate."""
    policy = Policy(circuit_min_calls=4, circuit_failure_rate=0.5, circuit_open_s=30)
    health = HealthState()
    for i in range(2):
        health = health.with_success(TARGET, T0 + i)
    health = health.with_failure(fail(K.SERVER, T0 + 2), policy)
    open_before = health.blocked_until(TARGET, T0 + 2)
    health = health.with_failure(fail(K.SERVER, T0 + 3), policy)

    assert open_before is None
    expected = T0 + 33
    assert expected == until(health, T0 + 4)


def test_circuit_ignores_profile_failures() -> None:
    """Auth failures do not count against the model's circuit."""
    policy = Policy(circuit_min_calls=1)
    health = HealthState().with_failure(fail(K.AUTH, T0), policy)

    assert MODEL not in health.circuits


def test_counters_restart_after_a_quiet_window() -> None:
    """Per-kind counters add up, and restart after counter_reset_s without that failure."""
    health = HealthState()
    for at in (T0, T0 + 1, T0 + 2):
        health = health.with_failure(fail(K.SERVER, at), POLICY)
    quiet = health.with_failure(fail(K.SERVER, T0 + 2 + POLICY.counter_reset_s), POLICY)

    expected = 3
    assert expected == health.counters[K.SERVER].count
    expected = 1
    assert expected == quiet.counters[K.SERVER].count


def test_failure_without_profile_uses_the_given_target() -> None:
    """with_failure(target=...) places a failure that names no profile."""
    bare = Failure(kind=K.RATE_LIMITED, observed_at=T0)
    health = HealthState().with_failure(bare, POLICY, target=TARGET)

    expected = T0 + 30
    assert expected == until(health, T0 + 1)


def test_pruned_forgets_old_windows() -> None:
    """pruned() drops windows and counters quiet for longer than counter_reset_s."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)

    assert HealthState() == health.pruned(T0 + 10_000, POLICY)
    assert health == health.pruned(T0 + 10, POLICY)


@settings(max_examples=100)
@given(
    hst.lists(
        hst.tuples(
            hst.sampled_from(FailureKind),
            hst.floats(min_value=0, max_value=200),
            hst.none() | hst.floats(min_value=0, max_value=500),
        ),
        max_size=10,
    )
)
def test_windows_never_end_before_their_start_nor_shrink(
    events: list[tuple[FailureKind, float, float | None]],
) -> None:
    """A failure never moves an open window's end earlier."""
    health = HealthState()
    at = T0
    for kind, step, retry_after in events:
        at += step
        before = until(health, at)
        health = health.with_failure(fail(kind, at, retry_after), POLICY)
        after = until(health, at)

        assert before is None or (after is not None and after >= before)


@pytest.mark.parametrize("kind", [K.CONTENT_FILTER, K.INVALID_REQUEST, K.CONTEXT_OVERFLOW])
def test_request_problems_leave_no_mark(kind: FailureKind) -> None:
    """Failures about the request itself never block the profile or model."""
    health = HealthState().with_failure(fail(kind, T0), Policy(circuit_min_calls=1))

    assert until(health, T0) is None


def window_lengths(kind: FailureKind, repeats: int, key: str = "cooldowns") -> list[float]:
    """Fail *repeats* times, each just as the previous window ends; return each window's length."""
    health, at, lengths = HealthState(), T0, []
    for _ in range(repeats):
        health = health.with_failure(fail(kind, at), POLICY)
        window = getattr(health, key)[WORK]
        lengths.append(window.until_at - at)
        at = window.until_at
    return lengths


def test_billing_disables_double_up_to_the_hour_cap() -> None:
    """Billing failures each right after the disable ended double the window until the 1 h cap."""
    lengths = window_lengths(K.BILLING, 6, "disables")

    expected = [300.0, 600.0, 1_200.0, 2_400.0, 3_600.0, 3_600.0]
    assert expected == lengths


def test_rate_limit_cooldowns_double_up_to_their_cap() -> None:
    """Rate limits each right after the cooldown ended double the window until the 5 min cap."""
    lengths = window_lengths(K.RATE_LIMITED, 6)

    expected = [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]
    assert expected == lengths


def test_strikes_count_quiet_time_from_the_end_of_the_window() -> None:
    """A repeat less than counter_reset_s after a long window ended still escalates."""
    second = HealthState().with_failure(fail(K.BILLING, T0), POLICY)
    second = second.with_failure(fail(K.BILLING, T0 + 300), POLICY)
    third = second.with_failure(fail(K.BILLING, T0 + 900 + 599), POLICY)
    quiet = second.with_failure(fail(K.BILLING, T0 + 900 + 600), POLICY)

    expected = (3, 1)
    assert expected == (third.disables[WORK].strikes, quiet.disables[WORK].strikes)


def probing_after_rate_limit() -> HealthState:
    """A rate-limit cooldown that ended at T0 + 30, with this caller's probe out since T0 + 31."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)
    return health.with_probe_started(TARGET, T0 + 31, POLICY)


def test_probe_failing_with_an_unmarked_kind_reopens_the_window() -> None:
    """A probe failing with a server error ends its lease and opens the next, escalated window."""
    failed = probing_after_rate_limit().with_failure(fail(K.SERVER, T0 + 32), POLICY)
    blocked = failed.blocked_until(TARGET, T0 + 33)
    assert blocked is not None

    expected = (SkipCode.COOLING_DOWN, K.RATE_LIMITED, T0 + 32 + 60, None, 2)
    window = failed.cooldowns[WORK]
    assert expected == (
        blocked.code,
        blocked.kind,
        blocked.until_at,
        window.probe_until_at,
        window.strikes,
    )


@pytest.mark.parametrize("kind", [K.CONTENT_FILTER, K.INVALID_REQUEST, K.CONTEXT_OVERFLOW])
def test_probe_failing_on_the_request_gives_the_lease_back(kind: FailureKind) -> None:
    """A probe that fails because of the request itself frees the target for the next probe."""
    failed = probing_after_rate_limit().with_failure(fail(kind, T0 + 32), POLICY)

    assert until(failed, T0 + 33) is None
    assert failed.probe_due(TARGET, T0 + 33)


def test_probe_of_a_half_open_circuit_gives_its_lease_back_on_a_profile_failure() -> None:
    """A circuit probe failing with auth (not a model failure) frees the circuit, which stays half-open."""
    health = HealthState(circuits={MODEL: Circuit(open_until_at=T0)})
    probing = health.with_probe_started(Target(model=MODEL, profile=HOME), T0 + 1, POLICY)
    failed = probing.with_failure(
        Failure(kind=K.AUTH, observed_at=T0 + 2, model=MODEL, profile=HOME), POLICY
    )

    expected = Circuit(open_until_at=T0, probe_until_at=None)
    assert expected == failed.circuits[MODEL]
    assert until(failed, T0 + 3) is None


def test_probe_of_a_half_open_circuit_reopens_it_on_a_model_failure() -> None:
    """A circuit probe failing with a server error opens the circuit again for circuit_open_s."""
    health = HealthState(circuits={MODEL: Circuit(open_until_at=T0)})
    probing = health.with_probe_started(TARGET, T0 + 1, POLICY)
    failed = probing.with_failure(fail(K.SERVER, T0 + 2), POLICY)
    blocked = failed.blocked_until(TARGET, T0 + 3)
    assert blocked is not None

    expected = (SkipCode.CIRCUIT_OPEN, T0 + 2 + POLICY.circuit_open_s)
    assert expected == (blocked.code, blocked.until_at)


def test_alternating_kinds_never_keep_a_window_open() -> None:
    """Auth and rate limits in turn, each just before the window ends, keep the first window's end."""
    health = HealthState().with_failure(fail(K.AUTH, T0), POLICY)
    for i, kind in enumerate((K.RATE_LIMITED, K.AUTH, K.RATE_LIMITED, K.AUTH)):
        health = health.with_failure(fail(kind, T0 + 295 + i), POLICY)

    expected = T0 + 300
    assert expected == until(health, T0 + 299)


def test_a_graver_kind_takes_an_open_window_over() -> None:
    """An auth failure while rate limited opens the longer auth window; a rate limit after it does not shorten or extend it."""
    health = HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)
    graver = health.with_failure(fail(K.AUTH, T0 + 10), POLICY)
    milder = graver.with_failure(fail(K.RATE_LIMITED, T0 + 300), POLICY)

    expected = (T0 + 310, K.AUTH, T0 + 310)
    assert expected == (
        until(graver, T0 + 11),
        graver.cooldowns[WORK].kind,
        until(milder, T0 + 301),
    )


def test_strikes_do_not_carry_over_to_another_kind() -> None:
    """A rate limit soon after an auth window closed opens a first-strike rate-limit window."""
    health = HealthState().with_failure(fail(K.AUTH, T0), POLICY)
    later = health.with_failure(fail(K.RATE_LIMITED, T0 + 400), POLICY)

    expected = (1, T0 + 430)
    assert expected == (later.cooldowns[WORK].strikes, until(later, T0 + 401))


# -- the cycles drawn in docs/decisions.md ---------------------------------------------

PROBE_AT = T0 + 31  # after the 30 s rate-limit window of a failure at T0


def _open() -> HealthState:
    return HealthState().with_failure(fail(K.RATE_LIMITED, T0), POLICY)


def _probing() -> HealthState:
    return _open().with_probe_started(TARGET, PROBE_AT, POLICY)


Step = tuple[HealthState, float, Callable[[], tuple[HealthState, float]]]
"""A phase to start from (health and time) and the transition that leaves it."""

WINDOW_STEPS: dict[str, Step] = {
    "failure (cooldown / disable)": (HealthState(), T0, lambda: (_open(), T0 + 1)),
    "repeat failure (end kept; a longer Retry-After or a graver kind moves it later)": (
        _open(),
        T0 + 1,
        lambda: (_open().with_failure(fail(K.RATE_LIMITED, T0 + 5), POLICY), T0 + 6),
    ),
    "window ends": (_open(), T0 + 1, lambda: (_open(), PROBE_AT)),
    "one caller's call (Call.probe = true)": (_open(), PROBE_AT, lambda: (_probing(), PROBE_AT)),
    "success (with_success)": (
        _probing(),
        PROBE_AT,
        lambda: (_probing().with_success(TARGET, PROBE_AT + 1), PROBE_AT + 1),
    ),
    "failure about the target (next window, longer for escalating kinds)": (
        _probing(),
        PROBE_AT,
        lambda: (_probing().with_failure(fail(K.SERVER, PROBE_AT + 1), POLICY), PROBE_AT + 2),
    ),
    "failure about the request only (lease given back)": (
        _probing(),
        PROBE_AT,
        lambda: (
            _probing().with_failure(fail(K.CONTENT_FILTER, PROBE_AT + 1), POLICY),
            PROBE_AT + 2,
        ),
    ),
    "probe lease (probe_lease_s) runs out": (
        _probing(),
        PROBE_AT,
        lambda: (_probing(), PROBE_AT + POLICY.probe_lease_s + 1),
    ),
    "probe cancelled (with_probe_released)": (
        _probing(),
        PROBE_AT,
        lambda: (_probing().with_probe_released(TARGET), PROBE_AT),
    ),
    "cleared()": (_open(), T0 + 1, lambda: (_open().cleared(profile=WORK), T0 + 1)),
}


@pytest.mark.parametrize("step", WINDOW_CYCLE, ids=[t.event for t in WINDOW_CYCLE])
def test_every_arrow_of_the_window_diagram_happens(step: Transition) -> None:
    """Each transition drawn for cooldowns leads from its source phase to its target phase."""
    before, before_at, drive = WINDOW_STEPS[step.event]
    after, after_at = drive()

    expected = (step.source, step.target)
    assert expected == (
        window_phase(before.cooldowns.get(WORK), before_at),
        window_phase(after.cooldowns.get(WORK), after_at),
    )


CIRCUIT_POLICY = Policy(circuit_min_calls=2)


def _tripped() -> HealthState:
    health = HealthState()
    for i in range(2):
        health = health.with_failure(fail(K.SERVER, T0 + i), CIRCUIT_POLICY)
    return health


HALF_AT = T0 + 1 + CIRCUIT_POLICY.circuit_open_s + 1


def _circuit_probing() -> HealthState:
    return _tripped().with_probe_started(TARGET, HALF_AT, CIRCUIT_POLICY)


CIRCUIT_STEPS: dict[str, Step] = {
    CIRCUIT_CYCLE[0].event: (
        HealthState().with_failure(fail(K.SERVER, T0), CIRCUIT_POLICY),
        T0,
        lambda: (_tripped(), T0 + 1),
    ),
    CIRCUIT_CYCLE[1].event: (_tripped(), T0 + 1, lambda: (_tripped(), HALF_AT)),
    CIRCUIT_CYCLE[2].event: (_tripped(), HALF_AT, lambda: (_circuit_probing(), HALF_AT)),
    CIRCUIT_CYCLE[3].event: (
        _circuit_probing(),
        HALF_AT,
        lambda: (_circuit_probing().with_success(TARGET, HALF_AT + 1), HALF_AT + 1),
    ),
    CIRCUIT_CYCLE[4].event: (
        _circuit_probing(),
        HALF_AT,
        lambda: (
            _circuit_probing().with_failure(fail(K.SERVER, HALF_AT + 1), CIRCUIT_POLICY),
            HALF_AT + 1,
        ),
    ),
    CIRCUIT_CYCLE[5].event: (
        _circuit_probing(),
        HALF_AT,
        lambda: (_circuit_probing().with_probe_released(TARGET), HALF_AT),
    ),
    CIRCUIT_CYCLE[6].event: (_tripped(), T0 + 1, lambda: (_tripped().cleared(model=MODEL), T0 + 1)),
}


@pytest.mark.parametrize("step", CIRCUIT_CYCLE, ids=[t.event for t in CIRCUIT_CYCLE])
def test_every_arrow_of_the_circuit_diagram_happens(step: Transition) -> None:
    """Each transition drawn for circuit breakers leads from its source phase to its target phase."""
    before, before_at, drive = CIRCUIT_STEPS[step.event]
    after, after_at = drive()

    expected = (step.source, step.target)
    assert expected == (
        circuit_phase(before.circuits.get(MODEL), before_at),
        circuit_phase(after.circuits.get(MODEL), after_at),
    )


def test_a_probe_failing_for_the_request_only_leaves_the_circuit_half_open() -> None:
    """A content filter on a circuit probe gives the lease back; the next caller may probe."""
    after = _circuit_probing().with_failure(fail(K.CONTENT_FILTER, HALF_AT + 1), CIRCUIT_POLICY)

    assert Phase.HALF_OPEN == circuit_phase(after.circuits.get(MODEL), HALF_AT + 1)


@pytest.mark.parametrize(
    ("health", "at", "expected"),
    [
        (HealthState(), T0, ProbeClaim.OPEN),
        (HealthState().with_failure(fail(K.AUTH, T0), POLICY), T0 + 1, ProbeClaim.BLOCKED),
        (HealthState().with_failure(fail(K.AUTH, T0), POLICY), T0 + 300, ProbeClaim.CLAIMED),
        (
            HealthState()
            .with_failure(fail(K.AUTH, T0), POLICY)
            .with_probe_started(TARGET, T0 + 300, POLICY),
            T0 + 301,
            ProbeClaim.BLOCKED,
        ),
    ],
    ids=["healthy", "cooling down", "window ended", "another caller's probe"],
)
def test_claim_probe_says_whether_a_call_may_go_and_whether_it_probes(
    health: HealthState, at: float, expected: ProbeClaim
) -> None:
    """claim_probe() is BLOCKED while anything blocks, CLAIMED once a window ended, else OPEN."""
    claim, _after, blocked = health.claim_probe(TARGET, at, POLICY)

    assert expected == claim
    assert health.blocked_until(TARGET, at) == blocked


def test_a_claimed_probe_holds_the_lease_and_others_are_blocked() -> None:
    """The health a claim returns holds the probe's lease: a second claim is BLOCKED."""
    ended = HealthState().with_failure(fail(K.AUTH, T0), POLICY)
    _claim, claimed, _blocked = ended.claim_probe(TARGET, T0 + 300, POLICY)
    second, unchanged, blocked = claimed.claim_probe(TARGET, T0 + 301, POLICY)

    assert ended.with_probe_started(TARGET, T0 + 300, POLICY) == claimed
    assert (ProbeClaim.BLOCKED, claimed) == (second, unchanged)
    assert blocked is not None
    expected = SkipCode.PROBE_IN_FLIGHT
    assert expected == blocked.code


def test_applied_folds_each_update_through_its_transition() -> None:
    """applied() gives what the named transitions give, in the same order."""
    auth = fail(K.AUTH, T0)
    updates = (
        RecordFailure(failure=auth, target=TARGET),
        ClaimProbe(target=TARGET, at=T0 + 300),
        ReleaseProbe(target=TARGET),
        ClaimProbe(target=TARGET, at=T0 + 301),
        RecordSuccess(target=TARGET, at=T0 + 302),
    )

    expected = (
        HealthState()
        .with_failure(auth, POLICY, target=TARGET)
        .with_probe_started(TARGET, T0 + 300, POLICY)
        .with_probe_released(TARGET)
        .with_probe_started(TARGET, T0 + 301, POLICY)
        .with_success(TARGET, T0 + 302)
    )
    assert expected == HealthState().applied(updates, POLICY)


def test_a_blocked_claim_changes_nothing_when_applied() -> None:
    """A ClaimProbe applied while the target is blocked leaves the health as it was."""
    cooling = HealthState().with_failure(fail(K.AUTH, T0), POLICY)

    assert cooling == cooling.applied((ClaimProbe(target=TARGET, at=T0 + 1),), POLICY)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ((30.0, 60.0, 300.0), [30.0, 60.0, 300.0, 300.0]),
        ((10.0,), [10.0, 10.0, 10.0, 10.0]),
    ],
)
def test_cooldown_steps_give_the_nth_window_to_the_nth_strike(
    steps: tuple[float, ...], expected: list[float]
) -> None:
    """An explicit curve gives each failure in a row its step, then repeats the last."""
    rule = KindRule(mark="cooldown", steps=steps)

    assert expected == [rule.window_for(n) for n in (1, 2, 3, 4)]


def test_cooldown_steps_drive_the_windows_of_repeated_failures() -> None:
    """Failures after each window closes open the next step of the configured curve."""
    policy = Policy(
        rules={K.OVERLOADED: attrs.evolve(DEFAULT_RULES[K.OVERLOADED], steps=(30, 60, 300))}
    )
    health = HealthState()
    now = T0
    lengths = []
    for _ in range(4):
        health = health.with_failure(fail(K.OVERLOADED, now), policy)
        end = until(health, now)
        assert end is not None
        lengths.append(end - now)
        now = end + 1

    assert [30.0, 60.0, 300.0, 300.0] == lengths


@pytest.mark.parametrize("bad", [(-1.0,), (float("inf"),), (True,)])
def test_cooldown_steps_refuse_bad_numbers(bad: tuple[float, ...]) -> None:
    """A negative, infinite or boolean step is refused with the field's name."""
    with pytest.raises(ValueError, match="steps"):
        KindRule(steps=bad)


@given(strikes=hst.integers(min_value=1, max_value=50))
def test_transient_windows_stay_within_thirty_seconds(strikes: int) -> None:
    """By default no transient kind keeps its target away longer than 30 s."""
    policy = Policy()
    transient = (K.OVERLOADED, K.SERVER, K.TIMEOUT, K.CONNECTION)

    assert all(policy.rule_for(kind).window_for(strikes) <= 30 for kind in transient)
    assert 30 >= policy.circuit_open_s


# -- a success that changes nothing ---------------------------------------------------------------

SAMPLE_S = POLICY.circuit_window_s / 64
"""The closest two successes of a healthy target are both recorded."""


def healthy() -> HealthState:
    return HealthState().with_success(TARGET, T0, POLICY)


def test_a_success_on_a_healthy_target_returns_the_same_health() -> None:
    """A success soon after the last one, with nothing open and no recent failure, is the same record."""
    health = healthy()

    assert health is health.with_success(TARGET, T0 + SAMPLE_S / 2, POLICY)
    assert health is health.applied((RecordSuccess(target=TARGET, at=T0 + 0.01),), POLICY)


@pytest.mark.parametrize(
    ("name", "health", "at"),
    [
        ("no circuit yet", HealthState(), T0),
        ("a sample interval later", healthy(), T0 + SAMPLE_S),
        ("a failure in the window", healthy().with_failure(fail(K.SERVER, T0), POLICY), T0 + 1),
        ("a profile cooldown", healthy().with_failure(fail(K.AUTH, T0), POLICY), T0 + 0.01),
        ("a disable", healthy().with_failure(fail(K.BILLING, T0), POLICY), T0 + 0.01),
        ("a pair cooldown", healthy().with_failure(fail(K.OVERLOADED, T0), POLICY), T0 + 0.01),
    ],
)
def test_a_success_that_changes_something_records_it(
    name: str, health: HealthState, at: float
) -> None:
    """A success is recorded when it closes something, starts a circuit, or the window holds a failure."""
    after = health.with_success(TARGET, at, POLICY)

    assert after is not health, name
    assert (at, True) == after.circuits[MODEL].outcomes[-1]


def test_a_failure_older_than_the_window_no_longer_keeps_successes_coming() -> None:
    """Once the last failure left the circuit's window, a healthy target's success changes nothing."""
    health = (
        HealthState()
        .with_failure(fail(K.SERVER, T0), POLICY)
        .with_success(TARGET, T0 + POLICY.circuit_window_s, POLICY)
    )

    assert health is health.with_success(TARGET, T0 + POLICY.circuit_window_s + 0.01, POLICY)


def test_without_a_policy_every_success_is_recorded() -> None:
    """with_success() without a policy records each success, as it always did."""
    health = healthy()

    expected = ((T0, True), (T0 + 0.01, True))
    assert expected == health.with_success(TARGET, T0 + 0.01).circuits[MODEL].outcomes


@settings(max_examples=200)
@given(
    gaps=hst.lists(hst.floats(0, 3), min_size=1, max_size=40),
    failing=hst.lists(hst.booleans(), min_size=1, max_size=40),
)
def test_sampled_successes_never_hide_a_failure_from_the_circuit(
    gaps: list[float], failing: list[bool]
) -> None:
    """Whatever the calls, every failure is in the circuit, and so is every success while one is recent."""
    policy = Policy(circuit_min_calls=1_000)  # The breaker never opens (and resets) here.
    health = HealthState()
    at = T0
    failures = []
    for gap, failed in zip(gaps, failing, strict=False):
        at += gap
        if failed:
            health = health.with_failure(fail(K.SERVER, at), policy)
            failures.append(at)
        else:
            before = health
            health = health.with_success(TARGET, at, policy)
            recent = [f for f in failures if f > at - policy.circuit_window_s]
            if recent:
                assert health is not before
    outcomes = health.circuits[MODEL].outcomes if MODEL in health.circuits else ()

    assert failures[-64:] == [t for t, ok in outcomes if not ok][-64:]
