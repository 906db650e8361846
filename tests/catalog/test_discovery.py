"""
The listing parsers (OpenRouter, OpenAI-compatible, Anthropic), discovery sources and diffs.
"""

from __future__ import annotations

import copy
import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from modelcfg import ModelRef
from modelcfg._catalog._discovery import (
    CatalogDiff,
    DiscoverySource,
    SourceKind,
    diff_records,
    parse_anthropic_models,
    parse_listing,
    parse_openai_models,
)
from modelcfg._catalog._listing import per_million, rfc3339_seconds
from modelcfg._catalog._openrouter import info_from_openrouter, parse_openrouter_models
from modelcfg._catalog._records import CatalogSource, Modality, ModelInfo, ModelStatus, Pricing
from modelcfg._config._providers import BUILTIN_PROVIDERS
from modelcfg._config._schema import Config, ProviderConfig, WireFormat
from modelcfg.exceptions import DiscoveryError
from modelcfg.testing._listings import anthropic_models, openai_models, openrouter_models

FETCHED = 1_765_000_000.0


def entry(**fields: object) -> dict[str, object]:
    """An OpenRouter entry in the documented shape, with *fields* replaced (None removes)."""
    base: dict[str, object] = {
        "id": "anthropic/claude-sonnet-4.5",
        "canonical_slug": "anthropic/claude-4.5-sonnet-20250929",
        "name": "Anthropic: Claude Sonnet 4.5",
        "created": 1_759_161_676,
        "context_length": 1_000_000,
        "architecture": {
            "modality": "text+image->text",
            "input_modalities": ["text", "image", "file"],
            "output_modalities": ["text"],
            "tokenizer": "Claude",
            "instruct_type": None,
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
            "context_length": 1_000_000,
            "max_completion_tokens": 64_000,
            "is_moderated": True,
        },
        "per_request_limits": None,
        "supported_parameters": [
            "max_tokens",
            "temperature",
            "tools",
            "reasoning",
            "structured_outputs",
        ],
        "knowledge_cutoff": None,
        "expiration_date": None,
    }
    for key, value in fields.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


# ---------------------------------------------------------------- OpenRouter


def test_openrouter_entry_is_read_in_full() -> None:
    """Every documented field lands in the record: prices per million, limits, capabilities, dates."""
    info = info_from_openrouter(entry(), fetched_at=FETCHED)

    assert (
        ModelInfo(
            ref=ModelRef.parse("openrouter/anthropic/claude-sonnet-4.5"),
            name="Anthropic: Claude Sonnet 4.5",
            input=[Modality.TEXT, Modality.IMAGE, Modality.PDF],
            tools=True,
            streaming=True,
            structured_output=True,
            reasoning=True,
            temperature=True,
            context_window=1_000_000,
            max_output_tokens=64_000,
            pricing=Pricing(input=3, output=15, cache_read=0.3, cache_write=3.75),
            source=CatalogSource.DISCOVERED,
            origin="openrouter",
            fetched_at=FETCHED,
            created_at=1_759_161_676,
            canonical_id="anthropic/claude-4.5-sonnet-20250929",
            supported_parameters=[
                "max_tokens",
                "temperature",
                "tools",
                "reasoning",
                "structured_outputs",
            ],
        )
        == info
    )


@pytest.mark.parametrize(
    ("pricing", "expected"),
    [
        pytest.param({"prompt": "-1", "completion": "-1"}, None, id="dynamic-is-unknown"),
        pytest.param({"prompt": None, "completion": None}, None, id="null-is-unknown"),
        pytest.param(None, None, id="absent-is-unknown"),
        pytest.param({"prompt": "0", "completion": "0"}, Pricing(input=0, output=0), id="free"),
        pytest.param(
            {"prompt": "0.00000015", "completion": "-1"}, Pricing(input=0.15), id="one-known"
        ),
        pytest.param({"prompt": "1.5E-7", "completion": "abc"}, Pricing(input=0.15), id="exponent"),
        pytest.param({"prompt": "NaN", "completion": "Infinity"}, None, id="not-finite"),
        pytest.param({"prompt": True, "completion": []}, None, id="wrong-types"),
    ],
)
def test_openrouter_prices(pricing: dict[str, object] | None, expected: Pricing | None) -> None:
    """Prices become USD per million tokens; "-1", null, absent and garbage are unknown, never free."""
    fields: dict[str, object] = {"pricing": pricing} if pricing is not None else {"pricing": None}
    info = info_from_openrouter(entry(**fields))

    assert expected == info.pricing


@given(
    hs.decimals(
        min_value=Decimal(0),
        max_value=Decimal("0.01"),
        places=12,
        allow_nan=False,
        allow_infinity=False,
    )
)
@settings(max_examples=300)
def test_per_million_has_no_float_drift(per_token: Decimal) -> None:
    """The decimal text of a converted price is exactly the per-token price times a million."""
    price = per_million(format(per_token, "f"))

    assert price is not None
    assert (per_token * 1_000_000).normalize() == Decimal(repr(price)).normalize()


def test_per_million_of_common_prices_reads_as_written() -> None:
    """Prices that float arithmetic would blur come out as the numbers people write."""
    texts = ["0.000003", "0.0000003", "0.00000375", "0.00000015", "0.0000011", "0.0000025"]

    assert [3.0, 0.3, 3.75, 0.15, 1.1, 2.5] == [per_million(t) for t in texts]


def test_openrouter_free_variant() -> None:
    """A ':free' id keeps its variant, and its zero prices make it free."""
    info = info_from_openrouter(
        entry(
            id="meta-llama/llama-3.3-70b-instruct:free", pricing={"prompt": "0", "completion": "0"}
        )
    )

    assert ("free", True) == (info.variant, info.free)


def test_openrouter_expiration_date_deprecates() -> None:
    """An expiration date makes the model deprecated, retiring on that date."""
    info = info_from_openrouter(entry(expiration_date="2026-01-15"))
    retires = datetime.datetime(2026, 1, 15, tzinfo=datetime.UTC).timestamp()

    assert (ModelStatus.DEPRECATED, retires) == (info.status, info.retires_at)


def test_openrouter_image_output() -> None:
    """An image-generating chat model records its image output."""
    arch = {"input_modalities": ["text", "image"], "output_modalities": ["image", "text"]}
    info = info_from_openrouter(entry(architecture=arch))

    assert frozenset({Modality.TEXT, Modality.IMAGE}) == info.output


@pytest.mark.parametrize(
    ("fields", "check"),
    [
        pytest.param(
            {"architecture": None}, lambda i: i.input == {Modality.TEXT}, id="no-architecture"
        ),
        pytest.param(
            {"top_provider": None},
            lambda i: i.max_output_tokens is None and i.context_window == 1_000_000,
            id="no-top-provider",
        ),
        pytest.param(
            {"supported_parameters": None},
            lambda i: (i.tools, i.temperature, i.reasoning) == (None, None, None),
            id="no-parameters",
        ),
        pytest.param(
            {"name": None}, lambda i: i.name == "anthropic/claude-sonnet-4.5", id="no-name"
        ),
        pytest.param(
            {"context_length": 2_000_000, "top_provider": {"max_completion_tokens": 30_000}},
            lambda i: (i.context_window, i.max_output_tokens) == (2_000_000, 30_000),
            id="two-million-context",
        ),
        pytest.param(
            {"context_length": 8_000, "top_provider": {"max_completion_tokens": 64_000}},
            lambda i: (i.context_window, i.max_output_tokens) == (8_000, None),
            id="output-above-context-dropped",
        ),
        pytest.param(
            {"knowledge_cutoff": "2025-03-31"},
            lambda i: i.knowledge_cutoff == "2025-03-31",
            id="knowledge-cutoff",
        ),
        pytest.param(
            {"created": "yesterday", "canonical_slug": 5},
            lambda i: (i.created_at, i.canonical_id) == (None, None),
            id="garbage-dates",
        ),
    ],
)
def test_openrouter_missing_fields_stay_unknown(fields: dict[str, object], check: object) -> None:
    """A missing or malformed field leaves only that value unknown."""
    info = info_from_openrouter(entry(**fields))

    assert callable(check)
    assert check(info)


def test_openrouter_listing_skips_bad_entries_with_reasons() -> None:
    """Malformed, embedding and repeated entries are skipped with a reason; the rest are kept."""
    embedding = entry(
        id="openai/text-embedding-3-small",
        architecture={"input_modalities": ["text"], "output_modalities": ["embeddings"]},
    )
    data = [entry(), "nonsense", entry(id=None), entry(id=42), embedding, entry(), entry(id="x/y")]

    listing = parse_openrouter_models({"data": data}, fetched_at=FETCHED)

    assert ["openrouter/anthropic/claude-sonnet-4.5", "openrouter/x/y"] == [
        str(i.ref) for i in listing.records
    ]
    assert [
        "$.data[1]: skipped: not an object",
        "$.data[2]: skipped: an OpenRouter model record needs a text 'id', got None",
        "$.data[3]: skipped: an OpenRouter model record needs a text 'id', got 42",
        "$.data[4]: skipped: 'openai/text-embedding-3-small' outputs embeddings, not text: "
        "it is not a chat model",
        "$.data[5]: skipped: 'anthropic/claude-sonnet-4.5' is listed twice; kept the first",
    ] == list(listing.skipped)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param([entry()], "expected a JSON object with a 'data' list, got a list", id="list"),
        pytest.param({"error": "nope"}, "$.data should be a list, got null", id="error-object"),
        pytest.param(
            {"data": {"id": "x"}}, "$.data should be a list, got an object", id="data-object"
        ),
        pytest.param("<html>", "got a string", id="text"),
    ],
)
def test_a_response_that_is_not_a_list_is_a_clear_error(payload: object, message: str) -> None:
    """A response that is not a models list raises DiscoveryError naming the source and the problem."""
    with pytest.raises(DiscoveryError, match="openrouter is not a models list") as raised:
        parse_openrouter_models(payload)

    assert message in str(raised.value)
    assert "openrouter" == raised.value.source


json_values = hs.recursive(
    hs.none() | hs.booleans() | hs.integers() | hs.floats() | hs.text(max_size=8),
    lambda inner: (
        hs.lists(inner, max_size=3) | hs.dictionaries(hs.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(hs.dictionaries(hs.sampled_from(list(entry())), json_values, max_size=8))
@settings(max_examples=200)
def test_openrouter_never_crashes_on_garbage(fields: dict[str, object]) -> None:
    """Whatever the fields hold, an entry is kept or skipped with a reason; nothing else happens."""
    listing = parse_openrouter_models({"data": [entry(**fields)]})

    assert 1 == len(listing.records) + len(listing.skipped)


def test_the_fake_openrouter_list_is_realistic() -> None:
    """The fake list has over 150 models, every odd case, and loses only its embedding models."""
    listing = parse_openrouter_models({"data": openrouter_models()})
    records = listing.records

    assert len(records) >= 150
    assert 3 == len(listing.skipped)
    assert all("embeddings, not text" in line for line in listing.skipped)
    assert any(r.context_window == 2_000_000 for r in records)
    assert any(r.free and r.variant == "free" for r in records)
    assert any(Modality.IMAGE in r.output for r in records)
    assert any(r.status is ModelStatus.DEPRECATED and r.retires_at for r in records)
    assert any(r.pricing is None for r in records)
    assert any(r.name == r.ref.model for r in records)


# ---------------------------------------------------------------- OpenAI-compatible


def test_openai_listing_gives_ids_with_unknown_capabilities() -> None:
    """An OpenAI-compatible list gives ids and creation times; every capability stays unknown."""
    listing = parse_openai_models(
        {"object": "list", "data": openai_models()}, provider="openai", fetched_at=FETCHED
    )
    first = listing.records[0]

    assert 15 == len(listing.records)
    assert (
        ModelInfo(
            ref=ModelRef.parse("openai/gpt-5"),
            source=CatalogSource.DISCOVERED,
            origin="openai",
            fetched_at=FETCHED,
            created_at=1754425777,
        )
        == first
    )
    assert (None, None, None) == (first.tools, first.pricing, first.context_window)


def test_vllm_max_model_len_is_the_context_window() -> None:
    """vLLM's max_model_len is read as the context window of a local model."""
    payload = {"data": [{"id": "Qwen/Qwen3-8B", "object": "model", "max_model_len": 32_768}]}

    listing = parse_openai_models(payload, provider="local")

    assert [(ModelRef.parse("local/Qwen/Qwen3-8B"), 32_768)] == [
        (r.ref, r.context_window) for r in listing.records
    ]


def test_openai_listing_skips_malformed_entries() -> None:
    """Entries without a usable id are skipped with a reason."""
    payload = {"data": [{"id": "ok"}, {"object": "model"}, 7, {"id": "  "}, {"id": "ok"}]}

    listing = parse_openai_models(payload, provider="ollama")

    assert ["ollama/ok"] == [str(r.ref) for r in listing.records]
    assert [
        "$.data[1]: skipped: a model needs a text 'id', got None",
        "$.data[2]: skipped: not an object",
        "$.data[3]: skipped: a model needs a text 'id', got '  '",
        "$.data[4]: skipped: 'ok' is listed twice; kept the first",
    ] == list(listing.skipped)


# ---------------------------------------------------------------- Anthropic


def test_anthropic_page_reads_limits_capabilities_and_cursor() -> None:
    """A page gives names, release dates, limits, capabilities and the cursor of the next page."""
    page = {"data": anthropic_models()[:2], "has_more": True, "first_id": "a", "last_id": "b-id"}

    listing = parse_anthropic_models(page, fetched_at=FETCHED)
    opus = listing.records[0]

    assert (True, "b-id") == (listing.has_more, listing.last_id)
    assert (
        ModelInfo(
            ref=ModelRef.parse("anthropic/claude-opus-4-5-20251101"),
            name="Claude Opus 4.5",
            input=[Modality.TEXT, Modality.IMAGE, Modality.PDF],
            streaming=True,
            structured_output=True,
            reasoning=True,
            context_window=200_000,
            max_output_tokens=64_000,
            source=CatalogSource.DISCOVERED,
            origin="anthropic",
            fetched_at=FETCHED,
            created_at=rfc3339_seconds("2025-11-24T00:00:00Z"),
        )
        == opus
    )


def test_anthropic_entries_without_capabilities_stay_unknown() -> None:
    """An entry with only the always-sent fields is text-only with unknown limits."""
    listing = parse_anthropic_models({"data": anthropic_models()[-1:], "has_more": False})
    info = listing.records[0]

    assert (False, None) == (listing.has_more, listing.last_id)
    assert ({Modality.TEXT}, None, None) == (info.input, info.context_window, info.reasoning)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("2025-02-24T00:00:00Z", 1740355200.0, id="zulu"),
        pytest.param("2025-02-24T01:00:00+01:00", 1740355200.0, id="offset"),
        pytest.param("1970-01-01T00:00:00Z", None, id="epoch-means-unknown"),
        pytest.param("soon", None, id="garbage"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_anthropic_release_dates(raw: object, expected: float | None) -> None:
    """created_at is RFC 3339; the epoch, which Anthropic sends when unknown, reads as unknown."""

    assert expected == rfc3339_seconds(raw)


def test_anthropic_skips_other_types_and_bad_limits() -> None:
    """An entry of another type is skipped; an output limit above the window is dropped."""
    data = [
        {"id": "c", "type": "batch", "display_name": "C"},
        {"id": "d", "type": "model", "max_input_tokens": 1000, "max_tokens": 5000},
    ]

    listing = parse_anthropic_models({"data": data, "has_more": False})

    assert ["$.data[0]: skipped: its type is 'batch', not 'model'"] == list(listing.skipped)
    assert (1000, None) == (listing.records[0].context_window, listing.records[0].max_output_tokens)


# ---------------------------------------------------------------- sources


@pytest.mark.parametrize(
    ("kind", "base", "url"),
    [
        pytest.param(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "https://openrouter.ai/api/v1/models",
            id="or",
        ),
        pytest.param(
            "openai", "http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1/models", id="oai"
        ),
        pytest.param(
            "anthropic",
            "https://api.anthropic.com",
            "https://api.anthropic.com/v1/models",
            id="bare",
        ),
        pytest.param(
            "anthropic",
            "https://api.anthropic.com/v1",
            "https://api.anthropic.com/v1/models",
            id="v1",
        ),
    ],
)
def test_source_urls(kind: str, base: str, url: str) -> None:
    """A listing lives at BASE/models; a bare Anthropic root gets its /v1."""

    assert url == DiscoverySource(name="x", kind=kind, base_url=base).url  # type: ignore[arg-type]


def test_sources_follow_the_provider_table() -> None:
    """Built-in providers map to their listing kind; only OpenRouter's needs no key; custom has none."""
    config = Config()
    sources = {
        name: DiscoverySource.for_provider(name, config.provider(name))  # type: ignore[arg-type]
        for name in BUILTIN_PROVIDERS
    }
    custom = DiscoverySource.for_provider("mine", ProviderConfig(api=WireFormat.CUSTOM))

    assert SourceKind.ANTHROPIC is sources["anthropic"].kind  # type: ignore[union-attr]
    assert {"openrouter"} == {n for n, s in sources.items() if s and not s.needs_key}
    assert custom is None


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        pytest.param({"name": "Open Router"}, "provider id", id="name"),
        pytest.param({"base_url": "ftp://x"}, "base_url", id="scheme"),
        pytest.param({"kind": "grpc"}, "grpc", id="kind"),
    ],
)
def test_source_refuses_nonsense(fields: dict[str, object], match: str) -> None:
    """A source with a bad name, URL or kind is refused when built."""
    base = {"name": "x", "kind": "openai", "base_url": "http://127.0.0.1:1/v1", **fields}
    with pytest.raises(ValueError, match=match):
        DiscoverySource(**base)  # type: ignore[arg-type]


def test_parse_listing_dispatches_by_kind() -> None:
    """parse_listing() reads each kind's shape and files records under the source's name."""
    payload = {"data": [entry()]}
    source = DiscoverySource(
        name="or2", kind=SourceKind.OPENROUTER, base_url="http://127.0.0.1:1/v1"
    )

    assert ["or2/anthropic/claude-sonnet-4.5"] == [
        str(r.ref) for r in parse_listing(source, payload).records
    ]


# ---------------------------------------------------------------- diffs


def test_diff_counts_added_changed_removed_unchanged() -> None:
    """A diff compares records by ref, ignoring when they were fetched."""
    old = parse_openrouter_models({"data": openrouter_models()}, fetched_at=1.0).records
    data = copy.deepcopy(openrouter_models())
    data[0]["pricing"] = {"prompt": "0.000009", "completion": "0.00001"}
    removed = data.pop(1)
    data.append(entry(id="new/model"))
    new = parse_openrouter_models({"data": data}, fetched_at=2.0).records

    diff = diff_records(old, new)

    assert (
        [ModelRef.parse("openrouter/new/model")],
        [ModelRef(provider="openrouter", model=str(data[0]["id"]))],
        [ModelRef(provider="openrouter", model=str(removed["id"]))],
        len(old) - 2,
    ) == (list(diff.added), list(diff.changed), list(diff.removed), diff.unchanged)
    assert "1 added, 1 changed, 1 removed" in diff.summary()


def test_diffs_add_up() -> None:
    """Two diffs added together hold both."""
    a = CatalogDiff(added=(ModelRef.parse("a/x"),), unchanged=2)
    b = CatalogDiff(removed=(ModelRef.parse("b/y"),), unchanged=3)

    assert CatalogDiff(added=a.added, removed=b.removed, unchanged=5) == a + b
