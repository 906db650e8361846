"""
Promoting a catalog record into the user's config: the pure edit of the config's data.

:func:`promote` returns the config data with the model added and a sentence
for each change:

- ``agent.models[REF]`` gets an entry. For a discovered record the entry
  carries the record's known facts (name, input, capabilities, limits, known
  prices, knowledge cutoff, an end-of-life status), so the config describes the
  model without the catalog cache; a curated record ships with modelcfg, so
  its entry stays empty. Keys the user already set are never changed: the
  user's config wins.
- ``alias`` is set when asked (an entry that has another alias is an error).
- ``agent.allowlist`` gets the model, when the config has an allowlist (adding
  a model never creates one: that would restrict every other model).
- With *fallback*, ``agent.model.fallbacks`` gets the model at its end, or the
  model becomes ``agent.model.primary`` when the config has no chain yet.

The caller validates the result and writes it (``modelcfg._config._edit``).
"""

from __future__ import annotations

import attrs

from modelcfg._catalog._records import CatalogSource, Modality, ModelInfo, ModelStatus
from modelcfg._config._load import dump_config
from modelcfg._config._schema import AgentConfig, Config, ModelEntry
from modelcfg._core._values import ModelRef

__all__ = ["Promotion", "PromotionError", "entry_fields", "promote"]


class PromotionError(ValueError):
    """
    The promotion contradicts what the config says (another alias for the model).
    """


@attrs.frozen(kw_only=True)
class Promotion:
    """
    What a promotion changed.

    Attributes:
        ref: The model promoted.
        changes: One sentence per change, in order; empty when it was all there already.
    """

    ref: ModelRef
    changes: tuple[str, ...] = ()


def entry_fields(info: ModelInfo) -> dict[str, object]:
    """
    The ``agent.models`` entry (as config JSON) that describes *info*'s known facts.

    Unknown values, unknown prices and an ordinary (active) status are left out.
    """
    pricing = info.pricing
    if pricing is not None and pricing.is_unknown:
        pricing = None
    entry = ModelEntry(
        name=info.name if info.name != info.ref.model else None,
        input=info.input,
        tools=info.tools,
        streaming=info.streaming,
        structured_output=info.structured_output,
        reasoning=info.reasoning,
        temperature=info.temperature,
        context_window=info.context_window,
        max_output_tokens=info.max_output_tokens,
        pricing=pricing,
        knowledge_cutoff=info.knowledge_cutoff,
        status=info.status if info.status is not ModelStatus.ACTIVE else None,
    )
    fields: object = dump_config(Config(agent=AgentConfig(models={info.ref: entry})))
    for step in ("agent", "models", str(info.ref)):
        fields = fields.get(step) if isinstance(fields, dict) else None
    if not isinstance(fields, dict):  # pragma: no cover - dump_config always writes the entry
        raise TypeError(f"the config converter wrote no entry for {info.ref}")
    inputs = fields.get("input")
    if isinstance(inputs, list):  # in the enum's order: text first
        fields["input"] = [m.value for m in Modality if m.value in inputs]
    return dict(fields)


def _names(agent: dict[str, object], ref: ModelRef) -> set[str]:
    """
    The texts that name *ref* in the config: its id and its alias (case-insensitive).
    """
    names = {str(ref).casefold()}
    models = agent.get("models")
    entry = models.get(str(ref)) if isinstance(models, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("alias"), str):
        names.add(str(entry["alias"]).casefold())
    return names


def promote(
    data: dict[str, object],
    info: ModelInfo,
    *,
    alias: str | None = None,
    fallback: bool = False,
) -> tuple[dict[str, object], Promotion]:
    """
    Add *info*'s model to the config *data* (changed in place and returned).

    Args:
        data: The config's data, as read from its file.
        info: The catalog record to promote.
        alias: An alias to give the model.
        fallback: Also put the model in the text chain (``agent.model``).

    Raises:
        PromotionError: The model's entry has another alias, or a section of the
            config that must be an object (or list) is not one.
    """
    ref = info.ref
    key = str(ref)
    changes: list[str] = []
    agent = data.setdefault("agent", {})
    if not isinstance(agent, dict):
        raise PromotionError("$.agent: must be an object to add a model to it")
    models = agent.setdefault("models", {})
    if not isinstance(models, dict):
        raise PromotionError("$.agent.models: must be an object to add a model to it")
    entry = models.get(key)
    if entry is None:
        entry = {}
        models[key] = entry
        changes.append(f"added {key} to agent.models")
    if not isinstance(entry, dict):
        raise PromotionError(f"$.agent.models['{key}']: must be an object")
    if info.source is CatalogSource.DISCOVERED:
        facts = entry_fields(info)
        added = [name for name in facts if name not in entry]
        for name in added:
            entry[name] = facts[name]
        if added:
            changes.append(f"recorded its catalog facts: {', '.join(added)}")
    if alias is not None:
        current = entry.get("alias")
        if current is None:
            entry["alias"] = alias
            changes.append(f"set its alias to {alias!r}")
        elif current != alias:
            raise PromotionError(
                f"{key} already has the alias {current!r} in the config; change it there "
                "to give it another"
            )
    names = _names(agent, ref)
    allowlist = agent.get("allowlist")
    if isinstance(allowlist, list) and not any(
        isinstance(item, str) and item.casefold() in names for item in allowlist
    ):
        allowlist.append(key)
        changes.append("added it to agent.allowlist")
    if fallback:
        chain = agent.get("model")
        if chain is None:
            agent["model"] = {"primary": key}
            changes.append("made it agent.model.primary (the config had no chain)")
        elif isinstance(chain, dict):
            fallbacks = chain.setdefault("fallbacks", [])
            if not isinstance(fallbacks, list):
                raise PromotionError("$.agent.model.fallbacks: must be a list")
            listed = [chain.get("primary"), *fallbacks]
            if not any(isinstance(item, str) and item.casefold() in names for item in listed):
                fallbacks.append(key)
                changes.append(f"appended it to agent.model.fallbacks (fallback #{len(fallbacks)})")
        else:
            raise PromotionError(
                "$.agent.model: is not an object with a primary model; run `modelcfg doctor`"
            )
    return data, Promotion(ref=ref, changes=tuple(changes))
