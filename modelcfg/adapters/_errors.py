"""
The exceptions that leave a provider call, each carrying what classification needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal

import attrs
import httpx

from modelcfg._core._redact import redact
from modelcfg.exceptions import ModelcfgError

if TYPE_CHECKING:
    from modelcfg._messages import Usage


_MAX_BODY: Final = 65_536
"""The most of an error body that is read, kept and parsed (64 KiB)."""

# ----------------------------------------------------------------------- exceptions


class ProviderError(ModelcfgError):
    """
    A provider call failed; :func:`classify` turns it into a :class:`~modelcfg.Failure`.

    Attributes:
        provider: The adapter's name (``openai``, ``anthropic``, ...).
        model: The provider's model id the call was for.
        usage: The tokens the provider reported before the call failed (a cut
            stream's usage so far), which it bills; ``None`` when it reported none.
    """

    usage: Usage | None = None

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
        url: The URL the request went to (scheme, host, port and path only), or ``""``.
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
        url: str = "",
    ) -> None:
        self.status = status
        self.headers = {key.lower(): value for key, value in headers.items()}
        self.body = body
        self.url = url
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
            url=request_url(response),
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
            within the idle limit), ``"malformed"`` (an event could not be read),
            ``"too_large"`` (the stream or one event outgrew its cap in
            :class:`~modelcfg.adapters.CallLimits`) or ``"too_long"`` (the stream ran
            past ``CallLimits.max_stream_s``).
        started: Whether content had already been streamed.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        reason: Literal["cut", "stalled", "malformed", "too_large", "too_long"],
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


def plain_url(url: object) -> str:
    """
    *url* as ``scheme://host[:port]/path``: no user name, password, query or fragment,
    which may hold a key (``?key=...``); ``""`` for anything that is not a URL.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url))
    except Exception:  # an odd value names no URL
        return ""
    if not parsed.scheme or not parsed.host:
        return ""
    port = f":{parsed.port}" if parsed.port is not None else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}{port}{parsed.path}"


def request_url(holder: object) -> str:
    """
    The plain URL of the request behind a response (or an exception carrying one),
    or ``""`` when there is none.
    """
    for candidate in (holder, getattr(holder, "response", None)):
        if isinstance(candidate, httpx.Response):
            try:
                return plain_url(candidate.request.url)
            except RuntimeError:  # a response built without a request
                return ""
    request = getattr(holder, "request", None)
    if isinstance(request, httpx.Request):
        return plain_url(request.url)
    url = getattr(holder, "url", None)
    return plain_url(url) if isinstance(url, str | httpx.URL) and url else ""


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


# ------------------------------------------------------------------ error bodies


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """
    What an error body says, whatever its shape.

    Attributes:
        codes: Structured fields (error ``code``, ``type``, ``status``), lower case,
            most specific first.
        message: The provider's message (with any upstream ``metadata.raw`` text).
        shaped: Whether the body was in an error shape some provider uses (an
            ``error`` object or string, vLLM's ``"object": "error"``); plain text,
            HTML and other JSON (FastAPI's ``{"detail": "Not Found"}``) are not.
        status: An HTTP error status the body names itself (OpenRouter's numeric
            ``error.code``), for a body that came with a success status.
    """

    codes: tuple[str, ...] = ()
    message: str = ""
    shaped: bool = False
    status: int | None = None


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


def _error_status(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
        return value
    return None


def _error_info(body: object) -> ErrorInfo:
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, str):
        return ErrorInfo(message=body.strip()[:500])
    if not isinstance(body, dict):
        return ErrorInfo()
    error = body.get("error", body)
    if isinstance(error, str):
        return ErrorInfo(message=error, shaped=bool(error.strip()))
    shaped = (error is not body and isinstance(error, dict) and bool(error)) or (
        body.get("object") == "error" and "message" in body
    )
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
    return ErrorInfo(
        codes=tuple(codes),
        message=" | ".join(dict.fromkeys(parts)),
        shaped=shaped,
        status=_error_status(error.get("code")) if shaped else None,
    )


def is_error_object(payload: object) -> bool:
    """
    Whether a success body is an error object rather than an answer: an object with
    an ``error`` (an object or a text) and neither ``choices`` nor ``content``, as
    OpenAI-compatible servers and OpenRouter sometimes send with HTTP 200.
    """
    if not isinstance(payload, dict) or "choices" in payload or "content" in payload:
        return False
    error = payload.get("error")
    return bool(error) and isinstance(error, dict | str)
