"""
ParamTranslation per wire and the checks against a model: one table, each row what one request sends.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from modelcfg._config._params import (
    LayerKind,
    ParamLayer,
    ParamSource,
    ParamsPolicy,
    resolve_params,
)
from modelcfg._config._providers import WireFormat
from modelcfg._config._wire_params import (
    ParamCapabilities,
    ParamDialect,
    ParamProblemKind,
    dialect_for,
    plan_params,
)
from modelcfg._core._values import ModelRef

REASONING = ParamCapabilities(temperature=False, reasoning=True, max_output_tokens=100_000)
"""An OpenAI o-series model, as the curated catalog describes it."""
CLAUDE = ParamCapabilities(temperature=True, reasoning=True, max_output_tokens=64_000)
"""A Claude model with extended thinking."""
PLAIN = ParamCapabilities(temperature=True, reasoning=False, max_output_tokens=16_384)
"""A model that does not reason."""
UNKNOWN = ParamCapabilities()
"""A model the catalog knows nothing about."""
LISTED = ParamCapabilities(accepted=frozenset({"temperature", "max_tokens", "reasoning"}))
"""A discovered OpenRouter model with its supported_parameters."""


@attrs.frozen
class Row:
    """One request's parameters on one model and wire, and what is sent."""

    id: str
    dialect: ParamDialect
    caps: ParamCapabilities
    params: dict[str, Any]
    wire: dict[str, Any]
    problems: tuple[tuple[str, ParamProblemKind], ...] = ()
    policy: ParamsPolicy = ParamsPolicy.DROP


ROWS = [
    # OpenAI's own API: max_completion_tokens, reasoning models without sampling.
    Row(
        "openai: max_tokens is sent as max_completion_tokens",
        ParamDialect.OPENAI,
        PLAIN,
        {"max_tokens": 500, "temperature": 0.3},
        {"max_completion_tokens": 500, "temperature": 0.3},
    ),
    Row(
        "openai: max_completion_tokens written as such stays",
        ParamDialect.OPENAI,
        REASONING,
        {"max_completion_tokens": 500},
        {"max_completion_tokens": 500},
    ),
    Row(
        "openai: a reasoning model takes reasoning_effort, not temperature",
        ParamDialect.OPENAI,
        REASONING,
        {"reasoning_effort": "high", "temperature": 0.2, "top_p": 0.9},
        {"reasoning_effort": "high"},
        (
            ("temperature", ParamProblemKind.NOT_SUPPORTED),
            ("top_p", ParamProblemKind.NOT_SUPPORTED),
        ),
    ),
    Row(
        "openai: a reasoning model refuses penalties and logprobs",
        ParamDialect.OPENAI,
        REASONING,
        {"presence_penalty": 0.5, "logprobs": True},
        {},
        (
            ("presence_penalty", ParamProblemKind.NOT_SUPPORTED),
            ("logprobs", ParamProblemKind.NOT_SUPPORTED),
        ),
    ),
    Row(
        "openai: a reasoning model refuses stop",
        ParamDialect.OPENAI,
        REASONING,
        {"stop": "END"},
        {},
        (("stop", ParamProblemKind.NOT_SUPPORTED),),
    ),
    Row(
        "openai: reasoning_effort on a model that does not reason",
        ParamDialect.OPENAI,
        PLAIN,
        {"reasoning_effort": "low", "seed": 3},
        {"seed": 3},
        (("reasoning_effort", ParamProblemKind.NOT_SUPPORTED),),
    ),
    Row(
        "openai: top_k has no field",
        ParamDialect.OPENAI,
        PLAIN,
        {"top_k": 40},
        {},
        (("top_k", ParamProblemKind.NOT_ON_WIRE),),
    ),
    Row(
        "openai: OpenRouter's reasoning object becomes reasoning_effort",
        ParamDialect.OPENAI,
        REASONING,
        {"reasoning": {"effort": "medium"}},
        {"reasoning_effort": "medium"},
    ),
    Row(
        "openai: max_tokens above the output limit",
        ParamDialect.OPENAI,
        PLAIN,
        {"max_tokens": 20_000},
        {},
        (("max_tokens", ParamProblemKind.OUT_OF_RANGE),),
    ),
    Row(
        "openai: pass sends what the model refuses",
        ParamDialect.OPENAI,
        REASONING,
        {"temperature": 0.2},
        {"temperature": 0.2},
        (("temperature", ParamProblemKind.NOT_SUPPORTED),),
        ParamsPolicy.PASS,
    ),
    Row(
        "openai: error leaves it out and refuses",
        ParamDialect.OPENAI,
        REASONING,
        {"temperature": 0.2},
        {},
        (("temperature", ParamProblemKind.NOT_SUPPORTED),),
        ParamsPolicy.ERROR,
    ),
    # OpenRouter: the reasoning object.
    Row(
        "openrouter: reasoning_effort becomes the reasoning object",
        ParamDialect.OPENROUTER,
        CLAUDE,
        {"reasoning_effort": "high", "max_tokens": 2000},
        {"reasoning": {"effort": "high"}, "max_tokens": 2000},
    ),
    Row(
        "openrouter: a thinking budget becomes reasoning.max_tokens",
        ParamDialect.OPENROUTER,
        CLAUDE,
        {"thinking": {"type": "enabled", "budget_tokens": 3000}},
        {"reasoning": {"max_tokens": 3000}},
    ),
    Row(
        "openrouter: thinking disabled is effort none",
        ParamDialect.OPENROUTER,
        CLAUDE,
        {"thinking": {"type": "disabled"}},
        {"reasoning": {"effort": "none"}},
    ),
    Row(
        "openrouter: max_completion_tokens is sent as max_tokens",
        ParamDialect.OPENROUTER,
        UNKNOWN,
        {"max_completion_tokens": 100, "top_k": 5, "repetition_penalty": 1.1},
        {"max_tokens": 100, "top_k": 5, "repetition_penalty": 1.1},
    ),
    Row(
        "openrouter: fields outside supported_parameters",
        ParamDialect.OPENROUTER,
        LISTED,
        {"temperature": 0.5, "seed": 1, "reasoning_effort": "low"},
        {"temperature": 0.5, "reasoning": {"effort": "low"}},
        (("seed", ParamProblemKind.NOT_SUPPORTED),),
    ),
    # Anthropic: required max_tokens, thinking, its own names.
    Row(
        "anthropic: max_tokens is added when no layer sets it",
        ParamDialect.ANTHROPIC,
        UNKNOWN,
        {"temperature": 0.5},
        {"max_tokens": 4096, "temperature": 0.5},
    ),
    Row(
        "anthropic: the added max_tokens stays within the output limit",
        ParamDialect.ANTHROPIC,
        ParamCapabilities(max_output_tokens=1000),
        {},
        {"max_tokens": 1000},
    ),
    Row(
        "anthropic: max_completion_tokens is max_tokens",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"max_completion_tokens": 900},
        {"max_tokens": 900},
    ),
    Row(
        "anthropic: stop is stop_sequences, a list",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"stop": "END", "max_tokens": 10},
        {"stop_sequences": ["END"], "max_tokens": 10},
    ),
    Row(
        "anthropic: user is metadata.user_id",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"user": "u-1", "max_tokens": 10},
        {"metadata": {"user_id": "u-1"}, "max_tokens": 10},
    ),
    Row(
        "anthropic: temperature above 1",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"temperature": 1.5, "max_tokens": 10},
        {"max_tokens": 10},
        (("temperature", ParamProblemKind.OUT_OF_RANGE),),
    ),
    Row(
        "anthropic: reasoning_effort is a thinking budget, a share of max_tokens",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"reasoning_effort": "medium", "max_tokens": 10_000},
        {"max_tokens": 10_000, "thinking": {"type": "enabled", "budget_tokens": 5000}},
    ),
    Row(
        "anthropic: the budget is at least 1024",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"reasoning_effort": "low", "max_tokens": 2000},
        {"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 1024}},
    ),
    Row(
        "anthropic: max_tokens too small for any budget",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"reasoning_effort": "high", "max_tokens": 1024},
        {"max_tokens": 1024},
        (("reasoning_effort", ParamProblemKind.OUT_OF_RANGE),),
    ),
    Row(
        "anthropic: effort none leaves thinking off",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"reasoning_effort": "none", "max_tokens": 5000},
        {"max_tokens": 5000},
    ),
    Row(
        "anthropic: thinking refuses temperature and top_k, and a low top_p",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {
            "thinking": {"type": "enabled", "budget_tokens": 2000},
            "max_tokens": 4000,
            "temperature": 0.3,
            "top_k": 5,
            "top_p": 0.5,
        },
        {"thinking": {"type": "enabled", "budget_tokens": 2000}, "max_tokens": 4000},
        (
            ("temperature", ParamProblemKind.NOT_SUPPORTED),
            ("top_k", ParamProblemKind.NOT_SUPPORTED),
            ("top_p", ParamProblemKind.OUT_OF_RANGE),
        ),
    ),
    Row(
        "anthropic: a thinking budget at or above max_tokens",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"thinking": {"type": "enabled", "budget_tokens": 4000}, "max_tokens": 4000},
        {"max_tokens": 4000},
        (("thinking", ParamProblemKind.OUT_OF_RANGE),),
    ),
    Row(
        "anthropic: OpenRouter's reasoning.max_tokens is the budget",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"reasoning": {"max_tokens": 1500}, "max_tokens": 3000},
        {"max_tokens": 3000, "thinking": {"type": "enabled", "budget_tokens": 1500}},
    ),
    Row(
        "anthropic: fields the Messages API has not",
        ParamDialect.ANTHROPIC,
        CLAUDE,
        {"seed": 1, "presence_penalty": 0.1, "n": 2, "max_tokens": 10},
        {"max_tokens": 10},
        (
            ("seed", ParamProblemKind.NOT_ON_WIRE),
            ("presence_penalty", ParamProblemKind.NOT_ON_WIRE),
            ("n", ParamProblemKind.NOT_ON_WIRE),
        ),
    ),
    Row(
        "anthropic: a model that does not reason takes no effort",
        ParamDialect.ANTHROPIC,
        PLAIN,
        {"reasoning_effort": "high", "max_tokens": 5000},
        {"max_tokens": 5000},
        (("reasoning_effort", ParamProblemKind.NOT_SUPPORTED),),
    ),
    # OpenAI-compatible servers and custom adapters take what is written.
    Row(
        "compatible: everything as written",
        ParamDialect.OPENAI_COMPATIBLE,
        UNKNOWN,
        {"max_completion_tokens": 7, "top_k": 3, "thinking": {"type": "enabled"}},
        {"max_tokens": 7, "top_k": 3, "thinking": {"type": "enabled"}},
    ),
    Row(
        "custom: everything as written",
        ParamDialect.CUSTOM,
        UNKNOWN,
        {"reasoning_effort": "low", "stop": "x"},
        {"reasoning_effort": "low", "stop": "x"},
    ),
    # Checks on any wire.
    Row(
        "any: a value of the wrong type",
        ParamDialect.OPENAI_COMPATIBLE,
        UNKNOWN,
        {"temperature": "warm", "seed": 1},
        {"seed": 1},
        (("temperature", ParamProblemKind.INVALID),),
    ),
    Row(
        "any: a later spelling of reasoning supersedes an earlier one",
        ParamDialect.OPENAI,
        REASONING,
        {"reasoning_effort": "low"},
        {"reasoning_effort": "low"},
    ),
]


def _plan(row: Row, **extra: Any) -> Any:
    layer = ParamLayer(source=ParamSource(kind=LayerKind.REQUEST), values=row.params)
    return plan_params(
        resolve_params([layer]),
        model=ModelRef.parse("p/m"),
        caps=row.caps,
        dialect=row.dialect,
        policy=row.policy,
        **extra,
    )


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_translation_table(row: Row) -> None:
    """Each wire gets the parameters as its API documents them, and problems follow the policy."""
    plan = _plan(row)

    assert (row.wire, row.problems) == (
        dict(plan.wire),
        tuple((p.name, p.kind) for p in plan.problems),
    )


def test_the_error_policy_refuses_what_drop_would_drop() -> None:
    """Under error, the plan's refused problems are the ones drop would leave out."""
    row = next(r for r in ROWS if r.policy is ParamsPolicy.ERROR)

    assert ("temperature",) == tuple(p.name for p in _plan(row).refused)


def test_the_latest_layer_wins_between_spellings_of_reasoning() -> None:
    """thinking from the request beats reasoning_effort from a preset; the loser is superseded."""
    stack = [
        ParamLayer(
            source=ParamSource(kind=LayerKind.PRESET, name="deep"),
            values={"reasoning_effort": "high"},
        ),
        ParamLayer(
            source=ParamSource(kind=LayerKind.REQUEST),
            values={"thinking": {"type": "enabled", "budget_tokens": 1500}, "max_tokens": 3000},
        ),
    ]
    plan = plan_params(
        resolve_params(stack),
        model=ModelRef.parse("anthropic/c"),
        caps=CLAUDE,
        dialect=ParamDialect.ANTHROPIC,
    )

    assert {"type": "enabled", "budget_tokens": 1500} == plan.wire["thinking"]
    assert [("reasoning_effort", ParamProblemKind.SUPERSEDED)] == [
        (p.name, p.kind) for p in plan.problems
    ]


def test_a_host_default_max_tokens_is_used_for_anthropic() -> None:
    """The adapter's default_max_tokens is what the plan adds when no layer sets one."""
    row = Row("x", ParamDialect.ANTHROPIC, UNKNOWN, {}, {})

    assert {"max_tokens": 2048} == dict(_plan(row, default_max_tokens=2048).wire)


@pytest.mark.parametrize(
    ("api", "provider", "base_url", "dialect"),
    [
        (WireFormat.OPENAI, "openai", None, ParamDialect.OPENAI),
        (WireFormat.OPENAI, "openai-eu", "https://api.openai.com/v1", ParamDialect.OPENAI),
        (WireFormat.OPENAI, "openai", "http://127.0.0.1:8000/v1", ParamDialect.OPENAI_COMPATIBLE),
        (WireFormat.OPENAI, "groq", None, ParamDialect.OPENAI_COMPATIBLE),
        (WireFormat.OPENROUTER, "openrouter", None, ParamDialect.OPENROUTER),
        (WireFormat.ANTHROPIC, "anthropic", None, ParamDialect.ANTHROPIC),
        (WireFormat.CUSTOM, "mine", None, ParamDialect.CUSTOM),
    ],
)
def test_dialects_follow_the_wire_and_the_host(
    api: WireFormat, provider: str, base_url: str | None, dialect: ParamDialect
) -> None:
    """OpenAI's own API is recognised by provider or host; other OpenAI-format servers are compatible."""
    assert dialect == dialect_for(api, provider=provider, base_url=base_url)


def test_explanations_name_the_layer_and_the_reason() -> None:
    """A plan's text shows each value's layer, what was dropped and why, what was translated, and the wire."""
    stack = [
        ParamLayer(source=ParamSource(kind=LayerKind.GLOBAL), values={"temperature": 0.7}),
        ParamLayer(
            source=ParamSource(kind=LayerKind.PRESET, name="fast"), values={"max_tokens": 300}
        ),
    ]
    plan = plan_params(
        resolve_params(stack),
        model=ModelRef.parse("openai/o3"),
        caps=REASONING,
        dialect=ParamDialect.OPENAI,
    )

    assert [
        "Parameters for openai/o3 (OpenAI's chat completions API):",
        "  max_tokens=300 from preset fast",
        "  temperature=0.7 from global",
        "Dropped:",
        "  temperature=0.7 from global: openai/o3 is a reasoning model that takes no temperature "
        "(per the catalog)",
        "Translated:",
        "  max_tokens=300 -> max_completion_tokens=300: OpenAI deprecates max_tokens, and its "
        "reasoning models refuse it",
        'Sent: {"max_completion_tokens": 300}',
    ] == plan.lines()


def test_a_plan_sums_itself_up_in_one_line() -> None:
    """summary() names the fields sent, what was dropped with its layer, and what was translated."""
    stack = [
        ParamLayer(source=ParamSource(kind=LayerKind.GLOBAL), values={"temperature": 0.7}),
        ParamLayer(source=ParamSource(kind=LayerKind.REQUEST), values={"max_tokens": 300}),
    ]
    plan = plan_params(
        resolve_params(stack),
        model=ModelRef.parse("openai/o3"),
        caps=REASONING,
        dialect=ParamDialect.OPENAI,
    )

    assert (
        'sends {"max_completion_tokens": 300}; dropped temperature (global); '
        "translated max_tokens -> max_completion_tokens"
    ) == plan.summary()
