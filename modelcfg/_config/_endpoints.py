"""
The check of an OAuth endpoint URL, shared by the config and the OAuth flow.

Pure: no network, no httpx, so the config reports a bad endpoint without loading
the OAuth machinery, and a config that loads holds endpoints a login can use.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

__all__ = ["http_url_problem"]

_HTTP_SCHEMES: Final = frozenset({"http", "https"})


def http_url_problem(value: object) -> str | None:
    """
    Why *value* is not an absolute ``http(s)`` URL with a host, or ``None`` when it is one.

    The reason is a phrase to follow a name: ``must be an absolute http(s) URL ...``.
    """
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if value != value.strip() or any(ch.isspace() for ch in value):
        return f"must be an absolute http(s) URL without white space, not {value!r}"
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        return f"must be an absolute http(s) URL, not {value!r}"
    if parts.scheme not in _HTTP_SCHEMES or not parts.hostname:
        return (
            f"must be an absolute http(s) URL such as 'https://login.example.com/authorize', "
            f"not {value!r}"
        )
    if parts.fragment:
        return f"must not have a '#' fragment, not {value!r}"
    return None
