"""
Tests for next_attempt(): a scenario table, properties and a state machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Final

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from modelcfg import Failure, FailureKind, FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg._core._actions import Action, Call, GiveUp
from modelcfg._core._decide import jitter_unit, next_attempt, profile_order
from modelcfg._core._health import (
    Circuit,
    ClaimProbe,
    HealthState,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
    Window,
)
from modelcfg._core._policy import KindRule, Policy
from modelcfg._core._reasons import ReasonCode, Skip, SkipCode, format_clock
from modelcfg._core._state import AttemptState, ModelTraits, RequestNeeds, Routes, SessionState
from modelcfg.exceptions import InvalidStateError

T0 = 1_700_000_000.0
K = FailureKind
A, OM, G = "anthropic/opus", "openai/gpt-5", "google/gemini"
A2 = "anthropic/sonnet"
IMG = "openai/gpt-image"
PA, PB, PC = "anthropic:a", "anthropic:b", "anthropic:c"
OX = "openai:x"


def m(text: str) -> ModelRef:
    return ModelRef.parse(text)


def p(text: str) -> ProfileId:
    return ProfileId.parse(text)


def make_routes(
    chain: Sequence[str] = (A, OM, G),
    *,
    image: Sequence[str] | None = None,
    order: Sequence[str] = (PA, PB, PC),
    traits: dict[str, ModelTraits] | None = None,
    **policy: object,
) -> Routes:
    orders = {"anthropic": tuple(p(x) for x in order), "openai": (p(OX),)}
    return Routes(
        chain=FallbackChain.of(*chain),
        image_chain=FallbackChain.of(*image) if image else None,
        auth_order=orders,
        traits={m(k): v for k, v in (traits or {}).items()},
        policy=Policy(**policy),  # type: ignore[arg-type]
    )


def window(kind: FailureKind, until_at: float, **more: float) -> Window:
    return Window(kind=kind, until_at=until_at, last_failure_at=T0 - 1, **more)  # type: ignore[arg-type]


def cooling(
    *profiles: str, until_at: float = T0 + 30, kind: FailureKind = K.RATE_LIMITED
) -> HealthState:
    return HealthState(cooldowns={p(x): window(kind, until_at) for x in profiles})


@attrs.frozen(kw_only=True)
class Ev:
    """One scripted failure."""

    kind: FailureKind
    retry_after_s: float | None = None
    message: str = ""


@attrs.frozen(kw_only=True)
class Then:
    """What the last action should be."""

    action: str
    code: ReasonCode
    target: str | None = None
    delay: float | tuple[float, float] | None = 0.0
    skipped: tuple[SkipCode, ...] | None = None
    probe: bool | None = None
    says: str = ""


@attrs.frozen(kw_only=True)
class Scenario:
    """One row: given routes/session/health/needs, when failures happen, then an action."""

    id: str
    when: tuple[Ev, ...]
    then: Then
    routes: Routes = attrs.field(factory=make_routes)
    session: SessionState = attrs.field(factory=SessionState)
    health: HealthState = attrs.field(factory=HealthState)
    needs: RequestNeeds = attrs.field(factory=RequestNeeds)


def run(
    routes: Routes,
    events: Sequence[Ev],
    *,
    session: SessionState | None = None,
    health: HealthState | None = None,
    needs: RequestNeeds | None = None,
    seed: int = 7,
) -> list[Action]:
    """Play *events* as the outcomes of the calls the core asks for; return every action."""
    state = AttemptState.start(
        routes, now=T0, session=session, health=health, needs=needs, seed=seed
    )
    actions: list[Action] = [next_attempt(None, state)]
    for ev in events:
        last = actions[-1]
        assert isinstance(last, Call), f"expected a call before {ev}, got {last}"
        at = last.state.now + last.delay_s + 1.0
        failure = Failure(
            kind=ev.kind, observed_at=at, retry_after_s=ev.retry_after_s, message=ev.message
        )
        actions.append(next_attempt(failure, last.state))
    return actions


def summary(action: Action, then: Then) -> Then:
    """Project *action* onto the fields *then* checks."""
    match action:
        case Call(target=target, delay_s=delay, reason=reason, skipped=skipped, probe=probe):
            got_delay: float | tuple[float, float] | None = delay
            if isinstance(then.delay, tuple):
                lo, hi = then.delay
                got_delay = then.delay if lo <= delay <= hi else delay
            return Then(
                action="call",
                code=reason.code,
                target=f"{target.model}@{target.profile}",
                delay=got_delay if then.delay is not None else None,
                skipped=tuple(s.code for s in skipped) if then.skipped is not None else None,
                probe=probe if then.probe is not None else None,
                says=then.says if then.says in reason.message else reason.message,
            )
        case GiveUp(reason=reason, skipped=skipped):
            return Then(
                action="give_up",
                code=reason.code,
                delay=then.delay,
                skipped=tuple(s.code for s in skipped) if then.skipped is not None else None,
                says=then.says if then.says in reason.message else reason.message,
            )
        case _:  # pragma: no cover
            raise AssertionError(action)


def call(
    target: str, code: ReasonCode, delay: float | tuple[float, float] | None = 0.0, **more: object
) -> Then:
    return Then(action="call", code=code, target=target, delay=delay, **more)  # type: ignore[arg-type]


def give_up(code: ReasonCode, **more: object) -> Then:
    return Then(action="give_up", code=code, delay=0.0, **more)  # type: ignore[arg-type]


R = ReasonCode
S = SkipCode
BIG = {
    A: ModelTraits(context_window=200_000),
    OM: ModelTraits(context_window=400_000),
    G: ModelTraits(context_window=1_000_000),
}
SMALL_O = {
    A: ModelTraits(context_window=200_000),
    OM: ModelTraits(context_window=100_000),
    G: ModelTraits(context_window=1_000_000),
}
ONE = make_routes((A,), order=(PA,))
PIN_B = SessionState(override=Selection(model=m(A), profile=p(PB), strict=True))
PREFER_B = SessionState(override=Selection(model=m(A), profile=p(PB), strict=False))

SCENARIOS = [
    Scenario(
        id="given a healthy chain, when a request starts, then the primary with the first profile",
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given three profiles, when the first is rate limited, then the second at once",
        when=(Ev(kind=K.RATE_LIMITED),),
        then=call(f"{A}@{PB}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given three profiles, when two are rate limited, then the third",
        when=(Ev(kind=K.RATE_LIMITED), Ev(kind=K.RATE_LIMITED)),
        then=call(f"{A}@{PC}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given three profiles, when all three are rate limited, then the next model",
        when=(Ev(kind=K.RATE_LIMITED),) * 3,
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL),
    ),
    Scenario(
        id="given three profiles, when the first fails auth, then the second",
        when=(Ev(kind=K.AUTH),),
        then=call(f"{A}@{PB}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given three profiles, when all fail auth, then the next model",
        when=(Ev(kind=K.AUTH),) * 3,
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL),
    ),
    Scenario(
        id="given three profiles, when the first key is revoked, then the second",
        when=(Ev(kind=K.AUTH_PERMANENT),),
        then=call(f"{A}@{PB}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given three profiles, when the first is out of credit, then the second",
        when=(Ev(kind=K.BILLING),),
        then=call(f"{A}@{PB}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given a chain, when the model is not found, then the next model without rotating",
        when=(Ev(kind=K.MODEL_NOT_FOUND),),
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL),
    ),
    Scenario(
        id="given a chain, when the server fails once, then the same target after a backoff",
        when=(Ev(kind=K.SERVER),),
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, (0.4, 0.5)),
    ),
    Scenario(
        id="given a chain, when the server fails twice, then the same target after a longer backoff",
        when=(Ev(kind=K.SERVER),) * 2,
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, (0.8, 1.0)),
    ),
    Scenario(
        id="given a chain, when the server fails three times, then the next model with no delay",
        when=(Ev(kind=K.SERVER),) * 3,
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL, 0.0),
    ),
    Scenario(
        id="given a chain, when the server fails with Retry-After 30, then the same target after 30 s",
        when=(Ev(kind=K.SERVER, retry_after_s=30),),
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, 30.0),
    ),
    Scenario(
        id="given a chain, when an unknown failure says Retry-After 5, then the same target after 5 s",
        when=(Ev(kind=K.UNKNOWN, retry_after_s=5),),
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, 5.0),
    ),
    Scenario(
        id="given a chain, when the server's Retry-After is 500, then the same target after the 60 s cap",
        when=(Ev(kind=K.SERVER, retry_after_s=500),),
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, 60.0),
    ),
    Scenario(
        id="given a deadline before the Retry-After, when the server fails, then the next model at once",
        routes=make_routes(deadline_s=20),
        when=(Ev(kind=K.SERVER, retry_after_s=30),),
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL, 0.0),
    ),
    Scenario(
        id="given a huge backoff multiplier, when the server fails again and again, then the capped backoff",
        routes=make_routes(
            (A,),
            order=(PA,),
            backoff_multiplier=1e300,
            max_target_retries=4,
            rules={K.SERVER: KindRule(retries=4, fall_back=True)},
        ),
        when=(Ev(kind=K.SERVER),) * 4,
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, (24.0, 30.0)),
    ),
    Scenario(
        id="given a chain, when connections fail three times, then the next model with no delay",
        when=(Ev(kind=K.CONNECTION),) * 3,
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL, 0.0),
    ),
    Scenario(
        id="given a chain, when an unknown failure happens, then it is retried like a server error",
        when=(Ev(kind=K.UNKNOWN),),
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, (0.4, 0.5)),
    ),
    Scenario(
        id="given a chain, when the target times out, then the next model, not the silent one",
        when=(Ev(kind=K.TIMEOUT),),
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL, 0.0),
    ),
    Scenario(
        id="given retry_timeout_same_target, when the target times out, then it is retried",
        routes=make_routes(retry_timeout_same_target=True),
        when=(Ev(kind=K.TIMEOUT),),
        then=call(f"{A}@{PA}", R.RETRY_SAME_TARGET, (0.4, 0.5)),
    ),
    Scenario(
        id="given a chain, when the content is filtered, then give up with the provider's reason",
        when=(Ev(kind=K.CONTENT_FILTER, message="flagged as unsafe"),),
        then=give_up(R.NOT_RETRYABLE, says="flagged as unsafe"),
    ),
    Scenario(
        id="given a chain, when the request is invalid, then give up with the provider's reason",
        when=(Ev(kind=K.INVALID_REQUEST, message="temperature must be <= 2"),),
        then=give_up(R.NOT_RETRYABLE, says="temperature must be <= 2"),
    ),
    Scenario(
        id="given a larger next model, when the context overflows, then the larger model",
        routes=make_routes(traits=BIG),
        when=(Ev(kind=K.CONTEXT_OVERFLOW),),
        then=call(f"{OM}@{OX}", R.LARGER_CONTEXT, skipped=()),
    ),
    Scenario(
        id="given a smaller next model, when the context overflows, then it is skipped for a larger one",
        routes=make_routes(traits=SMALL_O),
        when=(Ev(kind=K.CONTEXT_OVERFLOW),),
        then=call(f"{G}@google:default", R.LARGER_CONTEXT, skipped=(S.CONTEXT_TOO_SMALL,)),
    ),
    Scenario(
        id="given no larger model, when the context overflows, then give up saying so",
        routes=make_routes((G, A), traits=BIG),
        when=(Ev(kind=K.CONTEXT_OVERFLOW),),
        then=give_up(R.NO_LARGER_CONTEXT, says="larger context window"),
    ),
    Scenario(
        id="given an unknown context window, when the context overflows, then the next model",
        when=(Ev(kind=K.CONTEXT_OVERFLOW),),
        then=call(f"{OM}@{OX}", R.LARGER_CONTEXT, says="unknown"),
    ),
    Scenario(
        id="given two larger models, when the first two overflow, then the largest",
        routes=make_routes(traits=BIG),
        when=(Ev(kind=K.CONTEXT_OVERFLOW), Ev(kind=K.CONTEXT_OVERFLOW)),
        then=call(f"{G}@google:default", R.LARGER_CONTEXT),
    ),
    Scenario(
        id="when a stream is cut, then it restarts on the next model",
        when=(Ev(kind=K.STREAM_INTERRUPTED),),
        then=call(f"{OM}@{OX}", R.RESTART_STREAM),
    ),
    Scenario(
        id="given three profiles, when the model is overloaded, then another profile on it",
        when=(Ev(kind=K.OVERLOADED, retry_after_s=5),),
        then=call(f"{A}@{PB}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given every profile of the primary cooling, when a request starts, then the next model",
        health=cooling(PA, PB, PC),
        when=(),
        then=call(f"{OM}@{OX}", R.FIRST_ATTEMPT, skipped=(S.COOLING_DOWN,) * 3),
    ),
    Scenario(
        id="given every candidate cooling, when a request starts, then wait for the first reopening",
        health=HealthState(
            cooldowns={
                p(PA): window(K.RATE_LIMITED, T0 + 40),
                p(PB): window(K.RATE_LIMITED, T0 + 20),
                p(PC): window(K.RATE_LIMITED, T0 + 50),
                p(OX): window(K.RATE_LIMITED, T0 + 30),
                p("google:default"): window(K.AUTH, T0 + 90),
            }
        ),
        when=(),
        then=call(f"{A}@{PB}", R.WAIT_FOR_REOPENING, (20.0, 24.0), skipped=(S.COOLING_DOWN,) * 5),
    ),
    Scenario(
        id="given every candidate blocked past the deadline, when a request starts, then give up listing the skips",
        routes=make_routes((A,)),
        health=cooling(PA, PB, PC, until_at=T0 + 600, kind=K.AUTH),
        when=(),
        then=give_up(R.DEADLINE_REACHED, skipped=(S.COOLING_DOWN,) * 3, says="deadline"),
    ),
    Scenario(
        id="given the fallback cooling longer, when the primary is rate limited, then wait for the fallback",
        routes=make_routes((A, OM), order=(PA,)),
        health=HealthState(
            model_cooldowns={
                Target(model=m(OM), profile=p(OX)): window(K.RATE_LIMITED, T0 + 45),
            }
        ),
        when=(Ev(kind=K.RATE_LIMITED, retry_after_s=30),),
        then=call(f"{OM}@{OX}", R.WAIT_FOR_REOPENING, (45.0, 54.0), skipped=(S.COOLING_DOWN,)),
    ),
    Scenario(
        id="given the fallback cooling past the deadline, when the primary is rate limited, then wait for the primary",
        routes=make_routes((A, OM), order=(PA,)),
        health=HealthState(
            model_cooldowns={
                Target(model=m(OM), profile=p(OX)): window(K.RATE_LIMITED, T0 + 500),
            }
        ),
        when=(Ev(kind=K.RATE_LIMITED, retry_after_s=30),),
        then=call(f"{A}@{PA}", R.WAIT_FOR_REOPENING, (30.0, 36.0), skipped=(S.COOLING_DOWN,)),
    ),
    Scenario(
        id="given one key for two models, when the primary is rate limited, then the fallback at once",
        routes=make_routes((A, A2), order=(PA,)),
        when=(Ev(kind=K.RATE_LIMITED, retry_after_s=30),),
        then=call(f"{A2}@{PA}", R.FALLBACK_MODEL),
    ),
    Scenario(
        id="given one profile and model, when rate limited with Retry-After 10, then wait 10 s plus jitter",
        routes=ONE,
        when=(Ev(kind=K.RATE_LIMITED, retry_after_s=10),),
        then=call(f"{A}@{PA}", R.WAIT_FOR_REOPENING, (10.0, 12.0)),
    ),
    Scenario(
        id="given one profile and model, when Retry-After is 500, then wait only the 60 s cap plus jitter",
        routes=ONE,
        when=(Ev(kind=K.RATE_LIMITED, retry_after_s=500),),
        then=call(f"{A}@{PA}", R.WAIT_FOR_REOPENING, (60.0, 66.0)),
    ),
    Scenario(
        id="given one profile and model, when Retry-After is 0, then still wait a positive backoff",
        routes=ONE,
        when=(Ev(kind=K.RATE_LIMITED, retry_after_s=0),),
        then=call(f"{A}@{PA}", R.WAIT_FOR_REOPENING, (0.5, 0.6)),
    ),
    Scenario(
        id="given a cooldown that ended, when a request starts, then the call is a half-open probe",
        health=cooling(PA, until_at=T0 - 5),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT, probe=True),
    ),
    Scenario(
        id="given another caller's probe out, when a request starts, then the next profile",
        health=HealthState(
            cooldowns={p(PA): window(K.RATE_LIMITED, T0 - 5, probe_until_at=T0 + 55)}
        ),
        when=(),
        then=call(f"{A}@{PB}", R.FIRST_ATTEMPT, skipped=(S.PROBE_IN_FLIGHT,), probe=False),
    ),
    Scenario(
        id="given a billing disable, when a request starts, then the profile is skipped",
        health=HealthState(disables={p(PA): window(K.BILLING, T0 + 300)}),
        when=(),
        then=call(f"{A}@{PB}", R.FIRST_ATTEMPT, skipped=(S.DISABLED,)),
    ),
    Scenario(
        id="given a billing disable that was cleared, when a request starts, then the profile is used",
        health=HealthState(disables={p(PA): window(K.BILLING, T0 + 300)}).cleared(profile=p(PA)),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT, skipped=()),
    ),
    Scenario(
        id="given a strict pin on a cooling profile, when a request starts, then it is called anyway",
        session=PIN_B,
        health=cooling(PB),
        when=(),
        then=call(f"{A}@{PB}", R.PINNED_PROFILE, says="called anyway"),
    ),
    Scenario(
        id="given a strict pin, when the pinned profile is rate limited, then the next model, no rotation",
        session=PIN_B,
        when=(Ev(kind=K.RATE_LIMITED),),
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL),
    ),
    Scenario(
        id="given a preference, when a request starts, then the preferred profile first",
        session=PREFER_B,
        when=(),
        then=call(f"{A}@{PB}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given a preference, when it is rate limited, then the rest of the order",
        session=PREFER_B,
        when=(Ev(kind=K.RATE_LIMITED),),
        then=call(f"{A}@{PA}", R.ROTATE_PROFILE),
    ),
    Scenario(
        id="given a preference on a cooling profile, when a request starts, then it is skipped",
        session=PREFER_B,
        health=cooling(PB),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT, skipped=(S.COOLING_DOWN,)),
    ),
    Scenario(
        id="given a last good profile, when a request starts, then it leads the order",
        session=SessionState(last_good={"anthropic": p(PC)}),
        when=(),
        then=call(f"{A}@{PC}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given a last good profile, when the session switches model, then it is kept",
        session=SessionState(last_good={"anthropic": p(PC)}).with_selection(Selection(model=m(A2))),
        when=(),
        then=call(f"{A2}@{PC}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given a last good profile outside the order, when a request starts, then the order",
        session=SessionState(last_good={"anthropic": p("anthropic:gone")}),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given an image chain and a text-only primary, when images come, then the image chain",
        routes=make_routes(image=(IMG,)),
        needs=RequestNeeds(has_images=True),
        when=(),
        then=call(f"{IMG}@{OX}", R.IMAGE_ROUTE),
    ),
    Scenario(
        id="given an image chain and a primary that takes images, when images come, then the text chain",
        routes=make_routes(image=(IMG,), traits={A: ModelTraits(image_input=True)}),
        needs=RequestNeeds(has_images=True),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given no image chain, when images come, then the text chain",
        needs=RequestNeeds(has_images=True),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT),
    ),
    Scenario(
        id="given an image chain, when the image model fails, then the image chain's fallback",
        routes=make_routes(image=(IMG, G)),
        needs=RequestNeeds(has_images=True),
        when=(Ev(kind=K.MODEL_NOT_FOUND),),
        then=call(f"{G}@google:default", R.FALLBACK_MODEL),
    ),
    Scenario(
        id="given a prompt too large for the primary, when a request starts, then it is skipped",
        routes=make_routes(traits=SMALL_O),
        needs=RequestNeeds(min_context_tokens=300_000),
        when=(),
        then=call(f"{G}@google:default", R.FIRST_ATTEMPT, skipped=(S.CONTEXT_TOO_SMALL,) * 2),
    ),
    Scenario(
        id="given max_attempts 2, when two calls fail, then give up",
        routes=make_routes(max_attempts=2),
        when=(Ev(kind=K.SERVER),) * 2,
        then=give_up(R.ATTEMPTS_EXHAUSTED),
    ),
    Scenario(
        id="given a deadline too near for a backoff, when the server fails, then fall back at once",
        routes=make_routes(deadline_s=1.2),
        when=(Ev(kind=K.SERVER),),
        then=call(f"{OM}@{OX}", R.FALLBACK_MODEL, 0.0),
    ),
    Scenario(
        id="given the deadline passed, when the server fails, then give up",
        routes=make_routes(deadline_s=0.5),
        when=(Ev(kind=K.SERVER),),
        then=give_up(R.DEADLINE_REACHED),
    ),
    Scenario(
        id="given an open circuit on the primary, when a request starts, then the next model",
        health=HealthState(circuits={m(A): Circuit(open_until_at=T0 + 20)}),
        when=(),
        then=call(f"{OM}@{OX}", R.FIRST_ATTEMPT, skipped=(S.CIRCUIT_OPEN,) * 3),
    ),
    Scenario(
        id="given a circuit past its open time, when a request starts, then a probe to the primary",
        health=HealthState(circuits={m(A): Circuit(open_until_at=T0 - 1)}),
        when=(),
        then=call(f"{A}@{PA}", R.FIRST_ATTEMPT, probe=True),
    ),
    Scenario(
        id="given the primary's profiles exhausted and the next model cooling, when falling back, then it is skipped",
        health=cooling(OX),
        when=(Ev(kind=K.RATE_LIMITED),) * 3,
        then=call(f"{G}@google:default", R.FALLBACK_MODEL, skipped=(S.COOLING_DOWN,)),
    ),
    Scenario(
        id="given the last model, when it is not found, then give up with the chain exhausted",
        routes=make_routes((A,)),
        when=(Ev(kind=K.MODEL_NOT_FOUND),),
        then=give_up(R.CHAIN_EXHAUSTED),
    ),
    Scenario(
        id="given one profile and model, when auth fails, then give up as the cooldown outlasts the deadline",
        routes=ONE,
        when=(Ev(kind=K.AUTH),),
        then=give_up(R.DEADLINE_REACHED, says="deadline"),
    ),
    Scenario(
        id="given one model, when the server keeps failing, then give up with the chain exhausted",
        routes=make_routes((A,)),
        when=(Ev(kind=K.SERVER),) * 3,
        then=give_up(R.CHAIN_EXHAUSTED),
    ),
    Scenario(
        id="given a session model outside the chain, when a request starts, then it goes first",
        session=SessionState().with_selection(Selection(model=m(A2), profile=p(PB), strict=True)),
        when=(),
        then=call(f"{A2}@{PB}", R.PINNED_PROFILE),
    ),
    Scenario(
        id="given a provider with no auth order, when a request starts, then its default profile",
        routes=make_routes((G, A)),
        when=(),
        then=call(f"{G}@google:default", R.FIRST_ATTEMPT),
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    """Each row's final action matches its 'then'."""
    actions = run(
        scenario.routes,
        scenario.when,
        session=scenario.session,
        health=scenario.health,
        needs=scenario.needs,
    )

    assert scenario.then == summary(actions[-1], scenario.then)


def test_scenario_table_is_large_enough() -> None:
    """The scenario table has at least 40 rows with unique ids."""

    assert len(SCENARIOS) >= 40
    assert len(SCENARIOS) == len({s.id for s in SCENARIOS})


def test_give_up_carries_every_failure() -> None:
    """GiveUp.failures lists every failure of the request, in order, with its target."""
    actions = run(make_routes((A,), order=(PA,)), [Ev(kind=K.SERVER)] * 3)
    final = actions[-1]

    assert isinstance(final, GiveUp)
    expected = ([K.SERVER] * 3, {m(A)}, 3)
    assert expected == (
        [f.kind for f in final.failures],
        {f.model for f in final.failures},
        len(final.state.history),
    )


def test_deciding_on_a_finished_state_is_an_error() -> None:
    """Calling next_attempt on a state that gave up raises InvalidStateError."""
    final = run(make_routes(), [Ev(kind=K.CONTENT_FILTER)])[-1]

    with pytest.raises(InvalidStateError, match="finished"):
        next_attempt(Failure(kind=K.SERVER, observed_at=T0 + 9), final.state)


def test_asking_twice_for_a_first_call_is_an_error() -> None:
    """Passing None for a state whose first call was decided raises InvalidStateError."""
    first = run(make_routes(), [])[-1]

    with pytest.raises(InvalidStateError, match="already decided"):
        next_attempt(None, first.state)


def test_a_failure_for_another_target_is_an_error() -> None:
    """A failure naming a different profile than the latest call raises InvalidStateError."""
    first = run(make_routes(), [])[-1]
    wrong = Failure(kind=K.SERVER, observed_at=T0 + 1, profile=p(PB))

    with pytest.raises(InvalidStateError, match="latest call went to"):
        next_attempt(wrong, first.state)


def test_success_records_last_good_and_closes_cooldown() -> None:
    """A success after rotation makes that profile the session's last good one."""
    actions = run(make_routes(), [Ev(kind=K.RATE_LIMITED)])
    rotated = actions[-1]
    assert isinstance(rotated, Call)
    done = rotated.state.succeeded(T0 + 5)

    assert p(PB) == done.session.last_good["anthropic"]
    assert done.finished
    assert Target(model=m(A), profile=p(PA)) in done.health.model_cooldowns


def test_cooldown_expiry_then_half_open_probe_then_closed() -> None:
    """After the window a probe goes out; its success closes the cooldown for everyone."""
    routes = make_routes((A,), order=(PA,))
    failed = run(routes, [Ev(kind=K.RATE_LIMITED, retry_after_s=10)])[-1]
    assert isinstance(failed, Call)
    health = failed.state.health
    later = AttemptState.start(routes, now=T0 + 30, health=health)
    probe = next_attempt(None, later)
    assert isinstance(probe, Call)
    other = next_attempt(None, AttemptState.start(routes, now=T0 + 31, health=probe.state.health))
    closed = probe.state.succeeded(T0 + 32).health

    assert probe.probe
    assert isinstance(other, Call)
    expected = (R.WAIT_FOR_REOPENING, SkipCode.PROBE_IN_FLIGHT)
    assert expected == (other.reason.code, other.skipped[0].code)
    assert closed.blocked_until(Target(model=m(A), profile=p(PA)), T0 + 32) is None
    assert p(PA) not in closed.cooldowns


def test_a_probe_failing_with_a_server_error_reopens_the_cooldown_for_everyone() -> None:
    """A half-open probe that fails with an unmarked kind reopens the window; others see a cooldown."""
    routes = make_routes((A,), order=(PA, PB))
    ended = HealthState(cooldowns={p(PA): window(K.RATE_LIMITED, T0 - 1)})
    probe = next_attempt(None, AttemptState.start(routes, now=T0, health=ended))
    assert isinstance(probe, Call)
    failed = next_attempt(Failure(kind=K.SERVER, observed_at=T0 + 0.25), probe.state)
    other = next_attempt(None, AttemptState.start(routes, now=T0 + 1, health=failed.state.health))
    assert isinstance(other, Call)

    assert probe.probe
    expected = (f"{A}@{PB}", SkipCode.COOLING_DOWN, K.RATE_LIMITED, T0 + 0.25 + 60)
    skip = other.skipped[0]
    assert expected == (
        f"{other.target.model}@{other.target.profile}",
        skip.code,
        skip.kind,
        skip.until_at,
    )


def test_circuit_opens_then_traffic_returns_to_the_primary() -> None:
    """Failures open the primary's circuit; after open_s a probe succeeds and traffic returns."""
    routes = make_routes((A, OM), order=(PA,), circuit_min_calls=3, circuit_open_s=30)
    health = HealthState()
    now = T0
    for _ in range(2):
        actions = run_at(routes, health, now, [Ev(kind=K.TIMEOUT)])
        final = actions[-1]
        assert isinstance(final, Call)
        health = final.state.succeeded(now + 2).health
        now += 5
    actions = run_at(routes, health, now, [Ev(kind=K.TIMEOUT)])
    final = actions[-1]
    assert isinstance(final, Call)
    health = final.state.succeeded(now + 2).health
    bypass = next_attempt(None, AttemptState.start(routes, now=now + 5, health=health))
    probe = next_attempt(None, AttemptState.start(routes, now=now + 40, health=health))
    assert isinstance(probe, Call)
    recovered = probe.state.succeeded(now + 41).health
    back = next_attempt(None, AttemptState.start(routes, now=now + 42, health=recovered))

    assert isinstance(bypass, Call)
    assert (m(OM), SkipCode.CIRCUIT_OPEN) == (bypass.target.model, bypass.skipped[0].code)
    assert (m(A), True) == (probe.target.model, probe.probe)
    assert isinstance(back, Call)
    assert (m(A), False, ()) == (back.target.model, back.probe, back.skipped)


def run_at(routes: Routes, health: HealthState, now: float, events: Sequence[Ev]) -> list[Action]:
    state = AttemptState.start(routes, now=now, health=health)
    actions: list[Action] = [next_attempt(None, state)]
    for ev in events:
        last = actions[-1]
        assert isinstance(last, Call)
        failure = Failure(kind=ev.kind, observed_at=last.state.now + last.delay_s + 1)
        actions.append(next_attempt(failure, last.state))
    return actions


def test_skip_renders_for_people() -> None:
    """A skipped profile reads like 'anthropic:a skipped: cooling down until 22:14:00 (rate limited)'."""
    action = next_attempt(
        None, AttemptState.start(make_routes(), now=T0, health=cooling(PA, until_at=T0 + 40))
    )
    assert isinstance(action, Call)

    expected = "anthropic:a skipped: cooling down until 22:14:00 (rate limited)"
    assert expected == str(action.skipped[0])


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        (
            Skip(model=m(A), profile=p(PA), code=S.CIRCUIT_OPEN, until_at=T0 + 40),
            "anthropic/opus skipped: circuit open until 22:14:00",
        ),
        (
            Skip(
                model=m(A),
                profile=p(PA),
                code=S.COOLING_DOWN,
                until_at=T0 + 40,
                kind=K.OVERLOADED,
                model_scoped=True,
            ),
            "anthropic:a with anthropic/opus skipped: cooling down until 22:14:00 (overloaded)",
        ),
        (
            Skip(model=m(A), profile=p(PA), code=S.DISABLED, until_at=T0 + 40, kind=K.BILLING),
            "anthropic:a skipped: disabled until 22:14:00 (billing)",
        ),
    ],
    ids=["circuit names the model", "model-scoped names both", "profile-wide names the profile"],
)
def test_skips_name_what_is_blocked(skip: Skip, expected: str) -> None:
    """An open circuit names the model, a block about one model names profile and model, others the profile."""

    assert expected == skip.message


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T0 + 40, "22:14:00"),
        (1.7e15, "1.7e+15 s since the epoch"),
        (float("nan"), "nan s since the epoch"),
        (float("inf"), "inf s since the epoch"),
    ],
    ids=["a normal time", "past the year 9999", "nan", "infinity"],
)
def test_format_clock_prints_the_number_when_no_clock_can_show_it(at: float, expected: str) -> None:
    """format_clock() gives HH:MM:SS, or the number itself for a time no clock can show."""

    assert expected == format_clock(at)


def test_a_deadline_past_the_year_9999_does_not_crash_a_decision() -> None:
    """A wait that ends after the year 9999 still gives a decision, its time printed as a number."""
    routes = make_routes((A,), order=(PA,), deadline_s=1e300)
    late = 253_402_300_600.0
    failed = next_attempt(
        Failure(kind=K.AUTH, observed_at=late + 1),
        next_attempt(None, AttemptState.start(routes, now=late)).state,
    )
    assert isinstance(failed, Call)

    expected = R.WAIT_FOR_REOPENING
    assert expected == failed.reason.code
    assert "reopens first, at 2.53402e+11 s since the epoch" in failed.reason.message


def test_jitter_unit_is_in_range_and_spreads() -> None:
    """jitter_unit gives numbers in [0, 1) that differ across attempts."""
    units = [jitter_unit(42, n) for n in range(100)]

    assert all(0 <= u < 1 for u in units)
    assert len(set(units)) == 100


# -- properties -----------------------------------------------------------------------

POOL = (A, A2, OM, G, IMG)
failure_events = hst.lists(
    hst.builds(
        Ev,
        kind=hst.sampled_from(FailureKind),
        retry_after_s=hst.none() | hst.floats(min_value=0, max_value=600),
    ),
    max_size=12,
)


@hst.composite
def worlds(draw: hst.DrawFn) -> tuple[Routes, SessionState, HealthState, RequestNeeds]:
    chain = draw(hst.lists(hst.sampled_from(POOL), min_size=1, max_size=4, unique=True))
    order = draw(hst.lists(hst.sampled_from((PA, PB, PC)), min_size=1, max_size=3, unique=True))
    windows = hst.none() | hst.integers(min_value=1_000, max_value=2_000_000).map(
        lambda n: ModelTraits(context_window=n)
    )
    traits = {k: t for k in POOL if (t := draw(windows)) is not None}
    routes = make_routes(
        chain,
        image=draw(hst.none() | hst.just((IMG, G))),
        order=order,
        traits=traits,
        max_attempts=draw(hst.integers(min_value=1, max_value=10)),
        retry_timeout_same_target=draw(hst.booleans()),
    )
    profile = draw(hst.none() | hst.sampled_from((PA, PB, PC)))
    override = None
    if draw(hst.booleans()):
        override = Selection(
            model=m(A), profile=p(profile) if profile else None, strict=draw(hst.booleans())
        )
    session = SessionState(
        last_good={"anthropic": p(draw(hst.sampled_from((PA, PB, PC))))}, override=override
    )
    profiles = hst.sampled_from((PA, PB, PC, OX))
    ends = hst.floats(min_value=T0 - 60, max_value=T0 + 200)
    cooled = draw(hst.lists(profiles, unique=True, max_size=3))
    disabled = draw(hst.lists(profiles, unique=True, max_size=2))
    pairs = draw(hst.lists(hst.tuples(hst.sampled_from(POOL), profiles), unique=True, max_size=3))
    tripped = draw(hst.lists(hst.sampled_from(POOL), unique=True, max_size=2))
    health = HealthState(
        cooldowns={
            p(x): window(draw(hst.sampled_from((K.RATE_LIMITED, K.AUTH))), draw(ends))
            for x in cooled
        },
        disables={p(x): window(K.BILLING, draw(ends)) for x in disabled},
        model_cooldowns={
            Target(model=m(model), profile=p(x)): window(K.OVERLOADED, draw(ends))
            for model, x in pairs
        },
        circuits={
            m(model): Circuit(outcomes=((T0 - 1, False),), open_until_at=draw(ends))
            for model in tripped
        },
    )
    needs = RequestNeeds(has_images=draw(hst.booleans()))
    return routes, session, health, needs


def play(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds],
    events: Sequence[Ev],
    seed: int = 3,
) -> list[tuple[Failure | None, Action]]:
    """Play events until the core gives up or they run out; pair each action with its input."""
    routes, session, health, needs = world
    state = AttemptState.start(
        routes, now=T0, session=session, health=health, needs=needs, seed=seed
    )
    out: list[tuple[Failure | None, Action]] = [(None, next_attempt(None, state))]
    for ev in events:
        last = out[-1][1]
        if not isinstance(last, Call):
            break
        at = last.state.now + last.delay_s + 0.25
        failure = Failure(kind=ev.kind, observed_at=at, retry_after_s=ev.retry_after_s)
        out.append((failure, next_attempt(failure, last.state)))
    return out


def always_failing(kind: FailureKind, count: int) -> list[Ev]:
    return [Ev(kind=kind)] * count


@settings(max_examples=150)
@given(worlds(), hst.lists(hst.sampled_from(FailureKind), min_size=1, max_size=4))
def test_any_failure_sequence_terminates_within_the_budget(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], kinds: list[FailureKind]
) -> None:
    """Calls that keep failing reach GiveUp after at most max_attempts calls."""
    budget = world[0].policy.max_attempts
    events = [Ev(kind=kinds[i % len(kinds)], retry_after_s=5.0) for i in range(budget + 1)]
    actions = [a for _f, a in play(world, events)]
    calls = [a for a in actions if isinstance(a, Call)]

    assert isinstance(actions[-1], GiveUp)
    assert len(calls) <= budget


@settings(max_examples=100)
@given(worlds(), failure_events, hst.integers(min_value=0, max_value=2**32))
def test_decisions_are_deterministic(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], events: list[Ev], seed: int
) -> None:
    """The same inputs give the same actions, states included."""

    assert play(world, events, seed) == play(world, events, seed)


@settings(max_examples=150)
@given(worlds(), failure_events)
def test_non_retryable_kinds_never_retry_the_same_model(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], events: list[Ev]
) -> None:
    """Kinds whose rule gives up end the request; kinds that neither retry nor rotate (and overflows) move to another model."""
    policy = world[0].policy
    steps = play(world, events)
    for (_f, before), (failure, after) in pairwise(steps):
        assert isinstance(before, Call)
        assert failure is not None
        rule = policy.rule_for(failure.kind)
        if rule.gives_up:
            assert isinstance(after, GiveUp)
        moves_on = failure.kind is K.CONTEXT_OVERFLOW or not (rule.retries or rule.rotate_profile)
        if moves_on and isinstance(after, Call):
            assert before.target.model != after.target.model


@settings(max_examples=150)
@given(worlds(), failure_events)
def test_fallbacks_stay_in_the_chain_and_move_forward(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], events: list[Ev]
) -> None:
    """Every call's model is a candidate of the request, never earlier than the one before."""
    steps = play(world, events)
    first = steps[0][1]
    allowed = first.state.candidates
    routes, session, _h, _n = world
    chains = set(routes.chain.models) | set(routes.image_chain.models if routes.image_chain else ())
    if session.override is not None:
        chains.add(session.override.model)
    positions = [allowed.index(a.target.model) for _f, a in steps if isinstance(a, Call)]

    assert set(allowed) <= chains
    assert sorted(positions) == positions


def window_end(health: HealthState, target: Target) -> float:
    """The latest end of any window or open circuit that covers *target*."""
    ends = [-math.inf]
    for w in (
        health.cooldowns.get(target.profile),
        health.disables.get(target.profile),
        health.model_cooldowns.get(target),
    ):
        if w is not None:
            ends.append(w.until_at)
    circuit = health.circuits.get(target.model)
    if circuit is not None and circuit.open_until_at is not None:
        ends.append(circuit.open_until_at)
    return max(ends)


@settings(max_examples=150)
@given(worlds(), failure_events)
def test_a_cooling_profile_is_never_called_before_its_window_ends(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], events: list[Ev]
) -> None:
    """Each call goes out no earlier than the end of every window on its target, unless pinned."""
    steps = play(world, events)
    override = world[1].override
    for _failure, action in steps:
        if not isinstance(action, Call):
            continue
        pinned = (
            override is not None
            and override.strict
            and override.profile == action.target.profile
            and override.model == action.target.model
        )
        if pinned:
            continue
        call_at = action.state.now + action.delay_s

        assert call_at >= window_end(action.state.health, action.target)


@settings(max_examples=150)
@given(worlds(), failure_events)
def test_delays_are_bounded_and_honour_retry_after(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], events: list[Ev]
) -> None:
    """
    Every delay (the first included) ends by the deadline; a retry waits at most the longest backoff or capped Retry-After.

    Going back to a failed target waits more than zero and at least the capped Retry-After.
    """
    policy = world[0].policy
    retry_cap = max(policy.backoff_max_s, policy.retry_after_cap_s)
    steps = play(world, events)
    for _f, action in steps:
        if isinstance(action, Call):
            assert 0 <= action.delay_s
            assert action.state.now + action.delay_s <= action.state.deadline_at
            if action.reason.code is ReasonCode.RETRY_SAME_TARGET:
                assert action.delay_s <= retry_cap
    for (_f, before), (failure, after) in pairwise(steps):
        if not isinstance(after, Call):
            continue
        assert isinstance(before, Call)
        assert failure is not None
        if after.target == before.target:
            assert after.delay_s > 0
            if (
                failure.retry_after_s is not None
                and policy.rule_for(failure.kind).honour_retry_after
            ):
                assert after.delay_s >= min(failure.retry_after_s, policy.retry_after_cap_s) - 1e-9


# -- state machine against a tiny reference model --------------------------------------

REF_POLICY = {"circuit_min_calls": 1_000, "max_attempts": 6}
REF_RULES = Policy(**REF_POLICY)  # type: ignore[arg-type]
REF_SEED = 5
REF_KINDS = (
    K.SERVER,
    K.TIMEOUT,
    K.AUTH,
    K.AUTH_PERMANENT,
    K.MODEL_NOT_FOUND,
    K.CONTENT_FILTER,
    K.INVALID_REQUEST,
)
REF_GAPS = (1.0, 200.0, 301.0, 3_601.0)
"""Idle time between requests: none to speak of, to within a deadline of an auth cooldown's end, past it, past a missing-model mark."""

Expected = tuple[str, str, ReasonCode, float] | tuple[None, None, ReasonCode, None]
"""What the core should do: call (model, profile) for a reason after a delay, or give up for one."""


class ReferenceModel:
    """
    A plain re-statement of the default rules for seven kinds, without circuits.

    Auth cools a profile for 300 s, a revoked key disables it for a day, a missing
    model marks the pair for an hour; server errors get two retries with backoff;
    timeouts fall back at once; filters and invalid requests give up. A window that
    has ended admits its target again (the call is a probe): a success clears the
    target's windows, a failure about the target opens each ended window again for
    its own length. When every candidate is blocked, the one that reopens first is
    waited for if that fits the deadline, among those that have not failed in this
    request when one of them fits.
    """

    LENGTHS: Final = {"cool": 300.0, "disable": 86_400.0, "pair": 3_600.0}

    def __init__(self, chain: list[str], orders: dict[str, list[str]]) -> None:
        self.chain = chain
        self.orders = orders
        # (table, key) -> until_at; key is a profile, or "profile model" for pairs.
        self.windows: dict[tuple[str, str], float] = {}
        self.last_good: dict[str, str] = {}
        self.start(T0)

    def start(self, now: float) -> None:
        self.started = now
        self.now = now
        self.index = 0
        self.tried: list[str] = []
        self.target: tuple[str, str] | None = None
        self.fails = 0
        self.attempts = 0
        self.failed: set[tuple[str, str]] = set()

    def order(self, model: str) -> list[str]:
        provider = model.split("/")[0]
        order = self.orders.get(provider, [f"{provider}:default"])
        good = self.last_good.get(provider)
        if good in order:
            return [good, *(x for x in order if x != good)]
        return order

    def keys(self, model: str, profile: str) -> list[tuple[str, str]]:
        return [("cool", profile), ("disable", profile), ("pair", f"{profile} {model}")]

    def until(self, model: str, profile: str) -> float:
        """When every window on the target has ended (-inf: none)."""
        return max(self.windows.get(k, -math.inf) for k in self.keys(model, profile))

    def mark(self, table: str, key: str) -> None:
        self.windows[(table, key)] = self.now + self.LENGTHS[table]

    def pick(
        self, rotate: bool, fall_back: bool, waits_on_tried: bool = False, again: bool = False
    ) -> Expected:
        """
        The next usable candidate; else wait for the first to reopen; else why not.

        Blocked candidates, and with *waits_on_tried* blocked profiles already
        tried on this model (the one that just failed only when *again*), may be
        waited for.
        """
        deadline = self.started + REF_RULES.deadline_s
        if self.now >= deadline:
            return None, None, R.DEADLINE_REACHED, None
        if self.attempts >= REF_RULES.max_attempts:
            return None, None, R.ATTEMPTS_EXHAUSTED, None
        first = self.attempts == 0
        waits: list[tuple[float, int, str, str, bool]] = []
        for i in range(self.index, len(self.chain)):
            model = self.chain[i]
            same = i == self.index and not first
            if same and not rotate:
                continue
            if not same and not first and not fall_back:
                break
            for profile in self.order(model):
                if same and profile in self.tried:
                    continue
                until = self.until(model, profile)
                if until > self.now:
                    waits.append((until, i, model, profile, False))
                    continue
                code = R.FIRST_ATTEMPT if first else R.ROTATE_PROFILE if same else R.FALLBACK_MODEL
                return self.go(i, model, profile, code, 0.0)
        if waits_on_tried and self.target is not None:
            model, current = self.target
            for profile in self.tried:
                until = self.until(model, profile)
                if (again or profile != current) and until > self.now:
                    waits.append((until, self.index, model, profile, profile == current))
        if not waits:
            return None, None, R.CHAIN_EXHAUSTED, None
        fresh = [w for w in waits if (w[2], w[3]) not in self.failed and w[0] <= deadline]
        until, i, model, profile, same = min(fresh or waits, key=lambda w: (w[0], w[1]))
        unit = jitter_unit(REF_SEED, self.attempts)
        wait = until - self.now
        delay = min(REF_RULES.reopening_delay_s(wait, unit), max(wait, deadline - self.now))
        if same:
            delay = max(delay, REF_RULES.backoff_s(self.fails, unit))
        if self.now + delay > deadline:
            return None, None, R.DEADLINE_REACHED, None
        return self.go(i, model, profile, R.WAIT_FOR_REOPENING, delay)

    def go(self, index: int, model: str, profile: str, code: ReasonCode, delay: float) -> Expected:
        if index != self.index:
            self.tried = []
        if (model, profile) != self.target:
            self.fails = 0
        self.index = index
        self.target = (model, profile)
        self.attempts += 1
        return model, profile, code, round(delay, 6)

    def fail(self, kind: FailureKind, now: float) -> Expected:
        assert self.target is not None
        model, profile = self.target
        self.now = now
        self.fails += 1
        self.failed.add((model, profile))
        if profile not in self.tried:
            self.tried.append(profile)
        if kind not in (K.CONTENT_FILTER, K.INVALID_REQUEST):
            # A probe that failed about the target: each ended window opens again.
            for key in self.keys(model, profile):
                if self.windows.get(key, math.inf) <= now:
                    self.mark(*key)
        if kind in (K.CONTENT_FILTER, K.INVALID_REQUEST):
            return None, None, R.NOT_RETRYABLE, None
        if kind in (K.AUTH, K.AUTH_PERMANENT):
            self.mark("cool" if kind is K.AUTH else "disable", profile)
            return self.retry_or_pick(kind, rotate=True, waits_on_tried=True, again=True)
        if kind is K.MODEL_NOT_FOUND:
            self.mark("pair", f"{profile} {model}")
            return self.retry_or_pick(kind, rotate=False)
        return self.retry_or_pick(kind, rotate=False, waits_on_tried=kind is K.SERVER)

    def retry_or_pick(
        self, kind: FailureKind, *, rotate: bool, waits_on_tried: bool = False, again: bool = False
    ) -> Expected:
        if self.attempts >= REF_RULES.max_attempts:
            return None, None, R.ATTEMPTS_EXHAUSTED, None
        assert self.target is not None
        model, profile = self.target
        if kind is K.SERVER and self.fails <= 2:
            delay = REF_RULES.backoff_s(self.fails, jitter_unit(REF_SEED, self.attempts))
            deadline = self.started + REF_RULES.deadline_s
            if self.until(model, profile) <= self.now and self.now + delay <= deadline:
                return self.go(self.index, model, profile, R.RETRY_SAME_TARGET, delay)
            again = True
        return self.pick(rotate=rotate, fall_back=True, waits_on_tried=waits_on_tried, again=again)

    def succeed(self) -> None:
        assert self.target is not None
        model, profile = self.target
        self.last_good[profile.split(":")[0]] = profile
        for key in self.keys(model, profile):
            self.windows.pop(key, None)


class DecideMachine(RuleBasedStateMachine):
    """Drives next_attempt and the reference model side by side over several requests."""

    @initialize(
        chain=hst.lists(hst.sampled_from((A, A2, OM, G)), min_size=1, max_size=4, unique=True),
        order=hst.lists(hst.sampled_from((PA, PB, PC)), min_size=1, max_size=3, unique=True),
    )
    def setup(self, chain: list[str], order: list[str]) -> None:
        self.routes = make_routes(chain, order=order, **REF_POLICY)  # type: ignore[arg-type]
        self.ref = ReferenceModel(chain, {"anthropic": order, "openai": [OX]})
        self.clock = T0
        self.session = SessionState()
        self.health = HealthState()
        self.action: Action | None = None
        self.expected: Expected | None = None
        self.new_request()

    def new_request(self) -> None:
        self.ref.start(self.clock)
        state = AttemptState.start(
            self.routes, now=self.clock, session=self.session, health=self.health, seed=REF_SEED
        )
        self.action = next_attempt(None, state)
        self.expected = self.ref.pick(rotate=True, fall_back=True)

    @rule(outcome=hst.sampled_from((*REF_KINDS, None)), gap=hst.sampled_from(REF_GAPS))
    def step(self, outcome: FailureKind | None, gap: float) -> None:
        """
        The call fails with *outcome* or, for ``None``, succeeds; after a give-up, the next request.

        A new request starts *gap* seconds after the last one ended.
        """
        if isinstance(self.action, GiveUp):
            self.health = self.action.state.health
            self.clock += gap
            self.new_request()
            return
        assert isinstance(self.action, Call)
        self.clock = self.action.state.now + self.action.delay_s + 0.5
        if outcome is not None:
            failure = Failure(kind=outcome, observed_at=self.clock)
            self.action = next_attempt(failure, self.action.state)
            self.expected = self.ref.fail(outcome, self.clock)
            return
        done = self.action.state.succeeded(self.clock)
        self.session, self.health = done.session, done.health
        self.ref.succeed()
        self.clock += gap
        self.new_request()

    @invariant()
    def agrees_with_the_reference(self) -> None:
        """The core calls the reference model's target, for its reason, after its delay; or gives up for its reason."""
        if self.action is None:
            return
        actual: Expected = (
            (
                str(self.action.target.model),
                str(self.action.target.profile),
                self.action.reason.code,
                round(self.action.delay_s, 6),
            )
            if isinstance(self.action, Call)
            else (None, None, self.action.reason.code, None)
        )

        assert self.expected == actual


TestDecideMachine = DecideMachine.TestCase
TestDecideMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


def test_an_opening_circuit_never_stretches_the_retry_budget() -> None:
    """With a circuit about to open, a lone target that keeps failing gets its two retries, then the request gives up."""
    health = HealthState(
        circuits={m(A): Circuit(outcomes=tuple((T0 - 10 + i, False) for i in range(3)))}
    )
    actions = run(ONE, [Ev(kind=K.SERVER)] * 3, health=health)
    calls = [a for a in actions if isinstance(a, Call)]

    assert isinstance(actions[-1], GiveUp)
    assert 3 == len(calls)


def test_waits_for_a_window_are_jittered_by_the_seed() -> None:
    """Requests with different seeds wait different times for the same window, never less than it lasts."""
    health = cooling(PA, until_at=T0 + 30)
    waits = {
        a.delay_s
        for seed in range(8)
        if isinstance(
            a := next_attempt(None, AttemptState.start(ONE, now=T0, health=health, seed=seed)), Call
        )
    }

    assert len(waits) == 8
    assert all(30.0 <= w <= 36.0 for w in waits)


def test_a_revoked_key_is_disabled_for_a_day_and_rotated_past() -> None:
    """After auth_permanent the request rotates, and the profile stays disabled for 24 h."""
    first, rotated = run(make_routes(), [Ev(kind=K.AUTH_PERMANENT)])
    assert isinstance(first, Call)
    assert isinstance(rotated, Call)
    failed_at = first.state.now + first.delay_s + 1.0
    window = rotated.state.health.disables[p(PA)]

    expected = (R.ROTATE_PROFILE, f"{A}@{PB}", failed_at + 86_400)
    assert expected == (
        rotated.reason.code,
        f"{rotated.target.model}@{rotated.target.profile}",
        window.until_at,
    )


def test_billing_disables_double_across_requests_and_reset_after_a_quiet_spell() -> None:
    """Each billing failure after the disable ended doubles it (5, 10, 20 min); after a quiet counter_reset_s it is 5 min again."""
    routes = make_routes((A,), order=(PA,))
    health, now, lengths = HealthState(), T0, []
    for gap in (0.0, 1.0, 1.0, 601.0):
        start = AttemptState.start(routes, now=now + gap, health=health)
        call = next_attempt(None, start)
        assert isinstance(call, Call)
        failed_at = call.state.now + call.delay_s
        after = next_attempt(Failure(kind=K.BILLING, observed_at=failed_at), call.state)
        health = after.state.health
        window = health.disables[p(PA)]
        lengths.append(window.until_at - failed_at)
        now = window.until_at

    expected = [300.0, 600.0, 1200.0, 300.0]
    assert expected == lengths


@settings(max_examples=150)
@given(worlds(), failure_events)
def test_deciding_on_a_recorded_failure_is_the_same_decision(
    world: tuple[Routes, SessionState, HealthState, RequestNeeds], events: list[Ev]
) -> None:
    """next_attempt(failure, state) equals next_attempt(None, state.with_failure(failure)) at every step."""
    for (_f, before), (failure, after) in pairwise(play(world, events)):
        assert isinstance(before, Call)
        assert failure is not None

        assert after == next_attempt(None, before.state.with_failure(failure))


def test_deciding_again_needs_a_recorded_failure() -> None:
    """Without a failure, a state whose call is outstanding cannot be decided on again."""
    call = next_attempt(None, AttemptState.start(ONE, now=T0))
    assert isinstance(call, Call)

    with pytest.raises(InvalidStateError, match=r"record it with AttemptState\.with_failure"):
        next_attempt(None, call.state)


def test_jitter_never_pushes_a_wait_that_fits_past_the_deadline() -> None:
    """A window ending 5 s before the deadline is waited for with every seed, ending by the deadline."""
    routes = make_routes((A,), order=(PA,), deadline_s=60)
    health = cooling(PA, until_at=T0 + 55)
    actions = [
        next_attempt(None, AttemptState.start(routes, now=T0, health=health, seed=seed))
        for seed in range(50)
    ]

    assert all(isinstance(a, Call) for a in actions)
    assert all(55.0 <= a.delay_s <= 60.0 for a in actions if isinstance(a, Call))


def test_a_skip_names_the_model_when_the_block_is_on_the_pair() -> None:
    """A cooldown of the profile with one model (whatever its kind) names both; one of the whole profile names the profile."""
    pair = HealthState(
        model_cooldowns={Target(model=m(A), profile=p(PA)): window(K.RATE_LIMITED, T0 + 40)}
    )
    whole = cooling(PA, until_at=T0 + 40)
    shown = []
    for health in (pair, whole):
        action = next_attempt(None, AttemptState.start(make_routes(), now=T0, health=health))
        assert isinstance(action, Call)
        shown.append(action.skipped[0].message)

    expected = [
        "anthropic:a with anthropic/opus skipped: cooling down until 22:14:00 (rate limited)",
        "anthropic:a skipped: cooling down until 22:14:00 (rate limited)",
    ]
    assert expected == shown


@pytest.mark.parametrize(
    ("last_good", "override", "model", "expected"),
    [
        ({}, None, A, ((PA, PB, PC), False)),
        ({"anthropic": PB}, None, A, ((PB, PA, PC), False)),
        ({"anthropic": "anthropic:z"}, None, A, ((PA, PB, PC), False)),
        ({"openai": OX}, None, A, ((PA, PB, PC), False)),
        ({}, (A, PC, False), A, ((PC, PA, PB), False)),
        ({}, (A, "anthropic:z", False), A, (("anthropic:z", PA, PB, PC), False)),
        ({}, (A, PC, True), A, ((PC,), True)),
        ({"anthropic": PB}, (A2, PC, True), A, ((PB, PA, PC), False)),
        ({}, None, "mistral/large", (("mistral:default",), False)),
    ],
    ids=[
        "auth order",
        "last good leads",
        "last good outside the order is ignored",
        "another provider's last good is ignored",
        "preferred profile leads",
        "preferred profile outside the order goes first",
        "strict pin is alone",
        "a pin for another model is ignored",
        "a provider without an order uses its default profile",
    ],
)
def test_profile_order(
    last_good: dict[str, str],
    override: tuple[str, str, bool] | None,
    model: str,
    expected: tuple[tuple[str, ...], bool],
) -> None:
    """profile_order() puts a session's pin or preference first, else its last good profile."""
    selection = None
    if override is not None:
        selection = Selection(model=m(override[0]), profile=p(override[1]), strict=override[2])
    session = SessionState(last_good={k: p(v) for k, v in last_good.items()}, override=selection)
    state = AttemptState.start(make_routes(), now=T0, session=session)

    assert (tuple(p(x) for x in expected[0]), expected[1]) == profile_order(state, m(model))


def test_a_call_carries_the_failure_to_record_and_its_probe_claim() -> None:
    """After a failure, the next call's updates record it, then claim the probe that call makes."""
    ended = HealthState(cooldowns={p(PB): window(K.AUTH, T0 - 1)})
    first = next_attempt(None, AttemptState.start(make_routes(), now=T0, health=ended))
    assert isinstance(first, Call)
    failure = Failure(kind=K.RATE_LIMITED, observed_at=T0 + 1)
    second = next_attempt(failure, first.state)
    assert isinstance(second, Call)

    target_a, target_b = Target(model=m(A), profile=p(PA)), Target(model=m(A), profile=p(PB))
    expected = (
        RecordFailure(failure=failure, target=target_a),
        ClaimProbe(target=target_b, at=T0 + 1),
    )
    assert ((), expected) == (first.updates, second.updates)
    assert second.probe
    assert ended.applied(second.updates, make_routes().policy) == second.state.health


def test_a_give_up_carries_the_failure_to_record() -> None:
    """A failure that ends the request is still recorded in the shared health."""
    call_ = next_attempt(None, AttemptState.start(make_routes(), now=T0))
    assert isinstance(call_, Call)
    failure = Failure(kind=K.INVALID_REQUEST, observed_at=T0 + 1)
    action = next_attempt(failure, call_.state)
    assert isinstance(action, GiveUp)

    expected = (RecordFailure(failure=failure, target=call_.target),)
    assert expected == action.updates


@pytest.mark.parametrize("probe", [False, True], ids=["plain call", "probe"])
def test_running_out_of_the_request_deadline_records_nothing(probe: bool) -> None:
    """A failure the request's own deadline caused gives a probe back and records nothing else."""
    health = HealthState(cooldowns={p(PA): window(K.AUTH, T0 - 1)}) if probe else HealthState()
    call_ = next_attempt(None, AttemptState.start(make_routes(), now=T0, health=health))
    assert isinstance(call_, Call)
    assert probe == call_.probe
    failure = Failure(kind=K.TIMEOUT, observed_at=T0 + 120, code="deadline")
    action = next_attempt(failure, call_.state)

    expected = (ReleaseProbe(target=call_.target),) if probe else ()
    assert expected == action.updates
    assert health == action.state.health
    assert (failure,) == tuple(attrs.evolve(f, model=None, profile=None) for f in action.failures)


@pytest.mark.parametrize("probe", [False, True], ids=["plain call", "probe"])
def test_a_cancelled_call_gives_its_probe_back(probe: bool) -> None:
    """cancelled() finishes the request and gives back a probe the call held, nothing else."""
    health = HealthState(cooldowns={p(PA): window(K.AUTH, T0 - 1)}) if probe else HealthState()
    call_ = next_attempt(None, AttemptState.start(make_routes(), now=T0, health=health))
    assert isinstance(call_, Call)
    cancelled = call_.state.cancelled()

    expected = (ReleaseProbe(target=call_.target),) if probe else ()
    assert (expected, True, False) == (cancelled.updates, cancelled.finished, cancelled.pending)


def test_with_health_empties_the_updates() -> None:
    """A state reading the shared health has no updates left to apply: the health holds them."""
    call_ = next_attempt(None, AttemptState.start(make_routes(), now=T0))
    assert isinstance(call_, Call)
    failed = call_.state.with_failure(Failure(kind=K.SERVER, observed_at=T0 + 1))

    assert (1, ()) == (len(failed.updates), failed.with_health(failed.health).updates)


def test_a_success_carries_its_update() -> None:
    """succeeded() records the success in its updates, and the session remembers the profile."""
    call_ = next_attempt(None, AttemptState.start(make_routes(), now=T0))
    assert isinstance(call_, Call)
    done = call_.state.succeeded(T0 + 1)

    expected = (RecordSuccess(target=call_.target, at=T0 + 1),)
    assert expected == done.updates
    assert {"anthropic": p(PA)} == dict(done.session.last_good)
