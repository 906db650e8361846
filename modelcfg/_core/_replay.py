"""
Replay a scripted sequence of call outcomes through the decision core, offline.

A script is a mapping (parsed from JSON or TOML by the caller)::

    {
      "request": {"hasImages": false, "minContextTokens": 20000,
                  "params": {"temperature": 0.2}, "preset": "fast",
                  "tools": true, "routing": "cost", "promptTokens": 1200,
                  "outputTokens": 400},
      "start": 1700000000,
      "seed": 1,
      "session": {"lastGood": {"anthropic": "anthropic:work"},
                  "select": "anthropic/claude-opus-4-5@anthropic:work", "strict": true,
                  "preset": "precise", "params": {"max_tokens": 900},
                  "routing": "latency"},
      "health": {"cooldowns": {"anthropic:default": {"kind": "rate_limited",
                 "until_at": 1700000020, "last_failure_at": 1700000000}}},
      "events": [
        {"after": 0.5, "fail": "rate_limited", "status": 429, "retryAfter": 10},
        {"fail": "auth", "status": 401, "message": "invalid x-api-key"},
        {"succeed": true, "after": 2}
      ]
    }

Each event is the outcome of the call the core asked for just before it: it is
observed ``after`` seconds (default 0) once that call went out (the decision time
plus the call's delay). ``request``, ``session``, ``health`` (the shared health
at the start, in the form :func:`~modelcfg.dump_state` gives a
:class:`~modelcfg.HealthState`), ``start`` (default 0) and ``seed`` (default 0)
are optional. :func:`replay` returns one :class:`ReplayStep`
per decision; :func:`render_steps` prints them and :func:`steps_to_json` gives
their JSON form. ``docs/explain.md`` documents the format for users.

The request's and the session's ``params`` and ``preset`` are read here but
resolved by the caller: given a *describe* function, :func:`replay` asks it what
each call would send (``modelcfg explain`` passes the config's parameters), and
the steps show it, so a fallback's own parameters are visible per attempt.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Mapping
from typing import Protocol

import attrs

from modelcfg._config._problems import at_path, json_type, key_path
from modelcfg._core._actions import Action, Call, GiveUp
from modelcfg._core._decide import next_attempt
from modelcfg._core._failures import Failure, FailureKind, _time_problem, _valid_time
from modelcfg._core._health import HealthState
from modelcfg._core._policy import RoutingPolicy
from modelcfg._core._reasons import format_clock
from modelcfg._core._redact import redact
from modelcfg._core._routing import Placement, place_candidates, stats_of
from modelcfg._core._state import (
    AttemptState,
    RequestNeeds,
    Routes,
    SessionState,
    candidate_models,
    load_state,
)
from modelcfg._core._values import ModelRef, ProfileId, Selection
from modelcfg.typing import JSON, JSONObject

__all__ = [
    "Described",
    "ReplayEvent",
    "ReplayScript",
    "ReplayStep",
    "parse_script",
    "render_steps",
    "replay",
    "steps_to_json",
]

_SCRIPT_KEYS = ("request", "start", "seed", "session", "health", "events")
_REQUEST_KEYS = (
    "hasImages",
    "minContextTokens",
    "params",
    "preset",
    "routing",
    "tools",
    "streaming",
    "jsonOutput",
    "schemaOutput",
    "reasoning",
    "promptTokens",
    "outputTokens",
    "maxCostUsd",
)
_NEED_FLAGS = (
    ("tools", "tools"),
    ("streaming", "streaming"),
    ("jsonOutput", "json_output"),
    ("schemaOutput", "schema_output"),
    ("reasoning", "reasoning"),
)
_SESSION_KEYS = ("lastGood", "select", "strict", "params", "preset", "routing")
_EVENT_KEYS = ("after", "fail", "status", "retryAfter", "message", "code", "succeed")


@attrs.frozen(kw_only=True)
class ReplayEvent:
    """
    The scripted outcome of one call.

    Attributes:
        after_s: Seconds from the call going out to its outcome.
        fail: How it failed, or ``None`` when it succeeded.
        status: The HTTP status of the failure, if any.
        retry_after_s: The failure's ``Retry-After``, if any.
        message: The provider's message, with credentials redacted.
        code: The provider's error code.
    """

    after_s: float = 0.0
    fail: FailureKind | None = None
    status: int | None = None
    retry_after_s: float | None = None
    # Masked on the way in: explain prints it, and a pasted key must not show.
    message: str = attrs.field(default="", converter=redact)
    code: str | None = None


@attrs.frozen(kw_only=True)
class ReplayStep:
    """
    One decision of a replay.

    Attributes:
        event: The outcome that led to it (``None`` for the first call).
        at: When the outcome was observed (the request's start for the first call).
        action: What the core decided, or ``None`` after a success.
        state: The state after the step.
        params: For a call, what its request would send, when :func:`replay` was
            given a *describe* function.
        order: For the first call, where each candidate stands after the routing
            policy ordered them, and why.
    """

    event: ReplayEvent | None
    at: float
    action: Action | None
    state: AttemptState = attrs.field(repr=False)
    params: Described | None = attrs.field(default=None, eq=False, repr=False)
    order: tuple[Placement, ...] = attrs.field(default=(), eq=False, repr=False)


class Described(Protocol):
    """
    What one call would send, as a *describe* function of :func:`replay` gives it
    (``modelcfg.ParamPlan`` is one).
    """

    def summary(self) -> str: ...

    def to_json(self) -> JSONObject: ...


Describe = Callable[[ModelRef, "ReplayScript"], Described]
"""
What a call to a model would send, given the script (its ``params`` and ``preset``).

It raises ``LookupError`` (an unknown preset) or ``ValueError``.
"""


def _where(path: str, message: str) -> ValueError:
    return ValueError(at_path(path, message))


def _object(value: object, path: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _where(path, f"expected an object, not {type(value).__name__}")
    for key in value:
        if key not in keys:
            hint = difflib.get_close_matches(str(key), keys, n=1)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise _where(key_path(path, key), f"{key!r} is not a known key{more}")
    return value


def _number(value: object, path: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _where(path, f"expected a number, not {json_type(value)}")
    # Compared, not math.isfinite(): a whole number beyond floats must not overflow.
    if not -sys.float_info.max <= value <= sys.float_info.max:
        raise _where(
            path, f"expected a finite number within a float's range, not {json_type(value)}"
        )
    if value < minimum:
        raise _where(path, f"expected a number >= {minimum:g}, not {value!r}")
    return float(value)


def _time(value: object, path: str) -> float:
    number = _number(value, path)
    problem = _time_problem(value, "the start")  # Reports the value as written.
    if problem is not None:
        raise _where(path, problem)
    return number


def _integer(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _where(path, f"expected a whole number, not {value!r}")
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise _where(path, f"expected true or false, not {value!r}")
    return value


def _text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _where(path, f"expected a string, not {value!r}")
    return value


def _kind(value: object, path: str) -> FailureKind:
    names = [k.value for k in FailureKind]
    text = _text(value, path)
    if text not in names:
        hint = difflib.get_close_matches(text, names, n=1, cutoff=0.5)
        more = f" (did you mean {hint[0]!r}?)" if hint else f" (one of {', '.join(names)})"
        raise _where(path, f"{text!r} is not a failure kind{more}")
    return FailureKind(text)


def _event(value: object, path: str) -> ReplayEvent:
    data = _object(value, path, _EVENT_KEYS)
    after = _number(data.get("after", 0), f"{path}.after")
    succeed = _bool(data.get("succeed", False), f"{path}.succeed")
    if succeed == ("fail" in data):
        raise _where(path, "an event needs either 'fail' (a failure kind) or 'succeed': true")
    if succeed:
        extra = [k for k in ("status", "retryAfter", "message", "code") if k in data]
        if extra:
            raise _where(f"{path}.{extra[0]}", "a successful event takes only 'after'")
        return ReplayEvent(after_s=after)
    status = data.get("status")
    retry_after = data.get("retryAfter")
    code = data.get("code")
    return ReplayEvent(
        after_s=after,
        fail=_kind(data["fail"], f"{path}.fail"),
        status=None if status is None else _integer(status, f"{path}.status"),
        retry_after_s=None if retry_after is None else _number(retry_after, f"{path}.retryAfter"),
        message=_text(data.get("message", ""), f"{path}.message"),
        code=None if code is None else _text(code, f"{path}.code"),
    )


Selector = Callable[[str, bool], Selection]
"""
Turns ``session.select`` text and its *strict* flag into a selection.

It raises ``LookupError`` (an unknown model) or ``ValueError`` (bad text).
"""


def _parse_selection(text: str, strict: bool) -> Selection:
    return Selection.parse(text, strict=strict)


def _health(value: object, path: str) -> HealthState:
    if not isinstance(value, Mapping):
        raise _where(path, f"expected an object (a dumped HealthState), not {value!r}")
    health = load_state(value, HealthState, path=path)
    for table in (health.cooldowns, health.model_cooldowns, health.disables):
        for window in table.values():
            for at in (window.until_at, window.last_failure_at):
                problem = _time_problem(at, "a window's times")
                if problem is not None:
                    raise _where(path, problem)
    return health


def _session(value: object, path: str, select: Selector = _parse_selection) -> SessionState:
    data = _object(value, path, _SESSION_KEYS)
    last_good: dict[str, ProfileId] = {}
    raw = data.get("lastGood", {})
    if not isinstance(raw, Mapping):
        raise _where(f"{path}.lastGood", "expected an object mapping providers to profiles")
    for provider, text in raw.items():
        where = key_path(f"{path}.lastGood", provider)
        try:
            profile = ProfileId.parse(_text(text, where))
        except ValueError as error:
            raise _where(where, str(error)) from None
        if profile.provider != provider:
            raise _where(where, f"{profile} does not belong to provider {provider!r}")
        last_good[provider] = profile
    selection = None
    if "select" in data:
        strict = _bool(data.get("strict", False), f"{path}.strict")
        try:
            selection = select(_text(data["select"], f"{path}.select"), strict)
        except (LookupError, ValueError) as error:
            raise _where(f"{path}.select", str(error)) from None
    preset = _text(data["preset"], f"{path}.preset") if "preset" in data else None
    return SessionState(
        last_good=last_good,
        override=selection,
        preset=preset,
        params=_params(data.get("params", {}), f"{path}.params"),
        routing=_routing(data["routing"], f"{path}.routing") if "routing" in data else None,
    )


def _routing(value: object, path: str) -> RoutingPolicy:
    text = _text(value, path)
    try:
        return RoutingPolicy(text)
    except ValueError:
        known = ", ".join(repr(p.value) for p in RoutingPolicy)
        raise _where(path, f"{text!r} is not a routing policy; expected one of {known}") from None


def _params(value: object, path: str) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise _where(path, f"expected an object of parameters, not {json_type(value)}")
    try:
        return dict(load_state({"params": value}, SessionState).params)
    except ValueError as error:  # "$.params.x: ..." -> "$.request.params.x: ..."
        raise ValueError(str(error).replace("$.params", path)) from None


@attrs.frozen(kw_only=True)
class ReplayScript:
    """
    A checked script.

    Attributes:
        needs: What the request needs.
        start: When the request starts, in seconds since the epoch.
        seed: The jitter seed.
        session: The session's memory at the start (its preset and parameters too).
        events: The outcomes of the calls, in order.
        params: The request's own parameters.
        preset: The request's preset, by name.
        routing: The request's routing policy, if it chose one.
    """

    needs: RequestNeeds
    start: float
    seed: int
    session: SessionState
    health: HealthState = attrs.field(factory=HealthState)
    events: tuple[ReplayEvent, ...]
    params: Mapping[str, object] = attrs.field(factory=dict)
    preset: str | None = None
    routing: RoutingPolicy | None = None


def _placements(parsed: ReplayScript, routes: Routes, state: AttemptState) -> tuple[Placement, ...]:
    """
    Where each candidate of the request stands under its routing policy, and why:
    the same inputs the core's order was made from.
    """
    session = parsed.session
    candidates, image_route = candidate_models(routes, parsed.needs, session)
    return place_candidates(
        candidates,
        state.request.routing,
        needs=parsed.needs,
        traits=routes.traits,
        stats=stats_of(parsed.health.model_metrics),
        fixed_lead=session.override is not None and not image_route,
    )


def replay(
    script: Mapping[str, object],
    routes: Routes,
    *,
    select: Selector | None = None,
    describe: Describe | None = None,
) -> tuple[ReplayStep, ...]:
    """
    Run *script* through :func:`~modelcfg.next_attempt` against *routes*.

    Args:
        script: The scripted request and outcomes (see the module docs).
        routes: The chains, profile order, traits and policy to decide with.
        select: Resolves ``session.select``; the default reads only
            ``provider/model[@provider:name]``. ``modelcfg explain`` passes
            :func:`~modelcfg.resolve_model` over the config, so aliases work.
        describe: What a call to a model would send (its parameters); each call's
            step carries it. ``modelcfg explain`` passes the config's parameters.

    Returns:
        One step per decision: the first call, then one per event.

    Raises:
        ValueError: The script is malformed, or has events after the request gave
            up; the message starts with the JSON path.
    """
    parsed = parse_script(script, select=select)
    events = parsed.events
    state = AttemptState.start(
        routes,
        now=parsed.start,
        session=parsed.session,
        health=parsed.health,
        needs=parsed.needs,
        seed=parsed.seed,
        routing=parsed.routing,
    )
    action: Action = next_attempt(None, state)

    def sends(action: Action) -> Described | None:
        if describe is None or not isinstance(action, Call):
            return None
        try:
            return describe(action.target.model, parsed)
        except (LookupError, ValueError) as error:
            where = "$.request" if parsed.preset is not None else "$.session"
            raise _where(f"{where}.preset", str(error)) from None

    steps = [
        ReplayStep(
            event=None,
            at=parsed.start,
            action=action,
            state=action.state,
            params=sends(action),
            order=_placements(parsed, routes, state),
        )
    ]
    for i, event in enumerate(events):
        if not isinstance(action, Call):
            raise _where(f"$.events[{i}]", "the request already gave up at the step before")
        at = action.state.now + action.delay_s + event.after_s
        try:
            _valid_time(at, "the time of this outcome")
        except ValueError as error:
            raise _where(f"$.events[{i}].after", str(error)) from None
        if event.fail is None:
            done = action.state.succeeded(at)
            steps.append(ReplayStep(event=event, at=at, action=None, state=done))
            break
        failure = Failure(
            kind=event.fail,
            observed_at=at,
            status=event.status,
            retry_after_s=event.retry_after_s,
            message=event.message,
            code=event.code,
        )
        action = next_attempt(failure, action.state)
        steps.append(
            ReplayStep(event=event, at=at, action=action, state=action.state, params=sends(action))
        )
    return tuple(steps)


def parse_script(script: Mapping[str, object], *, select: Selector | None = None) -> ReplayScript:
    """
    Check *script* and turn it into a :class:`ReplayScript`.

    Args:
        script: The script (see the module docs).
        select: Resolves ``session.select`` (see :func:`replay`).

    Raises:
        ValueError: The script is malformed; the message starts with the JSON path
            (``$.events[2].fail: 'ratelimit' is not a failure kind (did you mean
            'rate_limited'?)``).
    """
    data = _object(script, "$", _SCRIPT_KEYS)
    request = _object(data.get("request", {}), "$.request", _REQUEST_KEYS)
    min_context = request.get("minContextTokens")
    minimum = None
    if min_context is not None:
        minimum = _integer(min_context, "$.request.minContextTokens")
        if minimum <= 0:
            raise _where(
                "$.request.minContextTokens", f"expected a whole number > 0, not {minimum}"
            )
    flags = {
        field: _bool(request[key], f"$.request.{key}")
        for key, field in _NEED_FLAGS
        if key in request
    }
    sizes = {
        field: _positive_int(request[key], f"$.request.{key}")
        for key, field in (("promptTokens", "prompt_tokens"), ("outputTokens", "output_tokens"))
        if key in request
    }
    max_cost = None
    if "maxCostUsd" in request:
        max_cost = _number(request["maxCostUsd"], "$.request.maxCostUsd")
    needs = RequestNeeds(
        has_images=_bool(request.get("hasImages", False), "$.request.hasImages"),
        min_context_tokens=minimum,
        max_cost_usd=max_cost,
        tools=flags.get("tools", False),
        streaming=flags.get("streaming", False),
        json_output=flags.get("json_output", False),
        schema_output=flags.get("schema_output", False),
        reasoning=flags.get("reasoning", False),
        prompt_tokens=sizes.get("prompt_tokens"),
        output_tokens=sizes.get("output_tokens"),
    )
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        raise _where("$.events", f"expected a list of events, not {type(raw_events).__name__}")
    events = tuple(_event(e, f"$.events[{i}]") for i, e in enumerate(raw_events))
    for i, event in enumerate(events[:-1]):
        if event.fail is None:
            raise _where(f"$.events[{i + 1}]", "the request already succeeded at the event before")
    return ReplayScript(
        needs=needs,
        start=_time(data.get("start", 0), "$.start"),
        seed=_integer(data.get("seed", 0), "$.seed"),
        session=_session(data.get("session", {}), "$.session", select or _parse_selection),
        health=_health(data["health"], "$.health") if "health" in data else HealthState(),
        events=events,
        params=_params(request.get("params", {}), "$.request.params"),
        preset=_text(request["preset"], "$.request.preset") if "preset" in request else None,
        routing=_routing(request["routing"], "$.request.routing") if "routing" in request else None,
    )


def _positive_int(value: object, path: str) -> int:
    number = _integer(value, path)
    if number <= 0:
        raise _where(path, f"expected a whole number > 0, not {number}")
    return number


def _describe_event(event: ReplayEvent | None) -> str:
    if event is None:
        return "start"
    if event.fail is None:
        return "succeeded"
    parts = [event.fail.value]
    if event.status is not None:
        parts.append(f"HTTP {event.status}")
    if event.retry_after_s is not None:
        parts.append(f"retry after {event.retry_after_s:g} s")
    text = parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")
    return text + (f": {event.message}" if event.message else "")


def render_steps(steps: tuple[ReplayStep, ...]) -> str:
    """
    The steps of a replay as readable text, one decision per block.
    """
    lines: list[str] = []
    start = steps[0].at if steps else 0.0
    if steps and steps[0].order and steps[0].state.request.routing is not RoutingPolicy.ORDERED:
        lines.append(f"candidates in {steps[0].state.request.routing.value} order:")
        lines.extend(
            f"   {place}. {p.model} (configured #{p.configured + 1}): {p.why}"
            for place, p in enumerate(steps[0].order, 1)
        )
    for number, step in enumerate(steps):
        clock = f"{format_clock(step.at)} +{step.at - start:.2f} s"
        head = f"{number}. [{clock}] {_describe_event(step.event)}"
        match step.action:
            case Call(target=target, delay_s=delay, reason=reason, skipped=skipped, probe=probe):
                wait = f" after {delay:.2f} s" if delay else ""
                tag = " [probe]" if probe else ""
                lines.append(f"{head} -> call {target}{wait}{tag}")
                lines.append(f"   {reason}")
                if step.params is not None:
                    lines.append(f"   params: {step.params.summary()}")
            case GiveUp(reason=reason, skipped=skipped):
                lines.append(f"{head} -> give up")
                lines.append(f"   {reason}")
            case None:
                current = step.state.current
                lines.append(f"{head} -> done with {current}")
                skipped = ()
            case _:  # pragma: no cover - the union is closed
                raise AssertionError(step.action)
        lines.extend(f"   skipped {skip}" for skip in skipped)
    return "\n".join(lines) + "\n"


def steps_to_json(steps: tuple[ReplayStep, ...]) -> list[JSON]:
    """
    The steps of a replay as JSON values, for ``--json`` output.
    """
    out: list[JSON] = []
    for step in steps:
        item: JSONObject = {"at": step.at, "event": _describe_event(step.event)}
        if step.order:
            item["routing"] = step.state.request.routing.value
            item["order"] = [
                {
                    "model": str(p.model),
                    "configured": p.configured + 1,
                    "key": p.key,
                    "why": p.why,
                }
                for p in step.order
            ]
        action = step.action
        if isinstance(action, Call):
            item["action"] = "call"
            item["target"] = {
                "model": str(action.target.model),
                "profile": str(action.target.profile),
            }
            item["delaySeconds"] = action.delay_s
            item["probe"] = action.probe
            if step.params is not None:
                item["params"] = step.params.to_json()
        elif isinstance(action, GiveUp):
            item["action"] = "give_up"
        else:
            item["action"] = "done"
        if action is not None:
            item["reason"] = {"code": action.reason.code.value, "message": action.reason.message}
            item["skipped"] = [
                {
                    "model": str(s.model),
                    "profile": None if s.profile is None else str(s.profile),
                    "code": s.code.value,
                    "untilAt": s.until_at,
                    "message": s.message,
                }
                for s in action.skipped
            ]
        out.append(item)
    return out
