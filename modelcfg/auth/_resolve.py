"""
Which credential a call uses, and where it came from.

One rule decides, for each profile of a provider's rotation order, what a call
with that profile sends (:func:`credential_for`, used by the executor for each
attempt); :func:`resolve_credential` (used by the command line) walks the order
with the same rule and reports the first profile that sends something. For a
provider, in order:

1. an explicit profile (``/model Opus@anthropic:work``);
2. each profile of the effective order (the store's override, else ``auth.order``
   from config, else every stored profile of the provider, ``default`` first),
   skipping missing profiles and expired tokens that cannot be refreshed (no
   refresh token, or a provider without OAuth endpoints);
3. environment variables: those the provider declares in config, then the
   well-known ones (:data:`DEFAULT_ENV_VARS`). They are used when no profile of
   the order can be used, and are sent with the order's first profile (the one a
   request tries first), so rotation never sends the same key twice; a profile
   outside the order (an explicit ``provider:default`` with nothing stored) also
   falls back to them;
4. none, with a sentence saying what to set.

For one profile (:func:`credential_for`), an OAuth access token close to expiry
is refreshed first and the new tokens are written back.

The environment is always passed in (``environ``); nothing here reads ``os.environ``.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Final, Protocol, TypeVar
from urllib.parse import urlsplit

import attrs

from modelcfg._config._providers import DEFAULT_ENV_VARS
from modelcfg._core._decide import rotation_order
from modelcfg._core._failures import FailureKind
from modelcfg._core._values import ProfileId
from modelcfg._fileio import LockTimeoutError
from modelcfg.auth._credentials import (
    ApiKeyCredential,
    Credential,
    OAuthCredential,
    RefreshFailedError,
    Secret,
    StoredProfile,
    TokenCredential,
)
from modelcfg.auth._store import AuthStore, AuthStoreProtocol, MemoryAuthStore
from modelcfg.exceptions import CredentialsError

__all__ = [
    "DEFAULT_ENV_VARS",
    "DEFAULT_REFRESH_SKEW_S",
    "CredentialOrigin",
    "Refresher",
    "ResolvedCredential",
    "credential_for",
    "effective_order",
    "env_vars_for",
    "keyless_provider",
    "resolve_credential",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

DEFAULT_REFRESH_SKEW_S: Final = 60.0
"""Refresh OAuth access tokens this many seconds before they expire."""

_REFRESH_S: Final = 60.0
"""The longest a refresh and its write-back may hold off a cancellation."""


class CredentialOrigin(enum.StrEnum):
    """
    Where a resolved credential came from.

    .. versionadded:: 0.1.0
    """

    PROFILE = "profile"
    ENVIRONMENT = "environment"
    NONE = "none"


class Refresher(Protocol):
    """
    Gets fresh OAuth tokens for a profile (see :class:`~modelcfg.auth.OAuthRefresher`).

    Raises :class:`~modelcfg.auth.RefreshFailedError` when it cannot.
    """

    async def __call__(
        self, profile: ProfileId, credential: OAuthCredential
    ) -> OAuthCredential: ...


@attrs.frozen(kw_only=True)
class ResolvedCredential:
    """
    The credential a call will use, and where it came from.

    Attributes:
        provider: The provider the credential is for.
        origin: Profile, environment variable, or none.
        secret: The value to send, or ``None`` when nothing was found.
        profile: The profile it came from, for ``origin == PROFILE``.
        env_var: The variable it came from, for ``origin == ENVIRONMENT``.
        credential: The stored credential, for ``origin == PROFILE``.
        needs_refresh: An OAuth access token that expires within the skew and can be
            refreshed (:func:`credential_for` refreshes it).
        hint: For ``origin == NONE``, a sentence saying what to set.
        skipped: One sentence per candidate passed over, in order.

    .. versionadded:: 0.1.0
    """

    provider: str
    origin: CredentialOrigin
    secret: Secret | None = None
    profile: ProfileId | None = None
    env_var: str | None = None
    credential: Credential | None = None
    needs_refresh: bool = False
    hint: str | None = None
    skipped: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """
        Whether a credential was found.
        """
        return self.secret is not None

    @property
    def source(self) -> str:
        """
        Where the credential came from, for people: ``profile anthropic:work (auth store)``.
        """
        match self.origin:
            case CredentialOrigin.PROFILE:
                return f"profile {self.profile} (auth store)"
            case CredentialOrigin.ENVIRONMENT:
                return f"environment variable {self.env_var}"
            case CredentialOrigin.NONE:
                return "none"

    def require(self) -> Secret:
        """
        Return the secret, or raise when there is none.

        Raises:
            CredentialsError: Nothing was found; the message says what to set.
        """
        if self.secret is None:
            raise CredentialsError(
                self.hint or f"No credentials for {self.provider}.", provider=self.provider
            )
        return self.secret


def env_vars_for(provider: str, declared: Iterable[str] = ()) -> tuple[str, ...]:
    """
    Return the environment variables to look at for *provider*, config-declared first.

    .. versionadded:: 0.1.0
    """
    names = (*declared, *DEFAULT_ENV_VARS.get(provider.strip().lower(), ()))
    return tuple(dict.fromkeys(n for n in names if n))


_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def keyless_provider(provider: str, *, base_url: str | None, env_vars: Iterable[str] = ()) -> bool:
    """
    Whether *provider* is a local server that needs no key.

    True when its base URL is on the loopback interface and no environment
    variable is known for its key (``ollama``, ``lmstudio``, a local vLLM): calls
    then go out without credentials instead of failing for want of one.

    .. versionadded:: 0.1.0
    """
    if base_url is None or env_vars_for(provider, env_vars):
        return False
    return urlsplit(base_url).hostname in _LOOPBACK_HOSTS


def effective_order(
    provider: str, *, store: AuthStoreProtocol, order: Iterable[ProfileId | str] = ()
) -> tuple[ProfileId, ...]:
    """
    Return the profiles to try for *provider*, in order.

    The one rule (:func:`modelcfg._core._decide.rotation_order`): the store's
    override (``modelcfg auth order set``) wins; else *order* (the config's
    ``auth.order[provider]``); else every stored profile of the provider, ``default``
    first, then by name; else ``provider:default``. Profiles of other providers are
    dropped.

    .. versionadded:: 0.1.0
    """
    key = provider.strip().lower()
    return rotation_order(
        key,
        override=store.order(key),
        configured=tuple(p if isinstance(p, ProfileId) else ProfileId.parse(p) for p in order),
        stored=tuple(p.profile for p in store.profiles(key)),
    )


def _from_env(
    provider: str, names: tuple[str, ...], environ: Mapping[str, str]
) -> tuple[str, Secret] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value and not any(ch.isspace() for ch in value):
            return name, Secret(value=value)
    return None


def _hint(provider: str, names: tuple[str, ...]) -> str:
    login = f"run `modelcfg login {provider}`"
    if not names:
        return (
            f"No credentials for {provider}: {login}, or declare the environment variable "
            "that holds its key in the provider's config."
        )
    wanted = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
    return f"No credentials for {provider}: set {wanted} or {login}."


def _when(at: float | None) -> str:
    if at is None:
        return "an unknown time"
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _unusable(stored: StoredProfile, now: float, *, can_refresh: bool = True) -> str | None:
    """
    Why *stored* cannot be used at *now*, or ``None`` when it can (perhaps after a refresh).

    *can_refresh* says whether OAuth tokens of the provider can be refreshed at all
    (the provider has OAuth endpoints, or the caller has a refresher for it).
    """
    credential = stored.credential
    match credential:
        case ApiKeyCredential():
            return None
        case TokenCredential(expires_at=expires_at):
            if credential.expired(now):
                return f"{stored.profile} skipped: its token expired at {_when(expires_at)}"
            return None
        case OAuthCredential(expires_at=expires_at):
            if not credential.expired(now):
                return None
            if not credential.refreshable:
                return (
                    f"{stored.profile} skipped: its OAuth access token expired at "
                    f"{_when(expires_at)} and there is no refresh token"
                )
            if not can_refresh:
                return (
                    f"{stored.profile} skipped: its OAuth access token expired at "
                    f"{_when(expires_at)} and nothing can refresh it, since "
                    f"{stored.profile.provider} has no OAuth endpoints"
                )
            return None


def unusable_reason(stored: StoredProfile, now: float, *, can_refresh: bool = True) -> str | None:
    """
    Why *stored* cannot be used at *now* (``"p skipped: ..."``), or ``None`` when it can.

    This is the check :func:`resolve_credential` and :func:`credential_for` make of
    each stored profile; the command line uses it to label expired profiles.
    """
    return _unusable(stored, now, can_refresh=can_refresh)


def _from_profile(
    stored: StoredProfile, now: float, skew_s: float, *, can_refresh: bool = True
) -> ResolvedCredential:
    credential = stored.credential
    needs_refresh = isinstance(credential, OAuthCredential) and (
        can_refresh and credential.refreshable and credential.expired(now, skew_s=skew_s)
    )
    return ResolvedCredential(
        provider=stored.profile.provider,
        origin=CredentialOrigin.PROFILE,
        secret=credential.secret,
        profile=stored.profile,
        credential=credential,
        needs_refresh=needs_refresh,
    )


def login_command(profile: ProfileId) -> str:
    """
    The ``modelcfg login`` command, in backticks, that (re)creates *profile*.
    """
    suffix = "" if profile.name == "default" else f" --profile {profile.name}"
    return f"`modelcfg login {profile.provider}{suffix}`"


@attrs.frozen(kw_only=True)
class _Unavailable:
    """
    A profile that sends nothing: why (for ``skipped``) and the error to raise for it.
    """

    skipped: tuple[str, ...]
    message: str


def _as_ids(provider: str, order: Iterable[ProfileId | str]) -> tuple[ProfileId, ...]:
    ids = (p if isinstance(p, ProfileId) else ProfileId.parse(p) for p in order)
    return tuple(dict.fromkeys(p for p in ids if p.provider == provider))


def _profile_credential(
    pid: ProfileId,
    *,
    store: AuthStoreProtocol,
    environ: Mapping[str, str],
    names: tuple[str, ...],
    order: tuple[ProfileId, ...] | None,
    now: float,
    skew_s: float,
    can_refresh: bool,
) -> ResolvedCredential | _Unavailable:
    """
    The one rule: what a call with profile *pid* sends, before any refresh.

    A usable stored credential is sent. Otherwise the provider's environment key
    stands in when *pid* is the first profile of *order* and no profile of *order*
    can be used, or, for a profile outside *order* (or with no order known), when
    *pid* is ``provider:default`` and nothing is stored for it.
    """

    def why_not(profile: ProfileId) -> str | None:
        held = store.get(profile)
        if held is None:
            return f"{profile} skipped: not in the auth store"
        return _unusable(held, now, can_refresh=can_refresh)

    stored = store.get(pid)
    if stored is not None and _unusable(stored, now, can_refresh=can_refresh) is None:
        return _from_profile(stored, now, skew_s, can_refresh=can_refresh)
    skipped: tuple[str, ...] = (str(why_not(pid)),)  # missing or unusable: never None here
    if order is not None and pid in order:
        # The environment stands in for the first profile, once the others are all unusable.
        stands_in = pid == order[0]
        for other in order[1:] if stands_in else ():
            reason = why_not(other)
            if reason is None:
                stands_in = False
                break
            skipped += (reason,)
    else:
        stands_in = pid.name == "default" and stored is None
    if stands_in:
        found = _from_env(pid.provider, names, environ)
        if found is not None:
            name, secret = found
            return ResolvedCredential(
                provider=pid.provider,
                origin=CredentialOrigin.ENVIRONMENT,
                secret=secret,
                env_var=name,
                skipped=skipped,
            )
        if stored is None:
            return _Unavailable(skipped=skipped[:1], message=_hint(pid.provider, names))
    if stored is None:
        message = f"Profile {pid} is not in the auth store; run {login_command(pid)}."
    else:
        fix = f"run {login_command(pid)}"
        if _unusable(stored, now) is None:  # only the missing endpoints stop a refresh
            fix = f"configure OAuth endpoints under $.providers.{pid.provider}.oauth, or {fix}"
        message = f"Profile {pid} cannot be used ({skipped[0].split(': ', 1)[1]}); {fix}."
    return _Unavailable(skipped=skipped[:1], message=message)


def resolve_credential(
    provider: str,
    *,
    store: AuthStoreProtocol,
    environ: Mapping[str, str],
    profile: ProfileId | str | None = None,
    order: Iterable[ProfileId | str] = (),
    env_vars: Iterable[str] = (),
    now: float | None = None,
    refresh_skew_s: float = DEFAULT_REFRESH_SKEW_S,
    can_refresh: bool = True,
) -> ResolvedCredential:
    """
    Find the credential for *provider*: explicit profile, order, environment, none.

    It applies, profile by profile along the order, the rule :func:`credential_for`
    applies to each attempt, and returns the first profile that sends something:
    what a request would send first. It never performs a network call: an OAuth
    token that needs refreshing is returned with ``needs_refresh=True`` (use
    :func:`credential_for` to refresh it).

    Args:
        provider: The provider id.
        store: The auth store.
        environ: The environment to read keys from (pass ``os.environ`` explicitly).
        profile: A profile the user named explicitly; it must be usable, except that a
            missing ``provider:default`` falls back to the environment.
        order: The config's ``auth.order[provider]`` (or the whole rotation order).
        env_vars: Extra variable names the provider declares in config (tried first).
        now: Seconds since the epoch; defaults to the current time.
        refresh_skew_s: How early before expiry an OAuth token counts as needing a refresh.
        can_refresh: Whether OAuth tokens of *provider* can be refreshed (its config
            names OAuth endpoints); when not, an expired OAuth access token is skipped
            like an expired token.

    Returns:
        The credential and its source; ``origin == NONE`` with a ``hint`` when nothing
        was found.

    Raises:
        CredentialsError: The explicit *profile* is missing, or expired and not refreshable.
        ValueError: *profile* belongs to another provider.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.1.0
       The environment stands in for the order's first profile only when no profile
       of the order can be used, exactly as :func:`credential_for` sends it; added
       *can_refresh*.
    """
    key = provider.strip().lower()
    at = time.time() if now is None else now
    names = env_vars_for(key, env_vars)

    def rule(
        pid: ProfileId, order: tuple[ProfileId, ...] | None
    ) -> ResolvedCredential | _Unavailable:
        return _profile_credential(
            pid,
            store=store,
            environ=environ,
            names=names,
            order=order,
            now=at,
            skew_s=refresh_skew_s,
            can_refresh=can_refresh,
        )

    if profile is not None:
        explicit = profile if isinstance(profile, ProfileId) else ProfileId.parse(profile)
        if explicit.provider != key:
            raise ValueError(
                f"Profile {explicit} belongs to provider {explicit.provider!r}, not to {key!r}."
            )
        result = rule(explicit, None)
        if isinstance(result, ResolvedCredential):
            return result
        if explicit.name != "default" or store.get(explicit) is not None:
            raise CredentialsError(result.message, provider=key)
        return ResolvedCredential(
            provider=key, origin=CredentialOrigin.NONE, hint=result.message, skipped=result.skipped
        )
    candidates = effective_order(key, store=store, order=order)
    if not candidates:
        found = _from_env(key, names, environ)
        if found is not None:
            return ResolvedCredential(
                provider=key,
                origin=CredentialOrigin.ENVIRONMENT,
                secret=found[1],
                env_var=found[0],
            )
        return ResolvedCredential(
            provider=key, origin=CredentialOrigin.NONE, hint=_hint(key, names)
        )
    skipped: list[str] = []
    for candidate in candidates:
        result = rule(candidate, candidates)
        if isinstance(result, ResolvedCredential):
            if result.origin is CredentialOrigin.ENVIRONMENT:
                return result  # its skipped already explains every profile of the order
            return attrs.evolve(result, skipped=tuple(skipped))
        skipped += result.skipped
    return ResolvedCredential(
        provider=key, origin=CredentialOrigin.NONE, hint=_hint(key, names), skipped=tuple(skipped)
    )


def _can_refresh(refresher: Refresher | None, provider: str) -> bool:
    """
    Whether *refresher* can refresh OAuth tokens of *provider*.

    An :class:`~modelcfg.auth.OAuthRefresher` says so (``can_refresh()``); any other
    refresher is trusted to try.
    """
    if refresher is None:
        return False
    ask = getattr(refresher, "can_refresh", None)
    return bool(ask(provider)) if callable(ask) else True


async def credential_for(
    profile: ProfileId | str,
    *,
    store: AuthStoreProtocol,
    environ: Mapping[str, str],
    env_vars: Iterable[str] = (),
    refresher: Refresher | None = None,
    now: float | None = None,
    refresh_skew_s: float = DEFAULT_REFRESH_SKEW_S,
    order: Iterable[ProfileId | str] | None = None,
) -> ResolvedCredential:
    """
    Return the credential of one profile, refreshing OAuth tokens that are about to expire.

    This is what the executor calls for each attempt's profile, and the rule
    :func:`resolve_credential` applies along the order: a usable stored credential
    is sent; when no profile of *order* can be used, the environment key is sent
    with the order's first profile; a profile outside *order* (or any profile when
    *order* is ``None``) falls back to the environment only as ``provider:default``
    with nothing stored. Refreshed tokens are written back with
    :meth:`~modelcfg.auth.AuthStore.replace_if_unchanged`: when another process
    refreshed first, its tokens are used, even when the server refused our refresh
    because the other process had already spent the refresh token.

    Store reads and writes run in a worker thread (a file store may wait for
    another process's lock), so the event loop is never blocked;
    a :class:`~modelcfg.auth.MemoryAuthStore` is called directly.

    Args:
        profile: The profile the attempt uses.
        store: The auth store.
        environ: The environment, for the environment fallback.
        env_vars: Variable names the provider declares in config.
        refresher: Gets new OAuth tokens; without one (or one that cannot refresh the
            provider), a token within the skew is used as it is until it has actually
            expired, and then counts as unusable.
        now: Seconds since the epoch; defaults to the current time.
        refresh_skew_s: Refresh this many seconds before expiry.
        order: The provider's rotation order (the routes' ``auth_order[provider]``).

    Raises:
        CredentialsError: The profile is missing or its token expired (for rotation,
            an auth failure of that profile).
        RefreshFailedError: The OAuth refresh failed (kind ``AUTH`` when refused) and the
            store holds no other unexpired tokens for the profile.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.1.0
       Store I/O runs in a worker thread; a refused refresh falls back to tokens
       another process stored meanwhile; added *order*, so that the environment
       key stands in for a rotation order with nothing usable stored.
    """
    pid = profile if isinstance(profile, ProfileId) else ProfileId.parse(profile)
    at = time.time() if now is None else now
    names = env_vars_for(pid.provider, env_vars)
    can_refresh = _can_refresh(refresher, pid.provider)
    ids = None if order is None else _as_ids(pid.provider, order)
    result = await _off_loop(
        store,
        lambda: _profile_credential(
            pid,
            store=store,
            environ=environ,
            names=names,
            order=ids,
            now=at,
            skew_s=refresh_skew_s,
            can_refresh=can_refresh,
        ),
    )
    if isinstance(result, _Unavailable):
        raise CredentialsError(result.message, provider=pid.provider)
    if result.credential is None:
        return result  # from the environment
    credential, resolved = result.credential, result
    if (
        refresher is None
        or not resolved.needs_refresh
        or not isinstance(credential, OAuthCredential)
    ):
        return resolved  # (needs_refresh is only set when a refresher can refresh it)
    async with _refresh_turn(store):
        # Whoever held the turn before us may have refreshed already: use its tokens.
        current = await _off_loop(store, lambda: store.get(pid))
        if current is not None and current.credential != credential:
            latest = _from_profile(current, at, refresh_skew_s)
            if _usable_now(current, at) and not latest.needs_refresh:
                logger.debug("Another writer refreshed %s first; using its tokens.", pid)
                return latest
            if isinstance(current.credential, OAuthCredential) and current.credential.refreshable:
                credential = current.credential
        logger.debug("Refreshing the OAuth tokens of %s before they expire.", pid)
        import anyio  # here, so that `import modelcfg.auth` does not load anyio

        # Shielded, within a bound: a server that rotates refresh tokens has spent
        # the old one once it answers, so the new tokens must reach the store even
        # when the caller is cancelled meanwhile (the cancellation lands afterwards).
        with anyio.move_on_after(_REFRESH_S, shield=True) as scope:
            try:
                fresh = await refresher(pid, credential)
            except RefreshFailedError:
                # A process that does not take the refresh turn (another store object,
                # an older modelcfg) may have refreshed meanwhile: a server that rotates
                # refresh tokens then refuses ours, yet the store holds working tokens.
                winner = await _off_loop(store, lambda: store.get(pid))
                if (
                    winner is not None
                    and winner.credential != credential
                    and _usable_now(winner, at)
                ):
                    logger.debug("Another writer refreshed %s first; using its tokens.", pid)
                    return _from_profile(winner, at, refresh_skew_s)
                raise
            expected = credential
            stored_now = await _off_loop(
                store, lambda: store.replace_if_unchanged(pid, expected=expected, new=fresh)
            )
        if scope.cancelled_caught:
            raise RefreshFailedError(
                f"Refreshing the OAuth tokens of {pid} took longer than {_REFRESH_S:g} s.",
                provider=pid.provider,
                profile=pid,
                kind=FailureKind.TIMEOUT,
            )
    if stored_now is None:
        # The profile was removed (logout) while we refreshed; do not resurrect it.
        raise CredentialsError(
            f"Profile {pid} was removed from the auth store during a token refresh.",
            provider=pid.provider,
        )
    if stored_now != fresh:
        logger.debug("Another writer refreshed %s first; using its tokens.", pid)
    return _from_profile(StoredProfile(profile=pid, credential=stored_now), at, refresh_skew_s)


def _usable_now(stored: StoredProfile, now: float) -> bool:
    """
    Whether *stored* can be sent as it is at *now*: usable and not expired.
    """
    return _unusable(stored, now) is None and not stored.credential.expired(now)


@contextlib.asynccontextmanager
async def _refresh_turn(store: AuthStoreProtocol) -> AsyncIterator[None]:
    """
    Hold the store's refresh lock (file stores only) for the ``async with`` block.

    When the lock cannot be had (timeout, read-only directory), the refresh goes
    ahead without it: the refusal fallback in :func:`credential_for` still applies.
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


async def _off_loop(store: AuthStoreProtocol, call: Callable[[], _T]) -> _T:
    """
    Run a store operation without blocking the event loop.

    File stores read, parse and lock a file (waiting up to their lock timeout), so
    the call runs in a worker thread; a :class:`MemoryAuthStore` answers at once
    and is called directly, which keeps the common in-memory case cheap.
    """
    if isinstance(store, MemoryAuthStore):
        return call()
    import anyio.to_thread  # here, so that `import modelcfg.auth` does not load anyio

    return await anyio.to_thread.run_sync(call)
