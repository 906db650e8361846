"""
How long a provider asked us to wait, read from its response headers.

Pure: the time is an argument, nothing is read from the clock, and no input
makes these functions raise. Understood headers, most explicit first:

- ``retry-after-ms``: milliseconds (OpenAI's SDKs honour it);
- ``retry-after``: seconds, or an HTTP date compared with *now*;
- OpenAI's ``x-ratelimit-reset-requests`` / ``x-ratelimit-reset-tokens``:
  durations such as ``6m0s``, ``1.5s`` or ``20ms``;
- Anthropic's ``anthropic-ratelimit-*-reset``: RFC 3339 timestamps.

For the reset headers, only limits whose ``remaining`` count is ``0`` are
considered when the provider says which ones ran out; the longest wait wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = [
    "parse_duration",
    "parse_http_date",
    "parse_retry_after",
    "parse_rfc3339",
    "retry_after_s",
]

_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")
_MAX_S: Final = 366 * 24 * 3600.0
_OPENAI_LIMITS: Final = ("requests", "tokens")
_ANTHROPIC_LIMITS: Final = ("requests", "tokens", "input-tokens", "output-tokens")


def _finite(value: float) -> float | None:
    if math.isnan(value) or math.isinf(value):
        return None
    return min(max(value, 0.0), _MAX_S)


def parse_http_date(text: str) -> float | None:
    """
    Parse an HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``) to seconds since the epoch.
    """
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_rfc3339(text: str) -> float | None:
    """
    Parse an RFC 3339 timestamp (``2026-01-01T12:00:00Z``) to seconds since the epoch.

    A timestamp without an offset is read as UTC.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_duration(text: str) -> float | None:
    """
    Parse a Go-style duration (``6m0s``, ``1.5s``, ``20ms``, ``1h2m``) to seconds.

    A bare number is read as seconds.
    """
    text = text.strip().lower()
    if not text:
        return None
    try:
        return _finite(float(text))
    except ValueError:
        pass
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        number, unit = float(match.group(1)), match.group(2)
        total += number * {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}[unit]
        position = match.end()
    if position != len(text):
        return None
    return _finite(total)


def parse_retry_after(text: str, *, now: float) -> float | None:
    """
    Parse a ``Retry-After`` value: seconds, or an HTTP date compared with *now*.

    Returns:
        Seconds to wait (never negative), or ``None`` when the value means nothing.
    """
    text = text.strip()
    try:
        return _finite(float(text))
    except ValueError:
        pass
    moment = parse_http_date(text)
    return None if moment is None else _finite(moment - now)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}


def _exhausted(headers: dict[str, str], remaining: str, limits: tuple[str, ...]) -> tuple[str, ...]:
    """
    The limits whose remaining count is 0, or every limit when none says.

    *remaining* is the header name with ``{}`` where the limit's name goes.
    """
    empty = tuple(
        name for name in limits if headers.get(remaining.format(name), "").strip() in {"0", "0.0"}
    )
    return empty or limits


def retry_after_s(headers: Mapping[str, str], *, now: float, resets: bool = True) -> float | None:
    """
    How long the response *headers* ask the caller to wait, in seconds.

    Args:
        headers: The response headers (any capitalisation).
        now: The current time, in seconds since the epoch, for dates.
        resets: Whether to read the rate-limit reset headers too; they come on
            every response, so they only mean "wait" for a rate-limit failure.

    Returns:
        Seconds to wait, or ``None`` when no header says. Never raises.
    """
    try:
        lowered = _lower(headers)
        if "retry-after-ms" in lowered:
            try:
                value = _finite(float(lowered["retry-after-ms"].strip()) / 1000.0)
            except ValueError:
                value = None
            if value is not None:
                return value
        if "retry-after" in lowered:
            value = parse_retry_after(lowered["retry-after"], now=now)
            if value is not None:
                return value
        waits: list[float] = []
        if not resets:
            return None
        for name in _exhausted(lowered, "x-ratelimit-remaining-{}", _OPENAI_LIMITS):
            text = lowered.get(f"x-ratelimit-reset-{name}")
            wait = parse_duration(text) if text is not None else None
            if wait is not None:
                waits.append(wait)
        for name in _exhausted(lowered, "anthropic-ratelimit-{}-remaining", _ANTHROPIC_LIMITS):
            text = lowered.get(f"anthropic-ratelimit-{name}-reset")
            moment = parse_rfc3339(text) if text is not None else None
            if moment is not None:
                wait = _finite(moment - now)
                if wait is not None:
                    waits.append(wait)
        return max(waits) if waits else None
    except Exception:  # never raise: a header we cannot read says nothing
        return None
