"""
A failure after output reached the caller is classified as the interrupted stream it is.
"""

from __future__ import annotations

import httpx
import pytest

from modelcfg import FailureKind
from modelcfg.adapters import ProviderStreamError, StreamInterruptedError, classify
from modelcfg.adapters._classify import cut_after_output

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    ("error", "before", "code"),
    [
        (httpx.ReadError("connection reset"), FailureKind.CONNECTION, "ReadError"),
        (
            ProviderStreamError(
                "overloaded",
                provider="anthropic",
                code="overloaded_error",
                detail="busy",
                started=True,
            ),
            FailureKind.OVERLOADED,
            "overloaded_error",
        ),
        (
            StreamInterruptedError(
                "stalled", provider="openai", model="m", reason="stalled", started=True
            ),
            FailureKind.STREAM_INTERRUPTED,
            "stalled",
        ),
    ],
    ids=["reset", "error event", "stall"],
)
def test_a_failure_after_output_is_an_interrupted_stream(
    error: Exception, before: FailureKind, code: str
) -> None:
    """classify(after_output=True) gives stream_interrupted whatever the cause, keeping its code."""
    plain = classify(error, now=T0)
    after = classify(error, now=T0, after_output=True)

    assert (before, code) == (plain.kind, plain.code)
    assert (FailureKind.STREAM_INTERRUPTED, code) == (after.kind, after.code)
    assert after == cut_after_output(plain)
