"""
The catalog's parameter facts: OpenRouter's supported_parameters and default_parameters.
"""

from __future__ import annotations

import httpx
import pytest

from modelcfg import ChatRequest, Executor, Message, ModelRef, StaticCredentials, load_config
from modelcfg._catalog._catalog import ModelCatalog, merge_records
from modelcfg._catalog._json import catalog_from_json, catalog_to_json
from modelcfg._catalog._openrouter import info_from_openrouter
from modelcfg._catalog._records import CatalogSource, ModelInfo
from modelcfg._config._param_plan import ParamResolver
from modelcfg.testing import ScriptedTransport

REF = ModelRef.parse("openrouter/vendor/model")
LISTED = {
    "id": "vendor/model",
    "name": "Vendor: Model",
    "context_length": 32_000,
    "supported_parameters": ["max_tokens", "temperature", "top_p", "tools"],
    "default_parameters": {"temperature": 0.6, "top_p": None, "frequency_penalty": None},
}


def test_openrouter_lists_supported_and_default_parameters() -> None:
    """A listing's supported_parameters are kept whole, and its defaults without their nulls."""
    info = info_from_openrouter(LISTED)

    assert frozenset({"max_tokens", "temperature", "top_p", "tools"}) == info.supported_parameters
    assert {"temperature": 0.6} == dict(info.default_parameters)


def test_the_facts_survive_the_catalog_json_round_trip() -> None:
    """A record's parameter facts are written to the catalog's JSON and read back equal."""
    catalog = ModelCatalog.from_records([info_from_openrouter(LISTED)])

    assert catalog.records == catalog_from_json(catalog_to_json(catalog)).records


def test_a_curated_record_takes_the_facts_it_lacks_from_a_discovered_one() -> None:
    """Merging fills unknown supported and default parameters from the discovered record."""
    curated = ModelInfo(ref=REF, source=CatalogSource.CURATED)
    merged = merge_records(curated, info_from_openrouter(LISTED))

    assert (frozenset({"max_tokens", "temperature", "top_p", "tools"}), {"temperature": 0.6}) == (
        merged.supported_parameters,
        dict(merged.default_parameters),
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"supported_parameters": "temperature"}, "supported_parameters"),
        ({"supported_parameters": [""]}, "supported_parameters"),
        ({"default_parameters": {"temperature": [1]}}, "default_parameters"),
        ({"default_parameters": {"temperature": float("nan")}}, "default_parameters"),
    ],
)
def test_malformed_facts_are_refused(fields: dict[str, object], message: str) -> None:
    """A record refuses a parameter list that is not names, and defaults that are not plain values."""
    with pytest.raises(ValueError, match=message):
        ModelInfo(ref=REF, **fields)  # type: ignore[arg-type]


def test_the_catalog_defaults_are_a_layer_and_the_list_a_check() -> None:
    """The catalog's defaults are the model's lowest own layer; a field outside its list is dropped."""
    config = load_config({"agent": {"model": {"primary": "openrouter/vendor/model"}}})
    params = ParamResolver(config, ModelCatalog.from_records([info_from_openrouter(LISTED)]))
    plan = params.plan(REF, request={"seed": 4, "user": "u-1"})

    assert ["temperature=0.6 from catalog openrouter/vendor/model", "seed=4 from request"] == [
        plan.resolved.explain(name) for name in ("temperature", "seed")
    ]
    assert {"temperature": 0.6, "user": "u-1"} == dict(plan.wire)
    assert ["seed"] == [p.name for p in plan.dropped]


@pytest.mark.anyio
async def test_the_catalog_layer_reaches_the_wire() -> None:
    """With a discovered record, OpenRouter receives the catalog's default and not the unlisted seed."""
    transport = ScriptedTransport(
        [
            httpx.Response(
                200,
                json={
                    "id": "gen-1",
                    "model": "vendor/model",
                    "choices": [{"message": {"role": "assistant", "content": "hi"}}],
                },
            )
        ]
    )
    config = load_config({"agent": {"model": {"primary": "openrouter/vendor/model"}}})
    catalog = ModelCatalog.from_records([info_from_openrouter(LISTED)])
    request = ChatRequest(messages=[Message(role="user", content="Hi")], params={"seed": 4})
    async with httpx.AsyncClient(transport=transport) as client:
        executor = Executor.from_config(
            config,
            client=client,
            catalog=catalog,
            credentials=StaticCredentials({"openrouter:default": "sk-or-test"}),
        )
        await executor.complete(request)

    assert b'"temperature":0.6' in transport.requests[0].content.replace(b" ", b"")
    assert b"seed" not in transport.requests[0].content
