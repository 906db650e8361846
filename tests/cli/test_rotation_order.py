"""
The command line and the executor try a provider's profiles in the same order.

``modelcfg auth order get``, ``modelcfg models list`` and
:meth:`~modelcfg.Executor.from_config` all take the order from one rule
(:func:`modelcfg._core._decide.rotation_order`); these tests set up the config
and the auth store in each way that decides the order, and check that the three
agree, and that the first request really goes out with the order's first profile.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest

from modelcfg import ChatRequest, Executor, Message, ProfileId, load_config
from modelcfg.auth import ApiKeyCredential, AuthStore
from modelcfg.testing import ScriptedTransport
from tests.cli.conftest import LEAK_MARK, Cli

HELLO = ChatRequest(messages=[Message(role="user", content="hello")])


@attrs.frozen(kw_only=True)
class Setup:
    """
    One way to decide openai's order: config order and profiles, store profiles and override.
    """

    stored: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    order_key: str = "openai"
    declared: tuple[str, ...] = ()
    override: tuple[str, ...] = ()
    asked_as: str = "openai"
    expected: tuple[str, ...]

    def config(self) -> dict[str, Any]:
        """
        A one-model config on openai, reached through a mock transport only.
        """
        auth: dict[str, Any] = {}
        if self.order:
            auth["order"] = {self.order_key: list(self.order)}
        if self.declared:
            auth["profiles"] = {p: {"provider": "openai"} for p in self.declared}
        return {
            "auth": auth,
            "providers": {"openai": {"api": "openai", "baseUrl": "http://127.0.0.1:9/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2"}},
        }


def _secret(profile: str) -> str:
    return f"sk-{profile.replace(':', '-')}-{LEAK_MARK}-0123456789"


SETUPS = [
    pytest.param(Setup(expected=("openai:default",)), id="nothing-anywhere"),
    pytest.param(
        Setup(stored=("openai:work",), expected=("openai:work",)),
        id="a-stored-profile-without-an-order",
    ),
    pytest.param(
        Setup(
            stored=("openai:zeta", "openai:work", "openai:default"),
            expected=("openai:default", "openai:work", "openai:zeta"),
        ),
        id="stored-profiles-default-first-then-by-name",
    ),
    pytest.param(
        Setup(
            declared=("openai:home",),
            stored=("openai:work", "openai:home"),
            expected=("openai:home", "openai:work"),
        ),
        id="declared-profiles-then-stored-ones",
    ),
    pytest.param(
        Setup(
            stored=("openai:default", "openai:work"),
            order=("openai:work",),
            expected=("openai:work",),
        ),
        id="the-config-order",
    ),
    pytest.param(
        Setup(
            stored=("openai:default", "openai:work"),
            order=("openai:work", "openai:default"),
            order_key="OpenAI",
            asked_as="OPENAI",
            expected=("openai:work", "openai:default"),
        ),
        id="a-mixed-case-provider-key",
    ),
    pytest.param(
        Setup(
            stored=("openai:default", "openai:work"),
            order=("openai:work",),
            override=("openai:default", "openai:work"),
            expected=("openai:default", "openai:work"),
        ),
        id="the-store-override-wins",
    ),
]


def _store(path: Path, setup: Setup) -> AuthStore:
    store = AuthStore(path=path)
    for profile in setup.stored:
        store.put(profile, ApiKeyCredential(key=_secret(profile)))
    if setup.override:
        store.set_order("openai", setup.override)
    return store


def _answer(request: httpx.Request) -> httpx.Response:
    """
    An OpenAI chat completion for the requested model.
    """
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "model": json.loads(request.content)["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        },
    )


def _first_request(setup: Setup, store: AuthStore) -> tuple[tuple[str, ...], str | None]:
    """
    The executor's order for openai, and the key its first request sends.
    """
    transport = ScriptedTransport([_answer], repeat_last=True)

    async def run() -> tuple[str, ...]:
        async with httpx.AsyncClient(transport=transport) as client:
            executor = Executor.from_config(
                load_config(setup.config()), client=client, auth_store=store, environ={}
            )
            if setup.stored:
                await executor.complete(HELLO)
            return tuple(str(p) for p in executor.routes.auth_order["openai"])

    order = anyio.run(run)
    keys = [r.headers["authorization"].removeprefix("Bearer ") for r in transport.requests]
    return order, keys[0] if keys else None


@pytest.mark.parametrize("setup", SETUPS)
def test_the_cli_and_the_executor_agree_on_the_rotation_order(cli: Cli, setup: Setup) -> None:
    """auth order get, models list and the executor give one order, and the first call uses it."""
    cli.write_config(setup.config())
    store = _store(cli.store_path, setup)

    order_get = cli.call("auth", "order", "get", setup.asked_as, "--json").json()["effective"]
    listed = cli.call("models", "list", "--json").json()["models"][0]["authOrder"]
    executor_order, first_key = _first_request(setup, store)

    assert list(setup.expected) == order_get
    assert list(setup.expected) == listed
    assert setup.expected == executor_order
    if setup.stored:
        assert _secret(setup.expected[0]) == first_key


def test_login_without_an_order_needs_no_order_set(cli: Cli) -> None:
    """A profile stored by login is used without any order, so login does not warn about one."""
    cli.write_config(Setup(expected=()).config())

    result = cli.call("login", "openai", "--profile", "work", "--stdin", stdin=_secret("w"))
    order = cli.call("auth", "order", "get", "openai", "--json").json()

    assert (0, "") == (result.code, result.stderr)
    assert (["openai:work"], "auth store profiles") == (order["effective"], order["from"])


def test_the_rule_keeps_one_place_per_profile() -> None:
    """A repeated profile keeps its first place, and other providers' profiles are dropped."""
    from modelcfg._core._decide import rotation_order

    work, home = ProfileId.parse("openai:work"), ProfileId.parse("openai:home")
    other = ProfileId.parse("anthropic:work")

    assert (work, home) == rotation_order("OpenAI", configured=(other, work, home, work))
    assert (home, work) == rotation_order("openai", declared=(home, other), stored=(work, home))
