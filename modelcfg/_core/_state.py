"""
The inputs of a decision and the state that carries one request from call to call.

:class:`Routes` is what the host builds once from its config and catalog (chains,
profile order, model traits, policy). :class:`SessionState` is what a chat
session remembers. :class:`AttemptState` is one request in flight; every
:class:`~modelcfg.Call` and :class:`~modelcfg.GiveUp` carries its successor.
All of them round-trip through :func:`dump_state` / :func:`load_state` (JSON).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

import attrs

from modelcfg._core._actions import ReasonCode, _to_reason_code
from modelcfg._core._failures import Failure, _valid_time
from modelcfg._core._health import HealthState
from modelcfg._core._policy import Policy
from modelcfg._core._slots import slot_setters
from modelcfg._core._values import FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg.exceptions import InvalidStateError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "AttemptRecord",
    "AttemptState",
    "ModelTraits",
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


@attrs.frozen(kw_only=True)
class ModelTraits:
    """
    What routing needs to know about a model; unknown means text-only, unknown size.

    Attributes:
        context_window: The context window in tokens, if known.
        image_input: Whether the model accepts images (``False`` when unknown).
        max_output_tokens: The longest answer in tokens, if known.
    """

    context_window: int | None = attrs.field(default=None, validator=_optional_positive)
    image_input: bool = False
    max_output_tokens: int | None = attrs.field(default=None, validator=_optional_positive)


_UNKNOWN_TRAITS = ModelTraits()


@functools.lru_cache(maxsize=256)
def _default_order(provider: str) -> tuple[ProfileId, ...]:
    return (ProfileId.default_for(provider),)


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
    """

    targets: tuple[Target, ...]
    led_by: Mapping[ProfileId, tuple[Target, ...]]
    context_window: int | None

    @classmethod
    def build(
        cls, model: ModelRef, order: tuple[ProfileId, ...], traits: ModelTraits
    ) -> _ModelPlan:
        """
        The plan of *model*, whose provider rotates through *order*.
        """
        targets = tuple(Target(model=model, profile=profile) for profile in order)
        led_by = {lead.profile: (lead, *(t for t in targets if t is not lead)) for lead in targets}
        return cls(targets=targets, led_by=led_by, context_window=traits.context_window)


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
    """

    chain: FallbackChain
    image_chain: FallbackChain | None = None
    auth_order: Mapping[str, tuple[ProfileId, ...]] = attrs.field(
        factory=dict, converter=_orders, validator=_check_auth_order
    )
    traits: Mapping[ModelRef, ModelTraits] = attrs.field(factory=dict)
    policy: Policy = attrs.field(factory=Policy)
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
        return order if order is not None else _default_order(provider)

    def traits_for(self, model: ModelRef) -> ModelTraits:
        """
        What is known of *model*; unknown models are text-only with unknown context.
        """
        return self.traits.get(model, _UNKNOWN_TRAITS)


@attrs.frozen(kw_only=True)
class RequestNeeds:
    """
    What one request needs from a model; more needs may be added later.

    Attributes:
        has_images: The request carries images.
        min_context_tokens: The prompt's size estimate; models known to be smaller
            are skipped before any call.
    """

    has_images: bool = False
    min_context_tokens: int | None = attrs.field(default=None, validator=_optional_positive)


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
    """

    last_good: Mapping[str, ProfileId] = attrs.field(factory=dict)
    override: Selection | None = None

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
    reason: ReasonCode = attrs.field(converter=_to_reason_code)
    delay_s: float
    failure: Failure | None
    ended_at: float


@attrs.frozen(kw_only=True)
class AttemptState:
    """
    One request in flight: its inputs, what happened so far, and where it stands.

    Build it with :meth:`start`; afterwards only the core's actions and the
    ``with_*()`` transitions make new ones.

    Attributes:
        routes: The chains, profile order, traits and policy.
        session: The session's memory.
        health: The health snapshot decisions read (refresh with :meth:`with_health`).
        needs: What the request needs.
        seed: The seed of the backoff jitter.
        started_at: When the request started; the deadline counts from here.
        now: The time of the latest decision.
        candidates: The models of the request, in order (text or image chain).
        image_route: Whether the candidates are the image chain.
        index: The position in ``candidates`` of the current model; it only grows.
        current: The target of the latest call.
        current_reason: Why the latest call was made.
        current_delay_s: The delay before the latest call.
        pending: Whether the latest call's outcome is still to be reported.
        tried: Profiles that already failed on the current model in this request.
        target_failures: Failures in a row of the current target.
        context_floor: After a context overflow, the window candidates must exceed.
        attempts: Calls made so far.
        history: Every finished call, in order.
        finished: Whether the request succeeded or gave up.
    """

    routes: Routes
    session: SessionState
    health: HealthState
    needs: RequestNeeds
    seed: int
    started_at: float
    now: float
    candidates: tuple[ModelRef, ...]
    image_route: bool = False
    index: int = 0
    current: Target | None = None
    current_reason: ReasonCode | None = None
    current_delay_s: float = 0.0
    pending: bool = False
    tried: tuple[ProfileId, ...] = ()
    target_failures: int = 0
    context_floor: int | None = None
    attempts: int = 0
    history: tuple[AttemptRecord, ...] = ()
    finished: bool = False

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

        Raises:
            ValueError: *now* is not finite or falls outside the years 1 to 9999
                (milliseconds, most often).
        """
        _valid_time(now, "now, the request's start,")
        session = session if session is not None else SessionState()
        needs = needs if needs is not None else RequestNeeds()
        candidates, image_route = candidate_models(routes, needs, session)
        return cls(
            routes=routes,
            session=session,
            health=health if health is not None else HealthState(),
            needs=needs,
            seed=seed,
            started_at=now,
            now=now,
            candidates=candidates,
            image_route=image_route,
        )

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

    @property
    def deadline_at(self) -> float:
        """
        When the request's overall deadline ends.
        """
        return self.started_at + self.routes.policy.deadline_s

    def with_health(self, health: HealthState) -> AttemptState:
        """
        The state reading a fresher *health* snapshot (from the shared store).
        """
        return self if health is self.health else _replaced(self, health=health)

    def with_now(self, now: float) -> AttemptState:
        """
        The state with the clock at *now*; time never runs backwards here.
        """
        return self if now <= self.now else _replaced(self, now=now)

    def moved_to(
        self, target: Target, *, index: int, reason: ReasonCode, delay_s: float, health: HealthState
    ) -> AttemptState:
        """
        The state once a call to *target* (the model at *index*) was decided.
        """
        same_model = index == self.index and self.attempts > 0
        current = self.current
        same_target = current is not None and (target is current or target == current)
        return _build_state(
            self.routes,
            self.session,
            health,
            self.needs,
            self.seed,
            self.started_at,
            self.now,
            self.candidates,
            self.image_route,
            index,
            target,
            reason,
            delay_s,
            True,  # pending
            self.tried if same_model else (),
            self.target_failures if same_target else 0,
            self.context_floor,
            self.attempts + 1,
            self.history,
            False,  # finished
        )

    def with_failure(self, failure: Failure) -> AttemptState:
        """
        The state once the latest call failed with *failure*.

        Raises:
            InvalidStateError: No call is waiting for its outcome.
        """
        target = self._pending_target("a failure")
        record = _record(
            self.attempts,
            target,
            self.current_reason or ReasonCode.FIRST_ATTEMPT,
            self.current_delay_s,
            failure,
            failure.observed_at,
        )
        tried = self.tried if target.profile in self.tried else (*self.tried, target.profile)
        return _build_state(
            self.routes,
            self.session,
            self.health.with_failure(failure, self.routes.policy, target=target),
            self.needs,
            self.seed,
            self.started_at,
            max(self.now, failure.observed_at),
            self.candidates,
            self.image_route,
            self.index,
            target,
            self.current_reason,
            self.current_delay_s,
            False,  # pending
            tried,
            self.target_failures + 1,
            self.context_floor,
            self.attempts,
            (*self.history, record),
            False,  # finished
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
        record = _record(
            self.attempts,
            target,
            self.current_reason or ReasonCode.FIRST_ATTEMPT,
            self.current_delay_s,
            None,
            at,
        )
        return _replaced(
            self,
            now=max(self.now, at),
            session=self.session.with_success(target),
            health=self.health.with_success(target, at),
            history=(*self.history, record),
            pending=False,
            finished=True,
        )

    def gave_up(self) -> AttemptState:
        """
        The finished state of a request that gave up.
        """
        return _build_state(
            self.routes,
            self.session,
            self.health,
            self.needs,
            self.seed,
            self.started_at,
            self.now,
            self.candidates,
            self.image_route,
            self.index,
            self.current,
            self.current_reason,
            self.current_delay_s,
            False,  # pending
            self.tried,
            self.target_failures,
            self.context_floor,
            self.attempts,
            self.history,
            True,  # finished
        )

    def _pending_target(self, what: str) -> Target:
        if self.finished:
            raise InvalidStateError(f"the request is finished, so {what} cannot be recorded")
        if not self.pending or self.current is None:
            raise InvalidStateError(
                f"no call is waiting for its outcome, so {what} cannot be recorded: "
                "ask next_attempt() for a call first"
            )
        return self.current


def _replaced(state: AttemptState, **changes: object) -> AttemptState:
    """
    *state* with *changes*, like ``attrs.evolve`` but straight through the slots.

    For the executor's per-attempt transitions (a fresher health, the clock, a
    success), whose values the core already trusts; see :func:`_build_state`.
    """
    new = object.__new__(AttemptState)
    for name, setter in _SETTERS:
        setter(new, changes[name] if name in changes else getattr(state, name))
    return new


_set_r_number, _set_r_target, _set_r_reason, _set_r_delay, _set_r_failure, _set_r_ended = (
    slot_setters(AttemptRecord)
)


def _record(
    number: int,
    target: Target,
    reason: ReasonCode,
    delay_s: float,
    failure: Failure | None,
    ended_at: float,
) -> AttemptRecord:
    """
    An :class:`AttemptRecord` of the core's own values, built without ``__init__``.
    """
    record: AttemptRecord = object.__new__(AttemptRecord)
    _set_r_number(record, number)
    _set_r_target(record, target)
    _set_r_reason(record, reason)
    _set_r_delay(record, delay_s)
    _set_r_failure(record, failure)
    _set_r_ended(record, ended_at)
    return record


# The slot setters of AttemptState, in field order, for _build_state().
(
    _set_routes,
    _set_session,
    _set_health,
    _set_needs,
    _set_seed,
    _set_started_at,
    _set_now,
    _set_candidates,
    _set_image_route,
    _set_index,
    _set_current,
    _set_current_reason,
    _set_current_delay_s,
    _set_pending,
    _set_tried,
    _set_target_failures,
    _set_context_floor,
    _set_attempts,
    _set_history,
    _set_finished,
) = slot_setters(AttemptState)
_SETTERS = tuple(
    zip(
        (field.name for field in attrs.fields(AttemptState)),
        slot_setters(AttemptState),
        strict=True,
    )
)


def _build_state(
    routes: Routes,
    session: SessionState,
    health: HealthState,
    needs: RequestNeeds,
    seed: int,
    started_at: float,
    now: float,
    candidates: tuple[ModelRef, ...],
    image_route: bool,
    index: int,
    current: Target | None,
    current_reason: ReasonCode | None,
    current_delay_s: float,
    pending: bool,
    tried: tuple[ProfileId, ...],
    target_failures: int,
    context_floor: int | None,
    attempts: int,
    history: tuple[AttemptRecord, ...],
    finished: bool,
) -> AttemptState:
    """
    An :class:`AttemptState` from values the core already trusts, built without ``__init__``.

    Every decision builds two states. AttemptState has no converters or validators,
    so this sets exactly what ``__init__`` would, straight through the slots, which
    skips the generic ``object.__setattr__`` path (about half the cost of a state).
    ``tests/test_state.py`` checks it against ``__init__``; a field added to the class
    breaks the unpacking above at import time.
    """
    state = object.__new__(AttemptState)
    _set_routes(state, routes)
    _set_session(state, session)
    _set_health(state, health)
    _set_needs(state, needs)
    _set_seed(state, seed)
    _set_started_at(state, started_at)
    _set_now(state, now)
    _set_candidates(state, candidates)
    _set_image_route(state, image_route)
    _set_index(state, index)
    _set_current(state, current)
    _set_current_reason(state, current_reason)
    _set_current_delay_s(state, current_delay_s)
    _set_pending(state, pending)
    _set_tried(state, tried)
    _set_target_failures(state, target_failures)
    _set_context_floor(state, context_floor)
    _set_attempts(state, attempts)
    _set_history(state, history)
    _set_finished(state, finished)
    return state


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

    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(ModelRef, str)
    converter.register_structure_hook(ModelRef, lambda v, _t: ModelRef.parse(v))
    converter.register_unstructure_hook(ProfileId, str)
    converter.register_structure_hook(ProfileId, lambda v, _t: ProfileId.parse(v))
    converter.register_unstructure_hook(Target, str)
    converter.register_structure_hook(Target, lambda v, _t: Target.parse(v))
    return converter


def dump_state(value: object) -> object:
    """
    *value* (an attempt, session or health state, routes or policy) as JSON values.
    """
    return state_converter().unstructure(value)


def load_state(data: object, cls: type[_T]) -> _T:
    """
    Build a *cls* back from what :func:`dump_state` returned.

    Raises:
        ValueError: The data does not describe a *cls* (whatever its shape: ``None``,
            a list, a string, a missing or unknown key, a bad value); the message
            names every problem with its JSON path, like ``expected a mapping @
            $.cooldowns``.
    """
    # Imported here, like the converter, so that deciding never pays for cattrs.
    import cattrs

    name = getattr(cls, "__name__", repr(cls))
    if not isinstance(data, Mapping) and attrs.has(cls):
        shape = "null" if data is None else f"a {type(data).__name__}"
        raise ValueError(f"The data for a {name} must be a JSON object (a mapping), not {shape}.")
    try:
        return state_converter().structure(data, cls)
    except cattrs.BaseValidationError as error:
        problems = "; ".join(cattrs.transform_error(error, path="$"))
        raise ValueError(f"The data does not describe a {name}: {problems}.") from error
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        raise ValueError(f"The data does not describe a {name}: {error}.") from error
