"""
What a shared store tells its observers about itself: losing and regaining its server.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

__all__ = ["StoreDegraded", "StoreEvent", "StoreRecovered"]


@attrs.frozen(kw_only=True)
class StoreDegraded:
    """
    The store's server is down or too slow: requests go on with this process's own view.

    Attributes:
        store: The store, as its ``repr`` shows it (never with a password).
        reason: What went wrong, such as ``"ConnectionError"`` or ``"slower than 0.05 s"``.
        retry_in_s: When the store tries its server again (jittered backoff).
    """

    store: str
    reason: str
    retry_in_s: float


@attrs.frozen(kw_only=True)
class StoreRecovered:
    """
    The store reached its server again and re-synced: shared state is back.

    Attributes:
        store: The store, as its ``repr`` shows it (never with a password).
        down_s: How long it worked on its own view.
        replayed: How many updates made meanwhile it applied to the shared state.
    """

    store: str
    down_s: float
    replayed: int


StoreEvent: TypeAlias = StoreDegraded | StoreRecovered
"""Everything a store's observers may receive."""
