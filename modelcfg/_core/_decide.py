"""
``next_attempt()``: every retry, rotation and fallback rule lives here, and only here.

The rules come from the policy table (:data:`~modelcfg._core._policy.DEFAULT_RULES`);
the special cases that do not fit a row are below, each commented. The function
is deterministic: time comes from the failure and the state, jitter from the
state's seed and the attempt number.
"""

from __future__ import annotations

from typing import Final

from modelcfg._core._actions import Action, Call, GiveUp
from modelcfg._core._failures import Failure, FailureKind
from modelcfg._core._health import ClaimProbe, HealthState, ProbeClaim
from modelcfg._core._policy import KindRule, Mark
from modelcfg._core._reasons import Reason, ReasonCode, Skip, SkipCode, format_clock
from modelcfg._core._routing import unmet_need
from modelcfg._core._state import AttemptState, _ModelPlan
from modelcfg._core._values import ModelRef, ProfileId, Target
from modelcfg.exceptions import InvalidStateError

__all__ = ["jitter_unit", "next_attempt", "profile_order"]

_MASK64: Final = (1 << 64) - 1


_WORDS: Final = {kind: kind.value.replace("_", " ") for kind in FailureKind}
"""Each failure kind in words, for the reasons' messages."""


def _words(kind: FailureKind) -> str:
    return _WORDS[kind]


def jitter_unit(seed: int, attempt: int) -> float:
    """
    A number in ``[0, 1)`` drawn from *seed* and *attempt* by a fixed integer mix.

    The same inputs always give the same number; different attempts of a request,
    and different seeds, spread out (SplitMix64).
    """
    z = (seed * 0x9E3779B97F4A7C15 + attempt * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def profile_order(state: AttemptState, model: ModelRef) -> tuple[tuple[ProfileId, ...], bool]:
    """
    The profiles to try for *model*, in order, and whether the order is a strict pin.

    A session override for this model comes first (alone when strict); otherwise
    the session's last good profile of the provider, when it is in the provider's
    order, leads the rest of that order.
    """
    targets, pinned = _ordered_targets(state, model, state.request.routes._plan_for(model))
    return tuple(target.profile for target in targets), pinned


def _ordered_targets(
    state: AttemptState, model: ModelRef, plan: _ModelPlan
) -> tuple[tuple[Target, ...], bool]:
    """
    :func:`profile_order` as targets, taken from the routes' precomputed plan of *model*.
    """
    session = state.request.session
    override = session.override
    if override is not None and override.profile is not None and override.model == model:
        if override.strict:
            return (Target(model=model, profile=override.profile),), True
        led = plan.led_by.get(override.profile)
        if led is None:  # A profile outside the provider's order goes before all of it.
            led = (Target(model=model, profile=override.profile), *plan.targets)
        return led, False
    if session.last_good:
        last_good = session.last_good.get(model.provider)
        led = plan.led_by.get(last_good) if last_good is not None else None
        if led is not None:
            return led, False
    return plan.targets, False


def next_attempt(failure: Failure | None, state: AttemptState) -> Action:
    """
    Decide what the shell does next for one request.

    Args:
        failure: How the latest call failed, or ``None`` to ask for the first call.
            Its ``model`` and ``profile``, when left out, are taken from the call.
            ``None`` also decides again after a failure the state has recorded
            already (:meth:`AttemptState.with_failure`), for instance on a fresher
            health: ``next_attempt(failure, state)`` and
            ``next_attempt(None, state.with_failure(failure))`` decide alike.
        state: The request's state: from :meth:`AttemptState.start` for the first
            call, else the ``state`` of the previous action.

    Returns:
        A :class:`Call` (possibly after a delay) or a :class:`GiveUp`; either
        carries the successor state.

    Raises:
        InvalidStateError: The request is finished, a call is outstanding and no
            failure is given, no call is outstanding for a failure, or the failure
            names another target than the call.
    """
    if state.finished:
        raise InvalidStateError(
            "the request is finished: start a new AttemptState for a new request"
        )
    if failure is None:
        if not state.attempts:
            return _move_on(state, None, None)
        recorded = state.history[-1].failure if state.history and not state.pending else None
        if recorded is None:
            raise InvalidStateError(
                "the first call of this request was already decided: pass the failure of "
                "the latest call (or record it with AttemptState.with_failure() first), or "
                "record its success with AttemptState.succeeded()"
            )
        return _after_failure(state, recorded)
    if not state.pending or state.current is None:
        raise InvalidStateError(
            "no call of this request is waiting for its outcome: pass the state of the "
            "latest Call action"
        )
    target = state.current
    if (failure.model is not None and failure.model != target.model) or (
        failure.profile is not None and failure.profile != target.profile
    ):
        raise InvalidStateError(
            f"the failure is for {failure.model} with {failure.profile}, "
            f"but the latest call went to {target}"
        )
    return _after_failure(state.with_failure(failure), failure)


def _after_failure(state: AttemptState, failure: Failure) -> Action:
    """
    Decide what follows *failure*, which *state* has recorded already.
    """
    target = state.current
    assert target is not None  # with_failure() keeps the failed call as current
    routes = state.request.routes
    policy = routes.policy
    kind = failure.kind
    rule = policy.rule_for(kind)

    if rule.gives_up:
        detail = f": {failure.message}" if failure.message else ""
        return _give_up(
            state,
            ReasonCode.NOT_RETRYABLE,
            f"{_words(kind)} from {target.model} is not retried{detail}",
        )
    # Special case: an overflow rules out this model and every model not known to be larger.
    if kind is FailureKind.CONTEXT_OVERFLOW:
        # With this model's window unknown, later candidates stay in play unless they
        # are known to be no larger than a floor already learnt in this request.
        window = routes.traits_for(target.model).context_window
        if window is not None:
            state = state.with_context_floor(max(window, state.context_floor or 0))

    if state.attempts >= policy.max_attempts:
        return _give_up(
            state,
            ReasonCode.ATTEMPTS_EXHAUSTED,
            f"the request made {state.attempts} calls, its limit (max_attempts)",
        )
    # Special case: an overflowed model is never retried, whatever the rule says.
    retryable = kind is not FailureKind.CONTEXT_OVERFLOW
    if retryable and state.target_failures <= min(rule.retries, policy.max_target_retries):
        retry = _retry(state, failure, rule)
        if retry is not None:
            return retry
    return _move_on(state, failure, rule)


def _retry(state: AttemptState, failure: Failure, rule: KindRule) -> Call | None:
    """
    Call the same target again after a backoff, unless it is blocked or the deadline is near.
    """
    target = state.current
    assert target is not None
    now = state.now
    health = state.health
    if health.blocked_until(target, now) is not None or target in state.request.refused:
        return None  # Blocked (a circuit opened, a window started) or refused: move on.
    request = state.request
    if target.profile in request.unavailable:
        return None  # Its credential went missing: it is skipped from now on.
    policy = request.routes.policy
    delay = policy.backoff_s(state.target_failures, jitter_unit(request.seed, state.attempts))
    if rule.honour_retry_after and failure.retry_after_s is not None:
        delay = max(delay, min(failure.retry_after_s, policy.retry_after_cap_s))
    if now + delay > request.deadline_at:
        return None
    message = (
        f"retry {state.target_failures} of {target} after {delay:.2f} s ({_words(failure.kind)})"
    )
    claim, claimed, _blocked = health.claim_probe(target, now + delay, policy)
    code = ReasonCode.RETRY_SAME_TARGET
    return _call(state, target, state.index, code, message, delay, (), (claim, claimed))


def _move_on(state: AttemptState, failure: Failure | None, rule: KindRule | None) -> Action:
    """
    Pick the next usable candidate: another profile, a later model, or wait for one.

    With no failure this is the first call and every candidate is open. After a
    failure the current model's untried profiles come first when the rule
    rotates, then later models when it falls back. Candidates blocked by health
    are skipped (a strict pin is called anyway); when all are blocked, the one
    that reopens first is waited for, if that fits the deadline.

    Each candidate in turn is asked for its half-open probe
    (:meth:`~modelcfg.HealthState.claim_probe`): the first that is not blocked is
    called, and claims its probe if one is due.
    """
    now = state.now
    request = state.request
    routes = request.routes
    policy = routes.policy
    if now >= request.deadline_at:
        return _give_up(state, ReasonCode.DEADLINE_REACHED, "the request's deadline has passed")
    if state.attempts >= policy.max_attempts:
        return _give_up(
            state,
            ReasonCode.ATTEMPTS_EXHAUSTED,
            f"the request made {state.attempts} calls, its limit (max_attempts)",
        )
    first = failure is None
    rotate = first or (rule is not None and rule.rotate_profile)
    fall_back = first or (rule is not None and rule.fall_back)
    needs_min = request.needs.min_context_tokens
    floor = state.context_floor
    skips: list[Skip] = []
    waits: list[tuple[float, int, Target, bool]] = []
    health = state.health
    candidates = request.candidates
    tried = state.tried
    start = 0 if first else state.index
    for index in range(start, len(candidates)):
        model = candidates[index]
        same_model = not first and index == state.index
        if same_model and not rotate:
            continue
        if not same_model and not fall_back:
            break
        plan = routes._plan_for(model)
        window = plan.context_window
        if (needs_min is not None and window is not None and window < needs_min) or (
            floor is not None and (window is None or window <= floor)
        ):
            # Special case: the request needs more context than this model is known to have.
            need = max(needs_min or 0, (floor or 0) + 1)
            known = f"{window} tokens" if window is not None else "unknown"
            skips.append(
                Skip(
                    model=model,
                    code=SkipCode.CONTEXT_TOO_SMALL,
                    detail=f"needs {need} tokens, has {known}",
                )
            )
            continue
        unmet = unmet_need(request.needs, plan.traits)
        if unmet is not None:
            # Special case: the model is known to lack something the request needs.
            skips.append(Skip(model=model, code=unmet[0], detail=unmet[1]))
            continue
        targets, pinned = _ordered_targets(state, model, plan)
        for target in targets:
            if same_model and target.profile in tried:
                continue
            # Special case: a profile without a credential is no provider failure; it is
            # skipped with what to set, never called (not even when pinned) nor waited for.
            missing = request.unavailable.get(target.profile)
            if missing is not None:
                skips.append(
                    Skip(
                        model=model,
                        profile=target.profile,
                        code=SkipCode.NO_CREDENTIAL,
                        detail=missing,
                    )
                )
                continue
            refused = request.refused.get(target)
            if refused is not None:
                # Special case: the shell refused the target before its call (a budget).
                skips.append(
                    Skip(
                        model=model,
                        profile=target.profile,
                        code=SkipCode.OVER_BUDGET,
                        detail=refused,
                    )
                )
                continue
            claim, claimed, blocked = health.claim_probe(target, now, policy)
            if blocked is None or pinned:
                return _chosen(state, failure, target, index, pinned, (claim, claimed), skips)
            skips.append(
                Skip(
                    model=model,
                    profile=target.profile,
                    code=blocked.code,
                    until_at=blocked.until_at,
                    kind=blocked.kind,
                    model_scoped=blocked.model_scoped,
                )
            )
            waits.append((blocked.until_at, index, target, False))
    current = state.current
    if not first and current is not None and rule is not None and (rotate or rule.retries > 0):
        # Profiles that failed on this model may be waited for once their window ends;
        # the target that just failed only while the rule still allows going back to
        # it: a window its failure opened (the provider said when), or retries left.
        budget = min(rule.retries, policy.max_target_retries)
        again = rule.mark is not Mark.NONE or state.target_failures <= budget
        for profile in state.tried:
            target = Target(model=current.model, profile=profile)
            same = target == current
            if (same and not again) or profile in request.unavailable or target in request.refused:
                continue
            blocked = health.blocked_until(target, now)
            if blocked is not None:
                waits.append((blocked.until_at, state.index, target, same))
    return _wait_or_give_up(state, failure, skips, waits)


def _chosen(
    state: AttemptState,
    failure: Failure | None,
    target: Target,
    index: int,
    pinned: bool,
    claim: tuple[ProbeClaim, HealthState],
    skips: list[Skip],
) -> Call:
    """
    Call *target* now, with the reason that names how the request got there.

    *claim* is what :meth:`~modelcfg.HealthState.claim_probe` found for it; a pinned
    target is called even when it is blocked.
    """
    failed = state.current if state.current is not None else target
    blocked = claim[0] is ProbeClaim.BLOCKED
    image_route = state.request.image_route
    if pinned and (failure is None or blocked):
        code = ReasonCode.PINNED_PROFILE
        message = f"{target.profile} is pinned for {target.model} by the session"
        if blocked:
            message += "; it is blocked, but called anyway because the user asked for it"
    elif failure is None:
        code = ReasonCode.IMAGE_ROUTE if image_route else ReasonCode.FIRST_ATTEMPT
        chain = "image chain" if image_route else "chain"
        message = f"first call of the request, to {target} on the {chain}"
    elif index == state.index:
        code = ReasonCode.ROTATE_PROFILE
        message = f"{_words(failure.kind)} with {failed.profile}: next profile {target.profile}"
    elif failure.kind is FailureKind.CONTEXT_OVERFLOW:
        code = ReasonCode.LARGER_CONTEXT
        if state.context_floor is None:
            message = (
                f"the prompt did not fit {failed.model}, whose context window is unknown: "
                f"trying {target.model}, which is not known to be smaller"
            )
        else:
            message = (
                f"the prompt did not fit {failed.model}: {target.model} has a larger context window"
            )
    elif failure.kind is FailureKind.STREAM_INTERRUPTED:
        code = ReasonCode.RESTART_STREAM
        message = f"the stream from {failed.model} was cut: restarting on {target.model}"
    else:
        code = ReasonCode.FALLBACK_MODEL
        message = f"{_words(failure.kind)} on {failed.model}: falling back to {target.model}"
    return _call(state, target, index, code, message, 0.0, tuple(skips), claim)


def _wait_or_give_up(
    state: AttemptState,
    failure: Failure | None,
    skips: list[Skip],
    waits: list[tuple[float, int, Target, bool]],
) -> Action:
    """
    Every candidate is blocked or used up: wait for the first to reopen, or give up.
    """
    now = state.now
    failed = state.current
    request = state.request
    deadline_at = request.deadline_at
    if waits:
        # A candidate that has not failed in this request comes before waiting for one
        # that has, when its reopening fits the deadline: the fallback is not held back
        # behind the primary that just failed.
        failed_here = {r.target for r in state.history if r.failure is not None}
        fresh = [w for w in waits if w[2] not in failed_here and w[0] <= deadline_at]
        until_at, index, target, same = min(fresh or waits, key=lambda w: (w[0], w[1]))
        policy = request.routes.policy
        unit = jitter_unit(request.seed, state.attempts)
        # Jittered past the window's end, so callers waiting for it do not arrive together;
        # the jitter alone never pushes a wait that fits the deadline past it.
        wait = until_at - now
        delay = min(policy.reopening_delay_s(wait, unit), max(wait, deadline_at - now))
        if same:
            # Never a tight loop: going back to the target that just failed backs off too.
            delay = max(delay, policy.backoff_s(state.target_failures, unit))
            if (
                failure is not None
                and failure.retry_after_s is not None
                and policy.rule_for(failure.kind).honour_retry_after
            ):
                # The window ends Retry-After after the failure, but until_at - now can
                # round a hair below it at epoch-sized times: honour it exactly.
                delay = max(delay, min(failure.retry_after_s, policy.retry_after_cap_s))
        if now + delay <= deadline_at:
            reopens = format_clock(now + delay)
            message = f"every candidate is blocked; {target} reopens first, at {reopens}"
            claim, claimed, _blocked = state.health.claim_probe(target, now + delay, policy)
            code = ReasonCode.WAIT_FOR_REOPENING
            skipped = tuple(skips)
            return _call(state, target, index, code, message, delay, skipped, (claim, claimed))
        return _give_up(
            state,
            ReasonCode.DEADLINE_REACHED,
            f"every candidate is blocked and the first to reopen, {target}, reopens at "
            f"{format_clock(now + delay)}, after the request's deadline "
            f"{format_clock(deadline_at)}",
            skips,
        )
    if state.context_floor is not None and failure is not None:
        return _give_up(
            state,
            ReasonCode.NO_LARGER_CONTEXT,
            f"the prompt does not fit {state.context_floor} tokens and no later model of "
            "the chain is known to have a larger context window",
            skips,
        )
    if failure is None:
        message = "no model of the chain can serve this request"
    else:
        where = f" on {failed.model}" if failed is not None else ""
        message = f"{_words(failure.kind)}{where} and no candidate is left to try"
    missing = [s for s in skips if s.code is SkipCode.NO_CREDENTIAL]
    if missing:
        message += f"; {missing[0]}"
    return _give_up(state, ReasonCode.CHAIN_EXHAUSTED, message, skips)


def _call(
    state: AttemptState,
    target: Target,
    index: int,
    code: ReasonCode,
    message: str,
    delay_s: float,
    skips: tuple[Skip, ...],
    claim: tuple[ProbeClaim, HealthState],
) -> Call:
    """
    The call to *target* after *delay_s*.

    *claim* is what :meth:`~modelcfg.HealthState.claim_probe` found for the call at
    the time it goes out: a claimed probe makes it a probe, and its updates say so.
    """
    found, health = claim
    probe = found is ProbeClaim.CLAIMED
    if probe:
        message += " (half-open probe)"
    successor = state.moved_to(
        target,
        index=index,
        reason=code,
        delay_s=delay_s,
        health=health,
        claim=ClaimProbe(target=target, at=state.now + delay_s) if probe else None,
    )
    reason = Reason(code=code, message=message)
    return Call(
        target=target, delay_s=delay_s, reason=reason, skipped=skips, probe=probe, state=successor
    )


def _give_up(
    state: AttemptState, code: ReasonCode, message: str, skips: list[Skip] | tuple[Skip, ...] = ()
) -> GiveUp:
    final = state.gave_up()
    return GiveUp(
        reason=Reason(code=code, message=message),
        failures=final.failures,
        skipped=tuple(skips),
        state=final,
    )


# --- the rotation order --------------------------------------------------------------------------


def rotation_order(
    provider: str,
    *,
    override: tuple[ProfileId, ...] = (),
    configured: tuple[ProfileId, ...] = (),
    declared: tuple[ProfileId, ...] = (),
    stored: tuple[ProfileId, ...] = (),
) -> tuple[ProfileId, ...]:
    """
    The order in which *provider*'s profiles are tried: the one rule.

    The routes (:func:`modelcfg.build_routes`), the credential lookup
    (:func:`modelcfg.auth.effective_order`) and the command line (``modelcfg auth
    order get``, ``modelcfg models list``) all take their order from here. The first
    of these that names a profile of *provider* is the order:

    1. *override*, the auth store's order (``modelcfg auth order set``);
    2. *configured*, the config's ``auth.order[provider]``;
    3. every profile known for the provider: those the config declares under
       ``auth.profiles`` (*declared*, in declaration order), then those in the auth
       store (*stored*), ``default`` first, then by name. So a profile stored with
       ``modelcfg login anthropic --profile work`` is used with no order set;
    4. ``provider:default`` alone, with which the provider's environment key is sent.

    Profiles of other providers are dropped; a repeated profile keeps its first place.
    """
    key = provider.strip().lower()

    def own(profiles: tuple[ProfileId, ...]) -> tuple[ProfileId, ...]:
        return tuple(dict.fromkeys(p for p in profiles if p.provider == key))

    for chosen in (own(override), own(configured)):
        if chosen:
            return chosen
    by_name = tuple(sorted(own(stored), key=lambda p: (p.name != "default", p.name)))
    return own((*declared, *by_name)) or (ProfileId.default_for(key),)
