"""
The configuration checks of parameters, presets and experiments.

Each parameter value is checked on its own wherever it is written (``params``,
``providers.NAME.params``, ``agent.models[ID].params``, ``agent.aliasParams``,
``presets.NAME.params``): a ``temperature`` of ``"hot"`` is a mistake on every
model. What a given model takes is checked when a request is planned (and by
``modelcfg params explain``), as the policy ``paramsPolicy`` says. Presets and
experiments must name models, aliases and presets that exist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from modelcfg._config._param_plan import NO_PRESET, presets_of
from modelcfg._config._params import PRESET_NAME, RESERVED_PARAMS, SYNONYMS, value_problem
from modelcfg._config._problems import at_path, did_you_mean, key_path
from modelcfg._config._schema import Config

__all__ = ["check_params", "params_sections"]


def params_sections(config: Config) -> list[tuple[str, Mapping[str, object]]]:
    """
    Every place *config* writes request parameters, with its JSON path.
    """
    sections: list[tuple[str, Mapping[str, object]]] = [("$.params", config.params)]
    sections += [
        (f"{key_path('$.providers', provider)}.params", settings.params)
        for provider, settings in config.providers.items()
    ]
    sections += [
        (f"{key_path('$.agent.models', str(ref))}.params", entry.params)
        for ref, entry in config.agent.models.items()
    ]
    sections += [
        (key_path("$.agent.aliasParams", alias), values)
        for alias, values in config.agent.alias_params.items()
    ]
    sections += [
        (f"{key_path('$.presets', name)}.params", preset.params)
        for name, preset in config.presets.items()
    ]
    return sections


def check_params(config: Config) -> list[str]:
    """
    Every problem with *config*'s parameters, presets and experiments, as ``"$.path: message"``.
    """
    return [*_values(config), *_alias_params(config), *_presets(config), *_experiments(config)]


def _values(config: Config) -> list[str]:
    errors: list[str] = []
    for path, values in params_sections(config):
        for name, value in values.items():
            where = key_path(path, name)
            if name in RESERVED_PARAMS:
                errors.append(
                    at_path(
                        where,
                        "is not a parameter: the model comes from routing, and messages, "
                        "system, tools, tool_choice, stream and response_format from the request",
                    )
                )
                continue
            problem = value_problem(name, value)
            if problem is not None:
                errors.append(at_path(where, problem))
        for other, name in SYNONYMS.items():
            if other in values and name in values:
                errors.append(
                    at_path(
                        key_path(path, other),
                        f"{other!r} and {name!r} name the same parameter; keep one of them",
                    )
                )
    return errors


def _alias_params(config: Config) -> list[str]:
    errors: list[str] = []
    aliases = config.aliases()
    seen: dict[str, str] = {}
    for alias in config.agent.alias_params:
        where = key_path("$.agent.aliasParams", alias)
        folded = alias.casefold()
        if folded in seen:
            errors.append(
                at_path(where, f"{alias!r} names the same alias as {seen[folded]!r}; keep one")
            )
        seen.setdefault(folded, alias)
        if folded not in aliases:
            errors.append(
                at_path(
                    where, f"{alias!r} is not an alias of any model{did_you_mean(alias, aliases)}"
                )
            )
    return errors


def _model_problem(config: Config, text: str) -> str | None:
    if config.lookup(text) is not None:
        return None
    names = [*config.aliases(), *map(str, config.agent.models)]
    return f"{text!r} is not a known model id or alias{did_you_mean(text, names)}"


def _presets(config: Config) -> list[str]:
    errors: list[str] = []
    seen: dict[str, str] = {}
    for name, preset in config.presets.items():
        where = key_path("$.presets", name)
        if not PRESET_NAME.match(name):
            errors.append(
                at_path(
                    where,
                    f"{name!r} cannot name a preset: use letters, digits, '_', '.' and '-', "
                    "starting with a letter or digit",
                )
            )
        elif name.casefold() == NO_PRESET:
            errors.append(at_path(where, f"{NO_PRESET!r} is kept for clearing a preset (+none)"))
        folded = name.casefold()
        if folded in seen:
            errors.append(at_path(where, f"{name!r} names the same preset as {seen[folded]!r}"))
        seen.setdefault(folded, name)
        if preset.model is not None:
            problem = _model_problem(config, preset.model)
            if problem is not None:
                errors.append(at_path(f"{where}.model", problem))
        elif preset.fallbacks is not None:
            errors.append(
                at_path(
                    f"{where}.fallbacks", "needs a model: the fallbacks follow the preset's model"
                )
            )
        for index, text in enumerate(preset.fallbacks or ()):
            problem = _model_problem(config, text)
            if problem is not None:
                errors.append(at_path(key_path(f"{where}.fallbacks", index), problem))
    return errors


def _experiments(config: Config) -> list[str]:
    errors: list[str] = []
    presets = presets_of(config)
    enabled: list[str] = []
    for name, experiment in config.experiments.items():
        where = key_path("$.experiments", name)
        if not PRESET_NAME.match(name):
            errors.append(
                at_path(
                    where,
                    f"{name!r} cannot name an experiment: use letters, digits, '_', '.' and '-'",
                )
            )
        if experiment.enabled:
            enabled.append(name)
        if not experiment.arms:
            errors.append(at_path(f"{where}.arms", "needs at least one arm"))
            continue
        if not any(arm.weight > 0 for arm in experiment.arms.values()):
            errors.append(at_path(f"{where}.arms", "needs at least one arm with a weight above 0"))
        for arm_name, arm in experiment.arms.items():
            arm_path = key_path(f"{where}.arms", arm_name)
            if not PRESET_NAME.match(arm_name):
                errors.append(
                    at_path(
                        arm_path,
                        f"{arm_name!r} cannot name an arm: use letters, digits, '_', '.' and '-'",
                    )
                )
            if not (math.isfinite(arm.weight) and arm.weight >= 0):
                errors.append(
                    at_path(f"{arm_path}.weight", f"must be at least 0, not {arm.weight!r}")
                )
            if arm.preset is not None and arm.preset.casefold() not in presets:
                errors.append(
                    at_path(
                        f"{arm_path}.preset",
                        f"{arm.preset!r} is not a preset{did_you_mean(arm.preset, presets)}",
                    )
                )
            if arm.model is not None:
                problem = _model_problem(config, arm.model)
                if problem is not None:
                    errors.append(at_path(f"{arm_path}.model", problem))
    for name in enabled[1:]:
        errors.append(
            at_path(
                f"{key_path('$.experiments', name)}.enabled",
                f"only one experiment may run at a time, and {enabled[0]!r} is enabled; "
                'set "enabled": false on one of them',
            )
        )
    return errors
