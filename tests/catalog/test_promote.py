"""
Promoting a catalog record into the config's data: the pure edit.
"""

from __future__ import annotations

import copy

import pytest

from modelcfg import ModelRef, load_config
from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._promote import PromotionError, entry_fields, promote
from modelcfg._catalog._records import CatalogSource, ModelInfo, ModelStatus, Pricing

REF = "openrouter/qwen/qwen3-coder"
FOUND = ModelInfo(
    ref=ModelRef.parse(REF),
    name="Qwen: Qwen3 Coder 480B A35B",
    input=["text"],
    tools=True,
    streaming=True,
    structured_output=True,
    reasoning=False,
    temperature=True,
    context_window=262_144,
    max_output_tokens=262_144,
    pricing=Pricing(input=0.22, output=0.95),
    source=CatalogSource.DISCOVERED,
    origin="openrouter",
    fetched_at=1.0,
)
BASE: dict[str, object] = {
    "agent": {
        "models": {"anthropic/claude-opus-4-5": {"alias": "Opus"}},
        "model": {"primary": "Opus", "fallbacks": []},
    }
}


def test_a_discovered_record_brings_its_facts() -> None:
    """The entry of a discovered model carries its known facts, in config JSON."""

    assert {
        "name": "Qwen: Qwen3 Coder 480B A35B",
        "input": ["text"],
        "tools": True,
        "streaming": True,
        "structuredOutput": True,
        "reasoning": False,
        "temperature": True,
        "contextWindow": 262_144,
        "maxOutputTokens": 262_144,
        "pricing": {"input": 0.22, "output": 0.95},
    } == entry_fields(FOUND)


def test_unknown_values_and_an_active_status_are_left_out() -> None:
    """Only what is known is written; a deprecation is."""
    bare = ModelInfo(ref=ModelRef.parse("x/y"), status=ModelStatus.DEPRECATED, pricing=Pricing())

    assert {"input": ["text"], "status": "deprecated"} == entry_fields(bare)


def test_promote_adds_entry_alias_and_fallback() -> None:
    """Promotion adds the entry with its facts, the alias and a place in the chain; it loads."""
    data, promotion = promote(copy.deepcopy(BASE), FOUND, alias="coder", fallback=True)
    config = load_config(data)

    assert "coder" == config.agent.models[ModelRef.parse(REF)].alias
    assert ("anthropic/claude-opus-4-5", REF) == tuple(str(r) for r in config.text_chain().models)  # type: ignore[union-attr]
    assert [
        f"added {REF} to agent.models",
        "recorded its catalog facts: name, input, tools, streaming, structuredOutput, "
        "reasoning, temperature, contextWindow, maxOutputTokens, pricing",
        "set its alias to 'coder'",
        "appended it to agent.model.fallbacks (fallback #1)",
    ] == list(promotion.changes)


def test_promoting_twice_changes_nothing() -> None:
    """A second promotion with the same options finds everything in place."""
    once, _ = promote(copy.deepcopy(BASE), FOUND, alias="coder", fallback=True)

    twice, promotion = promote(copy.deepcopy(once), FOUND, alias="coder", fallback=True)

    assert (once, ()) == (twice, promotion.changes)


def test_the_users_own_keys_win() -> None:
    """Keys the user already set on the entry are never changed."""
    data = copy.deepcopy(BASE)
    data["agent"]["models"][REF] = {"contextWindow": 100_000, "pricing": {"input": 0.1}}  # type: ignore[index]

    promoted, _ = promote(data, FOUND)

    entry = promoted["agent"]["models"][REF]  # type: ignore[index]
    assert (100_000, {"input": 0.1}, True) == (
        entry["contextWindow"],
        entry["pricing"],
        entry["tools"],
    )


def test_another_alias_is_refused() -> None:
    """An entry that already has another alias is an error, not a silent rename."""
    data, _ = promote(copy.deepcopy(BASE), FOUND, alias="coder")

    with pytest.raises(PromotionError, match="already has the alias 'coder'"):
        promote(data, FOUND, alias="qc")


def test_a_curated_record_brings_no_facts() -> None:
    """A curated model ships with modelcfg: its entry holds only what the user asked."""
    curated = curated_catalog().info("openai/gpt-5")

    data, _ = promote({}, curated, alias="g5")

    assert {"agent": {"models": {"openai/gpt-5": {"alias": "g5"}}}} == data


def test_the_allowlist_grows_only_when_there_is_one() -> None:
    """A configured allowlist gets the model; no allowlist is ever created."""
    with_list = copy.deepcopy(BASE)
    with_list["agent"]["allowlist"] = ["Opus"]  # type: ignore[index]

    listed, promotion = promote(with_list, FOUND, alias="coder")
    unlisted, _ = promote(copy.deepcopy(BASE), FOUND)

    assert ["Opus", REF] == listed["agent"]["allowlist"]  # type: ignore[index]
    assert "added it to agent.allowlist" in promotion.changes
    assert "allowlist" not in unlisted["agent"]  # type: ignore[operator]


def test_without_a_chain_the_model_becomes_the_primary() -> None:
    """--fallback on a config with no chain makes the model the chain."""
    data, promotion = promote({}, FOUND, fallback=True)

    assert {"primary": REF} == data["agent"]["model"]  # type: ignore[index]
    assert "made it agent.model.primary (the config had no chain)" in promotion.changes


def test_a_model_already_in_the_chain_by_alias_is_not_added_again() -> None:
    """A chain that names the model by its alias already has it."""
    data = copy.deepcopy(BASE)
    data["agent"]["models"][REF] = {"alias": "coder"}  # type: ignore[index]
    data["agent"]["model"]["fallbacks"] = ["Coder"]  # type: ignore[index]

    promoted, promotion = promote(data, FOUND, fallback=True)

    assert ["Coder"] == promoted["agent"]["model"]["fallbacks"]  # type: ignore[index]
    assert not any("fallback" in change for change in promotion.changes)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param({"agent": []}, r"\$\.agent: must be an object", id="agent"),
        pytest.param({"agent": {"models": []}}, r"\$\.agent\.models", id="models"),
        pytest.param({"agent": {"model": "x/y"}}, "run `modelcfg doctor`", id="legacy-chain"),
    ],
)
def test_promote_refuses_a_config_it_cannot_extend(data: dict[str, object], match: str) -> None:
    """A config whose sections are not what they should be is refused with the path."""
    with pytest.raises(PromotionError, match=match):
        promote(data, FOUND, fallback=True)
