"""
No secret is reachable from an exception modelcfg raises, by any road an error tracker takes.

A canary plays every role a secret has (a stored API key, an environment key, an
OAuth access token, a refresh token) while providers and token endpoints fail and
echo what they got. Then the whole graph of the exception that reaches the caller
is walked: its text, ``args`` and attributes (every object under them, as a
debugger would open them), ``__cause__``, ``__context__`` and notes, and the
locals of every frame of every traceback in it, read the way error trackers
record locals (containers opened, anything else by its ``repr``).
"""

from __future__ import annotations

import contextlib
import socket
import traceback
from collections.abc import AsyncIterator, Iterator, Mapping
from types import FunctionType, ModuleType, TracebackType

import httpx
import pytest

import modelcfg
from modelcfg import AttemptsExhaustedError, CredentialsError, ProfileId
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStoreProtocol,
    MemoryAuthStore,
    OAuthCredential,
    OAuthEndpoints,
    OAuthRefresher,
    RefreshFailedError,
    Secret,
    credential_for,
    login_api_key,
    refresh_oauth,
    resolve_credential,
)
from modelcfg.testing import FakeProvider

pytestmark = pytest.mark.anyio

MARK = "DO-NOT-LEAK"
STORED_KEY = f"sk-stored-{MARK}-0123456789"
ENV_KEY = f"sk-env-{MARK}-0123456789"
ACCESS = f"access-{MARK}-0123456789"
REFRESH = f"refresh-{MARK}-0123456789"
NOW = 1_800_000_000.0
HELLO = modelcfg.ChatRequest(messages=[modelcfg.Message(role="user", content="hi")])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _is_opaque(value: object) -> bool:
    """Code, modules and classes: what a walk of data never opens."""
    return isinstance(value, type | ModuleType | FunctionType) or callable(value)


def _children(value: object) -> Iterator[object]:
    """Everything reachable one step from *value* through its contents and attributes."""
    if isinstance(value, Mapping):
        for key, item in list(value.items()):
            yield key
            yield item
    elif isinstance(value, list | tuple | set | frozenset):
        yield from value
    with contextlib.suppress(TypeError):  # no __dict__
        yield from vars(value).values()
    for klass in type(value).__mro__:
        for name in getattr(klass, "__slots__", ()):
            try:
                yield getattr(value, name)
            except AttributeError:
                continue


def _frames(tb: TracebackType | None, *, caught: bool) -> Iterator[tuple[str, str, object]]:
    """
    Every local of every frame of *tb*: (function, name, value).

    With *caught*, the first frame (the test's own, where the error was caught) is left out.
    """
    for frame, _line in list(traceback.walk_tb(tb))[1 if caught else 0 :]:
        for name, value in frame.f_locals.items():
            yield frame.f_code.co_name, name, value


def _safe_repr(value: object) -> str:
    """``repr(value)``, or a placeholder when it fails (as error trackers read locals)."""
    try:
        return repr(value)
    except Exception:
        return "<repr failed>"


def leaks(error: BaseException, secrets: tuple[str, ...]) -> list[str]:
    """
    Where any of *secrets* can be reached from *error*; empty when nowhere.

    Exceptions and everything under their attributes are opened in full. A
    frame's locals are read as error trackers record them: mappings and sequences
    are opened, other objects are read through ``repr``, and exceptions in them
    are opened in full again.
    """
    found: list[str] = []
    seen: set[tuple[int, bool]] = set()
    # (value, where, deep): deep values are opened through their attributes.
    todo: list[tuple[object, str, bool]] = [(error, "error", True)]

    def check(text: str, where: str) -> None:
        found.extend(f"{where}: {secret}" for secret in secrets if secret in text)

    while todo:
        value, where, deep = todo.pop()
        if isinstance(value, str):
            check(value, where)
            continue
        if isinstance(value, bytes | bytearray | memoryview):
            check(bytes(value).decode("utf-8", "replace"), where)
            continue
        if value is None or isinstance(value, bool | int | float) or (id(value), deep) in seen:
            continue
        seen.add((id(value), deep))
        if isinstance(value, BaseException):
            check(f"{value!s} {value!r}", where)
            chained = [value.__cause__, value.__context__, getattr(value, "__notes__", None)]
            todo += [(child, f"{where}>chained", True) for child in chained]
            todo += [(child, f"{where}.attr", True) for child in _children(value)]
            todo += [(value.args, f"{where}.args", True)]
            todo += [
                (local, f"{where} frame {function}.{name}", False)
                for function, name, local in _frames(value.__traceback__, caught=value is error)
            ]
            continue
        if _is_opaque(value):
            continue
        if deep or isinstance(value, Mapping | list | tuple | set | frozenset):
            todo += [(child, where, deep) for child in _children(value)]
        else:
            check(_safe_repr(value), f"{where} (repr)")
    return found


SECRETS = (STORED_KEY, ENV_KEY, ACCESS, REFRESH)


def test_the_walk_finds_a_secret_on_every_road() -> None:
    """The walk reports a secret in a chained cause's request body and in a frame's local mapping."""

    def fail(form: dict[str, str]) -> None:
        request = httpx.Request("POST", "http://127.0.0.1:1/t", data=form)
        try:
            raise httpx.ReadTimeout("timed out", request=request)
        except httpx.ReadTimeout as exc:
            raise RefreshFailedError("refused", provider="p") from exc

    try:
        fail({"refresh_token": REFRESH})
    except RefreshFailedError as exc:
        error = exc

    found = leaks(error, SECRETS)

    assert any(">chained" in where for where in found)
    assert any("frame fail.form" in where for where in found)


# --- the executor: a stored key, an environment key and an access token -----------------------


def executor_config(fake: FakeProvider) -> modelcfg.Config:
    """One provider that answers 401 and echoes the credential it got."""
    return modelcfg.load_config(
        {
            "providers": {
                "p": {"api": "openai", "baseUrl": fake.base_url, "apiKeyEnv": ["P_API_KEY"]}
            },
            "agent": {"model": {"primary": "p/auth"}},
        }
    )


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


@pytest.mark.parametrize(
    ("stored", "environ"),
    [
        ({"p:default": ApiKeyCredential(key=STORED_KEY)}, {}),
        ({}, {"P_API_KEY": ENV_KEY, "OTHER_API_KEY": STORED_KEY}),
        ({"p:default": OAuthCredential(access=ACCESS, refresh=REFRESH)}, {}),
    ],
    ids=["stored key", "environment key", "oauth access token"],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
async def test_a_provider_echoing_the_credential_leaves_no_road_to_it(
    fake: FakeProvider,
    client: httpx.AsyncClient,
    stored: dict[str, ApiKeyCredential | OAuthCredential],
    environ: dict[str, str],
    streamed: bool,
) -> None:
    """A 401 that echoes the credential: the error the caller gets reaches no secret."""
    executor = modelcfg.Executor.from_config(
        executor_config(fake),
        client=client,
        auth_store=MemoryAuthStore.of(stored),
        environ=environ,
    )

    async def ask() -> None:
        if not streamed:
            await executor.complete(HELLO)
            return
        async with executor.stream(HELLO) as answer:
            async for _event in answer:
                pass

    with pytest.raises(AttemptsExhaustedError) as raised:
        await ask()

    assert [] == leaks(raised.value, SECRETS)


# --- refresh tokens ---------------------------------------------------------------------------


@pytest.fixture
def silent_token_url() -> Iterator[str]:
    """A loopback token endpoint that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/token"


def echoing_token_endpoint(request: httpx.Request) -> httpx.Response:
    """A token endpoint that refuses and sends back the whole form it got."""
    body = request.content.decode()
    return httpx.Response(
        400, json={"error": "invalid_grant", "error_description": body, "echo": body}
    )


def expired_tokens() -> MemoryAuthStore:
    """A store whose OAuth access token has expired and must be refreshed."""
    return MemoryAuthStore.of(
        {"p:default": OAuthCredential(access=ACCESS, refresh=REFRESH, expires_at=NOW - 10)}
    )


def endpoints_at(url: str) -> OAuthEndpoints:
    """OAuth endpoints whose token endpoint is *url*."""
    return OAuthEndpoints(authorize_url=url, token_url=url, client_id="client")


async def test_a_refresh_that_times_out_leaves_no_road_to_the_refresh_token(
    silent_token_url: str,
) -> None:
    """A token endpoint that never answers: the refresh error's cause holds no request body."""
    async with httpx.AsyncClient(timeout=0.2) as http:
        refresher = OAuthRefresher(endpoints={"p": endpoints_at(silent_token_url)}, client=http)
        with pytest.raises(RefreshFailedError) as raised:
            await credential_for(
                "p:default",
                store=expired_tokens(),
                environ={"P_API_KEY": ENV_KEY},
                refresher=refresher,
                now=NOW,
            )

    assert "timeout" == raised.value.kind.value
    assert [] == leaks(raised.value, SECRETS)


async def test_a_refused_refresh_that_echoes_the_form_leaves_no_road_to_it() -> None:
    """A token endpoint that sends the form back: nothing raised reaches the refresh token."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(echoing_token_endpoint)) as http:
        with pytest.raises(RefreshFailedError) as direct:
            await refresh_oauth(
                OAuthCredential(access=ACCESS, refresh=REFRESH),
                provider="p",
                endpoints=endpoints_at("http://127.0.0.1:9/token"),
                client=http,
                profile=ProfileId.parse("p:default"),
            )
        refresher = OAuthRefresher(
            endpoints={"p": endpoints_at("http://127.0.0.1:9/token")}, client=http
        )
        with pytest.raises(RefreshFailedError) as resolved:
            await credential_for(
                "p:default", store=expired_tokens(), environ={}, refresher=refresher, now=NOW
            )

    assert [] == leaks(direct.value, SECRETS)
    assert [] == leaks(resolved.value, SECRETS)


async def test_an_executor_whose_refresh_fails_leaves_no_road_to_the_tokens(
    fake: FakeProvider, silent_token_url: str
) -> None:
    """An executor that cannot refresh expired tokens gives up with nothing reaching them."""
    config = modelcfg.load_config(
        {
            "providers": {
                "p": {
                    "api": "openai",
                    "baseUrl": fake.base_url,
                    "oauth": {
                        "authorizeUrl": silent_token_url,
                        "tokenUrl": silent_token_url,
                        "clientId": "client",
                    },
                }
            },
            "agent": {"model": {"primary": "p/auth"}},
        }
    )
    async with httpx.AsyncClient(timeout=0.2) as http:
        executor = modelcfg.Executor.from_config(
            config,
            client=http,
            auth_store=expired_tokens(),
            environ={"P_API_KEY": ENV_KEY},
            clock=lambda: NOW,
        )
        with pytest.raises(AttemptsExhaustedError) as raised:
            await executor.complete(HELLO)

    assert [] == leaks(raised.value, SECRETS)


# --- the environment in a resolution's frames -------------------------------------------------


def environment() -> dict[str, str]:
    """An environment holding keys for other providers, as a real one does."""
    return {"HOME": "/home/me", "OPENAI_API_KEY": ENV_KEY, "SOME_TOKEN": STORED_KEY}


async def test_a_missing_profile_leaves_no_road_to_the_environment() -> None:
    """credential_for and resolve_credential refusing a profile keep no environment in their frames."""
    store: AuthStoreProtocol = MemoryAuthStore()
    with pytest.raises(CredentialsError) as awaited:
        await credential_for("anthropic:work", store=store, environ=environment(), now=NOW)
    with pytest.raises(CredentialsError) as resolved:
        resolve_credential(
            "anthropic", store=store, environ=environment(), profile="anthropic:work", now=NOW
        )

    assert [] == leaks(awaited.value, SECRETS)
    assert [] == leaks(resolved.value, SECRETS)


# --- a key refused on its way in ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [f"{STORED_KEY} {STORED_KEY}", f"{STORED_KEY}\u201d", f"{STORED_KEY}\x00"],
    ids=["white space inside", "curly quote", "control character"],
)
def test_a_key_login_refuses_leaves_no_road_to_it(bad: str) -> None:
    """login_api_key refusing a malformed key keeps it in no frame of the error."""
    with pytest.raises(ValueError, match="nothing was stored") as raised:
        login_api_key(MemoryAuthStore(), "openai", key=bad)

    assert [] == leaks(raised.value, SECRETS)


def test_a_secret_refused_on_construction_leaves_no_road_to_it() -> None:
    """A Secret refusing a padded value keeps it in no frame of the error."""
    with pytest.raises(ValueError, match="surrounding white space") as raised:
        Secret(value=f" {STORED_KEY}\n")

    assert [] == leaks(raised.value, SECRETS)


def test_credentials_strip_a_padded_secret() -> None:
    """A credential given a key with a trailing newline (read from a file) stores it stripped."""
    credential = OAuthCredential(access=f"{ACCESS}\n", refresh=f" {REFRESH}")

    assert (ACCESS, REFRESH) == (
        credential.access.reveal(),
        credential.refresh.reveal() if credential.refresh else None,
    )
