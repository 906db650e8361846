"""
Every exception modelcfg raises on purpose.

::

    ModelcfgError                      never raised itself
    ├── ConfigError(ValueError)        .errors: tuple[str, ...] as "$.path: message"
    ├── UnknownModelError(LookupError) .text, .suggestions
    │   └── UnknownPresetError         a preset name names no preset
    ├── InvalidParamsError(ValueError) .model, .problems: refused by paramsPolicy "error"
    ├── InvalidStateError
    ├── CredentialsError               .provider
    ├── AuthStoreError                 .path
    ├── UsageLedgerError               .path: a ledger that cannot be read or written safely
    ├── StateStoreError                .where: a state store that cannot be read or used
                                       (defined in modelcfg.stores)
    ├── AttemptsExhaustedError         .state, .failures, .attempts, .kind; __cause__: last error
    │   ├── RateLimitedError           the final failure: rate limited (429)
    │   │   └── QuotaExceededError     ... or out of credit or quota (402, insufficient_quota)
    │   ├── AuthFailedError            ... refused or missing credentials (401/403)
    │   ├── ContextOverflowError       ... the prompt does not fit the context window
    │   ├── ContentFilteredError       ... the provider refused the content
    │   ├── BadRequestError            ... the request itself is wrong (400/422, unknown model)
    │   ├── ProviderUnavailableError   ... overloaded, down, unreachable, silent or cut off
    │   └── DeadlineReachedError       the request's deadline came first
    ├── OutputInterruptedError         .failure, .state, .failures: a stream cut after output
    ├── RedactedError                  .type_name, .status: stands in for an error with a key
    ├── DiscoveryError                 .source, .status: a models listing failed or is not one
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
    from modelcfg._config._wire_params import ParamProblem
    from modelcfg._core._failures import Failure, FailureKind
    from modelcfg._core._state import AttemptRecord, AttemptState

__all__ = [
    "AttemptsExhaustedError",
    "AuthFailedError",
    "AuthStoreError",
    "BadRequestError",
    "ConfigError",
    "ContentFilteredError",
    "ContextOverflowError",
    "CredentialsError",
    "DeadlineReachedError",
    "DiscoveryError",
    "InvalidParamsError",
    "InvalidStateError",
    "ModelcfgError",
    "OutputInterruptedError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RateLimitedError",
    "RedactedError",
    "UnknownModelError",
    "UnknownPresetError",
    "UsageLedgerError",
    "gave_up_error",
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


class UnknownPresetError(UnknownModelError):
    """
    A preset name (``/model Opus+deep``, ``preset=``) names no built-in or configured preset.

    Attributes:
        text: What was asked for.
        suggestions: The closest preset names, best first.
    """


class InvalidParamsError(ModelcfgError, ValueError):
    """
    Under ``paramsPolicy: "error"``, the parameters of an attempt include some its
    model or provider does not take; no call was made with them.

    Attributes:
        model: The model (``provider/model``) the attempt was for.
        problems: Each parameter refused, with the layer it came from and why.
    """

    def __init__(self, message: str, *, model: str, problems: tuple[ParamProblem, ...]) -> None:
        self.model = model
        self.problems = problems
        super().__init__(message)


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

    @property
    def attempts(self) -> tuple[AttemptRecord, ...]:
        """
        Every call the request made, in order, with where it went and how it failed.

        .. versionadded:: 0.2.0
        """
        return self.state.history

    @property
    def kind(self) -> FailureKind | None:
        """
        The kind of the request's last failure; ``None`` when no call was made
        (every candidate was skipped).

        .. versionadded:: 0.2.0
        """
        failures = self.state.failures
        return failures[-1].kind if failures else None


class RateLimitedError(AttemptsExhaustedError):
    """
    The request gave up after its last failure was a rate limit (429).

    .. versionadded:: 0.2.0
    """


class QuotaExceededError(RateLimitedError):
    """
    The request gave up after its last failure was a lack of credit or quota
    (402, or OpenAI's 429 ``insufficient_quota``).

    .. versionadded:: 0.2.0
    """


class AuthFailedError(AttemptsExhaustedError):
    """
    The request gave up after its last failure was a refused, expired, revoked or
    missing credential (401/403).

    .. versionadded:: 0.2.0
    """


class ContextOverflowError(AttemptsExhaustedError):
    """
    The request gave up because the prompt does not fit the context window of
    any model it could use.

    .. versionadded:: 0.2.0
    """


class ContentFilteredError(AttemptsExhaustedError):
    """
    The request gave up because a provider refused its content.

    .. versionadded:: 0.2.0
    """


class BadRequestError(AttemptsExhaustedError):
    """
    The request gave up because a provider found the request itself wrong
    (400/422), or does not serve the model.

    .. versionadded:: 0.2.0
    """


class ProviderUnavailableError(AttemptsExhaustedError):
    """
    The request gave up after its last failure was a provider that is overloaded,
    failing (5xx), unreachable, silent, or that cut its stream.

    .. versionadded:: 0.2.0
    """


class DeadlineReachedError(AttemptsExhaustedError):
    """
    The request gave up because its deadline came first: an attempt was still
    running at the deadline, or no candidate could be called before it.

    (When every candidate is blocked by a failure that reopens after the
    deadline, that failure's kind names the error instead.)

    .. versionadded:: 0.2.0
    """


_GIVE_UP_CLASSES: dict[str, type[AttemptsExhaustedError]] = {
    "rate_limited": RateLimitedError,
    "billing": QuotaExceededError,
    "auth": AuthFailedError,
    "auth_permanent": AuthFailedError,
    "context_overflow": ContextOverflowError,
    "content_filter": ContentFilteredError,
    "invalid_request": BadRequestError,
    "model_not_found": BadRequestError,
    "overloaded": ProviderUnavailableError,
    "server": ProviderUnavailableError,
    "connection": ProviderUnavailableError,
    "timeout": ProviderUnavailableError,
    "stream_interrupted": ProviderUnavailableError,
}
"""Final failure kind -> the error a give-up raises; an unknown kind raises the base class."""


def gave_up_error(
    message: str, *, state: AttemptState, reason: str, code: str
) -> AttemptsExhaustedError:
    """
    The error for a request that gave up, named for how it ended.

    The last failure's kind picks the class (see the tree above). The deadline
    picks :class:`DeadlineReachedError` when the core gave up for it (reason code
    ``deadline_reached``) with no failure to blame, or when the last attempt was
    itself cut by the deadline (a ``timeout`` with code ``deadline``).

    Args:
        message: The error's message.
        state: The final attempt state.
        reason: Why the core gave up, in one sentence.
        code: The give-up's reason code (a :class:`~modelcfg.ReasonCode` value).

    .. versionadded:: 0.2.0
    """
    failures = state.failures
    last = failures[-1] if failures else None
    cls: type[AttemptsExhaustedError] = AttemptsExhaustedError
    if code == "deadline_reached" and (
        last is None or (last.kind.value == "timeout" and last.code == "deadline")
    ):
        cls = DeadlineReachedError
    elif last is not None:
        cls = _GIVE_UP_CLASSES.get(last.kind.value, AttemptsExhaustedError)
    return cls(message, state=state, reason=reason)


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


class DiscoveryError(ModelcfgError):
    """
    A provider's models listing could not be fetched, or what came back is not a
    models list; the catalog cache keeps its last good snapshot.

    Attributes:
        source: The listing: ``openrouter``, ``anthropic`` or a provider's id.
        status: The HTTP status of the failed response, if there was one.
    """

    def __init__(self, message: str, *, source: str, status: int | None = None) -> None:
        self.source = source
        self.status = status
        super().__init__(message)
