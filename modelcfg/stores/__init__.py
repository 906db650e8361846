"""
Where state shared between requests lives: health (cooldowns, circuits) and sessions.

A :class:`~modelcfg.typing.StateStore` applies pure transitions atomically, so
concurrent requests never lose each other's updates:

- :class:`MemoryStateStore`: one process, the default;
- :class:`FileStateStore`: a JSON file shared by the processes of one machine,
  written atomically under a lock.
"""

from __future__ import annotations

from modelcfg.stores._file import FileStateStore
from modelcfg.stores._memory import MemoryStateStore

__all__ = ["FileStateStore", "MemoryStateStore"]
