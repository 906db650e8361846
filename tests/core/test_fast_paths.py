"""
Tests that the decision core's fast paths agree with the plain code they replace.

Each fast path (the routes' precomputed plans, the one-pass health admission, the
slot-level state builder, the enum converters) is checked against a reference
written the straightforward way, so an optimisation can never change a decision.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import FailureKind, FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg._core._actions import Reason, ReasonCode, Skip, SkipCode
from modelcfg._core._decide import next_attempt, profile_order
from modelcfg._core._health import BlockCode, Blocked, Circuit, HealthState, Window
from modelcfg._core._policy import KindRule, Mark, Scope
from modelcfg._core._state import (
    AttemptRecord,
    AttemptState,
    ModelTraits,
    Routes,
    SessionState,
    _build_state,
    dump_state,
)

T0 = 1_700_000_000.0
MODELS = tuple(ModelRef.parse(m) for m in ("anthropic/opus", "openai/gpt-5", "google/gemini"))
PROFILES = tuple(
    ProfileId(provider=provider, name=name)
    for provider in ("anthropic", "openai")
    for name in ("a", "b", "c")
)


def make_routes() -> Routes:
    return Routes(
        chain=FallbackChain.of(*MODELS[:2]),
        auth_order={
            "anthropic": PROFILES[:3],
            "openai": (PROFILES[4], PROFILES[3]),
        },
        traits={MODELS[2]: ModelTraits(context_window=1_000)},
    )


def reference_profile_order(
    routes: Routes, session: SessionState, model: ModelRef
) -> tuple[tuple[ProfileId, ...], bool]:
    """profile_order() as it was written before the routes' plans existed."""
    order = routes.profiles_for(model.provider)
    override = session.override
    if override is not None and override.profile is not None and override.model == model:
        if override.strict:
            return (override.profile,), True
        return (override.profile, *(p for p in order if p != override.profile)), False
    last_good = session.last_good.get(model.provider)
    if last_good is not None and last_good != order[0] and last_good in order:
        return (last_good, *(p for p in order if p != last_good)), False
    return order, False


def copy_of(profile: ProfileId) -> ProfileId:
    """An equal profile that is not the same object, as one loaded from JSON would be."""
    return ProfileId.parse(str(profile))


@hst.composite
def sessions(draw: hst.DrawFn) -> SessionState:
    last_good = draw(
        hst.dictionaries(
            hst.sampled_from(("anthropic", "openai", "google")),
            hst.sampled_from((*PROFILES, ProfileId.parse("google:z"))).map(copy_of),
            max_size=2,
        )
    )
    override = None
    if draw(hst.booleans()):
        model = draw(hst.sampled_from((*MODELS, ModelRef.parse("anthropic/haiku"))))
        name = draw(hst.none() | hst.sampled_from(("a", "b", "c", "other")))
        profile = None if name is None else ProfileId(provider=model.provider, name=name)
        override = Selection(model=model, profile=profile, strict=draw(hst.booleans()))
    # A last good profile must belong to its provider's key.
    last_good = {k: v for k, v in last_good.items() if v.provider == k}
    return SessionState(last_good=last_good, override=override)


@given(
    session=sessions(),
    model=hst.sampled_from((*MODELS, ModelRef.parse("anthropic/haiku"))),
)
@settings(max_examples=150)
def test_profile_order_matches_the_reference(session: SessionState, model: ModelRef) -> None:
    """profile_order() from the precomputed plans equals the straightforward computation."""
    routes = make_routes()
    state = AttemptState.start(routes, now=T0, session=session)

    expected = reference_profile_order(routes, session, model)
    assert expected == profile_order(state, model)


def test_routes_plan_is_derived_and_invisible() -> None:
    """The routes' plans hold each model's targets and window, and stay out of eq, repr and JSON."""
    routes = make_routes()
    plan = routes._plan_for(MODELS[1])

    expected = (
        tuple(Target(model=MODELS[1], profile=p) for p in (PROFILES[4], PROFILES[3])),
        None,
        1_000,
    )
    assert expected == (
        plan.targets,
        plan.context_window,
        routes._plan_for(MODELS[2]).context_window,
    )
    assert make_routes() == routes
    assert "_plans" not in repr(routes)
    dumped = dump_state(routes)
    assert isinstance(dumped, dict)
    assert {"chain", "image_chain", "auth_order", "traits", "policy"} == set(dumped)


def test_plan_for_a_model_the_routes_do_not_name_is_built_on_the_spot() -> None:
    """A session's own model, outside the chains, gets provider:default like before."""
    routes = make_routes()
    stranger = ModelRef.parse("mistral/large")

    expected = (Target(model=stranger, profile=ProfileId.default_for("mistral")),)
    assert expected == routes._plan_for(stranger).targets


def reference_blocked_until(health: HealthState, target: Target, now: float) -> Blocked | None:
    """HealthState.blocked_until() as it was written before the one-pass admission."""
    found: Blocked | None = None
    windows = (
        (health.disables.get(target.profile), BlockCode.DISABLED, False),
        (health.cooldowns.get(target.profile), BlockCode.COOLING_DOWN, False),
        (health.model_cooldowns.get(target), BlockCode.COOLING_DOWN, True),
    )
    for window, code, model_scoped in windows:
        if window is None:
            continue
        if now < window.until_at:
            until: float | None = window.until_at
        elif window.probe_until_at is not None and now < window.probe_until_at:
            until = window.probe_until_at
        else:
            until = None
        if until is not None and (found is None or until > found.until_at):
            block = code if until == window.until_at else BlockCode.PROBE_IN_FLIGHT
            found = Blocked(until_at=until, code=block, kind=window.kind, model_scoped=model_scoped)
    circuit = health.circuits.get(target.model)
    if circuit is not None and circuit.open_until_at is not None:
        until = circuit.open_until_at if now < circuit.open_until_at else None
        code = BlockCode.CIRCUIT_OPEN
        if until is None and circuit.probe_until_at is not None and now < circuit.probe_until_at:
            until, code = circuit.probe_until_at, BlockCode.PROBE_IN_FLIGHT
        if until is not None and (found is None or until > found.until_at):
            found = Blocked(until_at=until, code=code, model_scoped=True)
    return found


def reference_probe_due(health: HealthState, target: Target, now: float) -> bool:
    """HealthState.probe_due() as it was written before the one-pass admission."""
    windows = (
        health.disables.get(target.profile),
        health.cooldowns.get(target.profile),
        health.model_cooldowns.get(target),
    )
    if any(w is not None and w.until_at <= now for w in windows):
        return True
    circuit = health.circuits.get(target.model)
    return (
        circuit is not None and circuit.open_until_at is not None and circuit.open_until_at <= now
    )


offsets = hst.sampled_from((-20.0, -5.0, 0.0, 5.0, 20.0))
windows = hst.builds(
    lambda kind, until, lease: Window(
        kind=kind,
        until_at=T0 + until,
        last_failure_at=T0 - 30,
        probe_until_at=None if lease is None else T0 + lease,
    ),
    hst.sampled_from(FailureKind),
    offsets,
    hst.none() | offsets,
)
circuits = hst.builds(
    lambda opened, lease: Circuit(
        open_until_at=None if opened is None else T0 + opened,
        probe_until_at=None if lease is None else T0 + lease,
    ),
    hst.none() | offsets,
    hst.none() | offsets,
)
some_profiles = hst.sampled_from(PROFILES[:2])
some_targets = hst.builds(Target, model=hst.sampled_from(MODELS[:1]), profile=some_profiles)


@given(
    health=hst.builds(
        HealthState,
        cooldowns=hst.dictionaries(some_profiles, windows, max_size=2),
        model_cooldowns=hst.dictionaries(some_targets, windows, max_size=2),
        disables=hst.dictionaries(some_profiles, windows, max_size=2),
        circuits=hst.dictionaries(hst.sampled_from(MODELS[:1]), circuits, max_size=1),
    ),
    target=some_targets,
    now=hst.sampled_from((T0 - 10, T0, T0 + 10, T0 + 30)),
)
@settings(max_examples=300)
def test_admission_matches_the_reference(health: HealthState, target: Target, now: float) -> None:
    """blocked_until() and probe_due() from one pass equal the table-by-table reference."""
    expected = (
        reference_blocked_until(health, target, now),
        reference_probe_due(health, target, now),
    )

    assert expected == (health.blocked_until(target, now), health.probe_due(target, now))


def test_build_state_equals_init() -> None:
    """The slot-level state builder makes exactly what AttemptState() makes from the same values."""
    routes = make_routes()
    start = AttemptState.start(routes, now=T0, seed=3)
    call = next_attempt(None, start)
    values = {f.name: getattr(call.state, f.name) for f in attrs.fields(AttemptState)}
    built = _build_state(**values)

    expected = AttemptState(**values)
    assert expected == built
    assert [getattr(expected, n) for n in values] == [getattr(built, n) for n in values]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        pytest.param(
            lambda: Window(kind="auth", until_at=1.0, last_failure_at=0.0).kind,
            FailureKind.AUTH,
            id="window-kind-from-text",
        ),
        pytest.param(
            lambda: Skip(model=MODELS[0], code="disabled").code,
            SkipCode.DISABLED,
            id="skip-code-from-text",
        ),
        pytest.param(
            lambda: Reason(code="rotate_profile", message="m").code,
            ReasonCode.ROTATE_PROFILE,
            id="reason-code-from-text",
        ),
        pytest.param(
            lambda: (
                AttemptRecord(
                    number=1,
                    target=Target(model=MODELS[0], profile=PROFILES[0]),
                    reason="first_attempt",
                    delay_s=0.0,
                    failure=None,
                    ended_at=T0,
                ).reason
            ),
            ReasonCode.FIRST_ATTEMPT,
            id="record-reason-from-text",
        ),
        pytest.param(
            lambda: KindRule(mark="cooldown", scope="profile_model").mark,
            Mark.COOLDOWN,
            id="rule-mark-from-text",
        ),
        pytest.param(
            lambda: KindRule(mark="cooldown", scope="profile_model").scope,
            Scope.PROFILE_MODEL,
            id="rule-scope-from-text",
        ),
    ],
)
def test_enum_converters_still_convert_text(build: object, expected: object) -> None:
    """The members-first converters still turn plain text into the enum member."""
    assert callable(build)

    actual = build()
    assert expected == actual
    assert type(expected) is type(actual)


def test_enum_converters_still_reject_unknown_text() -> None:
    """An unknown kind is still a ValueError, as with the enum class as converter."""
    with pytest.raises(ValueError, match="nonsense"):
        Window(kind="nonsense", until_at=1.0, last_failure_at=0.0)
