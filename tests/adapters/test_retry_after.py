"""
Tests for reading how long a provider asked us to wait.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg.adapters._retry_after import parse_duration, parse_retry_after, retry_after_s

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z

ROWS = [
    pytest.param({"Retry-After": "30"}, 30.0, id="seconds"),
    pytest.param({"retry-after": "1.5"}, 1.5, id="fractional-seconds"),
    pytest.param({"Retry-After": "Thu, 01 Jan 2026 00:00:20 GMT"}, 20.0, id="http-date"),
    pytest.param({"Retry-After": "Wed, 31 Dec 2025 23:59:00 GMT"}, 0.0, id="http-date-in-the-past"),
    pytest.param({"retry-after-ms": "250"}, 0.25, id="retry-after-ms"),
    pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms-wins-over-seconds"),
    pytest.param({"retry-after": "-5"}, 0.0, id="negative-is-zero"),
    pytest.param({"retry-after": "soon"}, None, id="garbage"),
    pytest.param({"retry-after": "nan"}, None, id="nan"),
    pytest.param({"retry-after": "inf"}, None, id="infinity"),
    pytest.param({}, None, id="nothing"),
    pytest.param({"x-ratelimit-reset-requests": "6m0s"}, 360.0, id="openai-reset-minutes"),
    pytest.param({"x-ratelimit-reset-tokens": "1.5s"}, 1.5, id="openai-reset-seconds"),
    pytest.param({"x-ratelimit-reset-tokens": "20ms"}, 0.02, id="openai-reset-ms"),
    pytest.param(
        {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "7s"},
        7.0,
        id="openai-longest-reset-when-none-says-which",
    ),
    pytest.param(
        {
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-tokens": "7s",
            "x-ratelimit-remaining-tokens": "4000",
        },
        1.0,
        id="openai-only-the-exhausted-limit",
    ),
    pytest.param(
        {"anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:45Z"}, 45.0, id="anthropic-reset"
    ),
    pytest.param(
        {
            "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:05Z",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-tokens-reset": "2026-01-01T00:01:00Z",
            "anthropic-ratelimit-tokens-remaining": "900",
        },
        5.0,
        id="anthropic-only-the-exhausted-limit",
    ),
    pytest.param(
        {"anthropic-ratelimit-tokens-reset": "2026-01-01T01:00:00+01:00"},
        0.0,
        id="anthropic-offset",
    ),
    pytest.param({"anthropic-ratelimit-tokens-reset": "yesterday"}, None, id="anthropic-garbage"),
    pytest.param(
        {"retry-after": "3", "x-ratelimit-reset-tokens": "60s"},
        3.0,
        id="retry-after-wins-over-resets",
    ),
]


@pytest.mark.parametrize(("headers", "expected"), ROWS)
def test_retry_after_s(headers: dict[str, str], expected: float | None) -> None:
    """Each header set means the documented wait, in seconds."""

    assert expected == pytest.approx(retry_after_s(headers, now=NOW))


def test_resets_ignored_when_not_asked() -> None:
    """Reset headers (sent on every response) count only when the caller asks for them."""
    headers = {
        "x-ratelimit-reset-tokens": "60s",
        "anthropic-ratelimit-tokens-reset": "2026-01-01T00:01:00Z",
    }

    assert None is retry_after_s(headers, now=NOW, resets=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("6m0s", 360.0, id="minutes-seconds"),
        pytest.param("1h2m3s", 3723.0, id="hours"),
        pytest.param("1.5s", 1.5, id="fraction"),
        pytest.param("20ms", 0.02, id="milliseconds"),
        pytest.param("12", 12.0, id="bare-number"),
        pytest.param("6x", None, id="unknown-unit"),
        pytest.param("s", None, id="unit-only"),
        pytest.param("", None, id="empty"),
        pytest.param("1s junk", None, id="trailing-junk"),
    ],
)
def test_parse_duration(text: str, expected: float | None) -> None:
    """Go-style durations read as seconds; anything else is None."""

    assert expected == pytest.approx(parse_duration(text))


@settings(max_examples=200)
@given(st.text(max_size=40), st.floats(allow_nan=True, allow_infinity=True))
def test_never_raises_and_never_negative(text: str, now: float) -> None:
    """Any header text and any clock give None or a finite, non-negative number."""
    headers = {
        "retry-after": text,
        "retry-after-ms": text,
        "x-ratelimit-reset-tokens": text,
        "anthropic-ratelimit-tokens-reset": text,
    }
    values = [
        retry_after_s(headers, now=now),
        parse_retry_after(text, now=now),
        parse_duration(text),
    ]

    assert [] == [v for v in values if v is not None and not 0 <= v < float("inf")]
