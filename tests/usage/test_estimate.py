"""
Tests for the usage estimate that hard budgets check before a call.
"""

from __future__ import annotations

import pytest

from modelcfg import ChatRequest, ImagePart, Message, TextPart, Usage
from modelcfg._core._routing import needs_of
from modelcfg.usage._estimate import DEFAULT_OUTPUT_TOKENS, estimate_usage

REQUEST = ChatRequest(
    system="Be brief.",
    messages=[Message(role="user", content=(TextPart(text="x" * 300), ImagePart(url="https://x")))],
)


def test_the_prompt_is_counted_as_routing_counts_it() -> None:
    """The input estimate is the prompt estimate routing checks context windows with."""

    assert needs_of(REQUEST, family="claude").prompt_tokens == (
        estimate_usage(REQUEST, family="claude").input_tokens
    )


@pytest.mark.parametrize(
    ("params", "limit", "expected"),
    [
        ({"max_tokens": 300}, None, 300),
        ({"max_completion_tokens": 200}, None, 200),
        ({"max_tokens": 300}, 100, 100),
        ({}, 500, 500),
        ({}, None, DEFAULT_OUTPUT_TOKENS),
        ({"max_tokens": True}, None, DEFAULT_OUTPUT_TOKENS),
    ],
)
def test_the_output_is_the_requests_limit_capped_by_the_models(
    params: dict[str, object], limit: int | None, expected: int
) -> None:
    """max_tokens (or max_completion_tokens) bounds the output, never above the model's limit."""
    request = ChatRequest(messages=[Message(role="user", content="hi")], params=params)  # type: ignore[arg-type]

    assert expected == estimate_usage(request, max_output_tokens=limit).output_tokens


def test_an_estimate_is_a_usage_of_uncached_input_and_output() -> None:
    """The estimate counts every prompt token as uncached input."""
    usage = estimate_usage(REQUEST, max_output_tokens=50)

    assert Usage(input_tokens=usage.input_tokens, output_tokens=50) == usage
    assert usage.input_tokens > 1600  # the image alone counts that much
