"""
Classification: every provider error, HTTP status, SDK exception or transport
error becomes one :class:`~modelcfg.Failure` of a closed set of kinds.

Pure: a table of rules over status, error codes, messages and exception types.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Self

import anyio
import attrs
import httpx

from modelcfg._core._failures import DEADLINE_CODE, Failure, FailureKind
from modelcfg._core._redact import redact
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg.adapters._errors import (
    _MAX_BODY,
    DeadlineExceededError,
    ErrorInfo,
    FirstTokenTimeoutError,
    MalformedResponseError,
    ProviderHTTPError,
    ProviderStreamError,
    StreamInterruptedError,
    UnsupportedRequestError,
    _body_text,
    _decode,
    _json_or_text,
    _secrets,
    error_info,
    request_url,
)
from modelcfg.adapters._retry_after import retry_after_s

if TYPE_CHECKING:
    pass


K = FailureKind
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

    0. *wrong_url_statuses* (404, 405) with a body that is no provider's error and
       names no model (an HTML page, ``404 page not found``, FastAPI's
       ``{"detail": "Not Found"}``), or whose message says no such route exists
       (*wrong_url_messages*: Anthropic's ``Not Found``, OpenAI's ``Invalid URL
       (POST /x)``): no API answers at that URL, so the base URL is wrong. That is
       an invalid request (code ``endpoint_not_found``), never a missing model;
    1. *codes*: a specific error code or type in the body (``insufficient_quota``);
    2. *messages*: words in the message, in order (``prompt is too long``);
    3. *statuses*: a status with one meaning (401, 402, 404, 429, 529, ...);
    4. *generic_codes*: a broad error type (``invalid_request_error``);
    5. the status class: other 4xx are invalid requests, other 5xx server errors;
    6. otherwise unknown.

    A body that came with a success status (an error object instead of an answer)
    is read with the HTTP status it names itself (OpenRouter's numeric
    ``error.code``), else with none.

    Exceptions without a status are matched by class: first the exceptions
    modelcfg and httpx raise, then *exception_names* (SDK classes, matched by name
    along the class's MRO so that no SDK is imported); then by the exception they
    were raised from (``__cause__``, else ``__context__``); then by the words of
    their message (*exception_messages*: ``Request timed out``).

    Attributes:
        codes: Specific error codes and types, lower case.
        messages: Message rules, first match wins.
        statuses: Statuses with one meaning.
        generic_codes: Broad error types, used after statuses.
        exception_names: Exception class names, such as ``RateLimitError``.
        exception_messages: Message rules for exceptions that carry no status and
            whose class and cause said nothing, first match wins.
        wrong_url_statuses: The statuses that can mean the URL serves no API.
        wrong_url_messages: The messages that say no route exists at the URL.
    """

    codes: Mapping[str, FailureKind] = attrs.field(hash=False)
    messages: tuple[MessageRule, ...]
    statuses: Mapping[int, FailureKind] = attrs.field(hash=False)
    generic_codes: Mapping[str, FailureKind] = attrs.field(hash=False)
    exception_names: Mapping[str, FailureKind] = attrs.field(hash=False)
    exception_messages: tuple[MessageRule, ...] = ()
    wrong_url_statuses: frozenset[int] = frozenset({404, 405})
    wrong_url_messages: re.Pattern[str] | None = None

    def extended(
        self,
        *,
        codes: Mapping[str, FailureKind] | None = None,
        messages: tuple[MessageRule, ...] = (),
        statuses: Mapping[int, FailureKind] | None = None,
        exception_names: Mapping[str, FailureKind] | None = None,
        exception_messages: tuple[MessageRule, ...] = (),
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
            exception_messages=(*exception_messages, *self.exception_messages),
        )

    def wrong_url(self, status: int | None, info: ErrorInfo) -> bool:
        """
        Whether an error with this status and body says that no API answers at the
        URL (rule 0): the provider's base URL is wrong.
        """
        if status not in self.wrong_url_statuses:
            return False
        message = info.message.strip()
        if self.wrong_url_messages is not None and self.wrong_url_messages.search(message):
            return True
        if info.shaped:
            return False
        return not any(
            rule.kind is K.MODEL_NOT_FOUND and rule.pattern.search(message)
            for rule in self.messages
        )

    def kind_for(self, status: int | None, info: ErrorInfo) -> tuple[FailureKind, str]:
        """
        The kind an error with this status and body means, and which rule said so.
        """
        if self.wrong_url(status, info):
            return K.INVALID_REQUEST, WRONG_URL_RULE
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


UNSUPPORTED_PATTERN: Final = (
    r"unsupported (parameter|value)|only supported by certain models"
    r"|(does not|doesn't|do not) support (the )?(tools?|tool[ _-]?(use|calling|choice)|function"
    r"|images?|image input|vision|stream|json|response_format|structured|reasoning|thinking"
    r"|pdf|documents?|audio)"
    r"|\b(tools?|tool[ _-]?(use|calling|choice)|function[ _-]?calling|stream(ing)?|response_format"
    r"|json[ _-]?(mode|schema|object)|structured[ _-]?outputs?|images?|image_url|vision|pdf"
    r"|audio|reasoning(_effort)?|thinking)\b[^.]{0,60}?\b(is|are) not supported"
)
"""The words of a 400 saying the model lacks a capability or parameter the request used."""

_UNSUPPORTED_NEEDS: Final = (
    ("schema_output", re.compile(r"json[ _-]?schema|structured", re.IGNORECASE)),
    ("json_output", re.compile(r"response_format|json", re.IGNORECASE)),
    ("tools", re.compile(r"\btools?\b|tool[ _-]?(use|calling|choice)|function", re.IGNORECASE)),
    ("image_input", re.compile(r"image|vision", re.IGNORECASE)),
    ("pdf_input", re.compile(r"\bpdf\b|document", re.IGNORECASE)),
    ("audio_input", re.compile(r"audio", re.IGNORECASE)),
    ("reasoning", re.compile(r"reasoning|thinking", re.IGNORECASE)),
    ("streaming", re.compile(r"\bstream", re.IGNORECASE)),
)
"""Which need an "unsupported" message names, first match wins."""

UNSUPPORTED_CODE_PREFIX: Final = "unsupported:"
"""The code of an unsupported failure that names its need: ``unsupported:tools``."""


def unsupported_need(message: str) -> str | None:
    """
    The need (``tools``, ``image_input``, ``json_output``, ...) an "unsupported"
    message names, or ``None`` when it names none modelcfg routes by.
    """
    for need, pattern in _UNSUPPORTED_NEEDS:
        if pattern.search(message):
            return need
    return None


WRONG_URL_RULE: Final = "no API at this URL"
"""The rule :meth:`ErrorTable.kind_for` names when the URL serves no API (rule 0)."""

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
        "unsupported_parameter": K.UNSUPPORTED,  # "Unsupported parameter: 'tools' is not ..."
        "unsupported_value": K.UNSUPPORTED,
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
        MessageRule.of(K.UNSUPPORTED, UNSUPPORTED_PATTERN, (400, 422)),
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
    exception_messages=(
        # SDK wrappers that re-raise a plain Exception keep only the words
        MessageRule.of(K.TIMEOUT, r"time[ds]?[ _-]?out\b|deadline exceeded"),
        MessageRule.of(
            K.CONNECTION,
            r"\bconnection (was )?(reset|refused|aborted|closed|error|failed)"
            r"|network (error|is unreachable)|name or service not known"
            r"|temporary failure in name resolution|nodename nor servname",
        ),
    ),
    wrong_url_messages=re.compile(
        # the services' own answers for a path they do not serve: Anthropic's
        # not_found_error "Not Found", OpenAI's "Invalid URL (POST /v1/x)" and older
        # "Unknown request URL", Go's "404 page not found", Express's "Cannot POST /x"
        r"\A(404:?\s*)?(page\s+)?not\s+found\.?\Z|\Ainvalid url\b|\Aunknown request url\b"
        r"|\Acannot (post|get|put) /|\Ano route\b|\Aroute\b.{0,200}\bnot found\Z"
        r"|\Amethod not allowed\.?\Z",
        re.IGNORECASE,
    ),
)
"""The default classification table every adapter uses unless given another."""


# ------------------------------------------------------------------- classify


HOST_ERRORS: Final[tuple[type[BaseException], ...]] = (MemoryError, RecursionError, SystemError)
"""Errors of the host's own process, not of a provider: never classified, never retried.

The executor lets them propagate; retrying on another provider would only repeat them.
"""


def classify(
    error: BaseException | httpx.Response,
    *,
    now: float,
    table: ErrorTable = ERROR_TABLE,
    model: ModelRef | None = None,
    profile: ProfileId | None = None,
    credential: str | None = None,
    after_output: bool = False,
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
        after_output: Part of the answer had already reached the caller when the
            call failed (see :func:`cut_after_output`).

    Returns:
        The failure. Never raises: anything unrecognised is ``unknown``.
    """
    secrets = _secrets(credential)
    try:
        failure = _classify(error, now, table, model, profile, secrets)
    except Exception:  # classify never raises, whatever it is given
        failure = _last_resort(error, now, table, model, profile, secrets)
    return cut_after_output(failure) if after_output else failure


def cut_after_output(failure: Failure) -> Failure:
    """
    *failure*, of a call whose output had already reached the caller, as the
    ``stream_interrupted`` failure it is, whatever caused it.

    A reset, a stall or an error event after part of the answer was shown leaves
    the caller holding a truncated answer, which is never a success: the report,
    the observers, the history and the shared health all see an interrupted stream
    (the status, code and message are kept). Hosts whose adapters classify for
    themselves apply this to what their ``classify()`` returns.
    """
    if failure.kind is K.STREAM_INTERRUPTED:
        return failure
    return attrs.evolve(failure, kind=K.STREAM_INTERRUPTED)


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
            url=request_url(error),
        )
    except Exception:  # even the status could not be read
        return unknown


def _wrong_url_message(status: int | None, url: str, info: ErrorInfo) -> str:
    """
    What a user must know when no API answers at *url*: the URL, and the rule for
    base URLs of the wire format its path belongs to.
    """
    said = info.message.strip()
    shown = f"({said[:80]!r})" if info.shaped and said else "with no API error in its body"
    head = (
        f"{url or 'the provider'} answered HTTP {status} {shown}: no API answers at this URL, "
        "so the provider's base URL is wrong"
    )
    if url.endswith("/chat/completions"):
        return (
            f"{head}; an OpenAI-compatible base URL usually ends in /v1 "
            "(https://api.openai.com/v1, http://127.0.0.1:11434/v1), and modelcfg adds "
            "/chat/completions"
        )
    if url.endswith("/messages"):
        return (
            f"{head}; an Anthropic base URL is the API root (https://api.anthropic.com), "
            "and modelcfg adds /v1/messages"
        )
    return head


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
    url: str = "",
) -> Failure:
    info = error_info(body)
    # A success status with an error object: the status the object names decides.
    rule_status = status if status is None or status >= 400 else info.status
    kind, rule = table.kind_for(rule_status, info)
    wait = retry_after_s(headers, now=now, resets=kind is K.RATE_LIMITED)
    code = info.codes[0] if info.codes else None
    message = info.message or fallback_message or (f"HTTP {status}" if status else "")
    if rule == WRONG_URL_RULE:
        code, message = "endpoint_not_found", _wrong_url_message(status, url, info)
    if kind is K.UNSUPPORTED:
        need = unsupported_need(message)
        if need is not None:
            code = UNSUPPORTED_CODE_PREFIX + need
    return Failure(
        kind=kind,
        observed_at=now,
        status=status,
        retry_after_s=wait,
        message=redact(message, *secrets),
        model=model,
        profile=profile,
        code=code,
    )


def _classify(
    error: BaseException | httpx.Response,
    now: float,
    table: ErrorTable,
    model: ModelRef | None,
    profile: ProfileId | None,
    secrets: tuple[str, ...],
    *,
    causes: bool = True,
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
            url=request_url(error),
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
            return simple(K.TIMEOUT, code=DEADLINE_CODE)
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
    cause = _cause_failure(error, now, table, model, profile, secrets) if causes else None
    if cause is not None:
        text = redact(str(error), *secrets)
        return attrs.evolve(cause, message=f"{text}: {cause.message}" if text else cause.message)
    text = str(error)
    for rule in table.exception_messages:
        if rule.pattern.search(text):
            return simple(rule.kind, code=type(error).__name__)
    return simple(K.UNKNOWN, code=type(error).__name__)


_MAX_CAUSES: Final = 8
"""How far down an exception's chain of causes classification looks."""


def _cause_failure(
    error: BaseException,
    now: float,
    table: ErrorTable,
    model: ModelRef | None,
    profile: ProfileId | None,
    secrets: tuple[str, ...],
) -> Failure | None:
    """
    The failure the exception *error* was raised from says, when it says more than
    ``unknown``: a wrapper's ``Exception("Request failed")`` raised from a
    ``TimeoutError`` is a timeout. Follows ``__cause__`` (else an unsuppressed
    ``__context__``), at most :data:`_MAX_CAUSES` deep.
    """
    seen = {id(error)}
    current = error
    for _ in range(_MAX_CAUSES):
        nxt = current.__cause__
        if nxt is None and not current.__suppress_context__:
            nxt = current.__context__
        if nxt is None or id(nxt) in seen:
            return None
        seen.add(id(nxt))
        failure = _classify(nxt, now, table, model, profile, secrets, causes=False)
        if failure.kind is not K.UNKNOWN:
            return failure
        current = nxt
    return None


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
    if isinstance(body, dict) and "error" not in body and {"message", "type", "code"} & set(body):
        # openai's SDK keeps only the inner error object; code and type are on it (a
        # body of another shape, FastAPI's {"detail": ...}, is left as it came)
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
