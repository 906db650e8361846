"""
Request parameters: the layers they come from, how layers combine, presets, and
what a value may be.

What lives here, and nowhere else:

- the layers, lowest first (:class:`LayerKind`): global defaults, provider, the
  catalog's defaults for the model, the model's own entry, its alias, a preset,
  the session and the request. A later layer overrides an earlier one key by
  key; a ``null`` value removes a key a lower layer set. Nested objects
  (``thinking``, ``reasoning``) are values like any other: a later layer replaces
  them whole.
- :func:`resolve_params`, which folds layers into the final values and remembers
  where each came from (``temperature=0.2 from preset precise``), and
  :func:`combine`, the same fold as an associative operation on
  :class:`Overlay` values (tests check that the two agree under any bracketing);
- the vocabulary: the parameter names modelcfg knows (:data:`PARAM_SPECS`), their
  other spellings (``max_completion_tokens`` is ``max_tokens``), and what a
  value may be on any model (:func:`value_problem`). What a *given* model or
  wire accepts is :mod:`modelcfg._config._wire_params`'s business;
- presets: the built-in ones (:data:`BUILTIN_PRESETS`) and the :class:`Preset`
  record user presets become.

Pure: no I/O, nothing but frozen values and dictionaries.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

import attrs

from modelcfg.typing import JSON

__all__ = [
    "BUILTIN_PRESETS",
    "PARAM_SPECS",
    "PRESET_NAME",
    "RESERVED_PARAMS",
    "SYNONYMS",
    "LayerKind",
    "Overlay",
    "ParamLayer",
    "ParamSource",
    "ParamSpec",
    "ParamsPolicy",
    "Preset",
    "Removal",
    "ResolvedParams",
    "Slot",
    "canonical_name",
    "combine",
    "finish",
    "resolve_params",
    "value_problem",
]


# --- layers ---------------------------------------------------------------------------------------


class LayerKind(enum.StrEnum):
    """
    Where a layer of parameters comes from, lowest first: a later kind overrides an earlier one.
    """

    GLOBAL = "global"
    """The configuration's top-level ``params``."""
    PROVIDER = "provider"
    """The provider's ``providers.NAME.params``."""
    CATALOG = "catalog"
    """The catalog's default parameters for the model (OpenRouter's ``default_parameters``)."""
    MODEL = "model"
    """The model's entry, ``agent.models[ID].params``."""
    ALIAS = "alias"
    """An alias of the model, ``agent.aliasParams[ALIAS]``."""
    PRESET = "preset"
    """The preset chosen for the request, the session, or by an experiment's arm."""
    SESSION = "session"
    """Parameters the session set (``SessionState.params``)."""
    REQUEST = "request"
    """The request's own ``ChatRequest.params``."""

    @property
    def rank(self) -> int:
        """
        The layer's place, from 0 (global) to 7 (request).
        """
        return _RANKS[self]


_RANKS: Final = {kind: rank for rank, kind in enumerate(LayerKind)}


@attrs.frozen(kw_only=True)
class ParamSource:
    """
    One layer's name, as explanations show it: ``preset precise``, ``model openai/gpt-5``.

    Attributes:
        kind: Which layer.
        name: What names it within its kind (the provider, model, alias or preset);
            ``None`` for the global, session and request layers.
        via: Why that layer applies, when it is not obvious (``experiment tone,
            arm b`` for a preset an experiment chose).
    """

    kind: LayerKind
    name: str | None = None
    via: str | None = None

    def __str__(self) -> str:
        text = self.kind.value if self.name is None else f"{self.kind.value} {self.name}"
        return f"{text} ({self.via})" if self.via else text


class Removal(NamedTuple):
    """
    A key a ``null`` removed: the value it removed, where that came from, and the
    layer whose ``null`` removed it.
    """

    value: JSON
    source: ParamSource
    by: ParamSource


class Slot(NamedTuple):
    """
    One key of an :class:`Overlay`: its value (``None`` asks to remove the key),
    the layer that set it, and, for a ``null``, the nearest value below it that
    it removes.
    """

    value: JSON
    source: ParamSource
    removes: tuple[JSON, ParamSource] | None = None


Overlay = Mapping[str, Slot]
"""Some layers folded into one, ``null`` values kept so that they still remove
keys of the layers below when this overlay is combined with them."""


SYNONYMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # OpenAI's current name for the output limit; the older `max_tokens` is what
        # most OpenAI-compatible servers, OpenRouter and Anthropic call it.
        "max_completion_tokens": "max_tokens",
        # Anthropic's name for stop sequences.
        "stop_sequences": "stop",
    }
)
"""Other spellings of a parameter -> the name modelcfg keeps it under."""


def canonical_name(name: str) -> str:
    """
    The name a parameter is kept under: ``max_completion_tokens`` -> ``max_tokens``.
    """
    return SYNONYMS.get(name, name)


def _canonical_values(values: Mapping[str, JSON]) -> Mapping[str, JSON]:
    if not any(name in SYNONYMS for name in values):
        return MappingProxyType(dict(values))
    result: dict[str, JSON] = {}
    for name, value in values.items():
        key = SYNONYMS.get(name, name)
        if key in result:
            spelled = [n for n in values if SYNONYMS.get(n, n) == key]
            raise ValueError(
                f"{' and '.join(map(repr, spelled))} name the same parameter {key!r}; "
                "keep one of them"
            )
        result[key] = value
    return MappingProxyType(result)


@attrs.frozen(kw_only=True)
class ParamLayer:
    """
    One layer of parameters.

    Names are kept in their canonical spelling (:data:`SYNONYMS`): a layer that
    sets ``max_completion_tokens`` holds ``max_tokens``, so that a later layer's
    ``max_tokens`` overrides it. A value of ``None`` removes the key from the
    layers below.

    Attributes:
        source: Which layer this is.
        values: Parameter name -> value (``None`` to remove an inherited key).

    Raises:
        ValueError: Two spellings of one parameter are both set.
    """

    source: ParamSource
    values: Mapping[str, JSON] = attrs.field(factory=dict, converter=_canonical_values, hash=False)

    def overlay(self) -> dict[str, Slot]:
        """
        This layer alone as an :class:`Overlay`.
        """
        return {name: Slot(value, self.source) for name, value in self.values.items()}


@attrs.frozen(kw_only=True)
class ResolvedParams:
    """
    The parameters that result from some layers, and where each came from.

    Attributes:
        values: Parameter name -> final value (no ``None``: removed keys are absent).
        sources: Parameter name -> the layer its final value came from.
        removed: Keys a ``null`` removed, with the value it removed and who removed it.
    """

    values: Mapping[str, JSON] = attrs.field(factory=dict)
    sources: Mapping[str, ParamSource] = attrs.field(factory=dict)
    removed: Mapping[str, Removal] = attrs.field(factory=dict)

    def explain(self, name: str) -> str:
        """
        Where *name*'s value came from: ``temperature=0.2 from preset precise``.

        Raises:
            KeyError: No layer set *name*, and none removed it.
        """
        name = canonical_name(name)
        if name in self.values:
            return f"{name}={_show(self.values[name])} from {self.sources[name]}"
        removal = self.removed[name]
        return f"{name} removed by {removal.by} (was {_show(removal.value)} from {removal.source})"

    def lines(self) -> list[str]:
        """
        :meth:`explain` for every parameter set or removed, in name order.
        """
        return [self.explain(name) for name in sorted({*self.values, *self.removed})]


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def resolve_params(layers: Iterable[ParamLayer]) -> ResolvedParams:
    """
    Fold *layers*, lowest first, into the final parameters.

    A later layer overrides an earlier one key by key; ``None`` removes the key
    (and is remembered in :attr:`ResolvedParams.removed` when it removed a
    value). Equal to ``finish()`` of the layers' overlays combined with
    :func:`combine` in any bracketing.
    """
    values: dict[str, JSON] = {}
    sources: dict[str, ParamSource] = {}
    removed: dict[str, Removal] = {}
    for layer in layers:
        source = layer.source
        for name, value in layer.values.items():
            if value is None:
                if name in values:
                    removed[name] = Removal(values.pop(name), sources.pop(name), source)
                elif name in removed:
                    removed[name] = removed[name]._replace(by=source)
            else:
                values[name] = value
                sources[name] = source
                if removed:
                    removed.pop(name, None)
    return ResolvedParams(values=values, sources=sources, removed=removed)


def combine(lower: Overlay, upper: Overlay) -> dict[str, Slot]:
    """
    *upper* laid over *lower*: associative, so layers can be folded in any grouping.

    A value in *upper* replaces *lower*'s; a ``null`` in *upper* keeps, as what it
    removes, the nearest value below it (the one it would remove when *lower* and
    everything below are flattened).
    """
    result = dict(lower)
    for name, slot in upper.items():
        if slot.value is None and slot.removes is None and name in lower:
            below = lower[name]
            removes = (below.value, below.source) if below.value is not None else below.removes
            slot = slot._replace(removes=removes)
        result[name] = slot
    return result


def finish(overlay: Overlay) -> ResolvedParams:
    """
    The final parameters of an :class:`Overlay`: its values, without the ``null`` ones.
    """
    values = {name: slot.value for name, slot in overlay.items() if slot.value is not None}
    return ResolvedParams(
        values=values,
        sources={name: overlay[name].source for name in values},
        removed={
            name: Removal(slot.removes[0], slot.removes[1], slot.source)
            for name, slot in overlay.items()
            if slot.value is None and slot.removes is not None
        },
    )


# --- the vocabulary -------------------------------------------------------------------------------


class ValueKind(enum.StrEnum):
    """
    What a parameter's value must be.
    """

    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    STRING = "string"
    STOP = "string or list of strings"
    OBJECT = "object"


@attrs.frozen(kw_only=True)
class ParamSpec:
    """
    What one known parameter may be, on any model.

    Attributes:
        name: Its canonical name.
        kind: The JSON type of its value.
        minimum: The smallest value allowed, if any.
        maximum: The largest value allowed, if any.
        choices: The values allowed, for a text with a closed set.
        meaning: One sentence for the docs.
    """

    name: str
    kind: ValueKind
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    meaning: str = ""

    @property
    def expected(self) -> str:
        """
        What a value must be, as a phrase: ``a number from 0 to 2``.
        """
        match self.kind:
            case ValueKind.NUMBER | ValueKind.INTEGER:
                what = "a whole number" if self.kind is ValueKind.INTEGER else "a number"
                low, high = self.minimum, self.maximum
                if low is not None and high is not None:
                    return f"{what} from {_bound(low)} to {_bound(high)}"
                return f"{what} of at least {_bound(low)}" if low is not None else what
            case ValueKind.BOOLEAN:
                return "true or false"
            case ValueKind.STRING if self.choices is not None:
                return f"one of {', '.join(map(repr, self.choices))}"
            case ValueKind.STRING:
                return "a string"
            case ValueKind.STOP:
                return "a string or a list of strings"
            case ValueKind.OBJECT:
                return "an object"


REASONING_EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh")
"""The values of ``reasoning_effort``, least effort first (OpenAI's chat completions
reference, https://platform.openai.com/docs/api-reference/chat/create; OpenRouter's
``reasoning.effort`` takes the same, https://openrouter.ai/docs/use-cases/reasoning-tokens)."""

PARAM_SPECS: Final[Mapping[str, ParamSpec]] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            # Ranges are the widest any built-in wire documents; a narrower wire
            # (Anthropic's temperature is 0 to 1) is checked in _wire_params.
            ParamSpec(
                name="temperature",
                kind=ValueKind.NUMBER,
                minimum=0,
                maximum=2,
                meaning="Sampling randomness (OpenAI and OpenRouter: 0 to 2; Anthropic: 0 to 1).",
            ),
            ParamSpec(
                name="top_p",
                kind=ValueKind.NUMBER,
                minimum=0,
                maximum=1,
                meaning="Nucleus sampling: the probability mass sampled from.",
            ),
            ParamSpec(
                name="top_k",
                kind=ValueKind.INTEGER,
                minimum=0,
                meaning="Sample only from the K likeliest tokens (not on OpenAI's API).",
            ),
            ParamSpec(
                name="max_tokens",
                kind=ValueKind.INTEGER,
                minimum=1,
                meaning="The most tokens the answer may have, reasoning included; "
                "also written max_completion_tokens.",
            ),
            ParamSpec(
                name="stop",
                kind=ValueKind.STOP,
                meaning="Text that ends the answer; also written stop_sequences.",
            ),
            ParamSpec(
                name="presence_penalty",
                kind=ValueKind.NUMBER,
                minimum=-2,
                maximum=2,
                meaning="Penalty for tokens already present (not on Anthropic's API).",
            ),
            ParamSpec(
                name="frequency_penalty",
                kind=ValueKind.NUMBER,
                minimum=-2,
                maximum=2,
                meaning="Penalty growing with a token's frequency (not on Anthropic's API).",
            ),
            ParamSpec(
                name="seed",
                kind=ValueKind.INTEGER,
                meaning="Best-effort deterministic sampling (not on Anthropic's API).",
            ),
            ParamSpec(
                name="n",
                kind=ValueKind.INTEGER,
                minimum=1,
                meaning="How many answers to generate (not on Anthropic's API).",
            ),
            ParamSpec(
                name="reasoning_effort",
                kind=ValueKind.STRING,
                choices=REASONING_EFFORTS,
                meaning="How hard a reasoning model thinks; sent as OpenRouter's reasoning "
                "object and as Anthropic's thinking budget.",
            ),
            ParamSpec(
                name="thinking",
                kind=ValueKind.OBJECT,
                meaning="Anthropic's extended thinking, {type, budget_tokens}.",
            ),
            ParamSpec(
                name="reasoning",
                kind=ValueKind.OBJECT,
                meaning="OpenRouter's reasoning object, {effort | max_tokens, exclude, enabled}.",
            ),
            ParamSpec(
                name="logprobs",
                kind=ValueKind.BOOLEAN,
                meaning="Return log probabilities (not on Anthropic's API).",
            ),
            ParamSpec(
                name="top_logprobs",
                kind=ValueKind.INTEGER,
                minimum=0,
                maximum=20,
                meaning="How many likeliest tokens to return per position, with logprobs.",
            ),
            ParamSpec(
                name="logit_bias",
                kind=ValueKind.OBJECT,
                meaning="Token id -> bias from -100 to 100 (not on Anthropic's API).",
            ),
            ParamSpec(
                name="user",
                kind=ValueKind.STRING,
                meaning="Your end user's id; sent to Anthropic as metadata.user_id.",
            ),
            ParamSpec(
                name="parallel_tool_calls",
                kind=ValueKind.BOOLEAN,
                meaning="Whether the model may call tools in parallel (not on Anthropic's API).",
            ),
        )
    }
)
"""The parameters modelcfg knows, by canonical name. Others pass through as written."""

RESERVED_PARAMS: Final = frozenset(
    {"model", "messages", "system", "stream", "stream_options", "tools", "tool_choice"}
    | {"response_format"}
)
"""Body fields that come from routing and the request itself, never from parameters."""


def value_problem(name: str, value: object) -> str | None:
    """
    What is wrong with *value* for the parameter *name* on any model, or ``None``.

    Only known parameters (:data:`PARAM_SPECS`) are checked; ``None`` (removal)
    is always fine. The message reads after the parameter's name:
    ``must be a number from 0 to 2, not 3``.
    """
    spec = PARAM_SPECS.get(canonical_name(name))
    if spec is None or value is None or _fits(spec, value):
        return None
    shown = repr(value) if spec.choices is not None and isinstance(value, str) else _show(value)
    return f"must be {spec.expected}, not {shown}"


def _fits(spec: ParamSpec, value: object) -> bool:
    match spec.kind:
        case ValueKind.NUMBER | ValueKind.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            if isinstance(value, float) and (
                spec.kind is ValueKind.INTEGER or not math.isfinite(value)
            ):
                return False
            low, high = spec.minimum, spec.maximum
            return (low is None or value >= low) and (high is None or value <= high)
        case ValueKind.BOOLEAN:
            return isinstance(value, bool)
        case ValueKind.STRING:
            return isinstance(value, str) and (spec.choices is None or value in spec.choices)
        case ValueKind.STOP:
            return isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(item, str) for item in value)
            )
        case ValueKind.OBJECT:
            return isinstance(value, dict)


def _bound(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


class ParamsPolicy(enum.StrEnum):
    """
    What happens to a parameter a model or wire does not take (``paramsPolicy``).
    """

    DROP = "drop"
    """Leave it out of the request, and say so (a warning event; explain lists it)."""
    ERROR = "error"
    """Refuse the request before the call (:class:`~modelcfg.InvalidParamsError`)."""
    PASS = "pass"
    """Send it anyway and let the provider decide."""


# --- presets --------------------------------------------------------------------------------------


PRESET_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
"""What a preset's name may be: letters, digits, ``_``, ``.`` and ``-`` (so that
``Opus+deep`` and ``Opus@work+deep`` read one way)."""


@attrs.frozen(kw_only=True)
class Preset:
    """
    A named bundle of parameters, which may also name a model or a whole chain.

    Attributes:
        name: The preset's name, as written (looked up case-insensitively).
        params: The parameters it sets (``None`` removes an inherited key).
        model: A model id or alias it selects: the request goes to it first.
        fallbacks: With *model*, the chain that follows it instead of the
            configured fallbacks; ``None`` keeps the configured ones.
        description: One sentence for ``modelcfg params presets``.
        builtin: Whether modelcfg ships it (a user preset of the same name replaces it).
    """

    name: str
    params: Mapping[str, JSON] = attrs.field(factory=dict, hash=False)
    model: str | None = None
    fallbacks: tuple[str, ...] | None = None
    description: str = ""
    builtin: bool = False

    def layer(self, via: str | None = None) -> ParamLayer:
        """
        This preset's parameters as a layer (*via*: why it applies, if not chosen directly).
        """
        return ParamLayer(
            source=ParamSource(kind=LayerKind.PRESET, name=self.name, via=via), values=self.params
        )


BUILTIN_PRESETS: Final[Mapping[str, Preset]] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            # Only temperature: Anthropic's newer models refuse temperature and top_p
            # together, and 1 is the top of Anthropic's range.
            Preset(
                name="creative",
                params={"temperature": 1.0},
                description="More varied answers: temperature 1.",
                builtin=True,
            ),
            Preset(
                name="precise",
                params={"temperature": 0.2},
                description="Focused, repeatable answers: temperature 0.2.",
                builtin=True,
            ),
            # Less reasoning is what makes a reasoning model answer sooner; models
            # without reasoning drop (or refuse, by policy) the parameter.
            Preset(
                name="fast",
                params={"reasoning_effort": "low"},
                description="Answers sooner: low reasoning effort.",
                builtin=True,
            ),
            Preset(
                name="economical",
                params={"reasoning_effort": "low", "max_tokens": 1024},
                description="Fewer tokens billed: low reasoning effort, at most 1024 tokens out.",
                builtin=True,
            ),
        )
    }
)
"""The presets every configuration has; a user preset of the same name replaces one."""
