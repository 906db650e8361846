"""
Tests for the config's ``budgets`` section.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from modelcfg import ConfigError, dump_config, load_config
from modelcfg.usage import Budget, BudgetPeriod, BudgetScope

BUDGETS = [
    {
        "name": "openai-daily",
        "scope": "provider",
        "match": "openai",
        "limitUsd": 20,
        "period": "day",
    },
    {
        "name": "chats",
        "scope": "session",
        "limitUsd": "0.10",
        "period": "24h",
        "hard": False,
        "alerts": [0.9],
    },
    {
        "name": "team-a",
        "scope": "api_key",
        "match": "team-a",
        "limitUsd": 0.1,
        "period": "month",
        "allowUnpriced": True,
    },
]


def test_budgets_load_with_exact_limits() -> None:
    """Limits load as exact decimals from numbers or strings; periods from their text."""
    config = load_config({"budgets": BUDGETS})

    assert (
        Budget(
            name="openai-daily",
            scope=BudgetScope.PROVIDER,
            match="openai",
            limit_usd=Decimal(20),
            period=BudgetPeriod.parse("day"),
        ),
        Decimal("0.10"),
        Decimal("0.1"),
        (Decimal("0.9"),),
        True,
    ) == (
        config.budgets[0],
        config.budgets[1].limit_usd,
        config.budgets[2].limit_usd,
        config.budgets[1].alerts,
        config.budgets[2].allow_unpriced,
    )


def test_budgets_survive_a_round_trip() -> None:
    """dump_config() then load_config() gives the same budgets back."""
    config = load_config({"budgets": BUDGETS})

    assert config.budgets == load_config(dump_config(config)).budgets


@pytest.mark.parametrize(
    ("budget", "problem"),
    [
        ({"limitUsd": -1}, "$.budgets[0].limitUsd: must be a finite, non-negative number, not -1"),
        ({"limitUsd": True}, "$.budgets[0].limitUsd: expected a number or a decimal string"),
        ({"period": "week"}, "$.budgets[0].period: 'week' is not a budget period"),
        ({"scope": "team"}, "$.budgets[0].scope:"),
        ({"limits": 3}, "$.budgets[0].limits: unknown key"),
        ({"match": "opnai"}, "(did you mean 'openai'?)"),
        (
            {"scope": "model", "match": "gpt-5"},
            "$.budgets[0]: the match of a model budget is not one: 'gpt-5' is not a model",
        ),
        ({"name": "two words"}, "$.budgets[0].name: a budget name is 1 to 64 letters"),
    ],
)
def test_a_bad_budget_is_reported_at_its_path(budget: dict[str, object], problem: str) -> None:
    """Each problem of a budget is reported at its JSON path."""
    with pytest.raises(ConfigError) as caught:
        load_config({"budgets": [{**BUDGETS[0], **budget}]})

    assert any(problem in line for line in caught.value.errors), caught.value.errors


def test_two_budgets_may_not_share_a_name() -> None:
    """Budget names key their counters, so a repeated name is refused."""
    with pytest.raises(ConfigError) as caught:
        load_config({"budgets": [BUDGETS[0], {**BUDGETS[1], "name": "openai-daily"}]})

    assert ("$.budgets[1].name: 'openai-daily' names another budget too",) == caught.value.errors


def test_the_documented_example_loads() -> None:
    """The budgets example of docs/config.md is a valid config."""
    text = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    example = text.split("## `budgets`", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]

    assert ["openai-daily", "per-chat"] == [
        b.name for b in load_config(json.loads(example)).budgets
    ]
