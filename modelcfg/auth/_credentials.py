"""
Credentials as frozen values, and the secret wrapper that keeps them out of sight.

A :class:`Secret` never shows its value in ``repr``, ``str`` or formatting; code
that needs the value calls :meth:`Secret.reveal` explicitly, which makes every
place that handles the raw credential easy to find.

This module also holds the JSON codec of one stored profile (``kind``-tagged),
used by the file store.
"""

from __future__ import annotations

import hmac
import math
import sys
from typing import Final, TypeAlias

import attrs

from modelcfg._config._problems import at_path, json_type, key_path, quoted
from modelcfg._core._failures import Failure, FailureKind
from modelcfg._core._redact import redact
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg.exceptions import CredentialsError
from modelcfg.typing import JSON, JSONObject

__all__ = [
    "ApiKeyCredential",
    "Credential",
    "OAuthCredential",
    "OAuthError",
    "RefreshFailedError",
    "Secret",
    "StoredProfile",
    "TokenCredential",
    "credential_kind",
    "profile_from_json",
    "profile_to_json",
]

_MIN_LEN_FOR_HINT: Final = 20


class Secret:
    """
    A credential value that never prints itself.

    ``repr``/``str`` give ``Secret('sk-…')``: at most a three-character prefix of
    a long value, so a log still tells an OpenAI-style key from a JWT. Equality
    and hashing compare values, so stores can tell whether a credential changed.

    It is deliberately not an attrs class: ``attrs.asdict()`` and cattrs treat it
    as an opaque leaf and never copy its value into a dictionary. It cannot be
    pickled.

    Args:
        value: The raw value; read it back with :meth:`reveal`.

    Raises:
        TypeError: *value* is not a string.
        ValueError: *value* is empty or has surrounding white space.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_value",)

    _value: str

    def __init__(self, *, value: str) -> None:
        # A refused value is deleted before raising: error trackers record frame locals.
        given: object = value  # checked at run time too: callers may pass anything
        del value
        if not isinstance(given, str):
            kind = type(given).__name__
            del given
            raise TypeError(f"A secret must be a string, not {kind}.")
        if not given or given != given.strip():
            del given
            raise ValueError("A secret must be non-empty and have no surrounding white space.")
        object.__setattr__(self, "_value", given)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("A Secret is immutable.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("A Secret is immutable.")

    def reveal(self) -> str:
        """
        Return the raw value, for sending it to a provider or writing the auth store.
        """
        return self._value

    def masked(self) -> str:
        """
        Return a short, safe hint for people: ``sk-…6789`` for long values, ``…`` otherwise.

        Seven characters of a value of at least twenty are shown; use it where a
        user must tell two keys apart (``auth status``), not in logs.
        """
        if len(self._value) < _MIN_LEN_FOR_HINT:
            return "…"
        return f"{self._value[:3]}…{self._value[-4:]}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        # surrogatepass: a value read from JSON may hold a lone surrogate (a \ud800 escape).
        return hmac.compare_digest(
            self._value.encode("utf-8", "surrogatepass"),
            other._value.encode("utf-8", "surrogatepass"),
        )

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __repr__(self) -> str:
        prefix = self._value[:3] if len(self._value) >= _MIN_LEN_FOR_HINT else ""
        return f"Secret('{prefix}…')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return format(repr(self), format_spec)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("A Secret cannot be pickled: store it through an auth store instead.")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, _memo: object) -> Secret:
        return self


def _to_secret(value: Secret | str) -> Secret:
    """
    *value* as a :class:`Secret`; text is stripped first (a key read from a file ends in a newline).

    Stripping here, rather than refusing, also keeps a padded key out of the
    frames of a ``ValueError`` raised through a credential's ``__init__``.
    """
    if isinstance(value, Secret):
        return value
    return Secret(value=value.strip() if isinstance(value, str) else value)


def _to_optional_secret(value: Secret | str | None) -> Secret | None:
    return None if value is None else _to_secret(value)


def _finite(value: object) -> bool:
    """
    Whether *value* is a number a float can hold: finite, and no whole number too large.

    Whole numbers are compared exactly, so one with hundreds of digits is refused
    instead of raising ``OverflowError`` on its way to a float.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -sys.float_info.max <= value <= sys.float_info.max
    return isinstance(value, float) and math.isfinite(value)


def _check_epoch(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is None:
        return
    if not _finite(value):
        raise ValueError(f"{attribute.name} must be seconds since the epoch, not {shown(value)}")
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {shown(value)}")


@attrs.frozen
class LongNumber:
    """
    A whole number in a JSON file with more digits than Python converts.

    :func:`whole_number` makes one instead of failing, so that the number is
    reported at its ``$.path`` like any other wrong value.
    """

    digits: int


def whole_number(text: str) -> int | LongNumber:
    """
    The ``parse_int`` hook of :func:`json.loads`: *text* as an int, or a :class:`LongNumber`.
    """
    limit = sys.get_int_max_str_digits()
    digits = len(text.lstrip("-"))
    return LongNumber(digits=digits) if limit and digits > limit else int(text)


def shown(value: object) -> str:
    """
    *value* as a message about a JSON file may show it (:func:`json_type`'s words),
    with key-shaped text in a string masked and a number too long to read as its size.
    """
    match value:
        case LongNumber(digits=digits):
            return f"a number with {digits} digits"
        case str():
            return json_type(redact(value))
        case _:
            return json_type(value)


def named(key: object) -> str:
    """
    A key of a JSON object as a message names it: quoted, key-shaped text masked.
    """
    return quoted(redact(key)) if isinstance(key, str) else json_type(key)


@attrs.frozen(kw_only=True)
class ApiKeyCredential:
    """
    A static API key.

    Attributes:
        key: The key.

    .. versionadded:: 0.1.0
    """

    key: Secret = attrs.field(converter=_to_secret)

    @property
    def secret(self) -> Secret:
        """
        The value to send to the provider.
        """
        return self.key

    def expired(self, now: float, *, skew_s: float = 0.0) -> bool:
        """
        An API key never expires on its own.
        """
        return False


@attrs.frozen(kw_only=True)
class TokenCredential:
    """
    A bearer token, optionally with an expiry and no way to refresh it.

    Attributes:
        token: The token.
        expires_at: When it stops working, in seconds since the epoch, or ``None``.

    .. versionadded:: 0.1.0
    """

    token: Secret = attrs.field(converter=_to_secret)
    expires_at: float | None = attrs.field(default=None, validator=_check_epoch)

    @property
    def secret(self) -> Secret:
        """
        The value to send to the provider.
        """
        return self.token

    def expired(self, now: float, *, skew_s: float = 0.0) -> bool:
        """
        Whether the token has expired at *now*, or will within *skew_s*.
        """
        return self.expires_at is not None and self.expires_at <= now + skew_s


@attrs.frozen(kw_only=True)
class OAuthCredential:
    """
    Tokens from an OAuth 2 login: an access token and, usually, a refresh token.

    Attributes:
        access: The access token sent with requests.
        refresh: The refresh token that gets a new access token, or ``None``.
        expires_at: When the access token expires, in seconds since the epoch.
        email: The account the tokens belong to, when the provider said.

    .. versionadded:: 0.1.0
    """

    access: Secret = attrs.field(converter=_to_secret)
    refresh: Secret | None = attrs.field(default=None, converter=_to_optional_secret)
    expires_at: float | None = attrs.field(default=None, validator=_check_epoch)
    email: str | None = None

    @property
    def secret(self) -> Secret:
        """
        The value to send to the provider.
        """
        return self.access

    def expired(self, now: float, *, skew_s: float = 0.0) -> bool:
        """
        Whether the access token has expired at *now*, or will within *skew_s*.
        """
        return self.expires_at is not None and self.expires_at <= now + skew_s

    @property
    def refreshable(self) -> bool:
        """
        Whether a refresh token is available.
        """
        return self.refresh is not None


Credential: TypeAlias = ApiKeyCredential | TokenCredential | OAuthCredential
"""Any credential the auth store holds."""


def credential_kind(credential: Credential) -> str:
    """
    Return the stored ``kind`` tag of *credential*: ``api_key``, ``token`` or ``oauth``.
    """
    match credential:
        case ApiKeyCredential():
            return "api_key"
        case TokenCredential():
            return "token"
        case OAuthCredential():
            return "oauth"


@attrs.frozen(kw_only=True)
class StoredProfile:
    """
    One profile of the auth store: its id, its credential and small usage stats.

    Attributes:
        profile: The profile id; its provider is the credential's provider.
        credential: The credential.
        last_used_at: When a request last used it, if recorded.
        last_failure_at: When a request with it last failed, if recorded.

    .. versionadded:: 0.1.0
    """

    profile: ProfileId
    credential: Credential
    last_used_at: float | None = attrs.field(default=None, validator=_check_epoch)
    last_failure_at: float | None = attrs.field(default=None, validator=_check_epoch)

    @property
    def kind(self) -> str:
        """
        The credential's kind tag.
        """
        return credential_kind(self.credential)


def profile_to_json(stored: StoredProfile) -> JSONObject:
    """
    Return the auth-store JSON object of *stored*, secrets included.

    Only the auth store may write this object anywhere.
    """
    out: JSONObject = {
        "kind": credential_kind(stored.credential),
        "provider": stored.profile.provider,
    }
    match stored.credential:
        case ApiKeyCredential(key=key):
            out["key"] = key.reveal()
        case TokenCredential(token=token, expires_at=expires_at):
            out["token"] = token.reveal()
            out["expires_at"] = expires_at
        case OAuthCredential(access=access, refresh=refresh, expires_at=expires_at, email=email):
            out["access"] = access.reveal()
            out["refresh"] = refresh.reveal() if refresh is not None else None
            out["expires_at"] = expires_at
            out["email"] = email
    if stored.last_used_at is not None:
        out["last_used_at"] = stored.last_used_at
    if stored.last_failure_at is not None:
        out["last_failure_at"] = stored.last_failure_at
    return out


_FIELDS: Final[dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    # kind: (required secret fields, optional fields)
    "api_key": (frozenset({"key"}), frozenset()),
    "token": (frozenset({"token"}), frozenset({"expires_at"})),
    "oauth": (frozenset({"access"}), frozenset({"refresh", "expires_at", "email"})),
}
_COMMON: Final = frozenset({"kind", "provider", "last_used_at", "last_failure_at"})


def _string(obj: JSONObject, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(at_path(key_path(where, key), "must be a non-empty string"))
    return value


def _optional_string(obj: JSONObject, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(at_path(key_path(where, key), "must be a non-empty string or null"))
    return value


def _optional_time(obj: JSONObject, key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if not _finite(value) or not isinstance(value, int | float) or value < 0:
        raise ValueError(
            at_path(
                key_path(where, key),
                f"must be a number of seconds since the epoch or null, not {shown(value)}",
            )
        )
    return float(value)


def profile_from_json(profile: ProfileId, obj: JSON, *, where: str) -> StoredProfile:
    """
    Build a :class:`StoredProfile` from its auth-store JSON object.

    Args:
        profile: The id the object is stored under.
        obj: The JSON object.
        where: Its JSON path, for error messages (``$.profiles['openai:default']``).

    Raises:
        ValueError: The object is malformed; the message is ``"$.path: what is wrong"``
            and never holds a secret.
    """
    if not isinstance(obj, dict):
        raise ValueError(at_path(where, f"must be an object, not {shown(obj)}"))
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise ValueError(
            at_path(key_path(where, "kind"), "must be one of 'api_key', 'token', 'oauth'")
        )
    required, optional = _FIELDS[kind]
    unknown = sorted(set(obj) - required - optional - _COMMON)
    if unknown:
        raise ValueError(at_path(where, f"unknown keys {', '.join(named(k) for k in unknown)}"))
    provider = obj.get("provider", profile.provider)
    if provider != profile.provider:
        raise ValueError(
            at_path(
                key_path(where, "provider"),
                f"is {shown(provider)} but the profile id names {profile.provider!r}",
            )
        )
    credential: Credential
    if kind == "api_key":
        credential = ApiKeyCredential(key=_string(obj, "key", where).strip())
    elif kind == "token":
        credential = TokenCredential(
            token=_string(obj, "token", where).strip(),
            expires_at=_optional_time(obj, "expires_at", where),
        )
    else:
        refresh = _optional_string(obj, "refresh", where)
        credential = OAuthCredential(
            access=_string(obj, "access", where).strip(),
            refresh=refresh.strip() if refresh is not None else None,
            expires_at=_optional_time(obj, "expires_at", where),
            email=_optional_string(obj, "email", where),
        )
    return StoredProfile(
        profile=profile,
        credential=credential,
        last_used_at=_optional_time(obj, "last_used_at", where),
        last_failure_at=_optional_time(obj, "last_failure_at", where),
    )


class OAuthError(CredentialsError):
    """
    An OAuth login or token request failed.

    Attributes:
        provider: The provider whose login failed.
        error: The OAuth ``error`` code the server returned (``invalid_grant``, ...), if any.
        status: The HTTP status of the token endpoint's answer, if there was one.
        kind: How the executor should classify the failure.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        error: str | None = None,
        status: int | None = None,
        kind: FailureKind = FailureKind.AUTH,
    ) -> None:
        super().__init__(redact(message), provider=provider)
        self.error = error
        self.status = status
        self.kind = kind


class RefreshFailedError(OAuthError):
    """
    Refreshing an OAuth access token failed; for rotation this is an auth failure.

    A rejected refresh token (``invalid_grant``, 400/401) has kind ``AUTH``; a
    network problem on the way to the token endpoint has kind ``CONNECTION`` or
    ``TIMEOUT``.

    Attributes:
        profile: The profile whose tokens could not be refreshed, when known.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        profile: ProfileId | None = None,
        error: str | None = None,
        status: int | None = None,
        kind: FailureKind = FailureKind.AUTH,
    ) -> None:
        super().__init__(message, provider=provider, error=error, status=status, kind=kind)
        self.profile = profile

    def to_failure(self, *, observed_at: float, model: ModelRef | None = None) -> Failure:
        """
        Return the :class:`~modelcfg.Failure` the decision core should see for this error.
        """
        return Failure(
            kind=self.kind,
            observed_at=observed_at,
            status=self.status,
            message=str(self),
            model=model,
            profile=self.profile,
            code=self.error or "oauth_refresh_failed",
        )
