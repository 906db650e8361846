"""
What a request will probably use, before it is sent: the estimate hard budgets check.

The prompt is counted as routing counts it (:func:`modelcfg.needs_of`: characters
per token for the model's family, with a safety margin, a fixed count per image
and a few tokens per message), and the output at the request's own
``max_tokens`` (or ``max_completion_tokens``), else at :data:`DEFAULT_OUTPUT_TOKENS`,
never above the model's known output limit. With ``max_tokens`` set the output
part is a true upper bound; the prompt part is an estimate.
"""

from __future__ import annotations

from typing import Final

from modelcfg._core._routing import needs_of
from modelcfg._core._state import RequestNeeds
from modelcfg._messages import ChatRequest, Usage

__all__ = ["DEFAULT_OUTPUT_TOKENS", "estimate_usage", "usage_of_needs"]

DEFAULT_OUTPUT_TOKENS: Final = 1024
"""The output tokens estimated for a request that sets no ``max_tokens``."""


def usage_of_needs(
    needs: RequestNeeds,
    *,
    max_output_tokens: int | None = None,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
) -> Usage:
    """
    The usage a request with *needs* (its prompt and output estimates) will probably have.
    """
    output = needs.output_tokens or default_output_tokens
    if max_output_tokens is not None:
        output = min(output, max_output_tokens)
    return Usage(input_tokens=needs.prompt_tokens or 0, output_tokens=output)


def estimate_usage(
    request: ChatRequest,
    *,
    max_output_tokens: int | None = None,
    default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    family: str | None = None,
) -> Usage:
    """
    The usage *request* will probably have, to price before the call.

    Args:
        request: The request.
        max_output_tokens: The model's output limit, when known (caps the output).
        default_output_tokens: The output estimated when the request sets no limit.
        family: The model's family (``claude``, ``gpt``, ...), for the characters a
            token holds.

    Returns:
        Input tokens (all counted as uncached) and output tokens.
    """
    return usage_of_needs(
        needs_of(request, family=family),
        max_output_tokens=max_output_tokens,
        default_output_tokens=default_output_tokens,
    )
