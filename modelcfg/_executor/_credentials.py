"""
Where the executor gets the secret to send for a profile.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import anyio

from modelcfg._config._schema import AuthMode
from modelcfg._core._values import ProfileId
from modelcfg.exceptions import (
    CredentialsError,
)

if TYPE_CHECKING:
    from modelcfg.auth import AuthStoreProtocol, Refresher
    from modelcfg.auth._uses import UseRecorder
    from modelcfg.typing import Clock


# --- credentials ----------------------------------------------------------------------------


class CredentialSource(Protocol):
    """
    Gives the secret to send for a profile, or ``None`` for a provider that needs none.

    Raises:
        CredentialsError: The profile has no usable credential (an auth failure of
            that profile, so the core rotates).
    """

    async def credential(self, profile: ProfileId) -> str | None: ...


class CredentialCheck(Protocol):
    """
    A credential source that can tell, without sending anything, that a profile has no
    usable credential: the executor then skips the profile before any call.
    """

    async def missing(self, profile: ProfileId) -> str | None:
        """
        What to set for *profile* (``set OPENAI_API_KEY or run modelcfg login openai``),
        or ``None`` when it has a usable credential or needs none.
        """
        ...


class StaticCredentials:
    """
    Credentials from a fixed mapping of profile to secret (tests, demos, simple hosts).

    A profile that is not in the mapping has no credential: providers that need
    none (local servers) work, others answer 401, which rotates.
    """

    def __init__(
        self, secrets_by_profile: Mapping[ProfileId, str] | Mapping[str, str] | None = None
    ) -> None:
        items = (secrets_by_profile or {}).items()
        self._secrets = {
            (p if isinstance(p, ProfileId) else ProfileId.parse(p)): s for p, s in items
        }

    def __repr__(self) -> str:
        return f"StaticCredentials(<{len(self._secrets)} profiles>)"

    async def credential(self, profile: ProfileId) -> str | None:
        return self._secrets.get(profile)


class StoreCredentials:
    """
    Credentials from the auth store, then the environment key.

    The environment key stands in for the first profile of the provider's order
    (*orders*) when no profile of that order is usable, and for a missing
    ``provider:default`` outside it: the rule ``modelcfg models list`` reports
    with (:func:`~modelcfg.auth.credential_for`). OAuth tokens about to expire
    are refreshed (one refresh per profile at a time in this process) and
    written back to the store. Providers in *keyless* (local servers) are called
    without a credential when none is stored. A profile whose declared auth mode
    (*modes*, the config's ``auth.profiles[id].mode``) does not accept the kind of
    credential stored for it is skipped, with the mismatch named.
    """

    def __init__(
        self,
        store: AuthStoreProtocol,
        *,
        environ: Mapping[str, str],
        env_vars: Mapping[str, Sequence[str]] | None = None,
        refresher: Refresher | None = None,
        keyless: frozenset[str] = frozenset(),
        clock: Clock = time.time,
        orders: Mapping[str, Sequence[ProfileId]] | None = None,
        modes: Mapping[ProfileId, str] | None = None,
    ) -> None:
        self._store = store
        self._modes = dict(modes or {})
        self.kinds: dict[ProfileId, str] = {}
        """The kind of credential last sent for each profile (``api_key``, ``token`` or
        ``oauth``; an environment key is an API key)."""
        self._uses: UseRecorder | None = None
        self._stored: set[ProfileId] = set()  # profiles whose last lookup sent the stored one
        self._orders = {p: tuple(o) for p, o in (orders or {}).items()}
        self._environ = environ
        self._env_vars = dict(env_vars or {})
        self._refresher = refresher
        self._keyless = keyless
        self._clock = clock
        self._locks: dict[ProfileId, anyio.Lock] = {}

    def __repr__(self) -> str:
        return f"StoreCredentials({self._store!r})"

    async def missing(self, profile: ProfileId) -> str | None:
        """
        What to set for *profile*, read afresh from the store and the environment, or
        ``None`` when it has a usable (or refreshable) credential or its provider needs none.
        """
        from modelcfg.auth._resolve import credential_problem

        problem = await credential_problem(
            profile,
            store=self._store,
            environ=self._environ,
            env_vars=self._env_vars.get(profile.provider, ()),
            refresher=self._refresher,
            now=self._clock(),
            order=self._orders.get(profile.provider),
            modes=self._modes,
        )
        if (
            problem is not None
            and profile.provider in self._keyless
            and self._store.get(profile) is None
        ):
            return None  # a local server that needs no key
        return problem

    async def credential(self, profile: ProfileId) -> str | None:
        from modelcfg.auth import CredentialOrigin, credential_for
        from modelcfg.auth._credentials import credential_kind

        lock = self._locks.setdefault(profile, anyio.Lock())
        async with lock:
            try:
                resolved = await credential_for(
                    profile,
                    store=self._store,
                    environ=self._environ,
                    env_vars=self._env_vars.get(profile.provider, ()),
                    refresher=self._refresher,
                    now=self._clock(),
                    order=self._orders.get(profile.provider),
                    modes=self._modes,
                )
            except CredentialsError:
                if profile.provider in self._keyless and self._store.get(profile) is None:
                    return None  # a local server that needs no key
                raise
        if resolved.origin is CredentialOrigin.PROFILE:
            self._stored.add(profile)
        else:
            self._stored.discard(profile)
        stored = resolved.credential
        if resolved.found:
            self.kinds[profile] = credential_kind(stored) if stored is not None else "api_key"
        return resolved.require().reveal() if resolved.found else None

    def used(self, profile: ProfileId, at: float) -> None:
        """
        Record that an attempt with *profile* succeeded at *at*: the stored profile's
        ``last_used_at``, written in batches off the request's path (a use of the
        environment key is not the stored profile's).
        """
        if profile not in self._stored:
            return
        uses = self._uses
        if uses is None:
            from modelcfg.auth._uses import UseRecorder

            uses = self._uses = UseRecorder(self._store)
        uses.record(profile, at)

    def flush(self) -> None:
        """
        Write the recorded uses to the store now.
        """
        if self._uses is not None:
            self._uses.flush()


def auth_mode(
    source: CredentialSource, declared: Mapping[ProfileId, AuthMode], profile: ProfileId
) -> AuthMode:
    """
    How *profile* authenticates: the kind of credential *source* last sent for it (so
    a login made while the process runs counts), else *declared* (the config's mode,
    or the stored kind when the executor was built), else an API key.
    """
    kinds: Mapping[ProfileId, str] | None = getattr(source, "kinds", None)
    kind = kinds.get(profile) if kinds is not None else None
    return AuthMode(kind) if kind is not None else declared.get(profile, AuthMode.API_KEY)
