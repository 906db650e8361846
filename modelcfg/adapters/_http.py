"""
What every adapter shares: the Adapter protocol, call limits, the exceptions
that leave a call, the error classification table and ``classify()``, and the
one thin async call path over an injected ``httpx.AsyncClient``.

The call path decides nothing. It sends the request, turns the body (or the
stream) into values, and raises an exception carrying what :func:`classify`
needs when something goes wrong:

- :class:`ProviderHTTPError`: the provider answered with an error status (the
  body is already read and redacted);
- :class:`FirstTokenTimeoutError`: nothing useful arrived within the first-token
  limit;
- :class:`DeadlineExceededError`: the attempt ran into the request's deadline
  (raised by the executor, which bounds every attempt by it);
- :class:`StreamInterruptedError`: a stream was cut, stalled or garbled before it
  finished properly; a truncated stream never looks like success;
- :class:`ProviderStreamError`: the provider reported an error inside a stream;
- :class:`MalformedResponseError`: a success status with a body that is not an answer;
- :class:`UnsupportedRequestError`: the wire format cannot express the request;
- httpx's transport errors and timeouts, as httpx raises them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import socket
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final, Literal, Protocol, Self, runtime_checkable

import anyio
import attrs
import httpx

from modelcfg._core._failures import Failure, FailureKind, redact
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    StreamEnd,
    StreamEvent,
)
from modelcfg.adapters._retry_after import retry_after_s
from modelcfg.adapters._sse import SSEDecoder, SSEEvent
from modelcfg.exceptions import ModelcfgError

if TYPE_CHECKING:
    from modelcfg.typing import JSON

__all__ = [
    "ERROR_TABLE",
    "Adapter",
    "CallLimits",
    "DeadlineExceededError",
    "Endpoint",
    "ErrorInfo",
    "ErrorTable",
    "EventStep",
    "HTTPWire",
    "FirstTokenTimeoutError",
    "HTTPAdapter",
    "MalformedResponseError",
    "MessageRule",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderStreamError",
    "StreamInterruptedError",
    "StreamParser",
    "UnsupportedRequestError",
    "classify",
    "error_info",
    "open_http_stream",
    "pump_events",
    "send_http",
]

K = FailureKind
_MAX_BODY: Final = 65_536
"""The most of an error body that is read, kept and parsed (64 KiB)."""

_CLOSE_S: Final = 5.0
"""The longest a response may take to close, shielded from cancellation."""
_DRAIN_S: Final = 0.25
"""The longest a closed response's byte iterator is run to its end."""

_NETWORK_ERRNOS: Final = frozenset(
    getattr(errno, name)
    for name in (
        "ENETUNREACH",
        "ENETDOWN",
        "ENETRESET",
        "EHOSTUNREACH",
        "EHOSTDOWN",
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EPIPE",
        "EADDRNOTAVAIL",
        "ENOTCONN",
        "ESHUTDOWN",
    )
    if hasattr(errno, name)
)
"""The ``OSError`` numbers that mean the network failed (a connection failure)."""


# --------------------------------------------------------------------------- values


@attrs.frozen(kw_only=True)
class Endpoint:
    """
    Where one attempt goes and as whom: everything an adapter needs besides the request.

    Attributes:
        model: The provider's model id (``gpt-4o``, ``anthropic/claude-sonnet-4``).
        base_url: The API root including its version path
            (``https://api.openai.com/v1``, ``https://api.anthropic.com/v1``).
        credential: The API key or OAuth access token; only ever sent in a header.
        headers: Extra request headers (never shown in reprs: they may hold secrets).
    """

    model: str
    base_url: str = ""
    credential: str | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False, hash=False)

    def url(self, path: str) -> str:
        """
        Join the base URL and an API path such as ``/chat/completions``.
        """
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def _check_limit(
    _instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not value > 0:
        raise ValueError(
            f"{attribute.name} must be a positive number of seconds or None, not {value!r}"
        )


_END_GRACE_S: Final[float | None] = 2.0
"""How long a stream is waited for after its finish reason, by default."""


@attrs.frozen(kw_only=True)
class CallLimits:
    """
    Per-attempt time limits; ``None`` leaves that limit off.

    The host client's own ``timeout=`` does not apply to provider calls: adapters
    build their requests themselves, and httpx applies a client's timeout only to
    requests the client builds. These limits, and the request's deadline (the
    policy's ``deadline_s``, which the executor applies to every attempt whatever
    these say), are what bound a call.

    Attributes:
        connect_s: Time to establish a connection (an httpx timeout).
        read_s: Longest wait for any bytes from the socket (an httpx timeout).
        first_token_s: Time from sending the request to the first content of a
            stream; for a non-streamed call, to the complete answer (its first token
            arrives with its last).
        idle_s: Longest gap between content events once a stream has started; a
            longer gap is a stall.
        end_grace_s: Once a stream carried its finish reason, how long to wait for
            the events that may still follow it (OpenAI's usage chunk, ``[DONE]``)
            before the answer counts as complete anyway; ``None`` waits up to
            *idle_s*.

    .. versionchanged:: 0.1.0
       Added *end_grace_s*; the client's ``timeout=`` is documented as not applying.
    """

    connect_s: float | None = attrs.field(default=None, validator=_check_limit)
    read_s: float | None = attrs.field(default=None, validator=_check_limit)
    first_token_s: float | None = attrs.field(default=None, validator=_check_limit)
    idle_s: float | None = attrs.field(default=None, validator=_check_limit)
    end_grace_s: float | None = attrs.field(default=_END_GRACE_S, validator=_check_limit)


# ----------------------------------------------------------------------- exceptions


class ProviderError(ModelcfgError):
    """
    A provider call failed; :func:`classify` turns it into a :class:`~modelcfg.Failure`.

    Attributes:
        provider: The adapter's name (``openai``, ``anthropic``, ...).
        model: The provider's model id the call was for.
    """

    def __init__(self, message: str, *, provider: str, model: str | None = None) -> None:
        self.provider = provider
        self.model = model
        super().__init__(message)


class ProviderHTTPError(ProviderError):
    """
    The provider answered with an HTTP error status.

    Attributes:
        status: The HTTP status.
        headers: The response headers, lower-cased, with the credential masked.
        body: The response body as text, redacted and cut to 64 KiB.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        status: int,
        headers: Mapping[str, str],
        body: str,
    ) -> None:
        self.status = status
        self.headers = {key.lower(): value for key, value in headers.items()}
        self.body = body
        super().__init__(message, provider=provider, model=model)

    @classmethod
    def from_response(
        cls,
        response: httpx.Response,
        *,
        provider: str,
        model: str | None,
        credential: str | None,
        content: bytes | None = None,
    ) -> ProviderHTTPError:
        """
        Build the error from a response whose body has been read, or from *content*,
        the first bytes of its body (see :func:`read_error_body`).

        Never fails on a strange body: one that cannot be parsed is kept as text.
        """
        secrets = _secrets(credential)
        text = _body_text(response) if content is None else _decode(content)
        body = redact(text, *secrets)
        info = error_info(_json_or_text(body))
        detail = redact(info.message, *secrets) or response.reason_phrase
        where = f" for model {model}" if model else ""
        return cls(
            f"{provider} answered HTTP {response.status_code}{where}: {detail}",
            provider=provider,
            model=model,
            status=response.status_code,
            headers={key: _mask(value, secrets) for key, value in response.headers.items()},
            body=body,
        )


class ProviderStreamError(ProviderError):
    """
    The provider reported an error inside a stream (an ``error`` event).

    Attributes:
        code: The provider's error type or code, when it gave one.
        detail: The provider's message, redacted.
        started: Whether content had already been streamed.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        code: str | None,
        detail: str,
        started: bool,
    ) -> None:
        self.code = code
        self.detail = detail
        self.started = started
        super().__init__(message, provider=provider, model=model)


class StreamInterruptedError(ProviderError):
    """
    A stream ended before it finished properly; its answer may be truncated.

    Attributes:
        reason: ``"cut"`` (the connection ended), ``"stalled"`` (nothing came
            within the idle limit) or ``"malformed"`` (an event could not be read).
        started: Whether content had already been streamed.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        reason: Literal["cut", "stalled", "malformed"],
        started: bool,
    ) -> None:
        self.reason = reason
        self.started = started
        super().__init__(message, provider=provider, model=model)


class FirstTokenTimeoutError(ProviderError, TimeoutError):
    """
    No answer (or no first token of a stream) arrived within the first-token limit.

    Attributes:
        limit_s: The limit that ran out.
    """

    def __init__(
        self, message: str, *, provider: str, model: str | None = None, limit_s: float | None
    ) -> None:
        self.limit_s = limit_s
        super().__init__(message, provider=provider, model=model)


class DeadlineExceededError(ProviderError, TimeoutError):
    """
    An attempt was still running when the request's deadline came; the executor
    bounds every attempt by that deadline, whatever the :class:`CallLimits` say.

    Attributes:
        limit_s: How long the attempt had, from its start to the deadline.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, message: str, *, provider: str, model: str | None = None, limit_s: float
    ) -> None:
        self.limit_s = limit_s
        super().__init__(message, provider=provider, model=model)


class MalformedResponseError(ProviderError):
    """
    The provider answered with a success status but the body is not an answer.
    """


class UnsupportedRequestError(ProviderError, ValueError):
    """
    The adapter's wire format cannot express the request (for example JSON mode on
    a wire format without one); another model may serve it.
    """


# ------------------------------------------------------------------ error bodies


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """
    What an error body says, whatever its shape.

    Attributes:
        codes: Structured fields (error ``code``, ``type``, ``status``), lower case,
            most specific first.
        message: The provider's message (with any upstream ``metadata.raw`` text).
    """

    codes: tuple[str, ...] = ()
    message: str = ""


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def error_info(body: object) -> ErrorInfo:
    """
    Read the error code and message out of an error body of any common shape.

    Understands OpenAI (``{"error": {"message", "type", "code"}}``), Anthropic
    (``{"type": "error", "error": {"type", "message"}}``), OpenRouter (numeric
    ``code`` and ``metadata.raw``), Google (``status`` and a list wrapper), Ollama
    (``{"error": "text"}``), FastAPI-style ``detail``, and plain text. Never raises.
    """
    try:
        return _error_info(body)
    except Exception:  # a body we cannot read says nothing structured
        return ErrorInfo(message=str(body)[:500] if isinstance(body, str) else "")


def _error_info(body: object) -> ErrorInfo:
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, str):
        return ErrorInfo(message=body.strip()[:500])
    if not isinstance(body, dict):
        return ErrorInfo()
    error = body.get("error", body)
    if isinstance(error, str):
        return ErrorInfo(message=error)
    if not isinstance(error, dict):
        error = body
    codes: list[str] = []
    for key in ("code", "type", "status"):
        value = _text(error.get(key))
        if value is not None and value.lower() != "error":
            codes.append(value.lower())
    if not codes and (value := _text(body.get("type"))) and value.lower() != "error":
        codes.append(value.lower())
    parts = [
        text
        for text in (
            _text(error.get("message")),
            _text(body.get("message")) if error is not body else None,
            _text(body.get("detail")),
        )
        if text
    ]
    metadata = error.get("metadata")
    if isinstance(metadata, dict) and (raw := metadata.get("raw")) is not None:
        inner = error_info(_json_or_text(raw) if isinstance(raw, str) else raw)
        codes.extend(code for code in inner.codes if code not in codes)
        parts.append(inner.message or str(raw)[:500])
    return ErrorInfo(codes=tuple(codes), message=" | ".join(dict.fromkeys(parts)))


def _json_or_text(text: str) -> object:
    """
    *text* parsed as JSON, or *text* itself; never raises.

    A body nested deeper than the parser's recursion limit raises ``RecursionError``
    rather than ``ValueError``: it is kept as text like any other unreadable body.
    """
    try:
        return json.loads(text)
    except Exception:  # ValueError, RecursionError: an unreadable body is just text
        return text


def _decode(content: bytes) -> str:
    return content[:_MAX_BODY].decode("utf-8", errors="replace")


def _body_text(response: httpx.Response) -> str:
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return ""
    return _decode(content)


async def read_error_body(response: httpx.Response, limit: int = _MAX_BODY) -> bytes:
    """
    Read at most *limit* bytes of a streamed error response's body.

    An error body is only read to classify it: a huge one is never held whole in
    memory. The rest is left unread (closing the response discards it).
    """
    kept = bytearray()
    chunks = response.aiter_bytes()
    try:
        while len(kept) < limit:
            chunk = await anext(chunks, None)
            if chunk is None:
                break
            kept += chunk
    finally:
        with anyio.move_on_after(_CLOSE_S, shield=True):
            await response.aclose()
        await _drain(chunks)
    return bytes(kept[:limit])


def _secrets(credential: str | None) -> tuple[str, ...]:
    return (credential,) if credential else ()


def _mask(value: str, secrets: tuple[str, ...]) -> str:
    """
    *value* with each of *secrets* masked exactly (a cheap check for every header).
    """
    for secret in secrets:
        if len(secret) >= 4 and secret in value:
            value = value.replace(secret, "[REDACTED]")
    return value


# -------------------------------------------------------------------- the table


@attrs.frozen(kw_only=True)
class MessageRule:
    """
    A failure kind recognised from the words of an error message.

    Attributes:
        pattern: A case-insensitive regular expression searched in the message.
        kind: The kind it means.
        statuses: The HTTP statuses it applies to, or ``None`` for any (and none).
    """

    pattern: re.Pattern[str]
    kind: FailureKind
    statuses: frozenset[int] | None = None

    @classmethod
    def of(cls, kind: FailureKind, pattern: str, statuses: tuple[int, ...] | None = None) -> Self:
        """
        Build a rule from a pattern's text.
        """
        return cls(
            pattern=re.compile(pattern, re.IGNORECASE),
            kind=kind,
            statuses=None if statuses is None else frozenset(statuses),
        )


@attrs.frozen(kw_only=True)
class ErrorTable:
    """
    The rules that map an error to a failure kind, tried in this order:

    1. *codes*: a specific error code or type in the body (``insufficient_quota``);
    2. *messages*: words in the message, in order (``prompt is too long``);
    3. *statuses*: a status with one meaning (401, 402, 404, 429, 529, ...);
    4. *generic_codes*: a broad error type (``invalid_request_error``);
    5. the status class: other 4xx are invalid requests, other 5xx server errors;
    6. otherwise unknown.

    Exceptions without a status are matched by class: first the exceptions
    modelcfg and httpx raise, then *exception_names* (SDK classes, matched by name
    along the class's MRO so that no SDK is imported).

    Attributes:
        codes: Specific error codes and types, lower case.
        messages: Message rules, first match wins.
        statuses: Statuses with one meaning.
        generic_codes: Broad error types, used after statuses.
        exception_names: Exception class names, such as ``RateLimitError``.
    """

    codes: Mapping[str, FailureKind] = attrs.field(hash=False)
    messages: tuple[MessageRule, ...]
    statuses: Mapping[int, FailureKind] = attrs.field(hash=False)
    generic_codes: Mapping[str, FailureKind] = attrs.field(hash=False)
    exception_names: Mapping[str, FailureKind] = attrs.field(hash=False)

    def extended(
        self,
        *,
        codes: Mapping[str, FailureKind] | None = None,
        messages: tuple[MessageRule, ...] = (),
        statuses: Mapping[int, FailureKind] | None = None,
        exception_names: Mapping[str, FailureKind] | None = None,
    ) -> ErrorTable:
        """
        Return a table with more rules; new codes and statuses replace old ones,
        new message rules are tried first.
        """
        return attrs.evolve(
            self,
            codes={**self.codes, **(codes or {})},
            messages=(*messages, *self.messages),
            statuses={**self.statuses, **(statuses or {})},
            exception_names={**self.exception_names, **(exception_names or {})},
        )

    def kind_for(self, status: int | None, info: ErrorInfo) -> tuple[FailureKind, str]:
        """
        The kind an error with this status and body means, and which rule said so.
        """
        for code in info.codes:
            if code in self.codes:
                return self.codes[code], f"code {code}"
        if info.message:
            for rule in self.messages:
                applies = rule.statuses is None or status in rule.statuses
                if applies and rule.pattern.search(info.message):
                    return rule.kind, f"message /{rule.pattern.pattern}/"
        if status is not None and status in self.statuses:
            return self.statuses[status], f"status {status}"
        for code in info.codes:
            if code in self.generic_codes:
                return self.generic_codes[code], f"code {code}"
        if status is not None and 400 <= status < 500:
            return K.INVALID_REQUEST, "status 4xx"
        if status is not None and 500 <= status < 600:
            return K.SERVER, "status 5xx"
        return K.UNKNOWN, "no rule"


ERROR_TABLE: Final = ErrorTable(
    codes={
        # OpenAI, Azure, OpenRouter and compatible servers
        "context_length_exceeded": K.CONTEXT_OVERFLOW,
        "string_above_max_length": K.CONTEXT_OVERFLOW,
        "context_window_exceeded": K.CONTEXT_OVERFLOW,
        "insufficient_quota": K.BILLING,  # a 429, but no amount of waiting helps
        "billing_hard_limit_reached": K.BILLING,
        "billing_not_active": K.BILLING,
        "insufficient_credits": K.BILLING,
        "payment_required": K.BILLING,
        "account_deactivated": K.AUTH_PERMANENT,
        "organization_deactivated": K.AUTH_PERMANENT,
        "api_key_revoked": K.AUTH_PERMANENT,
        "expired_token": K.AUTH,
        "token_expired": K.AUTH,
        "rate_limit_exceeded": K.RATE_LIMITED,
        "resource_exhausted": K.RATE_LIMITED,
        "model_not_found": K.MODEL_NOT_FOUND,
        "content_filter": K.CONTENT_FILTER,
        "content_policy_violation": K.CONTENT_FILTER,
        "responsibleaipolicyviolation": K.CONTENT_FILTER,
        "request_timeout": K.TIMEOUT,
        "deadline_exceeded": K.TIMEOUT,
        # Anthropic error types
        "billing_error": K.BILLING,
        "not_found_error": K.MODEL_NOT_FOUND,
        "request_too_large": K.CONTEXT_OVERFLOW,
        "rate_limit_error": K.RATE_LIMITED,
        "overloaded_error": K.OVERLOADED,
        "timeout_error": K.TIMEOUT,
    },
    messages=(
        MessageRule.of(
            K.AUTH_PERMANENT,
            r"\b(api[ _-]?key|key|account|organi[sz]ation|token)\b[^.]{0,60}?"
            r"\b(revoked|deactivated|disabled|deleted|suspended|banned)\b",
            (400, 401, 403),
        ),
        MessageRule.of(
            K.AUTH_PERMANENT,
            r"\b(revoked|deactivated|suspended|banned)\b[^.]{0,30}?\b(key|account|organi[sz]ation)",
            (400, 401, 403),
        ),
        MessageRule.of(
            K.BILLING,
            r"credit balance|insufficient (credits?|balance|funds)|exceeded your current quota"
            r"|billing|payment required|more credits|out of credits|can only afford",
        ),
        MessageRule.of(
            K.RATE_LIMITED,
            r"rate[ _-]?limit|too many requests|per min(ute)?\b|quota|resource has been exhausted",
        ),
        MessageRule.of(
            K.CONTEXT_OVERFLOW,
            r"context[ _-]?length|context[ _-]?window|maximum context|prompt is too long"
            r"|too many (input )?tokens|input (is )?too long|input token count"
            r"|exceeds the maximum number of tokens|reduce the length of the messages"
            r"|maximum prompt length",
        ),
        MessageRule.of(
            K.CONTENT_FILTER,
            r"content[ _-]?(management )?polic|content[ _-]?filter|safety (system|filter)"
            r"|\bflagged\b|moderation|responsible ?ai",
        ),
        MessageRule.of(K.OVERLOADED, r"overloaded|over capacity|at capacity"),
        MessageRule.of(
            K.MODEL_NOT_FOUND,
            r"\bmodel\b[^.]{0,80}?\b(does not exist|not found|is not available|not supported)"
            r"|(unknown|invalid|no such|unsupported) model|not a valid model",
            (400, 404, 422),
        ),
        MessageRule.of(
            K.AUTH,
            r"(invalid|incorrect|missing|expired) (api[ _-]?key|x-api-key|token|credentials)"
            r"|api key not valid|unauthori[sz]ed|authentication (failed|error)",
        ),
    ),
    statuses={
        401: K.AUTH,
        402: K.BILLING,
        403: K.AUTH,
        404: K.MODEL_NOT_FOUND,
        408: K.TIMEOUT,
        413: K.CONTEXT_OVERFLOW,
        429: K.RATE_LIMITED,
        529: K.OVERLOADED,
    },
    generic_codes={
        # broad authentication types: a message can still tell a revoked key apart
        "invalid_api_key": K.AUTH,
        "unauthenticated": K.AUTH,
        "permission_denied": K.AUTH,
        "authentication_error": K.AUTH,
        "permission_error": K.AUTH,
        "invalid_request_error": K.INVALID_REQUEST,
        "invalid_request": K.INVALID_REQUEST,
        "invalid_argument": K.INVALID_REQUEST,
        "badrequesterror": K.INVALID_REQUEST,
        "server_error": K.SERVER,
        "api_error": K.SERVER,
        "internal": K.SERVER,
        "internal_error": K.SERVER,
        "internal_server_error": K.SERVER,
        "unavailable": K.SERVER,
    },
    exception_names={
        # openai / anthropic SDKs (APITimeoutError subclasses APIConnectionError:
        # the MRO is walked from the most derived class, so it matches first)
        "APITimeoutError": K.TIMEOUT,
        "APIConnectionError": K.CONNECTION,
        "RateLimitError": K.RATE_LIMITED,
        "AuthenticationError": K.AUTH,
        "PermissionDeniedError": K.AUTH,
        "NotFoundError": K.MODEL_NOT_FOUND,
        "BadRequestError": K.INVALID_REQUEST,
        "UnprocessableEntityError": K.INVALID_REQUEST,
        "ConflictError": K.INVALID_REQUEST,
        "InternalServerError": K.SERVER,
        "ServiceUnavailableError": K.SERVER,
        "OverloadedError": K.OVERLOADED,
        "APIResponseValidationError": K.SERVER,
        # names other client libraries use
        "ContextWindowExceededError": K.CONTEXT_OVERFLOW,
        "ContentPolicyViolationError": K.CONTENT_FILTER,
        "BudgetExceededError": K.BILLING,
        "Timeout": K.TIMEOUT,
    },
)
"""The default classification table every adapter uses unless given another."""


# ------------------------------------------------------------------- classify


def classify(
    error: BaseException | httpx.Response,
    *,
    now: float,
    table: ErrorTable = ERROR_TABLE,
    model: ModelRef | None = None,
    profile: ProfileId | None = None,
    credential: str | None = None,
) -> Failure:
    """
    Turn a failed call (an exception or an error response) into a :class:`Failure`.

    Args:
        error: What the call path raised, an error response, an httpx error, or an
            exception from any client library (read by duck typing).
        now: The current time, in seconds since the epoch: the failure's
            ``observed_at`` and the reference for ``Retry-After`` dates.
        table: The rules to apply.
        model: The model the attempt was for.
        profile: The profile the attempt used.
        credential: The credential that was sent, masked exactly in the message.

    Returns:
        The failure. Never raises: anything unrecognised is ``unknown``.
    """
    secrets = _secrets(credential)
    try:
        return _classify(error, now, table, model, profile, secrets)
    except Exception:  # classify never raises, whatever it is given
        return _last_resort(error, now, table, model, profile, secrets)


def _last_resort(
    error: BaseException | httpx.Response,
    now: float,
    table: ErrorTable,
    model: ModelRef | None,
    profile: ProfileId | None,
    secrets: tuple[str, ...],
) -> Failure:
    """
    The failure of something the full classification choked on: its status and
    headers still count (a 429 stays a rate limit, its ``Retry-After`` honoured).
    """
    unknown = Failure(
        kind=K.UNKNOWN,
        observed_at=now,
        message=f"a {type(error).__name__} could not be classified",
        model=model,
        profile=profile,
    )
    try:
        if isinstance(error, httpx.Response):
            status: int | None = error.status_code
            headers: Mapping[str, str] = error.headers
        elif isinstance(error, ProviderHTTPError):
            status, headers = error.status, error.headers
        else:
            status, headers = duck_status(error), _duck_headers(error)
        if status is None:
            return unknown
        return _failure_from_http(
            status,
            headers,
            None,
            now=now,
            table=table,
            model=model,
            profile=profile,
            secrets=secrets,
            fallback_message=unknown.message,
        )
    except Exception:  # even the status could not be read
        return unknown


def _failure_from_http(
    status: int | None,
    headers: Mapping[str, str],
    body: object,
    *,
    now: float,
    table: ErrorTable,
    model: ModelRef | None,
    profile: ProfileId | None,
    secrets: tuple[str, ...],
    fallback_message: str = "",
) -> Failure:
    info = error_info(body)
    kind, _rule = table.kind_for(status, info)
    wait = retry_after_s(headers, now=now, resets=kind is K.RATE_LIMITED)
    message = info.message or fallback_message or (f"HTTP {status}" if status else "")
    return Failure(
        kind=kind,
        observed_at=now,
        status=status,
        retry_after_s=wait,
        message=redact(message, *secrets),
        model=model,
        profile=profile,
        code=info.codes[0] if info.codes else None,
    )


def _classify(
    error: BaseException | httpx.Response,
    now: float,
    table: ErrorTable,
    model: ModelRef | None,
    profile: ProfileId | None,
    secrets: tuple[str, ...],
) -> Failure:
    def simple(kind: FailureKind, code: str | None = None, status: int | None = None) -> Failure:
        text = str(error) or f"{type(error).__name__} (no message)"
        return Failure(
            kind=kind,
            observed_at=now,
            status=status,
            message=redact(text, *secrets),
            model=model,
            profile=profile,
            code=code,
        )

    def from_http(
        status: int | None, headers: Mapping[str, str], body: object, fallback: str = ""
    ) -> Failure:
        return _failure_from_http(
            status,
            headers,
            body,
            now=now,
            table=table,
            model=model,
            profile=profile,
            secrets=secrets,
            fallback_message=fallback,
        )

    if isinstance(error, httpx.HTTPStatusError):
        error = error.response
    if isinstance(error, httpx.Response):
        return from_http(error.status_code, error.headers, _json_or_text(_body_text(error)))
    match error:
        case ProviderHTTPError():
            return from_http(error.status, error.headers, _json_or_text(error.body))
        case StreamInterruptedError(reason=reason):
            return simple(K.STREAM_INTERRUPTED, code=reason)
        case ProviderStreamError(code=code, detail=detail):
            info = ErrorInfo(codes=(code,) if code else (), message=detail)
            kind, _rule = table.kind_for(None, info)
            if kind in (K.UNKNOWN, K.SERVER, K.INVALID_REQUEST):
                kind = K.STREAM_INTERRUPTED
            return simple(kind, code=code)
        case FirstTokenTimeoutError():
            return simple(K.TIMEOUT, code="first_token")
        case DeadlineExceededError():
            return simple(K.TIMEOUT, code="deadline")
        case MalformedResponseError():
            return simple(K.SERVER, code="malformed_response")
        case UnsupportedRequestError():
            return simple(K.MODEL_NOT_FOUND, code="unsupported_request")
        case httpx.TimeoutException():
            return simple(K.TIMEOUT, code=type(error).__name__)
        case httpx.NetworkError() | httpx.RemoteProtocolError() | httpx.ProxyError():
            return simple(K.CONNECTION, code=type(error).__name__)
        case TimeoutError():
            return simple(K.TIMEOUT, code=type(error).__name__)
        case ConnectionError() | socket.gaierror() | ssl.SSLError() | anyio.BrokenResourceError():
            return simple(K.CONNECTION, code=type(error).__name__)
        case OSError(errno=number) if number in _NETWORK_ERRNOS:
            return simple(K.CONNECTION, code=errno.errorcode.get(number or 0, type(error).__name__))
    status = duck_status(error)
    if status is not None:
        return from_http(status, _duck_headers(error), _duck_body(error), str(error))
    for cls in type(error).__mro__:
        if cls.__name__ in table.exception_names:
            return simple(table.exception_names[cls.__name__], code=cls.__name__)
    return simple(K.UNKNOWN, code=type(error).__name__)


def _as_status(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return None


def duck_status(error: BaseException) -> int | None:
    """
    The HTTP status an exception of any client library carries: ``status_code`` or
    ``status`` on it or on its ``response``, else an integer ``code`` that is one.
    """
    for holder in (error, getattr(error, "response", None)):
        for name in ("status_code", "status"):
            status = _as_status(getattr(holder, name, None))
            if status is not None:
                return status
    code = getattr(error, "code", None)
    return _as_status(code) if isinstance(code, int) else None


def _headers_of(holder: object) -> dict[str, str]:
    raw = getattr(holder, "headers", None)
    if raw is None or not hasattr(raw, "items"):
        return {}
    return {str(key).lower(): str(value) for key, value in raw.items()}


def _duck_headers(error: BaseException) -> dict[str, str]:
    """
    The response headers an exception carries: its ``response``'s, then its own.
    """
    return {**_headers_of(getattr(error, "response", None)), **_headers_of(error)}


def _duck_body(error: BaseException) -> object:
    """
    The error body an exception carries, parsed when it is JSON text or bytes.
    """
    response = getattr(error, "response", None)
    body: object = getattr(error, "body", None)
    if isinstance(body, bytes | bytearray):
        body = _decode(bytes(body))
    if isinstance(body, str):
        body = _json_or_text(body[:_MAX_BODY])
    if body is None and isinstance(response, httpx.Response):
        body = _json_or_text(_body_text(response))
    if isinstance(body, dict) and "error" not in body:
        # openai's SDK keeps only the inner error object; code and type are on it
        body = {"error": body}
    if body is None or body == "":
        code, kind = getattr(error, "code", None), getattr(error, "type", None)
        message = getattr(error, "message", "")
        body = {
            "error": {
                "code": code if isinstance(code, str) else None,
                "type": kind,
                "message": message if isinstance(message, str) else "",
            }
        }
    return body


# ----------------------------------------------------------------- the protocol


class StreamParser(Protocol):
    """
    Turns a wire format's stream payloads into stream events, as a frozen value.
    """

    @property
    def finished(self) -> bool:
        """
        Whether the stream's end was seen and :class:`StreamEnd` emitted.
        """
        ...

    @property
    def finishable(self) -> bool:
        """
        Whether a finish reason was seen, so the answer is complete without an end marker.
        """
        ...

    def feed(self, event: SSEEvent) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one SSE event; raise on a malformed event or an error event.
        """
        ...

    def feed_json(self, payload: JSON) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one decoded payload (for example an SDK chunk's ``model_dump()``).
        """
        ...

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]:
        """
        End the stream: return the closing :class:`StreamEnd` or raise if unfinished.
        """
        ...


@runtime_checkable
class Adapter(Protocol):
    """
    A provider adapter: what the executor calls for one attempt.

    ``client`` is the host's ``httpx.AsyncClient`` (adapters never build one);
    adapters that do not speak HTTP themselves accept ``None``.
    """

    @property
    def name(self) -> str:
        """
        The adapter's short name, used in messages.
        """
        ...

    async def complete(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = ...,
    ) -> ChatResponse:
        """
        Make one non-streamed attempt; raise what :meth:`classify` understands.
        """
        ...

    def stream(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = ...,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """
        Make one streamed attempt: ``async with adapter.stream(...) as events``.
        """
        ...

    def classify(
        self,
        error: BaseException | httpx.Response,
        *,
        now: float,
        model: ModelRef | None = None,
        profile: ProfileId | None = None,
        credential: str | None = None,
    ) -> Failure:
        """
        Turn what a call raised into a :class:`Failure`; never raises.
        """
        ...


class HTTPWire(Protocol):
    """
    The pure half of an HTTP adapter, which the shared call path drives.
    """

    @property
    def name(self) -> str: ...

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> httpx.Request: ...

    def parse_response(self, response: httpx.Response) -> ChatResponse: ...

    def stream_parser(self, request: ChatRequest) -> StreamParser: ...


class HTTPAdapter:
    """
    What every HTTP wire format shares: the call path and classification.

    A subclass supplies the pure half (:class:`HTTPWire`: ``build_request``,
    ``parse_response``, ``stream_parser``) and an ``error_table``; this base runs
    it over the host's client with :func:`send_http` / :func:`open_http_stream`
    and classifies what went wrong with :func:`classify`.
    """

    __slots__ = ()
    name: str
    error_table: ErrorTable

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> httpx.Request:
        """
        The HTTP request of one attempt (pure; the subclass's wire format).
        """
        raise NotImplementedError

    def parse_response(self, response: httpx.Response) -> ChatResponse:
        """
        Read a successful, fully read response (pure).
        """
        raise NotImplementedError

    def stream_parser(self, request: ChatRequest) -> StreamParser:
        """
        A fresh parser for the stream answering *request*.
        """
        raise NotImplementedError

    async def complete(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = CallLimits(),
    ) -> ChatResponse:
        """
        Make one non-streamed call through *client*.

        Raises:
            ProviderHTTPError: An error status.
            FirstTokenTimeoutError: No answer within ``limits.first_token_s``.
            MalformedResponseError: A success status without an answer.
            UnsupportedRequestError: The request cannot be expressed in this wire format.
            httpx.TransportError: The connection failed or an httpx timeout ran out.
        """
        return await send_http(self, client, request, endpoint, limits)

    def stream(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = CallLimits(),
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """
        Make one streamed call: ``async with adapter.stream(...) as events:``.

        See :func:`modelcfg.adapters.open_http_stream` for what iterating raises.
        """
        return open_http_stream(self, client, request, endpoint, limits)

    def classify(
        self,
        error: BaseException | httpx.Response,
        *,
        now: float,
        model: ModelRef | None = None,
        profile: ProfileId | None = None,
        credential: str | None = None,
    ) -> Failure:
        """
        Turn what a call raised into a failure, with this adapter's table; never raises.
        """
        return classify(
            error,
            now=now,
            table=self.error_table,
            model=model,
            profile=profile,
            credential=credential,
        )


# ------------------------------------------------------------------ call path


def _with_timeouts(request: httpx.Request, limits: CallLimits) -> httpx.Request:
    if limits.connect_s is None and limits.read_s is None:
        return request
    timeout = dict(request.extensions.get("timeout") or {})
    if limits.connect_s is not None:
        timeout["connect"] = limits.connect_s
        timeout["pool"] = limits.connect_s
    if limits.read_s is not None:
        timeout["read"] = limits.read_s
        timeout["write"] = limits.read_s
    request.extensions["timeout"] = timeout
    return request


def _require_client(client: httpx.AsyncClient | None, name: str) -> httpx.AsyncClient:
    if client is None:
        raise TypeError(f"the {name} adapter needs an httpx.AsyncClient, but None was given")
    return client


def _limited(limit_s: float | None) -> contextlib.AbstractContextManager[object]:
    """
    ``anyio.fail_after(limit_s)``, or nothing at all without a limit (no timer to arm).
    """
    return contextlib.nullcontext() if limit_s is None else anyio.fail_after(limit_s)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - anyio.current_time(), 0.0)


async def send_http(
    wire: HTTPWire,
    client: httpx.AsyncClient | None,
    request: ChatRequest,
    endpoint: Endpoint,
    limits: CallLimits,
) -> ChatResponse:
    """
    Make one non-streamed call and parse its answer.

    Raises:
        ProviderHTTPError: The provider answered with an error status.
        FirstTokenTimeoutError: The answer did not arrive within ``limits.first_token_s``.
        MalformedResponseError: The success body is not an answer.
        httpx.TransportError: The connection failed or an httpx timeout ran out.
    """
    client = _require_client(client, wire.name)
    whole = attrs.evolve(request, stream=False) if request.stream else request
    http_request = _with_timeouts(wire.build_request(whole, endpoint), limits)
    error_body: bytes | None = None
    try:
        with _limited(limits.first_token_s):
            # Sent as a stream so that an error body is read only in part; an answer
            # is read whole (reading it to the end closes the response).
            response = await client.send(http_request, stream=True)
            if response.status_code >= 400:
                error_body = await read_error_body(response)
            else:
                try:
                    await response.aread()
                finally:
                    if not response.is_closed:  # cancelled or failed while reading
                        with anyio.move_on_after(_CLOSE_S, shield=True):
                            await response.aclose()
    except TimeoutError as exc:
        raise FirstTokenTimeoutError(
            f"{wire.name} did not answer within {limits.first_token_s} s "
            f"for model {endpoint.model}",
            provider=wire.name,
            model=endpoint.model,
            limit_s=limits.first_token_s,
        ) from exc
    if error_body is not None:
        error = ProviderHTTPError.from_response(
            response,
            provider=wire.name,
            model=endpoint.model,
            credential=endpoint.credential,
            content=error_body,
        )
        del error_body  # the raw body may echo the key; error trackers record frame locals
        raise error
    return wire.parse_response(response)


@contextlib.asynccontextmanager
async def open_http_stream(
    wire: HTTPWire,
    client: httpx.AsyncClient | None,
    request: ChatRequest,
    endpoint: Endpoint,
    limits: CallLimits,
) -> AsyncIterator[AsyncIterator[StreamEvent]]:
    """
    Make one streamed call; the context yields its events and closes the response.

    The events end with exactly one :class:`StreamEnd` when the stream finished
    properly. Otherwise iterating raises :class:`StreamInterruptedError`
    (cut, stalled, malformed), :class:`ProviderStreamError` (an error event) or
    :class:`FirstTokenTimeoutError` (no content within ``limits.first_token_s``).
    Opening raises :class:`ProviderHTTPError` for an error status.
    """
    client = _require_client(client, wire.name)
    http_request = _with_timeouts(
        wire.build_request(attrs.evolve(request, stream=True), endpoint), limits
    )
    deadline = None
    if limits.first_token_s is not None:
        deadline = anyio.current_time() + limits.first_token_s

    def too_slow() -> FirstTokenTimeoutError:
        return FirstTokenTimeoutError(
            f"{wire.name} sent no first token within {limits.first_token_s} s "
            f"for model {endpoint.model}",
            provider=wire.name,
            model=endpoint.model,
            limit_s=limits.first_token_s,
        )

    try:
        with anyio.fail_after(_left(deadline)):
            response = await client.send(http_request, stream=True)
    except TimeoutError as exc:
        raise too_slow() from exc
    try:
        if response.status_code >= 400:
            try:
                with anyio.fail_after(_left(deadline)):
                    content = await read_error_body(response)
            except TimeoutError as exc:
                raise too_slow() from exc
            error = ProviderHTTPError.from_response(
                response,
                provider=wire.name,
                model=endpoint.model,
                credential=endpoint.credential,
                content=content,
            )
            del content  # the raw body may echo the key; error trackers record frame locals
            raise error
        chunks = response.aiter_bytes()
        events = pump_events(
            chunks,
            _sse_step(wire.stream_parser(request)),
            provider=wire.name,
            model=endpoint.model,
            deadline=deadline,
            limits=limits,
            secrets=_secrets(endpoint.credential),
        )
        try:
            yield events
        finally:
            await events.aclose()
            with anyio.move_on_after(_CLOSE_S, shield=True):
                await response.aclose()
            await _drain(chunks)
    finally:
        with anyio.move_on_after(_CLOSE_S, shield=True):
            await response.aclose()


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """
    Run a closed response's byte iterator to its end.

    httpx reads bodies through nested async generators; closing only the outer
    one leaves the inner ones to the garbage collector (trio warns about each).
    Once the response is closed the chain ends at the next step, so draining it
    finalises every level. A transport whose body ignores the close (an in-process
    one that keeps waiting) is cut off after a moment: cancelling it ends the chain too.
    """
    with anyio.move_on_after(_DRAIN_S, shield=True):
        for _ in range(1000):
            try:
                await anext(chunks)
            except StopAsyncIteration:
                return
            except Exception:  # the closed stream ends with an error: the chain is finished
                return


class EventStep(Protocol):
    """
    Turns one item of a source (bytes, a payload) into stream events.
    """

    def __call__(self, item: object) -> tuple[StreamEvent, ...]: ...

    @property
    def finishable(self) -> bool: ...

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]: ...


@attrs.frozen(kw_only=True)
class _SSEStep:
    """
    Feeds raw bytes through the SSE decoder and a stream parser (mutable cell inside).
    """

    cell: list[tuple[SSEDecoder, StreamParser]]

    def __call__(self, item: object) -> tuple[StreamEvent, ...]:
        decoder, parser = self.cell[0]
        assert isinstance(item, bytes)
        decoder, sse_events = decoder.feed(item)
        out: list[StreamEvent] = []
        for sse in sse_events:
            parser, events = parser.feed(sse)
            self.cell[0] = (decoder, parser)
            out.extend(events)
            if parser.finished:
                break
        self.cell[0] = (decoder, parser)
        return tuple(out)

    @property
    def finishable(self) -> bool:
        return self.cell[0][1].finishable

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]:
        return self.cell[0][1].finish(reason)


def _sse_step(parser: StreamParser) -> _SSEStep:
    return _SSEStep(cell=[(SSEDecoder(), parser)])


async def pump_events(
    source: AsyncIterator[object],
    step: EventStep,
    *,
    provider: str,
    model: str,
    deadline: float | None,
    limits: CallLimits,
    secrets: tuple[str, ...] = (),
) -> AsyncGenerator[StreamEvent, None]:
    """
    Read *source* under the first-token and idle limits and yield stream events.

    Stops right after a :class:`StreamEnd`, without waiting for the source to end;
    the caller owns *source* and closes it.
    A source that ends or stalls after a finish reason but before the end marker
    still finishes properly, and once a finish reason arrived it is waited for
    only ``limits.end_grace_s`` more (for a trailing usage chunk), not the whole
    idle limit. One that ends or stalls earlier raises :class:`StreamInterruptedError`.
    An error the stream reports (:class:`ProviderStreamError`) has *secrets*
    masked in its message and detail: providers echo keys back.
    """
    started = False
    while True:
        limit = _left(deadline)
        grace = limits.end_grace_s
        if grace is not None and step.finishable and (limit is None or grace < limit):
            limit = grace
        try:
            with anyio.fail_after(limit):
                item = await anext(source, None)
        except TimeoutError as exc:
            if step.finishable:
                for event in step.finish("stalled"):
                    yield event
                return
            if not started:
                raise FirstTokenTimeoutError(
                    f"{provider} sent no first token within {limits.first_token_s} s "
                    f"for model {model}",
                    provider=provider,
                    model=model,
                    limit_s=limits.first_token_s,
                ) from exc
            raise StreamInterruptedError(
                f"the {provider} stream for model {model} stalled: nothing arrived "
                f"for {limits.idle_s} s",
                provider=provider,
                model=model,
                reason="stalled",
                started=True,
            ) from exc
        except httpx.TransportError as exc:
            if step.finishable:
                for event in step.finish("cut"):
                    yield event
                return
            if not started and isinstance(exc, httpx.TimeoutException):
                raise
            raise StreamInterruptedError(
                f"the {provider} stream for model {model} was cut: {type(exc).__name__}",
                provider=provider,
                model=model,
                reason="cut",
                started=started,
            ) from exc
        if item is None:
            for event in step.finish("cut"):
                yield event
            return
        try:
            produced = step(item)
        except ProviderStreamError as exc:
            _mask_stream_error(exc, secrets)
            raise
        for event in produced:
            yield event
            if isinstance(event, StreamEnd):
                return
        if produced:
            started = True
            idle_s = limits.idle_s
            deadline = None if idle_s is None else anyio.current_time() + idle_s


def _mask_stream_error(error: ProviderStreamError, secrets: tuple[str, ...]) -> None:
    """
    Mask *secrets* in an error a stream parser just built (modelcfg's own object,
    not yet seen by anyone), before it leaves the call path.
    """
    error.detail = redact(error.detail, *secrets)
    error.args = tuple(redact(a, *secrets) if isinstance(a, str) else a for a in error.args)
