"""
Masking credentials in text: the key shapes providers and SDKs echo back.

:func:`redact` runs on every failure message on its way into the core, and on
whatever else the package prints or logs that may hold a key.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["redact"]

# Credentials that providers and SDKs echo back in error messages. Each pattern
# keeps a short, recognisable prefix so that a log still says *which kind* of key.
_SECRET_PATTERNS: Final = (
    re.compile(r"\b(sk-(?:ant-|or-|proj-)?)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\b(AIza)[A-Za-z0-9_\-]{20,}"),
    re.compile(r"\b(gsk_|xai-|pplx-|hf_)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"),
    # HTTP Basic credentials: base64 with a digit, '+', '/' or an inner capital, so
    # that prose such as "Basic authentication failed" is left alone.
    re.compile(r"(?i:\b(basic\s+))(?=[A-Za-z0-9+/]*(?:[0-9+/]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}=*"),
    re.compile(
        r"(?i)((?:api[_-]?key|access[_-]?token|refresh[_-]?token|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"
    ),
)


def redact(text: str, *secrets: str) -> str:
    """
    Return *text* with credentials replaced by ``[REDACTED]``.

    Known key shapes are masked wherever they appear; each of *secrets* (exact
    values the caller knows, such as the key it just sent) is masked too.
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[REDACTED]", text)
    return text
