"""
Every exception modelcfg raises on purpose.

::

    ModelcfgError                      never raised itself
    ├── ConfigError(ValueError)        .errors: tuple[str, ...] as "$.path: message"
    ├── UnknownModelError(LookupError) .text, .suggestions
    ├── InvalidStateError
    ├── CredentialsError               .provider
    ├── AuthStoreError                 .path
    ├── UsageLedgerError               .path: a ledger that cannot be read or written safely
    ├── AttemptsExhaustedError         .state, .failures; __cause__: the last provider error
    ├── OutputInterruptedError         .failure, .state, .failures: a stream cut after output
    ├── RedactedError                  .type_name, .status: stands in for an error with a key
    └── ProviderError                  .provider, .model (defined in modelcfg.adapters)
        ├── ProviderHTTPError          .status, .headers, .body (redacted)
        ├── ProviderStreamError        .code, .detail, .started
        ├── StreamInterruptedError     .reason, .started
        ├── FirstTokenTimeoutError(TimeoutError)  .limit_s
        ├── DeadlineExceededError(TimeoutError)   .limit_s
        ├── MalformedResponseError
        └── UnsupportedRequestError(ValueError)

The provider errors leave an adapter's call path; the executor classifies them
into :class:`~modelcfg.Failure` values and never lets them escape, except as the
``__cause__`` of :class:`AttemptsExhaustedError` and :class:`OutputInterruptedError`.

Messages are full sentences and never contain a credential. Nor do the exceptions
chained to them: an exception whose message, attributes (an SDK's ``body``,
``response``, ``request``) or own chain hold the key that was sent is not chained
itself (it is never modified either: it belongs to the host's SDK); a stand-in is
chained instead, a masked copy for httpx's transport errors and a
:class:`RedactedError` for anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelcfg._core._failures import Failure
    from modelcfg._core._state import AttemptState

__all__ = [
    "AttemptsExhaustedError",
    "AuthStoreError",
    "ConfigError",
    "CredentialsError",
    "InvalidStateError",
    "ModelcfgError",
    "OutputInterruptedError",
    "RedactedError",
    "UnknownModelError",
    "UsageLedgerError",
]


class ModelcfgError(Exception):
    """
    The base of every modelcfg exception; never raised itself.
    """


class ConfigError(ModelcfgError, ValueError):
    """
    A configuration is invalid; every problem is listed at once.

    Attributes:
        errors: One line per problem, ``"$.json.path: what is wrong"``.
    """

    def __init__(self, errors: Iterable[str], *, source: str | None = None) -> None:
        self.errors = tuple(errors)
        self.source = source
        where = f" in {source}" if source else ""
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in the configuration{where}:"
        super().__init__("\n  ".join((head, *self.errors)))


class UnknownModelError(ModelcfgError, LookupError):
    """
    A model name or alias names nothing in the configuration or catalog.

    Attributes:
        text: What was asked for.
        suggestions: The closest aliases and model ids, best first.
    """

    def __init__(self, message: str, *, text: str, suggestions: tuple[str, ...] = ()) -> None:
        self.text = text
        self.suggestions = suggestions
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidStateError(ModelcfgError):
    """
    The decision core was called wrongly, for example on a finished request.
    """


class CredentialsError(ModelcfgError):
    """
    No usable credentials were found for a provider or profile.

    Attributes:
        provider: The provider whose credentials are missing.
    """

    def __init__(self, message: str, *, provider: str) -> None:
        self.provider = provider
        super().__init__(message)


class AuthStoreError(ModelcfgError):
    """
    The auth store cannot be read or written safely; nothing was changed.

    Attributes:
        path: The store's file, when it is file-backed.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class UsageLedgerError(ModelcfgError):
    """
    A usage ledger cannot be opened, read or written safely; nothing stored was changed.

    Attributes:
        path: The ledger's database file.

    .. versionadded:: 0.2.0
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class AttemptsExhaustedError(ModelcfgError):
    """
    Every candidate failed or was skipped; the request gave up.

    Attributes:
        state: The final attempt state, with every failure in its history.
        reason: Why the core gave up, in one sentence.
    """

    def __init__(self, message: str, *, state: AttemptState, reason: str) -> None:
        self.state = state
        self.reason = reason
        super().__init__(message)

    @property
    def failures(self) -> tuple[Failure, ...]:
        """
        Every failure of the request, in order, each with its model and profile.
        """
        return self.state.failures


class OutputInterruptedError(ModelcfgError):
    """
    A stream was cut after part of the answer had reached the caller, and the
    caller did not ask for restarts: the partial answer must not be used.

    Attributes:
        failure: How the stream ended (kind ``stream_interrupted``).
        state: The decision state at that point (finished).
    """

    def __init__(self, message: str, *, failure: Failure, state: AttemptState) -> None:
        self.failure = failure
        self.state = state
        super().__init__(message)

    @property
    def failures(self) -> tuple[Failure, ...]:
        """
        Every failure of the request, in order, the interrupted stream last.
        """
        return self.state.failures


class RedactedError(ModelcfgError):
    """
    Stands in, as a ``__cause__``, for an exception that held the credential an
    attempt sent (in its message, its attributes or its own chain).

    The original is never chained (nor modified): this names its class, keeps its
    HTTP status and its message with the key masked, and its traceback.

    Attributes:
        type_name: The original exception's class, as ``module.QualifiedName``.
        status: The HTTP status it carried, if any.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, type_name: str, status: int | None = None) -> None:
        self.type_name = type_name
        self.status = status
        super().__init__(message)
