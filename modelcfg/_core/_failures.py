"""
The closed set of ways a provider call can fail, and the observation fed to the core.

A :class:`Failure` is plain frozen data: it never holds an exception object, so
state that records failures always serialises. Messages are redacted on the way
in, so a key echoed back by a provider never reaches state, logs or reprs.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from modelcfg._core._redact import redact
from modelcfg._core._values import ModelRef, ProfileId

__all__ = ["DEADLINE_CODE", "Failure", "FailureKind"]


class FailureKind(enum.StrEnum):
    """
    What went wrong with one attempt, as far as routing cares.

    The set is closed: adding a member needs a changelog entry and a rule in the
    decision core.
    """

    AUTH = "auth"
    """401/403, an expired token or a failed OAuth refresh: try another profile."""
    AUTH_PERMANENT = "auth_permanent"
    """A revoked, deleted or deactivated key: disable the profile for long."""
    RATE_LIMITED = "rate_limited"
    """429 or a quota message: honour Retry-After, rotate the profile, then fall back."""
    OVERLOADED = "overloaded"
    """529 or 503 "overloaded": the provider is busy for everyone."""
    BILLING = "billing"
    """402 or insufficient credit: disable the profile for a short window."""
    TIMEOUT = "timeout"
    """No response, or no first token, within the limit."""
    CONNECTION = "connection"
    """Connection refused or reset, or a name that does not resolve."""
    SERVER = "server"
    """A 5xx other than overload."""
    MODEL_NOT_FOUND = "model_not_found"
    """The provider does not serve this model (404 model, unknown model)."""
    CONTEXT_OVERFLOW = "context_overflow"
    """The prompt does not fit the model's context window."""
    CONTENT_FILTER = "content_filter"
    """The provider refused the content; never retried by default."""
    INVALID_REQUEST = "invalid_request"
    """Any other 400/422: the request itself is wrong; never retried by default."""
    UNSUPPORTED = "unsupported"
    """A 400 saying the model does not support a capability or parameter the request
    used (tools, images, JSON output, ...): the next model, never this one again for it."""
    STREAM_INTERRUPTED = "stream_interrupted"
    """A stream was cut or stalled after it started; never a success."""
    UNKNOWN = "unknown"
    """Anything not recognised."""


DEADLINE_CODE: Final = "deadline"
"""
The code of a failure that the request's own deadline caused.

The executor bounds every attempt by the request's deadline, and
:func:`~modelcfg.adapters.classify` gives the error it raises then this code. Such a
failure says nothing about the target: the core keeps it in the request's history and
leaves the shared health alone (a half-open probe is given back).
"""

_MAX_MESSAGE: Final = 500

_EARLIEST_AT: Final = -62_135_596_800.0
"""0001-01-01T00:00:00Z in seconds since the epoch, the earliest time a clock can print."""
_LATEST_AT: Final = 253_402_300_799.0
"""9999-12-31T23:59:59Z in seconds since the epoch, the latest time a clock can print."""


def _time_problem(value: object, name: str) -> str | None:
    """
    A sentence saying why *value* is not a usable time for *name*, or ``None`` when it is.

    Times are seconds since the epoch, finite and within the years 1 to 9999; a value
    past that is most often milliseconds, and the sentence says so.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a number of seconds since the epoch, not {value!r}"
    if _EARLIEST_AT <= value <= _LATEST_AT:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return f"{name} must be a finite number of seconds since the epoch, not {value!r}"
    hint = " (was it given in milliseconds?)" if value > _LATEST_AT else ""
    return f"{name} must be seconds since the epoch within the years 1 to 9999, not {value!r}{hint}"


def _valid_time(value: float, name: str) -> float:
    """
    *value* when it is a usable time in seconds since the epoch.

    Raises:
        ValueError: *value* is not finite, or falls outside the years 1 to 9999
            (the message suggests milliseconds when it is too large).
    """
    problem = _time_problem(value, name)
    if problem is not None:
        raise ValueError(problem)
    return value


def _to_kind(value: str) -> FailureKind:
    return FailureKind(value)


def _clean_message(value: str) -> str:
    value = redact(value)
    return value if len(value) <= _MAX_MESSAGE else value[: _MAX_MESSAGE - 1] + "…"


def _check_non_negative(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not value >= 0:
        raise ValueError(
            f"{attribute.name} must be a non-negative number of seconds, not {value!r}"
        )


def _check_time(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    _valid_time(value, f"Failure.{attribute.name}")


@attrs.frozen(kw_only=True)
class Failure:
    """
    One failed attempt, as the decision core sees it.

    Attributes:
        kind: What went wrong.
        observed_at: When the failure was seen, in seconds since the epoch (finite,
            within the years 1 to 9999; milliseconds are refused).
        status: The HTTP status, when there was one.
        retry_after_s: How long the provider asked us to wait, if it said.
        message: A short description, with credentials redacted.
        model: The model the attempt was for, when known.
        profile: The profile the attempt used, when known.
        code: The provider's error type or code (``rate_limit_exceeded``, ...).
    """

    kind: FailureKind = attrs.field(converter=_to_kind)
    observed_at: float = attrs.field(validator=_check_time)
    status: int | None = None
    retry_after_s: float | None = attrs.field(default=None, validator=_check_non_negative)
    message: str = attrs.field(default="", converter=_clean_message)
    model: ModelRef | None = None
    profile: ProfileId | None = None
    code: str | None = None

    def __str__(self) -> str:
        where = f" on {self.model}" if self.model else ""
        who = f" with {self.profile}" if self.profile else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        detail = f": {self.message}" if self.message else ""
        return f"{self.kind.value}{status}{where}{who}{detail}"
