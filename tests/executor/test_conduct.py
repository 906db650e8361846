"""
Scenario tests for failure conduct over time: rate limits on a shared key, and a
primary that goes down and recovers under a steady stream of requests.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import anyio
import attrs
import httpx
import pytest

from modelcfg import (
    AttemptsExhaustedError,
    Client,
    ConfigError,
    FailureKind,
    ModelRef,
    OutputInterruptedError,
    Policy,
    ProfileId,
    RateLimitedError,
    ReasonCode,
    Selection,
)
from modelcfg._config._load import load_config
from modelcfg._config._schema import AuthMode
from modelcfg._executor._credentials import StaticCredentials, StoreCredentials
from modelcfg._executor._executor import Executor
from modelcfg._executor._reports import CandidateSkipped, ExecutorEvent, TierChanged
from modelcfg._messages import ChatRequest, ChatResponse
from modelcfg._transport import AsyncOpenAITransport, deadline_of
from modelcfg.adapters import DEFAULT_LIMITS, CallableAdapter, Endpoint
from modelcfg.auth import ApiKeyCredential, AuthStore, MemoryAuthStore, OAuthCredential
from modelcfg.stores import MemoryStateStore
from modelcfg.testing import FakeClock
from tests.executor.test_executor import (
    HELLO,
    _anthropic_ok,
    anthropic_error,
    anthropic_sse,
    openai_chunk,
    openai_ok,
    sse,
)

pytestmark = pytest.mark.anyio

OPUS = ModelRef.parse("anthropic/claude-opus-4-5")
SONNET = ModelRef.parse("anthropic/claude-sonnet-4-5")
ONE_KEY = load_config(
    {
        "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
        "agent": {"model": {"primary": str(OPUS), "fallbacks": [str(SONNET)]}},
    }
)
KEY = {"anthropic:default": "key-default"}


class Upstream:
    """
    A MockTransport handler for one Anthropic key: each model answers as its script
    says at the fake clock's time; every call is recorded as (time, model).
    """

    def __init__(self, clock: FakeClock, down: dict[str, tuple[float, float]]) -> None:
        self.clock = clock
        self.down = down
        self.calls: list[tuple[float, str]] = []
        self.error = anthropic_error(529, "overloaded_error", "busy")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        name: str = json.loads(request.content)["model"]
        at = self.clock.now
        self.calls.append((at, name))
        start, end = self.down.get(name, (0.0, 0.0))
        if start <= at < end:
            return self.error(request)
        return httpx.Response(200, json=_anthropic_ok(request))

    def at(self, model: ModelRef) -> list[float]:
        return [at for at, name in self.calls if name == model.model]


def executor_for(client: httpx.AsyncClient, clock: FakeClock, store: MemoryStateStore) -> Executor:
    return Executor.from_config(
        ONE_KEY,
        client=client,
        credentials=StaticCredentials(KEY),
        store=store,
        clock=clock,
        sleep=clock.sleep,
    )


async def test_rate_limited_primary_falls_back_at_once_on_the_same_key() -> None:
    """A 429 with Retry-After 30 on the primary is answered by the fallback on the same key at once, and the next request skips the primary while its pair cools."""
    clock = FakeClock()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        calls.append(model)
        if model == OPUS.model:
            return anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "30"})(
                request
            )
        return httpx.Response(200, json=_anthropic_ok(request))

    store = MemoryStateStore()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = executor_for(client, clock, store)
        first = await ex.complete(HELLO)
        clock.advance(10)
        second = await ex.complete(HELLO)
        clock.advance(25)
        third = await ex.complete(HELLO)

    assert (SONNET, ProfileId.parse("anthropic:default")) == (first.model, first.profile)
    assert [] == clock.sleeps
    assert ReasonCode.FALLBACK_MODEL == first.attempts[-1].reason.code
    assert (SONNET, 1) == (second.model, len(second.attempts))
    # Once the pair's window has passed, the primary is probed again; still limited.
    assert SONNET == third.model
    expected = [OPUS.model, SONNET.model, SONNET.model, OPUS.model, SONNET.model]
    assert expected == calls


async def test_a_recovered_primary_gets_traffic_back_within_thirty_seconds() -> None:
    """A primary down for 60 s under a steady stream sees at most one probe per window, and serves again within 30 s of recovering."""
    clock = FakeClock()
    start = clock.now
    upstream = Upstream(clock, {OPUS.model: (start, start + 60)})
    store = MemoryStateStore()
    served: list[tuple[float, ModelRef]] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as client:
        ex = executor_for(client, clock, store)
        for _tick in range(40):  # Three concurrent requests every 5 s, for 200 s.
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(_serve, ex, clock, served)
            clock.advance(5)

    outage = [at for at in upstream.at(OPUS) if at < start + 60]
    gaps = [later - earlier for earlier, later in itertools.pairwise(outage)]
    back = min(at for at, model in served if model == OPUS and at >= start + 60)
    assert [] == clock.sleeps
    assert all(gap >= 15 for gap in gaps), gaps
    assert back - (start + 60) <= 30
    assert all(model == OPUS for at, model in served if at >= back)


async def _serve(ex: Executor, clock: FakeClock, served: list[tuple[float, ModelRef]]) -> None:
    at = clock.now
    served.append((at, (await ex.complete(HELLO)).model))


# --- missing credentials ---------------------------------------------------------------------

GPT = ModelRef.parse("openai/gpt-5.2")
TWO_PROVIDERS = load_config(
    {
        "providers": {
            "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
            "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
        },
        "agent": {"model": {"primary": str(GPT), "fallbacks": [str(OPUS)]}},
    }
)


def two_providers(seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/chat/completions"):
            return openai_ok()(request)
        return httpx.Response(200, json=_anthropic_ok(request))

    return httpx.MockTransport(handler)


async def test_a_missing_key_skips_the_profile_before_any_call() -> None:
    """A provider without a key is skipped with what to set: no attempt, no cooldown, and a key set later is used by the next request."""
    environ = {"ANTHROPIC_API_KEY": "sk-ant-test"}
    seen: list[str] = []
    events: list[ExecutorEvent] = []
    store = MemoryStateStore()
    clock = FakeClock()
    async with httpx.AsyncClient(transport=two_providers(seen)) as client:
        ex = Executor.from_config(
            TWO_PROVIDERS,
            client=client,
            environ=environ,
            store=store,
            observers=[events.append],
            clock=clock,
            sleep=clock.sleep,
        )
        first = await ex.complete(HELLO)
        health = await store.load_health()
        environ["OPENAI_API_KEY"] = "sk-openai-test"
        second = await ex.complete(HELLO)

    skips = [e.message for e in events if isinstance(e, CandidateSkipped)]
    assert (OPUS, 1) == (first.model, len(first.attempts))
    assert ["/v1/messages", "/v1/chat/completions"] == seen
    assert [
        "openai:default skipped: no credential (No credentials for openai: set "
        "OPENAI_API_KEY or run `modelcfg login openai`.)"
    ] == skips
    assert ({}, {}) == (dict(health.cooldowns), dict(health.model_cooldowns))
    assert (GPT, 1) == (second.model, len(second.attempts))
    assert [] == clock.sleeps


async def test_no_key_anywhere_gives_up_naming_what_to_set() -> None:
    """With no credential for any candidate, the request gives up at once, naming the variable to set."""
    seen: list[str] = []
    async with httpx.AsyncClient(transport=two_providers(seen)) as client:
        ex = Executor.from_config(TWO_PROVIDERS, client=client, environ={}, clock=FakeClock())
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)

    assert [] == seen
    assert "set OPENAI_API_KEY or run `modelcfg login openai`" in str(info.value)
    assert () == info.value.state.history


async def test_from_config_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without environ=, the executor reads os.environ, as the providers' SDKs do."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-from-the-environment")
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["authorization"])
        return openai_ok()(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(TWO_PROVIDERS, client=client, clock=FakeClock())
        result = await ex.complete(HELLO)

    assert GPT == result.model
    assert ["Bearer sk-fake-from-the-environment"] == keys


@pytest.mark.parametrize("needs_credential", [True, False])
async def test_a_callable_provider_may_need_no_credential(needs_credential: bool) -> None:
    """A callable that handles its own auth and says so is called with no credential; one that does not say so is skipped."""
    config = load_config(
        {
            "providers": {
                "mine": {"api": "custom"},
                "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
            },
            "agent": {"model": {"primary": "mine/m1", "fallbacks": [str(OPUS)]}},
        }
    )
    credentials: list[str | None] = []

    async def call(request: ChatRequest, endpoint: Endpoint) -> ChatResponse:
        credentials.append(endpoint.credential)
        return ChatResponse(text="mine", model="m1")

    adapter = CallableAdapter(call=call, needs_credential=needs_credential)
    seen: list[str] = []
    async with httpx.AsyncClient(transport=two_providers(seen)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            adapters={"mine": adapter},
            environ={"ANTHROPIC_API_KEY": "sk-ant-test"},
            clock=FakeClock(),
        )
        result = await ex.complete(HELLO)

    expected = ("mine/m1", [None]) if not needs_credential else (str(OPUS), [])
    assert expected == (str(result.model), credentials)


# --- per-request deadline ----------------------------------------------------------------------

ONE_MODEL = load_config(
    {
        "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
        "agent": {"model": {"primary": str(OPUS)}},
    }
)


@pytest.mark.parametrize(("deadline_s", "sleeps"), [(None, 1), (10.0, 0)])
async def test_a_request_deadline_bounds_cooldown_waits(
    deadline_s: float | None, sleeps: int
) -> None:
    """A rate limit with Retry-After 30 is waited for under the policy's deadline, but not past a 10 s deadline the caller gives."""
    clock = FakeClock()
    replies = [
        anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "30"}),
        lambda request: httpx.Response(200, json=_anthropic_ok(request)),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return replies.pop(0)(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            ONE_MODEL,
            client=client,
            credentials=StaticCredentials(KEY),
            clock=clock,
            sleep=clock.sleep,
        )
        try:
            result: ModelRef | str = (await ex.complete(HELLO, deadline_s=deadline_s)).model
        except RateLimitedError as exc:
            result = exc.reason.split(":")[0]

    assert sleeps == len(clock.sleeps)
    assert all(delay >= 30 for delay in clock.sleeps)
    assert (OPUS if deadline_s is None else "deadline_reached") == result


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
async def test_a_request_deadline_must_be_positive(bad: float) -> None:
    """A deadline that is not a finite positive number is refused, naming the argument."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as c:
        ex = Executor.from_config(ONE_MODEL, client=c, credentials=StaticCredentials(KEY))
        with pytest.raises(ValueError, match="deadline_s"):
            await ex.complete(HELLO, deadline_s=bad)


# --- the tier change follows the stored credential ------------------------------------------


async def test_the_tier_change_follows_the_stored_credential_kind() -> None:
    """Moving from a stored OAuth login to a stored API key tells the observers, with no mode declared in the config."""
    config = load_config(
        {
            "auth": {"order": {"anthropic": ["anthropic:sub", "anthropic:paid"]}},
            "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": str(OPUS)}},
        }
    )
    store = MemoryAuthStore()
    store.put("anthropic:sub", OAuthCredential(access="oauth-access"))
    store.put("anthropic:paid", ApiKeyCredential(key="paid-key"))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-api-key") == "paid-key":
            return httpx.Response(200, json=_anthropic_ok(request))
        return anthropic_error(401, "authentication_error", "expired")(request)

    events: list[ExecutorEvent] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            auth_store=store,
            environ={},
            observers=[events.append],
            clock=FakeClock(),
        )
        result = await ex.complete(HELLO)

    tiers = [(e.from_mode, e.to_mode) for e in events if isinstance(e, TierChanged)]
    assert ProfileId.parse("anthropic:paid") == result.profile
    assert [(AuthMode.OAUTH, AuthMode.API_KEY)] == tiers


# --- declared modes and recorded uses ---------------------------------------------------------


async def test_a_token_profile_with_an_oauth_login_is_skipped_naming_the_mismatch() -> None:
    """A profile declared mode token whose stored credential is an OAuth login is skipped before any call, the skip naming the mismatch, and the next profile answers."""
    config = load_config(
        {
            "auth": {
                "profiles": {"anthropic:setup": {"provider": "anthropic", "mode": "token"}},
                "order": {"anthropic": ["anthropic:setup", "anthropic:paid"]},
            },
            "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": str(OPUS)}},
        }
    )
    store = MemoryAuthStore()
    store.put("anthropic:setup", OAuthCredential(access="oauth-access"))
    store.put("anthropic:paid", ApiKeyCredential(key="paid-key"))
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("x-api-key") or request.headers.get("authorization"))
        return httpx.Response(200, json=_anthropic_ok(request))

    events: list[ExecutorEvent] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            auth_store=store,
            environ={},
            observers=[events.append],
            clock=FakeClock(),
        )
        result = await ex.complete(HELLO)

    skips = [e.message for e in events if isinstance(e, CandidateSkipped)]
    assert (ProfileId.parse("anthropic:paid"), ["paid-key"]) == (result.profile, sent)
    assert 1 == len(skips)
    assert "declares mode token for it, but the auth store holds an OAuth login" in skips[0]


async def test_a_successful_attempt_records_the_profiles_last_use() -> None:
    """A success sets the stored profile's last_used_at to the time it answered; a profile that failed keeps none."""
    config = load_config(
        {
            "auth": {"order": {"anthropic": ["anthropic:work", "anthropic:spare"]}},
            "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": str(OPUS)}},
        }
    )
    store = MemoryAuthStore()
    store.put("anthropic:work", ApiKeyCredential(key="revoked-key"))
    store.put("anthropic:spare", ApiKeyCredential(key="spare-key"))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-api-key") == "spare-key":
            return httpx.Response(200, json=_anthropic_ok(request))
        return anthropic_error(401, "authentication_error", "invalid x-api-key")(request)

    clock = FakeClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(config, client=client, auth_store=store, environ={}, clock=clock)
        await ex.complete(HELLO)

    used = [getattr(store.get(p), "last_used_at", 0) for p in ("anthropic:work", "anthropic:spare")]
    assert [None, clock.now] == used


async def test_recorded_uses_reach_a_file_store(tmp_path: Path) -> None:
    """With a file auth store, a stored profile's use is written to the file in a batch; a key from the environment records nothing."""
    store = AuthStore(path=tmp_path / "auth.json")
    store.put("anthropic:default", ApiKeyCredential(key="stored-key"))
    clock = FakeClock()
    async with httpx.AsyncClient(transport=two_providers([])) as client:
        ex = Executor.from_config(
            TWO_PROVIDERS,
            client=client,
            auth_store=store,
            environ={"OPENAI_API_KEY": "sk-fake-openai-env"},
            clock=clock,
        )
        await ex.complete(HELLO, selection=Selection(model=OPUS))
        await ex.complete(HELLO)  # openai, with the environment key
        credentials = ex.credentials
        assert isinstance(credentials, StoreCredentials)
        credentials.flush()

    written = AuthStore(path=tmp_path / "auth.json")
    used = written.get("anthropic:default")
    assert used is not None
    assert clock.now == used.last_used_at
    assert [ProfileId.parse("anthropic:default")] == [p.profile for p in written.profiles()]


# --- one switch for restarting cut streams ----------------------------------------------------

TWO_OPENAI = load_config(
    {
        "providers": {"openai": {"baseUrl": "http://mock/v1"}},
        "agent": {"model": {"primary": "openai/gpt-5.2", "fallbacks": ["openai/gpt-5-mini"]}},
    }
)


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("cut_after_output", [False, True])
async def test_restarting_a_cut_stream_is_the_callers_one_switch(
    restart: bool, cut_after_output: bool
) -> None:
    """A stream cut before any output always restarts on the next model; one cut after output restarts only when the caller passed restart_after_output."""
    first = sse(openai_chunk("Hal")) if cut_after_output else sse(openai_chunk())
    replies = [first, sse(openai_chunk("Hello"), openai_chunk(finish="stop"), "[DONE]")]

    def handler(request: httpx.Request) -> httpx.Response:
        return replies.pop(0)(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            TWO_OPENAI, client=client, credentials=StaticCredentials({"openai:default": "k"})
        )
        try:
            async with ex.stream(HELLO, restart_after_output=restart) as answer:
                outcome = await answer.text()
        except OutputInterruptedError:
            outcome = "interrupted"

    assert ("interrupted" if cut_after_output and not restart else "Hello") == outcome


def test_the_removed_policy_switch_says_where_the_choice_went() -> None:
    """The config key of the removed policy switch is refused with a message naming the caller's switch."""
    with pytest.raises(ConfigError) as info:
        load_config({"policy": {"restartInterruptedStreams": False}})

    assert (
        "$.policy.restartInterruptedStreams: no longer a policy setting: whether a stream "
        "cut after output restarts is the caller's choice, "
        "Executor.stream(..., restart_after_output=True)",
    ) == info.value.errors
    assert "restart_interrupted_streams" not in attrs.fields_dict(Policy)


# --- timeouts in the config -------------------------------------------------------------------


def test_the_config_timeouts_default_to_the_exported_limits() -> None:
    """The timeouts a config leaves out are DEFAULT_LIMITS, the limits an executor uses by default."""
    timeouts = load_config({}).timeouts

    assert (
        DEFAULT_LIMITS.connect_s,
        DEFAULT_LIMITS.read_s,
        DEFAULT_LIMITS.first_token_s,
        DEFAULT_LIMITS.idle_s,
    ) == (timeouts.connect_s, timeouts.read_s, timeouts.first_token_s, timeouts.idle_s)


@pytest.mark.parametrize(
    ("timeouts", "expected"),
    [
        (
            {"idleSeconds": 0},
            "$.timeouts.idleSeconds: must be a finite number of seconds > 0, or null for no "
            "limit, not 0.0",
        ),
        ({"readSeconds": "30s"}, "$.timeouts.readSeconds: expected a number, not the string '30s'"),
        ({"connect": 5}, "$.timeouts.connect: unknown key (did you mean 'connectSeconds'?)"),
    ],
)
def test_bad_timeouts_are_named_at_their_json_path(
    timeouts: dict[str, object], expected: str
) -> None:
    """A timeout that is not a positive number of seconds or null is refused at its $.path."""
    with pytest.raises(ConfigError) as info:
        load_config({"timeouts": timeouts})

    assert (expected,) == info.value.errors


async def test_the_config_timeouts_bound_every_attempt() -> None:
    """Timeouts from the config reach the executor (null switching one off), unless the host passes limits; a primary slower than the first-token limit falls back."""
    config = load_config(
        {
            "timeouts": {"firstTokenSeconds": 0.05, "idleSeconds": None, "readSeconds": 30},
            "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": str(OPUS), "fallbacks": [str(SONNET)]}},
        }
    )

    async def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["model"] == OPUS.model:
            await anyio.sleep(30)
        return httpx.Response(200, json=_anthropic_ok(request))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(config, client=client, credentials=StaticCredentials(KEY))
        host = Executor.from_config(
            config, client=client, credentials=StaticCredentials(KEY), limits=DEFAULT_LIMITS
        )
        result = await ex.complete(HELLO)

    assert attrs.evolve(DEFAULT_LIMITS, first_token_s=0.05, idle_s=None, read_s=30.0) == ex.limits
    assert DEFAULT_LIMITS == host.limits
    failure = result.attempts[0].failure
    assert (SONNET, FailureKind.TIMEOUT) == (result.model, failure.kind if failure else None)


# --- the per-request deadline through the sync client and the OpenAI transports ---------------


def limited_then_ok(*, stream: bool = False) -> httpx.MockTransport:
    """One 429 with Retry-After 30, then answers (streamed, with *stream*)."""
    replies = [
        anthropic_error(429, "rate_limit_error", "slow down", **{"retry-after": "30"}),
        anthropic_sse("Hello")
        if stream
        else lambda request: httpx.Response(200, json=_anthropic_ok(request)),
    ]
    return httpx.MockTransport(lambda request: replies.pop(0)(request))


def one_model_executor(client: httpx.AsyncClient, clock: FakeClock) -> Executor:
    return Executor.from_config(
        ONE_MODEL, client=client, credentials=StaticCredentials(KEY), clock=clock, sleep=clock.sleep
    )


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("deadline_s", [None, 10.0])
def test_the_sync_client_passes_the_request_deadline(
    deadline_s: float | None, stream: bool
) -> None:
    """Client.complete() and Client.stream() take deadline_s: a 30 s cooldown wait is taken without it and never past a 10 s one."""
    clock = FakeClock()
    client = Client.from_executor(
        lambda http: one_model_executor(http, clock),
        http_client=lambda: httpx.AsyncClient(transport=limited_then_ok(stream=stream)),
    )
    with client:
        try:
            if stream:
                streamed = attrs.evolve(HELLO, stream=True)
                with client.stream(streamed, deadline_s=deadline_s) as answer:
                    answer.text()
                    outcome = "answered"
            else:
                client.complete(HELLO, deadline_s=deadline_s)
                outcome = "answered"
        except RateLimitedError as exc:
            outcome = exc.reason.split(":")[0]

    expected = ("answered", 1) if deadline_s is None else ("deadline_reached", 0)
    assert expected == (outcome, len(clock.sleeps))


@pytest.mark.parametrize("timeout", [None, 10.0])
async def test_the_async_transport_takes_the_deadline_from_the_clients_timeout(
    timeout: float | None,
) -> None:
    """Through the OpenAI transport, a client's read timeout shorter than the policy's deadline is the request's deadline: no cooldown wait outlasts the caller's timeout."""
    clock = FakeClock()
    async with httpx.AsyncClient(transport=limited_then_ok()) as providers:
        transport = AsyncOpenAITransport(one_model_executor(providers, clock), config=ONE_MODEL)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as sdk:
            response = await sdk.post(
                "http://sdk.invalid/v1/chat/completions",
                json={"model": str(OPUS), "messages": [{"role": "user", "content": "Hi"}]},
            )

    expected = (200, 1) if timeout is None else (429, 0)
    assert expected == (response.status_code, len(clock.sleeps))


@pytest.mark.parametrize(
    ("timeouts", "expected"),
    [
        ({"read": 10.0}, 10.0),
        ({"read": 600.0}, None),  # the OpenAI SDK's default: the policy's deadline is shorter
        ({"read": None}, None),
        ({}, None),
        ({"read": True}, None),
    ],
)
def test_the_deadline_read_from_a_request(
    timeouts: dict[str, object], expected: float | None
) -> None:
    """Only a positive read timeout shorter than the policy's deadline becomes the request's deadline."""
    request = httpx.Request("POST", "http://sdk.invalid/", extensions={"timeout": timeouts})

    assert expected == deadline_of(request, 120.0)


def test_the_decisions_page_shows_the_default_limits() -> None:
    """docs/decisions.md lists each default per-attempt limit with the value DEFAULT_LIMITS has."""
    page = (Path(__file__).parents[2] / "docs" / "decisions.md").read_text()
    shown = {
        name: f"- `{name}` = `{getattr(DEFAULT_LIMITS, name)}`"
        for name in ("connect_s", "read_s", "first_token_s", "idle_s")
    }

    assert dict.fromkeys(shown, True) == {name: line in page for name, line in shown.items()}


async def test_the_tier_change_follows_a_login_made_while_running() -> None:
    """A subscription logged in after the executor was built still counts as one: moving from it to a paid key tells the observers."""
    config = load_config(
        {
            "auth": {"order": {"anthropic": ["anthropic:sub", "anthropic:paid"]}},
            "providers": {"anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": str(OPUS)}},
        }
    )
    store = MemoryAuthStore()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-api-key") == "paid-key":
            return httpx.Response(200, json=_anthropic_ok(request))
        return anthropic_error(429, "rate_limit_error", "usage limit reached")(request)

    events: list[ExecutorEvent] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            auth_store=store,
            environ={},
            observers=[events.append],
            clock=FakeClock(),
        )
        store.put("anthropic:sub", OAuthCredential(access="oauth-access"))
        store.put("anthropic:paid", ApiKeyCredential(key="paid-key"))
        result = await ex.complete(HELLO)

    tiers = [(e.from_mode, e.to_mode) for e in events if isinstance(e, TierChanged)]
    assert ProfileId.parse("anthropic:paid") == result.profile
    assert [(AuthMode.OAUTH, AuthMode.API_KEY)] == tiers


@pytest.mark.parametrize(("scope_s", "sleeps"), [(None, 1), (300.0, 1), (10.0, 0)])
async def test_the_callers_cancel_scope_bounds_cooldown_waits(
    scope_s: float | None, sleeps: int
) -> None:
    """Inside the caller's own cancel scope, a 30 s cooldown wait that would outlast it is not taken: the request ends at once instead of sleeping until it is cancelled."""
    clock = FakeClock()
    async with httpx.AsyncClient(transport=limited_then_ok()) as client:
        ex = one_model_executor(client, clock)
        try:
            with anyio.fail_after(scope_s):
                outcome: str = str((await ex.complete(HELLO)).model)
        except RateLimitedError as exc:
            outcome = exc.reason.split(":")[0]

    assert (sleeps, "deadline_reached" if sleeps == 0 else str(OPUS)) == (
        len(clock.sleeps),
        outcome,
    )
