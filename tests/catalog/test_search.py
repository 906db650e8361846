"""
Searching the catalog: match kinds and their ranking, filters, sorts, and the index.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from modelcfg import ModelRef
from modelcfg._catalog._catalog import ModelCatalog
from modelcfg._catalog._records import CatalogSource, Modality, ModelInfo, ModelStatus, Pricing
from modelcfg._catalog._search import (
    CatalogFilter,
    MatchField,
    MatchKind,
    SearchIndex,
    SortOrder,
    _one_edit,
    words_of,
)


def ref(text: str) -> ModelRef:
    return ModelRef.parse(text)


def info(text: str, **fields: object) -> ModelInfo:
    return ModelInfo(ref=ref(text), **fields)  # type: ignore[arg-type]


SEARCHED = ModelCatalog(
    records=[
        info(
            "anthropic/claude-opus-4-5",
            name="Claude Opus 4.5",
            input=["text", "image", "pdf"],
            tools=True,
            structured_output=True,
            reasoning=True,
            context_window=200_000,
            pricing=Pricing(input=5, output=25),
            created_at=1_763_000_000,
        ),
        info(
            "anthropic/claude-sonnet-4-5",
            name="Claude Sonnet 4.5",
            input=["text", "image", "pdf"],
            tools=True,
            reasoning=True,
            context_window=200_000,
            pricing=Pricing(input=3, output=15),
            created_at=1_759_000_000,
        ),
        info(
            "openai/gpt-5",
            name="GPT-5",
            input=["text", "image"],
            tools=True,
            structured_output=True,
            reasoning=True,
            context_window=400_000,
            pricing=Pricing(input=1.25, output=10),
            created_at=1_754_000_000,
        ),
        info(
            "openai/gpt-5-mini",
            name="GPT-5 mini",
            input=["text", "image"],
            tools=True,
            structured_output=True,
            reasoning=True,
            context_window=400_000,
            pricing=Pricing(input=0.25, output=2),
        ),
        info(
            "openai/gpt-4o",
            name="GPT-4o",
            input=["text", "image"],
            tools=True,
            reasoning=False,
            context_window=128_000,
            pricing=Pricing(input=2.5, output=10),
        ),
        info(
            "openrouter/meta-llama/llama-3.3-70b-instruct",
            name="Meta: Llama 3.3 70B Instruct",
            tools=True,
            context_window=131_072,
            source=CatalogSource.DISCOVERED,
        ),
        info(
            "openrouter/meta-llama/llama-3.3-70b-instruct:free",
            name="Meta: Llama 3.3 70B Instruct (free)",
            tools=True,
            context_window=131_072,
            pricing=Pricing(input=0, output=0),
            source=CatalogSource.DISCOVERED,
        ),
        info(
            "openrouter/x-ai/grok-4-fast",
            name="xAI: Grok 4 Fast",
            context_window=2_000_000,
            pricing=Pricing(input=0.2, output=0.5),
            status=ModelStatus.DEPRECATED,
            source=CatalogSource.DISCOVERED,
        ),
        info("ollama/qwen3:8b", name="Qwen3 8B (local)"),
        info("openai/gpt-3.5-turbo", name="GPT-3.5 Turbo", status=ModelStatus.RETIRED),
    ]
)
ALIASES = {ref("anthropic/claude-opus-4-5"): "Opus", ref("openai/gpt-5-mini"): "mini"}


@pytest.mark.parametrize(
    ("query", "first", "kind", "field"),
    [
        pytest.param("gpt-5", "openai/gpt-5", MatchKind.EXACT, MatchField.ID, id="exact-id"),
        pytest.param("GPT 5", "openai/gpt-5", MatchKind.EXACT, MatchField.ID, id="exact-spaced"),
        pytest.param("gpt5", "openai/gpt-5", MatchKind.EXACT, MatchField.ID, id="exact-compact"),
        pytest.param(
            "opus", "anthropic/claude-opus-4-5", MatchKind.EXACT, MatchField.ALIAS, id="alias"
        ),
        pytest.param(
            "op", "anthropic/claude-opus-4-5", MatchKind.PREFIX, MatchField.ALIAS, id="alias-prefix"
        ),
        pytest.param("gpt-4", "openai/gpt-4o", MatchKind.PREFIX, MatchField.ID, id="prefix"),
        pytest.param(
            "anthropic/claude-opus",
            "anthropic/claude-opus-4-5",
            MatchKind.PREFIX,
            MatchField.REF,
            id="ref-prefix",
        ),
        pytest.param(
            "sonnet 4.5",
            "anthropic/claude-sonnet-4-5",
            MatchKind.TOKEN,
            MatchField.ID,
            id="token",
        ),
        pytest.param(
            "sonnet45", "anthropic/claude-sonnet-4-5", MatchKind.TOKEN, MatchField.ID, id="glued"
        ),
        pytest.param(
            "instruct llama",
            "openrouter/meta-llama/llama-3.3-70b-instruct",
            MatchKind.TOKEN,
            MatchField.ID,
            id="words-any-order",
        ),
        pytest.param(
            "claude sonet", "anthropic/claude-sonnet-4-5", MatchKind.TYPO, MatchField.ID, id="typo"
        ),
        pytest.param(
            "cluade opus", "anthropic/claude-opus-4-5", MatchKind.TYPO, MatchField.ID, id="swap"
        ),
        pytest.param("local", "ollama/qwen3:8b", MatchKind.TOKEN, MatchField.NAME, id="name"),
    ],
)
def test_search_ranks_best_match_first(
    query: str, first: str, kind: MatchKind, field: MatchField
) -> None:
    """The best hit comes first, with the kind and field of its match."""
    hits = SEARCHED.search(query, aliases=ALIASES)

    assert (first, kind, field) == (str(hits[0].info.ref), hits[0].kind, hits[0].field)


def test_search_orders_kinds() -> None:
    """Exact beats prefix beats token: 'gpt-5' lists gpt-5, then gpt-5-mini."""
    hits = SEARCHED.search("gpt-5")
    expected = [("openai/gpt-5", MatchKind.EXACT), ("openai/gpt-5-mini", MatchKind.PREFIX)]

    assert expected == [(str(h.info.ref), h.kind) for h in hits[:2]]


def test_a_word_found_as_typed_matches_by_token() -> None:
    """'instruct' matches both instruct models by token, and no record by typo."""
    hits = SEARCHED.search("instruct")

    assert {MatchKind.TOKEN} == {h.kind for h in hits}
    assert 2 == len(hits)


def test_typos_are_tried_only_for_words_that_match_nothing() -> None:
    """A word found as typed is never also read as a typo of another word."""
    hits = SEARCHED.search("mini")

    assert ["openai/gpt-5-mini"] == [str(h.info.ref) for h in hits]


def test_search_gives_no_hit_for_nonsense() -> None:
    """A query close to nothing finds nothing."""
    expected: tuple[object, ...] = ()

    assert expected == SEARCHED.search("zzzz-qqqq")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        pytest.param("op", "alias 'Opus' starts with the query", id="prefix"),
        pytest.param("gpt-5", "id 'gpt-5' equals the query", id="exact"),
        pytest.param(
            "sonnet 4.5",
            "each word of the query starts a word of id 'claude-sonnet-4-5'",
            id="token",
        ),
        pytest.param(
            "claude sonet",
            "id 'claude-sonnet-4-5' matches, reading 'sonet' for 'sonnet'",
            id="typo",
        ),
    ],
)
def test_search_explains_matches(query: str, reason: str) -> None:
    """Each hit says why it matched, in words."""
    hit = SEARCHED.search(query, aliases=ALIASES)[0]

    assert reason == hit.reason


def test_search_empty_query_lists_everything_that_passes() -> None:
    """An empty query lists every record that passes the filters, retired ones aside, in order."""
    hits = SEARCHED.search("")

    assert [str(i.ref) for i in SEARCHED.records[:-1]] == [str(h.info.ref) for h in hits]
    assert {MatchKind.ANY} == {h.kind for h in hits}


def test_search_limit() -> None:
    """limit caps the number of hits."""
    expected = [info.ref for info in SEARCHED.records[:2]]

    assert expected == [hit.info.ref for hit in SEARCHED.search("", limit=2)]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param(
            SortOrder.PRICE,
            ["openai/gpt-5-mini", "openai/gpt-5", "anthropic/claude-sonnet-4-5"],
            id="price",
        ),
        pytest.param(
            SortOrder.CONTEXT,
            ["openai/gpt-5", "openai/gpt-5-mini", "anthropic/claude-sonnet-4-5"],
            id="context",
        ),
        pytest.param(
            SortOrder.NEWEST,
            ["anthropic/claude-sonnet-4-5", "openai/gpt-5", "openai/gpt-5-mini"],
            id="newest-unknown-last",
        ),
        pytest.param(
            SortOrder.RELEVANCE,
            ["anthropic/claude-sonnet-4-5", "openai/gpt-5", "openai/gpt-5-mini"],
            id="relevance",
        ),
    ],
)
def test_search_sorts(sort: SortOrder, expected: list[str]) -> None:
    """Results sort by price (cheapest first), context (largest first) or newest, unknowns last."""
    filters = CatalogFilter(input=frozenset({Modality.IMAGE}), max_input_price=3, reasoning=True)

    assert expected == [str(h.info.ref) for h in SEARCHED.search(filters=filters, sort=sort)]


def test_sorting_keeps_relevance_between_equals() -> None:
    """Two models with the same price keep their relevance order."""
    catalog = ModelCatalog(
        records=[
            info("a/foo-bar", pricing=Pricing(input=1)),
            info("a/foo", pricing=Pricing(input=1)),
            info("a/zzz", pricing=Pricing(input=0.5), name="foo cheap"),
        ]
    )

    hits = catalog.search("foo", sort=SortOrder.PRICE)

    assert ["a/zzz", "a/foo", "a/foo-bar"] == [str(h.info.ref) for h in hits]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param(
            CatalogFilter(input=frozenset({Modality.PDF})),
            ["anthropic/claude-opus-4-5", "anthropic/claude-sonnet-4-5"],
            id="pdf-input",
        ),
        pytest.param(
            CatalogFilter(structured_output=True),
            ["anthropic/claude-opus-4-5", "openai/gpt-5", "openai/gpt-5-mini"],
            id="structured-output",
        ),
        pytest.param(CatalogFilter(reasoning=False), ["openai/gpt-4o"], id="not-reasoning"),
        pytest.param(
            CatalogFilter(max_input_price=1.5),
            [
                "openai/gpt-5",
                "openai/gpt-5-mini",
                "openrouter/meta-llama/llama-3.3-70b-instruct:free",
                "openrouter/x-ai/grok-4-fast",
            ],
            id="cheap-input",
        ),
        pytest.param(
            CatalogFilter(max_output_price=10, min_context=300_000),
            ["openai/gpt-5", "openai/gpt-5-mini", "openrouter/x-ai/grok-4-fast"],
            id="price-and-context",
        ),
        pytest.param(
            CatalogFilter(min_context=1_000_000, allow_unknown=True),
            ["openrouter/x-ai/grok-4-fast", "ollama/qwen3:8b"],
            id="unknown-allowed",
        ),
        pytest.param(
            CatalogFilter(free=True),
            ["openrouter/meta-llama/llama-3.3-70b-instruct:free"],
            id="free-only",
        ),
        pytest.param(
            CatalogFilter(free=True, allow_unknown=True),
            ["openrouter/meta-llama/llama-3.3-70b-instruct:free"],
            id="unknown-price-never-free",
        ),
        pytest.param(
            CatalogFilter(status=frozenset({ModelStatus.DEPRECATED, ModelStatus.RETIRED})),
            ["openrouter/x-ai/grok-4-fast", "openai/gpt-3.5-turbo"],
            id="status",
        ),
        pytest.param(
            CatalogFilter(source=CatalogSource.DISCOVERED, tools=True),
            [
                "openrouter/meta-llama/llama-3.3-70b-instruct",
                "openrouter/meta-llama/llama-3.3-70b-instruct:free",
            ],
            id="source-and-tools",
        ),
        pytest.param(
            CatalogFilter(provider="OpenAI"),
            ["openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-4o"],
            id="provider",
        ),
        pytest.param(
            CatalogFilter(provider="openai", include_retired=True),
            ["openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-4o", "openai/gpt-3.5-turbo"],
            id="retired-included",
        ),
    ],
)
def test_search_filters(filters: CatalogFilter, expected: list[str]) -> None:
    """Filters keep only the models that are known to offer what is asked."""

    assert expected == [str(h.info.ref) for h in SEARCHED.search(filters=filters)]


@pytest.mark.parametrize(
    ("filters", "model", "reason"),
    [
        pytest.param(CatalogFilter(), "openai/gpt-3.5-turbo", "the model is retired", id="retired"),
        pytest.param(
            CatalogFilter(status="active"),
            "openrouter/x-ai/grok-4-fast",
            "it is deprecated, not active",
            id="status",
        ),
        pytest.param(
            CatalogFilter(input=frozenset({Modality.PDF, Modality.AUDIO})),
            "openai/gpt-5",
            "it does not accept audio, pdf input",
            id="modality",
        ),
        pytest.param(
            CatalogFilter(tools=True),
            "ollama/qwen3:8b",
            "whether it supports tools is unknown",
            id="unknown",
        ),
        pytest.param(
            CatalogFilter(reasoning=True), "openai/gpt-4o", "it lacks reasoning", id="lacks"
        ),
        pytest.param(CatalogFilter(free=True), "openai/gpt-5", "it is not free", id="not-free"),
        pytest.param(
            CatalogFilter(free=True),
            "ollama/qwen3:8b",
            "its prices are unknown, so it is not free",
            id="unknown-not-free",
        ),
        pytest.param(
            CatalogFilter(max_output_price=5),
            "openai/gpt-5",
            "its output price $10/M is above $5/M",
            id="price",
        ),
        pytest.param(
            CatalogFilter(min_context=200_001),
            "anthropic/claude-opus-4-5",
            "its context window (200000 tokens) is below 200001",
            id="context",
        ),
    ],
)
def test_filter_says_why_it_rejects(filters: CatalogFilter, model: str, reason: str) -> None:
    """CatalogFilter.rejects() names the first requirement a record fails."""

    assert reason == filters.rejects(SEARCHED.info(model))


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        pytest.param({"max_input_price": -1}, "max_input_price", id="negative-price"),
        pytest.param({"max_output_price": float("nan")}, "max_output_price", id="nan-price"),
        pytest.param({"min_context": -5}, "min_context", id="negative-context"),
        pytest.param({"status": ["gone"]}, "unknown status", id="unknown-status"),
        pytest.param({"status": []}, "at least one", id="no-status"),
        pytest.param({"provider": " "}, "provider", id="blank-provider"),
    ],
)
def test_filter_refuses_nonsense(fields: dict[str, object], match: str) -> None:
    """A filter that cannot mean anything is refused when built, naming the field."""
    with pytest.raises(ValueError, match=match):
        CatalogFilter(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "word", "expected"),
    [
        pytest.param("sonet", "sonnet", True, id="dropped"),
        pytest.param("sonnnet", "sonnet", True, id="added"),
        pytest.param("sonmet", "sonnet", True, id="changed"),
        pytest.param("snonet", "sonnet", True, id="swapped"),
        pytest.param("gtp", "gpt", True, id="short-swap"),
        pytest.param("gpu", "gpt", False, id="short-change"),
        pytest.param("gp", "gpt", False, id="short-drop"),
        pytest.param("sonnet", "sonnet", False, id="same"),
        pytest.param("snoent", "sonnet", False, id="two-edits"),
        pytest.param("son", "sonnet", False, id="far"),
    ],
)
def test_one_edit(typed: str, word: str, *, expected: bool) -> None:
    """A typo is one letter added, dropped, changed, or two neighbours swapped."""

    assert expected == _one_edit(typed, word)


# ---------------------------------------------------------------- properties

_WORDS = ["claude", "sonnet", "gpt", "4o", "mini", "llama", "70b", "Opus", "4.5", "(free)", "x"]
names = hs.lists(hs.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
refs = hs.builds(
    lambda provider, words, sep: ModelRef(provider=provider, model=sep.join(words)),
    hs.sampled_from(["anthropic", "openai", "openrouter", "x"]),
    hs.lists(hs.sampled_from([w for w in _WORDS if w[0].isalnum()]), min_size=1, max_size=3),
    hs.sampled_from(["-", "/", ":", "."]),
)
prices = hs.none() | hs.sampled_from([0.0, 0.5, 1.0, 3.0, 15.0])
records = hs.builds(
    ModelInfo,
    ref=refs,
    name=names,
    input=hs.frozensets(hs.sampled_from(Modality), min_size=1),
    tools=hs.none() | hs.booleans(),
    reasoning=hs.none() | hs.booleans(),
    context_window=hs.none() | hs.sampled_from([8_000, 128_000, 1_000_000]),
    pricing=hs.none() | hs.builds(Pricing, input=prices, output=prices),
    status=hs.sampled_from(ModelStatus),
    source=hs.sampled_from(CatalogSource),
    created_at=hs.none() | hs.floats(min_value=0, max_value=2e9),
)
catalogs = hs.lists(records, max_size=8, unique_by=lambda i: i.ref).map(
    lambda infos: ModelCatalog(records=infos)
)
filters = hs.builds(
    CatalogFilter,
    input=hs.frozensets(hs.sampled_from(Modality), max_size=2),
    tools=hs.none() | hs.booleans(),
    reasoning=hs.none() | hs.booleans(),
    max_input_price=hs.none() | hs.floats(min_value=0, max_value=20),
    max_output_price=hs.none() | hs.floats(min_value=0, max_value=20),
    min_context=hs.none() | hs.integers(min_value=0, max_value=2_000_000),
    provider=hs.none() | hs.sampled_from(["anthropic", "openai", "x"]),
    source=hs.none() | hs.sampled_from(CatalogSource),
    free=hs.booleans(),
    status=hs.none() | hs.frozensets(hs.sampled_from(ModelStatus), min_size=1),
    include_retired=hs.booleans(),
    allow_unknown=hs.booleans(),
)


@given(catalogs, filters)
@settings(max_examples=150)
def test_column_selection_agrees_with_the_filter(
    catalog: ModelCatalog, chosen: CatalogFilter
) -> None:
    """The fast column-by-column selection keeps exactly the records accepts() passes."""
    index = SearchIndex.of(catalog.records)
    expected = [i for i, record in enumerate(catalog.records) if chosen.accepts(record)]

    assert expected == chosen.select(index, range(len(catalog.records)))


@given(catalogs, names | hs.text(max_size=10), filters, hs.sampled_from(SortOrder))
@settings(max_examples=100)
def test_search_properties(
    catalog: ModelCatalog, query: str, chosen: CatalogFilter, sort: SortOrder
) -> None:
    """Hits pass the filters, name each record at most once and come in order."""
    hits = catalog.search(query, filters=chosen, sort=sort)
    refs = [h.info.ref for h in hits]

    assert all(chosen.accepts(h.info) for h in hits)
    assert len(set(refs)) == len(refs)
    if words_of(query) and sort is SortOrder.RELEVANCE:
        assert sorted(hits, key=lambda h: h.sort_key()) == list(hits)


@given(catalogs, hs.sampled_from(["id", "name", "ref"]), hs.data())
@settings(max_examples=100)
def test_every_record_finds_itself(catalog: ModelCatalog, what: str, data: hs.DataObject) -> None:
    """Searching for a record's own id, name or ref finds it, by an exact match."""
    if not catalog.records:
        return
    record = data.draw(hs.sampled_from(catalog.records))
    text = {"id": record.ref.model, "name": record.name, "ref": str(record.ref)}[what]
    if not words_of(text):
        return

    hits = catalog.search(text, filters=CatalogFilter(status=frozenset(ModelStatus)))

    assert record in [h.info for h in hits if h.kind is MatchKind.EXACT]
