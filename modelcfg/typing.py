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

__all__ = ["JSON", "CatalogCache", "Clock", "CounterStore", "JSONObject", "StateStore"]

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
    shared store concurrent processes, never lose each other's updates. A store
    may call *change* more than once (an optimistic store retries it on a newer
    state after a conflict); only the result of the last call counts, so *change*
    must be pure apart from remembering what it saw. ``load_health`` returns one
    consistent state, never a mix of two updates.

    :mod:`modelcfg.stores` has an in-memory, a SQLite, a Redis and a JSON-file
    implementation; ``docs/stores.md`` says what each one guarantees. A store of
    your own that calls *change* once, under a lock, conforms.
    """

    async def load_health(self) -> HealthState: ...

    async def update_health(self, change: Callable[[HealthState], HealthState]) -> HealthState: ...

    async def load_session(self, session_id: str) -> SessionState | None: ...

    async def save_session(self, session_id: str, session: SessionState) -> None: ...


@runtime_checkable
class CounterStore(Protocol):
    """
    Named counters and records shared the way health is: what budgets and usage totals use.

    Every built-in state store implements it next to :class:`StateStore`, so a
    budget kept in a Redis store holds across a fleet. Keys are free text chosen
    by the caller (``"budget:openai:2025-06"``); counters and records live in
    separate namespaces. A *ttl_s* makes the entry expire that long after it was
    created (counters) or last written (records); ``None`` keeps it.

    ``add_to_counter`` is atomic and returns the total after the addition.
    ``update_record`` applies its pure *change* atomically like
    :meth:`StateStore.update_health`: it gets the stored JSON value (``None``
    when there is none) and returns the new one (``None`` deletes it); it may be
    called more than once.
    """

    async def add_to_counter(self, key: str, amount: int, *, ttl_s: float | None = None) -> int: ...

    async def load_counter(self, key: str) -> int: ...

    async def load_record(self, key: str) -> JSON: ...

    async def update_record(
        self, key: str, change: Callable[[JSON], JSON], *, ttl_s: float | None = None
    ) -> JSON: ...


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
