"""
What every models-listing parser returns, and the small readers they share.

A listing parser turns one response of a provider's ``GET .../models`` into
discovered records. It never raises for one bad entry: the entry is skipped
with a sentence that names its JSON path and why, and the others are kept. A
response that is not a models list at all raises
:class:`~modelcfg.exceptions.DiscoveryError`.

Pure: the caller fetches the response and passes the time it was fetched.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from modelcfg._catalog._records import ModelInfo
from modelcfg.exceptions import DiscoveryError

__all__ = ["ModelListing", "count", "data_list", "per_million", "rfc3339_seconds", "unix_seconds"]

_PER_MILLION: Final = Decimal(1_000_000)


@attrs.frozen(kw_only=True)
class ModelListing:
    """
    One page of a provider's models listing, normalised.

    Attributes:
        source: The listing the page came from (``openrouter``, ``anthropic``, a provider id).
        records: The discovered records, in the listing's order, each id once.
        skipped: One sentence per entry left out: its JSON path and why.
        has_more: Whether another page follows (Anthropic's ``has_more``).
        last_id: The cursor for the next page (Anthropic's ``last_id``).
    """

    source: str
    records: tuple[ModelInfo, ...] = ()
    skipped: tuple[str, ...] = ()
    has_more: bool = False
    last_id: str | None = None


def data_list(payload: object, source: str, what: str) -> list[object]:
    """
    The ``data`` list of a listing response.

    Raises:
        DiscoveryError: *payload* is not an object with a ``data`` list.
    """
    if not isinstance(payload, Mapping):
        raise DiscoveryError(
            f"the {what} response from {source} is not a models list: expected a JSON "
            f"object with a 'data' list, got {_json_kind(payload)}",
            source=source,
        )
    data = payload.get("data")
    if not isinstance(data, list):
        raise DiscoveryError(
            f"the {what} response from {source} is not a models list: $.data should be a "
            f"list, got {_json_kind(data)}",
            source=source,
        )
    return data


def _json_kind(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case Mapping():
            return "an object without it" if value else "an empty object"
        case _:
            return type(value).__name__


def count(value: object) -> int | None:
    """
    A positive whole number of tokens, or ``None`` for anything else (``null``, ``0``, ``"8k"``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def per_million(value: object) -> float | None:
    """
    A USD-per-token price (decimal text or a number) as USD per million tokens.

    The product is computed in :class:`~decimal.Decimal` and rounded once, so
    ``"0.000003"`` gives exactly ``3.0`` (never ``2.9999999999999996``) and the
    decimal text of the result is the decimal text of the price times a million.
    Absent, negative (OpenRouter's ``"-1"`` for a price set per request),
    non-finite and unreadable prices give ``None``: unknown, never free.
    """
    kind = type(value)
    if kind is not str and (kind is bool or not isinstance(value, str | int | float)):
        return None
    try:
        price = Decimal(str(value).strip()) * _PER_MILLION
    except InvalidOperation:
        return None
    if not price.is_finite() or price < 0:
        return None
    return float(price)


def unix_seconds(value: object) -> float | None:
    """
    A positive Unix timestamp in seconds (OpenAI's and OpenRouter's ``created``), else ``None``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value < 1e11 else None


def rfc3339_seconds(value: object) -> float | None:
    """
    An RFC 3339 time (Anthropic's ``created_at``) in seconds since the epoch, else ``None``.

    The epoch itself, which Anthropic sends for an unknown release date, gives ``None``.
    """
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    seconds = when.timestamp()
    return seconds if seconds > 0 else None
