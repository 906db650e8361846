"""
Messages as users write them: OpenAI-style dicts in ChatRequest, and clear refusals.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelcfg import ChatRequest, ImagePart, Message, TextPart, ToolCall
from modelcfg.adapters import AnthropicAdapter, Endpoint, OpenAIAdapter


def test_dict_messages_become_messages() -> None:
    """A ChatRequest built from OpenAI-style dicts holds the same Message values as one built from them."""
    request = ChatRequest(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "look", "arguments": '{"x": 1}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            Message(role="user", content="Thanks"),
        ]
    )

    assert (
        Message(role="system", content="Be brief."),
        Message(
            role="user",
            content=(TextPart(text="What is this?"), ImagePart(url="https://example.com/cat.png")),
        ),
        Message(
            role="assistant", tool_calls=(ToolCall(id="call_1", name="look", arguments='{"x": 1}'),)
        ),
        Message(role="tool", tool_call_id="call_1", content="a cat"),
        Message(role="user", content="Thanks"),
    ) == request.messages
    assert request.has_images


def test_dict_messages_reach_both_wire_formats() -> None:
    """A request of dict messages builds valid OpenAI and Anthropic bodies (the has_images crash is gone)."""
    request = ChatRequest(messages=[{"role": "user", "content": "Hello"}])
    endpoint = Endpoint(model="m", base_url="http://127.0.0.1:9", credential="sk-fake-0123456789")

    openai_body = OpenAIAdapter().build_body(request, "m")
    anthropic = AnthropicAdapter().build_request(request, endpoint)

    assert [{"role": "user", "content": "Hello"}] == openai_body["messages"]
    assert b'"content":"Hello"' in anthropic.content.replace(b" ", b"")


@pytest.mark.parametrize(
    ("messages", "error", "match"),
    [
        ("Hello", TypeError, "must be a list of Message values or message dicts, not str"),
        ({"role": "user", "content": "Hi"}, TypeError, "not dict"),
        (["Hello"], TypeError, r"messages\[0\] is a str"),
        ([("user", "Hi")], TypeError, r"messages\[0\] is a tuple"),
        (42, TypeError, "not int"),
        ([{"role": "robot", "content": "Hi"}], ValueError, r"messages\[0\].role is 'robot'"),
        ([{"role": "user", "text": "Hi"}], ValueError, r"messages\[0\] has 'text'"),
        ([{"role": "user", "content": 7}], TypeError, r"messages\[0\].content must be a string"),
        (
            [{"role": "user", "content": [{"type": "audio"}]}],
            ValueError,
            r"messages\[0\].content\[0\].type is 'audio'",
        ),
        ([{"role": "tool", "content": "x"}], ValueError, r"messages\[0\]: a tool message needs"),
        (
            [{"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}],
            TypeError,
            r"messages\[0\].tool_calls\[0\].function.name must be a string",
        ),
    ],
    ids=[
        "a string",
        "one dict",
        "a string message",
        "a tuple message",
        "a number",
        "an unknown role",
        "an unknown key",
        "a number as content",
        "an unknown part",
        "a tool message without its call id",
        "a tool call without a name",
    ],
)
def test_anything_else_is_refused_at_construction(
    messages: object, error: type[Exception], match: str
) -> None:
    """Messages that are not Message values or well-formed dicts raise at construction, naming where."""
    with pytest.raises(error, match=match):
        ChatRequest(messages=messages)  # type: ignore[arg-type]


@given(
    role=st.sampled_from(["system", "user", "assistant"]),
    text=st.text(max_size=50),
)
def test_from_dict_round_trips_the_openai_form(role: str, text: str) -> None:
    """Message.from_dict() of the OpenAI adapter's own form of a text message gives the message back."""
    message = Message(role=role, content=text)  # type: ignore[arg-type]

    wire = OpenAIAdapter().build_body(ChatRequest(messages=[message]), "m")["messages"]

    assert isinstance(wire, list)
    assert isinstance(wire[0], dict)
    assert message == Message.from_dict(wire[0])
