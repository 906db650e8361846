"""
Tests for targets the shell refuses before a call (over a budget): the core skips them.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as hst

from modelcfg import Failure, FailureKind, FallbackChain, ModelRef, ProfileId, Target
from modelcfg._core._actions import Call, GiveUp
from modelcfg._core._decide import next_attempt
from modelcfg._core._policy import Policy
from modelcfg._core._reasons import ReasonCode, Skip, SkipCode
from modelcfg._core._state import AttemptState, Routes, dump_state, load_state

T0 = 1_700_000_000.0
OPUS, GPT = ModelRef.parse("anthropic/opus"), ModelRef.parse("openai/gpt-5")
A, B, X = (ProfileId.parse(t) for t in ("anthropic:a", "anthropic:b", "openai:x"))
ROUTES = Routes(
    chain=FallbackChain.of(OPUS, GPT),
    auth_order={"anthropic": (A, B), "openai": (X,)},
    policy=Policy(),
)
TARGETS = (
    Target(model=OPUS, profile=A),
    Target(model=OPUS, profile=B),
    Target(model=GPT, profile=X),
)
WHY = "budget 'daily' (total, $1.00 per day): $0.99 of $1.00 is spent or reserved"


def start() -> AttemptState:
    return AttemptState.start(ROUTES, now=T0)


def test_a_refused_target_is_skipped_with_its_reason() -> None:
    """The first candidate refused, the core calls the next profile and names the skip."""
    action = next_attempt(None, start().with_refused(TARGETS[0], WHY))

    assert isinstance(action, Call)
    assert (TARGETS[1], ReasonCode.FIRST_ATTEMPT) == (action.target, action.reason.code)
    assert (Skip(model=OPUS, profile=A, code=SkipCode.OVER_BUDGET, detail=WHY),) == action.skipped
    assert f"anthropic:a with anthropic/opus skipped: over {WHY}" == str(action.skipped[0])


def test_when_every_target_is_refused_the_request_gives_up_without_a_call() -> None:
    """With every target refused there is no candidate left, and every skip is named."""
    state = start()
    for target in TARGETS:
        state = state.with_refused(target, WHY)

    action = next_attempt(None, state)

    assert isinstance(action, GiveUp)
    assert (ReasonCode.CHAIN_EXHAUSTED, 0, [SkipCode.OVER_BUDGET] * 3) == (
        action.reason.code,
        action.state.attempts,
        [skip.code for skip in action.skipped],
    )


def test_a_retry_of_a_refused_target_moves_on() -> None:
    """A target refused before its retry is not retried: the core moves on as the rule says (a server error falls back)."""
    first = next_attempt(None, start())
    assert isinstance(first, Call)
    failure = Failure(kind=FailureKind.SERVER, observed_at=T0, status=500)
    recorded = first.state.with_failure(failure).with_refused(first.target, WHY)

    action = next_attempt(None, recorded)

    assert isinstance(action, Call)
    assert (TARGETS[2], ReasonCode.FALLBACK_MODEL) == (action.target, action.reason.code)


def test_refusals_survive_a_round_trip() -> None:
    """A state with refused targets dumps to JSON and loads back equal."""
    state = start().with_refused(TARGETS[2], WHY)

    assert state == load_state(dump_state(state), AttemptState)


@given(hst.sets(hst.sampled_from(TARGETS)))
def test_a_refused_target_is_never_called(refused: set[Target]) -> None:
    """Whatever is refused, the core calls only targets that were not."""
    state = start()
    for target in refused:
        state = state.with_refused(target, WHY)

    action = next_attempt(None, state)

    if isinstance(action, Call):
        assert action.target not in refused
    else:
        assert refused == set(TARGETS)
