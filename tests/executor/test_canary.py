"""
The canary test: secrets sent to providers never reach anything a host can see.

One executor sends a canary API key (to a host's SDK-shaped callable and to an
OpenAI-compatible server) and a canary OAuth bearer token (to an Anthropic server);
every one of them echoes what it got, in messages, bodies, headers, chained
exceptions and stream error events. Then everything the host can look at is
collected and searched: what the caller catches (``str``, ``repr``, formatted
tracebacks with their ``__cause__`` / ``__context__`` chains, and every attribute
reachable from them), successful completions, observer events, log records at
DEBUG, reprs, and the state store's file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from modelcfg import AttemptsExhaustedError, OutputInterruptedError, ProfileId
from modelcfg._config._load import load_config
from modelcfg._config._schema import Config
from modelcfg._executor._credentials import StoreCredentials
from modelcfg._executor._executor import Executor
from modelcfg._executor._reports import Completion, ExecutorEvent
from modelcfg._messages import ChatRequest, Message
from modelcfg.adapters import CallableAdapter, Endpoint
from modelcfg.auth import ApiKeyCredential, MemoryAuthStore, OAuthCredential
from modelcfg.exceptions import RedactedError
from modelcfg.stores import FileStateStore

pytestmark = pytest.mark.anyio

KEY = "sk-canary-DO-NOT-LEAK-0123456789"
TOKEN = "sk-ant-oat01-canary-bearer-DO-NOT-LEAK-9876543210"
REFRESH = "canary-refresh-DO-NOT-LEAK-5555555555"
SECRETS = (KEY, TOKEN, REFRESH)
T0 = 1_800_000_000.0
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])

MODELS = {"sdk": "sdk/gpt-4o", "anthropic": "anthropic/claude-opus-4-5", "openai": "openai/gpt-5.2"}


def config_for(*order: str) -> Config:
    """
    The three providers, tried in *order* (provider names).
    """
    chain = [MODELS[name] for name in order]
    return load_config(
        {
            "auth": {
                "profiles": {
                    "sdk:default": {"provider": "sdk", "mode": "api_key"},
                    "anthropic:sub": {"provider": "anthropic", "mode": "oauth"},
                    "openai:default": {"provider": "openai", "mode": "api_key"},
                },
                "order": {"anthropic": ["anthropic:sub"]},
            },
            "providers": {
                "sdk": {"api": "custom"},
                "anthropic": {"api": "anthropic", "baseUrl": "http://mock/v1"},
                "openai": {"api": "openai", "baseUrl": "http://mock/v1"},
            },
            "agent": {"model": {"primary": chain[0], "fallbacks": chain[1:]}},
        }
    )


class AuthenticationError(Exception):
    """
    Shaped like the official SDKs' ``AuthenticationError``: the key is everywhere.
    """

    def __init__(self, key: str) -> None:
        self.message = f"Error code: 401 - Incorrect API key provided: {key}"
        super().__init__(self.message)
        self.status_code = 401
        self.request = httpx.Request(
            "POST",
            "https://api.example.test/v1/chat/completions",
            headers={"authorization": f"Bearer {key}", "x-api-key": key},
        )
        self.response = httpx.Response(
            401,
            json={"error": {"message": f"Incorrect API key provided: {key}"}},
            request=self.request,
        )
        self.body = {"message": f"Incorrect API key provided: {key}", "code": "invalid_api_key"}
        self.code = "invalid_api_key"
        self.add_note(f"sent with {key}")


class Host:
    """
    The host's own client: its calls raise SDK-shaped errors chained to more errors.
    """

    def __init__(self) -> None:
        self.raised: list[AuthenticationError] = []

    def fail(self, key: str) -> AuthenticationError:
        error = AuthenticationError(key)
        try:
            try:
                raise KeyError(f"lookup of {key} failed")
            except KeyError as inner:
                raise ValueError(f"the key {key} was refused") from inner
        except ValueError as cause:
            error.__cause__ = cause
        self.raised.append(error)
        return error

    async def call(self, request: ChatRequest, endpoint: Endpoint) -> object:
        raise self.fail(endpoint.credential or "")

    async def stream_call(self, request: ChatRequest, endpoint: Endpoint) -> AsyncIterator[object]:
        raise self.fail(endpoint.credential or "")


def provider(*, openai_ok: bool, stream_breaks: bool) -> httpx.MockTransport:
    """
    Anthropic echoes the bearer token in a 401; OpenAI answers, echoes the key in a
    401, or streams a piece and then an error event that echoes it.
    """

    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        sent = sent or request.headers.get("x-api-key", "")
        if "anthropic-version" in request.headers:
            body = {"type": "error", "error": {"type": "authentication_error", "message": sent}}
            return httpx.Response(401, json=body, headers={"www-authenticate": f"Bearer {sent}"})
        if stream_breaks:
            chunks = [
                {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
                {"error": {"message": f"key {sent} revoked mid-stream", "code": "server_error"}},
            ]
            return httpx.Response(
                200,
                stream=Pieces([f"data: {json.dumps(c)}\n\n".encode() for c in chunks]),
                headers={"content-type": "text/event-stream"},
            )
        if openai_ok:
            return httpx.Response(
                200,
                json={
                    "id": "c1",
                    "model": "gpt-5.2",
                    "choices": [
                        {"index": 0, "message": {"content": "Hello"}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1},
                },
            )
        body = {"error": {"message": f"Incorrect API key provided: {sent}", "code": "x"}}
        return httpx.Response(401, json=body)

    return httpx.MockTransport(handler)


class Pieces(httpx.AsyncByteStream):
    """A body that arrives as separate reads, one per chunk."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def credentials() -> StoreCredentials:
    store = MemoryAuthStore()
    store.put("sdk:default", ApiKeyCredential(key=KEY))
    store.put("openai:default", ApiKeyCredential(key=KEY))
    store.put(
        "anthropic:sub", OAuthCredential(access=TOKEN, refresh=REFRESH, expires_at=T0 + 3_600)
    )
    return StoreCredentials(store, environ={}, clock=lambda: T0)


def texts_of(root: object) -> Iterator[str]:
    """
    Every text reachable from *root*: reprs, messages, arguments, notes, attributes
    (slotted or not), mappings, sequences, HTTP requests and responses (headers,
    bodies), and the exceptions chained as causes and contexts.
    """
    stack: list[tuple[object, int]] = [(root, 0)]
    seen: set[int] = set()
    while stack:
        value, depth = stack.pop()
        if value is None or id(value) in seen or depth > 12:
            continue
        seen.add(id(value))
        if isinstance(value, str):
            yield value
            continue
        if isinstance(value, bytes | bytearray):
            yield bytes(value).decode("latin-1")
            continue
        with contextlib.suppress(Exception):  # a broken repr shows nothing
            yield repr(value)
        children: list[object] = []
        if isinstance(value, BaseException):
            yield str(value)
            yield "".join(traceback.format_exception(value))
            children += [value.args, getattr(value, "__notes__", None)]
            children += [value.__cause__, value.__context__]
        if isinstance(value, httpx.Request | httpx.Response):
            children += [list(value.headers.raw), str(value.url) if hasattr(value, "url") else ""]
            with contextlib.suppress(Exception):  # an unread body has no content yet
                children.append(value.content)
            children.append(getattr(value, "_request", None))
        elif isinstance(value, dict):
            children += [item for pair in value.items() for item in pair]
        elif isinstance(value, list | tuple | set | frozenset):
            children += list(value)
        if attrs.has(type(value)):
            children += [getattr(value, f.name, None) for f in attrs.fields(type(value))]
        with contextlib.suppress(TypeError):  # slotted values have no __dict__
            children += list(vars(value).values())
        for name in getattr(type(value), "__slots__", ()):
            children.append(getattr(value, name, None))
        stack.extend((child, depth + 1) for child in children)


def leaks(collected: list[object]) -> list[str]:
    found = []
    for root in collected:
        for text in texts_of(root):
            for secret in SECRETS:
                if secret in text:
                    found.append(f"{secret[:12]}… in {text[:120]!r}")
    return found


async def run(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    order: tuple[str, ...],
    *,
    stream: bool,
    openai_ok: bool,
) -> tuple[object, list[object], Host]:
    """
    One request through the providers in *order*: what it returned or raised,
    everything the host can see, and the host's client.
    """
    caplog.set_level(logging.DEBUG)
    host = Host()
    events: list[ExecutorEvent] = []
    state_file = tmp_path / "state.json"
    collected: list[object] = []
    transport = provider(openai_ok=openai_ok, stream_breaks=stream and order[-1] == "openai")
    async with httpx.AsyncClient(transport=transport) as client:
        ex = Executor.from_config(
            config_for(*order),
            client=client,
            credentials=credentials(),
            adapters={"sdk": CallableAdapter(call=host.call, stream_call=host.stream_call)},
            store=FileStateStore(state_file),
            observers=[events.append],
            clock=lambda: T0,
        )
        outcome: Any
        try:
            if stream:
                async with ex.stream(HELLO, session_id="s") as answer:
                    collected.append(repr(answer))
                    outcome = [event async for event in answer]
                    collected.append(answer.completion)
            else:
                outcome = await ex.complete(HELLO, session_id="s")
        except (AttemptsExhaustedError, OutputInterruptedError) as caught:
            outcome = caught
        collected += [outcome, events, repr(ex)]
    collected += [record.getMessage() for record in caplog.records]
    collected += [logging.Formatter().format(record) for record in caplog.records]
    collected += [repr(record.args) for record in caplog.records]
    collected.append(state_file.read_text())
    return outcome, collected, host


async def test_a_successful_completion_after_echoing_failures_leaks_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A completion answered after the SDK and the OAuth profile echoed the secrets holds none."""
    completion, collected, host = await run(
        tmp_path, caplog, ("sdk", "anthropic", "openai"), stream=False, openai_ok=True
    )

    assert isinstance(completion, Completion)
    assert ProfileId.parse("openai:default") == completion.profile
    assert 3 == len(completion.attempts)
    assert [] == leaks(collected)
    assert KEY in host.raised[0].message, "the host's own exception is never modified"


@pytest.mark.parametrize(
    ("order", "stream", "expected"),
    [
        pytest.param(("openai", "anthropic", "sdk"), False, AttemptsExhaustedError, id="sdk-last"),
        pytest.param(
            ("sdk", "openai", "anthropic"), False, AttemptsExhaustedError, id="oauth-last"
        ),
        pytest.param(("sdk", "anthropic", "openai"), False, AttemptsExhaustedError, id="http-last"),
        pytest.param(
            ("openai", "anthropic", "sdk"), True, AttemptsExhaustedError, id="streamed-sdk-last"
        ),
        pytest.param(
            ("sdk", "anthropic", "openai"),
            True,
            OutputInterruptedError,
            id="streamed-cut-after-output",
        ),
    ],
)
async def test_giving_up_after_echoing_failures_leaks_nothing(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    order: tuple[str, ...],
    stream: bool,
    expected: type[Exception],
) -> None:
    """Whatever the caller catches, and everything around it, is free of every secret."""
    caught, collected, host = await run(tmp_path, caplog, order, stream=stream, openai_ok=False)

    assert isinstance(caught, expected)
    assert [] == leaks(collected)
    assert KEY in host.raised[0].message, "the host's own exception is never modified"


async def test_a_chained_sdk_exception_is_replaced_by_a_redacted_stand_in() -> None:
    """An SDK exception holding the key is chained as a RedactedError naming it, with its status."""
    host = Host()
    config = load_config(
        {"providers": {"sdk": {"api": "custom"}}, "agent": {"model": {"primary": "sdk/gpt-4o"}}}
    )
    ex = Executor.from_config(
        config,
        client=None,
        credentials=credentials(),
        adapters={"sdk": CallableAdapter(call=host.call)},
        clock=lambda: T0,
    )
    with pytest.raises(AttemptsExhaustedError) as info:
        await ex.complete(HELLO)
    cause = info.value.__cause__

    assert isinstance(cause, RedactedError)
    assert (f"{__name__}.AuthenticationError", 401) == (cause.type_name, cause.status)
    assert "[REDACTED]" in str(cause)
    assert isinstance(cause.__cause__, RedactedError)
    assert [] == leaks([info.value])


async def test_a_clean_provider_error_is_chained_as_it_is() -> None:
    """A provider exception that holds no secret is chained itself, not replaced."""

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        raise ConnectionResetError(104, "Connection reset by peer")

    ex = sdk_executor(call)
    with pytest.raises(AttemptsExhaustedError) as info:
        await ex.complete(HELLO)

    assert isinstance(info.value.__cause__, ConnectionResetError)


async def _no_wait() -> None:
    return None


def sdk_executor(call: Any) -> Executor:
    """An executor over a host's own async callable (no HTTP), that never sleeps."""
    config = load_config(
        {"providers": {"sdk": {"api": "custom"}}, "agent": {"model": {"primary": "sdk/gpt-4o"}}}
    )
    return Executor.from_config(
        config,
        client=None,
        credentials=credentials(),
        adapters={"sdk": CallableAdapter(call=call)},
        clock=lambda: T0,
        sleep=lambda _delay: _no_wait(),
    )


async def test_an_httpx_error_holding_the_request_is_chained_as_a_masked_copy() -> None:
    """A transport error whose request carries the key is chained as a copy of its class, without it."""
    raised: list[httpx.ConnectError] = []

    def handler(request: httpx.Request) -> httpx.Response:
        error = httpx.ConnectError(f"refused for {KEY}", request=request)
        raised.append(error)
        raise error

    config = load_config(
        {
            "providers": {"openai": {"api": "openai", "baseUrl": "http://mock/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2"}},
        }
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = Executor.from_config(
            config,
            client=client,
            credentials=credentials(),
            clock=lambda: T0,
            sleep=lambda _delay: _no_wait(),
        )
        with pytest.raises(AttemptsExhaustedError) as info:
            await ex.complete(HELLO)
    cause = info.value.__cause__

    assert httpx.ConnectError is type(cause)
    assert "refused for [REDACTED]" == str(cause)
    assert [] == leaks([info.value])
    assert KEY in raised[-1].request.headers["authorization"], "the original is left alone"


class Bulky(Exception):
    """An SDK-shaped error with a large body and the key only in its request's headers."""

    def __init__(self, request: httpx.Request) -> None:
        super().__init__("Error code: 401")
        self.status_code = 401
        self.body = {f"field{i}": [i, str(i), {"nested": i}] for i in range(3_000)}
        self.request = request


class Deep(Exception):
    """An error that hides the key below more levels than any scan walks."""

    def __init__(self) -> None:
        super().__init__("nested failure")
        holder: object = {"key": KEY}
        for _ in range(40):
            holder = {"inner": holder}
        self.payload = holder


@pytest.mark.parametrize(
    "make",
    [
        lambda: Bulky(
            httpx.Request("POST", "http://sdk.invalid", headers={"authorization": f"Bearer {KEY}"})
        ),
        Deep,
    ],
    ids=["key behind a large body", "key deeper than the scan"],
)
async def test_a_scan_cut_short_chains_a_stand_in(make: Any) -> None:
    """When the credential scan cannot read everything, the exception is replaced, never chained raw."""

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        raise make()

    ex = sdk_executor(call)
    with pytest.raises(AttemptsExhaustedError) as info:
        await ex.complete(HELLO)

    assert isinstance(info.value.__cause__, RedactedError)


def _frame_locals(error: BaseException) -> list[str]:
    """The reprs of every local of every frame the error's traceback passed through."""
    shown = []
    for frame, _line in traceback.walk_tb(error.__traceback__):
        shown += [
            f"{frame.f_code.co_name}.{name}={value!r}" for name, value in frame.f_locals.items()
        ]
    return shown


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_no_traceback_frame_keeps_the_key_in_a_local(streamed: bool) -> None:
    """Tools that record frame locals with a traceback (error trackers, pytest -l) find no key."""

    async def call(request: ChatRequest, endpoint: Endpoint) -> object:
        raise ConnectionResetError(104, "Connection reset by peer")

    ex = sdk_executor(call)

    async def ask() -> None:
        if not streamed:
            await ex.complete(HELLO)
            return
        async with ex.stream(HELLO) as answer:
            async for _event in answer:
                pass

    with pytest.raises(AttemptsExhaustedError) as info:
        await ask()

    assert [] == [shown for shown in _frame_locals(info.value) if KEY in shown]
