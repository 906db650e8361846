"""
A configuration's parameters, presets and experiments, ready for requests.

:class:`ParamResolver` is what the executor (and ``modelcfg params explain``)
asks: the layers for a model (global, provider, catalog defaults, model, alias,
then a preset, the session and the request), the plan for one attempt
(:func:`~modelcfg._config._wire_params.plan_params`), and the presets by name.
:func:`resolve_choice` reads ``/model`` text with a preset (``Opus+deep``);
:func:`active_experiment` gives the experiment sessions are assigned to.

Pure: the catalog and the configuration come in; nothing is read.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._config._params import (
    BUILTIN_PRESETS,
    LayerKind,
    ParamLayer,
    ParamSource,
    Preset,
    ResolvedParams,
    resolve_params,
)
from modelcfg._config._resolve import resolve_model
from modelcfg._config._schema import Config
from modelcfg._config._wire_params import (
    ParamCapabilities,
    ParamDialect,
    ParamPlan,
    dialect_for,
    plan_params,
)
from modelcfg._core._experiments import Split
from modelcfg._core._values import FallbackChain, ModelRef, ProfileId, Selection
from modelcfg.exceptions import UnknownModelError, UnknownPresetError
from modelcfg.typing import JSON

__all__ = [
    "NO_PRESET",
    "Arm",
    "Experiment",
    "ModelChoice",
    "ParamResolver",
    "PresetRoute",
    "active_experiment",
    "presets_of",
    "resolve_choice",
    "routed_models",
]

NO_PRESET: Final = "none"
"""The preset name that clears a session's preset (``/model +none``); no preset may take it."""


def presets_of(config: Config) -> dict[str, Preset]:
    """
    Every preset, by lower-cased name: the built-in ones, replaced by user presets of
    the same name.
    """
    presets = {name.casefold(): preset for name, preset in BUILTIN_PRESETS.items()}
    for name, entry in config.presets.items():
        presets[name.casefold()] = Preset(
            name=name,
            params=_json_params(entry.params),
            model=entry.model,
            fallbacks=entry.fallbacks,
            description=entry.description or "",
        )
    return presets


def _json_params(values: Mapping[str, object]) -> dict[str, JSON]:
    # The converter admits JSON values only (modelcfg._config._converter): the cast
    # restates what loading checked.
    return typing.cast("dict[str, JSON]", dict(values))


def _unknown_preset(name: str, presets: Iterable[str]) -> UnknownPresetError:
    known = sorted(presets)
    close = tuple(difflib.get_close_matches(name.casefold(), known, n=3, cutoff=0.6))
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    return UnknownPresetError(
        f"{name!r} is not a preset (known: {', '.join(known)}).{hint}",
        text=name,
        suggestions=close,
    )


@attrs.frozen(kw_only=True)
class PresetRoute:
    """
    Where a preset sends requests.

    Attributes:
        model: The model it names, first in line; ``None`` when it names none.
        chain: The whole chain, when it names fallbacks too.
    """

    model: ModelRef | None = None
    chain: FallbackChain | None = None

    def over(self, chain: FallbackChain, lead: ModelRef | None = None) -> FallbackChain:
        """
        The chain a request follows: this route's chain; else *chain* with this
        route's model (or, when it names none, *lead*: an experiment arm's) first.
        """
        if self.chain is not None:
            return self.chain
        first = self.model or lead
        if first is None or first == chain.primary:
            return chain
        return FallbackChain.of(first, *(m for m in chain.models if m != first))


class ParamResolver:
    """
    A configuration's parameters, per model and per attempt.

    The layers that depend only on the model (global, provider, catalog defaults,
    model, alias) are worked out once per model and kept.

    Args:
        config: The validated configuration.
        catalog: The catalog the config sees (its records give each model's
            capabilities and default parameters); ``None``: nothing is known.
    """

    def __init__(self, config: Config, catalog: ModelCatalog | None = None) -> None:
        self.config = config
        self.catalog = catalog
        self.presets = presets_of(config)
        self._static: dict[
            ModelRef, tuple[tuple[ParamLayer, ...], ParamCapabilities, ParamDialect]
        ] = {}
        self._aliases: dict[ModelRef, list[str]] = {}
        self._preset_layers: dict[tuple[Preset, str | None], ParamLayer] = {}
        for alias, ref in config.aliases().items():
            self._aliases.setdefault(ref, []).append(alias)
        self._alias_params = {
            alias.casefold(): (alias, values) for alias, values in config.agent.alias_params.items()
        }

    def __repr__(self) -> str:
        return f"ParamResolver(presets={sorted(self.presets)})"

    def preset(self, name: str) -> Preset:
        """
        The preset called *name* (any case).

        Raises:
            UnknownPresetError: No preset has that name; the message suggests close ones.
        """
        preset = self.presets.get(name.strip().casefold())
        if preset is None:
            raise _unknown_preset(name, self.presets)
        return preset

    def route(self, preset: Preset) -> PresetRoute:
        """
        Where *preset* sends requests: its model, and its chain if it names fallbacks.

        Raises:
            UnknownModelError: Its model or a fallback names no known model.
        """
        if preset.model is None:
            return PresetRoute()
        refs = [self._model(text, preset) for text in (preset.model, *(preset.fallbacks or ()))]
        chain = FallbackChain.of(*refs) if preset.fallbacks is not None else None
        return PresetRoute(model=refs[0], chain=chain)

    def _model(self, text: str, preset: Preset) -> ModelRef:
        ref = self.config.lookup(text)
        if ref is None:
            raise UnknownModelError(
                f"Preset {preset.name!r} names {text!r}, which is not a known model id or alias.",
                text=text,
            )
        return ref

    def _model_layers(
        self, model: ModelRef
    ) -> tuple[tuple[ParamLayer, ...], ParamCapabilities, ParamDialect]:
        found = self._static.get(model)
        if found is not None:
            return found
        config = self.config
        info = self.catalog.get(model) if self.catalog is not None else None
        caps = ParamCapabilities.of(info)
        settings = config.provider(model.provider)
        entry = config.agent.models.get(model)
        layers = [
            ParamLayer(
                source=ParamSource(kind=LayerKind.GLOBAL), values=_json_params(config.params)
            ),
            ParamLayer(
                source=ParamSource(kind=LayerKind.PROVIDER, name=model.provider),
                values=_json_params(settings.params) if settings is not None else {},
            ),
            ParamLayer(
                source=ParamSource(kind=LayerKind.CATALOG, name=str(model)), values=caps.defaults
            ),
            ParamLayer(
                source=ParamSource(kind=LayerKind.MODEL, name=str(model)),
                values=_json_params(entry.params) if entry is not None else {},
            ),
        ]
        # Built-in aliases first, then the user's own, which wins.
        own = entry.alias.casefold() if entry is not None and entry.alias else None
        for alias in sorted(self._aliases.get(model, ()), key=lambda a: (a == own, a)):
            named = self._alias_params.get(alias)
            if named is not None:
                layers.append(
                    ParamLayer(
                        source=ParamSource(kind=LayerKind.ALIAS, name=named[0]),
                        values=_json_params(named[1]),
                    )
                )
        dialect = (
            dialect_for(settings.api, provider=model.provider, base_url=settings.base_url)
            if settings is not None
            else ParamDialect.OPENAI_COMPATIBLE
        )
        found = (tuple(layer for layer in layers if layer.values), caps, dialect)
        self._static[model] = found
        return found

    def layers(
        self,
        model: ModelRef,
        *,
        preset: Preset | None = None,
        preset_via: str | None = None,
        session: Mapping[str, JSON] | None = None,
        request: Mapping[str, JSON] | None = None,
    ) -> list[ParamLayer]:
        """
        Every non-empty layer for *model*, lowest first.

        Args:
            model: The model an attempt goes to.
            preset: The preset in force (the request's, else the session's, else
                the experiment arm's).
            preset_via: Why the preset applies, when not chosen directly
                (``experiment tone, arm b``).
            session: The session's parameters.
            request: The request's parameters.
        """
        static, _caps, _dialect = self._model_layers(model)
        layers = list(static)
        if preset is not None and preset.params:
            layer = self._preset_layers.get((preset, preset_via))
            if layer is None:
                layer = self._preset_layers[preset, preset_via] = preset.layer(preset_via)
            layers.append(layer)
        if session:
            layers.append(ParamLayer(source=_SESSION, values=session))
        if request:
            layers.append(ParamLayer(source=_REQUEST, values=request))
        return layers

    def resolve(
        self,
        model: ModelRef,
        *,
        preset: Preset | None = None,
        preset_via: str | None = None,
        session: Mapping[str, JSON] | None = None,
        request: Mapping[str, JSON] | None = None,
    ) -> ResolvedParams:
        """
        The parameters for *model* after every layer, with their sources (see :meth:`layers`).
        """
        return resolve_params(
            self.layers(
                model, preset=preset, preset_via=preset_via, session=session, request=request
            )
        )

    def plan(
        self,
        model: ModelRef,
        *,
        preset: Preset | None = None,
        preset_via: str | None = None,
        session: Mapping[str, JSON] | None = None,
        request: Mapping[str, JSON] | None = None,
        default_max_tokens: int = 4096,
    ) -> ParamPlan:
        """
        What one attempt on *model* sends: the resolved parameters, checked against
        the model and its provider's API under ``paramsPolicy``, and translated.

        Args:
            default_max_tokens: ``max_tokens`` for a wire that requires one
                (Anthropic's) when no layer sets it.
        """
        _static, caps, dialect = self._model_layers(model)
        resolved = self.resolve(
            model, preset=preset, preset_via=preset_via, session=session, request=request
        )
        return plan_params(
            resolved,
            model=model,
            caps=caps,
            dialect=dialect,
            policy=self.config.params_policy,
            default_max_tokens=default_max_tokens,
        )


_SESSION: Final = ParamSource(kind=LayerKind.SESSION)
_REQUEST: Final = ParamSource(kind=LayerKind.REQUEST)


# --- /model text with a preset --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ModelChoice:
    """
    What ``/model`` text chose: a model (and profile), a preset, or both.

    Attributes:
        selection: The model choice; ``None`` when the text named only a preset
            (``+deep``), which keeps the session's model.
        preset: The preset's name as configured; ``None`` when none was named.
        clears_preset: The text was ``+none``: the session's preset is cleared.
    """

    selection: Selection | None = None
    preset: str | None = None
    clears_preset: bool = False


def resolve_choice(
    text: str,
    config: Config,
    *,
    profiles: Iterable[ProfileId] = (),
    models: Iterable[ModelRef] = (),
    strict: bool = False,
) -> ModelChoice:
    """
    Resolve ``/model`` text that may end in ``+PRESET``.

    Accepted forms: ``Opus``, ``Opus@work`` (as :func:`~modelcfg.resolve_model`
    reads them), each optionally followed by ``+deep`` (a preset for the session);
    ``+deep`` alone (a preset, the model unchanged); ``+none`` (clear the preset).
    A model id that itself holds a ``+`` (``local/q4+k``) stays a model id when
    the part after the last ``+`` names no preset, unless that part is close to a
    preset's name and the id is neither configured nor among *models*: then it is
    taken for a misspelt preset.

    Raises:
        UnknownPresetError: The part after ``+`` names no preset (and the whole
            text is no model either); the message suggests close names.
        UnknownModelError: The model part names nothing known.
    """
    text = text.strip()
    head, plus, tail = text.rpartition("+")
    if not plus:
        return ModelChoice(
            selection=resolve_model(text, config, profiles=profiles, models=models, strict=strict)
        )
    presets = presets_of(config)
    name = tail.strip()
    preset = presets.get(name.casefold())
    if preset is None and name.casefold() != NO_PRESET:
        if head.strip():
            models = tuple(models)
            try:  # a model id with a '+' in it
                whole = resolve_model(text, config, profiles=profiles, models=models, strict=strict)
            except UnknownModelError:
                whole = None
            # An id nobody lists whose suffix is close to a preset's name is a misspelt
            # preset ('gpt-5+fsat'), not a new model to send requests to.
            if whole is not None and (
                whole.model in config.agent.models
                or whole.model in models
                or not difflib.get_close_matches(name.casefold(), presets, n=1, cutoff=0.6)
            ):
                return ModelChoice(selection=whole)
        raise _unknown_preset(name, presets)
    selection = (
        resolve_model(head, config, profiles=profiles, models=models, strict=strict)
        if head.strip()
        else None
    )
    if preset is None:
        return ModelChoice(selection=selection, clears_preset=True)
    return ModelChoice(selection=selection, preset=preset.name)


# --- experiments ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Arm:
    """
    The arm a session was assigned to, and what it changes.

    Attributes:
        experiment: The experiment's name.
        name: The arm's name.
        preset: The preset its sessions get, if any.
        model: The model its sessions go to first, if any.
    """

    experiment: str
    name: str
    preset: str | None = None
    model: ModelRef | None = None

    @property
    def label(self) -> str:
        """
        ``experiment:arm``, as reports and the usage ledger record it.
        """
        return f"{self.experiment}:{self.name}"


@attrs.frozen(kw_only=True)
class Experiment:
    """
    An enabled experiment: its split and its arms.

    Attributes:
        split: How sessions are split (pure; see :mod:`modelcfg._core._experiments`).
        arms: Each arm, by name.
    """

    split: Split
    arms: Mapping[str, Arm] = attrs.field(hash=False)

    @property
    def name(self) -> str:
        """
        The experiment's name.
        """
        return self.split.experiment

    def assign(self, session_id: str) -> Arm:
        """
        The arm of *session_id*: always the same one while the weights stay the same.
        """
        return self.arms[self.split.arm_for(session_id)]


def active_experiment(config: Config) -> Experiment | None:
    """
    The enabled experiment of *config*, or ``None`` (loading allows at most one).
    """
    for name, entry in config.experiments.items():
        if not entry.enabled:
            continue
        arms = {
            arm: Arm(
                experiment=name,
                name=arm,
                preset=(
                    presets_of(config)[setting.preset.casefold()].name
                    if setting.preset is not None
                    else None
                ),
                model=config.lookup(setting.model) if setting.model is not None else None,
            )
            for arm, setting in entry.arms.items()
        }
        split = Split.of(name, ((arm, setting.weight) for arm, setting in entry.arms.items()))
        return Experiment(split=split, arms=arms)
    return None


def routed_models(config: Config) -> tuple[ModelRef, ...]:
    """
    The models presets and experiment arms send requests to, so that routes know them.
    """
    texts: list[str] = []
    for preset in config.presets.values():
        texts += [t for t in (preset.model, *(preset.fallbacks or ())) if t is not None]
    for experiment in config.experiments.values():
        texts += [arm.model for arm in experiment.arms.values() if arm.model is not None]
    found = (config.lookup(text) for text in texts)
    return tuple(dict.fromkeys(ref for ref in found if ref is not None))
