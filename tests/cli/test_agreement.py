"""
The command line reports the credential the runtime sends: same config, store and environment.

``models list`` (and ``auth status``, ``validate``) resolve a provider's credential
with :func:`~modelcfg.auth.resolve_credential`; the executor asks
:func:`~modelcfg.auth.credential_for` for each attempt's profile and rotates past
profiles that have none. Both apply one rule; these tests check that, for each
scenario, the key the CLI names is the key a request really sends (or that both
say there is none).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest

from modelcfg import AttemptsExhaustedError, ProfileId
from modelcfg._catalog._curated import curated_catalog
from modelcfg._config._load import load_config
from modelcfg._config._plan import build_routes, catalog_for
from modelcfg._config._schema import Config
from modelcfg._executor._executor import Executor
from modelcfg._executor._wiring import _refresher_from, providers_from_config
from modelcfg._messages import ChatRequest, Message
from modelcfg.auth import (
    ApiKeyCredential,
    AuthStore,
    Credential,
    OAuthCredential,
    TokenCredential,
    credential_for,
)
from modelcfg.exceptions import CredentialsError
from modelcfg.testing import ScriptedTransport
from tests.cli.conftest import LEAK_MARK, Cli

NOW = time.time()
"""The CLI reads the real clock, so the executor's clock is the real time too."""
ENV_KEY = f"sk-env-{LEAK_MARK}-0123456789"
HELLO = ChatRequest(messages=[Message(role="user", content="hello")])


def _key(name: str) -> ApiKeyCredential:
    return ApiKeyCredential(key=f"sk-{name}-{LEAK_MARK}-0123456789")


EXPIRED_OAUTH = OAuthCredential(
    access=f"oa-{LEAK_MARK}-0123456789", refresh=f"rt-{LEAK_MARK}-0123456789", expires_at=NOW - 600
)


@attrs.frozen(kw_only=True)
class Scenario:
    """
    One setup: the config's auth.order for openai, the store, and whether the key is set.
    """

    order: tuple[str, ...]
    stored: Mapping[str, Credential]
    env: bool

    def config(self) -> dict[str, object]:
        """
        A one-model config on openai (through a mock transport: nothing leaves the process).
        """
        data: dict[str, Any] = {
            "providers": {"openai": {"api": "openai", "baseUrl": "http://127.0.0.1:9/v1"}},
            "agent": {"model": {"primary": "openai/gpt-5.2"}},
        }
        if self.order:
            data["auth"] = {"order": {"openai": list(self.order)}}
        return data

    def environ(self) -> dict[str, str]:
        """
        The environment of both the CLI and the executor.
        """
        return {"OPENAI_API_KEY": ENV_KEY} if self.env else {}


SCENARIOS = [
    pytest.param(
        Scenario(order=("openai:work",), stored={}, env=True), id="order-all-missing-uses-env"
    ),
    pytest.param(
        Scenario(
            order=("openai:default", "openai:work"), stored={"openai:work": _key("w")}, env=True
        ),
        id="stored-profile-beats-env",
    ),
    pytest.param(
        Scenario(order=("openai:work", "openai:default"), stored={}, env=True),
        id="two-missing-use-env-once",
    ),
    pytest.param(
        Scenario(order=(), stored={"openai:default": EXPIRED_OAUTH}, env=True),
        id="unrefreshable-oauth-uses-env",
    ),
    pytest.param(
        Scenario(order=(), stored={"openai:default": EXPIRED_OAUTH}, env=False),
        id="unrefreshable-oauth-is-none",
    ),
    pytest.param(
        Scenario(order=(), stored={"openai:work": _key("w")}, env=True),
        id="stored-profile-used-without-an-order",
    ),
    pytest.param(
        Scenario(
            order=("openai:default",),
            stored={
                "openai:default": TokenCredential(token=f"t-{LEAK_MARK}-01234567890", expires_at=1),
                "openai:work": _key("w"),
            },
            env=True,
        ),
        id="expired-token-uses-env",
    ),
    pytest.param(Scenario(order=(), stored={}, env=False), id="nothing-anywhere"),
]


def _store(path: Path, scenario: Scenario) -> AuthStore:
    store = AuthStore(path=path)
    for profile, credential in scenario.stored.items():
        store.put(profile, credential)
    return store


def _cli_secret(
    cli: Cli, scenario: Scenario, store: AuthStore, *, in_process: bool = False
) -> str | None:
    """
    The key ``models list`` (the console script, or ``main()`` *in_process*) says a call sends.
    """
    env = cli.with_env(**scenario.environ())
    args = ("models", "list", "--json")
    result = env.call(*args) if in_process else env.run(*args)
    assert (0, "") == (result.code, result.stderr), result.stderr
    auth = result.json()["models"][0]["auth"]
    match auth["origin"]:
        case "profile":
            stored = store.get(auth["profile"])
            assert stored is not None
            return stored.credential.secret.reveal()
        case "environment":
            return scenario.environ()[auth["envVar"]]
        case _:
            return None


def _sent_key(requests: list[httpx.Request]) -> str | None:
    keys = [r.headers.get("authorization", "").removeprefix("Bearer ") for r in requests]
    assert len(set(keys)) <= 1, "rotation sent more than one key"
    return keys[0] if keys else None


def _ok(request: httpx.Request) -> httpx.Response:
    model = json.loads(request.content)["model"]
    return httpx.Response(
        200,
        json={
            "id": "c1",
            "model": model,
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


async def _complete(executor: Executor) -> None:
    with contextlib.suppress(AttemptsExhaustedError):  # nothing sent: the CLI says "missing"
        await executor.complete(HELLO)


@attrs.frozen(kw_only=True)
class OrderedCredentials:
    """
    The executor's credential source as it is meant to be: credential_for with the routes' order.
    """

    store: AuthStore
    environ: Mapping[str, str]
    orders: Mapping[str, tuple[ProfileId, ...]]
    config: Config
    client: httpx.AsyncClient

    async def credential(self, profile: ProfileId) -> str | None:
        settings = {p: s for p in self.orders if (s := self.config.provider(p)) is not None}
        resolved = await credential_for(
            profile,
            store=self.store,
            environ=self.environ,
            env_vars=settings[profile.provider].api_key_env,
            refresher=_refresher_from(self.config, settings, self.client, lambda: NOW),
            now=NOW,
            order=self.orders.get(profile.provider),
        )
        return resolved.require().reveal()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_cli_names_the_key_the_executor_sends(
    cli: Cli, tmp_path: Path, scenario: Scenario
) -> None:
    """For each setup, the key models list reports is the key a request sends, or neither has one."""
    cli.write_config(scenario.config())
    store = _store(cli.store_path, scenario)
    config = load_config(scenario.config())
    routes = build_routes(
        config,
        catalog_for(config, curated=curated_catalog()),
        stored_profiles={"openai": [s.profile for s in store.profiles("openai")]},
    )
    transport = ScriptedTransport([_ok], repeat_last=True)

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            credentials = OrderedCredentials(
                store=store,
                environ=scenario.environ(),
                orders=routes.auth_order,
                config=config,
                client=client,
            )
            executor = Executor(
                routes,
                providers=providers_from_config(config, tuple(routes.auth_order)),
                credentials=credentials,
                client=client,
                clock=lambda: NOW,
            )
            await _complete(executor)

    cli_secret = _cli_secret(cli, scenario, store)
    anyio.run(run)

    assert cli_secret == _sent_key(transport.requests)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_cli_names_the_key_executor_from_config_sends(
    cli: Cli, tmp_path: Path, scenario: Scenario
) -> None:
    """Executor.from_config with the same store and environment sends the key the CLI names."""
    cli.write_config(scenario.config())
    store = _store(cli.store_path, scenario)
    transport = ScriptedTransport([_ok], repeat_last=True)

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            executor = Executor.from_config(
                load_config(scenario.config()),
                client=client,
                auth_store=store,
                environ=scenario.environ(),
                clock=time.time,
            )
            await _complete(executor)

    cli_secret = _cli_secret(cli, scenario, store, in_process=True)
    anyio.run(run)

    assert cli_secret == _sent_key(transport.requests)


def test_a_missing_profile_is_an_auth_failure_not_a_crash(tmp_path: Path) -> None:
    """With a usable profile later in the order, the first (missing) profile raises CredentialsError."""
    store = AuthStore(path=tmp_path / "auth.json")
    store.put("openai:work", _key("w"))
    order = (ProfileId.parse("openai:default"), ProfileId.parse("openai:work"))

    async def first() -> None:
        await credential_for(
            order[0], store=store, environ={"OPENAI_API_KEY": ENV_KEY}, order=order, now=NOW
        )

    with pytest.raises(CredentialsError, match="openai:default is not in the auth store"):
        anyio.run(first)
