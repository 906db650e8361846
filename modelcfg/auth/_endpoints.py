"""
Checks of OAuth endpoint settings, shared by the OAuth flow, ``login`` and ``validate``.

Pure: no network, no httpx, so ``modelcfg validate`` can report bad endpoints
without loading the OAuth machinery.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

__all__ = ["http_url_problem", "oauth_endpoint_problems"]

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


def oauth_endpoint_problems(
    *, authorize_url: object, token_url: object, client_id: object
) -> tuple[tuple[str, str], ...]:
    """
    Check OAuth endpoint settings as the config spells them.

    Returns:
        ``(key, reason)`` pairs, with keys as in the config (``authorizeUrl``,
        ``tokenUrl``, ``clientId``); empty when everything is fine.
    """
    problems: list[tuple[str, str]] = []
    for key, value in (("authorizeUrl", authorize_url), ("tokenUrl", token_url)):
        reason = http_url_problem(value)
        if reason is not None:
            problems.append((key, reason))
    if not isinstance(client_id, str) or not client_id.strip():
        problems.append(("clientId", "must be a non-empty string"))
    elif client_id != client_id.strip():
        problems.append(("clientId", "must not have surrounding white space"))
    return tuple(problems)
