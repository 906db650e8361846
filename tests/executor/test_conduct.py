"""
Scenario tests for failure conduct over time: rate limits on a shared key, and a
primary that goes down and recovers under a steady stream of requests.
"""

from __future__ import annotations

import itertools
import json

import anyio
import httpx
import pytest

from modelcfg import AttemptsExhaustedError, ModelRef, ProfileId, RateLimitedError, ReasonCode
from modelcfg._config._load import load_config
from modelcfg._config._schema import AuthMode
from modelcfg._executor._credentials import StaticCredentials
from modelcfg._executor._executor import Executor
from modelcfg._executor._reports import CandidateSkipped, ExecutorEvent, TierChanged
from modelcfg._messages import ChatRequest, ChatResponse
from modelcfg.adapters import CallableAdapter, Endpoint
from modelcfg.auth import ApiKeyCredential, MemoryAuthStore, OAuthCredential
from modelcfg.stores import MemoryStateStore
from modelcfg.testing import FakeClock
from tests.executor.test_executor import HELLO, _anthropic_ok, anthropic_error, openai_ok

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
