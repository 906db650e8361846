"""
Fetching one models listing over the host's ``httpx.AsyncClient``.

The thin I/O half of discovery: build the request, send it, read a bounded
body, hand the JSON to the pure parser (``modelcfg._catalog._discovery``).

- OpenRouter's listing is public: no credential is sent to it.
- An OpenAI-compatible listing gets ``Authorization: Bearer KEY`` when a key is given.
- Anthropic's gets ``x-api-key`` (or, for an OAuth access token, a bearer
  token and the OAuth beta flag) and ``anthropic-version``, and is read page
  by page (``limit``, then ``after_id`` set to the page's ``last_id``) while
  ``has_more`` is true.
- A single-page listing is asked for with ``If-None-Match`` when an ``ETag`` is
  known; a ``304 Not Modified`` answer means the snapshot still holds.

Every failure is a :class:`~modelcfg.exceptions.DiscoveryError` in one sentence
that names the listing, never the credential.
"""

from __future__ import annotations

import json
from typing import Final, Protocol

import attrs
import httpx

from modelcfg._catalog._discovery import (
    ANTHROPIC_VERSION,
    DiscoverySource,
    SourceKind,
    parse_listing,
)
from modelcfg._catalog._listing import ModelListing
from modelcfg._catalog._records import ModelInfo
from modelcfg._core._redact import redact
from modelcfg.exceptions import DiscoveryError

__all__ = ["Fetched", "Revealable", "fetch_models"]

MAX_BYTES: Final = 32 * 1024 * 1024
"""The largest listing read (OpenRouter's is about 1 MiB)."""

MAX_PAGES: Final = 100
"""The most pages read from one paginated listing."""

_OAUTH_BETA: Final = "oauth-2025-04-20"
_MESSAGE_CHARS: Final = 200


class Revealable(Protocol):
    """
    A credential that hides its value until asked (:class:`~modelcfg.auth.Secret`).
    """

    def reveal(self) -> str: ...


@attrs.frozen(kw_only=True)
class Fetched:
    """
    What one fetch of a listing brought.

    Attributes:
        listing: The records and skipped entries, or ``None`` when the server
            answered ``304 Not Modified``.
        etag: The listing's ``ETag``, to send as ``If-None-Match`` next time.
    """

    listing: ModelListing | None
    etag: str | None = None

    @property
    def not_modified(self) -> bool:
        """
        Whether the server said the listing is unchanged since the ``ETag`` sent.
        """
        return self.listing is None


def _headers(source: DiscoverySource, key: str | None) -> dict[str, str]:
    headers = {"accept": "application/json"}
    match source.kind:
        case SourceKind.OPENROUTER:
            pass  # public: a key would only travel for nothing
        case SourceKind.OPENAI:
            if key:
                headers["authorization"] = f"Bearer {key}"
        case SourceKind.ANTHROPIC:
            headers["anthropic-version"] = ANTHROPIC_VERSION
            if key and key.startswith("sk-ant-oat"):
                headers["authorization"] = f"Bearer {key}"
                headers["anthropic-beta"] = _OAUTH_BETA
            elif key:
                headers["x-api-key"] = key
    return headers


def _error_text(body: bytes) -> str:
    """
    The provider's own error message, from the usual JSON shapes, else the body's start.
    """
    text = body[:4096].decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        elif isinstance(data.get("message"), str):
            text = data["message"]
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


async def _read(response: httpx.Response, source: DiscoverySource) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise DiscoveryError(
            f"{source.name}: the listing at {source.url} is {int(declared):,} bytes, more than "
            f"the {MAX_BYTES:,} read",
            source=source.name,
        )
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_BYTES:
            raise DiscoveryError(
                f"{source.name}: the listing at {source.url} is more than the {MAX_BYTES:,} "
                "bytes read",
                source=source.name,
            )
    return bytes(body)


async def _get(
    client: httpx.AsyncClient,
    source: DiscoverySource,
    headers: dict[str, str],
    params: dict[str, str | int],
    key: str | None,
) -> tuple[int, bytes, str | None]:
    """
    Send one GET; return the status, the bounded body and the ``ETag``.
    """
    try:
        async with client.stream("GET", source.url, headers=headers, params=params) as response:
            body = await _read(response, source)
            return response.status_code, body, response.headers.get("etag")
    except httpx.HTTPError as exc:
        # Not chained: an httpx error holds the request, and the request holds the key.
        reason = redact(str(exc), *([key] if key else [])) or type(exc).__name__
        raise DiscoveryError(
            f"{source.name}: cannot fetch {source.url}: {type(exc).__name__}: {reason}",
            source=source.name,
        ) from None


def _failed(source: DiscoverySource, status: int, body: bytes, key: str | None) -> DiscoveryError:
    message = redact(_error_text(body), *([key] if key else []))
    hint = ""
    if status in (401, 403):
        hint = " (the credential was refused)" if key else " (this listing needs a credential)"
    return DiscoveryError(
        f"{source.name}: HTTP {status} from {source.url}{hint}: {message or 'no message'}",
        source=source.name,
        status=status,
    )


def _parse(source: DiscoverySource, body: bytes, now: float) -> ModelListing:
    try:
        return parse_listing(source, _json(source, body), fetched_at=now)
    except DiscoveryError as exc:
        if str(exc).startswith(f"{source.name}: "):
            raise
        detail = str(exc).partition("is not a models list: ")[2] or str(exc)
        raise DiscoveryError(
            f"{source.name}: the listing at {source.url} is not a models list: {detail}",
            source=source.name,
        ) from None


def _json(source: DiscoverySource, body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DiscoveryError(
            f"{source.name}: the listing at {source.url} is not JSON ({exc})", source=source.name
        ) from None


async def fetch_models(
    client: httpx.AsyncClient,
    source: DiscoverySource,
    *,
    now: float,
    api_key: str | Revealable | None = None,
    etag: str | None = None,
    page_size: int = 100,
) -> Fetched:
    """
    Fetch and normalise *source*'s models listing.

    Args:
        client: The host's client (its timeouts, proxies and limits apply).
        source: The listing.
        now: The current time, in seconds since the epoch: each record's ``fetched_at``.
        api_key: The credential, for listings that need one (a :class:`~modelcfg.auth.Secret`
            or text); never sent to OpenRouter.
        etag: The ``ETag`` of the snapshot held, for a conditional request.
        page_size: Models per page of a paginated listing (Anthropic allows 1 to 1000).

    Returns:
        The listing (records, skipped entries), or a "not modified" answer.

    Raises:
        DiscoveryError: The listing cannot be fetched, answered with an error, is
            too large, is not JSON or is not a models list.
    """
    key = api_key if isinstance(api_key, str) or api_key is None else api_key.reveal()
    headers = _headers(source, key)
    if source.kind is not SourceKind.ANTHROPIC:
        if etag:
            headers["if-none-match"] = etag
        status, body, new_etag = await _get(client, source, headers, {}, key)
        if status == 304 and etag:
            return Fetched(listing=None, etag=new_etag or etag)
        if status != 200:
            raise _failed(source, status, body, key)
        return Fetched(listing=_parse(source, body, now), etag=new_etag)

    # Anthropic: page by page; no conditional requests across pages.
    records: list[ModelInfo] = []
    skipped: list[str] = []
    seen: set[object] = set()
    cursor: str | None = None
    for page in range(MAX_PAGES):
        params: dict[str, str | int] = {"limit": page_size}
        if cursor is not None:
            params["after_id"] = cursor
        status, body, _ = await _get(client, source, headers, params, key)
        if status != 200:
            raise _failed(source, status, body, key)
        listing = _parse(source, body, now)
        for info in listing.records:
            if info.ref not in seen:
                seen.add(info.ref)
                records.append(info)
        skipped += [f"page {page + 1}: {line}" for line in listing.skipped]
        if not listing.has_more:
            return Fetched(
                listing=ModelListing(
                    source=source.name, records=tuple(records), skipped=tuple(skipped)
                )
            )
        if listing.last_id is None or listing.last_id == cursor:
            raise DiscoveryError(
                f"{source.name}: page {page + 1} of {source.url} says more follow but gives no "
                "new 'last_id' to continue from",
                source=source.name,
            )
        cursor = listing.last_id
    raise DiscoveryError(
        f"{source.name}: {source.url} still had more after {MAX_PAGES} pages; stopped",
        source=source.name,
    )
