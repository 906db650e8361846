"""
Tests for the curated catalog shipped with the package.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from modelcfg import ModelRef
from modelcfg._catalog._curated import curated_catalog, curated_data
from modelcfg._catalog._families import build_catalog, build_family
from modelcfg._catalog._records import (
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    native_ref,
)
from modelcfg._catalog._search import CatalogFilter

CATALOG = curated_catalog()
RECORDS = list(CATALOG)


def _families() -> list[dict[str, object]]:
    families = curated_data()["families"]
    assert isinstance(families, list)
    return families


def test_curated_data_loads_into_a_catalog() -> None:
    """The shipped file builds without error into a non-trivial catalog of curated records."""

    assert len(CATALOG) >= 40
    assert {CatalogSource.CURATED} == {info.source for info in CATALOG}


def test_curated_catalog_is_cached() -> None:
    """curated_catalog() builds once and returns the same object afterwards."""

    assert curated_catalog() is curated_catalog()


def test_curated_data_is_a_fresh_copy() -> None:
    """curated_data() parses the file anew, so a caller cannot change the shipped data."""
    first = curated_data()
    first["families"] = []
    again = curated_data()["families"]

    assert isinstance(again, list)
    assert again


def test_every_family_is_non_empty_and_named_once() -> None:
    """Every family has members, a unique name, and every member carries the family's name."""
    families = _families()
    names = [family["family"] for family in families]
    built = {name: [i for i in CATALOG if i.family == name] for name in names}

    assert len(names) == len(set(names))
    assert all(isinstance(f["members"], list) and f["members"] for f in families)
    assert all(built[name] for name in names)


def test_no_model_is_defined_twice() -> None:
    """No ref appears twice in the raw data."""
    refs = Counter(
        f"{family['provider']}/{member['id']}"
        for family in _families()
        for member in family["members"]  # type: ignore[attr-defined]
    )
    repeated = [ref for ref, count in refs.items() if count > 1]

    assert not repeated


def test_each_family_builds_on_its_own() -> None:
    """build_family() accepts every family of the file at its own path."""
    total = sum(
        len(build_family(family, path=f"$.families[{i}]")) for i, family in enumerate(_families())
    )

    assert len(CATALOG) == total


@pytest.mark.parametrize("info", RECORDS, ids=[str(i.ref) for i in RECORDS])
def test_every_record_is_complete_and_plausible(info: ModelInfo) -> None:
    """Curated records know their limits and prices, and the figures are plausible."""
    pricing = info.pricing

    assert pricing is not None
    assert pricing.input is not None
    assert pricing.output is not None
    assert 0 <= pricing.input <= pricing.output <= 200
    assert pricing.cache_read is None or pricing.cache_read <= pricing.input
    assert info.context_window is not None
    assert 4_096 <= info.context_window <= 10_000_000
    assert info.max_output_tokens is None or info.max_output_tokens <= info.context_window
    assert Modality.TEXT in info.input
    assert info.streaming is True
    assert info.tools is True
    assert info.name != info.ref.model or info.ref.provider == "openai"
    assert info.knowledge_cutoff is None or "2023-01" <= info.knowledge_cutoff <= "2026-12"
    assert info.status is not ModelStatus.RETIRED


def test_first_party_records_know_output_limits_and_cutoffs() -> None:
    """OpenAI, Anthropic and Google records all know their output limit and knowledge cutoff."""
    first_party = [i for i in CATALOG if i.ref.provider in {"openai", "anthropic", "google"}]
    incomplete = [
        str(i.ref) for i in first_party if i.max_output_tokens is None or i.knowledge_cutoff is None
    ]

    assert not incomplete


@pytest.mark.parametrize(
    "text",
    [
        "openai/gpt-5",
        "openai/gpt-5-mini",
        "openai/gpt-5-nano",
        "openai/gpt-5.1",
        "openai/gpt-5.2",
        "openai/gpt-4.1",
        "openai/gpt-4.1-mini",
        "openai/o3",
        "openai/o4-mini",
        "openai/gpt-4o",
        "anthropic/claude-opus-4-5",
        "anthropic/claude-opus-4-1",
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-sonnet-4-0",
        "anthropic/claude-haiku-4-5",
        "anthropic/claude-3-5-haiku-latest",
        "google/gemini-2.5-pro",
        "google/gemini-2.5-flash",
        "google/gemini-2.5-flash-lite",
        "google/gemini-3-pro-preview",
        "openrouter/anthropic/claude-sonnet-4.5",
        "openrouter/openai/gpt-5",
        "openrouter/meta-llama/llama-3.3-70b-instruct",
        "openrouter/deepseek/deepseek-chat",
        "openrouter/moonshotai/kimi-k2",
        "openrouter/qwen/qwen3-coder",
        "openrouter/mistralai/mistral-medium-3.1",
    ],
)
def test_expected_models_are_curated(text: str) -> None:
    """The models the catalog promises are present."""

    assert text in CATALOG


@pytest.mark.parametrize(
    ("text", "image_input", "reasoning", "temperature"),
    [
        pytest.param("openai/gpt-5", True, True, False, id="gpt-5"),
        pytest.param("openai/gpt-5.2", True, True, None, id="gpt-5.2-conditional-temperature"),
        pytest.param("openai/o3-mini", False, True, False, id="o3-mini-text-only"),
        pytest.param("openai/gpt-4.1", True, False, True, id="gpt-4.1"),
        pytest.param("anthropic/claude-sonnet-4-5", True, True, True, id="sonnet-4.5"),
        pytest.param("anthropic/claude-3-5-haiku-latest", True, False, True, id="haiku-3.5"),
        pytest.param("google/gemini-2.5-flash", True, True, True, id="gemini-flash"),
        pytest.param(
            "openrouter/meta-llama/llama-3.3-70b-instruct", False, False, True, id="llama-3.3"
        ),
        pytest.param(
            "openrouter/moonshotai/kimi-k2-thinking", False, True, True, id="kimi-thinking"
        ),
    ],
)
def test_capabilities_of_known_models(
    text: str, image_input: bool, reasoning: bool, temperature: bool | None
) -> None:
    """Key capabilities of well-known models are recorded as their providers document them."""
    info = CATALOG.info(text)

    assert (image_input, reasoning, temperature) == (
        info.image_input,
        info.reasoning,
        info.temperature,
    )


@pytest.mark.parametrize(
    ("text", "input_price", "output_price", "context", "max_output"),
    [
        pytest.param("openai/gpt-5", 1.25, 10.0, 400_000, 128_000, id="gpt-5"),
        pytest.param("openai/gpt-5.2", 1.75, 14.0, 400_000, 128_000, id="gpt-5.2"),
        pytest.param("openai/gpt-4.1", 2.0, 8.0, 1_047_576, 32_768, id="gpt-4.1"),
        pytest.param("anthropic/claude-opus-4-5", 5.0, 25.0, 200_000, 64_000, id="opus-4.5"),
        pytest.param("anthropic/claude-sonnet-4-5", 3.0, 15.0, 200_000, 64_000, id="sonnet-4.5"),
        pytest.param("anthropic/claude-haiku-4-5", 1.0, 5.0, 200_000, 64_000, id="haiku-4.5"),
        pytest.param("google/gemini-2.5-pro", 1.25, 10.0, 1_048_576, 65_536, id="gemini-2.5-pro"),
    ],
)
def test_key_figures(
    text: str, input_price: float, output_price: float, context: int, max_output: int
) -> None:
    """Headline prices and limits match the providers' published figures."""
    info = CATALOG.info(text)
    assert info.pricing is not None

    assert (input_price, output_price, context, max_output) == (
        info.pricing.input,
        info.pricing.output,
        info.context_window,
        info.max_output_tokens,
    )


def test_statuses_are_recorded() -> None:
    """Preview and deprecated models are marked as such."""
    expected = {
        "google/gemini-3-pro-preview": ModelStatus.PREVIEW,
        "anthropic/claude-3-5-haiku-latest": ModelStatus.DEPRECATED,
        "openai/gpt-5": ModelStatus.ACTIVE,
    }

    assert expected == {text: CATALOG.info(text).status for text in expected}


def test_every_provider_is_covered() -> None:
    """Each curated provider has several models."""
    counts = Counter(info.ref.provider for info in CATALOG)

    assert {"anthropic", "google", "openai", "openrouter"} == set(counts)
    assert min(counts.values()) >= 5


def test_openrouter_records_of_curated_vendors_find_their_native_twin() -> None:
    """Every OpenRouter record of a first-party vendor matches a native record via serving()."""
    vendors = {"openai", "anthropic", "google"}
    lonely = []
    for info in CATALOG.by_provider("openrouter"):
        native = native_ref(info.ref)
        assert native is not None
        if native.provider in vendors:
            providers = {i.ref.provider for i in CATALOG.serving(info.ref)}
            if providers != {"openrouter", native.provider}:
                lonely.append(str(info.ref))

    assert not lonely


def test_serving_finds_both_routes_to_sonnet() -> None:
    """The same Claude model is served natively and through OpenRouter."""

    assert [
        ModelRef.parse("anthropic/claude-sonnet-4-5"),
        ModelRef.parse("openrouter/anthropic/claude-sonnet-4.5"),
    ] == [info.ref for info in CATALOG.serving("claude-sonnet-4-5-20250929")]


def test_search_over_the_curated_catalog() -> None:
    """A typical `model search` query finds the expected model first."""
    hits = CATALOG.search("opus 4.5", filters=CatalogFilter(provider="anthropic"))

    assert ModelRef.parse("anthropic/claude-opus-4-5") == hits[0].info.ref


def test_cheap_long_context_search() -> None:
    """Filters over the curated data pick cheap, long-context, image-capable models."""
    hits = CATALOG.search(
        filters=CatalogFilter(
            input=frozenset({Modality.IMAGE}), max_input_price=0.5, min_context=1_000_000
        )
    )

    assert {"google/gemini-2.5-flash", "google/gemini-2.5-flash-lite"} <= {
        str(h.info.ref) for h in hits
    }
    assert all(h.info.pricing and (h.info.pricing.input or 0) <= 0.5 for h in hits)


def test_a_broken_copy_names_the_bad_path() -> None:
    """Breaking one price in a copy of the data gives an error that names its JSON path."""
    data = curated_data()
    data["families"][0]["members"][1]["pricing"] = {"input": -1}  # type: ignore[index]
    with pytest.raises(ValueError, match=r"\$\.families\[0\]\.members\[1\]\.pricing\.input"):
        build_catalog(data)


def test_importing_curated_reads_nothing() -> None:
    """Importing _curated does not read or build the catalog until it is asked for."""
    code = "import sys, modelcfg._catalog._curated as c; print(c.curated_catalog.cache_info().currsize)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    nothing_cached = 0

    assert str(nothing_cached) == result.stdout.strip()
