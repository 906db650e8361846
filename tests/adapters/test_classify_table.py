"""
Classification table: (adapter, status, headers, body or exception) -> failure kind.

The same rows render the table in ``docs/providers.md``; a test keeps the two in
step. Regenerate the docs table with ``python -m tests.adapters.test_classify_table``.
"""

from __future__ import annotations

import errno
import json
import ssl
from pathlib import Path

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg import Failure, FailureKind
from modelcfg.adapters import (
    Adapter,
    AnthropicAdapter,
    CallableAdapter,
    DeadlineExceededError,
    FirstTokenTimeoutError,
    OpenAIAdapter,
    ProviderHTTPError,
    ProviderStreamError,
    StreamInterruptedError,
    UnsupportedRequestError,
)
from modelcfg.typing import JSON

K = FailureKind
NOW = 1_767_225_600.0
DOCS = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
BEGIN, END = "<!-- classification-table:begin -->", "<!-- classification-table:end -->"


async def _never_called(*_args: object) -> object:
    raise AssertionError("the classification table never makes calls")


ADAPTERS: dict[str, Adapter] = {
    "openai": OpenAIAdapter(),
    "anthropic": AnthropicAdapter(),
    "callable": CallableAdapter(call=_never_called),
}


# Exceptions shaped like the official SDKs' (openai, anthropic), defined here so
# that the table proves classification works without importing either SDK.
class APIError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None, body: JSON = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
            self.response = httpx.Response(status_code, headers={"retry-after": "2"})
        self.body = body


class APIConnectionError(APIError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class RateLimitError(APIError):
    pass


class AuthenticationError(APIError):
    pass


class OverloadedError(APIError):
    pass


class InternalServerError(APIError):
    pass


class BadRequestError(APIError):
    pass


class NotFoundError(APIError):
    pass


class HTTPError(Exception):
    """
    Shaped like the exceptions of other client libraries: whatever attributes they set.
    """

    def __init__(self, message: str, **attributes: object) -> None:
        super().__init__(message)
        for name, value in attributes.items():
            setattr(self, name, value)


_PLAIN = frozenset({"Exception", "RuntimeError"})
"""Exception classes that say nothing by their name: the table shows their message."""


def caused(error: BaseException, cause: BaseException) -> BaseException:
    """
    *error* as if raised ``from`` *cause*.
    """
    error.__cause__ = cause
    return error


def during(error: BaseException, context: BaseException) -> BaseException:
    """
    *error* as if raised while *context* was being handled.
    """
    error.__context__ = context
    return error


@attrs.frozen(kw_only=True)
class Row:
    """
    One classification case.
    """

    id: str
    adapter: str
    kind: FailureKind
    status: int | None = None
    headers: dict[str, str] = attrs.field(factory=dict, hash=False)
    body: JSON | bytes = None
    error: BaseException | None = attrs.field(default=None, eq=False)
    retry_after_s: float | None = None

    def content(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return b"" if self.body is None else json.dumps(self.body).encode()

    def shown(self) -> str:
        if self.error is not None:
            name = type(self.error).__name__
            shown = f"`{name}({str(self.error)!r})`" if name in _PLAIN else f"`{name}`"
            cause = self.error.__cause__ or self.error.__context__
            return shown if cause is None else f"{shown} from `{type(cause).__name__}`"
        text = self.content().decode("utf-8", errors="replace").replace("|", "\\|")
        text = text if len(text) <= 70 else text[:69] + "…"
        return f"`{text}`" if text else "(empty)"


def oa(status: int, message: str, type_: str | None = None, code: JSON = None) -> JSON:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def an(type_: str, message: str) -> JSON:
    return {"type": "error", "error": {"type": type_, "message": message}}


ROWS: list[Row] = [
    # ---- OpenAI and compatible servers
    Row(
        id="openai-401-invalid-key",
        adapter="openai",
        status=401,
        kind=K.AUTH,
        body=oa(
            401,
            "Incorrect API key provided: sk-abc***.",
            "invalid_request_error",
            "invalid_api_key",
        ),
    ),
    Row(
        id="openai-401-no-key",
        adapter="openai",
        status=401,
        kind=K.AUTH,
        body=oa(401, "You didn't provide an API key.", "invalid_request_error"),
    ),
    Row(
        id="openai-403-no-access",
        adapter="openai",
        status=403,
        kind=K.AUTH,
        body=oa(403, "You are not allowed to sample from this model", "invalid_request_error"),
    ),
    Row(
        id="openai-401-account-deactivated",
        adapter="openai",
        status=401,
        kind=K.AUTH_PERMANENT,
        body=oa(401, "Your account is not active.", "invalid_request_error", "account_deactivated"),
    ),
    Row(
        id="openai-401-key-revoked-message",
        adapter="openai",
        status=401,
        kind=K.AUTH_PERMANENT,
        body=oa(401, "This API key has been revoked.", "invalid_request_error", "invalid_api_key"),
    ),
    Row(
        id="openai-429-insufficient-quota-is-billing",
        adapter="openai",
        status=429,
        kind=K.BILLING,
        headers={"retry-after": "20"},
        retry_after_s=20.0,
        body=oa(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
    ),
    Row(
        id="openai-429-rate-limit-retry-after",
        adapter="openai",
        status=429,
        kind=K.RATE_LIMITED,
        headers={"retry-after": "7"},
        retry_after_s=7.0,
        body=oa(
            429,
            "Rate limit reached for gpt-4o on requests per min (RPM).",
            "requests",
            "rate_limit_exceeded",
        ),
    ),
    Row(
        id="openai-429-tokens-reset-header",
        adapter="openai",
        status=429,
        kind=K.RATE_LIMITED,
        headers={"x-ratelimit-reset-tokens": "1.5s", "x-ratelimit-remaining-tokens": "0"},
        retry_after_s=1.5,
        body=oa(
            429,
            "Request too large for gpt-4o on tokens per min (TPM): Limit 30000, Requested 50000.",
            "tokens",
            "rate_limit_exceeded",
        ),
    ),
    Row(id="openai-429-empty-body", adapter="openai", status=429, kind=K.RATE_LIMITED),
    Row(
        id="openai-400-context-length-code",
        adapter="openai",
        status=400,
        kind=K.CONTEXT_OVERFLOW,
        body=oa(
            400,
            "This model's maximum context length is 128000 tokens.",
            "invalid_request_error",
            "context_length_exceeded",
        ),
    ),
    Row(
        id="vllm-400-context-length-message",
        adapter="openai",
        status=400,
        kind=K.CONTEXT_OVERFLOW,
        body={
            "object": "error",
            "message": "This model's maximum context length is 4096 tokens. "
            "However, you requested 5000 tokens.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
    ),
    Row(
        id="openai-400-reduce-length",
        adapter="openai",
        status=400,
        kind=K.CONTEXT_OVERFLOW,
        body=oa(
            400, "Please reduce the length of the messages or completion.", "invalid_request_error"
        ),
    ),
    Row(
        id="openai-413-too-large",
        adapter="openai",
        status=413,
        kind=K.CONTEXT_OVERFLOW,
        body="Request Entity Too Large",
    ),
    Row(
        id="openai-400-content-policy",
        adapter="openai",
        status=400,
        kind=K.CONTENT_FILTER,
        body=oa(
            400,
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        ),
    ),
    Row(
        id="azure-400-content-filter",
        adapter="openai",
        status=400,
        kind=K.CONTENT_FILTER,
        body=oa(
            400,
            "The response was filtered due to the prompt triggering Azure OpenAI's content "
            "management policy.",
            None,
            "content_filter",
        ),
    ),
    Row(
        id="openai-400-bad-parameter",
        adapter="openai",
        status=400,
        kind=K.INVALID_REQUEST,
        body=oa(400, "Invalid value for 'temperature': must be <= 2.", "invalid_request_error"),
    ),
    Row(
        id="openai-400-unsupported-parameter",
        adapter="openai",
        status=400,
        kind=K.UNSUPPORTED,
        body=oa(
            400,
            "Unsupported parameter: 'tools' is not supported with this model.",
            "invalid_request_error",
            "unsupported_parameter",
        ),
    ),
    Row(
        id="ollama-400-model-does-not-support-tools",
        adapter="openai",
        status=400,
        kind=K.UNSUPPORTED,
        body=oa(400, "registry.ollama.ai/library/gemma:2b does not support tools", "api_error"),
    ),
    Row(
        id="openai-400-image-only-on-some-models",
        adapter="openai",
        status=400,
        kind=K.UNSUPPORTED,
        body=oa(
            400,
            "Invalid content type. image_url is only supported by certain models.",
            "invalid_request_error",
        ),
    ),
    Row(
        id="openai-422-unprocessable",
        adapter="openai",
        status=422,
        kind=K.INVALID_REQUEST,
        body={"detail": [{"loc": ["body", "messages"], "msg": "field required"}]},
    ),
    Row(
        id="openai-418-other-4xx",
        adapter="openai",
        status=418,
        kind=K.INVALID_REQUEST,
        body="teapot",
    ),
    Row(
        id="openai-404-model-not-found",
        adapter="openai",
        status=404,
        kind=K.MODEL_NOT_FOUND,
        body=oa(
            404,
            "The model `gpt-9` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
    ),
    # A 404 that is no API error, or that names a missing route, means the base URL
    # is wrong (a proxy's page, a path the service does not serve): never a model.
    Row(
        id="proxy-404-html-is-a-wrong-url",
        adapter="openai",
        status=404,
        kind=K.INVALID_REQUEST,
        body="<html><head><title>404 Not Found</title></head><body>nginx</body></html>",
    ),
    Row(
        id="openai-404-invalid-url-is-a-wrong-url",
        adapter="openai",
        status=404,
        kind=K.INVALID_REQUEST,
        body=oa(404, "Invalid URL (POST /v1/messages)", "invalid_request_error"),
    ),
    Row(
        id="go-404-page-not-found-is-a-wrong-url",
        adapter="openai",
        status=404,
        kind=K.INVALID_REQUEST,
        body="404 page not found",
    ),
    Row(
        id="fastapi-404-detail-is-a-wrong-url",
        adapter="openai",
        status=404,
        kind=K.INVALID_REQUEST,
        body={"detail": "Not Found"},
    ),
    Row(
        id="openrouter-405-wrong-path-is-a-wrong-url",
        adapter="openai",
        status=405,
        kind=K.INVALID_REQUEST,
        body="",
    ),
    Row(
        id="vllm-404-model-object-error",
        adapter="openai",
        status=404,
        kind=K.MODEL_NOT_FOUND,
        body={
            "object": "error",
            "message": "The model `llama9` does not exist.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        },
    ),
    Row(
        id="plain-404-naming-a-model",
        adapter="openai",
        status=404,
        kind=K.MODEL_NOT_FOUND,
        body="model 'llama9' not found",
    ),
    Row(
        id="openai-408-timeout",
        adapter="openai",
        status=408,
        kind=K.TIMEOUT,
        body="Request Timeout",
    ),
    Row(
        id="openai-500-server-error",
        adapter="openai",
        status=500,
        kind=K.SERVER,
        body=oa(500, "The server had an error while processing your request.", "server_error"),
    ),
    Row(
        id="openai-502-html",
        adapter="openai",
        status=502,
        kind=K.SERVER,
        body="<html>502 Bad Gateway</html>",
    ),
    Row(
        id="openai-503-unavailable",
        adapter="openai",
        status=503,
        kind=K.SERVER,
        body=oa(503, "The service is temporarily unavailable.", "server_error"),
    ),
    Row(
        id="openai-503-overloaded",
        adapter="openai",
        status=503,
        kind=K.OVERLOADED,
        headers={"retry-after": "3"},
        retry_after_s=3.0,
        body=oa(503, "The engine is currently overloaded, please try again later.", "server_error"),
    ),
    Row(
        id="openai-504-gateway-timeout",
        adapter="openai",
        status=504,
        kind=K.SERVER,
        body="Gateway Timeout",
    ),
    Row(
        id="openai-400-garbage-body",
        adapter="openai",
        status=400,
        kind=K.INVALID_REQUEST,
        body=b"\xff\xfe{not json at all",
    ),
    Row(
        id="openai-200-is-not-a-failure-kind",
        adapter="openai",
        status=200,
        kind=K.UNKNOWN,
        body="{}",
    ),
    # A success status whose body is an error object: the object decides.
    Row(
        id="openai-200-error-object-rate-limit",
        adapter="openai",
        status=200,
        kind=K.RATE_LIMITED,
        body=oa(200, "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    ),
    Row(
        id="openai-200-error-object-context-length",
        adapter="openai",
        status=200,
        kind=K.CONTEXT_OVERFLOW,
        body=oa(
            200,
            "This model's maximum context length is 8192 tokens.",
            "invalid_request_error",
            "context_length_exceeded",
        ),
    ),
    # ---- OpenRouter
    Row(
        id="openrouter-400-context-length",
        adapter="openai",
        status=400,
        kind=K.CONTEXT_OVERFLOW,
        body={
            "error": {
                "code": 400,
                "message": "This endpoint's maximum context length is 200000 tokens. "
                "However, you requested about 250000 tokens.",
            }
        },
    ),
    Row(
        id="openrouter-402-insufficient-credits",
        adapter="openai",
        status=402,
        kind=K.BILLING,
        body={
            "error": {
                "code": 402,
                "message": "Insufficient credits. Add more using "
                "https://openrouter.ai/settings/credits",
            }
        },
    ),
    Row(
        id="openrouter-402-can-only-afford",
        adapter="openai",
        status=402,
        kind=K.BILLING,
        body={
            "error": {
                "code": 402,
                "message": "This request requires more credits, or fewer max_tokens. "
                "You requested up to 4096 tokens, but can only afford 1000.",
            }
        },
    ),
    Row(
        id="openrouter-403-moderation-flagged",
        adapter="openai",
        status=403,
        kind=K.CONTENT_FILTER,
        body={
            "error": {
                "code": 403,
                "message": "Your input was flagged by the moderation model.",
                "metadata": {"reasons": ["violence"], "flagged_input": "..."},
            }
        },
    ),
    Row(
        id="openrouter-502-upstream-overloaded",
        adapter="openai",
        status=502,
        kind=K.OVERLOADED,
        body={
            "error": {
                "code": 502,
                "message": "Provider returned error",
                "metadata": {
                    "raw": json.dumps(an("overloaded_error", "Overloaded")),
                    "provider_name": "Anthropic",
                },
            }
        },
    ),
    Row(
        id="openrouter-200-error-code-429",
        adapter="openai",
        status=200,
        kind=K.RATE_LIMITED,
        body={
            "error": {
                "code": 429,
                "message": "Provider returned error",
                "metadata": {"raw": "upstream busy", "provider_name": "Together"},
            }
        },
    ),
    Row(
        id="openrouter-200-error-code-502",
        adapter="openai",
        status=200,
        kind=K.SERVER,
        body={"error": {"code": 502, "message": "Provider returned error"}},
    ),
    Row(
        id="openrouter-404-no-endpoints-is-the-model",
        adapter="openai",
        status=404,
        kind=K.MODEL_NOT_FOUND,
        body={"error": {"code": 404, "message": "No endpoints found that support tool use."}},
    ),
    Row(
        id="openrouter-429-free-limit",
        adapter="openai",
        status=429,
        kind=K.RATE_LIMITED,
        body={"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day."}},
    ),
    # ---- Google-style bodies (Gemini's OpenAI-compatible and native endpoints)
    Row(
        id="google-400-input-token-count",
        adapter="openai",
        status=400,
        kind=K.CONTEXT_OVERFLOW,
        body=[
            {
                "error": {
                    "code": 400,
                    "message": "The input token count (1200000) exceeds the maximum "
                    "number of tokens allowed (1048576).",
                    "status": "INVALID_ARGUMENT",
                }
            }
        ],
    ),
    Row(
        id="google-429-resource-exhausted",
        adapter="openai",
        status=429,
        kind=K.RATE_LIMITED,
        body={
            "error": {
                "code": 429,
                "message": "Quota exceeded for quota metric 'Generate Content API "
                "requests per minute'.",
                "status": "RESOURCE_EXHAUSTED",
            }
        },
    ),
    Row(
        id="google-400-api-key-not-valid",
        adapter="openai",
        status=400,
        kind=K.AUTH,
        body={
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
            }
        },
    ),
    Row(
        id="google-503-model-overloaded",
        adapter="openai",
        status=503,
        kind=K.OVERLOADED,
        body={
            "error": {
                "code": 503,
                "message": "The model is overloaded. Please try again later.",
                "status": "UNAVAILABLE",
            }
        },
    ),
    # ---- Ollama
    Row(
        id="ollama-404-model-not-pulled",
        adapter="openai",
        status=404,
        kind=K.MODEL_NOT_FOUND,
        body={"error": 'model "llama9" not found, try pulling it first'},
    ),
    # ---- Anthropic
    Row(
        id="anthropic-401-invalid-key",
        adapter="anthropic",
        status=401,
        kind=K.AUTH,
        body=an("authentication_error", "invalid x-api-key"),
    ),
    Row(
        id="anthropic-403-permission",
        adapter="anthropic",
        status=403,
        kind=K.AUTH,
        body=an(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
    ),
    Row(
        id="anthropic-400-org-disabled",
        adapter="anthropic",
        status=400,
        kind=K.AUTH_PERMANENT,
        body=an("invalid_request_error", "This organization has been disabled."),
    ),
    Row(
        id="anthropic-400-prompt-too-long",
        adapter="anthropic",
        status=400,
        kind=K.CONTEXT_OVERFLOW,
        body=an("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    ),
    Row(
        id="anthropic-400-credit-balance",
        adapter="anthropic",
        status=400,
        kind=K.BILLING,
        body=an(
            "invalid_request_error", "Your credit balance is too low to access the Anthropic API."
        ),
    ),
    Row(
        id="anthropic-429-rate-limit",
        adapter="anthropic",
        status=429,
        kind=K.RATE_LIMITED,
        headers={"retry-after": "12", "anthropic-ratelimit-tokens-reset": "2026-01-01T00:05:00Z"},
        retry_after_s=12.0,
        body=an("rate_limit_error", "This request would exceed your organization's rate limit."),
    ),
    Row(
        id="anthropic-429-reset-header-only",
        adapter="anthropic",
        status=429,
        kind=K.RATE_LIMITED,
        headers={"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:30Z"},
        retry_after_s=30.0,
        body=an("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    ),
    Row(
        id="anthropic-529-overloaded",
        adapter="anthropic",
        status=529,
        kind=K.OVERLOADED,
        body=an("overloaded_error", "Overloaded"),
    ),
    Row(
        id="anthropic-500-api-error",
        adapter="anthropic",
        status=500,
        kind=K.SERVER,
        body=an("api_error", "Internal server error"),
    ),
    Row(
        id="anthropic-404-path-not-found-is-a-wrong-url",
        adapter="anthropic",
        status=404,
        kind=K.INVALID_REQUEST,
        body=an("not_found_error", "Not Found"),
    ),
    Row(
        id="anthropic-404-model",
        adapter="anthropic",
        status=404,
        kind=K.MODEL_NOT_FOUND,
        body=an("not_found_error", "model: claude-9"),
    ),
    Row(
        id="anthropic-413-request-too-large",
        adapter="anthropic",
        status=413,
        kind=K.CONTEXT_OVERFLOW,
        body=an("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    ),
    Row(
        id="anthropic-400-content-filter",
        adapter="anthropic",
        status=400,
        kind=K.CONTENT_FILTER,
        body=an("invalid_request_error", "Output blocked by content filtering policy"),
    ),
    Row(
        id="anthropic-400-invalid-request",
        adapter="anthropic",
        status=400,
        kind=K.INVALID_REQUEST,
        body=an(
            "invalid_request_error", "messages: roles must alternate between user and assistant"
        ),
    ),
    Row(
        id="anthropic-402-billing",
        adapter="anthropic",
        status=402,
        kind=K.BILLING,
        body=an("billing_error", "Payment required."),
    ),
    # ---- transport errors and timeouts
    Row(
        id="httpx-connect-error",
        adapter="openai",
        kind=K.CONNECTION,
        error=httpx.ConnectError("refused"),
    ),
    Row(
        id="httpx-read-error",
        adapter="openai",
        kind=K.CONNECTION,
        error=httpx.ReadError("reset by peer"),
    ),
    Row(
        id="httpx-remote-protocol-error",
        adapter="anthropic",
        kind=K.CONNECTION,
        error=httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ),
    Row(
        id="httpx-connect-timeout",
        adapter="openai",
        kind=K.TIMEOUT,
        error=httpx.ConnectTimeout("slow"),
    ),
    Row(
        id="httpx-read-timeout",
        adapter="anthropic",
        kind=K.TIMEOUT,
        error=httpx.ReadTimeout("slow"),
    ),
    Row(id="builtin-timeout", adapter="openai", kind=K.TIMEOUT, error=TimeoutError()),
    Row(
        id="builtin-connection-reset",
        adapter="openai",
        kind=K.CONNECTION,
        error=ConnectionResetError(104, "reset"),
    ),
    Row(
        id="http-status-error",
        adapter="openai",
        kind=K.RATE_LIMITED,
        error=httpx.HTTPStatusError(
            "429",
            request=httpx.Request("POST", "http://127.0.0.1/v1"),
            response=httpx.Response(429),
        ),
    ),
    # Timeouts and network failures hidden by a wrapper: in its words or its cause.
    Row(
        id="plain-exception-timed-out",
        adapter="callable",
        kind=K.TIMEOUT,
        error=Exception("Request timed out."),
    ),
    Row(
        id="plain-exception-from-timeout",
        adapter="callable",
        kind=K.TIMEOUT,
        error=caused(Exception("Request failed"), TimeoutError()),
    ),
    Row(
        id="plain-exception-from-httpx-read-timeout",
        adapter="callable",
        kind=K.TIMEOUT,
        error=caused(RuntimeError("call failed"), httpx.ReadTimeout("slow")),
    ),
    Row(
        id="plain-exception-during-timeout",
        adapter="callable",
        kind=K.TIMEOUT,
        error=during(RuntimeError("the SDK gave up"), TimeoutError()),
    ),
    Row(
        id="plain-exception-from-connect-error",
        adapter="callable",
        kind=K.CONNECTION,
        error=caused(RuntimeError("call failed"), httpx.ConnectError("refused")),
    ),
    Row(
        id="plain-exception-connection-reset-words",
        adapter="callable",
        kind=K.CONNECTION,
        error=Exception("Connection reset by peer"),
    ),
    Row(id="anything-else-is-unknown", adapter="openai", kind=K.UNKNOWN, error=ValueError("what?")),
    Row(
        id="plain-exception-from-something-unknown",
        adapter="callable",
        kind=K.UNKNOWN,
        error=caused(RuntimeError("call failed"), KeyError("choices")),
    ),
    # ---- what the call path raises
    Row(
        id="stream-cut",
        adapter="openai",
        kind=K.STREAM_INTERRUPTED,
        error=StreamInterruptedError("cut", provider="openai", reason="cut", started=True),
    ),
    Row(
        id="stream-stalled",
        adapter="anthropic",
        kind=K.STREAM_INTERRUPTED,
        error=StreamInterruptedError(
            "stalled", provider="anthropic", reason="stalled", started=True
        ),
    ),
    Row(
        id="first-token-timeout",
        adapter="openai",
        kind=K.TIMEOUT,
        error=FirstTokenTimeoutError("slow", provider="openai", limit_s=1.0),
    ),
    Row(
        id="stream-error-event-overloaded",
        adapter="anthropic",
        kind=K.OVERLOADED,
        error=ProviderStreamError(
            "x", provider="anthropic", code="overloaded_error", detail="Overloaded", started=True
        ),
    ),
    Row(
        id="stream-error-event-unknown",
        adapter="openai",
        kind=K.STREAM_INTERRUPTED,
        error=ProviderStreamError(
            "x", provider="openai", code="server_error", detail="boom", started=True
        ),
    ),
    Row(
        id="unsupported-request",
        adapter="anthropic",
        kind=K.MODEL_NOT_FOUND,
        error=UnsupportedRequestError("no JSON mode", provider="anthropic"),
    ),
    # ---- SDK exceptions, by duck typing
    Row(
        id="sdk-api-timeout-error",
        adapter="callable",
        kind=K.TIMEOUT,
        error=APITimeoutError("Request timed out."),
    ),
    Row(
        id="sdk-api-connection-error",
        adapter="callable",
        kind=K.CONNECTION,
        error=APIConnectionError("Connection error."),
    ),
    Row(
        id="sdk-rate-limit-error",
        adapter="callable",
        kind=K.RATE_LIMITED,
        retry_after_s=2.0,
        error=RateLimitError(
            "Error code: 429",
            status_code=429,
            body={
                "message": "Rate limit reached",
                "type": "requests",
                "code": "rate_limit_exceeded",
            },
        ),
    ),
    Row(
        id="sdk-rate-limit-error-insufficient-quota",
        adapter="callable",
        kind=K.BILLING,
        error=RateLimitError(
            "Error code: 429",
            status_code=429,
            body={
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            },
        ),
    ),
    Row(
        id="sdk-authentication-error-without-status",
        adapter="callable",
        kind=K.AUTH,
        error=AuthenticationError("bad key"),
    ),
    Row(
        id="sdk-anthropic-overloaded-error",
        adapter="callable",
        kind=K.OVERLOADED,
        error=OverloadedError(
            "Overloaded", status_code=529, body=an("overloaded_error", "Overloaded")
        ),
    ),
    Row(
        id="sdk-internal-server-error",
        adapter="callable",
        kind=K.SERVER,
        error=InternalServerError("Error code: 500", status_code=500, body=None),
    ),
    Row(
        id="sdk-bad-request-context-length",
        adapter="callable",
        kind=K.CONTEXT_OVERFLOW,
        error=BadRequestError(
            "Error code: 400",
            status_code=400,
            body={
                "message": "maximum context length is 8192 tokens",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            },
        ),
    ),
    Row(
        id="sdk-404-fastapi-detail-is-a-wrong-url",
        adapter="callable",
        kind=K.INVALID_REQUEST,
        error=NotFoundError("Error code: 404", status_code=404, body={"detail": "Not Found"}),
    ),
    Row(
        id="sdk-404-invalid-url-is-a-wrong-url",
        adapter="callable",
        kind=K.INVALID_REQUEST,
        error=NotFoundError(
            "Error code: 404",
            status_code=404,
            body={
                "message": "Invalid URL (POST /v1/chat/completion)",
                "type": "invalid_request_error",
                "code": None,
            },
        ),
    ),
    Row(
        id="sdk-404-html-is-a-wrong-url",
        adapter="callable",
        kind=K.INVALID_REQUEST,
        error=NotFoundError(
            "<html><body><h1>404 Not Found</h1></body></html>",
            status_code=404,
            body="<html><body><h1>404 Not Found</h1></body></html>",
        ),
    ),
    Row(
        id="sdk-404-model-not-found",
        adapter="callable",
        kind=K.MODEL_NOT_FOUND,
        error=NotFoundError(
            "Error code: 404",
            status_code=404,
            body={
                "message": "The model `gpt-9` does not exist",
                "type": "invalid_request_error",
                "code": "model_not_found",
            },
        ),
    ),
    Row(
        id="sdk-retry-after-on-the-exception-itself",
        adapter="callable",
        kind=K.RATE_LIMITED,
        retry_after_s=7.0,
        error=HTTPError("Too Many Requests", status_code=429, headers={"Retry-After": "7"}),
    ),
    Row(
        id="sdk-integer-code-is-the-status",
        adapter="callable",
        kind=K.RATE_LIMITED,
        error=HTTPError("Resource has been exhausted", code=429, status="RESOURCE_EXHAUSTED"),
    ),
    Row(
        id="sdk-bytes-body",
        adapter="callable",
        kind=K.CONTEXT_OVERFLOW,
        error=HTTPError(
            "Error code: 400", status_code=400, body=b'{"error":{"message":"prompt is too long"}}'
        ),
    ),
    Row(
        id="sdk-json-text-body",
        adapter="callable",
        kind=K.BILLING,
        error=HTTPError(
            "Error code: 429", status_code=429, body='{"error":{"code":"insufficient_quota"}}'
        ),
    ),
    Row(
        id="builtin-ssl-error",
        adapter="callable",
        kind=K.CONNECTION,
        error=ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
    ),
    Row(
        id="builtin-network-unreachable",
        adapter="callable",
        kind=K.CONNECTION,
        error=OSError(errno.ENETUNREACH, "Network is unreachable"),
    ),
    Row(
        id="deadline-exceeded",
        adapter="openai",
        kind=K.TIMEOUT,
        error=DeadlineExceededError("late", provider="openai", limit_s=1.0),
    ),
    Row(
        id="openai-429-deeply-nested-body",
        adapter="openai",
        status=429,
        kind=K.RATE_LIMITED,
        headers={"retry-after": "7"},
        retry_after_s=7.0,
        body=b'{"error":' * 3_000 + b"1" + b"}" * 3_000,
    ),
]


def _failure(row: Row) -> Failure:
    adapter = ADAPTERS[row.adapter]
    if row.error is not None:
        return adapter.classify(row.error, now=NOW)
    response = httpx.Response(row.status or 0, headers=row.headers, content=row.content())
    return adapter.classify(response, now=NOW)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_classification(row: Row) -> None:
    """Each row classifies to its kind (and its Retry-After, where the row gives one)."""
    failure = _failure(row)

    assert (row.kind, row.retry_after_s) == (
        failure.kind,
        failure.retry_after_s if row.retry_after_s is not None else None,
    )


@pytest.mark.parametrize("row", [r for r in ROWS if r.error is None], ids=lambda row: row.id)
def test_provider_http_error_classifies_like_the_response(row: Row) -> None:
    """The call path's ProviderHTTPError classifies exactly like the response it came from."""
    adapter = ADAPTERS[row.adapter]
    response = httpx.Response(row.status or 0, headers=row.headers, content=row.content())
    error = ProviderHTTPError.from_response(
        response, provider=adapter.name, model="m", credential=None
    )

    assert adapter.classify(response, now=NOW) == adapter.classify(error, now=NOW)


def test_the_table_is_big_enough() -> None:
    """The table covers at least forty cases and every failure kind."""

    assert (True, set(FailureKind)) == (len(ROWS) >= 40, {row.kind for row in ROWS})


def test_code_is_the_provider_error_code() -> None:
    """The failure carries the provider's error code, the status and the message."""
    failure = _failure(ROWS[0])

    assert ("invalid_api_key", 401, True) == (
        failure.code,
        failure.status,
        failure.message.startswith("Incorrect API key"),
    )


@settings(max_examples=150)
@given(
    adapter=st.sampled_from(sorted(ADAPTERS)),
    status=st.integers(min_value=0, max_value=999),
    body=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "retry-after",
                "retry-after-ms",
                "x-ratelimit-reset-tokens",
                "anthropic-ratelimit-tokens-reset",
                "content-type",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        max_size=4,
    ),
)
def test_classify_never_raises_on_garbage(
    adapter: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Any status, headers and body bytes give a Failure, never an exception."""
    response = httpx.Response(status, headers=headers, content=body)

    assert isinstance(ADAPTERS[adapter].classify(response, now=NOW), Failure)


@settings(max_examples=100)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["error", "code", "type", "message", "status", "metadata", "raw", "detail"]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_classify_never_raises_on_odd_json(body: JSON) -> None:
    """Any JSON shape in the body gives a Failure, never an exception."""
    response = httpx.Response(400, content=json.dumps(body).encode())

    assert isinstance(OpenAIAdapter().classify(response, now=NOW), Failure)


def markdown_table() -> str:
    """
    The rows as a Markdown table for ``docs/providers.md``.
    """
    lines = ["| Case | Adapter | Status | Body or exception | Kind |", "|---|---|---|---|---|"]
    for row in ROWS:
        status = "" if row.status is None else str(row.status)
        lines.append(
            f"| {row.id} | {row.adapter} | {status} | {row.shown()} | `{row.kind.value}` |"
        )
    return "\n".join(lines)


def test_docs_table_is_current() -> None:
    """docs/providers.md shows exactly the rows this module tests."""
    text = DOCS.read_text(encoding="utf-8")
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()

    assert markdown_table() == shown


if __name__ == "__main__":
    print(markdown_table())
