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
   well-known ones (:data:`~modelcfg.auth.DEFAULT_ENV_VARS`). They are used when no profile of
   the order can be used, and are sent with the order's first profile (the one a
   request tries first), so rotation never sends the same key twice; a profile
   outside the order (an explicit ``provider:default`` with nothing stored) also
   falls back to them;
4. none, with a sentence saying what to set.

For one profile (:func:`credential_for`), an OAuth access token close to expiry
is refreshed first and the new tokens are written back (:mod:`modelcfg.auth._refresh`).

The environment is always passed in (``environ``); nothing here reads ``os.environ``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final

import attrs

from modelcfg._core._decide import rotation_order
from modelcfg._core._values import ProfileId
from modelcfg.auth._credentials import (
    ApiKeyCredential,
    Credential,
    OAuthCredential,
    Secret,
    StoredProfile,
    TokenCredential,
    credential_kind,
)
from modelcfg.auth._env import env_key, env_vars_for, missing_hint
from modelcfg.auth._refresh import (
    DEFAULT_REFRESH_SKEW_S,
    Refresher,
    needs_refresh,
    off_loop,
    refreshable_with,
    refreshed,
)
from modelcfg.auth._store import AuthStoreProtocol
from modelcfg.exceptions import CredentialsError

__all__ = [
    "CredentialOrigin",
    "ResolvedCredential",
    "credential_for",
    "effective_order",
    "login_command",
    "mode_mismatch",
    "resolve_credential",
    "unusable_reason",
]


class CredentialOrigin(enum.StrEnum):
    """
    Where a resolved credential came from.

    .. versionadded:: 0.1.0
    """

    PROFILE = "profile"
    ENVIRONMENT = "environment"
    NONE = "none"


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


def _when(at: float | None) -> str:
    if at is None:
        return "an unknown time"
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_ACCEPTS: Final[Mapping[str, frozenset[str]]] = {
    "token": frozenset({"token"}),
}
"""The stored kinds a declared ``mode`` accepts; a mode not listed accepts any kind.
``api_key`` is the mode of a profile declared without one. ``oauth`` takes a
subscription's setup token, and an API key too: ``modelcfg login`` stores one for a
profile declared ``oauth`` when the provider has no OAuth endpoints."""

_KIND_WORDS: Final[Mapping[str, str]] = {
    "api_key": "an API key",
    "token": "a token",
    "oauth": "an OAuth login",
}


def mode_mismatch(stored: StoredProfile, mode: str | None) -> str | None:
    """
    Why *stored* does not fit the ``mode`` the config declares for it, or ``None``.
    """
    accepted = _ACCEPTS.get(mode) if mode is not None else None
    kind = credential_kind(stored.credential)
    if accepted is None or kind in accepted:
        return None
    return (
        f"{stored.profile} skipped: the config declares mode {mode} for it, "
        f"but the auth store holds {_KIND_WORDS[kind]}"
    )


def _unusable(
    stored: StoredProfile, now: float, *, can_refresh: bool = True, mode: str | None = None
) -> str | None:
    """
    Why *stored* cannot be used at *now*, or ``None`` when it can (perhaps after a refresh).

    *can_refresh* says whether OAuth tokens of the provider can be refreshed at all
    (the provider has OAuth endpoints, or the caller has a refresher for it). *mode*
    is the auth mode the config declares for the profile: a credential of a kind it
    does not accept is not used (``token`` accepts a token only; ``oauth`` and
    ``api_key``, the default, accept anything).
    """
    mismatch = mode_mismatch(stored, mode)
    if mismatch is not None:
        return mismatch
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


def unusable_reason(
    stored: StoredProfile, now: float, *, can_refresh: bool = True, mode: str | None = None
) -> str | None:
    """
    Why *stored* cannot be used at *now* (``"p skipped: ..."``), or ``None`` when it can.

    This is the check :func:`resolve_credential` and :func:`credential_for` make of
    each stored profile; the command line uses it to label expired profiles.
    *mode* is the auth mode the config declares for the profile, if any.

    .. versionchanged:: 0.2.0
       Added *mode*.
    """
    return _unusable(stored, now, can_refresh=can_refresh, mode=mode)


def _from_profile(
    stored: StoredProfile, now: float, skew_s: float, *, can_refresh: bool = True
) -> ResolvedCredential:
    credential = stored.credential
    return ResolvedCredential(
        provider=stored.profile.provider,
        origin=CredentialOrigin.PROFILE,
        secret=credential.secret,
        profile=stored.profile,
        credential=credential,
        needs_refresh=can_refresh and needs_refresh(credential, now, skew_s),
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
    env: tuple[str, Secret] | None,
    names: tuple[str, ...],
    order: tuple[ProfileId, ...] | None,
    now: float,
    skew_s: float,
    can_refresh: bool,
    modes: Mapping[ProfileId, str] | None = None,
) -> ResolvedCredential | _Unavailable:
    """
    The one rule: what a call with profile *pid* sends, before any refresh.

    *modes* are the auth modes the config declares; a stored credential of a kind its
    profile's mode does not accept counts as unusable.

    *env* is the provider's environment key (the variable and its value), if any;
    *names* are the variables looked at, for the hint when there is none.
    A usable stored credential is sent. Otherwise the provider's environment key
    stands in when *pid* is the first profile of *order* and no profile of *order*
    can be used, or, for a profile outside *order* (or with no order known), when
    *pid* is ``provider:default`` and nothing is stored for it.
    """

    declared = modes or {}

    def why_not(profile: ProfileId) -> str | None:
        held = store.get(profile)
        if held is None:
            return f"{profile} skipped: not in the auth store"
        return _unusable(held, now, can_refresh=can_refresh, mode=declared.get(profile))

    stored = store.get(pid)
    mode = declared.get(pid)
    if stored is not None and _unusable(stored, now, can_refresh=can_refresh, mode=mode) is None:
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
        if env is not None:
            name, secret = env
            return ResolvedCredential(
                provider=pid.provider,
                origin=CredentialOrigin.ENVIRONMENT,
                secret=secret,
                env_var=name,
                skipped=skipped,
            )
        if stored is None:
            return _Unavailable(skipped=skipped[:1], message=missing_hint(pid.provider, names))
    if stored is None:
        message = f"Profile {pid} is not in the auth store; run {login_command(pid)}."
    elif mode_mismatch(stored, mode) is not None:
        message = (
            f"Profile {pid} cannot be used ({skipped[0].split(': ', 1)[1]}); log in with "
            f"that mode ({login_command(pid)}), or declare the mode of what is stored under "
            f'$.auth.profiles["{pid}"].mode.'
        )
        return _Unavailable(skipped=skipped[:1], message=message)
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
    modes: Mapping[ProfileId, str] | None = None,
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
        modes: The auth mode the config declares for each profile
            (``auth.profiles[id].mode``): a profile declared ``token`` skips a stored
            OAuth login or API key.

    Returns:
        The credential and its source; ``origin == NONE`` with a ``hint`` when nothing
        was found.

    Raises:
        CredentialsError: The explicit *profile* is missing, or expired and not refreshable.
        ValueError: *profile* belongs to another provider.

    .. versionadded:: 0.1.0
    """
    key = provider.strip().lower()
    at = time.time() if now is None else now
    names = env_vars_for(key, env_vars)
    env = env_key(names, environ)
    # The whole environment must not stay in this frame: error trackers record the
    # locals of every frame an exception passes through.
    del environ

    def rule(
        pid: ProfileId, order: tuple[ProfileId, ...] | None
    ) -> ResolvedCredential | _Unavailable:
        return _profile_credential(
            pid,
            store=store,
            env=env,
            names=names,
            order=order,
            now=at,
            skew_s=refresh_skew_s,
            can_refresh=can_refresh,
            modes=modes,
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
        if env is not None:
            return ResolvedCredential(
                provider=key,
                origin=CredentialOrigin.ENVIRONMENT,
                secret=env[1],
                env_var=env[0],
            )
        return ResolvedCredential(
            provider=key, origin=CredentialOrigin.NONE, hint=missing_hint(key, names)
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
        provider=key,
        origin=CredentialOrigin.NONE,
        hint=missing_hint(key, names),
        skipped=tuple(skipped),
    )


async def credential_problem(
    profile: ProfileId,
    *,
    store: AuthStoreProtocol,
    environ: Mapping[str, str],
    env_vars: Iterable[str] = (),
    refresher: Refresher | None = None,
    now: float,
    order: Iterable[ProfileId | str] | None = None,
    modes: Mapping[ProfileId, str] | None = None,
) -> str | None:
    """
    Why a call with *profile* would have no usable credential, or ``None`` when it has one.

    The rule is :func:`credential_for`'s, without refreshing or sending anything: a
    token that a refresh could renew counts as usable. The message says what to set,
    such as ``No credentials for openai: set OPENAI_API_KEY or run `modelcfg login openai`.``
    """
    names = env_vars_for(profile.provider, env_vars)
    env = env_key(names, environ)
    del environ  # kept out of this frame's locals, as in resolve_credential()
    may_refresh = refreshable_with(refresher, profile.provider)
    ids = None if order is None else _as_ids(profile.provider, order)
    result = await off_loop(
        store,
        lambda: _profile_credential(
            profile,
            store=store,
            env=env,
            names=names,
            order=ids,
            now=now,
            skew_s=DEFAULT_REFRESH_SKEW_S,
            can_refresh=may_refresh,
            modes=modes,
        ),
    )
    return result.message if isinstance(result, _Unavailable) else None


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
    modes: Mapping[ProfileId, str] | None = None,
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
        modes: The auth mode the config declares for each profile: a stored
            credential of a kind the mode does not accept is not sent (see
            :func:`resolve_credential`).

    Raises:
        CredentialsError: The profile is missing or its token expired (for rotation,
            an auth failure of that profile).
        RefreshFailedError: The OAuth refresh failed (kind ``AUTH`` when refused) and the
            store holds no other unexpired tokens for the profile.

    .. versionadded:: 0.1.0
    """
    pid = profile if isinstance(profile, ProfileId) else ProfileId.parse(profile)
    at = time.time() if now is None else now
    names = env_vars_for(pid.provider, env_vars)
    env = env_key(names, environ)
    del environ  # kept out of this frame's locals, as in resolve_credential()
    may_refresh = refreshable_with(refresher, pid.provider)
    ids = None if order is None else _as_ids(pid.provider, order)
    result = await off_loop(
        store,
        lambda: _profile_credential(
            pid,
            store=store,
            env=env,
            names=names,
            order=ids,
            now=at,
            skew_s=refresh_skew_s,
            can_refresh=may_refresh,
            modes=modes,
        ),
    )
    if isinstance(result, _Unavailable):
        raise CredentialsError(result.message, provider=pid.provider)
    credential = result.credential
    if refresher is None or not result.needs_refresh or not isinstance(credential, OAuthCredential):
        return result  # from the environment, or nothing to refresh
    fresh = await refreshed(
        pid, credential, store=store, refresher=refresher, now=at, skew_s=refresh_skew_s
    )
    return _from_profile(StoredProfile(profile=pid, credential=fresh), at, refresh_skew_s)
