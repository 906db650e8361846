"""
Tests for model records, the catalog, search, family builders and the OpenRouter normaliser.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from modelcfg import ModelRef
from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._families import build_catalog, build_family
from modelcfg._catalog._json import catalog_from_json, catalog_to_json
from modelcfg._catalog._openrouter import catalog_from_openrouter, info_from_openrouter
from modelcfg._catalog._records import (
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
    Provenance,
    model_key,
    native_ref,
)
from tests import strategies as st

# ---------------------------------------------------------------- strategies (local)

prices = hs.none() | hs.floats(min_value=0, max_value=1_000, allow_nan=False)
pricings = hs.none() | hs.builds(
    Pricing, input=prices, output=prices, cache_read=prices, cache_write=prices
)
cutoffs = hs.from_regex(r"20[0-3]\d-(0[1-9]|1[0-2])(-(0[1-9]|1\d|2[0-8]))?", fullmatch=True)
optional_bools = hs.none() | hs.booleans()
times = hs.none() | hs.floats(min_value=0, max_value=4e9, allow_nan=False)
provenances = hs.builds(
    Provenance,
    source=hs.sampled_from(CatalogSource),
    origin=hs.none() | hs.sampled_from(["openrouter", "openai"]),
    fetched_at=times,
)
names = hs.from_regex(r"[A-Za-z0-9][A-Za-z0-9 .:()-]{0,15}", fullmatch=True)


@hs.composite
def model_infos(draw: hs.DrawFn) -> ModelInfo:
    context = draw(hs.none() | hs.integers(min_value=1, max_value=10_000_000))
    top = context or 10_000_000
    return ModelInfo(
        ref=draw(st.model_refs),
        name=draw(names),
        input=draw(hs.frozensets(hs.sampled_from(Modality), min_size=1)),
        tools=draw(optional_bools),
        streaming=draw(optional_bools),
        structured_output=draw(optional_bools),
        reasoning=draw(optional_bools),
        temperature=draw(optional_bools),
        context_window=context,
        max_output_tokens=draw(hs.none() | hs.integers(min_value=1, max_value=top)),
        pricing=draw(pricings),
        knowledge_cutoff=draw(hs.none() | cutoffs),
        status=draw(hs.sampled_from(ModelStatus)),
        source=draw(hs.sampled_from(CatalogSource)),
        family=draw(hs.none() | names),
        output=draw(hs.frozensets(hs.sampled_from(Modality), min_size=1)),
        origin=draw(hs.none() | hs.sampled_from(["openrouter", "anthropic", "local"])),
        fetched_at=draw(times),
        created_at=draw(times),
        retires_at=draw(times),
        canonical_id=draw(hs.none() | names),
        pricing_from=draw(hs.none() | provenances),
        status_from=draw(hs.none() | provenances),
    )


catalogs = hs.lists(model_infos(), max_size=4, unique_by=lambda info: info.ref).map(
    lambda infos: ModelCatalog(records=infos)
)
# Catalogs over a few refs, so that two of them often describe the same model.
_POOL = [ModelRef.parse(t) for t in ("a/x", "a/y", "b/x", "openrouter/a/x", "c/z")]
overlapping_catalogs = hs.lists(
    hs.builds(ModelInfo, ref=hs.sampled_from(_POOL), name=names),
    max_size=5,
    unique_by=lambda info: info.ref,
).map(lambda infos: ModelCatalog(records=infos))


def ref(text: str) -> ModelRef:
    return ModelRef.parse(text)


def info(text: str, **fields: object) -> ModelInfo:
    return ModelInfo(ref=ref(text), **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- records


def test_unknown_model_is_text_only_with_unknown_limits() -> None:
    """ModelInfo.unknown() accepts text only and knows no capability, limit or price."""
    unknown = ModelInfo.unknown(ref("acme/mystery-1"))
    expected = ModelInfo(ref=ref("acme/mystery-1"), name="mystery-1", input=["text"])
    nothing_known = (None,) * 8

    assert expected == unknown
    assert unknown.image_input is False
    assert nothing_known == (
        unknown.tools,
        unknown.streaming,
        unknown.structured_output,
        unknown.reasoning,
        unknown.temperature,
        unknown.context_window,
        unknown.max_output_tokens,
        unknown.pricing,
    )


def test_image_input_follows_input_tags() -> None:
    """image_input is true exactly when 'image' is among the input modalities."""
    with_images = info("a/b", input=["text", "image"])
    without = info("a/b", input=["text", "pdf"])
    expected = (True, False)

    assert expected == (with_images.image_input, without.image_input)


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        pytest.param({"context_window": 0}, ValueError, "positive", id="zero-context"),
        pytest.param({"max_output_tokens": -5}, ValueError, "positive", id="negative-output"),
        pytest.param({"context_window": 1.5}, TypeError, "whole number", id="float-context"),
        pytest.param({"context_window": True}, TypeError, "whole number", id="bool-context"),
        pytest.param(
            {"context_window": 1000, "max_output_tokens": 2000},
            ValueError,
            "larger",
            id="output>context",
        ),
        pytest.param({"tools": "yes"}, TypeError, "tools", id="text-bool"),
        pytest.param({"input": []}, ValueError, "at least one", id="no-modality"),
        pytest.param(
            {"input": ["text", "smell"]}, ValueError, "unknown modality", id="bad-modality"
        ),
        pytest.param({"knowledge_cutoff": "March 2025"}, ValueError, "YYYY-MM", id="bad-cutoff"),
        pytest.param({"knowledge_cutoff": "2025-13"}, ValueError, "YYYY-MM", id="month-13"),
        pytest.param({"name": "  "}, ValueError, "display name", id="blank-name"),
        pytest.param({"status": "gone"}, ValueError, "gone", id="bad-status"),
        pytest.param({"pricing": {"input": -1}}, ValueError, "non-negative", id="negative-price"),
        pytest.param({"pricing": {"inptu": 1}}, ValueError, "inptu", id="misspelt-price"),
        pytest.param({"pricing": 3}, TypeError, "pricing", id="number-pricing"),
    ],
)
def test_model_info_rejects(fields: dict[str, object], error: type[Exception], match: str) -> None:
    """Invalid field values are refused with a sentence naming the field."""
    with pytest.raises(error, match=match):
        info("acme/model-1", **fields)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-0.01, id="negative"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="infinite"),
    ],
)
def test_pricing_rejects_impossible_prices(value: float) -> None:
    """Prices must be finite and non-negative."""
    with pytest.raises(ValueError, match="non-negative"):
        Pricing(output=value)


@pytest.mark.parametrize("value", [pytest.param(True, id="bool"), pytest.param("1", id="text")])
def test_pricing_rejects_non_numbers(value: object) -> None:
    """A price that is not a number is a type error."""
    with pytest.raises(TypeError, match="price"):
        Pricing(input=value)


def test_pricing_stores_floats() -> None:
    """Whole-number prices are stored as floats, and all-None pricing is unknown."""
    expected = (3.0, True, False)

    assert expected == (
        Pricing(input=3).input,
        Pricing().is_unknown,
        Pricing(cache_read=0).is_unknown,
    )


def test_with_overrides_replaces_given_fields() -> None:
    """with_overrides() replaces the named fields and keeps the others."""
    base = info("openai/gpt-x", tools=True, context_window=1000, pricing=Pricing(input=1, output=2))

    updated = base.with_overrides(name="GPT X", context_window=2000, input=["text", "image"])

    assert (
        attrs.evolve(
            base,
            name="GPT X",
            context_window=2000,
            input=frozenset({Modality.TEXT, Modality.IMAGE}),
        )
        == updated
    )


def test_with_overrides_skips_none() -> None:
    """A None override (an absent optional config field) leaves the value alone."""
    base = info("openai/gpt-x", tools=True, context_window=1000)

    assert base == base.with_overrides(tools=None, context_window=None, pricing=None)


def test_with_overrides_merges_prices_one_by_one() -> None:
    """A pricing mapping replaces only the prices it names."""
    base = info("openai/gpt-x", pricing=Pricing(input=1, output=2, cache_read=0.1))

    updated = base.with_overrides(pricing={"output": 3, "cache_read": None})

    assert Pricing(input=1, output=3, cache_read=0.1) == updated.pricing


def test_with_overrides_accepts_plain_values() -> None:
    """Overrides may use the plain JSON forms of status, input and pricing."""
    base = ModelInfo.unknown(ref("ollama/llama3.2@q8_0"))

    updated = base.with_overrides(
        status="deprecated", input=["text"], pricing={"input": 0, "output": 0}, source="user"
    )

    assert (ModelStatus.DEPRECATED, Pricing(input=0, output=0), CatalogSource.USER) == (
        updated.status,
        updated.pricing,
        updated.source,
    )


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        pytest.param({"ref": ref("a/b")}, ValueError, "'ref'", id="ref"),
        pytest.param({"family": "x"}, ValueError, "'family'", id="family"),
        pytest.param({"contextWindow": 5}, ValueError, "'contextWindow'", id="camel-case"),
        pytest.param({"max_output_tokens": 10**9}, ValueError, "larger", id="breaks-invariant"),
        pytest.param({"pricing": {"bogus": 1}}, ValueError, "bogus", id="bad-price-key"),
    ],
)
def test_with_overrides_rejects(
    fields: dict[str, object], error: type[Exception], match: str
) -> None:
    """Fields that cannot be overridden, and values that break invariants, are refused."""
    base = info("openai/gpt-x", context_window=1000, pricing=Pricing(input=1))
    with pytest.raises(error, match=match):
        base.with_overrides(**fields)


# ---------------------------------------------------------------- catalog lookups

GPT = info("openai/gpt-5", name="GPT-5", tools=True, source=CatalogSource.CURATED)
SONNET = info(
    "anthropic/claude-sonnet-4-5",
    name="Claude Sonnet 4.5",
    input=["text", "image"],
    source=CatalogSource.CURATED,
)
OR_SONNET = info(
    "openrouter/anthropic/claude-sonnet-4.5",
    name="Anthropic: Claude Sonnet 4.5",
    source=CatalogSource.DISCOVERED,
)
SMALL = ModelCatalog(records=[GPT, SONNET, OR_SONNET])


def test_catalog_lookups() -> None:
    """get(), info(), `in`, iteration and len() agree with the records."""
    sonnet, gpt, records = SONNET, GPT, [GPT, SONNET, OR_SONNET]
    membership = (True, True, False, False)
    providers = ("anthropic", "openai", "openrouter")

    assert sonnet == SMALL.get(ref("anthropic/claude-sonnet-4-5"))
    assert sonnet == SMALL.get("anthropic/claude-sonnet-4-5")
    assert SMALL.get("anthropic/claude-unknown") is None
    assert ModelInfo.unknown(ref("x/y")) == SMALL.info("x/y")
    assert gpt == SMALL.info(ref("openai/gpt-5"))
    assert membership == (
        ref("openai/gpt-5") in SMALL,
        "openai/gpt-5" in SMALL,
        "openai/gpt-6" in SMALL,
        "not a ref" in SMALL,
    )
    assert records == list(SMALL)
    assert len(records) == len(SMALL)
    assert providers == SMALL.providers


def test_catalog_rejects_repeated_refs() -> None:
    """The constructor refuses two records for one ref; from_records() keeps the last."""
    newer = attrs.evolve(GPT, name="GPT-5 (new)")
    with pytest.raises(ValueError, match="twice"):
        ModelCatalog(records=[GPT, newer])

    assert (newer,) == ModelCatalog.from_records([GPT, newer]).records


def test_catalog_repr_is_short() -> None:
    """A catalog's repr counts its models instead of listing them."""
    expected = "ModelCatalog(records=<3 models>)"

    assert expected == repr(SMALL)


def test_by_provider_is_case_insensitive() -> None:
    """by_provider() lists one provider's records, whatever the case of its name."""
    expected = {"Anthropic": (SONNET,), "google": ()}

    assert expected == {name: SMALL.by_provider(name) for name in expected}


def test_merged_later_catalogs_win() -> None:
    """merged() lays catalogs over each other: later ones win per ref, positions are kept."""
    renamed = attrs.evolve(GPT, name="Mine")
    extra = info("google/gemini-2.5-pro")

    merged = SMALL.merged(ModelCatalog(records=[extra, renamed]))

    assert (renamed, SONNET, OR_SONNET, extra) == merged.records


def test_with_models_replaces_and_adds() -> None:
    """with_models() replaces records with the same ref and appends new ones."""
    extra = info("google/gemini-2.5-pro")
    renamed = attrs.evolve(SONNET, name="S")

    assert (GPT, renamed, OR_SONNET, extra) == SMALL.with_models([renamed, extra]).records


@pytest.mark.parametrize(
    ("present", "expected_source"),
    [
        pytest.param(("discovered",), CatalogSource.DISCOVERED, id="discovered-only"),
        pytest.param(("discovered", "curated"), CatalogSource.CURATED, id="curated>discovered"),
        pytest.param(("curated", "user"), CatalogSource.USER, id="user>curated"),
        pytest.param(("discovered", "curated", "user"), CatalogSource.USER, id="user>all"),
        pytest.param(("discovered", "user"), CatalogSource.USER, id="user>discovered"),
    ],
)
def test_combined_precedence(present: tuple[str, ...], expected_source: CatalogSource) -> None:
    """combined() applies user > curated > discovered, whatever sources are given."""
    the_ref = ref("openai/gpt-5")
    layers = {
        name: ModelCatalog(records=[ModelInfo(ref=the_ref, source=CatalogSource(name))])
        for name in present
    }

    combined = ModelCatalog.combined(**layers)

    assert expected_source == combined.info(the_ref).source


def test_combined_lists_curated_then_user_then_discovered() -> None:
    """combined() lists curated models first, then user-only, then discovered-only ones."""
    curated = ModelCatalog(
        records=[info("a/one", source="curated"), info("a/two", source="curated")]
    )
    discovered = ModelCatalog(
        records=[info("a/three", source="discovered"), info("a/one", source="discovered")]
    )
    user = ModelCatalog(records=[info("a/four"), info("a/two", name="Mine")])
    expected = [
        ("a/one", CatalogSource.CURATED),
        ("a/two", CatalogSource.USER),
        ("a/four", CatalogSource.USER),
        ("a/three", CatalogSource.DISCOVERED),
    ]

    combined = ModelCatalog.combined(curated=curated, discovered=discovered, user=user)

    assert expected == [(str(i.ref), i.source) for i in combined]


@given(overlapping_catalogs, overlapping_catalogs)
@settings(max_examples=50)
def test_merged_property(base: ModelCatalog, over: ModelCatalog) -> None:
    """Every ref of either catalog is in the merge, with the record of the later one if both."""
    merged = base.merged(over)

    assert {i.ref for i in base} | {i.ref for i in over} == {i.ref for i in merged}
    assert all(merged.get(i.ref) == i for i in over)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("claude-sonnet-4-5", "claude-sonnet-4-5", id="plain"),
        pytest.param("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", id="dated"),
        pytest.param("claude-sonnet-4-5@20250929", "claude-sonnet-4-5", id="vertex-dated"),
        pytest.param("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5", id="openrouter"),
        pytest.param("claude-sonnet-4-0", "claude-sonnet-4", id="dash-zero"),
        pytest.param("claude-3-5-haiku-latest", "claude-3-5-haiku", id="latest"),
        pytest.param("deepseek/deepseek-r1:free", "deepseek-r1", id="variant"),
        pytest.param("GPT-4.1", "gpt-4-1", id="case-and-dots"),
    ],
)
def test_model_key(text: str, expected: str) -> None:
    """model_key() strips vendor prefixes, dates, variants and spelling differences."""

    assert expected == model_key(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "openrouter/anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5", id="anthropic"
        ),
        pytest.param(
            "openrouter/meta-llama/llama-3.3-70b-instruct",
            "meta/llama-3.3-70b-instruct",
            id="meta-llama",
        ),
        pytest.param("openrouter/mistralai/codestral-2508", "mistral/codestral-2508", id="mistral"),
        pytest.param("openrouter/moonshotai/kimi-k2:free", "moonshot/kimi-k2", id="free-variant"),
        pytest.param("openrouter/x-ai/grok-4", "xai/grok-4", id="xai"),
        pytest.param("openrouter/auto", None, id="no-vendor"),
        pytest.param("anthropic/claude-sonnet-4-5", None, id="not-openrouter"),
    ],
)
def test_native_ref(text: str, expected: str | None) -> None:
    """native_ref() maps an OpenRouter vendor/name id to the vendor's provider."""

    assert (ref(expected) if expected else None) == native_ref(ref(text))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "claude-sonnet-4-5",
            ["anthropic/claude-sonnet-4-5", "openrouter/anthropic/claude-sonnet-4.5"],
            id="native-id",
        ),
        pytest.param(
            ref("openrouter/anthropic/claude-sonnet-4.5"),
            ["anthropic/claude-sonnet-4-5", "openrouter/anthropic/claude-sonnet-4.5"],
            id="openrouter-ref",
        ),
        pytest.param(
            "claude-sonnet-4-5-20250929",
            ["anthropic/claude-sonnet-4-5", "openrouter/anthropic/claude-sonnet-4.5"],
            id="dated",
        ),
        pytest.param("gpt-5", ["openai/gpt-5"], id="one-provider"),
        pytest.param("gpt-6", [], id="unknown"),
    ],
)
def test_serving(query: ModelRef | str, expected: list[str]) -> None:
    """serving() finds every provider's record for the same model."""

    assert expected == [str(i.ref) for i in SMALL.serving(query)]


# ---------------------------------------------------------------- family builders

FAMILY: dict[str, object] = {
    "family": "gpt-4.1",
    "provider": "OpenAI",
    "note": "ignored",
    "defaults": {
        "input": ["text", "image"],
        "tools": True,
        "context_window": 1_047_576,
        "max_output_tokens": 32_768,
        "pricing": {"input": 2.0, "output": 8.0, "cache_read": 0.5},
    },
    "members": [
        {"id": "gpt-4.1", "name": "GPT-4.1"},
        {"id": "gpt-4.1-mini", "pricing": {"input": 0.4, "output": 1.6}, "note": "cheap"},
        {"id": "gpt-4.1-text", "input": ["text"], "tools": None, "status": "preview"},
    ],
}


def test_build_family_expands_members() -> None:
    """Members inherit the defaults and override only what they name; prices merge one by one."""
    shared = {
        "input": frozenset({Modality.TEXT, Modality.IMAGE}),
        "tools": True,
        "context_window": 1_047_576,
        "max_output_tokens": 32_768,
        "source": CatalogSource.CURATED,
        "family": "gpt-4.1",
    }

    built = build_family(FAMILY)

    assert (
        ModelInfo(
            ref=ref("openai/gpt-4.1"),
            name="GPT-4.1",
            pricing=Pricing(input=2, output=8, cache_read=0.5),
            **shared,  # type: ignore[arg-type]
        ),
        ModelInfo(
            ref=ref("openai/gpt-4.1-mini"),
            pricing=Pricing(input=0.4, output=1.6, cache_read=0.5),
            **shared,  # type: ignore[arg-type]
        ),
        ModelInfo(
            ref=ref("openai/gpt-4.1-text"),
            pricing=Pricing(input=2, output=8, cache_read=0.5),
            status=ModelStatus.PREVIEW,
            **{**shared, "input": frozenset({Modality.TEXT}), "tools": None},  # type: ignore[arg-type]
        ),
    ) == built


def test_family_field_table_covers_every_overridable_field() -> None:
    """The family data's field rules name exactly the fields a record lets data set."""
    from modelcfg._catalog import _families
    from modelcfg._catalog._records import OVERRIDABLE

    assert OVERRIDABLE == {*_families._FIELD_RULES, "pricing"}


def test_build_family_source_is_recorded() -> None:
    """The source given to build_family() is recorded on every record."""

    assert {CatalogSource.USER} == {
        i.source for i in build_family(FAMILY, source=CatalogSource.USER)
    }


def _broken(path: tuple[str | int, ...], value: object) -> dict[str, object]:
    spec = json.loads(json.dumps(FAMILY))
    *parents, last = path
    node = spec
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return spec  # type: ignore[no-any-return]


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(("family",), 3, "$.family: expected the family's name", id="family-name"),
        pytest.param(("provider",), None, "$.provider: expected a provider id", id="no-provider"),
        pytest.param(
            ("provider",), "Open AI", "$.members[0]: provider 'open ai'", id="bad-provider"
        ),
        pytest.param(("members",), [], "$.members: expected a non-empty list", id="no-members"),
        pytest.param(("colour",), "red", "$.colour: unknown key", id="unknown-family-key"),
        pytest.param(("defaults", "tool"), True, "$.defaults.tool: unknown key", id="typo-default"),
        pytest.param(
            ("defaults", "tools"), "yes", "$.defaults.tools: expected true", id="text-bool"
        ),
        pytest.param(
            ("defaults", "context_window"),
            -1,
            "$.defaults.context_window: expected a positive",
            id="neg-context",
        ),
        pytest.param(("members", 1, "id"), None, "$.members[1].id: expected", id="no-id"),
        pytest.param(
            ("members", 1, "id"), "gpt 4", "$.members[1]: model id 'gpt 4'", id="space-in-id"
        ),
        pytest.param(
            ("members", 1, "pricing", "input"),
            -0.4,
            "$.members[1].pricing.input: expected a non-negative",
            id="neg-price",
        ),
        pytest.param(
            ("members", 1, "pricing", "inptu"),
            1,
            "$.members[1].pricing.inptu: unknown price",
            id="price-typo",
        ),
        pytest.param(
            ("members", 2, "input"),
            ["text", "smell"],
            "$.members[2].input: expected",
            id="modality",
        ),
        pytest.param(
            ("members", 2, "status"), "gone", "$.members[2].status: expected one of", id="status"
        ),
        pytest.param(
            ("members", 0, "knowledge_cutoff"), "2024", "$.members[0].knowledge_cutoff", id="cutoff"
        ),
        pytest.param(
            ("members", 0, "max_output_tokens"),
            2_000_000,
            "$.members[0]: max_output_tokens",
            id="output>context",
        ),
        pytest.param(
            ("members", 0), "gpt-4.1", "$.members[0]: expected a member object", id="member-text"
        ),
        pytest.param(("defaults",), [], "$.defaults: expected an object", id="defaults-list"),
    ],
)
def test_build_family_names_the_bad_path(
    path: tuple[str | int, ...], value: object, message: str
) -> None:
    """Wrong data raises a ValueError that names the JSON path of the problem."""
    with pytest.raises(ValueError, match="problem") as raised:
        build_family(_broken(path, value))

    assert message in str(raised.value)


def test_build_family_reports_every_problem_at_once() -> None:
    """All the problems of a family are listed in one error."""
    spec = _broken(("members", 0, "tools"), "no")
    spec["members"][1]["context_window"] = 0  # type: ignore[index]
    with pytest.raises(ValueError, match="2 problems") as raised:
        build_family(spec)

    assert "$.members[0].tools" in str(raised.value)
    assert "$.members[1].context_window" in str(raised.value)


def test_build_catalog_rejects_repeated_refs() -> None:
    """Two families defining the same model are an error naming both places."""
    data = {"format": 1, "families": [FAMILY, FAMILY]}
    with pytest.raises(
        ValueError,
        match=r"\$\.families\[1\]: openai/gpt-4\.1 is already defined at \$\.families\[0\]",
    ):
        build_catalog(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"families": []}, "$.format: expected 1", id="no-format"),
        pytest.param(
            {"format": 1, "families": {}}, "$.families: expected a list", id="families-object"
        ),
        pytest.param(
            {"format": 1, "families": [3]},
            "$.families[0]: expected a family object",
            id="family-number",
        ),
        pytest.param(
            {"format": 1, "families": [], "extra": 1}, "$.extra: unknown key", id="extra-key"
        ),
    ],
)
def test_build_catalog_names_the_bad_path(data: dict[str, object], message: str) -> None:
    """A malformed catalog file is refused with the path of the problem."""
    with pytest.raises(ValueError, match="problem") as raised:
        build_catalog(data)

    assert message in str(raised.value)


# ---------------------------------------------------------------- OpenRouter

GOOD_RECORD: dict[str, object] = {
    "id": "anthropic/claude-sonnet-4.5",
    "canonical_slug": "anthropic/claude-4.5-sonnet-20250929",
    "name": "Anthropic: Claude Sonnet 4.5",
    "created": 1759161676,
    "context_length": 1000000,
    "architecture": {
        "modality": "text+image->text",
        "input_modalities": ["text", "image", "file"],
        "output_modalities": ["text"],
        "tokenizer": "Claude",
    },
    "pricing": {
        "prompt": "0.000003",
        "completion": "0.000015",
        "request": "0",
        "image": "0.0048",
        "input_cache_read": "0.0000003",
        "input_cache_write": "0.00000375",
    },
    "top_provider": {
        "context_length": 1000000,
        "max_completion_tokens": 64000,
        "is_moderated": False,
    },
    "per_request_limits": None,
    "supported_parameters": [
        "include_reasoning",
        "max_tokens",
        "reasoning",
        "temperature",
        "tools",
        "top_p",
    ],
}


def _record(**changes: object) -> dict[str, object]:
    record = json.loads(json.dumps(GOOD_RECORD))
    for key, value in changes.items():
        if value is _DELETE:
            del record[key]
        else:
            record[key] = value
    return record  # type: ignore[no-any-return]


OPENROUTER_ROWS = [
    pytest.param(
        GOOD_RECORD,
        {
            "name": "Anthropic: Claude Sonnet 4.5",
            "input": frozenset({Modality.TEXT, Modality.IMAGE, Modality.PDF}),
            "tools": True,
            "streaming": True,
            "structured_output": False,
            "reasoning": True,
            "temperature": True,
            "context_window": 1_000_000,
            "max_output_tokens": 64_000,
            "pricing": Pricing(input=3, output=15, cache_read=0.3, cache_write=3.75),
        },
        id="good",
    ),
    pytest.param(
        {"id": "meta-llama/llama-3.3-70b-instruct"},
        {"name": "meta-llama/llama-3.3-70b-instruct", "streaming": True},
        id="id-only",
    ),
    pytest.param(
        _record(
            pricing={"prompt": "0", "completion": "0"}, supported_parameters=["structured_outputs"]
        ),
        {
            "pricing": Pricing(input=0, output=0),
            "tools": False,
            "structured_output": True,
            "temperature": False,
            "reasoning": False,
        },
        id="free-and-structured",
    ),
    pytest.param(
        _record(pricing={"prompt": "-1", "completion": "-1"}),
        {"pricing": None},
        id="variable-price",
    ),
    pytest.param(
        _record(pricing={"prompt": "abc", "completion": 0.000002, "input_cache_read": None}),
        {"pricing": Pricing(output=2)},
        id="garbage-price",
    ),
    pytest.param(
        _record(pricing="free"),
        {"pricing": None},
        id="pricing-text",
    ),
    pytest.param(
        _record(
            context_length="lots",
            top_provider={"context_length": 200000, "max_completion_tokens": 8192},
        ),
        {"context_window": 200_000, "max_output_tokens": 8192},
        id="context-from-top-provider",
    ),
    pytest.param(
        _record(context_length=4096.0, top_provider={"max_completion_tokens": 100000}),
        {"context_window": 4096, "max_output_tokens": None},
        id="output-above-context",
    ),
    pytest.param(
        _record(context_length=True, top_provider=[1, 2]),
        {"context_window": None, "max_output_tokens": None},
        id="garbage-limits",
    ),
    pytest.param(
        _record(architecture={"input_modalities": ["image", 5, "hologram"]}),
        {"input": frozenset({Modality.TEXT, Modality.IMAGE})},
        id="odd-modalities",
    ),
    pytest.param(
        _record(architecture={"input_modalities": "text"}),
        {"input": frozenset({Modality.TEXT})},
        id="modalities-text",
    ),
    pytest.param(
        _record(supported_parameters="tools"),
        {"tools": None, "temperature": None, "reasoning": None, "structured_output": None},
        id="parameters-text",
    ),
    pytest.param(
        _record(name="", knowledge_cutoff="2025-03-31", expiration_date="2026-01-01"),
        {
            "name": "anthropic/claude-sonnet-4.5",
            "knowledge_cutoff": "2025-03-31",
            "status": ModelStatus.DEPRECATED,
        },
        id="cutoff-and-expiry",
    ),
    pytest.param(
        _record(knowledge_cutoff="recent", name=7),
        {"name": "anthropic/claude-sonnet-4.5", "knowledge_cutoff": None},
        id="garbage-cutoff-and-name",
    ),
]


@pytest.mark.parametrize(("record", "expected"), OPENROUTER_ROWS)
def test_info_from_openrouter(record: Mapping[str, object], expected: dict[str, object]) -> None:
    """OpenRouter records become discovered records; bad fields are left unknown, not fatal."""
    normalised = info_from_openrouter(record)
    actual = {name: getattr(normalised, name) for name in expected}

    assert expected == actual
    assert (ref(f"openrouter/{record['id']}"), CatalogSource.DISCOVERED) == (
        normalised.ref,
        normalised.source,
    )


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({}, id="missing"),
        pytest.param({"id": ""}, id="empty"),
        pytest.param({"id": 42}, id="number"),
        pytest.param({"id": "has space"}, id="space"),
    ],
)
def test_info_from_openrouter_needs_an_id(record: Mapping[str, object]) -> None:
    """A record without a usable id is refused with a clear ValueError."""
    with pytest.raises(ValueError, match="OpenRouter model"):
        info_from_openrouter(record)


def test_catalog_from_openrouter_skips_bad_records() -> None:
    """A whole response becomes a catalog; unusable records are skipped and reported."""
    payload = {"data": [GOOD_RECORD, {"name": "no id"}, "junk", {"id": "openai/gpt-5"}]}

    catalog, skipped = catalog_from_openrouter(payload)
    expected_refs = ["openrouter/anthropic/claude-sonnet-4.5", "openrouter/openai/gpt-5"]
    expected_skipped = (
        "$.data[1]: skipped: an OpenRouter model record needs a text 'id', got None",
        "$.data[2]: skipped: not an object",
    )

    assert expected_refs == [str(i.ref) for i in catalog]
    assert expected_skipped == skipped


def test_catalog_from_openrouter_without_data() -> None:
    """A response without a data list gives an empty catalog and says why."""

    assert (
        ModelCatalog(),
        (
            "the OpenRouter models response from openrouter is not a models list: "
            "$.data should be a list, got null",
        ),
    ) == (catalog_from_openrouter({"error": "nope"}))


@given(
    hs.dictionaries(
        hs.sampled_from(
            [
                "name",
                "context_length",
                "architecture",
                "pricing",
                "top_provider",
                "supported_parameters",
            ]
        ),
        hs.recursive(
            hs.none() | hs.booleans() | hs.integers() | hs.floats() | hs.text(max_size=5),
            lambda inner: (
                hs.lists(inner, max_size=3)
                | hs.dictionaries(hs.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
@settings(max_examples=100)
def test_info_from_openrouter_never_crashes_on_garbage(fields: dict[str, object]) -> None:
    """Whatever the other fields hold, a record with an id always normalises."""
    normalised = info_from_openrouter({"id": "vendor/model", **fields})

    assert ref("openrouter/vendor/model") == normalised.ref


# ---------------------------------------------------------------- JSON


@given(catalogs)
@settings(max_examples=50)
def test_catalog_json_round_trip(catalog: ModelCatalog) -> None:
    """catalog_from_json(catalog_to_json(c)) gives back c, through real JSON text."""
    text = json.dumps(catalog_to_json(catalog))

    assert catalog == catalog_from_json(json.loads(text))


def test_catalog_json_shape() -> None:
    """Records are written with plain JSON values (ref text, sorted modalities, enum values), defaults left out."""
    one = ModelCatalog(
        records=[
            info("openai/gpt-5", input=["text", "image"], pricing=Pricing(input=1)),
            info("openai/gpt-x", name="GPT X", source=CatalogSource.DISCOVERED, fetched_at=5),
        ]
    )
    expected = {
        "format": 1,
        "models": [
            {"ref": "openai/gpt-5", "input": ["image", "text"], "pricing": {"input": 1.0}},
            {"ref": "openai/gpt-x", "name": "GPT X", "source": "discovered", "fetched_at": 5},
        ],
    }

    assert expected == catalog_to_json(one)


def test_catalog_from_json_lists_every_problem() -> None:
    """Malformed cached JSON is refused with every problem and its path."""
    data = catalog_to_json(
        ModelCatalog(
            records=[info(f"openai/gpt-{n}", tools=True, input=["text"]) for n in range(4)]
        )
    )
    models = data["models"]
    assert isinstance(models, list)
    models[0]["tools"] = "yes"  # type: ignore[index, call-overload]
    models[1]["extra"] = 1  # type: ignore[index, call-overload]
    models[2]["pricing"] = {"input": -1}  # type: ignore[index, call-overload]
    models[3]["input"] = ["smell"]  # type: ignore[index, call-overload]
    with pytest.raises(ValueError, match="4 problems") as raised:
        catalog_from_json(data)

    message = str(raised.value)
    assert "$.models[0].tools: expected bool, got 'yes'" in message
    assert "$.models[1]: extra fields found (extra)" in message
    assert "$.models[2].pricing:" in message
    assert "$.models[3].input:" in message


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param({"models": []}, r"\$\.format", id="no-format"),
        pytest.param({"format": 1, "models": {}}, r"\$\.models", id="models-object"),
        pytest.param(
            {"format": 1, "models": [{"ref": "a/b"}, {"ref": "a/b"}]}, "twice", id="repeated-ref"
        ),
    ],
)
def test_catalog_from_json_rejects(data: dict[str, object], match: str) -> None:
    """Data that is not a catalog is refused with a ValueError."""
    with pytest.raises(ValueError, match=match):
        catalog_from_json(data)


# ---------------------------------------------------------------- purity and import cost

_FORBIDDEN = {"httpx", "anyio", "time", "random", "os", "logging"}


@pytest.mark.parametrize(
    "module",
    [
        "_records",
        "_search",
        "_catalog",
        "_families",
        "_openrouter",
        "_json",
        "_listing",
        "_discovery",
        "_snapshot",
        "_promote",
    ],
)
def test_catalog_module_imports_nothing_impure(module: str) -> None:
    """The pure catalog modules import none of httpx, anyio, time, random, os or logging."""
    source = Path(__file__).parents[2] / "modelcfg" / "_catalog" / f"{module}.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.partition(".")[0])

    assert set() == imported & _FORBIDDEN


def test_importing_catalog_loads_no_data_and_no_cattrs() -> None:
    """Importing _catalog neither reads the curated data nor imports cattrs, httpx or anyio."""
    code = (
        "import sys, modelcfg._catalog._catalog, modelcfg._catalog._families; "
        "print(sorted(m for m in ('cattrs', 'httpx', 'anyio', 'modelcfg._catalog._curated', 'json') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    nothing: list[str] = []

    assert str(nothing) == result.stdout.strip()


def test_blank_supported_parameters_are_ignored() -> None:
    """A listing's blank parameter name is dropped, and the record still normalises."""
    normalised = info_from_openrouter(
        {"id": "vendor/model", "supported_parameters": ["", " tools "]}
    )

    assert (frozenset({"tools"}), True) == (normalised.supported_parameters, normalised.tools)
