"""
Tests for the misbehaving loopback provider, through the real adapters and a real
httpx.AsyncClient, under asyncio and trio.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from modelcfg import Failure, FailureKind
from modelcfg._messages import ChatRequest, ChatResponse, Message, Usage, collect_stream
from modelcfg.adapters import (
    Adapter,
    AnthropicAdapter,
    CallLimits,
    Endpoint,
    FirstTokenTimeoutError,
    OpenAIAdapter,
    StreamInterruptedError,
)
from modelcfg.testing._provider import BEHAVIOURS, FakeProvider, Flap
from modelcfg.typing import JSON

pytestmark = pytest.mark.anyio

CANARY = "sk-canary-DO-NOT-LEAK-0123456789"
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
LIMITS = CallLimits(connect_s=2.0, read_s=5.0, first_token_s=2.0, idle_s=0.3)
ADAPTERS: dict[str, Adapter] = {"openai": OpenAIAdapter(), "anthropic": AnthropicAdapter()}
K = FailureKind
TLS = ssl.create_default_context()  # built once: building one per client costs ~50 ms
GOOD_HEADERS: dict[str, dict[str, str]] = {
    "openai": {"authorization": f"Bearer {CANARY}", "content-type": "application/json"},
    "anthropic": {
        "x-api-key": CANARY,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    },
}
GOOD_BODIES: dict[str, dict[str, JSON]] = {
    "openai": {"model": "ok", "messages": [{"role": "user", "content": "Hi"}]},
    "anthropic": {
        "model": "ok",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
    },
}
PATHS = {"openai": "/chat/completions", "anthropic": "/messages"}


@pytest.fixture(params=sorted(ADAPTERS))
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(
        retry_after_s=2,
        first_token_delay_s=0.25,
        behaviours={"primary": Flap(down_requests=2), "backup": "ok"},
    ) as provider:
        yield provider


async def attempt(
    wire: str, fake: FakeProvider, model: str, *, stream: bool, limits: CallLimits = LIMITS
) -> ChatResponse | Failure:
    """
    One attempt through the real adapter: the answer, or the classified failure.
    """
    adapter = ADAPTERS[wire]
    endpoint = Endpoint(model=model, base_url=fake.base_url, credential=CANARY)
    async with httpx.AsyncClient(verify=TLS) as client:
        try:
            if stream:
                async with adapter.stream(client, HELLO, endpoint, limits=limits) as events:
                    return collect_stream([event async for event in events])
            return await adapter.complete(client, HELLO, endpoint, limits=limits)
        except Exception as exc:
            return adapter.classify(exc, now=0.0, credential=CANARY)


def kind(outcome: ChatResponse | Failure) -> str:
    return "ok" if isinstance(outcome, ChatResponse) else outcome.kind.value


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_ok(wire: str, fake: FakeProvider, stream: bool) -> None:
    """A healthy model answers deterministically, with usage, whole or streamed."""
    outcome = await attempt(wire, fake, "ok", stream=stream)

    assert (
        ChatResponse(
            text="Hello from ok",
            finish_reason="stop",
            usage=Usage(input_tokens=12, output_tokens=4),
            model="ok",
            provider_request_id=outcome.provider_request_id
            if isinstance(outcome, ChatResponse)
            else None,
        )
        == outcome
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param("429", [K.RATE_LIMITED, K.RATE_LIMITED], id="429-persistent"),
        pytest.param("500-once", [K.SERVER, "ok"], id="500-once"),
        pytest.param("503", [K.SERVER, K.SERVER], id="503-persistent"),
        pytest.param("overloaded", [K.OVERLOADED, K.OVERLOADED], id="overloaded"),
        pytest.param("context-length", [K.CONTEXT_OVERFLOW], id="context-length"),
        pytest.param("content-filter", [K.CONTENT_FILTER], id="content-filter"),
        pytest.param("auth", [K.AUTH], id="auth"),
        pytest.param("billing", [K.BILLING], id="billing"),
        pytest.param("not-found", [K.MODEL_NOT_FOUND], id="not-found"),
        pytest.param("200-error", [K.RATE_LIMITED], id="error-object-under-200"),
        pytest.param("reset", [K.CONNECTION], id="reset"),
        pytest.param("primary", [K.SERVER, K.SERVER, "ok"], id="flap-down-for-two-requests"),
    ],
)
async def test_status_behaviours(
    wire: str, fake: FakeProvider, model: str, expected: list[str]
) -> None:
    """Each behaviour fails (and recovers) as documented, and the server counts the requests."""
    outcomes = [kind(await attempt(wire, fake, model, stream=False)) for _ in expected]

    assert ([str(value) for value in expected], len(expected)) == (
        outcomes,
        len(fake.requests_for(model)),
    )


async def test_429_once_sends_retry_after(wire: str, fake: FakeProvider) -> None:
    """429-once answers 429 with the configured Retry-After, then succeeds."""
    first = await attempt(wire, fake, "429-once", stream=True)
    second = await attempt(wire, fake, "429-once", stream=True)

    assert (K.RATE_LIMITED, 2.0, "ok") == (
        first.kind if isinstance(first, Failure) else None,
        first.retry_after_s if isinstance(first, Failure) else None,
        kind(second),
    )


async def test_persistent_429_has_no_retry_after(wire: str, fake: FakeProvider) -> None:
    """The persistent 429 gives no Retry-After, so the failure carries none."""
    outcome = await attempt(wire, fake, "429", stream=False)

    assert None is (outcome.retry_after_s if isinstance(outcome, Failure) else "answered")


async def test_echoed_key_is_redacted(wire: str, fake: FakeProvider) -> None:
    """The auth behaviour echoes the key; the failure never shows it."""
    outcome = await attempt(wire, fake, "auth", stream=False)

    assert (K.AUTH, False) == (
        outcome.kind if isinstance(outcome, Failure) else None,
        CANARY in repr(outcome),
    )


async def test_silent_is_a_timeout(wire: str, fake: FakeProvider) -> None:
    """A server that never answers runs into the first-token limit: a timeout."""
    limits = CallLimits(first_token_s=0.15)
    started = time.monotonic()
    outcomes = [
        kind(await attempt(wire, fake, "silent", stream=stream, limits=limits))
        for stream in (False, True)
    ]

    assert (["timeout", "timeout"], True) == (outcomes, time.monotonic() - started < 3)


async def test_silent_with_httpx_read_timeout(wire: str, fake: FakeProvider) -> None:
    """Without a first-token limit, httpx's read timeout catches the silent server."""
    outcome = await attempt(wire, fake, "silent", stream=False, limits=CallLimits(read_s=0.15))

    assert ("timeout", "ReadTimeout") == (kind(outcome), getattr(outcome, "code", None))


async def test_slow_first_token(wire: str, fake: FakeProvider) -> None:
    """A first token slower than the limit is a timeout; within a longer limit it succeeds."""
    too_slow = await attempt(
        wire, fake, "slow-first-token", stream=True, limits=CallLimits(first_token_s=0.15)
    )
    started = time.monotonic()
    patient = await attempt(
        wire, fake, "slow-first-token", stream=True, limits=CallLimits(first_token_s=3.0)
    )
    waited_s = time.monotonic() - started

    assert ("timeout", "ok", True) == (kind(too_slow), kind(patient), waited_s >= 0.2)


async def test_cut_stream_is_interrupted(wire: str, fake: FakeProvider) -> None:
    """A stream cut mid-answer is stream_interrupted, never a truncated success."""
    outcome = await attempt(wire, fake, "cut", stream=True)

    assert ("stream_interrupted", "cut") == (kind(outcome), getattr(outcome, "code", None))


async def test_stalled_stream_is_interrupted_promptly(wire: str, fake: FakeProvider) -> None:
    """A stream that stops sending is interrupted after the idle limit, not the socket's."""
    started = time.monotonic()
    outcome = await attempt(
        wire, fake, "stall", stream=True, limits=CallLimits(idle_s=0.15, read_s=30)
    )
    elapsed_s = time.monotonic() - started

    assert ("stream_interrupted", "stalled", True) == (
        kind(outcome),
        getattr(outcome, "code", None),
        elapsed_s < 3,
    )


async def test_malformed_stream_fails_cleanly(wire: str, fake: FakeProvider) -> None:
    """A garbage event fails the stream as malformed; a garbage whole body is a server failure."""
    streamed = await attempt(wire, fake, "malformed", stream=True)
    whole = await attempt(wire, fake, "malformed", stream=False)

    assert (("stream_interrupted", "malformed"), ("server", "malformed_response")) == (
        (kind(streamed), getattr(streamed, "code", None)),
        (kind(whole), getattr(whole, "code", None)),
    )


async def test_missing_done_is_fine(wire: str, fake: FakeProvider) -> None:
    """A stream without [DONE] / message_stop, but with a finish reason and usage, succeeds."""
    outcome = await attempt(wire, fake, "no-done", stream=True)

    assert ("Hello from no-done", "stop", Usage(input_tokens=12, output_tokens=4)) == (
        getattr(outcome, "text", None),
        getattr(outcome, "finish_reason", None),
        getattr(outcome, "usage", None),
    )


async def test_stream_errors_are_typed(wire: str, fake: FakeProvider) -> None:
    """The call path raises the documented exception types for cut streams and slow starts."""
    adapter = ADAPTERS[wire]
    raised: list[type[BaseException]] = []
    async with httpx.AsyncClient(verify=TLS) as client:
        for model, limits in (("cut", LIMITS), ("slow-first-token", CallLimits(first_token_s=0.1))):
            endpoint = Endpoint(model=model, base_url=fake.base_url, credential=CANARY)
            try:
                async with adapter.stream(client, HELLO, endpoint, limits=limits) as events:
                    async for _event in events:
                        pass
            except Exception as exc:
                raised.append(type(exc))

    assert [StreamInterruptedError, FirstTokenTimeoutError] == raised


async def test_flap_by_time(wire: str) -> None:
    """A provider down for a time answers 503 until the window has passed, then recovers."""
    with FakeProvider(behaviours={"primary": Flap(down_requests=None, down_s=0.15)}) as fake:
        early = await attempt(wire, fake, "primary", stream=False)
        await anyio.sleep(0.2)
        late = await attempt(wire, fake, "primary", stream=False)

    assert ("server", "ok") == (kind(early), kind(late))


async def test_requests_are_recorded_with_arrival_times(wire: str, fake: FakeProvider) -> None:
    """Every request is recorded in order with its model, wire, behaviour and arrival time."""
    for model in ("ok", "backup", "429"):
        await attempt(wire, fake, model, stream=model == "ok")
    records = fake.requests
    times = [record.arrived_at for record in records]

    assert (
        [("ok", wire, "ok", True), ("backup", wire, "ok", False), ("429", wire, "429", False)],
        sorted(times),
        False,
    ) == (
        [(r.model, r.wire, r.behaviour, r.stream) for r in records],
        times,
        any(CANARY in repr(r) for r in records),
    )


async def test_api_key_is_checked_when_set(wire: str) -> None:
    """With api_key set, a request with another key gets 401."""
    with FakeProvider(api_key="sk-canary-other-key-0000000000") as fake:
        outcome = await attempt(wire, fake, "ok", stream=False)

    assert "auth" == kind(outcome)


async def test_models_listing(wire: str, fake: FakeProvider) -> None:
    """GET /v1/models lists every behaviour in the wire format's shape."""
    headers = GOOD_HEADERS[wire]
    async with httpx.AsyncClient(verify=TLS) as client:
        response = await client.get(f"{fake.base_url}/models", headers=headers)
    ids = [item["id"] for item in response.json()["data"]]

    assert (200, list(BEHAVIOURS), wire == "anthropic") == (
        response.status_code,
        ids,
        "has_more" in response.json(),
    )


def test_stop_returns_with_connections_still_open() -> None:
    """Stopping drops silent connections at once instead of waiting for them."""
    fake = FakeProvider().start()
    sock = __import__("socket").create_connection(("127.0.0.1", fake.port))
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 17\r\n\r\n"
        b'{"model":"silent"}'[:17]
    )
    time.sleep(0.1)
    started = time.monotonic()
    fake.stop()
    sock.close()

    assert True is (time.monotonic() - started < 2)


def test_only_loopback() -> None:
    """The fake provider refuses to bind anywhere but loopback."""

    with pytest.raises(ValueError, match="loopback"):
        FakeProvider(host="0.0.0.0")


def test_unknown_behaviour_is_rejected() -> None:
    """A behaviour name that does not exist is an error naming the choices."""

    with pytest.raises(ValueError, match="is not one of"):
        FakeProvider(behaviours={"m": "explode"})


def test_port_needs_a_running_server() -> None:
    """Asking for the URL of a stopped server says how to start it."""

    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeProvider().base_url


async def test_missing_done_with_the_connection_open_finishes_promptly(
    wire: str, fake: FakeProvider
) -> None:
    """A stream whose end marker never comes on a connection kept open ends at once, with usage."""
    started = time.monotonic()
    outcome = await attempt(
        wire, fake, "no-done-open", stream=True, limits=CallLimits(idle_s=5.0, read_s=10.0)
    )
    elapsed_s = time.monotonic() - started

    assert ("Hello from no-done-open", "stop", Usage(input_tokens=12, output_tokens=4), True) == (
        getattr(outcome, "text", None),
        getattr(outcome, "finish_reason", None),
        getattr(outcome, "usage", None),
        elapsed_s < 1.0,
    )


# ------------------------------------------------------------------ strictness


async def post(
    fake: FakeProvider,
    wire: str,
    *,
    path: str | None = None,
    headers: dict[str, str] | None = None,
    body: JSON | bytes = None,
) -> httpx.Response:
    """
    POST to the fake as a hand-written client would, with the wire's good headers
    and body unless told otherwise.
    """
    sent_headers = GOOD_HEADERS[wire] if headers is None else headers
    sent = GOOD_BODIES[wire] if body is None else body
    content = sent if isinstance(sent, bytes) else json.dumps(sent).encode()
    url = fake.base_url + (PATHS[wire] if path is None else path)
    async with httpx.AsyncClient(verify=TLS) as client:
        return await client.post(url, headers=sent_headers, content=content)


def shape(response: httpx.Response) -> str:
    """
    Whose error shape a body has: ``anthropic``, ``openai``, or ``none``.
    """
    try:
        body = response.json()
    except ValueError:
        return "none"
    if isinstance(body, dict) and body.get("type") == "error" and "error" in body:
        return "anthropic"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return "openai"
    return "none"


async def test_well_formed_requests_are_served(wire: str, fake: FakeProvider) -> None:
    """A request with the wire's required headers and body fields is answered."""
    response = await post(fake, wire)

    assert 200 == response.status_code


@pytest.mark.parametrize(
    "path",
    ["/v1/v1/chat/completions", "/messages", "/chat/completions", "/v1/complete", "/"],
)
async def test_unknown_paths_are_404_in_no_provider_shape(path: str, fake: FakeProvider) -> None:
    """A path the fake does not serve answers 404 with a proxy's page, in no provider's shape."""
    async with httpx.AsyncClient(verify=TLS) as client:
        response = await client.post(
            fake.root_url + path, headers=GOOD_HEADERS["openai"], json=GOOD_BODIES["openai"]
        )

    assert (404, "none", "text/html") == (
        response.status_code,
        shape(response),
        response.headers["content-type"],
    )


async def test_a_get_on_the_chat_path_is_404(wire: str, fake: FakeProvider) -> None:
    """Only POST is served on the chat paths; a GET there finds nothing."""
    async with httpx.AsyncClient(verify=TLS) as client:
        response = await client.get(fake.base_url + PATHS[wire], headers=GOOD_HEADERS[wire])

    assert (404, "none") == (response.status_code, shape(response))


async def test_a_wrong_base_url_is_named_not_a_missing_model(wire: str, fake: FakeProvider) -> None:
    """Through the real adapter, a base URL that misses the API root is a wrong-URL failure naming the URL."""
    adapter = ADAPTERS[wire]
    base = fake.root_url + "/api" if wire == "anthropic" else fake.root_url
    endpoint = Endpoint(model="ok", base_url=base, credential=CANARY)
    async with httpx.AsyncClient(verify=TLS) as client:
        try:
            await adapter.complete(client, HELLO, endpoint)
        except Exception as exc:
            failure = adapter.classify(exc, now=0.0, credential=CANARY)
    url = base + ("/v1/messages" if wire == "anthropic" else "/chat/completions")

    assert (K.INVALID_REQUEST, "endpoint_not_found", 404, True) == (
        failure.kind,
        failure.code,
        failure.status,
        url in failure.message,
    )


@pytest.mark.parametrize(
    ("wire", "headers", "status", "kind"),
    [
        pytest.param(
            "openai", {"content-type": "application/json"}, 401, "auth", id="openai-no-key"
        ),
        pytest.param(
            "openai",
            {"authorization": "Basic abc", "content-type": "application/json"},
            401,
            "auth",
            id="openai-basic-auth",
        ),
        pytest.param(
            "anthropic",
            {"anthropic-version": "2023-06-01", "content-type": "application/json"},
            401,
            "auth",
            id="anthropic-no-key",
        ),
        pytest.param(
            "anthropic",
            {
                "authorization": f"Bearer {CANARY}",
                "anthropic-version": "2023-06-01",
                "content-type": "application/json",
            },
            401,
            "auth",
            id="anthropic-bearer-without-oauth-beta",
        ),
        pytest.param(
            "anthropic",
            {"x-api-key": CANARY, "content-type": "application/json"},
            400,
            "invalid_request",
            id="anthropic-no-version",
        ),
        pytest.param(
            "openai",
            {"authorization": f"Bearer {CANARY}", "content-type": "text/plain"},
            400,
            "invalid_request",
            id="openai-text-content-type",
        ),
        pytest.param(
            "anthropic",
            {"x-api-key": CANARY, "anthropic-version": "2023-06-01"},
            400,
            "invalid_request",
            id="anthropic-no-content-type",
        ),
    ],
)
async def test_missing_required_headers_are_refused(
    wire: str, headers: dict[str, str], status: int, kind: str, fake: FakeProvider
) -> None:
    """A missing credential is 401 and another missing header 400, in the wire's error shape."""
    response = await post(fake, wire, headers=headers)
    failure = ADAPTERS[wire].classify(response, now=0.0)

    assert (status, wire, kind) == (response.status_code, shape(response), failure.kind.value)


async def test_bearer_with_the_oauth_beta_is_accepted(fake: FakeProvider) -> None:
    """An OAuth bearer token with the anthropic-beta flag is a credential on the Anthropic wire."""
    headers = {
        "authorization": "Bearer sk-ant-oat01-fake-token",
        "anthropic-beta": "oauth-2025-04-20",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }
    response = await post(fake, "anthropic", headers=headers)

    assert 200 == response.status_code


async def test_a_keyless_fake_takes_requests_without_a_key(wire: str) -> None:
    """A keyless fake (a local server) answers requests that carry no credential."""
    headers = {
        k: v for k, v in GOOD_HEADERS[wire].items() if k not in ("authorization", "x-api-key")
    }
    with FakeProvider(keyless=True) as fake:
        response = await post(fake, wire, headers=headers)

    assert 200 == response.status_code


@pytest.mark.parametrize(
    ("wire", "body", "param"),
    [
        pytest.param(
            "openai",
            {"messages": [{"role": "user", "content": "Hi"}]},
            "model",
            id="openai-no-model",
        ),
        pytest.param("openai", {"model": "ok"}, "messages", id="openai-no-messages"),
        pytest.param(
            "openai", {"model": "ok", "messages": []}, "messages", id="openai-empty-messages"
        ),
        pytest.param(
            "openai",
            {"model": "ok", "messages": [{"role": "robot", "content": "Hi"}]},
            "messages[0]",
            id="openai-unknown-role",
        ),
        pytest.param(
            "openai",
            {**GOOD_BODIES["openai"], "stream_options": {"include_usage": True}},
            "stream_options",
            id="openai-stream-options-without-stream",
        ),
        pytest.param(
            "anthropic",
            {"model": "ok", "messages": [{"role": "user", "content": "Hi"}]},
            "max_tokens",
            id="anthropic-no-max-tokens",
        ),
        pytest.param(
            "anthropic",
            {"max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]},
            "model",
            id="anthropic-no-model",
        ),
        pytest.param(
            "anthropic", {"model": "ok", "max_tokens": 16}, "messages", id="anthropic-no-messages"
        ),
        pytest.param(
            "anthropic",
            {"model": "ok", "max_tokens": 16, "messages": [{"role": "system", "content": "Be"}]},
            "messages.0.role",
            id="anthropic-system-role",
        ),
        pytest.param(
            "anthropic",
            {**GOOD_BODIES["anthropic"], "stream_options": {"include_usage": True}},
            "stream_options",
            id="anthropic-openai-only-field",
        ),
        pytest.param("openai", b"{not json", None, id="openai-not-json"),
        pytest.param("anthropic", b"[1, 2]", None, id="anthropic-not-an-object"),
    ],
)
async def test_malformed_bodies_are_400_in_the_wire_shape(
    wire: str, body: JSON | bytes, param: str | None, fake: FakeProvider
) -> None:
    """A body missing a required field, or with a field the API refuses, is a 400 naming it."""
    response = await post(fake, wire, body=body)
    error = response.json()["error"]
    named = error.get("param") if wire == "openai" else error["message"].split(":", 1)[0]

    assert (400, wire, "invalid_request_error") == (
        response.status_code,
        shape(response),
        error["type"],
    )
    if param is not None:
        assert param == named


async def test_the_models_listing_needs_a_key(wire: str, fake: FakeProvider) -> None:
    """GET /v1/models without a credential is 401, as on the real services."""
    headers = {"anthropic-version": "2023-06-01"} if wire == "anthropic" else {}
    async with httpx.AsyncClient(verify=TLS) as client:
        response = await client.get(f"{fake.base_url}/models", headers=headers)

    assert (401, wire) == (response.status_code, shape(response))


async def test_another_api_root_moves_both_wires(wire: str) -> None:
    """With api_root set, both wire formats are served there and nowhere else."""
    with FakeProvider(api_root="/api/v1") as fake:
        moved = await post(fake, wire)
        async with httpx.AsyncClient(verify=TLS) as client:
            old = await client.post(
                fake.root_url + "/v1" + PATHS[wire],
                headers=GOOD_HEADERS[wire],
                json=GOOD_BODIES[wire],
            )
        urls = (fake.root_url, fake.base_url)

    assert (200, 404, urls[0] + "/api/v1") == (moved.status_code, old.status_code, urls[1])


@pytest.mark.parametrize("root", ["v1", "/v1/", "/v1?x=1", ""])
def test_api_root_must_be_a_path(root: str) -> None:
    """An api_root that is not a '/path' without a trailing slash is refused, naming the rule."""

    with pytest.raises(ValueError, match="api_root must be a path"):
        FakeProvider(api_root=root)


def test_the_docs_list_every_behaviour() -> None:
    """docs/providers.md has a row for every behaviour a model name can pick, and no other."""
    docs = (Path(__file__).parents[2] / "docs" / "providers.md").read_text(encoding="utf-8")
    section = docs.split("## Testing against a misbehaving provider", 1)[1].split("```", 1)[0]
    documented = {
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([a-z0-9-]+)`", line.split("|")[1])
    }

    assert set(BEHAVIOURS) == documented
