"""
Where state shared between requests lives: health (cooldowns, circuits), sessions,
and the counters and records budgets keep.

Every store applies pure transitions atomically, so concurrent requests never
lose each other's updates; ``docs/stores.md`` says which to pick and what each
one guarantees:

- :class:`MemoryStateStore`: one process, the default;
- :class:`SqliteStateStore`: one machine, persistent (the embedded default to
  persist state);
- :class:`RedisStateStore`: a fleet of processes on many machines (the
  ``modelcfg[redis]`` extra);
- :class:`FileStateStore`: the portable JSON state file, kept for small scripts
  and as the import/export format of :class:`SqliteStateStore`.
"""

from __future__ import annotations

from modelcfg.stores._codec import StateStoreError
from modelcfg.stores._events import StoreDegraded, StoreEvent, StoreRecovered
from modelcfg.stores._file import FileStateStore, StateFileError
from modelcfg.stores._memory import MemoryStateStore
from modelcfg.stores._redis import RedisStateStore
from modelcfg.stores._sqlite import SqliteStateStore

__all__ = [
    "FileStateStore",
    "MemoryStateStore",
    "RedisStateStore",
    "SqliteStateStore",
    "StateFileError",
    "StateStoreError",
    "StoreDegraded",
    "StoreEvent",
    "StoreRecovered",
]
