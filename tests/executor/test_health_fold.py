"""
The executor decides nothing about health: what it leaves in the shared store is
exactly what the core's actions said to apply.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from modelcfg import AttemptsExhaustedError, Failure, FailureKind, ModelRef, ProfileId
from modelcfg._core._actions import Action, Call
from modelcfg._core._decide import next_attempt
from modelcfg._core._health import Circuit, HealthState, Window
from modelcfg._core._state import AttemptState
from modelcfg._executor import _executor
from modelcfg.stores import MemoryStateStore
from tests.executor.test_executor import (
    HELLO,
    T0,
    Provider,
    Reply,
    _anthropic_ok,
    anthropic_error,
    client_for,
    executor,
    openai_ok,
)


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


REPLIES: dict[str, Reply] = {
    "ok": lambda r: httpx.Response(200, json=_anthropic_ok(r)),
    "rate limited": anthropic_error(429, "rate_limit_error", "slow down"),
    "rate limited, retry in 5 s": anthropic_error(
        429, "rate_limit_error", "slow down", **{"retry-after": "5"}
    ),
    "server error": anthropic_error(500, "api_error", "boom"),
    "overloaded": anthropic_error(529, "overloaded_error", "busy"),
    "auth": anthropic_error(401, "authentication_error", "expired"),
    "billing": anthropic_error(402, "billing_error", "no credit"),
    "invalid": anthropic_error(400, "invalid_request_error", "bad field"),
    "refused": refused,
}
OPENAI_REPLIES: dict[str, Reply] = {
    "ok": openai_ok(),
    "server error": lambda _r: httpx.Response(500, json={"error": {"message": "boom"}}),
    "rate limited": lambda _r: httpx.Response(429, json={"error": {"message": "slow"}}),
    "refused": refused,
}

SUB = ProfileId.parse("anthropic:sub")
OPUS = ModelRef.parse("anthropic/claude-opus-4-5")
STARTS: dict[str, HealthState] = {
    "healthy": HealthState(),
    "sub cooling down": HealthState(
        cooldowns={SUB: Window(kind=FailureKind.RATE_LIMITED, until_at=T0 + 20, last_failure_at=T0)}
    ),
    "sub half-open": HealthState(
        cooldowns={SUB: Window(kind=FailureKind.AUTH, until_at=T0 - 1, last_failure_at=T0 - 301)}
    ),
    "opus circuit half-open": HealthState(
        circuits={OPUS: Circuit(outcomes=((T0 - 40, False),), open_until_at=T0 - 10)}
    ),
}


def scripts(replies: dict[str, Reply]) -> hst.SearchStrategy[list[str]]:
    return hst.lists(hst.sampled_from(sorted(replies)), min_size=1, max_size=4)


def recorder() -> tuple[list[Action], Callable[[Failure | None, AttemptState], Action]]:
    """The real next_attempt(), keeping every action it returns in the list."""
    actions: list[Action] = []

    def recording(failure: Failure | None, state: AttemptState) -> Action:
        action = next_attempt(failure, state)
        actions.append(action)
        return action

    return actions, recording


def fold(start: HealthState, actions: list[Action], final: AttemptState) -> HealthState:
    """*start* after every action's updates, then the final state's (a success's)."""
    policy = final.routes.policy
    health = start
    for action in actions:
        health = health.applied(action.updates, policy)
    if final.finished and final.history and final.history[-1].failure is None:
        health = health.applied(final.updates, policy)
    return health


@given(
    sub=scripts(REPLIES),
    paid=scripts(REPLIES),
    fallback=scripts(OPENAI_REPLIES),
    start=hst.sampled_from(sorted(STARTS)),
)
@settings(max_examples=60)
def test_the_store_holds_the_fold_of_the_actions_updates(
    sub: list[str], paid: list[str], fallback: list[str], start: str
) -> None:
    """For any scripted request, the shared health after it is the start folded with the actions' updates."""
    provider = Provider(
        key_sub=[REPLIES[r] for r in sub],
        key_paid=[REPLIES[r] for r in paid],
        canary=[OPENAI_REPLIES[r] for r in fallback],
    )
    actions, recording = recorder()

    async def request() -> tuple[HealthState, AttemptState]:
        store = MemoryStateStore()
        await store.update_health(lambda _h: STARTS[start])
        async with client_for(provider) as client:
            ex, _ = executor(client, store=store)
            try:
                final = (await ex.complete(HELLO)).state
            except AttemptsExhaustedError as error:
                final = error.state
        return await store.load_health(), final

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_executor, "next_attempt", recording)
        stored, final = anyio.run(request)

    assert actions
    # The metrics are measurements merged beside the actions' updates, not decided by them.
    assert fold(STARTS[start], actions, final) == attrs.evolve(
        stored, model_metrics={}, profile_metrics={}
    )


def test_the_fold_sees_a_half_open_probe_claimed_and_reopened() -> None:
    """A probe that fails is claimed and reopened in the store, as the actions said."""
    provider = Provider(key_sub=[REPLIES["auth"]], key_paid=[REPLIES["ok"]])
    actions, recording = recorder()

    async def request() -> HealthState:
        store = MemoryStateStore()
        await store.update_health(lambda _h: STARTS["sub half-open"])
        async with client_for(provider) as client:
            ex, _ = executor(client, store=store)
            await ex.complete(HELLO)
        return await store.load_health()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_executor, "next_attempt", recording)
        stored = anyio.run(request)

    first = actions[0]
    assert isinstance(first, Call)
    assert first.probe
    window = stored.cooldowns[SUB]
    assert (FailureKind.AUTH, 2, None) == (window.kind, window.strikes, window.probe_until_at)
