"""
Routing by need: each need as a pure decision, the prompt estimate, and the
property that a skipped candidate never receives a call.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import (
    AttemptState,
    Call,
    ChatRequest,
    FallbackChain,
    ImagePart,
    Message,
    ModelRef,
    ModelTraits,
    RequestNeeds,
    Routes,
    SkipCode,
    TextPart,
    ToolSpec,
    estimate_tokens,
    needs_of,
    next_attempt,
)
from modelcfg._core._routing import estimated_cost_usd, unmet_need

T0 = 1_800_000_000.0
A = ModelRef.parse("openai/a")
B = ModelRef.parse("openai/b")


def first_call(traits_a: ModelTraits, needs: RequestNeeds) -> Call:
    routes = Routes(chain=FallbackChain.of(A, B), traits={A: traits_a, B: ModelTraits()})
    action = next_attempt(None, AttemptState.start(routes, now=T0, needs=needs))
    assert isinstance(action, Call)
    return action


NEED_CASES = [
    ("tools", ModelTraits(tools=False), RequestNeeds(tools=True), SkipCode.LACKS_TOOLS),
    (
        "streaming",
        ModelTraits(streaming=False),
        RequestNeeds(streaming=True),
        SkipCode.LACKS_STREAMING,
    ),
    (
        "images",
        ModelTraits(input_modalities_known=True, image_input=False),
        RequestNeeds(has_images=True),
        SkipCode.LACKS_IMAGE_INPUT,
    ),
    ("pdf", ModelTraits(pdf_input=False), RequestNeeds(pdf_input=True), SkipCode.LACKS_PDF_INPUT),
    (
        "audio",
        ModelTraits(audio_input=False),
        RequestNeeds(audio_input=True),
        SkipCode.LACKS_AUDIO_INPUT,
    ),
    (
        "json",
        ModelTraits(json_output=False),
        RequestNeeds(json_output=True),
        SkipCode.LACKS_JSON_OUTPUT,
    ),
    (
        "schema",
        ModelTraits(schema_output=False),
        RequestNeeds(schema_output=True),
        SkipCode.LACKS_SCHEMA_OUTPUT,
    ),
    (
        "reasoning",
        ModelTraits(reasoning=False),
        RequestNeeds(reasoning=True),
        SkipCode.LACKS_REASONING,
    ),
    (
        "cost",
        ModelTraits(input_price=10.0, output_price=10.0),
        RequestNeeds(prompt_tokens=1000, output_tokens=1000, max_cost_usd=0.01),
        SkipCode.OVER_BUDGET,
    ),
    (
        "learned",
        ModelTraits(tools=True, lacking=("tools",)),
        RequestNeeds(tools=True),
        SkipCode.LACKS_TOOLS,
    ),
]


@pytest.mark.parametrize(
    ("traits", "needs", "code"), [c[1:] for c in NEED_CASES], ids=[c[0] for c in NEED_CASES]
)
def test_a_model_known_to_lack_a_need_is_skipped_before_any_call(
    traits: ModelTraits, needs: RequestNeeds, code: SkipCode
) -> None:
    """A primary known to lack the need is skipped with the need's code, and the fallback is called."""
    call = first_call(traits, needs)

    assert (B, [(A, code)]) == (call.target.model, [(s.model, s.code) for s in call.skipped])


@pytest.mark.parametrize(
    ("traits", "needs", "code"), [c[1:] for c in NEED_CASES], ids=[c[0] for c in NEED_CASES]
)
def test_an_unknown_capability_is_tried(
    traits: ModelTraits, needs: RequestNeeds, code: SkipCode
) -> None:
    """A primary whose capability is unknown is called, whatever the request needs."""
    call = first_call(ModelTraits(), needs)

    assert (A, ()) == (call.target.model, call.skipped)


def test_a_skip_message_names_the_need() -> None:
    """The skip's message says which need the model lacks."""
    call = first_call(ModelTraits(tools=False), RequestNeeds(tools=True))

    assert "openai/a skipped: cannot call tools (the request needs tools; the catalog says so)" == (
        call.skipped[0].message
    )


def test_a_chain_where_no_model_serves_the_need_gives_up_listing_the_skips() -> None:
    """When every model lacks the need, the request gives up before any call."""
    routes = Routes(
        chain=FallbackChain.of(A, B),
        traits={A: ModelTraits(tools=False), B: ModelTraits(tools=False)},
    )
    action = next_attempt(None, AttemptState.start(routes, now=T0, needs=RequestNeeds(tools=True)))

    assert ("chain_exhausted", [SkipCode.LACKS_TOOLS] * 2) == (
        action.reason.code.value,
        [s.code for s in action.skipped],
    )


def test_needs_are_inferred_from_the_request() -> None:
    """Tools, images, JSON schema, streaming and size are read off a ChatRequest."""
    request = ChatRequest(
        messages=[
            Message(
                role="user", content=(TextPart(text="x" * 70), ImagePart(url="https://e/i.png"))
            )
        ],
        tools=[ToolSpec(name="t")],
        stream=True,
        json_schema={"type": "object"},
        params={"max_completion_tokens": 100},
    )
    needs = needs_of(request, family="gpt")

    assert (True, True, True, True, True, 100) == (
        needs.tools,
        needs.has_images,
        needs.streaming,
        needs.json_output,
        needs.schema_output,
        needs.output_tokens,
    )
    assert (
        estimate_tokens(70 + 1 + len(str({"type": "object", "properties": {}})), "gpt")
        <= (needs.prompt_tokens or 0) - 1600
    )


def test_a_plain_request_needs_nothing_but_its_size() -> None:
    """A short text request needs no capability; its context need is the prompt estimate."""
    needs = needs_of(ChatRequest(messages=[Message(role="user", content="hello")]))

    assert RequestNeeds(min_context_tokens=6, prompt_tokens=6) == needs


@pytest.mark.parametrize(
    ("chars", "family", "expected"),
    [(0, None, 1), (400, "gpt-5", 120), (350, "claude", 120), (350, "unknown", 120), (4, None, 2)],
)
def test_the_estimate_divides_by_the_family_ratio_with_a_margin(
    chars: int, family: str | None, expected: int
) -> None:
    """The estimate is chars / ratio * 1.2, rounded up, at least 1."""
    assert expected == estimate_tokens(chars, family)


def test_the_cost_estimate_needs_both_prices() -> None:
    """An output size with no output price makes the cost unknown."""
    needs = RequestNeeds(prompt_tokens=1_000_000, output_tokens=10)

    assert (None, 2.0) == (
        estimated_cost_usd(needs, ModelTraits(input_price=2.0)),
        estimated_cost_usd(attrs.evolve(needs, output_tokens=None), ModelTraits(input_price=2.0)),
    )


capability = st.sampled_from([None, True, False])
traits_st = st.builds(
    ModelTraits,
    tools=capability,
    streaming=capability,
    json_output=capability,
    schema_output=capability,
    reasoning=capability,
    pdf_input=capability,
    audio_input=capability,
    input_price=st.none() | st.floats(min_value=0, max_value=100),
    output_price=st.none() | st.floats(min_value=0, max_value=100),
)
needs_st = st.builds(
    RequestNeeds,
    tools=st.booleans(),
    streaming=st.booleans(),
    json_output=st.booleans(),
    schema_output=st.booleans(),
    reasoning=st.booleans(),
    pdf_input=st.booleans(),
    audio_input=st.booleans(),
    prompt_tokens=st.none() | st.integers(min_value=1, max_value=10**6),
    output_tokens=st.none() | st.integers(min_value=1, max_value=10**5),
    max_cost_usd=st.none() | st.floats(min_value=0, max_value=10),
)


@given(st.lists(traits_st, min_size=1, max_size=6), needs_st)
def test_a_skipped_candidate_never_receives_a_call(
    traits: list[ModelTraits], needs: RequestNeeds
) -> None:
    """The first call goes to the first model that meets every need; skipped models are never called."""
    models = [ModelRef.parse(f"openai/m{i}") for i in range(len(traits))]
    routes = Routes(chain=FallbackChain.of(*models), traits=dict(zip(models, traits, strict=True)))
    action = next_attempt(None, AttemptState.start(routes, now=T0, needs=needs))
    servable = [m for m, t in zip(models, traits, strict=True) if unmet_need(needs, t) is None]
    skipped = {s.model for s in action.skipped}

    called = action.target.model if isinstance(action, Call) else None
    assert (
        servable[0] if servable else None,
        set(models[: models.index(called)] if called else models),
    ) == (
        called,
        skipped,
    )
    assert called not in skipped
