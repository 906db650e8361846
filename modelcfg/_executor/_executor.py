"""
The executor: a thin async loop around the decision core.

Its loop does four things and decides nothing: ask :func:`next_attempt` what to
do, carry the action out (wait, fetch the credential, call the adapter), classify
what went wrong, and record the outcome in the shared health. Every rule about
retrying, rotating and falling back lives in the core.

Works under asyncio and trio (anyio only). Cancellation always propagates: only
``Exception`` is caught, never ``BaseException``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import secrets
import time
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Final, NoReturn, TypeAlias

import anyio
import attrs
import httpx

from modelcfg._config._param_plan import Arm, Experiment, ParamResolver, PresetRoute
from modelcfg._config._params import Preset
from modelcfg._config._schema import AuthMode, Config
from modelcfg._config._wire_params import ParamPlan
from modelcfg._core._actions import Action, Call, GiveUp
from modelcfg._core._budget import Budget
from modelcfg._core._cost import Cost
from modelcfg._core._decide import next_attempt
from modelcfg._core._failures import Failure, FailureKind
from modelcfg._core._health import ClaimProbe, HealthState, HealthUpdate, ProbeClaim, ReleaseProbe
from modelcfg._core._metrics import Measured
from modelcfg._core._policy import RoutingPolicy
from modelcfg._core._reasons import Reason, ReasonCode
from modelcfg._core._routing import needs_of
from modelcfg._core._state import AttemptState, RequestNeeds, Routes, SessionState
from modelcfg._core._values import FallbackChain, ModelRef, ProfileId, Selection, Target
from modelcfg._executor._credentials import CredentialSource, StoreCredentials, auth_mode
from modelcfg._executor._health import (
    DEFAULT_FLUSH_S,
    HealthCheck,
    MetricsBatch,
    check_target,
    counts_against,
    writes_anyway,
)
from modelcfg._executor._reports import (
    AttemptFailed,
    AttemptReport,
    AttemptStarted,
    AttemptSucceeded,
    CandidateSkipped,
    Completion,
    ExecutorEvent,
    Observer,
    ParamsDropped,
    RequestGaveUp,
    TierChanged,
)
from modelcfg._executor._scrub import chainable
from modelcfg._executor._stream import StreamingCompletion
from modelcfg._executor._wiring import (
    ProviderSetup,
    _refresher_from,
    limits_from,
    providers_from_config,
)
from modelcfg._log import logger_for
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    Usage,
)
from modelcfg._observe import log_event
from modelcfg.adapters import (
    DEFAULT_LIMITS,
    AnthropicAdapter,
    CallLimits,
    DeadlineExceededError,
    Endpoint,
    HTTPAdapter,
    ProviderError,
)
from modelcfg.adapters._classify import HOST_ERRORS, UNSUPPORTED_CODE_PREFIX, cut_after_output
from modelcfg.exceptions import (
    CredentialsError,
    InvalidParamsError,
    ModelcfgError,
    OutputInterruptedError,
    gave_up_error,
)
from modelcfg.stores import MemoryStateStore
from modelcfg.typing import CounterStore
from modelcfg.usage._accounting import Accounting, Charge
from modelcfg.usage._budgets import BudgetAlert, Counters, Refusal, Reservation

if TYPE_CHECKING:
    from modelcfg._catalog._catalog import ModelCatalog
    from modelcfg.adapters import Adapter
    from modelcfg.auth import AuthStoreProtocol, Refresher
    from modelcfg.typing import JSON, Clock, StateStore
    from modelcfg.usage._ledger import UsageLedger


logger = logger_for(__name__)

_SOONEST_S: Final = 0.001
"""The shortest deadline a request gets from its caller's cancel scope (one that has
already ended is cancelled at the next await anyway)."""

_CLEANUP_S: Final = 5.0
"""The longest a shielded clean-up (giving back a probe) may take after a cancellation."""

_PROBE_CLAIMS: Final = 8
"""How often one decision checks its call against the shared health as it goes out (after
a wait, or to claim a half-open probe) and decides again, before the call goes out anyway."""

# --- the executor ---------------------------------------------------------------------------

Sleep: TypeAlias = Callable[[float], Awaitable[None]]


class Executor:
    """
    Runs requests against the routes: call, classify, decide, repeat.

    Args:
        routes: Chains, profile orders, model traits and policy (see
            :func:`modelcfg.build_routes`).
        providers: How to reach each provider of the routes.
        credentials: Where secrets come from.
        client: The host's ``httpx.AsyncClient`` (adapters never build one); ``None``
            only when every adapter needs no client.
        store: Where health (cooldowns, circuits) and sessions are shared; a new
            in-memory store by default.
        observers: Told about every attempt, skip, success, give-up and tier change.
        limits: Per-attempt time limits (connect, first token, stream idle); every
            attempt is also bounded by the request's deadline (the policy's
            ``deadline_s``), whatever these say. The client's own ``timeout=`` does
            not apply to provider calls.
        profile_modes: Each profile's auth mode, to notice a move from a
            subscription to a paid key.
        clock: Seconds since the epoch, for every timestamp the core sees.
        sleep: Waits a number of seconds (tests pass a recorder).
        seeds: A fresh jitter seed per request.
        params: The configuration's parameters and presets: each attempt sends
            what they resolve to for its model (see :class:`~modelcfg.ParamResolver`).
            Without it, requests send their own ``params`` as written.
        experiment: The A/B experiment requests with a session id take part in.
        catalog: Where attempts' prices come from (see :mod:`modelcfg.usage`);
            without one every cost is unknown.
        ledger: Where every billed attempt is recorded (batched, off the request path).
        budgets: Spend limits kept in *store*'s counters: a hard one skips a
            candidate whose estimated cost would cross it, before the call.
        health_flush_s: The least time between two store writes made only for the
            metrics of successful calls (they are batched in this process, and go
            with any write that happens anyway).
    """

    def __init__(
        self,
        routes: Routes,
        *,
        providers: Mapping[str, ProviderSetup],
        credentials: CredentialSource,
        client: httpx.AsyncClient | None,
        store: StateStore | None = None,
        observers: Sequence[Observer] = (),
        limits: CallLimits = DEFAULT_LIMITS,
        profile_modes: Mapping[ProfileId, AuthMode] | None = None,
        clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
        seeds: Callable[[], int] = lambda: secrets.randbits(32),
        params: ParamResolver | None = None,
        experiment: Experiment | None = None,
        catalog: ModelCatalog | None = None,
        ledger: UsageLedger | None = None,
        budgets: Sequence[Budget] = (),
        health_flush_s: float = DEFAULT_FLUSH_S,
    ) -> None:
        chains = (routes.chain, *((routes.image_chain,) if routes.image_chain else ()))
        needed = {m.provider for chain in chains for m in chain.models}
        missing = sorted(needed - set(providers))
        if missing:
            raise ModelcfgError(f"No provider setup for {', '.join(map(repr, missing))}.")
        if client is None:
            needs_client = sorted(
                p for p, setup in providers.items() if isinstance(setup.adapter, HTTPAdapter)
            )
            if needs_client:
                raise ModelcfgError(
                    f"Providers {', '.join(map(repr, needs_client))} speak HTTP: pass the "
                    "httpx.AsyncClient they should use (client=...)."
                )
        self.routes = routes
        self.providers = dict(providers)
        self.credentials = credentials
        self.client = client
        self.store: StateStore = store if store is not None else MemoryStateStore()
        self.observers = tuple(observers)
        self.limits = limits
        self.profile_modes = dict(profile_modes or {})
        self.clock = clock
        self.sleep = sleep
        self.seeds = seeds
        self.params = params
        self.experiment = experiment
        self._routes: dict[FallbackChain, Routes] = {routes.chain: routes}
        self.metrics = MetricsBatch(health_flush_s)
        self.accounting = Accounting(
            catalog=catalog,
            ledger=ledger,
            budgets=budgets,
            counters=_counters(self.store, budgets),
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"Executor(chain={self.routes.chain}, store={self.store!r})"

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        client: httpx.AsyncClient | None,
        auth_store: AuthStoreProtocol | None = None,
        credentials: CredentialSource | None = None,
        environ: Mapping[str, str] | None = None,
        catalog: ModelCatalog | None = None,
        adapters: Mapping[str, Adapter] | None = None,
        store: StateStore | None = None,
        observers: Sequence[Observer] = (),
        limits: CallLimits | None = None,
        refresher: Refresher | None = None,
        clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
        ledger: UsageLedger | None = None,
    ) -> Executor:
        """
        Build an executor from a configuration.

        Credentials come from *credentials* if given, else from *auth_store*, with
        the environment key of *environ* (``os.environ`` unless given, read afresh at
        each request) for the order's first profile when nothing in the order is
        usable (the rule ``modelcfg models list`` reports), else from *environ* alone.
        A profile with no usable credential is skipped before any call, with what to
        set, and is neither counted as an attempt nor cooled down. The catalog
        defaults to the curated one with the config's own model entries. The config's
        parameters, presets and enabled experiment apply to every request.
        The catalog also prices attempts; the config's ``budgets`` are kept in *store*,
        and every billed attempt goes to *ledger* when one is given.
        The per-attempt limits are *limits* when given, else the config's ``timeouts``
        (whose defaults are :data:`~modelcfg.adapters.DEFAULT_LIMITS`).
        """
        from modelcfg._catalog._curated import curated_catalog
        from modelcfg._config._param_plan import active_experiment, routed_models
        from modelcfg._config._plan import build_routes, catalog_for

        if catalog is None:
            catalog = catalog_for(config, curated=curated_catalog())
        also = routed_models(config)
        routes = build_routes(config, catalog, also=also)
        if auth_store is not None:
            overrides = {p: auth_store.order(p) for p in routes.auth_order}
            stored = {p: [s.profile for s in auth_store.profiles(p)] for p in routes.auth_order}
            routes = build_routes(
                config, catalog, order_overrides=overrides, stored_profiles=stored, also=also
            )
        if credentials is None:
            from modelcfg.auth import MemoryAuthStore, keyless_provider

            settings = {p: s for p in routes.auth_order if (s := config.provider(p)) is not None}
            if refresher is None and client is not None:
                refresher = _refresher_from(config, settings, client, clock)
            credentials = StoreCredentials(
                auth_store if auth_store is not None else MemoryAuthStore(),
                environ=environ if environ is not None else os.environ,
                env_vars={p: s.api_key_env for p, s in settings.items()},
                refresher=refresher,
                keyless=frozenset(
                    p
                    for p, s in settings.items()
                    if keyless_provider(p, base_url=s.base_url, env_vars=s.api_key_env)
                ),
                clock=clock,
                orders=routes.auth_order,
                modes={pid: p.mode for pid, p in config.auth.profiles.items()},
            )
        providers = providers_from_config(config, tuple(routes.auth_order), adapters=adapters)
        modes = {pid: profile.mode for pid, profile in config.auth.profiles.items()}
        if auth_store is not None:
            # The stored credential's kind says what the profile is: an OAuth login
            # counts as a subscription even when the config declares no mode for it.
            modes.update(_stored_modes(auth_store, tuple(routes.auth_order)))
        return cls(
            routes,
            providers=providers,
            credentials=credentials,
            client=client,
            store=store,
            observers=observers,
            limits=limits if limits is not None else limits_from(config),
            profile_modes=modes,
            clock=clock,
            sleep=sleep,
            params=ParamResolver(config, catalog),
            experiment=active_experiment(config),
            catalog=catalog,
            ledger=ledger,
            budgets=config.budgets,
        )

    # --- public calls -----------------------------------------------------------------------

    async def complete(
        self,
        request: ChatRequest,
        *,
        session: SessionState | None = None,
        session_id: str | None = None,
        selection: Selection | None = None,
        needs: RequestNeeds | None = None,
        request_id: str | None = None,
        deadline_s: float | None = None,
        preset: str | None = None,
        api_key_id: str | None = None,
        routing: RoutingPolicy | None = None,
    ) -> Completion:
        """
        Get one complete (non-streamed) answer, failing over as the core decides.

        Args:
            request: What to ask.
            session: The session's memory (last-known-good profile, ``/model``
                choice); or give *session_id* to keep it in the state store.
            session_id: Load and save the session in the state store under this id.
            selection: The session's ``/model`` choice for this and later requests;
                choosing the chain's primary without a profile clears the choice.
            needs: What the request needs; by default only whether it has images.
            request_id: The id every event, log record and the completion carry; a
                new random one by default (pass the host's own to correlate).
            deadline_s: How long this request may take in all, instead of the
                policy's ``deadline_s``: no call, retry or cooldown wait goes past it,
                and a wait that would is not taken (the request falls back or gives up).
            preset: A preset for this request, over the session's.
            api_key_id: Your id for the API key your caller used (a name or a hash,
                never the secret): its budgets apply, and the ledger records it.
            routing: How to order the candidates for this request, over the session's
                and the configured policy; the session's ``/model`` selection stays first.

        Returns:
            The answer, with the model and profile that gave it, every attempt, and
            the usage and cost of each.

        Raises:
            AttemptsExhaustedError: Every candidate failed or was skipped; it carries
                every failure, and ``__cause__`` is the last provider exception.
            UnknownPresetError: The preset (the request's or the session's) names none.
            InvalidParamsError: Under ``paramsPolicy: "error"``, the next attempt's
                model or provider does not take some of the parameters; raised before
                that attempt's call.
        """
        run = await self._start(
            request,
            session,
            session_id,
            selection,
            needs,
            request_id,
            deadline_s,
            preset,
            api_key_id,
            routing,
        )
        failure: Failure | None = None
        while True:
            call = await run.decide(failure)
            started = anyio.current_time()
            credential: str | None = None
            settled = False
            try:
                credential = await self._credential(call.target)
                with run.bounded(call):
                    response = await self.providers[call.target.model.provider].adapter.complete(
                        self.client,
                        run.request_for(call),
                        self._endpoint(call.target, credential),
                        limits=run.limits(),
                    )
                settled = True
            except HOST_ERRORS:  # the host's own trouble (out of memory): never retried
                raise
            except Exception as exc:  # every provider failure is classified, never raised
                settled = True
                failure = run.failed(call, exc, anyio.current_time() - started, credential)
                continue
            finally:
                # Not kept in this frame: a traceback through it must not show the key.
                credential = None
                if not settled:  # cancelled mid-call: give back a half-open probe it held
                    await run.cancelled()
            latency = anyio.current_time() - started
            return await run.succeeded(call, response, latency, first_token_s=latency)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        request: ChatRequest,
        *,
        session: SessionState | None = None,
        session_id: str | None = None,
        selection: Selection | None = None,
        needs: RequestNeeds | None = None,
        restart_after_output: bool = False,
        request_id: str | None = None,
        deadline_s: float | None = None,
        preset: str | None = None,
        api_key_id: str | None = None,
        routing: RoutingPolicy | None = None,
    ) -> AsyncIterator[StreamingCompletion]:
        """
        Stream one answer: ``async with executor.stream(request) as answer:``.

        Until the first content reaches the caller, any failure fails over silently.
        After that, a cut stream either ends with :class:`OutputInterruptedError`
        (the default) or, with *restart_after_output*, yields
        :class:`StreamRestarted` (discard what came before) and restarts on the
        target the core picks. A truncated answer is never reported as a success.

        Iterating raises :class:`~modelcfg.AttemptsExhaustedError` when every
        candidate failed; ``answer.completion`` holds the result once the stream ended.
        *deadline_s* bounds the whole request, as for :meth:`complete`; *preset* and
        the parameters work as there too.
        """
        if needs is None:
            needs = attrs.evolve(needs_of(request), streaming=True)
        run = await self._start(
            request,
            session,
            session_id,
            selection,
            needs,
            request_id,
            deadline_s,
            preset,
            api_key_id,
            routing,
        )
        answer = StreamingCompletion(self, run, request, restart_after_output)
        try:
            yield answer
        finally:
            await answer.aclose()

    async def check_health(
        self, targets: Sequence[Target] | None = None, *, limits: CallLimits | None = None
    ) -> tuple[HealthCheck, ...]:
        """
        Check *targets* with one cheap request each, at the same time, and record
        what they measured in the shared health (with the metrics still batched).

        A check is a models listing where the provider's wire format has one
        (OpenAI-compatible, Anthropic), else a one-token completion. Checks are
        not user traffic: the ledger, budgets and observers' attempt events never
        see them, and they change no cooldown or circuit; only the metrics.

        Args:
            targets: What to check; by default each model of the chains with the
                first profile of its provider's rotation order.
            limits: Per-check time limits; the executor's by default.

        Returns:
            One result per target, in order.
        """
        if targets is None:
            targets = self._default_checks()
        limits = limits if limits is not None else self.limits
        results: list[HealthCheck | None] = [None] * len(targets)

        async def run(index: int, target: Target) -> None:
            results[index] = await check_target(self, target, limits)

        async with anyio.create_task_group() as group:
            for index, target in enumerate(targets):
                group.start_soon(run, index, target)
        checks = tuple(r for r in results if r is not None)
        for check in checks:
            if check.sent and counts_against(check.failure):
                self.metrics.add(
                    Measured(
                        target=check.target,
                        at=self.clock(),
                        latency_s=check.latency_s,
                        failure=check.failure.kind if check.failure is not None else None,
                    )
                )
        await self.flush_health()
        return checks

    async def flush_health(self) -> None:
        """
        Write the metrics this executor measured and has not written yet (hosts call
        it on shutdown, or on a timer when traffic is sparse).
        """
        if len(self.metrics):
            merge = self.metrics.merge(write_anyway=True)
            await self.store.update_health(merge)
            self.metrics.announce(self._notify)

    def _default_checks(self) -> tuple[Target, ...]:
        chains = (
            self.routes.chain,
            *((self.routes.image_chain,) if self.routes.image_chain else ()),
        )
        models = dict.fromkeys(m for chain in chains for m in chain.models)
        return tuple(
            Target(model=m, profile=self.routes.profiles_for(m.provider)[0]) for m in models
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _start(
        self,
        request: ChatRequest,
        session: SessionState | None,
        session_id: str | None,
        selection: Selection | None,
        needs: RequestNeeds | None,
        request_id: str | None = None,
        deadline_s: float | None = None,
        preset: str | None = None,
        api_key_id: str | None = None,
        routing: RoutingPolicy | None = None,
    ) -> _Run:
        if session is None and session_id is not None:
            session = await self.store.load_session(session_id)
        session = session if session is not None else SessionState()
        if selection is not None:
            session = session.with_selection(selection, default=self.routes.chain.primary)
        arm = (
            self.experiment.assign(session_id)
            if self.experiment is not None and session_id is not None
            else None
        )
        chosen, via = self._preset(preset, session, arm)
        needs = needs if needs is not None else needs_of(request)
        routes = self._routes_for(chosen, arm, session)
        deadline_s = _within_callers_scope(deadline_s, routes.policy.deadline_s)
        state = AttemptState.start(
            routes,
            now=self.clock(),
            session=session,
            health=await self.store.load_health(),
            needs=needs,
            seed=self.seeds(),
            deadline_s=deadline_s,
            routing=routing,
        )
        request_id = request_id or secrets.token_hex(8)
        charge = Charge(
            request_id=request_id,
            session=session_id,
            api_key=api_key_id,
            arm=arm.label if arm is not None else None,
        )
        run = _Run(self, state, session_id, request_id, request, charge)
        run.preset, run.preset_via, run.arm = chosen, via, arm.label if arm else None
        run.session_params = typing.cast("Mapping[str, JSON]", session.params)
        return run

    def _preset(
        self, name: str | None, session: SessionState, arm: Arm | None
    ) -> tuple[Preset | None, str | None]:
        """
        The preset in force and why (for explanations): the request's, else the
        session's, else the experiment arm's.

        Raises:
            UnknownPresetError: The preset named is not one the config has.
            ModelcfgError: A preset is asked for, but there are no presets to ask.
        """
        if name is not None:
            found: tuple[str | None, str | None] = (name, None)
        elif session.preset is not None:
            found = (session.preset, "the session's choice")
        elif arm is not None and arm.preset is not None:
            found = (arm.preset, f"experiment {arm.experiment}, arm {arm.name}")
        else:
            return None, None
        if self.params is None:
            raise ModelcfgError(
                f"Preset {found[0]!r} was asked for, but this executor has no presets: build "
                "it with Executor.from_config(), or pass params=ParamResolver(config)."
            )
        return self.params.preset(found[0] or ""), found[1]

    def _routes_for(self, preset: Preset | None, arm: Arm | None, session: SessionState) -> Routes:
        """
        The routes of one request: the preset's chain, or its model (else the arm's,
        unless the session chose one) ahead of the configured chain.
        """
        route = self.params.route(preset) if self.params is not None and preset else PresetRoute()
        lead = arm.model if arm is not None and session.override is None else None
        chain = route.over(self.routes.chain, lead)
        routes = self._routes.get(chain)
        if routes is None:
            routes = self._routes[chain] = attrs.evolve(self.routes, chain=chain)
        return routes

    def _default_max_tokens(self, target: Target) -> int:
        adapter = self.providers[target.model.provider].adapter
        return adapter.default_max_tokens if isinstance(adapter, AnthropicAdapter) else 4096

    async def _credential(self, target: Target) -> str | None:
        if not self._needs_credential(target):
            return None
        return await self.credentials.credential(target.profile)

    def _needs_credential(self, target: Target) -> bool:
        adapter = self.providers[target.model.provider].adapter
        return bool(getattr(adapter, "needs_credential", True))

    async def _missing_credential(self, target: Target) -> str | None:
        """
        What to set for *target*'s profile when it has no usable credential, checked
        afresh without sending anything; ``None`` when it has one or needs none.
        """
        check = getattr(self.credentials, "missing", None)
        if check is None or not self._needs_credential(target):
            return None
        missing: str | None = await check(target.profile)
        return missing

    def _endpoint(self, target: Target, credential: str | None) -> Endpoint:
        return self.providers[target.model.provider].endpoint(target.model, credential)

    def _learn(self, failure: Failure, target: Target) -> None:
        """
        Remember, for the process lifetime, a need *target*'s model turned down
        (an ``unsupported`` failure naming it), so later requests skip the model.
        """
        code = failure.code
        if failure.kind is not FailureKind.UNSUPPORTED or code is None:
            return
        if not code.startswith(UNSUPPORTED_CODE_PREFIX):
            return
        need = code.removeprefix(UNSUPPORTED_CODE_PREFIX)
        routes = self.routes
        model = target.model
        traits = routes.traits_for(model)
        if need in traits.lacking:
            return
        learned = attrs.evolve(traits, lacking=tuple(sorted({*traits.lacking, need})))
        self.routes = attrs.evolve(routes, traits={**routes.traits, model: learned})
        self._routes = {self.routes.chain: self.routes}  # presets' routes learn it too

    def _notify(self, event: ExecutorEvent) -> None:
        log_event(logger, event)
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer must never break a request
                logger.exception("observer %r failed on %s", observer, type(event).__name__)


class _Run:
    """
    One request in flight: its decision state and its attempt reports.
    """

    def __init__(
        self,
        executor: Executor,
        state: AttemptState,
        session_id: str | None,
        request_id: str,
        request: ChatRequest,
        charge: Charge,
    ) -> None:
        self.executor = executor
        self.request_id = request_id
        self.state = state
        self.session_id = session_id
        self.request = request
        self.charge = charge
        # What the call out now holds of its budgets (and for which target), the targets
        # budgets refused, and a failed attempt's cost that its budgets are still to be
        # charged (settled as the next decision begins).
        self.reservation: Reservation | None = None
        self.reserved_for: Target | None = None
        self.refused: dict[Target, str] = {}
        self.unsettled: tuple[Reservation | None, Cost | None] | None = None
        self.reports: list[AttemptReport] = []
        self.started_at: dict[int, float] = {}
        self.waited_s: dict[int, float] = {}
        # The latest attempt's exception and the credential it sent; what to chain is
        # worked out only when the request raises (a fallback that answers never pays).
        self._last_error: tuple[BaseException, str | None] | None = None
        self.previous: ProfileId | None = None
        # What the request's parameters resolve from, and what each attempt sent.
        self.preset: Preset | None = None
        self.preset_via: str | None = None
        self.arm: str | None = None
        self.session_params: Mapping[str, JSON] = {}
        self.requests: dict[int, ChatRequest] = {}
        self.plans: dict[ModelRef, ParamPlan] = {}

    def last_exception(self) -> BaseException | None:
        """
        What to chain as the ``__cause__`` of the error this request raises: the latest
        attempt's exception, or a stand-in when it holds the credential (:func:`chainable`).
        """
        if self._last_error is None:
            return None
        return chainable(*self._last_error)

    def limits(self) -> CallLimits:
        """
        The per-attempt limits, without a first-token limit the deadline would beat.

        Every attempt runs inside :meth:`bounded`, so a first-token limit that ends
        no sooner than the deadline adds a second timer for nothing (with the
        defaults, the first-token limit equals the deadline).
        """
        executor = self.executor
        limits = executor.limits
        if limits.first_token_s is None:
            return limits
        if self.state.deadline_at - executor.clock() <= limits.first_token_s:
            return _without_first_token(limits)
        return limits

    def bounded(self, call: Call) -> _Bounded:
        """
        A ``with`` block bounded by the request's deadline, whatever the per-attempt
        limits; it raises :class:`~modelcfg.adapters.DeadlineExceededError` when the
        deadline comes while it runs. It spans an attempt until its first event.
        """
        return _Bounded(call, max(self.state.deadline_at - self.executor.clock(), 0.0))

    async def decide(self, failure: Failure | None) -> Call:
        """
        Ask the core for the next call, apply the health updates it carries and wait its
        delay; raise when the core gives up.

        A call that goes out after a delay, or as a half-open probe, is checked against
        the shared health as it goes out (:meth:`_send`). When the shared health no
        longer agrees with the decision (another request or process holds the probe,
        the target was blocked meanwhile, or a probe fell due), the core decides again
        on that fresher health, so this request moves on or waits rather than piling in.
        """
        executor = self.executor
        await self._charge_latest()
        fresh = self._fresh(self.state, await executor.store.load_health())
        action = await self._within_budgets(failure, fresh)
        waited_s = 0.0
        while True:
            action, waited = await self._settle(action, failure)
            waited_s += waited
            if isinstance(action, GiveUp):
                break
            missing = await executor._missing_credential(action.target)
            if missing is None:
                break
            # No credential is no provider failure: the profile is skipped for the rest of
            # the request with what to set, without an attempt or a mark; a probe the call
            # claimed is given back. Credentials are read afresh by the next request.
            if action.probe:
                await self._apply((ReleaseProbe(target=action.target),))
            self.state = self.state.without_profile(action.target.profile, missing)
            recorded = self.state if failure is None else self.state.with_failure(failure)
            health = await executor.store.load_health()
            action = await self._within_budgets(None, self._fresh(recorded, health))
        for skip in action.skipped:
            executor._notify(
                CandidateSkipped(message=str(skip), code=str(skip.code), request_id=self.request_id)
            )
        if isinstance(action, GiveUp):
            await self._give_up(action)
        await self._prepare(action)
        return self._started(action, waited_s)

    async def _settle(self, action: Action, failure: Failure | None) -> tuple[Action, float]:
        """
        Carry out *action*'s wait and check it against the shared health as it goes out,
        deciding again while they disagree; the action that stands and the time waited.
        """
        executor = self.executor
        waited_s = 0.0
        for tries in range(_PROBE_CLAIMS):
            if isinstance(action, GiveUp) or not (action.delay_s or action.probe):
                if action.updates:  # A first call has none.
                    await self._apply(action.updates)
                break
            # What the latest outcome taught goes to the shared health before a wait, so
            # other requests see it; a probe's claim goes out with its call.
            outcome = tuple(u for u in action.updates if not isinstance(u, ClaimProbe))
            if action.delay_s:
                await self._apply(outcome)
                outcome = ()
                await executor.sleep(action.delay_s)
                waited_s += action.delay_s
            agreed, health = await self._send(action, outcome)
            if agreed or tries == _PROBE_CLAIMS - 1:
                break  # After the last try (a pinned target, blocked) the call goes anyway.
            # Deciding again starts from the state that records the failure, on a health
            # that holds it too (the store has it by now), so the core counts it once.
            recorded = self.state if failure is None else self.state.with_failure(failure)
            action = await self._within_budgets(None, self._fresh(recorded, health))
        return action, waited_s

    def request_for(self, call: Call) -> ChatRequest:
        """
        The request *call* sends: with the parameters resolved for its model.
        """
        return self.requests[call.state.attempts]

    async def _prepare(self, call: Call) -> None:
        """
        Resolve, check and translate the parameters of *call*'s model, before it goes out.

        Dropped parameters are told to the observers; under ``paramsPolicy: "error"``
        a refusal gives back the probe the call held and raises.
        """
        executor, request = self.executor, self.request
        number = call.state.attempts
        target = call.target
        plan = self._plan(target)
        if plan is None:
            self.requests[number] = request
            return
        if plan.refused:
            self.state = call.state
            await self.cancelled()
            lines = "; ".join(problem.line() for problem in plan.refused)
            raise InvalidParamsError(
                f"The request was refused before calling {target.model}, which does not "
                f"take some of its parameters (paramsPolicy is error): {lines}.",
                model=str(target.model),
                problems=plan.refused,
            )
        if plan.dropped:
            executor._notify(
                ParamsDropped(
                    number=number,
                    target=target,
                    dropped=plan.dropped,
                    request_id=self.request_id,
                )
            )
        self.requests[number] = self._with_params(plan.wire)

    def _plan(self, target: Target) -> ParamPlan | None:
        """
        The parameters *target*'s model gets in this request (worked out once per model),
        or ``None`` when the executor has no parameter configuration.
        """
        executor = self.executor
        if executor.params is None:
            return None
        plan = self.plans.get(target.model)
        if plan is None:
            plan = self.plans[target.model] = executor.params.plan(
                target.model,
                preset=self.preset,
                preset_via=self.preset_via,
                session=self.session_params,
                request=self.request.params,
                default_max_tokens=executor._default_max_tokens(target),
            )
        return plan

    def _with_params(self, wire: Mapping[str, JSON]) -> ChatRequest:
        """
        The request with *wire* as its parameters.
        """
        request = self.request
        params = dict(wire)
        return request if params == request.params else attrs.evolve(request, params=params)

    async def _within_budgets(self, failure: Failure | None, state: AttemptState) -> Action:
        """
        Decide on *state*, and hold the call's estimated cost in its budgets; a target a
        budget refuses is skipped (``over_budget``) and the core decides again without it.
        """
        accounting = self.executor.accounting
        if accounting.keeper is None:  # no budgets: nothing to hold or refuse
            return next_attempt(failure, state)
        while True:
            for target, why in self.refused.items():
                if target not in state.request.refused:
                    state = state.with_refused(target, why)
            action = next_attempt(failure, state)
            if isinstance(action, Call) and action.target == self.reserved_for:
                return action  # decided again on the target it holds already
            await accounting.settle(self.reservation, None)
            self.reservation = self.reserved_for = None
            if not isinstance(action, Call):
                return action
            # Estimated with the parameters that model would get (its max_tokens, say).
            sent = self._plan(action.target)
            request = self.request if sent is None else self._with_params(sent.wire)
            needs = state.request.needs
            held = await accounting.reserve(action.target, request, self.charge, needs)
            if not isinstance(held, Refusal):
                self.reservation, self.reserved_for = held, action.target
                return action
            self.refused[action.target] = str(held)

    async def _charge_latest(self) -> None:
        """
        Charge the budgets of the latest failed attempt (what its provider billed, if anything).
        """
        if self.unsettled is not None:
            reservation, cost = self.unsettled
            self.unsettled = None
            self._alert(await self.executor.accounting.settle(reservation, cost))

    def _alert(self, alerts: tuple[BudgetAlert, ...]) -> None:
        """
        Tell the observers about budget alerts this request's charges gave.
        """
        for alert in alerts:
            self.executor._notify(attrs.evolve(alert, request_id=self.request_id))

    async def _give_up(self, action: GiveUp) -> NoReturn:
        """
        End the request as the core gave up: save the session, tell the observers, and
        raise, chained to the (scrubbed) cause of the latest attempt.
        """
        self.state = action.state
        await self._save_session()
        self.executor._notify(
            RequestGaveUp(
                reason=action.reason, failures=action.failures, request_id=self.request_id
            )
        )
        raise gave_up_error(
            f"The request gave up: {action.reason}",
            state=action.state,
            reason=str(action.reason),
            code=action.reason.code.value,
        ) from self.last_exception()

    def _started(self, call: Call, waited_s: float) -> Call:
        """
        *call*, going out now after *waited_s*: note it and tell the observers.
        """
        executor = self.executor
        self.state = call.state
        self._notice_tier(call.target)
        number = call.state.attempts
        self.started_at[number] = executor.clock()
        self.waited_s[number] = waited_s
        executor._notify(
            AttemptStarted(
                number=number,
                target=call.target,
                reason=call.reason,
                delay_s=waited_s,
                probe=call.probe,
                request_id=self.request_id,
                arm=self.arm,
            )
        )
        return call

    def _fresh(self, state: AttemptState, health: HealthState) -> AttemptState:
        """
        *state* reading *health*, the shared health just loaded, at the clock's time.
        """
        return state.with_health(health, now=self.executor.clock())

    async def _apply(self, updates: tuple[HealthUpdate, ...]) -> None:
        """
        Apply *updates* to the shared health, in one store update.
        """
        if updates:
            policy = self.executor.routes.policy
            metrics = self.executor.metrics
            merge = metrics.merge(write_anyway=writes_anyway(updates))
            await self.executor.store.update_health(lambda h: merge(h.applied(updates, policy)))
            metrics.announce(self.executor._notify, self.request_id)

    async def _send(
        self, call: Call, outcome: tuple[HealthUpdate, ...]
    ) -> tuple[bool, HealthState]:
        """
        As *call* goes out: apply *outcome* and check the call in the shared health, in
        one atomic update, claiming its half-open probe when the core claimed one. The
        check is made at the time the core planned the call for (its decision's time
        plus its delay), as the core's own claim was.

        Returns:
            Whether the shared health agrees with the decision (the target is open, or
            its probe was claimed, as the core decided), and the health after the update.
        """
        policy = self.executor.routes.policy
        at = call.state.now + call.delay_s
        expected = ProbeClaim.CLAIMED if call.probe else ProbeClaim.OPEN
        agreed = False

        metrics = self.executor.metrics
        merge = metrics.merge(write_anyway=call.probe or writes_anyway(outcome))

        def send(health: HealthState) -> HealthState:
            nonlocal agreed
            health = merge(health.applied(outcome, policy))
            claim, claimed, _blocked = health.claim_probe(call.target, at, policy)
            agreed = claim is expected
            return claimed if agreed else health

        health = await self.executor.store.update_health(send)
        metrics.announce(self.executor._notify, self.request_id)
        return agreed, health

    async def cancelled(self) -> None:
        """
        The request was cancelled while its call was out: give back a half-open probe
        the call held, so other requests need not wait for its lease to run out.
        """
        self.state = self.state.cancelled()
        with anyio.move_on_after(_CLEANUP_S, shield=True):
            await self._apply(self.state.updates)
            await self.executor.accounting.settle(self.reservation, None)
            self.reservation = self.reserved_for = None

    def _notice_tier(self, target: Target) -> None:
        previous, self.previous = self.previous, target.profile
        if previous is None or previous == target.profile:
            return
        executor = self.executor
        before = auth_mode(executor.credentials, executor.profile_modes, previous)
        after = auth_mode(executor.credentials, executor.profile_modes, target.profile)
        if before is not AuthMode.API_KEY and after is AuthMode.API_KEY:
            executor._notify(
                TierChanged(
                    from_profile=previous,
                    to_profile=target.profile,
                    from_mode=before,
                    to_mode=after,
                    request_id=self.request_id,
                )
            )

    def failed(
        self,
        call: Call,
        exc: Exception,
        latency_s: float,
        credential: str | None,
        *,
        after_output: bool = False,
    ) -> Failure:
        """
        Classify what the attempt raised (masking the credential it sent), and report it.

        A failure after output reached the caller is reported as the interrupted
        stream it is, whatever caused it (a reset, a stall, an error event): the
        report, the observers, the history and the shared health all see that kind.
        """
        executor = self.executor
        target = call.target
        now = executor.clock()
        if isinstance(exc, CredentialsError):
            failure = _credentials_failure(exc, target, now)
        else:
            adapter = executor.providers[target.model.provider].adapter
            failure = adapter.classify(
                exc, now=now, model=target.model, profile=target.profile, credential=credential
            )
        if after_output:
            failure = cut_after_output(failure)
        executor._learn(failure, target)
        self._last_error = (exc, credential)
        # What the provider billed before the failure (a cut stream's usage so far).
        usage = exc.usage if isinstance(exc, ProviderError) else None
        cost = executor.accounting.record(
            charge=self.charge,
            attempt=call.state.attempts,
            target=target,
            usage=usage,
            failure=failure,
            latency_s=latency_s,
        )
        self.unsettled = (self.reservation, cost)
        self.reservation = self.reserved_for = None
        self._report(call, latency_s, None, failure, usage, cost)
        executor._notify(
            AttemptFailed(
                number=call.state.attempts,
                target=target,
                failure=failure,
                latency_s=latency_s,
                request_id=self.request_id,
                arm=self.arm,
            )
        )
        return failure

    async def interrupted(self, call: Call, failure: Failure) -> OutputInterruptedError:
        """
        End the request after its stream was cut with output shown and no restart
        was asked for: record the failure, save the session, tell the observers.

        Returns:
            The error to raise, chained to the (scrubbed) cause by the caller.
        """
        self.state = self.state.with_failure(failure).gave_up()
        await self._apply(self.state.updates)
        await self._charge_latest()
        await self._save_session()
        reason = Reason(
            code=ReasonCode.STREAM_NOT_RESTARTED,
            message=f"the stream from {call.target.model} was cut after part of the answer "
            "had reached the caller, who did not ask for restarts",
        )
        self.executor._notify(
            RequestGaveUp(reason=reason, failures=self.state.failures, request_id=self.request_id)
        )
        return OutputInterruptedError(
            f"The stream from {call.target.model} was cut after part of the answer "
            f"had reached the caller ({failure.kind.value}); discard the partial "
            "answer, or pass restart_after_output=True to restart elsewhere.",
            failure=failure,
            state=self.state,
        )

    async def succeeded(
        self, call: Call, response: ChatResponse, latency_s: float, *, first_token_s: float | None
    ) -> Completion:
        """
        Record the success everywhere and build the completion.
        """
        executor = self.executor
        now = executor.clock()
        self.state = self.state.succeeded(now)
        await self._apply(self.state.updates)
        await self._save_session()
        target = call.target
        used = getattr(executor.credentials, "used", None)
        if used is not None:  # the profile's last use, batched by the source off this path
            used(target.profile, now)
        usage = response.usage
        cost = executor.accounting.record(
            charge=self.charge,
            attempt=call.state.attempts,
            target=target,
            usage=usage,
            latency_s=latency_s,
        )
        self._alert(await executor.accounting.settle(self.reservation, cost))
        self.reservation = self.reserved_for = None
        self._report(call, latency_s, first_token_s, None, usage, cost)
        executor._notify(
            AttemptSucceeded(
                number=call.state.attempts,
                target=target,
                latency_s=latency_s,
                first_token_s=first_token_s,
                usage=usage,
                cost=cost,
                request_id=self.request_id,
                arm=self.arm,
            )
        )
        return Completion(
            response=response,
            target=target,
            attempts=tuple(self.reports),
            state=self.state,
            cost=cost,
            request_id=self.request_id,
            arm=self.arm,
        )

    def _report(
        self,
        call: Call,
        latency_s: float,
        first_token_s: float | None,
        failure: Failure | None,
        usage: Usage | None = None,
        cost: Cost | None = None,
    ) -> None:
        number = call.state.attempts
        if counts_against(failure):
            self.executor.metrics.add(
                Measured(
                    target=call.target,
                    at=self.executor.clock(),
                    latency_s=latency_s,
                    failure=failure.kind if failure is not None else None,
                    ttft_s=first_token_s if first_token_s != latency_s else None,
                    output_tokens=usage.output_tokens if usage is not None else None,
                )
            )
        self.reports.append(
            AttemptReport(
                number=number,
                target=call.target,
                reason=call.reason,
                delay_s=self.waited_s.get(number, call.delay_s),
                started_at=self.started_at.get(number, self.state.now),
                latency_s=latency_s,
                first_token_s=first_token_s,
                failure=failure,
                params=self.requests[number].params if number in self.requests else {},
                arm=self.arm,
                usage=usage,
                cost=cost,
            )
        )

    async def _save_session(self) -> None:
        if self.session_id is not None:
            await self.executor.store.save_session(self.session_id, self.state.session)


def _within_callers_scope(deadline_s: float | None, policy_deadline_s: float) -> float | None:
    """
    The request's deadline, shortened to the caller's own cancel scope when that ends
    sooner: a wait the caller would cancel is not taken, the request falls back instead.
    """
    if deadline_s is not None and not (
        isinstance(deadline_s, int | float) and math.isfinite(deadline_s) and deadline_s > 0
    ):
        return deadline_s  # refused, with its name, when the request's state starts
    left = anyio.current_effective_deadline() - anyio.current_time()
    if left < (policy_deadline_s if deadline_s is None else deadline_s):
        return max(left, _SOONEST_S)
    return deadline_s


@functools.lru_cache(maxsize=8)
def _without_first_token(limits: CallLimits) -> CallLimits:
    """
    *limits* with no first-token limit, made once per set of limits.
    """
    return attrs.evolve(limits, first_token_s=None)


class _Bounded:
    """
    A cancel scope ending at the request's deadline, turned into
    :class:`~modelcfg.adapters.DeadlineExceededError` when it is what ended the block.

    A bare cancel scope rather than ``anyio.fail_after``: it runs around every
    attempt until its first event, and the error it raises names the attempt.
    """

    __slots__ = ("_call", "_limit_s", "_scope")

    def __init__(self, call: Call, limit_s: float) -> None:
        self._call = call
        self._limit_s = limit_s
        self._scope = anyio.CancelScope(deadline=anyio.current_time() + limit_s)

    def __enter__(self) -> None:
        self._scope.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        swallowed = bool(self._scope.__exit__(exc_type, exc, tb))
        if not (swallowed and self._scope.cancelled_caught):
            return swallowed
        target = self._call.target
        raise DeadlineExceededError(
            f"the attempt on {target.model} was still running at the request's deadline "
            f"({self._limit_s:.2f} s after it started)",
            provider=target.model.provider,
            model=target.model.model,
            limit_s=self._limit_s,
        ) from None  # what it replaces is the scope's own cancellation


def _credentials_failure(exc: CredentialsError, target: Target, now: float) -> Failure:
    """
    The failure of a profile whose credential could not be had: an auth failure,
    or what a failed OAuth refresh says it is (``to_failure()``).
    """
    to_failure = getattr(exc, "to_failure", None)
    if callable(to_failure):
        failure = to_failure(observed_at=now, model=target.model)
        if isinstance(failure, Failure):
            return attrs.evolve(failure, model=target.model, profile=target.profile)
    return Failure(
        kind=FailureKind.AUTH,
        observed_at=now,
        message=str(exc),
        model=target.model,
        profile=target.profile,
        code="missing_credentials",
    )


def _stored_modes(
    store: AuthStoreProtocol, providers: tuple[str, ...]
) -> dict[ProfileId, AuthMode]:
    """
    The auth mode of each profile the store holds for *providers*, by its credential's kind.
    """
    from modelcfg.auth import ApiKeyCredential, OAuthCredential

    modes: dict[ProfileId, AuthMode] = {}
    for provider in providers:
        for stored in store.profiles(provider):
            credential = stored.credential
            if isinstance(credential, OAuthCredential):
                modes[stored.profile] = AuthMode.OAUTH
            elif isinstance(credential, ApiKeyCredential):
                modes[stored.profile] = AuthMode.API_KEY
            else:
                modes[stored.profile] = AuthMode.TOKEN
    return modes


def _counters(store: StateStore, budgets: Sequence[Budget]) -> Counters | None:
    """
    *store*'s counters, where the budgets are kept; ``None`` when there are no budgets.

    Raises:
        ModelcfgError: There are budgets and *store* keeps no counters.
    """
    if not budgets:
        return None
    if not isinstance(store, CounterStore):
        raise ModelcfgError(
            f"Budgets are kept in the state store's counters, and {store!r} has none: "
            "use a store from modelcfg.stores (memory, SQLite or Redis)."
        )
    return store
