"""
Where discovered models are kept between runs: the catalog caches.

A cache follows :class:`modelcfg.typing.CatalogCache`: ``load()`` returns the
:class:`~modelcfg.CatalogSnapshot` it holds, and ``update(change)`` applies a
pure change to it atomically. Two come with modelcfg:

- :class:`MemoryCatalogCache`, for tests and hosts that keep the snapshot
  themselves;
- :class:`FileCatalogCache`, a JSON file, by default ``catalog.json`` under the
  user's cache directory (:func:`default_cache_path`). It is replaced
  atomically (a reader sees the old file or the new one, never a mix) and
  updated under a lock, so two refreshes never lose each other's listings.

This is the I/O shell around ``modelcfg._catalog._snapshot``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

import attrs

from modelcfg._catalog._json import snapshot_from_json, snapshot_to_json
from modelcfg._catalog._snapshot import CatalogSnapshot
from modelcfg._fileio import atomic_write, exclusive_lock

__all__ = ["FileCatalogCache", "MemoryCatalogCache", "default_cache_path"]

_FILE_NAME: Final = "catalog.json"
_FILE_MODE: Final = 0o600


def default_cache_path(environ: Mapping[str, str]) -> Path | None:
    """
    The catalog cache file for the environment *environ*.

    In order: ``$MODELCFG_CATALOG_CACHE`` (a file), then ``modelcfg/catalog.json``
    under ``$XDG_CACHE_HOME``, else under ``~/.cache`` (``$HOME``); ``None``
    when the environment names none of them.
    """
    if explicit := environ.get("MODELCFG_CATALOG_CACHE"):
        return Path(explicit).expanduser()
    if xdg := environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "modelcfg" / _FILE_NAME
    if home := environ.get("HOME"):
        return Path(home) / ".cache" / "modelcfg" / _FILE_NAME
    return None


@attrs.define
class MemoryCatalogCache:
    """
    A catalog cache in memory, for tests and for hosts that keep the snapshot elsewhere.

    Attributes:
        snapshot: What it holds.
    """

    snapshot: CatalogSnapshot = attrs.field(factory=CatalogSnapshot)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def load(self) -> CatalogSnapshot:
        """
        The snapshot held.
        """
        return self.snapshot

    def update(self, change: Callable[[CatalogSnapshot], CatalogSnapshot]) -> CatalogSnapshot:
        """
        Apply *change* to the snapshot held, atomically, and return the result.
        """
        with self._lock:
            self.snapshot = change(self.snapshot)
            return self.snapshot


@attrs.frozen(kw_only=True)
class FileCatalogCache:
    """
    A catalog cache in a JSON file (see :func:`~modelcfg._catalog._json.snapshot_to_json`).

    A missing file holds an empty snapshot. The file holds no secrets: model
    metadata, listing URLs without credentials, ``ETag`` values and errors.

    Attributes:
        path: The file.
        lock_timeout_s: How long :meth:`update` waits for another process's update.
    """

    path: Path = attrs.field(converter=Path)
    lock_timeout_s: float = 10.0

    def load(self) -> CatalogSnapshot:
        """
        The snapshot in the file, or an empty one when there is no file.

        Raises:
            ValueError: The file is not a catalog snapshot (not JSON, or invalid);
                the message names the file and lists every problem with its path.
            OSError: The file exists but cannot be read.
        """
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return CatalogSnapshot()
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the catalog cache {self.path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"the catalog cache {self.path} does not hold a JSON object")
        try:
            return snapshot_from_json(data)
        except ValueError as exc:
            raise ValueError(f"the catalog cache {self.path} is invalid: {exc}") from None

    def save(self, snapshot: CatalogSnapshot) -> None:
        """
        Replace the file with *snapshot*, atomically.
        """
        text = json.dumps(snapshot_to_json(snapshot), ensure_ascii=False, separators=(",", ":"))
        atomic_write(self.path, text.encode("utf-8") + b"\n", mode=_FILE_MODE)

    def update(self, change: Callable[[CatalogSnapshot], CatalogSnapshot]) -> CatalogSnapshot:
        """
        Read the file, apply *change*, write the result; no other update runs in between.

        An unreadable or invalid file is replaced by ``change(empty snapshot)``:
        the cache holds nothing that cannot be fetched again.

        Raises:
            LockTimeoutError: Another process held the file for longer than
                *lock_timeout_s*.
            OSError: The file cannot be written.
        """
        with exclusive_lock(self.path, timeout_s=self.lock_timeout_s):
            try:
                current = self.load()
            except ValueError:
                current = CatalogSnapshot()
            updated = change(current)
            self.save(updated)
            return updated
