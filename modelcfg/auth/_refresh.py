"""
Refreshing OAuth tokens that are about to expire, and writing the new ones back.

:func:`~modelcfg.auth.credential_for` decides which credential a profile sends;
when that is an OAuth access token within the refresh skew, it hands it to
:func:`refreshed`, which gets new tokens through a :class:`Refresher` and stores
them with ``replace_if_unchanged()``. Processes sharing an
:class:`~modelcfg.auth.AuthStore` take turns under its refresh lock, and a refresh
that loses a race uses the tokens the winner stored.

Store calls run in a worker thread (:func:`off_loop`), so a file store waiting
for another process's lock never blocks the event loop. anyio is imported on
first use, so that ``import modelcfg.auth`` does not load it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from typing import Final, Protocol, TypeVar

from modelcfg._core._failures import FailureKind
from modelcfg._core._values import ProfileId
from modelcfg._fileio import LockTimeoutError
from modelcfg._log import logger_for
from modelcfg.auth._credentials import Credential, OAuthCredential, RefreshFailedError
from modelcfg.auth._store import AuthStore, AuthStoreProtocol, MemoryAuthStore
from modelcfg.exceptions import CredentialsError

__all__ = [
    "DEFAULT_REFRESH_SKEW_S",
    "Refresher",
    "refreshable_with",
    "needs_refresh",
    "off_loop",
    "refreshed",
]

logger = logger_for(__name__)

_T = TypeVar("_T")

DEFAULT_REFRESH_SKEW_S: Final = 60.0
"""Refresh OAuth access tokens this many seconds before they expire."""

_REFRESH_S: Final = 60.0
"""The longest a refresh and its write-back may hold off a cancellation."""


class Refresher(Protocol):
    """
    Gets fresh OAuth tokens for a profile (see :class:`~modelcfg.auth.OAuthRefresher`).

    Raises :class:`~modelcfg.auth.RefreshFailedError` when it cannot.
    """

    async def __call__(
        self, profile: ProfileId, credential: OAuthCredential
    ) -> OAuthCredential: ...


def refreshable_with(refresher: Refresher | None, provider: str) -> bool:
    """
    Whether *refresher* can refresh OAuth tokens of *provider*.

    An :class:`~modelcfg.auth.OAuthRefresher` says so (``can_refresh()``); any other
    refresher is trusted to try.
    """
    if refresher is None:
        return False
    ask = getattr(refresher, "can_refresh", None)
    return bool(ask(provider)) if callable(ask) else True


def needs_refresh(credential: Credential, now: float, skew_s: float) -> bool:
    """
    Whether *credential* is an OAuth access token within *skew_s* of expiry that can be refreshed.
    """
    return (
        isinstance(credential, OAuthCredential)
        and credential.refreshable
        and credential.expired(now, skew_s=skew_s)
    )


async def refreshed(
    profile: ProfileId,
    credential: OAuthCredential,
    *,
    store: AuthStoreProtocol,
    refresher: Refresher,
    now: float,
    skew_s: float,
) -> Credential:
    """
    Refresh the OAuth tokens *credential* of *profile* and return what the profile sends now.

    That is the new tokens, or the tokens another writer stored meanwhile: whoever
    held the refresh turn before us may have refreshed already, and a server that
    rotates refresh tokens refuses ours once another process spent it.

    Raises:
        RefreshFailedError: The refresh failed (or outlasted its bound) and the store
            holds no other unexpired tokens for the profile.
        CredentialsError: The profile was removed from the store during the refresh.
    """
    async with _refresh_turn(store):
        current = await off_loop(store, lambda: store.get(profile))
        if current is not None and current.credential != credential:
            latest = current.credential
            if not latest.expired(now) and not needs_refresh(latest, now, skew_s):
                logger.debug("Another writer refreshed %s first; using its tokens.", profile)
                return latest
            if isinstance(latest, OAuthCredential) and latest.refreshable:
                credential = latest
        logger.debug("Refreshing the OAuth tokens of %s before they expire.", profile)
        import anyio  # here, so that `import modelcfg.auth` does not load anyio

        # Shielded, within a bound: a server that rotates refresh tokens has spent
        # the old one once it answers, so the new tokens must reach the store even
        # when the caller is cancelled meanwhile (the cancellation lands afterwards).
        with anyio.move_on_after(_REFRESH_S, shield=True) as scope:
            try:
                fresh = await refresher(profile, credential)
            except RefreshFailedError:
                # A process that does not take the refresh turn (another store object,
                # an older modelcfg) may have refreshed meanwhile: a server that rotates
                # refresh tokens then refuses ours, yet the store holds working tokens.
                winner = await off_loop(store, lambda: store.get(profile))
                if (
                    winner is not None
                    and winner.credential != credential
                    and not winner.credential.expired(now)
                ):
                    logger.debug("Another writer refreshed %s first; using its tokens.", profile)
                    return winner.credential
                raise
            expected = credential
            stored_now = await off_loop(
                store, lambda: store.replace_if_unchanged(profile, expected=expected, new=fresh)
            )
        if scope.cancelled_caught:
            raise RefreshFailedError(
                f"Refreshing the OAuth tokens of {profile} took longer than {_REFRESH_S:g} s.",
                provider=profile.provider,
                profile=profile,
                kind=FailureKind.TIMEOUT,
            )
    if stored_now is None:
        # The profile was removed (logout) while we refreshed; do not resurrect it.
        raise CredentialsError(
            f"Profile {profile} was removed from the auth store during a token refresh.",
            provider=profile.provider,
        )
    if stored_now != fresh:
        logger.debug("Another writer refreshed %s first; using its tokens.", profile)
    return stored_now


@contextlib.asynccontextmanager
async def _refresh_turn(store: AuthStoreProtocol) -> AsyncIterator[None]:
    """
    Hold the store's refresh lock (file stores only) for the ``async with`` block.

    When the lock cannot be had (timeout, read-only directory), the refresh goes
    ahead without it: the refusal fallback in :func:`refreshed` still applies.
    """
    if not isinstance(store, AuthStore):
        yield
        return
    import anyio.to_thread  # here, so that `import modelcfg.auth` does not load anyio

    held: list[AbstractContextManager[None]] = []

    def acquire() -> None:
        lock = store.refresh_lock()
        lock.__enter__()
        held.append(lock)

    try:
        try:
            await anyio.to_thread.run_sync(acquire)
        except (LockTimeoutError, OSError) as exc:
            logger.debug("Refreshing without the refresh lock of %s: %s", store.path, exc)
        yield
    finally:
        # Also when cancelled while the thread was acquiring: it has finished by then.
        for lock in held:
            lock.__exit__(None, None, None)


async def off_loop(store: AuthStoreProtocol, call: Callable[[], _T]) -> _T:
    """
    Run a store operation without blocking the event loop.

    File stores read, parse and lock a file (waiting up to their lock timeout), so
    the call runs in a worker thread; a :class:`~modelcfg.auth.MemoryAuthStore`
    answers at once and is called directly, which keeps the common in-memory case cheap.
    """
    if isinstance(store, MemoryAuthStore):
        return call()
    import anyio.to_thread  # here, so that `import modelcfg.auth` does not load anyio

    return await anyio.to_thread.run_sync(call)
