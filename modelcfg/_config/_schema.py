"""
The configuration's classes: what a validated configuration holds.

The file format is the proposal's JSON shape with camelCase keys
(``agent.imageModel``); the classes use snake_case attributes, and the private
converter (:mod:`modelcfg._config._converter`) maps one to the other. Loading
(:mod:`modelcfg._config._load`) reports every problem at once, each with its JSON
path, as one :class:`~modelcfg.exceptions.ConfigError`.

Config holds no secrets: credentials live in the auth store, and values that
look like credentials (header values, key variable names, URLs with user info)
are refused without being echoed (:mod:`modelcfg._config._checks`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from modelcfg._catalog._records import Modality, ModelStatus, Pricing
from modelcfg._config._aliases import builtin_aliases, listed_models
from modelcfg._config._params import ParamsPolicy
from modelcfg._config._providers import BUILTIN_PROVIDERS, WireFormat
from modelcfg._core._budget import Budget
from modelcfg._core._policy import Policy, RoutingPolicy
from modelcfg._core._values import PROVIDER_ALIASES, FallbackChain, ModelRef, ProfileId

__all__ = [
    "AgentConfig",
    "ArmConfig",
    "AuthConfig",
    "AuthMode",
    "ChainConfig",
    "Config",
    "ExperimentConfig",
    "ModelEntry",
    "OAuthEndpoints",
    "PresetConfig",
    "ProfileConfig",
    "ProviderConfig",
    "RoutingConfig",
    "Timeouts",
    "WireFormat",
    "provider_id",
]


def provider_id(text: str) -> str:
    """
    *text* as a provider id: lower-cased and checked by the rule the value types use.

    Raises:
        ValueError: It is not a provider id (the message says what one looks like).
    """
    # The provider of a profile id is normalised and validated exactly as every
    # other provider id is, so this is the one rule, with its one wording.
    return ProfileId.default_for(text).provider


def _canonical(text: str) -> str:
    """
    *text* lower-cased, and an alias turned into its provider id (``Z.ai`` -> ``zai``).
    """
    key = text.strip().lower()
    return PROVIDER_ALIASES.get(key, key)


class AuthMode(enum.StrEnum):
    """
    How a profile authenticates.
    """

    API_KEY = "api_key"
    OAUTH = "oauth"
    TOKEN = "token"


@attrs.frozen(kw_only=True)
class ProfileConfig:
    """
    A declared auth profile (its secret lives in the auth store).

    Attributes:
        provider: The provider the profile belongs to; must match its id.
        mode: How it authenticates.
        email: The account, for display (OAuth).
    """

    provider: str
    mode: AuthMode = AuthMode.API_KEY
    email: str | None = None


@attrs.frozen(kw_only=True)
class AuthConfig:
    """
    The ``auth`` section: declared profiles and the rotation order per provider.
    """

    profiles: Mapping[ProfileId, ProfileConfig] = attrs.field(factory=dict)
    order: Mapping[str, tuple[ProfileId, ...]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ModelEntry:
    """
    What the user says about one model: its alias, parameters, and catalog facts.

    The catalog fields (``name`` to ``status``) override or, for models the
    catalog does not know (local servers, custom providers), define the model's
    record. ``None`` means "as the catalog says".
    """

    alias: str | None = None
    params: Mapping[str, object] = attrs.field(factory=dict)
    name: str | None = None
    input: frozenset[Modality] | None = None
    tools: bool | None = None
    streaming: bool | None = None
    structured_output: bool | None = None
    reasoning: bool | None = None
    temperature: bool | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    pricing: Pricing | None = None
    knowledge_cutoff: str | None = None
    status: ModelStatus | None = None

    def catalog_overrides(self) -> dict[str, object]:
        """
        The catalog fields this entry sets, by ``ModelInfo`` field name.
        """
        return {
            name: value for name in _CATALOG_FIELDS if (value := getattr(self, name)) is not None
        }


_CATALOG_FIELDS: Final = (
    "name",
    "input",
    "tools",
    "streaming",
    "structured_output",
    "reasoning",
    "temperature",
    "context_window",
    "max_output_tokens",
    "pricing",
    "knowledge_cutoff",
    "status",
)


@attrs.frozen(kw_only=True)
class ChainConfig:
    """
    A primary model and its fallbacks, as written: ids or aliases.

    Use :meth:`Config.text_chain` / :meth:`Config.image_chain` for the resolved
    :class:`~modelcfg.FallbackChain`.
    """

    primary: str
    fallbacks: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RoutingConfig:
    """
    The ``agent.routing`` section: how the candidates a request can use are ordered.

    Attributes:
        policy: ``ordered`` (the chain as written, the default), ``cost``,
            ``latency`` or ``reliability`` (see :class:`~modelcfg.RoutingPolicy`).
    """

    policy: RoutingPolicy = RoutingPolicy.ORDERED


@attrs.frozen(kw_only=True)
class AgentConfig:
    """
    The ``agent`` section: models, the fallback chains and the allowlist.

    Attributes:
        models: Per-model settings keyed by ``provider/model``.
        model: The global text chain (``agent.model``).
        image_model: The image chain (``agent.imageModel``), used only when configured.
        allowlist: If set, the only models a session may select. Adding an alias
            or a fallback never restricts selection by itself.
        alias_params: Parameters per alias (``agent.aliasParams``): they apply to
            whichever model the alias names, after the model's own.
        routing: How candidates are ordered (``agent.routing``).
    """

    models: Mapping[ModelRef, ModelEntry] = attrs.field(factory=dict)
    model: ChainConfig | None = None
    image_model: ChainConfig | None = None
    allowlist: tuple[str, ...] | None = None
    alias_params: Mapping[str, Mapping[str, object]] = attrs.field(factory=dict)
    routing: RoutingConfig = attrs.field(factory=RoutingConfig)
    # Derived from `models` on first use and kept: aliases are looked up for every chain
    # entry, and rebuilding the index each time made loading a large config quadratic.
    _alias_index: dict[str, ModelRef] | None = attrs.field(
        init=False, default=None, eq=False, repr=False
    )

    def aliases(self) -> Mapping[str, ModelRef]:
        """
        Every alias, lower-cased, to the model it names: the user's, and the built-in
        ones (``opus``, ``gpt``, ...) of the listed models (see ``_config/_aliases.py``).
        """
        index = self._alias_index
        if index is None:
            index = {
                entry.alias.casefold(): ref for ref, entry in self.models.items() if entry.alias
            }
            chains = [(c.primary, *c.fallbacks) for c in (self.model, self.image_model) if c]
            builtin = builtin_aliases(
                listed_models(chains, self.models),
                opted_out=[ref for ref, entry in self.models.items() if entry.alias == ""],
                taken=index,
            )
            index = {**builtin, **index}
            object.__setattr__(self, "_alias_index", index)
        return index


@attrs.frozen(kw_only=True)
class OAuthEndpoints:
    """
    Where a provider's OAuth authorization-code flow happens.
    """

    authorize_url: str
    token_url: str
    client_id: str
    scopes: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ProviderConfig:
    """
    One provider: its wire format, endpoint and where its keys come from.

    Attributes:
        api: The wire format it speaks.
        base_url: The API's base URL; ``None`` means the built-in default.
        headers: Extra headers sent with every request (never credentials).
        api_key_env: Names of environment variables that may hold its key.
        oauth: OAuth endpoints, for ``modelcfg login`` with OAuth.
        params: Request parameters for every model of this provider.
    """

    api: WireFormat = WireFormat.OPENAI
    base_url: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    api_key_env: tuple[str, ...] = ()
    oauth: OAuthEndpoints | None = None
    params: Mapping[str, object] = attrs.field(factory=dict)


_BUILTIN_CONFIGS: Final[Mapping[str, ProviderConfig]] = {
    provider: ProviderConfig(api=row.api, base_url=row.base_url, api_key_env=row.env_vars)
    for provider, row in BUILTIN_PROVIDERS.items()
}
"""The built-in providers (:data:`~modelcfg._config._providers.BUILTIN_PROVIDERS`) as settings."""


@attrs.frozen(kw_only=True)
class PresetConfig:
    """
    A user preset (``presets.NAME``): parameters, and optionally a model or chain.

    Attributes:
        params: The parameters it sets (``null`` removes an inherited one).
        model: A model id or alias the request goes to first.
        fallbacks: With *model*, the fallbacks that follow it instead of ``agent.model``'s.
        description: One sentence shown by ``modelcfg params presets``.
    """

    params: Mapping[str, object] = attrs.field(factory=dict)
    model: str | None = None
    fallbacks: tuple[str, ...] | None = None
    description: str | None = None


@attrs.frozen(kw_only=True)
class ArmConfig:
    """
    One arm of an experiment: its share of sessions and what it changes.

    Attributes:
        weight: Its share, relative to the other arms' weights (0 pauses the arm).
        preset: The preset its sessions get, if any.
        model: The model id or alias its sessions go to first, if any.
    """

    weight: float
    preset: str | None = None
    model: str | None = None


@attrs.frozen(kw_only=True)
class ExperimentConfig:
    """
    An A/B experiment (``experiments.NAME``): sessions split between arms by weight.

    Attributes:
        arms: The arms, in the order their shares are laid out.
        enabled: Whether sessions are assigned now (at most one experiment at a time).
        description: What it tests.
    """

    arms: Mapping[str, ArmConfig]
    enabled: bool = True
    description: str | None = None


def _limit(_instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{attribute.name} must be a number of seconds or null, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{attribute.name} must be a finite number of seconds > 0, or null for no limit, "
            f"not {value!r}"
        )


@attrs.frozen(kw_only=True)
class Timeouts:
    """
    The ``timeouts`` section: per-attempt time limits; ``None`` (``null``) switches one off.

    The defaults are those of :data:`modelcfg.DEFAULT_LIMITS`. The request's overall
    deadline is the policy's ``deadline_s`` (``policy.deadlineSeconds``), or the
    *deadline_s* a call passes.

    Attributes:
        connect_s: Time to establish a connection.
        read_s: Longest wait for any bytes from the socket.
        first_token_s: Time from sending the request to the first content of a
            stream, or to the whole answer of a call that does not stream.
        idle_s: Longest gap between a stream's content events once it has started.

    .. versionadded:: 0.2.0
    """

    connect_s: float | None = attrs.field(default=10.0, validator=_limit)
    read_s: float | None = attrs.field(default=None, validator=_limit)
    first_token_s: float | None = attrs.field(default=120.0, validator=_limit)
    idle_s: float | None = attrs.field(default=60.0, validator=_limit)


@attrs.frozen(kw_only=True)
class Config:
    """
    A whole, validated configuration.

    Build one with :func:`~modelcfg.load_config` (or :func:`modelcfg.load_config_file`);
    write it back with :func:`~modelcfg.dump_config`.

    Attributes:
        auth: Profiles and rotation orders.
        agent: Models, chains, the allowlist and alias parameters.
        providers: Provider settings, over the built-in ones.
        policy: Retry, rotation and cooldown settings.
        params: Request parameters for every model (the lowest layer).
        params_policy: What happens to a parameter a model does not take.
        presets: User presets, over the built-in ones.
        experiments: A/B experiments.
        timeouts: Per-attempt time limits.
    """

    auth: AuthConfig = attrs.field(factory=AuthConfig)
    agent: AgentConfig = attrs.field(factory=AgentConfig)
    providers: Mapping[str, ProviderConfig] = attrs.field(factory=dict)
    policy: Policy = attrs.field(factory=Policy)
    params: Mapping[str, object] = attrs.field(factory=dict)
    params_policy: ParamsPolicy = ParamsPolicy.DROP
    presets: Mapping[str, PresetConfig] = attrs.field(factory=dict)
    experiments: Mapping[str, ExperimentConfig] = attrs.field(factory=dict)
    budgets: tuple[Budget, ...] = ()
    timeouts: Timeouts = attrs.field(factory=Timeouts)

    def provider(self, provider_id: str) -> ProviderConfig | None:
        """
        The provider's settings: the configured entry, else the built-in one, else ``None``.

        An entry for a built-in provider that leaves ``baseUrl`` (and ``apiKeyEnv``)
        out keeps the built-in ones: ``None`` means the built-in default, so an entry
        that only adds ``params`` or ``headers`` still reaches the provider.
        """
        key = _canonical(provider_id)
        entry = self.providers.get(key)
        builtin = _BUILTIN_CONFIGS.get(key)
        if entry is None or builtin is None or entry.base_url is not None:
            return entry or builtin
        return attrs.evolve(
            entry,
            base_url=builtin.base_url,
            api_key_env=entry.api_key_env or builtin.api_key_env,
        )

    def aliases(self) -> Mapping[str, ModelRef]:
        """
        Every alias, lower-cased, to the model it names.
        """
        return self.agent.aliases()

    def lookup(self, text: str) -> ModelRef | None:
        """
        Resolve an alias (case-insensitive) or a ``provider/model`` text; ``None`` if neither.
        """
        ref = self.aliases().get(text.strip().casefold())
        if ref is not None:
            return ref
        try:
            return ModelRef.parse(text)
        except ValueError:
            return None

    def text_chain(self) -> FallbackChain | None:
        """
        The global chain (``agent.model``) with aliases resolved, or ``None`` if unset.
        """
        return self._chain(self.agent.model)

    def image_chain(self) -> FallbackChain | None:
        """
        The image chain (``agent.imageModel``) with aliases resolved, or ``None`` if unset.
        """
        return self._chain(self.agent.image_model)

    def _chain(self, chain: ChainConfig | None) -> FallbackChain | None:
        if chain is None:
            return None
        refs = [self.lookup(text) for text in (chain.primary, *chain.fallbacks)]
        return FallbackChain.of(*(ref for ref in refs if ref is not None))

    def auth_order(self, provider: str) -> tuple[ProfileId, ...]:
        """
        The configured rotation order for *provider* (``auth.order``), or ``()``.
        """
        return self.auth.order.get(_canonical(provider), ())
