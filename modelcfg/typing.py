"""
Public protocols and type aliases that host applications implement or receive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from modelcfg._catalog._snapshot import CatalogSnapshot
    from modelcfg._core._health import HealthState
    from modelcfg._core._state import SessionState

__all__ = ["JSON", "CatalogCache", "Clock", "JSONObject", "StateStore"]

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


@runtime_checkable
class StateStore(Protocol):
    """
    Where state shared between requests lives: health and sessions.

    ``update_health`` must apply its pure *change* atomically (read, apply, write,
    with no other update in between), so that concurrent requests, and with a
    shared store concurrent processes, never lose each other's updates.
    :mod:`modelcfg.stores` has an in-memory and a JSON-file implementation.
    """

    async def load_health(self) -> HealthState: ...

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState: ...

    async def load_session(self, session_id: str) -> SessionState | None: ...

    async def save_session(self, session_id: str, session: SessionState) -> None: ...


@runtime_checkable
class CatalogCache(Protocol):
    """
    Where discovered models are kept between refreshes: one snapshot per models listing.

    ``update`` must apply its pure *change* atomically, so that two refreshes
    of different listings never lose each other's. ``load`` of a cache that
    holds nothing returns an empty snapshot. :class:`modelcfg.FileCatalogCache`
    (a JSON file) and :class:`modelcfg.MemoryCatalogCache` implement it.
    """

    def load(self) -> CatalogSnapshot: ...

    def update(self, change: Callable[[CatalogSnapshot], CatalogSnapshot]) -> CatalogSnapshot: ...
