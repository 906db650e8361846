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
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias, assert_never

import anyio
import attrs
import httpx

from modelcfg._config._schema import AuthMode, Config, ProviderConfig, WireFormat
from modelcfg._core._actions import Call, GiveUp, Reason, ReasonCode
from modelcfg._core._decide import next_attempt
from modelcfg._core._failures import Failure, FailureKind, redact
from modelcfg._core._health import HealthState
from modelcfg._core._state import AttemptState, RequestNeeds, Routes, SessionState
from modelcfg._core._values import ModelRef, ProfileId, Selection, Target
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    collect_stream,
)
from modelcfg.adapters import (
    AnthropicAdapter,
    CallLimits,
    DeadlineExceededError,
    Endpoint,
    HTTPAdapter,
    OpenAIAdapter,
    StreamInterruptedError,
)
from modelcfg.adapters._http import duck_status
from modelcfg.exceptions import (
    AttemptsExhaustedError,
    CredentialsError,
    ModelcfgError,
    OutputInterruptedError,
    RedactedError,
)
from modelcfg.stores import MemoryStateStore

if TYPE_CHECKING:
    from modelcfg._catalog._catalog import ModelCatalog
    from modelcfg.adapters import Adapter
    from modelcfg.auth import AuthStoreProtocol, Refresher
    from modelcfg.typing import Clock, StateStore

__all__ = [
    "AttemptFailed",
    "AttemptReport",
    "AttemptStarted",
    "AttemptSucceeded",
    "CandidateSkipped",
    "Completion",
    "CredentialSource",
    "Executor",
    "ExecutorEvent",
    "Observer",
    "ProviderSetup",
    "RequestGaveUp",
    "StaticCredentials",
    "StoreCredentials",
    "StreamRestarted",
    "StreamingCompletion",
    "TierChanged",
]

logger = logging.getLogger(__name__)

_CLEANUP_S: Final = 5.0
"""The longest a shielded clean-up (giving back a probe) may take after a cancellation."""

_PROBE_CLAIMS: Final = 8
"""How often one decision checks its call against the shared health as it goes out (after
a wait, or to claim a half-open probe) and decides again, before the call goes out anyway."""

DEFAULT_LIMITS: Final = CallLimits(connect_s=10.0, first_token_s=120.0, idle_s=60.0)
"""Per-attempt limits used when the host gives none."""


# --- what the host sees ---------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AttemptReport:
    """
    One attempt of a request, as it happened.

    Attributes:
        number: 1 for the first attempt, then 2, 3, ...
        target: The model and profile called.
        reason: Why the core chose this target.
        delay_s: How long the executor waited before the call.
        started_at: When the call went out, in seconds since the epoch.
        latency_s: From the call going out to its end (success or failure).
        first_token_s: From the call going out to the first content, when any arrived.
        failure: How it failed; ``None`` for the successful attempt.
    """

    number: int
    target: Target
    reason: Reason
    delay_s: float
    started_at: float
    latency_s: float
    first_token_s: float | None = None
    failure: Failure | None = None


@attrs.frozen(kw_only=True)
class Completion:
    """
    The answer to a request, and how it was obtained.

    Attributes:
        response: The answer of the successful attempt.
        target: The model and profile that answered.
        attempts: Every attempt, failed ones first, the successful one last.
        state: The final decision state (history, session, health snapshot).

    Only the successful attempt's usage counts: failed attempts are never billed
    as completions.
    """

    response: ChatResponse
    target: Target
    attempts: tuple[AttemptReport, ...]
    state: AttemptState = attrs.field(repr=False)

    @property
    def model(self) -> ModelRef:
        """
        The model that answered.
        """
        return self.target.model

    @property
    def profile(self) -> ProfileId:
        """
        The profile whose credentials answered.
        """
        return self.target.profile

    @property
    def text(self) -> str:
        """
        The answer's text.
        """
        return self.response.text

    @property
    def usage(self) -> Usage:
        """
        The tokens of the successful attempt.
        """
        return self.response.usage

    @property
    def session(self) -> SessionState:
        """
        The session after this request (last-known-good profile updated).
        """
        return self.state.session


@attrs.frozen(kw_only=True)
class StreamRestarted:
    """
    Yielded by a stream when the answer is being restarted on another target: the
    caller must discard everything it received before this event.

    Attributes:
        failure: Why the previous stream ended.
    """

    failure: Failure


# --- observer events ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AttemptStarted:
    """An attempt is about to go out (after its delay)."""

    number: int
    target: Target
    reason: Reason
    delay_s: float
    probe: bool


@attrs.frozen(kw_only=True)
class CandidateSkipped:
    """The core passed over a candidate without calling it."""

    message: str
    code: str


@attrs.frozen(kw_only=True)
class AttemptFailed:
    """An attempt failed."""

    number: int
    target: Target
    failure: Failure
    latency_s: float


@attrs.frozen(kw_only=True)
class AttemptSucceeded:
    """An attempt answered."""

    number: int
    target: Target
    latency_s: float
    first_token_s: float | None
    usage: Usage


@attrs.frozen(kw_only=True)
class RequestGaveUp:
    """The request gave up."""

    reason: Reason
    failures: tuple[Failure, ...]


@attrs.frozen(kw_only=True)
class TierChanged:
    """
    Rotation moved from a subscription (OAuth or token) profile to a paid API key:
    a host may want to tell its user that requests now cost money.
    """

    from_profile: ProfileId
    to_profile: ProfileId
    from_mode: AuthMode
    to_mode: AuthMode


ExecutorEvent: TypeAlias = (
    AttemptStarted
    | CandidateSkipped
    | AttemptFailed
    | AttemptSucceeded
    | RequestGaveUp
    | TierChanged
)
"""Everything an observer may be told."""


class Observer(Protocol):
    """
    Receives executor events, for logging and metrics. Must not block; exceptions it
    raises are logged and ignored.
    """

    def __call__(self, event: ExecutorEvent, /) -> None: ...


# --- credentials ----------------------------------------------------------------------------


class CredentialSource(Protocol):
    """
    Gives the secret to send for a profile, or ``None`` for a provider that needs none.

    Raises:
        CredentialsError: The profile has no usable credential (an auth failure of
            that profile, so the core rotates).
    """

    async def credential(self, profile: ProfileId) -> str | None: ...


class StaticCredentials:
    """
    Credentials from a fixed mapping of profile to secret (tests, demos, simple hosts).

    A profile that is not in the mapping has no credential: providers that need
    none (local servers) work, others answer 401, which rotates.
    """

    def __init__(
        self, secrets_by_profile: Mapping[ProfileId, str] | Mapping[str, str] | None = None
    ) -> None:
        items = (secrets_by_profile or {}).items()
        self._secrets = {
            (p if isinstance(p, ProfileId) else ProfileId.parse(p)): s for p, s in items
        }

    def __repr__(self) -> str:
        return f"StaticCredentials(<{len(self._secrets)} profiles>)"

    async def credential(self, profile: ProfileId) -> str | None:
        return self._secrets.get(profile)


class StoreCredentials:
    """
    Credentials from the auth store, then the environment key.

    The environment key stands in for the first profile of the provider's order
    (*orders*) when no profile of that order is usable, and for a missing
    ``provider:default`` outside it: the rule ``modelcfg models list`` reports
    with (:func:`~modelcfg.auth.credential_for`). OAuth tokens about to expire
    are refreshed (one refresh per profile at a time in this process) and
    written back to the store. Providers in *keyless* (local servers) are called
    without a credential when none is stored.
    """

    def __init__(
        self,
        store: AuthStoreProtocol,
        *,
        environ: Mapping[str, str],
        env_vars: Mapping[str, Sequence[str]] | None = None,
        refresher: Refresher | None = None,
        keyless: frozenset[str] = frozenset(),
        clock: Clock = time.time,
        orders: Mapping[str, Sequence[ProfileId]] | None = None,
    ) -> None:
        self._store = store
        self._orders = {p: tuple(o) for p, o in (orders or {}).items()}
        self._environ = environ
        self._env_vars = dict(env_vars or {})
        self._refresher = refresher
        self._keyless = keyless
        self._clock = clock
        self._locks: dict[ProfileId, anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"StoreCredentials({self._store!r})"

    async def credential(self, profile: ProfileId) -> str | None:
        from modelcfg.auth import credential_for

        lock = self._locks.setdefault(profile, anyio.Lock())
        async with lock:
            try:
                resolved = await credential_for(
                    profile,
                    store=self._store,
                    environ=self._environ,
                    env_vars=self._env_vars.get(profile.provider, ()),
                    refresher=self._refresher,
                    now=self._clock(),
                    order=self._orders.get(profile.provider),
                )
            except CredentialsError:
                if profile.provider in self._keyless and self._store.get(profile) is None:
                    return None  # a local server that needs no key
                raise
        return resolved.require().reveal() if resolved.found else None


# --- providers ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ProviderSetup:
    """
    How to reach one provider: its adapter, base URL and extra headers.
    """

    adapter: Adapter = attrs.field(eq=False)
    base_url: str = ""
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    def endpoint(self, model: ModelRef, credential: str | None) -> Endpoint:
        """
        The endpoint of one attempt on *model*.
        """
        return Endpoint(
            model=model.model, base_url=self.base_url, credential=credential, headers=self.headers
        )


def _adapter_for(api: WireFormat) -> Adapter | None:
    match api:
        case WireFormat.OPENAI:
            return OpenAIAdapter()
        case WireFormat.OPENROUTER:
            return OpenAIAdapter.openrouter()
        case WireFormat.ANTHROPIC:
            return AnthropicAdapter()
        case WireFormat.CUSTOM:
            return None
        case _:
            assert_never(api)


def providers_from_config(
    config: Config, providers: Sequence[str], *, adapters: Mapping[str, Adapter] | None = None
) -> dict[str, ProviderSetup]:
    """
    The provider setups for *providers*: the host's adapters first, else the wire
    format the config names.

    Raises:
        ModelcfgError: A provider is unknown, or is ``custom`` without an adapter.
    """
    adapters = adapters or {}
    setups: dict[str, ProviderSetup] = {}
    for provider in providers:
        settings = config.provider(provider)
        adapter = adapters.get(provider)
        if adapter is None:
            if settings is None:
                raise ModelcfgError(
                    f"Provider {provider!r} is neither built in nor configured under "
                    "$.providers, and no adapter was given for it."
                )
            adapter = _adapter_for(settings.api)
        if adapter is None:
            raise ModelcfgError(
                f"Provider {provider!r} is 'custom': pass its adapter "
                f"(Executor.from_config(..., adapters={{{provider!r}: ...}}))."
            )
        setups[provider] = ProviderSetup(
            adapter=adapter,
            base_url=(settings.base_url or "") if settings else "",
            headers=dict(settings.headers) if settings else {},
        )
    return setups


def _refresher_from(
    config: Config,
    settings: Mapping[str, ProviderConfig],
    client: httpx.AsyncClient,
    clock: Clock,
) -> Refresher | None:
    """
    The OAuth refresher for every provider whose config names OAuth endpoints.
    """
    from modelcfg.auth import OAuthEndpoints, OAuthRefresher

    endpoints = {
        provider: OAuthEndpoints(
            authorize_url=s.oauth.authorize_url,
            token_url=s.oauth.token_url,
            client_id=s.oauth.client_id,
            scopes=s.oauth.scopes,
        )
        for provider, s in settings.items()
        if s.oauth is not None
    }
    return OAuthRefresher(endpoints=endpoints, client=client, clock=clock) if endpoints else None


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
        limits: CallLimits = DEFAULT_LIMITS,
        refresher: Refresher | None = None,
        clock: Clock = time.time,
        sleep: Sleep = anyio.sleep,
    ) -> Executor:
        """
        Build an executor from a configuration.

        Credentials come from *credentials* if given, else from *auth_store*, with
        the environment key of *environ* for the order's first profile when nothing
        in the order is usable (the rule ``modelcfg models list`` reports), else from
        *environ* alone. The catalog defaults to the curated one with the config's
        own model entries.
        """
        from modelcfg._catalog._curated import curated_catalog
        from modelcfg._config._plan import build_routes, catalog_for

        if catalog is None:
            catalog = catalog_for(config, curated=curated_catalog())
        routes = build_routes(config, catalog)
        if auth_store is not None:
            overrides = {p: auth_store.order(p) for p in routes.auth_order}
            routes = build_routes(config, catalog, order_overrides=overrides)
        if credentials is None:
            from modelcfg.auth import MemoryAuthStore, keyless_provider

            settings = {p: s for p in routes.auth_order if (s := config.provider(p)) is not None}
            if refresher is None and client is not None:
                refresher = _refresher_from(config, settings, client, clock)
            credentials = StoreCredentials(
                auth_store if auth_store is not None else MemoryAuthStore(),
                environ=environ if environ is not None else {},
                env_vars={p: s.api_key_env for p, s in settings.items()},
                refresher=refresher,
                keyless=frozenset(
                    p
                    for p, s in settings.items()
                    if keyless_provider(p, base_url=s.base_url, env_vars=s.api_key_env)
                ),
                clock=clock,
                orders=routes.auth_order,
            )
        providers = providers_from_config(config, tuple(routes.auth_order), adapters=adapters)
        modes = {pid: profile.mode for pid, profile in config.auth.profiles.items()}
        return cls(
            routes,
            providers=providers,
            credentials=credentials,
            client=client,
            store=store,
            observers=observers,
            limits=limits,
            profile_modes=modes,
            clock=clock,
            sleep=sleep,
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
    ) -> Completion:
        """
        Get one complete (non-streamed) answer, failing over as the core decides.

        Args:
            request: What to ask.
            session: The session's memory (last-known-good profile, ``/model``
                choice); or give *session_id* to keep it in the state store.
            session_id: Load and save the session in the state store under this id.
            selection: The session's ``/model`` choice for this and later requests.
            needs: What the request needs; by default only whether it has images.

        Returns:
            The answer, with the model and profile that gave it and every attempt.

        Raises:
            AttemptsExhaustedError: Every candidate failed or was skipped; it carries
                every failure, and ``__cause__`` is the last provider exception.
        """
        run = await self._start(request, session, session_id, selection, needs)
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
                        request,
                        self._endpoint(call.target, credential),
                        limits=run.limits(),
                    )
                settled = True
            except Exception as exc:  # every provider failure is classified, never raised
                settled = True
                failure = run.failed(call, exc, anyio.current_time() - started, credential)
                continue
            finally:
                # Not kept in this frame: a traceback through it must not show the key.
                credential = None
                if not settled:  # cancelled mid-call: give back a half-open probe it held
                    await run.release_probe(call.target)
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
        """
        run = await self._start(request, session, session_id, selection, needs)
        answer = StreamingCompletion(self, run, request, restart_after_output)
        try:
            yield answer
        finally:
            await answer.aclose()

    # --- helpers ---------------------------------------------------------------------------

    async def _start(
        self,
        request: ChatRequest,
        session: SessionState | None,
        session_id: str | None,
        selection: Selection | None,
        needs: RequestNeeds | None,
    ) -> _Run:
        if session is None and session_id is not None:
            session = await self.store.load_session(session_id)
        session = session if session is not None else SessionState()
        if selection is not None:
            session = session.with_selection(selection)
        needs = needs if needs is not None else RequestNeeds(has_images=request.has_images)
        state = AttemptState.start(
            self.routes,
            now=self.clock(),
            session=session,
            health=await self.store.load_health(),
            needs=needs,
            seed=self.seeds(),
        )
        return _Run(self, state, session_id)

    async def _credential(self, target: Target) -> str | None:
        return await self.credentials.credential(target.profile)

    def _endpoint(self, target: Target, credential: str | None) -> Endpoint:
        return self.providers[target.model.provider].endpoint(target.model, credential)

    def _notify(self, event: ExecutorEvent) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception:  # an observer must never break a request
                logger.exception("observer %r failed on %s", observer, type(event).__name__)


class _Run:
    """
    One request in flight: its decision state and its attempt reports.
    """

    def __init__(self, executor: Executor, state: AttemptState, session_id: str | None) -> None:
        self.executor = executor
        self.state = state
        self.session_id = session_id
        self.reports: list[AttemptReport] = []
        self.started_at: dict[int, float] = {}
        self.waited_s: dict[int, float] = {}
        # The latest attempt's exception and the credential it sent; what to chain is
        # worked out only when the request raises (a fallback that answers never pays).
        self._last_error: tuple[BaseException, str | None] | None = None
        self.previous: ProfileId | None = None
        self.probing: Target | None = None
        # Whether the latest attempt failed because the request's own deadline came.
        self.out_of_time = False

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
        Ask the core for the next call (waiting its delay), or raise when it gives up.

        A call that goes out after a delay, or as a half-open probe, is checked
        against the shared health at the moment it goes out: the probe is claimed
        then (atomically), and when another request (or process) holds it, or the
        target has been blocked meanwhile, the core decides again on that fresher
        health, so this request moves on or waits rather than piling in.
        """
        executor = self.executor
        failed_target = self.state.current
        health = await executor.store.load_health()
        before = self.state
        action = next_attempt(failure, before.with_health(health).with_now(executor.clock()))
        # The failure goes to the shared store once: before a wait (so other requests
        # see it while this one sleeps), or together with a probe claim. A request
        # that ran out of its own time says nothing about the provider: that failure
        # stays in this request's state, and a probe it held is given back.
        unrecorded = failure
        if self.out_of_time and failed_target is not None:
            unrecorded = None
            await self.release_probe(failed_target)
        waited_s = 0.0
        for claims in range(_PROBE_CLAIMS):
            if not isinstance(action, Call):
                break
            if action.delay_s > 0:
                if unrecorded is not None:
                    await self.record_failure(unrecorded, failed_target)
                    unrecorded = None
                await executor.sleep(action.delay_s)
                waited_s += action.delay_s
            elif not action.probe:
                break
            claimed, health = await self._claim(action.target, unrecorded, failed_target)
            unrecorded = None
            if claimed is not None or claims == _PROBE_CLAIMS - 1:
                # Claimed, or open without a probe; after the last try (a pinned target
                # the core calls even while blocked) the call goes out unclaimed.
                self.probing = action.target if claimed else None
                break
            # Deciding again starts from the state that records the failure, on a health
            # that holds it too (the store has it by then), so the core counts it once.
            recorded = before if failure is None else before.with_failure(failure)
            action = next_attempt(None, recorded.with_health(health).with_now(executor.clock()))
        if unrecorded is not None:
            await self.record_failure(unrecorded, failed_target)
        for skip in action.skipped:
            logger.info("%s", skip)
            executor._notify(CandidateSkipped(message=str(skip), code=str(skip.code)))
        match action:
            case GiveUp(reason=reason, failures=failures, state=final):
                self.state = final
                await self._save_session()
                executor._notify(RequestGaveUp(reason=reason, failures=failures))
                logger.warning("request gave up: %s", reason)
                raise AttemptsExhaustedError(
                    f"The request gave up: {reason}", state=final, reason=str(reason)
                ) from self.last_exception()
            case Call(target=target, state=next_state):
                self.state = next_state
                self._notice_tier(target)
                number = next_state.attempts
                self.started_at[number] = executor.clock()
                self.waited_s[number] = waited_s
                executor._notify(
                    AttemptStarted(
                        number=number,
                        target=target,
                        reason=action.reason,
                        delay_s=waited_s,
                        probe=self.probing == target,
                    )
                )
                return action
            case _:
                assert_never(action)

    async def release_probe(self, target: Target) -> None:
        """
        Give back *target*'s half-open probe if this request holds it (its call was
        cancelled), so other requests need not wait for the lease to run out.
        """
        if self.probing != target:
            return
        self.probing = None
        with anyio.move_on_after(_CLEANUP_S, shield=True):
            await self.executor.store.update_health(lambda h: h.with_probe_released(target))

    async def _claim(
        self, target: Target, failure: Failure | None, failed_target: Target | None
    ) -> tuple[bool | None, HealthState]:
        """
        Check *target* in the shared health now, as its call goes out, and claim its
        half-open probe if one is due; record *failure* (of *failed_target*) in the
        same update.

        Returns:
            ``True`` when this request now holds the probe, ``False`` when the target
            is open and needs none, ``None`` when it is blocked (another request
            holds the probe, or a window opened meanwhile); and the health after the
            update, to decide on again.
        """
        at = self.executor.clock()
        policy = self.executor.routes.policy
        claimed: bool | None = None

        def claim(health: HealthState) -> HealthState:
            nonlocal claimed
            if failure is not None:
                health = health.with_failure(failure, policy, target=failed_target)
            blocked, probe = health.blocked_until(target, at), health.probe_due(target, at)
            if blocked is not None:
                claimed = None
                return health
            claimed = probe
            return health.with_probe_started(target, at, policy) if probe else health

        health = await self.executor.store.update_health(claim)
        return claimed, health

    def _notice_tier(self, target: Target) -> None:
        previous, self.previous = self.previous, target.profile
        if previous is None or previous == target.profile:
            return
        modes = self.executor.profile_modes
        before = modes.get(previous, AuthMode.API_KEY)
        after = modes.get(target.profile, AuthMode.API_KEY)
        if before is not AuthMode.API_KEY and after is AuthMode.API_KEY:
            self.executor._notify(
                TierChanged(
                    from_profile=previous,
                    to_profile=target.profile,
                    from_mode=before,
                    to_mode=after,
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
        self.out_of_time = isinstance(exc, DeadlineExceededError)
        if not self.out_of_time:
            self.probing = None  # a failure settles the probe: the core reopens the window
        if isinstance(exc, CredentialsError):
            failure = _credentials_failure(exc, target, now)
        else:
            adapter = executor.providers[target.model.provider].adapter
            failure = adapter.classify(
                exc, now=now, model=target.model, profile=target.profile, credential=credential
            )
        if after_output and failure.kind is not FailureKind.STREAM_INTERRUPTED:
            failure = attrs.evolve(failure, kind=FailureKind.STREAM_INTERRUPTED)
        self._last_error = (exc, credential)
        self._report(call, latency_s, None, failure)
        executor._notify(
            AttemptFailed(
                number=call.state.attempts, target=target, failure=failure, latency_s=latency_s
            )
        )
        logger.info("attempt %d on %s failed: %s", call.state.attempts, target, failure)
        return failure

    async def record_failure(self, failure: Failure, target: Target | None) -> None:
        """
        Record *failure* of *target* in the shared health.
        """
        policy = self.executor.routes.policy
        await self.executor.store.update_health(
            lambda h: h.with_failure(failure, policy, target=target)
        )

    async def interrupted(self, call: Call, failure: Failure) -> OutputInterruptedError:
        """
        End the request after its stream was cut with output shown and no restart
        was asked for: record the failure, save the session, tell the observers.

        Returns:
            The error to raise, chained to the (scrubbed) cause by the caller.
        """
        await self.record_failure(failure, call.target)
        self.state = self.state.with_failure(failure).gave_up()
        await self._save_session()
        reason = Reason(
            code=ReasonCode.STREAM_NOT_RESTARTED,
            message=f"the stream from {call.target.model} was cut after part of the answer "
            "had reached the caller, who did not ask for restarts",
        )
        self.executor._notify(RequestGaveUp(reason=reason, failures=self.state.failures))
        logger.warning("request gave up: %s", reason)
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
        at = executor.clock()
        self.probing = None
        self.state = self.state.succeeded(at)
        target = call.target
        await executor.store.update_health(lambda h: h.with_success(target, at))
        await self._save_session()
        self._report(call, latency_s, first_token_s, None)
        executor._notify(
            AttemptSucceeded(
                number=call.state.attempts,
                target=target,
                latency_s=latency_s,
                first_token_s=first_token_s,
                usage=response.usage,
            )
        )
        return Completion(
            response=response, target=target, attempts=tuple(self.reports), state=self.state
        )

    def _report(
        self, call: Call, latency_s: float, first_token_s: float | None, failure: Failure | None
    ) -> None:
        number = call.state.attempts
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
            )
        )

    async def _save_session(self) -> None:
        if self.session_id is not None:
            await self.executor.store.save_session(self.session_id, self.state.session)


def _unbounded(_call: Call) -> contextlib.AbstractContextManager[None]:
    """
    No bound at all: a stream read that its idle limit bounds already.
    """
    return contextlib.nullcontext()


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


# --- keeping secrets out of chained exceptions ------------------------------------------------

_SCAN_DEPTH: Final = 6
_SCAN_NODES: Final = 5_000


def chainable(exc: BaseException, credential: str | None) -> BaseException:
    """
    What to chain as ``__cause__`` of the error the caller sees, for *exc* that an
    attempt raised after sending *credential*.

    Providers and SDKs echo keys back, and not only in messages: an SDK exception
    keeps the error body, the response and the request (whose headers hold the key),
    and chains further exceptions. *exc* is chained as it is when none of that holds
    the credential. Otherwise a stand-in is chained and *exc* itself is left alone
    (never mutated: it belongs to the host's SDK): an httpx transport error becomes
    a copy of its own class with the key masked and no request attached; anything
    else becomes a :class:`~modelcfg.exceptions.RedactedError` naming the original
    class, its status and its masked message. Causes and contexts are treated the
    same way; the traceback is kept.
    """
    if not credential or len(credential) < 4 or not _holds(exc, credential):
        return exc
    return _stand_in(exc, credential, set())


def _stand_in(exc: BaseException, secret: str, seen: set[int]) -> BaseException:
    seen.add(id(exc))
    try:
        text = str(exc)
    except Exception:  # a broken __str__ says nothing
        text = ""
    message = redact(text, secret)
    replacement: BaseException
    if isinstance(exc, httpx.RequestError) and type(exc).__init__ is httpx.RequestError.__init__:
        replacement = type(exc)(message)
    else:
        replacement = RedactedError(
            f"{type(exc).__qualname__}: {message}" if message else type(exc).__qualname__,
            type_name=f"{type(exc).__module__}.{type(exc).__qualname__}",
            status=duck_status(exc),
        )

    def link(other: BaseException | None) -> BaseException | None:
        if other is None or id(other) in seen:
            return None
        if not _holds(other, secret):
            return other
        return _stand_in(other, secret, seen)

    replacement.__cause__ = link(exc.__cause__)
    replacement.__context__ = link(exc.__context__)
    replacement.__suppress_context__ = exc.__suppress_context__
    return replacement.with_traceback(exc.__traceback__)


def _holds(root: object, secret: str) -> bool:
    """
    Whether *secret* appears anywhere in *root*: its text, arguments, attributes,
    bodies, headers, requests and responses, and the exceptions chained to it.

    Fails closed: a scan cut short (more than ``_SCAN_NODES`` values, or something
    deeper than ``_SCAN_DEPTH`` left unread) counts as holding the secret, so the
    caller chains a masked stand-in rather than what it could not check.
    """
    needle = secret.encode()
    stack: list[tuple[object, int]] = [(root, 0)]
    seen: set[int] = set()
    while stack:
        if len(seen) >= _SCAN_NODES:
            return True
        value, depth = stack.pop()
        if value is None or isinstance(value, bool | int | float) or id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, str):
            if secret in value:
                return True
            continue
        if isinstance(value, bytes | bytearray | memoryview):
            if needle in bytes(value):
                return True
            continue
        children: list[object] = []
        if isinstance(value, BaseException):
            with contextlib.suppress(Exception):
                children.append(str(value))
            children += [value.args, getattr(value, "__notes__", None)]
            children += [value.__cause__, value.__context__]
        if isinstance(value, httpx.Request | httpx.Response):
            children += [str(value.url) if isinstance(value, httpx.Request) else None]
            children.append(list(value.headers.raw))
            with contextlib.suppress(Exception):
                children.append(value.content)  # only when read
            children.append(getattr(value, "_request", None))
        elif isinstance(value, Mapping):
            with contextlib.suppress(Exception):
                children += [item for pair in value.items() for item in pair]
        elif isinstance(value, list | tuple | set | frozenset):
            children += list(value)
        with contextlib.suppress(Exception):
            children += list(vars(value).values())
        for name in getattr(type(value), "__slots__", ()):
            with contextlib.suppress(Exception):
                children.append(getattr(value, name))
        if depth >= _SCAN_DEPTH:
            # Texts at the limit are still read; anything that would need a deeper walk
            # is left unread, so the scan cannot say the secret is absent.
            terminal = [child for child in children if _is_terminal(child)]
            if len(terminal) < len(children):
                return True
            children = terminal
        stack.extend((child, depth + 1) for child in children)
    return False


def _is_terminal(value: object) -> bool:
    """
    Whether the scan reads *value* without walking into it: ``None``, a number, a text.
    """
    return value is None or isinstance(value, bool | int | float | str | bytes | bytearray)


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


class StreamingCompletion:
    """
    A streamed answer: iterate it for events; ``completion`` is set once it ended.

    Events are :class:`~modelcfg.TextDelta`, :class:`~modelcfg.ToolCallDelta`,
    :class:`~modelcfg.StreamEnd` and, only with restarts allowed,
    :class:`StreamRestarted`. The success is recorded (``completion`` set, health
    and session saved, observers told) before the :class:`~modelcfg.StreamEnd`
    is yielded, so a caller may stop reading there.
    """

    def __init__(
        self, executor: Executor, run: _Run, request: ChatRequest, restart_after_output: bool
    ) -> None:
        self._executor = executor
        self._run = run
        self._request = request
        self._restart = restart_after_output
        self._events: AsyncIterator[StreamEvent | StreamRestarted] | None = None
        self.completion: Completion | None = None

    def __repr__(self) -> str:
        return f"StreamingCompletion(done={self.completion is not None})"

    def __aiter__(self) -> AsyncIterator[StreamEvent | StreamRestarted]:
        if self._events is None:
            self._events = self._iterate()
        return self._events

    async def aclose(self) -> None:
        """
        Close the underlying stream (done for you by ``async with``).
        """
        events = self._events
        if events is not None and hasattr(events, "aclose"):
            with anyio.CancelScope(shield=True):
                await events.aclose()

    async def text(self) -> str:
        """
        Consume the whole stream and return its text (restarts handled).
        """
        parts: list[str] = []
        async for event in self:
            if isinstance(event, StreamRestarted):
                parts.clear()
            elif isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts)

    async def _iterate(self) -> AsyncIterator[StreamEvent | StreamRestarted]:
        run, executor = self._run, self._executor
        failure: Failure | None = None
        interrupted: OutputInterruptedError | None = None
        while interrupted is None:
            call = await run.decide(failure)
            adapter = executor.providers[call.target.model.provider].adapter
            started = anyio.current_time()
            first_token: float | None = None
            received: list[StreamEvent] = []
            end: StreamEnd | None = None
            credential: str | None = None
            settled = False
            try:
                credential = await executor._credential(call.target)
                async with contextlib.AsyncExitStack() as stack:
                    # The deadline bounds the attempt until its first event (content or
                    # the end): the scope closes before anything is yielded to the caller.
                    # Once output flows, the idle limit bounds each read, and a long
                    # answer that keeps coming is not cut at the deadline; without an
                    # idle limit the deadline bounds each read, so no read is unbounded.
                    limits = run.limits()
                    with run.bounded(call):
                        events = aiter(
                            await stack.enter_async_context(
                                adapter.stream(
                                    executor.client,
                                    self._request,
                                    executor._endpoint(call.target, credential),
                                    limits=limits,
                                )
                            )
                        )
                        event = await anext(events, None)
                    reads = run.bounded if limits.idle_s is None else _unbounded
                    while event is not None:
                        received.append(event)
                        if isinstance(event, StreamEnd):
                            end = event
                            break
                        if first_token is None and isinstance(event, TextDelta | ToolCallDelta):
                            first_token = anyio.current_time() - started
                        yield event
                        with reads(call):
                            event = await anext(events, None)
                if end is None:
                    raise StreamInterruptedError(
                        f"the {adapter.name} stream for model {call.target.model} ended "
                        "without its end event",
                        provider=adapter.name,
                        model=call.target.model.model,
                        reason="cut",
                        started=first_token is not None,
                    )
                response = collect_stream(received)
                settled = True
            except Exception as exc:  # every provider failure is classified, never raised
                settled = True
                after_output = first_token is not None
                failure = run.failed(
                    call,
                    exc,
                    anyio.current_time() - started,
                    credential,
                    after_output=after_output,
                )
                if after_output and not self._restart:
                    # Raised below, outside this handler, so that the raw exception
                    # (which may hold the key) is not its __context__ either.
                    interrupted = await run.interrupted(call, failure)
                elif after_output:
                    yield StreamRestarted(failure=failure)
                continue
            finally:
                # Not kept in this frame: a traceback through it must not show the key.
                # (The adapter's event iterator holds it too, until the stack closes it.)
                credential = None
                if not settled:  # cancelled or abandoned mid-stream: give back a held probe
                    await run.release_probe(call.target)
            latency = anyio.current_time() - started
            # Recorded before the end is yielded: a caller may stop reading at StreamEnd.
            self.completion = await run.succeeded(
                call, response, latency, first_token_s=first_token
            )
            yield end
            return
        raise interrupted from run.last_exception()
