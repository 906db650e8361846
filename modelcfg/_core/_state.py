"""
The inputs of a decision and the state that carries one request from call to call.

:class:`Routes` is what the host builds once from its config and catalog (chains,
profile order, model traits, policy). :class:`SessionState` is what a chat
session remembers. :class:`Request` is what one request fixes at its start, and
:class:`AttemptState` holds it by reference with the request's progress, so a
transition copies only the progress; every :class:`~modelcfg.Call` and
:class:`~modelcfg.GiveUp` carries its successor. All of them round-trip through
:func:`dump_state` / :func:`load_state` (JSON).
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

import attrs

from modelcfg._core._failures import DEADLINE_CODE, Failure, _valid_time
from modelcfg._core._health import (
    ClaimProbe,
    HealthState,
    HealthUpdate,
    RecordFailure,
    RecordSuccess,
    ReleaseProbe,
)
from modelcfg._core._policy import Policy, RoutingPolicy
from modelcfg._core._reasons import ReasonCode
from modelcfg._core._values import FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg.exceptions import InvalidStateError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "AttemptRecord",
    "AttemptState",
    "ModelTraits",
    "Request",
    "RequestNeeds",
    "Routes",
    "SessionState",
    "candidate_models",
    "dump_state",
    "load_state",
    "state_converter",
    "uses_image_chain",
]


def _optional_positive(
    _instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
        raise ValueError(f"{attribute.name} must be a whole number > 0 or None, not {value!r}")


def _optional_price(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and (
        not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 1e12
    ):
        raise ValueError(f"{attribute.name} must be a number >= 0 or None, not {value!r}")


@attrs.frozen(kw_only=True)
class ModelTraits:
    """
    What routing needs to know about a model; unknown means text-only, unknown size.

    Attributes:
        context_window: The context window in tokens, if known.
        image_input: Whether the model accepts images (``False`` when unknown).
        max_output_tokens: The longest answer in tokens, if known.
        tools: Whether the model can call tools; ``None`` when unknown (then it is tried).
        streaming: Whether the model can stream; ``None`` when unknown.
        pdf_input: Whether the model reads PDF documents; ``None`` when unknown.
        audio_input: Whether the model hears audio; ``None`` when unknown.
        json_output: Whether the model can be held to JSON output; ``None`` when unknown.
        schema_output: Whether the model can be held to a JSON schema; ``None`` when unknown.
        reasoning: Whether the model reasons before answering; ``None`` when unknown.
        input_modalities_known: Whether ``image_input`` is a fact rather than the
            text-only default: only then does a request with images skip a model
            that does not take them.
        input_price: USD per million prompt tokens, if known.
        output_price: USD per million output tokens, if known.
        lacking: Needs the model turned down at run time (a provider's "not
            supported" answer), by name (``tools``, ``json_output``, ...).
    """

    context_window: int | None = attrs.field(default=None, validator=_optional_positive)
    image_input: bool = False
    max_output_tokens: int | None = attrs.field(default=None, validator=_optional_positive)
    tools: bool | None = None
    streaming: bool | None = None
    pdf_input: bool | None = None
    audio_input: bool | None = None
    json_output: bool | None = None
    schema_output: bool | None = None
    reasoning: bool | None = None
    input_modalities_known: bool = False
    input_price: float | None = attrs.field(default=None, validator=_optional_price)
    output_price: float | None = attrs.field(default=None, validator=_optional_price)
    lacking: tuple[str, ...] = ()


_UNKNOWN_TRAITS = ModelTraits()


def _check_auth_order(
    _instance: object,
    _attribute: attrs.Attribute[Mapping[str, tuple[ProfileId, ...]]],
    value: Mapping[str, tuple[ProfileId, ...]],
) -> None:
    for provider, order in value.items():
        if not order:
            raise ValueError(f"auth_order[{provider!r}] is empty: list at least one profile")
        if len(set(order)) != len(order):
            raise ValueError(f"auth_order[{provider!r}] names a profile twice")
        for profile in order:
            if profile.provider != provider:
                raise ValueError(
                    f"auth_order[{provider!r}] lists {profile}, which belongs to provider "
                    f"{profile.provider!r}"
                )


def _orders(value: Mapping[str, Iterable[ProfileId]]) -> dict[str, tuple[ProfileId, ...]]:
    return {provider: tuple(order) for provider, order in value.items()}


@attrs.frozen(kw_only=True)
class _ModelPlan:
    """
    What decisions look up about one model, worked out once per :class:`Routes`.

    Attributes:
        targets: The model with each profile of its provider's rotation order, in order.
        led_by: For each profile of that order, the same targets with that profile first
            and the others in order.
        context_window: The model's known context window, if known.
        traits: What is known of the model.
    """

    targets: tuple[Target, ...]
    led_by: Mapping[ProfileId, tuple[Target, ...]]
    context_window: int | None
    traits: ModelTraits = _UNKNOWN_TRAITS

    @classmethod
    def build(
        cls, model: ModelRef, order: tuple[ProfileId, ...], traits: ModelTraits
    ) -> _ModelPlan:
        """
        The plan of *model*, whose provider rotates through *order*.
        """
        targets = tuple(Target(model=model, profile=profile) for profile in order)
        led_by = {lead.profile: (lead, *(t for t in targets if t != lead)) for lead in targets}
        return cls(
            targets=targets, led_by=led_by, context_window=traits.context_window, traits=traits
        )


@attrs.frozen(kw_only=True)
class Routes:
    """
    Everything a decision reads that comes from configuration, built once by the host.

    Attributes:
        chain: The global fallback chain (``agent.model``).
        image_chain: The image chain (``agent.imageModel``), only when configured.
        auth_order: Each provider's profiles in rotation order; a provider left out
            uses ``provider:default`` (environment credentials).
        traits: What is known of each model; a model left out is text-only with an
            unknown context window.
        policy: The rules and knobs.
        routing: How the candidates a request can use are ordered
            (``agent.routing.policy``); a request or a session may choose another.
    """

    chain: FallbackChain
    image_chain: FallbackChain | None = None
    auth_order: Mapping[str, tuple[ProfileId, ...]] = attrs.field(
        factory=dict, converter=_orders, validator=_check_auth_order
    )
    traits: Mapping[ModelRef, ModelTraits] = attrs.field(factory=dict)
    policy: Policy = attrs.field(factory=Policy)
    routing: RoutingPolicy = RoutingPolicy.ORDERED
    # Derived from the fields above, so left out of eq, repr and serialisation.
    _plans: Mapping[ModelRef, _ModelPlan] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # next_attempt() needs each candidate's targets in rotation order and its context
        # window on every decision; working them out once here, for every model the
        # routes name, saves rebuilding the same Targets and lookups per decision.
        models = (
            *self.chain.models,
            *(self.image_chain.models if self.image_chain is not None else ()),
            *self.traits,
        )
        plans = {model: self._build_plan(model) for model in models}
        object.__setattr__(self, "_plans", plans)

    def _plan_for(self, model: ModelRef) -> _ModelPlan:
        """
        The precomputed targets and context window of *model* (built on the spot for a
        model the routes do not name, such as a session's own choice).
        """
        plan = self._plans.get(model)
        return plan if plan is not None else self._build_plan(model)

    def _build_plan(self, model: ModelRef) -> _ModelPlan:
        return _ModelPlan.build(model, self.profiles_for(model.provider), self.traits_for(model))

    def profiles_for(self, provider: str) -> tuple[ProfileId, ...]:
        """
        The rotation order of *provider*: its ``auth_order`` or ``(provider:default,)``.
        """
        order = self.auth_order.get(provider)
        return order if order is not None else (ProfileId.default_for(provider),)

    def traits_for(self, model: ModelRef) -> ModelTraits:
        """
        What is known of *model*; unknown models are text-only with unknown context.
        """
        return self.traits.get(model, _UNKNOWN_TRAITS)


@attrs.frozen(kw_only=True)
class RequestNeeds:
    """
    What one request needs from a model, checked before any call.

    A model known to lack a need is skipped with the need named in the skip; a
    model whose capability is unknown is tried. :func:`modelcfg.needs_of` infers
    the needs a :class:`~modelcfg.ChatRequest` shows.

    Attributes:
        has_images: The request carries images.
        min_context_tokens: The prompt's size estimate plus the room asked for the
            answer; models known to be smaller are skipped before any call.
        tools: The request offers tools.
        streaming: The answer is streamed.
        pdf_input: The request carries PDF documents.
        audio_input: The request carries audio.
        json_output: The answer must be JSON.
        schema_output: The answer must follow a JSON schema.
        reasoning: The request asks for reasoning (thinking).
        prompt_tokens: The prompt's estimated size in tokens, for the cost estimate.
        output_tokens: The answer's expected size in tokens (``max_tokens``), for
            the cost estimate.
        max_cost_usd: The most the request may cost, in USD: a model whose
            estimated cost is higher is skipped (unknown prices are tried).
    """

    has_images: bool = False
    min_context_tokens: int | None = attrs.field(default=None, validator=_optional_positive)
    tools: bool = False
    streaming: bool = False
    pdf_input: bool = False
    audio_input: bool = False
    json_output: bool = False
    schema_output: bool = False
    reasoning: bool = False
    prompt_tokens: int | None = attrs.field(default=None, validator=_optional_positive)
    output_tokens: int | None = attrs.field(default=None, validator=_optional_positive)
    max_cost_usd: float | None = attrs.field(default=None, validator=_optional_price)


def uses_image_chain(routes: Routes, needs: RequestNeeds, current: ModelRef | None = None) -> bool:
    """
    Whether a request goes to the image chain rather than the text chain.

    Only when it carries images, an image chain is configured, and the current
    text model (*current*, else the chain's primary) is not known to take images.
    """
    if not needs.has_images or routes.image_chain is None:
        return False
    model = current if current is not None else routes.chain.primary
    return not routes.traits_for(model).image_input


@attrs.frozen(kw_only=True)
class SessionState:
    """
    What one session remembers between requests.

    Attributes:
        last_good: Per provider, the profile of the last success; kept when the
            session switches models.
        override: The session's explicit selection (``/model X@provider:name``):
            its model goes first; with ``strict`` its profile is the only one used
            for that model, otherwise it is tried first.
        preset: The preset the session chose (``/model +deep``), by name; a
            request's own preset wins over it.
        params: Request parameters the session set: the session layer, over the
            preset's and under the request's (``None`` removes an inherited one).
        routing: The routing policy the session chose with its ``/model`` selection,
            over the configured one and under a request's own.
    """

    last_good: Mapping[str, ProfileId] = attrs.field(factory=dict)
    override: Selection | None = None
    preset: str | None = None
    params: Mapping[str, object] = attrs.field(factory=dict)
    routing: RoutingPolicy | None = None

    def with_routing(self, routing: RoutingPolicy | None) -> SessionState:
        """
        The session after the user chose *routing* (``None`` goes back to the configured one).
        """
        return attrs.evolve(self, routing=routing)

    def with_preset(self, preset: str | None) -> SessionState:
        """
        The session after the user chose *preset* (``None`` clears it).
        """
        return attrs.evolve(self, preset=preset)

    def with_params(self, params: Mapping[str, object]) -> SessionState:
        """
        The session with *params* as its parameters (they replace the ones it had).
        """
        return attrs.evolve(self, params=dict(params))

    def with_selection(
        self, selection: Selection | None, *, default: ModelRef | None = None
    ) -> SessionState:
        """
        The session after the user chose *selection* (``None`` clears the choice).

        Choosing *default* (the chain's primary) without a profile clears the choice
        too: the session goes back to the chain rather than pinning its first model.
        """
        if selection is not None and selection.profile is None and selection.model == default:
            selection = None
        return attrs.evolve(self, override=selection)

    def with_success(self, target: Target) -> SessionState:
        """
        The session after a success with *target*: its profile is the provider's last good.
        """
        provider = target.profile.provider
        if self.last_good.get(provider) == target.profile:
            return self
        return attrs.evolve(self, last_good={**self.last_good, provider: target.profile})


def candidate_models(
    routes: Routes, needs: RequestNeeds, session: SessionState
) -> tuple[tuple[ModelRef, ...], bool]:
    """
    The models a request may use, in order, and whether they are the image chain.

    The session's selected model leads the text chain; the rest of the chain
    follows in order.
    """
    selected = session.override.model if session.override is not None else None
    if routes.image_chain is not None and uses_image_chain(routes, needs, selected):
        return routes.image_chain.models, True
    models = routes.chain.models
    if selected is not None and selected != models[0]:
        models = (selected, *(m for m in models if m != selected))
    return models, False


@attrs.frozen(kw_only=True)
class AttemptRecord:
    """
    One finished call of a request: a plain fact for hosts and error reports.

    Attributes:
        number: The call's number in its request, from 1.
        target: Where it went.
        reason: Why the core chose it.
        delay_s: How long the shell waited before it.
        failure: How it failed (as reported: ``model``/``profile`` may be unset, the
            target says where), or ``None`` when it succeeded.
        ended_at: When its outcome was seen.
    """

    number: int
    target: Target
    reason: ReasonCode
    delay_s: float
    failure: Failure | None
    ended_at: float


@attrs.frozen(kw_only=True)
class Request:
    """
    What one request fixes at its start; every state of the request holds it by reference.

    Attributes:
        routes: The chains, profile order, traits and policy.
        session: The session's memory as the request started.
        needs: What the request needs.
        seed: The seed of the backoff jitter.
        started_at: When the request started.
        deadline_at: When its overall deadline ends (``deadline_s`` after the start).
        candidates: The models of the request, in order (text or image chain).
        image_route: Whether the candidates are the image chain.
        unavailable: Profiles the host found without a usable credential during the
            request, each with what to set; they are skipped, never called or cooled.
        refused: Targets the shell refused before a call (a budget would be
            crossed), with why; they stay out for the rest of the request.
        routing: The routing policy that ordered the candidates.
    """

    routes: Routes
    session: SessionState
    needs: RequestNeeds
    seed: int
    started_at: float
    deadline_at: float
    candidates: tuple[ModelRef, ...]
    image_route: bool = False
    unavailable: Mapping[ProfileId, str] = attrs.field(factory=dict)
    refused: Mapping[Target, str] = attrs.field(factory=dict)
    routing: RoutingPolicy = RoutingPolicy.ORDERED

    @property
    def policy(self) -> Policy:
        """
        The rules and knobs (the routes' policy).
        """
        return self.routes.policy


@attrs.frozen(kw_only=True)
class AttemptState:
    """
    One request in flight: its fixed inputs, what happened so far, and where it stands.

    Build it with :meth:`start`; afterwards only the core's actions and the
    ``with_*()`` transitions make new ones. The request's inputs (routes, session,
    needs, seed, start, candidates) are read through properties of the same names.

    Attributes:
        request: What the request fixed at its start, shared by all its states.
        health: The health snapshot decisions read (refresh with :meth:`with_health`).
        now: The time of the latest decision.
        index: The position in ``candidates`` of the current model; it only grows.
        current: The target of the latest call.
        current_reason: Why the latest call was made.
        current_delay_s: The delay before the latest call.
        current_probe: Whether the latest call is a half-open probe.
        pending: Whether the latest call's outcome is still to be reported.
        tried: Profiles that already failed on the current model in this request.
        target_failures: Failures in a row of the current target.
        context_floor: After a context overflow, the window candidates must exceed.
        attempts: Calls made so far.
        history: Every finished call, in order.
        finished: Whether the request succeeded or gave up.
        updates: What the latest outcome and decision changed in the health snapshot,
            for the shared health to apply (see :meth:`HealthState.applied`):
            the outcome recorded (or a probe given back), and the probe the call
            claims. :meth:`with_health` empties it.
    """

    request: Request
    health: HealthState
    now: float
    index: int = 0
    current: Target | None = None
    current_reason: ReasonCode | None = None
    current_delay_s: float = 0.0
    current_probe: bool = False
    pending: bool = False
    tried: tuple[ProfileId, ...] = ()
    target_failures: int = 0
    context_floor: int | None = None
    attempts: int = 0
    history: tuple[AttemptRecord, ...] = ()
    finished: bool = False
    updates: tuple[HealthUpdate, ...] = ()

    @classmethod
    def start(
        cls,
        routes: Routes,
        *,
        now: float,
        session: SessionState | None = None,
        health: HealthState | None = None,
        needs: RequestNeeds | None = None,
        seed: int = 0,
        deadline_s: float | None = None,
        routing: RoutingPolicy | None = None,
    ) -> AttemptState:
        """
        The state of a new request, before its first decision.

        Args:
            routes: The chains, profile order, traits and policy.
            now: The request's start, in seconds since the epoch.
            session: The session's memory; a fresh session when ``None``.
            health: The shared health snapshot; all healthy when ``None``.
            needs: What the request needs; plain text when ``None``.
            seed: The seed of the backoff jitter (vary it per request).
            deadline_s: How long this request may take, instead of the policy's
                ``deadline_s``: no call, retry or wait goes past it.
            routing: How to order the candidates, over the session's choice and the
                routes' ``routing``. It never moves the session's explicit ``/model``
                selection from the lead.

        Raises:
            ValueError: *now* is not finite or falls outside the years 1 to 9999
                (milliseconds, most often).
        """
        _valid_time(now, "now, the request's start,")
        if deadline_s is not None and not (
            isinstance(deadline_s, int | float) and math.isfinite(deadline_s) and deadline_s > 0
        ):
            raise ValueError(f"deadline_s must be a finite number > 0, not {deadline_s!r}")
        session = session if session is not None else SessionState()
        needs = needs if needs is not None else RequestNeeds()
        candidates, image_route = candidate_models(routes, needs, session)
        health = health if health is not None else HealthState()
        if routing is None:
            routing = session.routing if session.routing is not None else routes.routing
        if routing is not RoutingPolicy.ORDERED:
            # Imported here: the policies read this module's types.
            from modelcfg._core._routing import routed

            candidates = routed(
                candidates,
                routing,
                needs=needs,
                traits=routes.traits,
                metrics=health.model_metrics,
                fixed_lead=session.override is not None and not image_route,
            )
        request = Request(
            routes=routes,
            session=session,
            needs=needs,
            seed=seed,
            started_at=now,
            deadline_at=now + (routes.policy.deadline_s if deadline_s is None else deadline_s),
            candidates=candidates,
            image_route=image_route,
            routing=routing,
        )
        return cls(request=request, health=health, now=now)

    # -- the request's inputs --------------------------------------------------------

    @property
    def routes(self) -> Routes:
        """
        The chains, profile order, traits and policy.
        """
        return self.request.routes

    @property
    def needs(self) -> RequestNeeds:
        """
        What the request needs.
        """
        return self.request.needs

    @property
    def seed(self) -> int:
        """
        The seed of the backoff jitter.
        """
        return self.request.seed

    @property
    def started_at(self) -> float:
        """
        When the request started.
        """
        return self.request.started_at

    @property
    def candidates(self) -> tuple[ModelRef, ...]:
        """
        The models of the request, in order (text or image chain).
        """
        return self.request.candidates

    @property
    def image_route(self) -> bool:
        """
        Whether the candidates are the image chain.
        """
        return self.request.image_route

    @property
    def deadline_at(self) -> float:
        """
        When the request's overall deadline ends.
        """
        return self.request.deadline_at

    @property
    def session(self) -> SessionState:
        """
        The session's memory: as the request started, and once the request succeeded,
        with the profile that answered as its provider's last good one.
        """
        session = self.request.session
        if self.finished and self.history and self.history[-1].failure is None:
            return session.with_success(self.history[-1].target)
        return session

    @property
    def failures(self) -> tuple[Failure, ...]:
        """
        Every failure of the request so far, in order, each with its model and profile.
        """
        return tuple(
            r.failure
            if r.failure.model is not None and r.failure.profile is not None
            else attrs.evolve(
                r.failure,
                model=r.failure.model or r.target.model,
                profile=r.failure.profile or r.target.profile,
            )
            for r in self.history
            if r.failure is not None
        )

    # -- transitions -----------------------------------------------------------------

    def with_health(self, health: HealthState, *, now: float | None = None) -> AttemptState:
        """
        The state reading *health*, a fresher snapshot of the shared health, and with
        the clock at *now* when given (time never runs backwards here).

        The snapshot holds every update applied so far, so :attr:`updates` is emptied.
        """
        return AttemptState(
            request=self.request,
            health=health,
            now=self.now if now is None or now <= self.now else now,
            index=self.index,
            current=self.current,
            current_reason=self.current_reason,
            current_delay_s=self.current_delay_s,
            current_probe=self.current_probe,
            pending=self.pending,
            tried=self.tried,
            target_failures=self.target_failures,
            context_floor=self.context_floor,
            attempts=self.attempts,
            history=self.history,
            finished=self.finished,
            updates=(),
        )

    def with_refused(self, target: Target, why: str) -> AttemptState:
        """
        The state in which *target* may not be called for the rest of the request
        (the shell refused it before its call: *why*, a budget, is the skip's detail).

        Decide again from the state before the refused call was decided.
        """
        request = attrs.evolve(self.request, refused={**self.request.refused, target: why})
        return attrs.evolve(self, request=request)

    def with_now(self, now: float) -> AttemptState:
        """
        The state with the clock at *now*; time never runs backwards here.
        """
        if now <= self.now:
            return self
        return AttemptState(
            request=self.request,
            health=self.health,
            now=now,
            index=self.index,
            current=self.current,
            current_reason=self.current_reason,
            current_delay_s=self.current_delay_s,
            current_probe=self.current_probe,
            pending=self.pending,
            tried=self.tried,
            target_failures=self.target_failures,
            context_floor=self.context_floor,
            attempts=self.attempts,
            history=self.history,
            finished=self.finished,
            updates=self.updates,
        )

    def moved_to(
        self,
        target: Target,
        *,
        index: int,
        reason: ReasonCode,
        delay_s: float,
        health: HealthState,
        claim: ClaimProbe | None = None,
    ) -> AttemptState:
        """
        The state once a call to *target* (the model at *index*) was decided.

        With *claim*, the call is a half-open probe: *health* is the snapshot holding
        its lease, and the claim joins :attr:`updates`.
        """
        same_model = index == self.index and self.attempts > 0
        same_target = target == self.current
        return AttemptState(
            request=self.request,
            health=health,
            now=self.now,
            index=index,
            current=target,
            current_reason=reason,
            current_delay_s=delay_s,
            current_probe=claim is not None,
            pending=True,
            tried=self.tried if same_model else (),
            target_failures=self.target_failures if same_target else 0,
            context_floor=self.context_floor,
            attempts=self.attempts + 1,
            history=self.history,
            updates=self.updates if claim is None else (*self.updates, claim),
        )

    def with_failure(self, failure: Failure) -> AttemptState:
        """
        The state once the latest call failed with *failure*.

        The failure goes into the history and the health snapshot. One that the
        request's own deadline caused (code ``deadline``) says nothing about the
        target: the health records nothing, and a probe the call held is given back.

        Raises:
            InvalidStateError: No call is waiting for its outcome.
        """
        target = self._pending_target("a failure")
        health = self.health
        updates: tuple[HealthUpdate, ...] = ()
        if failure.code != DEADLINE_CODE:
            health = health.with_failure(failure, self.request.routes.policy, target=target)
            updates = (RecordFailure(failure=failure, target=target),)
        elif self.current_probe:
            health = health.with_probe_released(target)
            updates = (ReleaseProbe(target=target),)
        record = AttemptRecord(
            number=self.attempts,
            target=target,
            reason=self.current_reason or ReasonCode.FIRST_ATTEMPT,
            delay_s=self.current_delay_s,
            failure=failure,
            ended_at=failure.observed_at,
        )
        tried = self.tried if target.profile in self.tried else (*self.tried, target.profile)
        return AttemptState(
            request=self.request,
            health=health,
            now=max(self.now, failure.observed_at),
            index=self.index,
            current=target,
            current_reason=self.current_reason,
            current_delay_s=self.current_delay_s,
            tried=tried,
            target_failures=self.target_failures + 1,
            context_floor=self.context_floor,
            attempts=self.attempts,
            history=(*self.history, record),
            updates=updates,
        )

    def succeeded(self, at: float) -> AttemptState:
        """
        The finished state once the latest call succeeded at *at*.

        The session remembers the profile as its provider's last good one, and the
        health closes the target's cooldowns and circuit.

        Raises:
            InvalidStateError: No call is waiting for its outcome.
            ValueError: *at* is not finite or falls outside the years 1 to 9999
                (milliseconds, most often).
        """
        _valid_time(at, "the time of the success")
        target = self._pending_target("a success")
        record = AttemptRecord(
            number=self.attempts,
            target=target,
            reason=self.current_reason or ReasonCode.FIRST_ATTEMPT,
            delay_s=self.current_delay_s,
            failure=None,
            ended_at=at,
        )
        return AttemptState(
            request=self.request,
            health=self.health.with_success(target, at),
            now=max(self.now, at),
            index=self.index,
            current=self.current,
            current_reason=self.current_reason,
            current_delay_s=self.current_delay_s,
            current_probe=self.current_probe,
            pending=False,
            tried=self.tried,
            target_failures=self.target_failures,
            context_floor=self.context_floor,
            attempts=self.attempts,
            history=(*self.history, record),
            finished=True,
            updates=(RecordSuccess(target=target, at=at),),
        )

    def gave_up(self) -> AttemptState:
        """
        The finished state of a request that gave up.
        """
        return attrs.evolve(self, pending=False, finished=True)

    def cancelled(self) -> AttemptState:
        """
        The finished state of a request cancelled while its latest call was out.

        The call has no outcome to record, but a half-open probe it held is given
        back (see :attr:`updates`), so the next caller need not wait its lease out.
        """
        target = self.current
        updates = (ReleaseProbe(target=target),) if self.current_probe and target else ()
        return attrs.evolve(self, pending=False, finished=True, updates=updates)

    def without_profile(self, profile: ProfileId, why: str) -> AttemptState:
        """
        The state once the host found *profile* without a usable credential (*why* says
        what to set): later decisions of the request skip it, with no attempt and no mark.
        """
        unavailable = {**self.request.unavailable, profile: why}
        return attrs.evolve(self, request=attrs.evolve(self.request, unavailable=unavailable))

    def with_context_floor(self, floor: int) -> AttemptState:
        """
        The state once a context overflow ruled out every model not known to exceed *floor*.
        """
        return attrs.evolve(self, context_floor=floor)

    def _pending_target(self, what: str) -> Target:
        if self.finished:
            raise InvalidStateError(f"the request is finished, so {what} cannot be recorded")
        if not self.pending or self.current is None:
            raise InvalidStateError(
                f"no call is waiting for its outcome, so {what} cannot be recorded: "
                "ask next_attempt() for a call first"
            )
        return self.current


# -- serialisation ---------------------------------------------------------------------

_T = TypeVar("_T")


@functools.lru_cache(maxsize=1)
def state_converter() -> cattrs.Converter:
    """
    The converter that turns routes, health, session and attempt state into JSON values.

    Model references, profiles and targets become their text forms, also as
    mapping keys, so the result is plain JSON.
    """
    # Imported here, on first use, so that deciding never pays for cattrs.
    import cattrs
    from cattrs.strategies import configure_tagged_union

    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(ModelRef, str)
    converter.register_structure_hook(ModelRef, lambda v, _t: ModelRef.parse(v))
    converter.register_unstructure_hook(ProfileId, str)
    converter.register_structure_hook(ProfileId, lambda v, _t: ProfileId.parse(v))
    converter.register_unstructure_hook(Target, str)
    converter.register_structure_hook(Target, lambda v, _t: Target.parse(v))
    # A session's parameters are any JSON values.
    converter.register_structure_hook_func(lambda t: t is object, _json_value)
    # A health update is tagged with what it does: two of them hold the same fields.
    configure_tagged_union(
        HealthUpdate, converter, tag_generator=_UPDATE_TAGS.__getitem__, tag_name="update"
    )
    return converter


def _json_value(value: object, _type: object) -> object:
    """
    *value*, checked to be JSON: null, text, a boolean, a finite number, or lists
    and objects (with text keys) of these.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, not {value!r}")
        return value
    if isinstance(value, list):
        return [_json_value(item, object) for item in value]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        return {key: _json_value(item, object) for key, item in value.items()}
    raise ValueError(f"expected a JSON value, not a Python {type(value).__name__}")


_UPDATE_TAGS: dict[type, str] = {
    RecordFailure: "record_failure",
    ReleaseProbe: "release_probe",
    ClaimProbe: "claim_probe",
    RecordSuccess: "record_success",
}
"""The tag of each kind of health update in the JSON form of a state."""


def dump_state(value: object) -> object:
    """
    *value* (an attempt, session or health state, routes or policy) as JSON values.
    """
    return state_converter().unstructure(value)


def load_state(data: object, cls: type[_T], *, path: str = "$") -> _T:
    """
    Build a *cls* back from what :func:`dump_state` returned.

    Args:
        data: The JSON values.
        cls: The class to build.
        path: Where *data* sits in a larger document, for the messages.

    Raises:
        ValueError: The data does not describe a *cls* (whatever its shape: ``None``,
            a list, a string, a missing or unknown key, a bad value); the message
            names every problem as ``$.path: message``, like ``$.cooldowns:
            expected an object``, separated by ``; ``.
    """
    # Imported here, like the converter, so that deciding never pays for cattrs.
    import cattrs

    from modelcfg._config._problems import at_path, json_kind

    if not isinstance(data, Mapping) and attrs.has(cls):
        name = getattr(cls, "__name__", repr(cls))
        raise ValueError(at_path(path, f"expected an object (a {name}), not {json_kind(data)}"))
    try:
        return state_converter().structure(data, cls)
    except cattrs.BaseValidationError as error:
        raise ValueError("; ".join(_problems(error, path))) from error
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise ValueError(at_path(path, str(error) or type(error).__name__)) from error


def _problems(error: BaseException, path: str, expected: object = None) -> Iterator[str]:
    """
    Every leaf of a cattrs error tree as ``$.path: message``; *expected* is the type
    that was being read at *path*.
    """
    import cattrs

    from modelcfg._config._problems import at_path, did_you_mean, key_path

    if isinstance(error, cattrs.IterableValidationError):
        with_index, loose = error.group_exceptions()
        for sub, item in with_index:
            yield from _problems(sub, key_path(path, item.index), item.type)
        for sub in loose:
            yield from _problems(sub, path, expected)
    elif isinstance(error, cattrs.ClassValidationError):
        with_field, whole = error.group_exceptions()
        for sub, field in with_field:
            yield from _problems(sub, key_path(path, field.name), field.type)
        for sub in whole:
            yield from _problems(sub, path, expected)
    elif isinstance(error, cattrs.ForbiddenExtraKeysError):
        known = [field.name for field in attrs.fields(error.cl)] if attrs.has(error.cl) else []
        for key in sorted(map(str, error.extra_fields)):
            yield at_path(key_path(path, key), f"unknown key{did_you_mean(key, known)}")
    elif isinstance(error, KeyError):
        yield at_path(path, "is required")
    elif isinstance(error, AttributeError | TypeError) and _container(expected):
        yield at_path(path, f"expected {_container(expected)}")
    else:
        yield at_path(path, str(error) or type(error).__name__)


def _container(expected: object) -> str:
    """
    ``an object`` or ``a list`` when *expected* (perhaps optional) reads one, else ``""``.
    """
    options = typing.get_args(expected) if isinstance(expected, types.UnionType) else (expected,)
    for option in options:
        origin = typing.get_origin(option) or option
        if attrs.has(option) or (isinstance(origin, type) and issubclass(origin, Mapping)):
            return "an object"
        if isinstance(origin, type) and issubclass(origin, tuple | list):
            return "a list"
    return ""
