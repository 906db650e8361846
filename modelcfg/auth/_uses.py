"""
Recording when profiles were last used, without making a request wait for the disk.

A file auth store writes a use as it writes anything: lock, read, parse, write a new
file, rename. Doing that on every successful attempt would put a file write on the
request's path. :class:`UseRecorder` keeps the latest time per profile in memory
instead (one dictionary entry, under a lock) and a writer thread puts them into the
store in batches, at most once per *flush_interval_s*: a busy process writes the store
about once a second whatever its request rate. The thread is not an event-loop task
and nothing awaits it; it stops once nothing is left to write, and what is pending at
exit is written then.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Final

from modelcfg._core._values import ProfileId
from modelcfg._log import logger_for
from modelcfg.auth._store import AuthStoreProtocol, MemoryAuthStore

__all__ = ["UseRecorder"]

logger = logger_for(__name__)

DEFAULT_FLUSH_INTERVAL_S: Final = 1.0
"""How often, at most, recorded uses are written to a file store."""


def _flush_at_exit(reference: weakref.ref[UseRecorder]) -> None:
    recorder = reference()
    if recorder is not None:
        recorder.flush()


class UseRecorder:
    """
    Batches ``last_used_at`` updates to an auth store.

    :meth:`record` never touches the store of a file: it keeps the latest time per
    profile, and a writer thread calls the store's ``record_use()`` for each pending
    profile, at most once per *flush_interval_s*. A
    :class:`~modelcfg.auth.MemoryAuthStore` is updated at once (it answers at once).

    Args:
        store: The auth store to update.
        flush_interval_s: The least time between two batches.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self, store: AuthStoreProtocol, *, flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S
    ) -> None:
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be positive, not {flush_interval_s!r}")
        self.store = store
        self.flush_interval_s = flush_interval_s
        self._direct = isinstance(store, MemoryAuthStore)
        self._pending: dict[ProfileId, float] = {}
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one batch at a time: the thread's, or flush()'s
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        if not self._direct:
            atexit.register(_flush_at_exit, weakref.ref(self))

    def __repr__(self) -> str:
        return f"UseRecorder({self.store!r})"

    @property
    def pending(self) -> int:
        """
        How many profiles have a use not yet written.
        """
        return len(self._pending)

    def record(self, profile: ProfileId, at: float) -> None:
        """
        Remember that *profile* was used at *at*; the store sees it in the next batch.
        """
        if self._direct:
            self.store.record_use(profile, used_at=at)
            return
        with self._lock:
            pending = self._pending
            if at > pending.get(profile, float("-inf")):
                pending[profile] = at
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="modelcfg-auth-uses")
                thread.daemon = True
                self._thread = thread
                thread.start()

    def flush(self) -> None:
        """
        Write every pending use now, in the calling thread (tests, and at exit).
        """
        with self._writing:
            self._write()

    def _write(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
        for profile, at in batch.items():
            try:
                self.store.record_use(profile, used_at=at)
            except Exception as exc:  # a locked or unwritable store: a statistic, not a failure
                logger.warning("Could not record the use of %s: %s", profile, exc)

    def _run(self) -> None:
        while True:
            with self._writing:
                self._write()
            # Uses recorded meanwhile wait for the next batch; with none, the thread ends.
            self._wake.wait(self.flush_interval_s)
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return
