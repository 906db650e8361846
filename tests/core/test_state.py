"""
Tests for routes, session and attempt state, their transitions and serialisation.
"""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import Failure, FailureKind, FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg._core._actions import Call
from modelcfg._core._decide import next_attempt
from modelcfg._core._health import (
    ClaimProbe,
    HealthState,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    Window,
)
from modelcfg._core._policy import KindRule, Mark, Policy, Scope
from modelcfg._core._reasons import Reason, ReasonCode, Skip, SkipCode
from modelcfg._core._state import (
    AttemptState,
    ModelTraits,
    RequestNeeds,
    Routes,
    SessionState,
    dump_state,
    load_state,
    uses_image_chain,
)
from modelcfg.exceptions import InvalidStateError
from tests import strategies as st

T0 = 1_700_000_000.0
A = ModelRef.parse("anthropic/opus")
IMG = ModelRef.parse("openai/gpt-image")
WORK = ProfileId.parse("anthropic:work")
HOME = ProfileId.parse("anthropic:home")


def routes(**more: object) -> Routes:
    return Routes(
        chain=FallbackChain.of(A, "openai/gpt-5"),
        auth_order={"anthropic": (WORK, HOME)},
        traits={A: ModelTraits(context_window=200_000)},
        **more,  # type: ignore[arg-type]
    )


def test_auth_order_rejects_a_foreign_profile() -> None:
    """An auth order listing another provider's profile is an error naming both."""
    with pytest.raises(ValueError, match=r"auth_order\['openai'\] lists anthropic:work"):
        Routes(chain=FallbackChain.of(A), auth_order={"openai": (WORK,)})


def test_provider_without_order_uses_its_default_profile() -> None:
    """profiles_for() falls back to provider:default (environment credentials)."""

    assert (ProfileId.default_for("google"),) == routes().profiles_for("google")


def test_unknown_traits_are_text_only() -> None:
    """A model without traits is text-only with an unknown context window."""

    assert ModelTraits() == routes().traits_for(IMG)


@pytest.mark.parametrize(
    ("has_images", "image_chain", "primary_sees", "expected"),
    [
        (True, True, False, True),
        (True, True, True, False),
        (True, False, False, False),
        (False, True, False, False),
    ],
    ids=["images to a text-only primary", "primary takes images", "no image chain", "no images"],
)
def test_image_routing(
    has_images: bool, image_chain: bool, primary_sees: bool, expected: bool
) -> None:
    """The image chain is used only with images, a configured chain and a text-only primary."""
    r = Routes(
        chain=FallbackChain.of(A),
        image_chain=FallbackChain.of(IMG) if image_chain else None,
        traits={A: ModelTraits(image_input=primary_sees)},
    )

    assert expected == uses_image_chain(r, RequestNeeds(has_images=has_images))


def test_session_keeps_last_good_when_switching_models() -> None:
    """Selecting another model leaves the per-provider last good profile alone."""
    session = SessionState().with_success(Target(model=A, profile=HOME))
    switched = session.with_selection(Selection(model=ModelRef.parse("anthropic/sonnet")))

    expected = {"anthropic": HOME}
    assert expected == dict(switched.last_good)


def test_success_without_a_pending_call_is_an_error() -> None:
    """succeeded() on a state with no call out raises InvalidStateError."""
    with pytest.raises(InvalidStateError, match="no call is waiting"):
        AttemptState.start(routes(), now=T0).succeeded(T0)


def test_with_now_never_goes_back() -> None:
    """with_now() keeps the later of the two times."""
    state = AttemptState.start(routes(), now=T0)

    expected = T0
    assert expected == state.with_now(T0 - 5).now
    expected = T0 + 5
    assert expected == state.with_now(T0 + 5).now


def test_with_health_may_move_the_clock_on_but_never_back() -> None:
    """with_health(now=...) reads the health and keeps the later of the two times."""
    state = AttemptState.start(routes(), now=T0)
    health = HealthState().with_success(Target(model=A, profile=WORK), T0)

    expected = (health, T0, T0 + 5)
    assert expected == (
        state.with_health(health, now=T0 - 5).health,
        state.with_health(health, now=T0 - 5).now,
        state.with_health(health, now=T0 + 5).now,
    )


def json_round_trip(value: object, cls: type[object]) -> object:
    return load_state(json.loads(json.dumps(dump_state(value))), cls)


@settings(max_examples=60)
@given(
    hst.lists(hst.sampled_from(FailureKind), max_size=6),
    hst.none() | hst.floats(min_value=0, max_value=100),
    hst.booleans(),
)
def test_attempt_state_round_trips_through_json(
    kinds: list[FailureKind], retry_after: float | None, pin: bool
) -> None:
    """An attempt state taken anywhere in a request survives dump_state/json/load_state."""
    session = SessionState(override=Selection(model=A, profile=HOME, strict=pin))
    action = next_attempt(None, AttemptState.start(routes(), now=T0, session=session, seed=9))
    states = [action.state]
    for kind in kinds:
        if not isinstance(action, Call):
            break
        failure = Failure(kind=kind, observed_at=action.state.now + 1, retry_after_s=retry_after)
        action = next_attempt(failure, action.state)
        states.append(action.state)

    assert states == [json_round_trip(s, AttemptState) for s in states]


@settings(max_examples=60)
@given(
    hst.lists(
        hst.tuples(st.failures, st.targets),
        max_size=6,
    )
)
def test_health_state_round_trips_through_json(events: list[tuple[Failure, Target]]) -> None:
    """A health state built from any failures and successes survives a JSON round trip."""
    health = HealthState()
    policy = Policy(circuit_min_calls=1)
    for failure, target in events:
        health = health.with_failure(failure, policy, target=target)
        health = health.with_probe_started(target, failure.observed_at + 1, policy)
    if events:
        health = health.with_success(events[0][1], 5e9)

    assert health == json_round_trip(health, HealthState)


@settings(max_examples=60)
@given(hst.dictionaries(st.provider_ids, st.profile_ids, max_size=3), hst.none() | st.selections())
def test_session_state_round_trips_through_json(
    last_good: dict[str, ProfileId], override: Selection | None
) -> None:
    """A session state survives a JSON round trip, mapping keys included."""
    session = SessionState(last_good=last_good, override=override)

    assert session == json_round_trip(session, SessionState)


def test_dumped_state_uses_text_forms() -> None:
    """Ids are stored as their text forms, also as mapping keys."""
    session = SessionState().with_success(Target(model=A, profile=HOME))

    expected = {
        "last_good": {"anthropic": "anthropic:home"},
        "override": None,
        "preset": None,
        "params": {},
        "routing": None,
    }
    assert expected == dump_state(session)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "$: expected an object (a HealthState), not null"),
        ([], "$: expected an object (a HealthState), not a list"),
        ("x", "$: expected an object (a HealthState), not a string"),
        ({"cooldowns": 5}, "$.cooldowns: expected an object"),
        (
            {"bogus": 1, "cooldown": {}},
            "$.bogus: unknown key; $.cooldown: unknown key (did you mean 'cooldowns' or "
            "'model_cooldowns'?)",
        ),
        (
            {"cooldowns": {"anthropic:a": {"kind": "auth", "until_at": 1}}},
            "$.cooldowns['anthropic:a'].last_failure_at: is required",
        ),
        (
            {"circuits": {"anthropic/opus": {"outcomes": 3}}},
            "$.circuits['anthropic/opus'].outcomes: expected a list",
        ),
        (
            {"cooldowns": {"anthropic": {"kind": "auth", "until_at": 1, "last_failure_at": 0}}},
            "$.cooldowns.anthropic: 'anthropic' is not a profile id: write it as 'provider:name'",
        ),
    ],
    ids=[
        "null",
        "list",
        "string",
        "wrong type",
        "unknown keys",
        "missing field",
        "not a list",
        "bad key",
    ],
)
def test_load_state_names_every_problem_with_its_path(data: object, message: str) -> None:
    """Any malformed input to load_state() raises ValueError with each problem as $.path: message."""
    with pytest.raises(ValueError, match=r"^\$") as caught:
        load_state(data, HealthState)

    assert message == str(caught.value)


def test_load_state_reports_under_a_given_path() -> None:
    """With a path, the problems are named where the data sits in a larger document."""
    with pytest.raises(ValueError, match=r"state\.health") as caught:
        load_state({"cooldowns": []}, HealthState, path="$.state.health")

    expected = "$.state.health.cooldowns: expected an object"
    assert expected == str(caught.value)


def test_load_state_rejects_a_malformed_attempt_state() -> None:
    """A list where an attempt state belongs raises ValueError, not AttributeError."""
    with pytest.raises(ValueError, match="expected an object"):
        load_state([], AttemptState)


def test_start_rejects_milliseconds() -> None:
    """AttemptState.start() refuses a time in milliseconds with a sentence that says so."""
    with pytest.raises(
        ValueError, match=r"^now, the request's start, must be seconds .*milliseconds"
    ):
        AttemptState.start(routes(), now=T0 * 1000)


@pytest.mark.parametrize("now", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_start_rejects_times_that_are_not_finite(now: float) -> None:
    """AttemptState.start() refuses a time that is not a finite number."""
    with pytest.raises(ValueError, match="finite number of seconds"):
        AttemptState.start(routes(), now=now)


def test_a_success_time_in_milliseconds_is_refused() -> None:
    """AttemptState.succeeded() refuses a time no clock can show, with a hint, like Failure does."""
    routes = Routes(chain=FallbackChain.of("anthropic/opus"))
    call = next_attempt(None, AttemptState.start(routes, now=1_700_000_000.0))
    assert isinstance(call, Call)

    with pytest.raises(ValueError, match=r"milliseconds"):
        call.state.succeeded(1_700_000_000_000.0)


def test_routes_plans_stay_out_of_eq_repr_and_json() -> None:
    """The routes' per-model plans are derived: equal routes compare equal, and repr and JSON omit them."""
    r = routes()
    r._plan_for(A)

    assert routes() == r
    assert "_plans" not in repr(r)
    dumped = dump_state(r)
    assert isinstance(dumped, dict)
    assert {"chain", "image_chain", "auth_order", "traits", "policy", "routing"} == set(dumped)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        pytest.param(
            lambda: (
                load_state({"kind": "auth", "until_at": 1.0, "last_failure_at": 0.0}, Window).kind
            ),
            FailureKind.AUTH,
            id="window-kind",
        ),
        pytest.param(
            lambda: load_state({"code": "rotate_profile", "message": "m"}, Reason).code,
            ReasonCode.ROTATE_PROFILE,
            id="reason-code",
        ),
        pytest.param(
            lambda: load_state({"model": "anthropic/opus", "code": "disabled"}, Skip).code,
            SkipCode.DISABLED,
            id="skip-code",
        ),
        pytest.param(
            lambda: Failure(kind="auth", observed_at=T0).kind,  # type: ignore[arg-type]
            FailureKind.AUTH,
            id="failure-kind",
        ),
        pytest.param(
            lambda: KindRule(mark="cooldown", scope="profile_model").mark,  # type: ignore[arg-type]
            Mark.COOLDOWN,
            id="mark",
        ),
        pytest.param(
            lambda: KindRule(mark="cooldown", scope="profile_model").scope,  # type: ignore[arg-type]
            Scope.PROFILE_MODEL,
            id="scope",
        ),
    ],
)
def test_codes_and_kinds_read_as_text_become_enum_members(build: object, expected: object) -> None:
    """A code or kind given as text, to load_state() or to an input record, becomes the member."""
    assert callable(build)

    actual = build()
    assert expected == actual
    assert type(expected) is type(actual)


def test_an_unknown_kind_is_a_value_error() -> None:
    """A window read with a kind that does not exist raises ValueError naming where."""
    with pytest.raises(ValueError, match=r"^\$\.kind: 'nonsense' is not a valid FailureKind"):
        load_state({"kind": "nonsense", "until_at": 1.0, "last_failure_at": 0.0}, Window)


def test_an_attempt_state_with_every_kind_of_update_round_trips_through_json() -> None:
    """Each kind of health update is tagged in the JSON form and read back as itself."""
    target = Target(model=A, profile=WORK)
    updates = (
        RecordFailure(failure=Failure(kind=FailureKind.AUTH, observed_at=T0), target=target),
        ReleaseProbe(target=target),
        ClaimProbe(target=target, at=T0 + 1),
        RecordSuccess(target=target, at=T0 + 2),
    )
    state = attrs.evolve(AttemptState.start(routes(), now=T0), updates=updates)
    dumped = dump_state(state)
    assert isinstance(dumped, dict)

    expected = ["record_failure", "release_probe", "claim_probe", "record_success"]
    assert expected == [u["update"] for u in dumped["updates"]]
    assert state == json_round_trip(state, AttemptState)
