"""
Mapping keys as they appear in JSON paths (``$.agent.models['openai/gpt-5.2']``).
"""

from __future__ import annotations

__all__ = ["quoted"]


def quoted(key: str) -> str:
    """
    *key* in single quotes for a JSON path, on one line whatever it holds.

    Backslashes and quotes are escaped, and so are control characters (``\\n``,
    ``\\x00``, ...), so a key with a newline can never break a one-line message.
    """
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    if escaped.isprintable():
        return f"'{escaped}'"
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in escaped)
    return f"'{shown}'"
