"""
From resolved parameters to what one model on one wire is sent: checks and translation.

What lives here, and nowhere else:

- :class:`ParamDialect`: which API's spelling a provider needs (OpenAI's own API,
  another OpenAI-compatible server, OpenRouter, Anthropic, a custom callable);
- :class:`ParamCapabilities`: what the catalog knows a model accepts;
- the checks of a value against a model (a reasoning model without
  ``temperature``, ``max_tokens`` above the output limit, a parameter missing from
  the model's ``supported_parameters``) and against a wire (Anthropic's
  ``temperature`` range, a parameter the API has no field for);
- the translation tables, each row checked against the provider's published API
  reference (cited beside it);
- :func:`plan_params`, which runs the checks, applies the configured
  :class:`ParamsPolicy` (drop, error or pass) and translates, giving a
  :class:`ParamPlan` that says what is sent, and why each value is what it is.

Pure: no I/O.
"""

from __future__ import annotations

import enum
import json
import urllib.parse
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

import attrs

from modelcfg._catalog._records import ModelInfo
from modelcfg._config._params import (
    REASONING_EFFORTS,
    LayerKind,
    ParamSource,
    ParamsPolicy,
    ResolvedParams,
    value_problem,
)
from modelcfg._config._providers import WireFormat
from modelcfg._core._values import ModelRef
from modelcfg.typing import JSON, JSONObject

__all__ = [
    "ANTHROPIC_BODY_PARAMS",
    "ParamCapabilities",
    "ParamDialect",
    "ParamPlan",
    "ParamProblem",
    "ParamProblemKind",
    "ParamTranslation",
    "dialect_for",
    "plan_params",
]


class ParamDialect(enum.StrEnum):
    """
    Whose spelling of the parameters a provider needs.
    """

    OPENAI = "openai"
    """OpenAI's own chat completions API (``api.openai.com``)."""
    OPENAI_COMPATIBLE = "openai-compatible"
    """Another server speaking the chat completions format: parameters pass as written."""
    OPENROUTER = "openrouter"
    """OpenRouter: chat completions with its ``reasoning`` object."""
    ANTHROPIC = "anthropic"
    """The Anthropic Messages API."""
    CUSTOM = "custom"
    """A host-supplied callable: parameters pass as written."""

    @property
    def api_name(self) -> str:
        """
        The API's name in sentences: ``the Anthropic Messages API``.
        """
        return _TITLES[self]


_TITLES: Final = {
    ParamDialect.OPENAI: "OpenAI's chat completions API",
    ParamDialect.OPENAI_COMPATIBLE: "an OpenAI-compatible server",
    ParamDialect.OPENROUTER: "OpenRouter",
    ParamDialect.ANTHROPIC: "the Anthropic Messages API",
    ParamDialect.CUSTOM: "a custom adapter",
}


def dialect_for(api: WireFormat, *, provider: str, base_url: str | None = None) -> ParamDialect:
    """
    The dialect of a provider that speaks *api*, at *base_url* (``None``: its built-in URL).

    OpenAI's own API is the ``openai`` provider at its built-in URL, or any
    provider whose base URL is on ``api.openai.com``; other OpenAI-format servers
    take parameters as written.
    """
    match api:
        case WireFormat.ANTHROPIC:
            return ParamDialect.ANTHROPIC
        case WireFormat.OPENROUTER:
            return ParamDialect.OPENROUTER
        case WireFormat.CUSTOM:
            return ParamDialect.CUSTOM
        case WireFormat.OPENAI:
            if base_url is None:
                return (
                    ParamDialect.OPENAI if provider == "openai" else ParamDialect.OPENAI_COMPATIBLE
                )
            host = urllib.parse.urlsplit(base_url).hostname or ""
            return (
                ParamDialect.OPENAI if host == "api.openai.com" else ParamDialect.OPENAI_COMPATIBLE
            )


class ParamProblemKind(enum.StrEnum):
    """
    Why a parameter cannot go to a model as it is.
    """

    INVALID = "invalid"
    """The value is of the wrong type or out of the range any model takes."""
    OUT_OF_RANGE = "out_of_range"
    """The value is beyond what this model or wire takes (its output limit, Anthropic's range)."""
    NOT_SUPPORTED = "not_supported"
    """The model does not take the parameter (a reasoning model's temperature, per the catalog)."""
    NOT_ON_WIRE = "not_on_wire"
    """The provider's API has no such parameter."""
    SUPERSEDED = "superseded"
    """Another spelling of the same control, from a later layer, won; always left out."""


@attrs.frozen(kw_only=True)
class ParamProblem:
    """
    One parameter that cannot go to the model as it is.

    Attributes:
        name: The parameter, by its canonical name.
        value: Its value.
        source: The layer it came from (``None`` for one the translation added).
        kind: What is wrong.
        reason: Why, as a clause: ``openai/o3 takes no temperature (per the catalog)``.
    """

    name: str
    value: JSON = attrs.field(hash=False)
    source: ParamSource | None
    kind: ParamProblemKind
    reason: str

    def line(self) -> str:
        """
        ``temperature=0.2 from preset precise: openai/o3 takes no temperature ...``.
        """
        origin = f" from {self.source}" if self.source is not None else ""
        return f"{self.name}={_show(self.value)}{origin}: {self.reason}"


@attrs.frozen(kw_only=True)
class ParamTranslation:
    """
    One parameter written as the wire needs it, or added because the wire requires it.

    Attributes:
        name: The parameter as resolved, or ``None`` for one the wire requires.
        value: Its value as resolved.
        wire: What the request carries instead (one or more fields; empty: nothing).
        reason: Why.
    """

    name: str | None
    value: JSON = attrs.field(hash=False)
    wire: Mapping[str, JSON] = attrs.field(hash=False)
    reason: str

    def line(self) -> str:
        """
        ``max_tokens=2048 -> max_completion_tokens=2048: ...``.
        """
        sent = ", ".join(f"{k}={_show(v)}" for k, v in self.wire.items()) or "nothing"
        if self.name is None:
            return f"{sent} added: {self.reason}"
        return f"{self.name}={_show(self.value)} -> {sent}: {self.reason}"


def _show(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@attrs.frozen(kw_only=True)
class ParamCapabilities:
    """
    What the catalog knows a model takes; ``None`` means unknown, and unknown passes.

    Attributes:
        temperature: Whether it takes ``temperature`` (``False``: a reasoning
            model that refuses sampling parameters).
        reasoning: Whether it reasons (takes ``reasoning_effort`` or a thinking budget).
        max_output_tokens: Its output limit.
        accepted: The request fields it takes, by their wire names (OpenRouter's
            ``supported_parameters``).
        defaults: The catalog's default parameters for it.
    """

    temperature: bool | None = None
    reasoning: bool | None = None
    max_output_tokens: int | None = None
    accepted: frozenset[str] | None = None
    defaults: Mapping[str, JSON] = attrs.field(factory=dict, hash=False)

    @classmethod
    def of(cls, info: ModelInfo | None) -> ParamCapabilities:
        """
        The capabilities a catalog record tells; nothing known for ``None``.
        """
        if info is None:
            return _UNKNOWN
        return cls(
            temperature=info.temperature,
            reasoning=info.reasoning,
            max_output_tokens=info.max_output_tokens,
            accepted=info.supported_parameters,
            defaults=dict(info.default_parameters),
        )


_UNKNOWN: Final = ParamCapabilities()


# --- the plan -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ParamPlan:
    """
    The parameters one attempt on one model sends, and why.

    Attributes:
        model: The model.
        dialect: The API spelling used.
        policy: What was done with problems.
        resolved: The parameters after the layers, with their sources.
        problems: Parameters the model or wire does not take as they are. With
            ``drop`` and ``error`` they are left out of :attr:`wire`; with ``pass``
            they are sent. Superseded spellings are always left out.
        translations: Parameters written as the wire needs them, or added.
        wire: The fields the request body carries for the parameters.
    """

    model: ModelRef
    dialect: ParamDialect
    policy: ParamsPolicy
    resolved: ResolvedParams = attrs.field(hash=False)
    problems: tuple[ParamProblem, ...] = ()
    translations: tuple[ParamTranslation, ...] = ()
    wire: Mapping[str, JSON] = attrs.field(factory=dict, hash=False)

    @property
    def refused(self) -> tuple[ParamProblem, ...]:
        """
        The problems that refuse the request: every one but superseded spellings,
        under the ``error`` policy; none otherwise.
        """
        if self.policy is not ParamsPolicy.ERROR:
            return ()
        return tuple(p for p in self.problems if p.kind is not ParamProblemKind.SUPERSEDED)

    @property
    def dropped(self) -> tuple[ParamProblem, ...]:
        """
        The parameters left out of the request.
        """
        if self.policy is ParamsPolicy.PASS:
            return tuple(p for p in self.problems if p.kind is ParamProblemKind.SUPERSEDED)
        return self.problems

    def lines(self) -> list[str]:
        """
        The plan as text: the final values with their layers, then what was dropped
        (or refused, or passed) and translated, then the fields sent.
        """
        out = [f"Parameters for {self.model} ({self.dialect.api_name}):"]
        out += [f"  {line}" for line in self.resolved.lines()] or ["  (none set)"]
        if self.problems:
            heading = {
                ParamsPolicy.DROP: "Dropped",
                ParamsPolicy.ERROR: "Refused (paramsPolicy is error)",
                ParamsPolicy.PASS: "Sent although not accepted (paramsPolicy is pass)",
            }[self.policy]
            superseded = [p for p in self.problems if p.kind is ParamProblemKind.SUPERSEDED]
            others = [p for p in self.problems if p.kind is not ParamProblemKind.SUPERSEDED]
            if others:
                out.append(f"{heading}:")
                out += [f"  {p.line()}" for p in others]
            if superseded:
                out.append("Superseded:")
                out += [f"  {p.line()}" for p in superseded]
        if self.translations:
            out.append("Translated:")
            out += [f"  {t.line()}" for t in self.translations]
        out.append(f"Sent: {_show(dict(self.wire))}")
        return out

    def summary(self) -> str:
        """
        One line: the fields sent, then what was left out and what was translated.

        ``sends {"max_tokens": 8000}; dropped temperature (global); translated
        reasoning_effort -> thinking``.
        """
        text = f"sends {_show(dict(self.wire))}"
        left = self.dropped if self.policy is not ParamsPolicy.ERROR else self.problems
        if left:
            verb = "refused" if self.refused else "dropped"
            names = ", ".join(f"{p.name} ({p.source or 'added'})" for p in left)
            text += f"; {verb} {names}"
        passed = [p for p in self.problems if p not in left]
        if passed:
            text += "; passed " + ", ".join(p.name for p in passed)
        if self.translations:
            moves = ", ".join(
                f"{t.name} -> {', '.join(t.wire) or 'nothing'}"
                if t.name is not None
                else f"added {', '.join(t.wire)}"
                for t in self.translations
            )
            text += f"; translated {moves}"
        return text

    def to_json(self) -> JSONObject:
        """
        The plan as JSON: ``model``, ``dialect``, ``policy``, ``params`` (name ->
        ``{value, from}``), ``removed``, ``problems``, ``translations`` and ``wire``.
        """
        resolved = self.resolved
        return {
            "model": str(self.model),
            "dialect": self.dialect.value,
            "policy": self.policy.value,
            "params": {
                name: {"value": resolved.values[name], "from": str(resolved.sources[name])}
                for name in sorted(resolved.values)
            },
            "removed": {
                name: {"by": str(r.by), "was": r.value, "from": str(r.source)}
                for name, r in sorted(resolved.removed.items())
            },
            "problems": [
                {
                    "name": p.name,
                    "value": p.value,
                    "from": str(p.source) if p.source is not None else None,
                    "kind": p.kind.value,
                    "reason": p.reason,
                }
                for p in self.problems
            ],
            "translations": [
                {"name": t.name, "value": t.value, "wire": dict(t.wire), "reason": t.reason}
                for t in self.translations
            ],
            "wire": dict(self.wire),
        }


class _Work:
    """
    One plan being made: the parameters still to send, and what was found so far.
    """

    def __init__(
        self,
        resolved: ResolvedParams,
        model: ModelRef,
        caps: ParamCapabilities,
        dialect: ParamDialect,
        policy: ParamsPolicy,
    ) -> None:
        self.values: dict[str, JSON] = dict(resolved.values)
        self.sources: dict[str, ParamSource] = dict(resolved.sources)
        self.model = model
        self.caps = caps
        self.dialect = dialect
        self.policy = policy
        self.problems: list[ParamProblem] = []
        self.translations: list[ParamTranslation] = []
        self.wire: dict[str, JSON] = {}
        self.origin: dict[str, str] = {}  # wire field -> the parameter it came from

    def problem(self, name: str, kind: ParamProblemKind, reason: str) -> None:
        """
        Record a problem with a parameter still in :attr:`values`; drop it unless passed.
        """
        value = self.values[name]
        self.problems.append(
            ParamProblem(
                name=name, value=value, source=self.sources.get(name), kind=kind, reason=reason
            )
        )
        if kind is ParamProblemKind.SUPERSEDED or self.policy is not ParamsPolicy.PASS:
            del self.values[name]

    def wire_problem(self, field: str, kind: ParamProblemKind, reason: str) -> None:
        """
        Record a problem with a field already written to :attr:`wire`.
        """
        name = self.origin.get(field, field)
        self.problems.append(
            ParamProblem(
                name=name,
                value=self.wire[field],
                source=self.sources.get(name),
                kind=kind,
                reason=reason,
            )
        )
        if self.policy is not ParamsPolicy.PASS:
            del self.wire[field]

    def send(self, field: str, value: JSON, name: str | None = None) -> None:
        """
        Put *field* in the request, made from parameter *name* (default: the field itself).
        """
        self.wire[field] = value
        self.origin[field] = name if name is not None else field

    def translate(self, name: str, wire: Mapping[str, JSON], reason: str) -> None:
        """
        Send parameter *name* as the fields *wire*, and say why.
        """
        value = self.values.pop(name)
        for field, item in wire.items():
            self.send(field, item, name)
        self.translations.append(ParamTranslation(name=name, value=value, wire=wire, reason=reason))

    def add(self, field: str, value: JSON, reason: str) -> None:
        """
        Send a field no layer set, which the wire requires.
        """
        self.send(field, value, field)
        self.translations.append(
            ParamTranslation(name=None, value=None, wire={field: value}, reason=reason)
        )


_REASONING_SPELLINGS: Final = ("reasoning_effort", "thinking", "reasoning")
"""The three ways to ask for reasoning; one request sends one of them."""

_SAMPLING: Final = ("temperature", "top_p")
"""What a model the catalog marks ``temperature: false`` refuses, on any wire."""

_OPENAI_REASONING_REFUSES: Final = (
    "presence_penalty",
    "frequency_penalty",
    "logprobs",
    "top_logprobs",
    "logit_bias",
)
"""What OpenAI's reasoning models refuse besides temperature and top_p, per OpenAI's reasoning
guide (https://platform.openai.com/docs/guides/reasoning): sampling controls do not apply."""


def plan_params(
    resolved: ResolvedParams,
    *,
    model: ModelRef,
    caps: ParamCapabilities,
    dialect: ParamDialect,
    policy: ParamsPolicy = ParamsPolicy.DROP,
    default_max_tokens: int = 4096,
) -> ParamPlan:
    """
    Check *resolved* against *model* and its wire, and translate it.

    The steps, in order: one spelling of reasoning is kept (the one from the
    latest layer); every value is checked on its own (:func:`value_problem`), then
    against the model (:class:`ParamCapabilities`); the dialect's table writes the
    rest as its API names them and checks what only it knows; finally, when the
    catalog lists the model's supported parameters, fields outside that list are
    problems. Problems follow *policy*.

    Args:
        resolved: The parameters after the layers.
        model: The model the attempt goes to.
        caps: What the catalog knows of it.
        dialect: Its provider's API spelling.
        policy: What to do with problems.
        default_max_tokens: ``max_tokens`` when the wire requires one and no layer
            set it (Anthropic), capped at the model's output limit.
    """
    work = _Work(resolved, model, caps, dialect, policy)
    _one_reasoning_spelling(work)
    for name in list(work.values):
        problem = value_problem(name, work.values[name])
        if problem is not None:
            work.problem(name, ParamProblemKind.INVALID, f"{name} {problem}")
    _check_model(work)
    _TRANSLATORS[dialect](work, default_max_tokens)
    _check_accepted(work)
    return ParamPlan(
        model=model,
        dialect=dialect,
        policy=policy,
        resolved=resolved,
        problems=tuple(work.problems),
        translations=tuple(work.translations),
        wire=MappingProxyType(work.wire),
    )


def _one_reasoning_spelling(work: _Work) -> None:
    present = [name for name in _REASONING_SPELLINGS if name in work.values]
    if len(present) < 2:
        return
    kept = max(present, key=lambda name: _rank(work.sources.get(name)))
    for name in present:
        if name != kept:
            work.problem(
                name,
                ParamProblemKind.SUPERSEDED,
                f"{kept} from {work.sources.get(kept)} sets reasoning instead",
            )


def _rank(source: ParamSource | None) -> int:
    return source.kind.rank if source is not None else LayerKind.REQUEST.rank + 1


def _check_model(work: _Work) -> None:
    """
    What the catalog says the model refuses: sampling on a model without
    temperature, reasoning on a model that does not reason, output above its limit.
    """
    caps, model = work.caps, work.model
    if caps.temperature is False:
        refused = _SAMPLING + (
            _OPENAI_REASONING_REFUSES if work.dialect is ParamDialect.OPENAI else ()
        )
        for name in refused:
            if name in work.values:
                work.problem(
                    name,
                    ParamProblemKind.NOT_SUPPORTED,
                    f"{model} is a reasoning model that takes no {name} (per the catalog)",
                )
    if caps.reasoning is False:
        for name in _REASONING_SPELLINGS:
            if name in work.values:
                work.problem(
                    name,
                    ParamProblemKind.NOT_SUPPORTED,
                    f"{model} does not reason, so it takes no {name} (per the catalog)",
                )
    limit = caps.max_output_tokens
    value = work.values.get("max_tokens")
    if limit is not None and isinstance(value, int) and value > limit:
        work.problem(
            "max_tokens",
            ParamProblemKind.OUT_OF_RANGE,
            f"above the output limit of {model}, {limit} tokens",
        )


LISTED_PARAMS: Final = frozenset(
    {
        *("temperature", "top_p", "top_k", "min_p", "top_a", "seed", "max_tokens", "stop"),
        *("frequency_penalty", "presence_penalty", "repetition_penalty", "logit_bias"),
        *("logprobs", "top_logprobs", "reasoning", "include_reasoning", "verbosity"),
        *("parallel_tool_calls", "reasoning_effort", "max_completion_tokens"),
    }
)
"""The sampling and length fields a model's ``supported_parameters`` speaks for
(https://openrouter.ai/docs/api-reference/parameters). Other fields (``user``,
``metadata``, ...) belong to the request, not the model, and are not checked there."""


def _check_accepted(work: _Work) -> None:
    """
    Fields outside the model's listed ``supported_parameters``, when the catalog has the list.
    """
    accepted = work.caps.accepted
    if accepted is None:
        return
    for field in [f for f in work.wire if f in LISTED_PARAMS and f not in accepted]:
        work.wire_problem(
            field,
            ParamProblemKind.NOT_SUPPORTED,
            f"{field} is not among the parameters {work.model} supports (per the catalog)",
        )


# --- translation tables ---------------------------------------------------------------------------


def _as_written(work: _Work, _default_max_tokens: int) -> None:
    """
    OpenAI-compatible servers and custom adapters: every parameter as written.
    """
    for name in list(work.values):
        work.send(name, work.values.pop(name))


_OPENAI_ABSENT: Final[Mapping[str, str]] = MappingProxyType(
    {
        # https://platform.openai.com/docs/api-reference/chat/create lists the request
        # body; these parameters of other APIs have no field there, and the API answers
        # an unknown field with HTTP 400 ("Unrecognized request argument supplied").
        "top_k": "OpenAI's chat completions API has no top_k",
        "thinking": "OpenAI's chat completions API has no thinking object; set reasoning_effort",
        "repetition_penalty": "OpenAI's chat completions API has no repetition_penalty",
        "min_p": "OpenAI's chat completions API has no min_p",
        "top_a": "OpenAI's chat completions API has no top_a",
    }
)


def _openai(work: _Work, _default_max_tokens: int) -> None:
    """
    OpenAI's own API (https://platform.openai.com/docs/api-reference/chat/create).

    - ``max_tokens`` is sent as ``max_completion_tokens``: the reference marks
      ``max_tokens`` deprecated and "not compatible with o-series models", while
      ``max_completion_tokens`` bounds visible and reasoning tokens on every model.
    - ``stop`` is "not supported with latest reasoning models o3 and o4-mini".
    - OpenRouter's ``reasoning`` object becomes ``reasoning_effort`` when it names an effort.
    """
    values = work.values
    for name, reason in _OPENAI_ABSENT.items():
        if name in values:
            work.problem(name, ParamProblemKind.NOT_ON_WIRE, reason)
    if "stop" in values and work.caps.reasoning is True:
        work.problem(
            "stop",
            ParamProblemKind.NOT_SUPPORTED,
            f"OpenAI's reasoning models such as {work.model} take no stop sequences",
        )
    if "max_tokens" in values:
        work.translate(
            "max_tokens",
            {"max_completion_tokens": values["max_tokens"]},
            "OpenAI deprecates max_tokens, and its reasoning models refuse it",
        )
    if "reasoning" in values:
        effort = _effort_of(values["reasoning"])
        if effort is None:
            work.problem(
                "reasoning",
                ParamProblemKind.NOT_ON_WIRE,
                "OpenAI's chat completions API takes reasoning_effort, and this reasoning "
                "object names no effort",
            )
        else:
            work.translate(
                "reasoning",
                {"reasoning_effort": effort},
                "OpenAI's chat completions API sets the effort with reasoning_effort",
            )
    _as_written(work, _default_max_tokens)


def _effort_of(reasoning: JSON) -> str | None:
    if isinstance(reasoning, dict):
        effort = reasoning.get("effort")
        if isinstance(effort, str) and effort in REASONING_EFFORTS:
            return effort
    return None


def _openrouter(work: _Work, _default_max_tokens: int) -> None:
    """
    OpenRouter (https://openrouter.ai/docs/api-reference/parameters and
    https://openrouter.ai/docs/use-cases/reasoning-tokens).

    Reasoning is one ``reasoning`` object: ``{"effort": ...}`` (OpenAI-style, one of
    xhigh, high, medium, low, minimal, none) or ``{"max_tokens": N}`` (Anthropic-style
    budget). ``reasoning_effort`` and Anthropic's ``thinking`` are written that way;
    ``max_tokens``, ``stop``, ``top_k`` and the penalties keep their names.
    """
    values = work.values
    if "reasoning_effort" in values:
        work.translate(
            "reasoning_effort",
            {"reasoning": {"effort": values["reasoning_effort"]}},
            "OpenRouter sets reasoning with its reasoning object",
        )
    if "thinking" in values:
        thinking = values["thinking"]
        budget = _budget_of(thinking)
        if budget is not None:
            wire: JSON = {"max_tokens": budget}
        elif isinstance(thinking, dict) and thinking.get("type") == "disabled":
            wire = {"effort": "none"}
        else:
            work.problem(
                "thinking",
                ParamProblemKind.NOT_ON_WIRE,
                "OpenRouter takes a reasoning object, and this thinking object has no "
                "budget_tokens to carry over",
            )
            wire = None
        if wire is not None:
            work.translate(
                "thinking",
                {"reasoning": wire},
                "OpenRouter sets reasoning with its reasoning object",
            )
    _as_written(work, _default_max_tokens)


def _budget_of(thinking: JSON) -> int | None:
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and not isinstance(budget, bool):
            return budget
    return None


ANTHROPIC_BODY_PARAMS: Final = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "metadata",
        "thinking",
        "service_tier",
        "output_config",
        "container",
        "inference_geo",
        "cache_control",
        "mcp_servers",
        "context_management",
    }
)
"""The request-body fields of https://docs.anthropic.com/en/api/messages besides model,
messages, system, stream, tools and tool_choice. The API refuses any other field
("Extra inputs are not permitted")."""

ANTHROPIC_MIN_BUDGET: Final = 1024
"""The smallest thinking budget: ``budget_tokens`` "must be ≥1024 and less than
max_tokens" (https://docs.anthropic.com/en/api/messages, ``thinking``)."""

EFFORT_SHARES: Final[Mapping[str, float]] = MappingProxyType(
    {"minimal": 0.1, "low": 0.2, "medium": 0.5, "high": 0.8, "xhigh": 0.95}
)
"""Share of ``max_tokens`` given to thinking for each effort: the shares OpenRouter
documents for turning an effort into an Anthropic budget
(https://openrouter.ai/docs/use-cases/reasoning-tokens, "Reasoning Effort Level")."""


def _anthropic(work: _Work, default_max_tokens: int) -> None:
    """
    The Anthropic Messages API (https://docs.anthropic.com/en/api/messages).

    - ``max_tokens`` is required: when no layer sets it, *default_max_tokens*
      (capped at the model's output limit) is added.
    - ``stop`` is ``stop_sequences`` (a list); ``user`` is ``metadata.user_id``.
    - ``temperature`` ranges from 0 to 1.
    - A reasoning effort becomes ``thinking: {"type": "enabled", "budget_tokens": B}``
      with B the effort's share of ``max_tokens`` (:data:`EFFORT_SHARES`), at least
      1024 and below ``max_tokens``; effort ``none`` leaves thinking off. OpenRouter's
      ``reasoning`` object is read the same way (``max_tokens`` is the budget).
    - With thinking on, ``temperature`` and ``top_k`` are refused and ``top_p``
      must lie from 0.95 to 1 (https://docs.anthropic.com/en/docs/build-with-claude/
      extended-thinking, "Feature compatibility").
    - Any field outside :data:`ANTHROPIC_BODY_PARAMS` is refused by the API.
    """
    values = work.values
    if "max_tokens" not in values:
        limit = work.caps.max_output_tokens
        amount = min(default_max_tokens, limit) if limit is not None else default_max_tokens
        work.add("max_tokens", amount, "the Anthropic Messages API requires max_tokens")
    else:
        work.send("max_tokens", values.pop("max_tokens"))
    max_tokens = work.wire.get("max_tokens")
    cap = max_tokens if isinstance(max_tokens, int) else default_max_tokens

    temperature = values.get("temperature")
    if (
        isinstance(temperature, int | float)
        and not isinstance(temperature, bool)
        and temperature > 1
    ):
        work.problem(
            "temperature",
            ParamProblemKind.OUT_OF_RANGE,
            "the Anthropic Messages API takes a temperature from 0 to 1",
        )
    _anthropic_reasoning(work, cap)
    thinking = values.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and not ANTHROPIC_MIN_BUDGET <= budget < cap:
            work.problem(
                "thinking",
                ParamProblemKind.OUT_OF_RANGE,
                f"budget_tokens must be at least {ANTHROPIC_MIN_BUDGET} and below "
                f"max_tokens ({cap})",
            )
    if _thinking_on(values):
        for name in ("temperature", "top_k"):
            if name in values:
                work.problem(
                    name,
                    ParamProblemKind.NOT_SUPPORTED,
                    f"the Anthropic Messages API refuses {name} with extended thinking on",
                )
        top_p = values.get("top_p")
        if isinstance(top_p, int | float) and not isinstance(top_p, bool) and top_p < 0.95:
            work.problem(
                "top_p",
                ParamProblemKind.OUT_OF_RANGE,
                "with extended thinking on, the Anthropic Messages API takes top_p from 0.95 to 1",
            )
    if "stop" in values:
        stop = values["stop"]
        work.translate(
            "stop",
            {"stop_sequences": [stop] if isinstance(stop, str) else stop},
            "the Anthropic Messages API calls it stop_sequences, a list",
        )
    if "user" in values:
        metadata = values.get("metadata")
        merged: JSONObject = dict(metadata) if isinstance(metadata, dict) else {}
        merged["user_id"] = values["user"]
        if "metadata" in values:
            values.pop("metadata")
        work.translate(
            "user",
            {"metadata": merged},
            "the Anthropic Messages API takes the end user's id as metadata.user_id",
        )
    for name in [n for n in values if n not in ANTHROPIC_BODY_PARAMS]:
        work.problem(
            name, ParamProblemKind.NOT_ON_WIRE, f"the Anthropic Messages API has no {name}"
        )
    _as_written(work, default_max_tokens)


def _thinking_on(values: Mapping[str, JSON]) -> bool:
    thinking = values.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") == "enabled"


def _anthropic_reasoning(work: _Work, cap: int) -> None:
    """
    ``reasoning_effort`` or OpenRouter's ``reasoning`` object as Anthropic's ``thinking``.
    """
    values = work.values
    for name in ("reasoning_effort", "reasoning"):
        if name not in values:
            continue
        value = values[name]
        effort: str | None
        budget: int | None = None
        if name == "reasoning_effort":
            effort = value if isinstance(value, str) else None
        else:
            effort = _effort_of(value)
            given = value.get("max_tokens") if isinstance(value, dict) else None
            if isinstance(given, int) and not isinstance(given, bool):
                budget = given
            elif effort is None and isinstance(value, dict) and value.get("enabled") is True:
                effort = "medium"
        if effort == "none" or (isinstance(value, dict) and value.get("enabled") is False):
            work.translate(name, {}, "effort none leaves Anthropic's extended thinking off")
            continue
        if budget is None and effort is not None:
            if cap <= ANTHROPIC_MIN_BUDGET:
                work.problem(
                    name,
                    ParamProblemKind.OUT_OF_RANGE,
                    f"max_tokens ({cap}) leaves no room for Anthropic's smallest thinking "
                    f"budget, {ANTHROPIC_MIN_BUDGET} tokens",
                )
                continue
            budget = max(ANTHROPIC_MIN_BUDGET, int(cap * EFFORT_SHARES[effort]))
            reason = (
                f"Anthropic sets reasoning as a thinking budget: effort {effort} is "
                f"{EFFORT_SHARES[effort]:.0%} of max_tokens ({cap}), "
                f"at least {ANTHROPIC_MIN_BUDGET}"
            )
        elif budget is not None:
            reason = (
                "Anthropic sets reasoning as a thinking budget: the reasoning object's max_tokens"
            )
        else:
            work.problem(
                name,
                ParamProblemKind.NOT_ON_WIRE,
                "the Anthropic Messages API takes a thinking budget, and this names none",
            )
            continue
        thinking: JSONObject = {"type": "enabled", "budget_tokens": budget}
        before = values.pop(name)
        values["thinking"] = thinking
        if name in work.sources:
            work.sources["thinking"] = work.sources[name]
        work.translations.append(
            ParamTranslation(name=name, value=before, wire={"thinking": thinking}, reason=reason)
        )


_TRANSLATORS: Final[Mapping[ParamDialect, Callable[[_Work, int], None]]] = MappingProxyType(
    {
        ParamDialect.OPENAI: _openai,
        ParamDialect.OPENAI_COMPATIBLE: _as_written,
        ParamDialect.OPENROUTER: _openrouter,
        ParamDialect.ANTHROPIC: _anthropic,
        ParamDialect.CUSTOM: _as_written,
    }
)
"""Each dialect's translation; every one ends by sending what is left as written."""
