"""
Provider adapters: one module per wire format.

Each adapter formats a :class:`~modelcfg.ChatRequest` into an ``httpx.Request``,
parses the response (also streamed), and classifies what went wrong into a
:class:`~modelcfg.Failure`, all as pure functions; one thin async call path
(``complete()`` and ``stream()``) runs over the host's ``httpx.AsyncClient``.

- :class:`OpenAIAdapter`: OpenAI-compatible chat completions (OpenAI, OpenRouter,
  vLLM, Ollama, LM Studio, Groq, Together, ...).
- :class:`AnthropicAdapter`: the Anthropic Messages API.
- :class:`CallableAdapter`: any async callable, such as an official SDK client.
"""

from __future__ import annotations

from modelcfg.adapters._classify import ERROR_TABLE, ErrorTable, MessageRule, classify
from modelcfg.adapters._errors import (
    DeadlineExceededError,
    ErrorInfo,
    FirstTokenTimeoutError,
    MalformedResponseError,
    ProviderError,
    ProviderHTTPError,
    ProviderStreamError,
    StreamInterruptedError,
    UnsupportedRequestError,
    error_info,
)
from modelcfg.adapters._http import HTTPAdapter, open_http_stream
from modelcfg.adapters._protocol import (
    DEFAULT_LIMITS,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_STREAM_BYTES,
    MAX_STREAM_S,
    Adapter,
    CallLimits,
    Endpoint,
    StreamParser,
)
from modelcfg.adapters._retry_after import retry_after_s
from modelcfg.adapters._sse import SSEDecoder, SSEEvent
from modelcfg.adapters.anthropic import AnthropicAdapter, AnthropicStreamParser
from modelcfg.adapters.callable import CallableAdapter
from modelcfg.adapters.openai import OpenAIAdapter, OpenAIStreamParser

__all__ = [
    "DEFAULT_LIMITS",
    "ERROR_TABLE",
    "MAX_BODY_BYTES",
    "MAX_EVENT_BYTES",
    "MAX_STREAM_BYTES",
    "MAX_STREAM_S",
    "Adapter",
    "AnthropicAdapter",
    "AnthropicStreamParser",
    "CallLimits",
    "CallableAdapter",
    "DeadlineExceededError",
    "Endpoint",
    "ErrorInfo",
    "ErrorTable",
    "FirstTokenTimeoutError",
    "HTTPAdapter",
    "MalformedResponseError",
    "MessageRule",
    "OpenAIAdapter",
    "OpenAIStreamParser",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderStreamError",
    "SSEDecoder",
    "SSEEvent",
    "StreamInterruptedError",
    "StreamParser",
    "UnsupportedRequestError",
    "classify",
    "error_info",
    "open_http_stream",
    "retry_after_s",
]
