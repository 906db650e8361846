"""
What a request will probably use, before it is sent: the estimate hard budgets check.

The prompt is counted at about four bytes of UTF-8 text a token (plus a few
tokens per message and a fixed count per image), and the output at the request's
own ``max_tokens`` (or ``max_completion_tokens``), else at
:data:`DEFAULT_OUTPUT_TOKENS`, never above the model's known output limit. With
``max_tokens`` set, the output part is a true upper bound; the prompt part is an
estimate (a tokenizer may split dense text or code finer).
"""

from __future__ import annotations

import json
from typing import Final

from modelcfg._messages import ChatRequest, ImagePart, Usage

__all__ = [
    "BYTES_PER_TOKEN",
    "DEFAULT_OUTPUT_TOKENS",
    "IMAGE_TOKENS",
    "MESSAGE_TOKENS",
    "estimate_usage",
]

BYTES_PER_TOKEN: Final = 4
"""About how many bytes of UTF-8 text one token holds, for English prose."""

MESSAGE_TOKENS: Final = 4
"""The tokens a message costs beyond its text (role and separators)."""

IMAGE_TOKENS: Final = 1600
"""The tokens one image is counted as (about a megapixel at Anthropic's and OpenAI's rates)."""

DEFAULT_OUTPUT_TOKENS: Final = 1024
"""The output tokens estimated for a request that sets no ``max_tokens``."""

_LIMIT_PARAMS: Final = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def _output_limit(request: ChatRequest) -> int | None:
    for name in _LIMIT_PARAMS:
        value = request.params.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def estimate_usage(
    request: ChatRequest,
    *,
    max_output_tokens: int | None = None,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> Usage:
    """
    The usage *request* will probably have, to price before the call.

    Args:
        request: The request.
        max_output_tokens: The model's output limit, when known (caps the output).
        default_output_tokens: The output estimated when the request sets no limit.

    Returns:
        Input tokens (all counted as uncached) and output tokens.
    """
    size = len(request.system.encode()) if request.system else 0
    images = 0
    for message in request.messages:
        if isinstance(message.content, str):
            size += len(message.content.encode())
        else:
            for part in message.content:
                if isinstance(part, ImagePart):
                    images += 1
                else:
                    size += len(part.text.encode())
        for call in message.tool_calls:
            size += len(call.name.encode()) + len(call.arguments.encode())
    for tool in request.tools:
        size += len(tool.name.encode()) + len(tool.description.encode())
        size += len(json.dumps(tool.parameters).encode())
    prompt = -(-size // BYTES_PER_TOKEN) + MESSAGE_TOKENS * len(request.messages)
    output = _output_limit(request) or default_output_tokens
    if max_output_tokens is not None:
        output = min(output, max_output_tokens)
    return Usage(input_tokens=prompt + IMAGE_TOKENS * images, output_tokens=output)
