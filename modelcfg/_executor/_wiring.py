"""
Building the executor's provider setups from a config: adapters, endpoints, OAuth refreshers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, assert_never

import attrs
import httpx

from modelcfg._config._schema import Config, ProviderConfig, WireFormat
from modelcfg._core._values import ModelRef
from modelcfg.adapters import (
    DEFAULT_LIMITS,
    AnthropicAdapter,
    CallLimits,
    Endpoint,
    OpenAIAdapter,
)
from modelcfg.exceptions import (
    ModelcfgError,
)

if TYPE_CHECKING:
    from modelcfg.adapters import Adapter
    from modelcfg.auth import Refresher
    from modelcfg.typing import Clock


def limits_from(config: Config) -> CallLimits:
    """
    The per-attempt limits the config's ``timeouts`` set, over :data:`DEFAULT_LIMITS`.
    """
    timeouts = config.timeouts
    return attrs.evolve(
        DEFAULT_LIMITS,
        connect_s=timeouts.connect_s,
        read_s=timeouts.read_s,
        first_token_s=timeouts.first_token_s,
        idle_s=timeouts.idle_s,
    )


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
