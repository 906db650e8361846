"""
Merging curated, discovered and user records: the documented rule, with provenance.
"""

from __future__ import annotations

import datetime

import attrs
from hypothesis import given, settings
from hypothesis import strategies as hs

from modelcfg import ModelRef
from modelcfg._catalog._catalog import ModelCatalog, merge_records
from modelcfg._catalog._curated import curated_catalog
from modelcfg._catalog._records import (
    CatalogSource,
    Modality,
    ModelInfo,
    ModelStatus,
    Pricing,
    Provenance,
)
from modelcfg._config._load import load_config
from modelcfg._config._plan import catalog_for

CURATED_AT = datetime.datetime(2025, 11, 1, tzinfo=datetime.UTC).timestamp()
LATER = CURATED_AT + 30 * 86_400
EARLIER = CURATED_AT - 30 * 86_400
REF = ModelRef.parse("openrouter/anthropic/claude-sonnet-4.5")


def curated(**fields: object) -> ModelInfo:
    base: dict[str, object] = {
        "ref": REF,
        "name": "Claude Sonnet 4.5",
        "input": ["text", "image", "pdf"],
        "tools": True,
        "context_window": 1_000_000,
        "pricing": Pricing(input=3, output=15),
        "source": CatalogSource.CURATED,
        "fetched_at": CURATED_AT,
        "family": "openrouter-anthropic",
    }
    return ModelInfo(**{**base, **fields})  # type: ignore[arg-type]


def discovered(**fields: object) -> ModelInfo:
    base: dict[str, object] = {
        "ref": REF,
        "name": "Anthropic: Claude Sonnet 4.5",
        "tools": False,
        "reasoning": True,
        "max_output_tokens": 64_000,
        "pricing": Pricing(input=2.5, output=12.5),
        "source": CatalogSource.DISCOVERED,
        "origin": "openrouter",
        "fetched_at": LATER,
        "created_at": 1_759_161_676,
    }
    return ModelInfo(**{**base, **fields})  # type: ignore[arg-type]


def test_newer_discovered_prices_win_and_say_where_from() -> None:
    """A newer listing's prices replace the curated ones, and the record names their source."""
    merged = merge_records(curated(), discovered())

    assert Pricing(input=2.5, output=12.5) == merged.pricing
    assert (
        Provenance(source="discovered", origin="openrouter", fetched_at=LATER)
        == merged.pricing_from
    )
    assert "discovered from openrouter (2025-12-01 00:00 UTC)" == str(merged.pricing_from)


def test_older_discovered_prices_do_not_win() -> None:
    """A listing older than the curated data leaves the curated prices."""
    merged = merge_records(curated(), discovered(fetched_at=EARLIER))

    assert (Pricing(input=3, output=15), None) == (merged.pricing, merged.pricing_from)


def test_unknown_discovered_prices_never_hide_curated_ones() -> None:
    """A listing that does not know the price leaves the curated one."""
    merged = merge_records(curated(), discovered(pricing=Pricing()))

    assert Pricing(input=3, output=15) == merged.pricing


def test_curated_capabilities_stand_and_unknowns_are_filled() -> None:
    """Curated facts stay; what curated leaves unknown is filled from the listing."""
    merged = merge_records(curated(), discovered())

    assert (True, "Claude Sonnet 4.5", CatalogSource.CURATED) == (
        merged.tools,
        merged.name,
        merged.source,
    )
    assert (True, 64_000, 1_759_161_676) == (
        merged.reasoning,
        merged.max_output_tokens,
        merged.created_at,
    )


def test_a_newer_deprecation_is_recorded_with_its_date() -> None:
    """A listing that announces an expiration deprecates the model, with the date and the source."""
    merged = merge_records(
        curated(), discovered(status=ModelStatus.DEPRECATED, retires_at=LATER + 86_400)
    )

    assert (ModelStatus.DEPRECATED, LATER + 86_400, "openrouter") == (
        merged.status,
        merged.retires_at,
        merged.status_from.origin if merged.status_from else None,
    )


def test_a_listed_model_is_not_undeprecated() -> None:
    """Being listed says nothing against a curated deprecation."""
    merged = merge_records(curated(status=ModelStatus.DEPRECATED), discovered())

    assert (ModelStatus.DEPRECATED, None) == (merged.status, merged.status_from)


def test_limits_that_disagree_keep_the_curated_ones() -> None:
    """A filled output limit above the curated context window is not taken."""
    merged = merge_records(curated(context_window=32_000), discovered(max_output_tokens=64_000))

    assert (32_000, None) == (merged.context_window, merged.max_output_tokens)


def test_the_user_record_wins_whole() -> None:
    """combined() keeps a user record as it is, whatever curated and discovered say."""
    user = ModelInfo(ref=REF, name="Mine", source=CatalogSource.USER)
    merged = ModelCatalog.combined(
        curated=ModelCatalog(records=[curated()]),
        discovered=ModelCatalog(records=[discovered()]),
        user=ModelCatalog(records=[user]),
    )

    assert (user,) == merged.records


def test_one_model_on_several_providers_stays_several_records() -> None:
    """Records of one model from different providers are kept apart, linked by model_key()."""
    native = ModelInfo(
        ref=ModelRef.parse("anthropic/claude-sonnet-4-5-20250929"), source="discovered"
    )
    merged = ModelCatalog.combined(
        curated=ModelCatalog(records=[curated()]), discovered=ModelCatalog(records=[native])
    )

    assert 2 == len(merged)
    assert {REF, native.ref} == {info.ref for info in merged.serving("claude-sonnet-4.5")}


def test_config_overrides_win_over_the_merged_record() -> None:
    """catalog_for() lays the config's entry over the merge; the user's price clears pricing_from."""
    config = load_config(
        {"agent": {"models": {str(REF): {"pricing": {"input": 1.0}, "alias": "S"}}}}
    )

    catalog = catalog_for(
        config,
        curated=ModelCatalog(records=[curated()]),
        discovered=ModelCatalog(records=[discovered()]),
    )
    info = catalog.info(REF)

    assert (Pricing(input=1.0), None, CatalogSource.CURATED) == (
        info.pricing,
        info.pricing_from,
        info.source,
    )


def test_curated_records_are_dated() -> None:
    """The shipped data has a date, so every curated record can be compared with a listing."""
    dates = {info.fetched_at for info in curated_catalog()}

    assert 1 == len(dates)
    assert None not in dates
    assert str(next(iter(curated_catalog())).provenance).startswith("curated (20")


infos = hs.builds(
    ModelInfo,
    ref=hs.sampled_from([REF, ModelRef.parse("a/b"), ModelRef.parse("c/d")]),
    tools=hs.none() | hs.booleans(),
    context_window=hs.none() | hs.sampled_from([8_000, 200_000]),
    max_output_tokens=hs.none() | hs.sampled_from([4_000, 8_000]),
    pricing=hs.none() | hs.builds(Pricing, input=hs.none() | hs.sampled_from([0.0, 1.0, 3.0])),
    status=hs.sampled_from(ModelStatus),
    fetched_at=hs.none() | hs.sampled_from([EARLIER, CURATED_AT, LATER]),
    input=hs.frozensets(hs.sampled_from(Modality), min_size=1),
)


@given(
    hs.lists(infos.map(lambda i: attrs.evolve(i, source="curated")), unique_by=lambda i: i.ref),
    hs.lists(infos.map(lambda i: attrs.evolve(i, source="discovered")), unique_by=lambda i: i.ref),
    hs.lists(infos, max_size=1, unique_by=lambda i: i.ref),
)
@settings(max_examples=150)
def test_merge_properties(
    cur: list[ModelInfo], disc: list[ModelInfo], user: list[ModelInfo]
) -> None:
    """Every ref is kept once; user records are untouched; a merged record keeps its curated facts."""
    merged = ModelCatalog.combined(
        curated=ModelCatalog(records=cur),
        discovered=ModelCatalog(records=disc),
        user=ModelCatalog(records=user),
    )
    refs = {i.ref for i in (*cur, *disc, *user)}
    user_refs = {i.ref for i in user}

    assert refs == {i.ref for i in merged}
    assert all(merged.get(i.ref) == i for i in user)
    for info in cur:
        if info.ref not in user_refs:
            result = merged.info(info.ref)
            assert (info.tools, info.input, info.source) == (
                result.tools if info.tools is not None else info.tools,
                result.input,
                result.source,
            )
