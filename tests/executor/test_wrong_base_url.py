"""
Scenario: a provider configured with a wrong base URL.

Nothing answers at the URL the adapter posts to (a proxy's 404 page, or the
service's own 404 for a path it does not serve). That is a configuration error,
not a missing model: the request ends at once with an error that names the URL
and says the base URL is wrong, the fallback is not called silently, and no
cooldown is recorded, so fixing the URL works at once.
"""

from __future__ import annotations

import ssl

import httpx
import pytest

from modelcfg import (
    AttemptsExhaustedError,
    ChatRequest,
    FailureKind,
    Message,
    ModelRef,
    ProfileId,
    StaticCredentials,
    Target,
    load_config,
)
from modelcfg._executor._executor import Executor
from modelcfg.stores import MemoryStateStore
from modelcfg.testing import FakeProvider

pytestmark = pytest.mark.anyio

KEY = "sk-wrong-url-fake-0123456789"
HELLO = ChatRequest(messages=[Message(role="user", content="Hi")])
TLS = ssl.create_default_context()  # built once: building one per client costs ~50 ms
NOW = 1_767_225_600.0


def executor(
    client: httpx.AsyncClient,
    *,
    api: str,
    base_url: str,
    fallback_url: str,
    store: MemoryStateStore,
) -> Executor:
    """
    Primary ``broken/primary`` at *base_url* (wire *api*), fallback ``good/backup``
    at *fallback_url*, one key for both.
    """
    config = load_config(
        {
            "providers": {
                "broken": {"api": api, "baseUrl": base_url},
                "good": {"api": "openai", "baseUrl": fallback_url},
            },
            "agent": {"model": {"primary": "broken/primary", "fallbacks": ["good/backup"]}},
        }
    )
    credentials = StaticCredentials({"broken:default": KEY, "good:default": KEY})
    return Executor.from_config(
        config, client=client, credentials=credentials, store=store, clock=lambda: NOW
    )


BROKEN = Target(model=ModelRef.parse("broken/primary"), profile=ProfileId.parse("broken:default"))


@pytest.mark.parametrize(
    ("api", "wrong_path", "posted"),
    [
        pytest.param("openai", "", "/chat/completions", id="openai-base-without-v1"),
        pytest.param("anthropic", "/api", "/api/v1/messages", id="anthropic-base-under-a-prefix"),
    ],
)
async def test_a_wrong_base_url_gives_a_clear_error_and_no_cooldown(
    api: str, wrong_path: str, posted: str
) -> None:
    """A base URL where no API answers ends the request naming the URL; nothing cools down."""
    store = MemoryStateStore()
    with FakeProvider() as fake:
        root = fake.root_url
        async with httpx.AsyncClient(verify=TLS) as client:
            ex = executor(
                client,
                api=api,
                base_url=fake.root_url + wrong_path,
                fallback_url=fake.base_url,
                store=store,
            )
            with pytest.raises(AttemptsExhaustedError) as caught:
                await ex.complete(HELLO)
        paths = [r.path for r in fake.requests]
    health = await store.load_health()
    failure = caught.value.failures[-1]
    message = str(caught.value)

    assert (
        [posted],
        (FailureKind.INVALID_REQUEST, "endpoint_not_found", 404),
        True,
        True,
        None,
        {},
    ) == (
        paths,
        (failure.kind, failure.code, failure.status),
        f"{root}{posted}" in message,
        "base URL is wrong" in message,
        health.blocked_until(BROKEN, NOW + 1),
        dict(health.model_cooldowns),
    )


async def test_the_services_own_path_404_is_a_wrong_url_too() -> None:
    """Anthropic's own 404 for a path it does not serve ('Not Found') is no missing model."""
    store = MemoryStateStore()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/messages"):
            body = {"type": "error", "error": {"type": "not_found_error", "message": "Not Found"}}
            return httpx.Response(404, json=body)
        raise AssertionError(f"the fallback was called at {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        ex = executor(
            client,
            api="anthropic",
            base_url="https://gateway.example.test/anthropic",
            fallback_url="https://fallback.example.test/v1",
            store=store,
        )
        with pytest.raises(AttemptsExhaustedError) as caught:
            await ex.complete(HELLO)
    health = await store.load_health()

    assert (
        "endpoint_not_found",
        True,
        None,
    ) == (
        caught.value.failures[-1].code,
        "https://gateway.example.test/anthropic/v1/messages" in str(caught.value),
        health.blocked_until(BROKEN, NOW + 1),
    )


async def test_a_missing_model_still_falls_back_and_cools_down() -> None:
    """A 404 in the provider's error shape that names the model is still a missing model."""
    store = MemoryStateStore()
    with FakeProvider(behaviours={"primary": "not-found"}) as fake:
        async with httpx.AsyncClient(verify=TLS) as client:
            ex = executor(
                client,
                api="anthropic",
                base_url=fake.root_url,
                fallback_url=fake.base_url,
                store=store,
            )
            answer = await ex.complete(HELLO)
    health = await store.load_health()

    assert ("Hello from backup", True) == (
        answer.response.text,
        health.blocked_until(BROKEN, NOW + 1) is not None,
    )
