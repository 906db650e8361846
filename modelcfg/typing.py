"""
Public protocols and type aliases that host applications implement or receive.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["JSON", "Clock", "JSONObject"]

JSON: TypeAlias = "dict[str, JSON] | list[JSON] | str | int | float | bool | None"
"""Any value that ``json.loads`` can return."""

JSONObject: TypeAlias = "dict[str, JSON]"
"""A JSON object, as ``json.loads`` returns it."""


@runtime_checkable
class Clock(Protocol):
    """
    Tells the time as seconds since the epoch; tests pass a fake.
    """

    def __call__(self) -> float: ...
