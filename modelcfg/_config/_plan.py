"""
From a configuration and a catalog to what the decision core reads.

Pure: the caller supplies the curated (and any discovered) catalog and what the
auth store holds (order overrides, stored profiles); nothing here reads files,
the clock or the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import CatalogSource, Modality, ModelInfo
from modelcfg._config._problems import at_path, key_path
from modelcfg._config._schema import Config
from modelcfg._core._decide import rotation_order
from modelcfg._core._state import ModelTraits, Routes
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg.exceptions import ConfigError

__all__ = ["build_routes", "catalog_for", "profile_order", "traits_of"]


def catalog_for(
    config: Config, *, curated: ModelCatalog, discovered: ModelCatalog | None = None
) -> ModelCatalog:
    """
    The catalog as this config sees it: discovered, then curated, then the user's entries.

    A model entry's catalog fields (``contextWindow``, ``input``, ...) override the
    record the catalog has for it, or define a record for a model the catalog does
    not know (a local server, a custom provider).

    Raises:
        ConfigError: An entry contradicts the catalog's record (for example a
            ``maxOutputTokens`` above the model's known context window).
    """
    base = ModelCatalog.combined(curated=curated, discovered=discovered)
    user: list[ModelInfo] = []
    errors: list[str] = []
    for ref, entry in config.agent.models.items():
        overrides = entry.catalog_overrides()
        if not overrides:
            continue
        known = base.get(ref)
        info = known if known is not None else ModelInfo.unknown(ref, source=CatalogSource.USER)
        try:
            user.append(info.with_overrides(**overrides))
        except ValueError as exc:  # e.g. maxOutputTokens above the catalog's context window
            errors.append(
                at_path(key_path("$.agent.models", str(ref)), f"{exc} (with the catalog's record)")
            )
    if errors:
        raise ConfigError(errors)
    return base.with_models(user) if user else base


def traits_of(info: ModelInfo) -> ModelTraits:
    """
    What the decision core needs to know of a model record.
    """
    pricing = info.pricing
    modalities_known = len(info.input) > 1  # text-only is also what an unknown record says
    return ModelTraits(
        context_window=info.context_window,
        image_input=info.image_input,
        max_output_tokens=info.max_output_tokens,
        tools=info.tools,
        streaming=info.streaming,
        pdf_input=(Modality.PDF in info.input) if modalities_known else None,
        audio_input=(Modality.AUDIO in info.input) if modalities_known else None,
        json_output=True if info.structured_output else None,
        schema_output=info.structured_output,
        reasoning=info.reasoning,
        input_modalities_known=modalities_known,
        input_price=pricing.input if pricing is not None else None,
        output_price=pricing.output if pricing is not None else None,
    )


def profile_order(
    config: Config,
    provider: str,
    overrides: Mapping[str, Sequence[ProfileId]] | None = None,
    stored: Mapping[str, Sequence[ProfileId]] | None = None,
) -> tuple[ProfileId, ...]:
    """
    The rotation order of *provider*'s profiles, by the one rule
    (:func:`modelcfg._core._decide.rotation_order`).

    Args:
        config: The configuration (its ``auth.order`` and ``auth.profiles``).
        provider: The provider id, in any case.
        overrides: The auth store's order overrides, by provider.
        stored: The profiles in the auth store, by provider.
    """
    key = provider.strip().lower()
    return rotation_order(
        key,
        override=tuple((overrides or {}).get(key, ())),
        configured=config.auth_order(key),
        declared=tuple(config.auth.profiles),
        stored=tuple((stored or {}).get(key, ())),
    )


def build_routes(
    config: Config,
    catalog: ModelCatalog,
    *,
    order_overrides: Mapping[str, Sequence[ProfileId]] | None = None,
    stored_profiles: Mapping[str, Sequence[ProfileId]] | None = None,
    also: Iterable[ModelRef] = (),
) -> Routes:
    """
    The decision core's routing inputs for *config*.

    Args:
        config: A validated configuration with ``agent.model`` set.
        catalog: The catalog the config sees (see :func:`catalog_for`).
        order_overrides: Per-provider profile orders set in the auth store.
        stored_profiles: Per-provider profiles in the auth store; with no order set,
            they are tried after those the config declares (see :func:`profile_order`).
        also: Models outside the chains whose traits the core may need (a model a
            session selected with ``/model``).

    Raises:
        ConfigError: The configuration has no ``agent.model``.
    """
    chain = config.text_chain()
    if chain is None:
        raise ConfigError(
            [at_path("$.agent.model", "is required to route requests: set agent.model.primary")]
        )
    image_chain = config.image_chain()
    models = dict.fromkeys(
        (
            *chain.models,
            *(image_chain.models if image_chain else ()),
            *config.agent.models,
            *also,
        )
    )
    providers = dict.fromkeys(ref.provider for ref in models)
    return Routes(
        chain=chain,
        image_chain=image_chain,
        auth_order={
            p: profile_order(config, p, order_overrides, stored_profiles) for p in providers
        },
        traits={ref: traits_of(catalog.info(ref)) for ref in models},
        policy=config.policy,
        routing=config.agent.routing.policy,
    )
