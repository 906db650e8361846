"""
Tests for the usage estimate that hard budgets check before a call.
"""

from __future__ import annotations

import pytest

from modelcfg import ChatRequest, ImagePart, Message, TextPart, ToolCall, ToolSpec, Usage
from modelcfg.usage._estimate import DEFAULT_OUTPUT_TOKENS, IMAGE_TOKENS, estimate_usage


def test_the_prompt_counts_four_bytes_a_token_plus_each_message() -> None:
    """System and message text count a token per four UTF-8 bytes, rounded up, plus four per message."""
    request = ChatRequest(system="x" * 10, messages=[Message(role="user", content="é" * 5)])

    assert Usage(input_tokens=5 + 4, output_tokens=DEFAULT_OUTPUT_TOKENS) == estimate_usage(request)


def test_images_and_tools_count_too() -> None:
    """Each image counts a fixed number of tokens; tool specs and calls count their text."""
    request = ChatRequest(
        messages=[
            Message(role="user", content=(TextPart(text="abcd"), ImagePart(url="https://x/y.png"))),
            Message(
                role="assistant",
                tool_calls=[ToolCall(id="c1", name="look", arguments='{"q": 1}')],
            ),
        ],
        tools=[ToolSpec(name="look", parameters={"type": "object"})],
    )
    text = len("abcd") + len("look") + len('{"q": 1}') + len("look") + len('{"type": "object"}')

    assert -(-text // 4) + 8 + IMAGE_TOKENS == estimate_usage(request).input_tokens


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
