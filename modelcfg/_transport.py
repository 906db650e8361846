"""
httpx transports that put modelcfg under code written for the OpenAI SDK.

A host keeps its OpenAI SDK calls and hands the SDK an ``httpx`` client built on
:class:`OpenAITransport` (sync) or :class:`AsyncOpenAITransport` (async). Chat
completion requests (``POST .../chat/completions``) never leave the process as
they are: their ``model`` is read as ``/model`` text, the executor answers them
with rotation and fallback, and the answer goes back in the OpenAI wire format
(``chat.completion``, or ``chat.completion.chunk`` events ending in
``data: [DONE]``). Every other request goes to the inner transport unchanged.

When modelcfg gives up, the SDK receives the OpenAI error shape with the status
of the final failure (429, 401, 400, 503, 504, ...) and ``x-should-retry:
false``, so it raises its own typed error without retrying what modelcfg
already retried.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Self

import attrs
import httpx

from modelcfg._executor._executor import Executor
from modelcfg._executor._reports import Completion, StreamRestarted
from modelcfg._messages import (
    ChatRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from modelcfg._sync import _KEEP_SELECTIONS, Client, SyncStream, resolve_selection
from modelcfg.exceptions import (
    AttemptsExhaustedError,
    AuthFailedError,
    BadRequestError,
    ContentFilteredError,
    ContextOverflowError,
    DeadlineReachedError,
    ModelcfgError,
    OutputInterruptedError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitedError,
    UnknownModelError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelcfg._catalog._catalog import ModelCatalog
    from modelcfg._config._schema import Config
    from modelcfg._core._values import Selection, Target
    from modelcfg._executor._credentials import CredentialSource
    from modelcfg._executor._reports import Observer
    from modelcfg._executor._stream import StreamingCompletion
    from modelcfg.adapters import Adapter, CallLimits
    from modelcfg.auth import AuthStoreProtocol
    from modelcfg.typing import JSON, Clock, JSONObject, StateStore

__all__ = ["AsyncOpenAITransport", "OpenAITransport"]

_FINISH_REASONS: Final = frozenset({"stop", "length", "tool_calls", "content_filter"})
"""The finish reasons the OpenAI SDK knows; any other is reported as ``stop``."""

_STRUCTURAL: Final = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "response_format",
        "n",
    }
)
"""Request fields the transport reads itself; every other field is a provider parameter."""

_STATUS_BY_ERROR: Final[tuple[tuple[type[AttemptsExhaustedError], int, str], ...]] = (
    (QuotaExceededError, 429, "insufficient_quota"),
    (RateLimitedError, 429, "rate_limit_exceeded"),
    (AuthFailedError, 401, "invalid_api_key"),
    (ContextOverflowError, 400, "context_length_exceeded"),
    (ContentFilteredError, 400, "content_filter"),
    (BadRequestError, 400, "invalid_request"),
    (ProviderUnavailableError, 503, "provider_unavailable"),
    (DeadlineReachedError, 504, "deadline_exceeded"),
)
"""How a give-up reaches the SDK: the first class that matches gives the status and
code (so the SDK raises ``RateLimitError``, ``AuthenticationError``, ``BadRequestError``
or ``InternalServerError``); any other give-up is a 502."""


# --- reading the OpenAI request -------------------------------------------------------------


class _Refused(Exception):
    """
    A request the transport answers with an OpenAI error, not a model's answer.
    """

    def __init__(
        self, status: int, message: str, *, code: str, kind: str, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.kind = kind
        self.param = param


def _bad(message: str, param: str | None = None) -> _Refused:
    return _Refused(400, message, code="invalid_request", kind="invalid_request_error", param=param)


@attrs.frozen(kw_only=True)
class _Asked:
    """
    What one chat completion request asks for.
    """

    request: ChatRequest
    model: str
    include_usage: bool


def _tool(value: JSON, index: int) -> ToolSpec:
    where = f"tools[{index}]"
    if not isinstance(value, dict) or value.get("type") != "function":
        raise _bad(f"{where} must be a function tool ({{'type': 'function', ...}})", where)
    function = value.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise _bad(f"{where}.function must be an object with a name", f"{where}.function")
    parameters = function.get("parameters")
    return ToolSpec(
        name=str(function["name"]),
        description=str(function.get("description") or ""),
        parameters=parameters
        if isinstance(parameters, dict)
        else {"type": "object", "properties": {}},
    )


def _tool_choice(value: JSON) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict):
        function = value.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    raise _bad(
        "tool_choice must be 'auto', 'none', 'required' or "
        "{'type': 'function', 'function': {'name': ...}}",
        "tool_choice",
    )


def _response_format(value: JSON) -> tuple[bool, JSONObject | None]:
    if value is None:
        return False, None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return False, None
    if kind == "json_object":
        return True, None
    if kind == "json_schema" and isinstance(value, dict):
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return True, schema
    raise _bad(
        "response_format must be {'type': 'text'}, {'type': 'json_object'} or "
        "{'type': 'json_schema', 'json_schema': {'name': ..., 'schema': {...}}}",
        "response_format",
    )


def read_chat_request(content: bytes) -> _Asked:
    """
    The chat request an OpenAI chat completions body asks for.

    Raises:
        _Refused: The body is not a chat completions request modelcfg can serve.
    """
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise _bad("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model must be /model text: an alias, provider/model or @profile.", "model")
    if body.get("n") not in (None, 1):
        raise _bad("modelcfg answers one choice per request: n must be 1.", "n")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages must be a non-empty list of messages.", "messages")
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise _bad("tools must be a list.", "tools")
    options = body.get("stream_options")
    json_output, json_schema = _response_format(body.get("response_format"))
    try:
        request = ChatRequest(
            messages=messages,
            tools=[_tool(tool, index) for index, tool in enumerate(tools)],
            tool_choice=_tool_choice(body.get("tool_choice")),
            params={k: v for k, v in body.items() if k not in _STRUCTURAL and v is not None},
            stream=body.get("stream") is True,
            json_output=json_output,
            json_schema=json_schema,
        )
    except (TypeError, ValueError) as error:
        raise _bad(str(error), "messages") from None
    return _Asked(
        request=request,
        model=model.strip(),
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
    )


def deadline_of(request: httpx.Request, policy_deadline_s: float) -> float | None:
    """
    The request's deadline: the read timeout its client set (the OpenAI SDK's
    ``timeout=``), when that is shorter than the policy's deadline; else ``None``.

    This transport answers with the whole completion, or a stream's first event,
    so the client's wait for a response is modelcfg's whole request; without this,
    a request could sit in a cooldown wait after the caller's timeout.
    """
    timeouts = request.extensions.get("timeout")
    read = timeouts.get("read") if isinstance(timeouts, Mapping) else None
    if isinstance(read, int | float) and not isinstance(read, bool) and read > 0:
        return float(read) if read < policy_deadline_s else None
    return None


def _is_chat_completion(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.rstrip("/").endswith("/chat/completions")


# --- writing the OpenAI answer --------------------------------------------------------------


def _finish_reason(reason: str | None) -> str:
    return reason if reason in _FINISH_REASONS else "stop"


def usage_json(usage: Usage) -> JSONObject:
    """
    *usage* as an OpenAI ``usage`` object (prompt tokens include cached ones).
    """
    prompt = usage.total_input_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


def completion_json(completion: Completion, *, completion_id: str, created: int) -> JSONObject:
    """
    *completion* as an OpenAI ``chat.completion`` object; ``model`` is the model
    that answered, as ``provider/model``.
    """
    response = completion.response
    message: JSONObject = {
        "role": "assistant",
        "content": response.text if response.text or not response.tool_calls else None,
        "refusal": None,
    }
    if response.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in response.tool_calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": str(completion.model),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(response.finish_reason),
            }
        ],
        "usage": usage_json(response.usage),
    }


def error_json(
    message: str, *, kind: str, code: str | None, param: str | None = None
) -> JSONObject:
    """
    The OpenAI error body.
    """
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _refusal_for(error: Exception) -> _Refused:
    """
    The OpenAI error that stands for a modelcfg error.
    """
    if isinstance(error, _Refused):
        return error
    if isinstance(error, UnknownModelError):
        return _Refused(
            404, str(error), code="model_not_found", kind="invalid_request_error", param="model"
        )
    if isinstance(error, AttemptsExhaustedError):
        status, code = next(
            ((s, c) for cls, s, c in _STATUS_BY_ERROR if isinstance(error, cls)),
            (502, "upstream_error"),
        )
        return _Refused(status, str(error), code=code, kind="modelcfg_gave_up")
    return _Refused(
        400, str(error), code="invalid_request", kind="invalid_request_error", param="model"
    )


def _error_response(refused: _Refused, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        refused.status,
        headers={"content-type": "application/json", "x-should-retry": "false"},
        content=json.dumps(
            error_json(str(refused), kind=refused.kind, code=refused.code, param=refused.param)
        ).encode(),
        request=request,
    )


def _headers(completion_id: str, *, stream: bool) -> dict[str, str]:
    return {
        "content-type": "text/event-stream" if stream else "application/json",
        "x-request-id": completion_id,
    }


def _answer_headers(completion: Completion) -> dict[str, str]:
    return {
        "x-modelcfg-model": str(completion.model),
        "x-modelcfg-profile": str(completion.profile),
        "x-modelcfg-attempts": str(len(completion.attempts)),
    }


@attrs.define
class _ChunkWriter:
    """
    Turns stream events into ``chat.completion.chunk`` SSE lines.
    """

    completion_id: str
    created: int
    model: str
    include_usage: bool
    saw_tools: bool = False

    def _chunk(self, choices: list[JSON], usage: JSONObject | None = None) -> bytes:
        chunk: JSONObject = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = usage
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    def _delta(self, delta: JSONObject, finish: str | None = None) -> bytes:
        return self._chunk(
            [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )

    def opening(self) -> bytes:
        return self._delta({"role": "assistant", "content": ""})

    def event(self, event: StreamEvent | StreamRestarted) -> bytes:
        match event:
            case TextDelta(text=text):
                return self._delta({"content": text})
            case ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments):
                self.saw_tools = True
                call: JSONObject = {"index": index, "function": {"arguments": arguments}}
                if call_id is not None:
                    call["id"] = call_id
                    call["type"] = "function"
                if name is not None:
                    call["function"] = {"name": name, "arguments": arguments}
                return self._delta({"tool_calls": [call]})
            case StreamEnd(finish_reason=reason, usage=usage):
                end = self._delta({}, _finish_reason(reason))
                if self.include_usage:
                    end += self._chunk([], usage_json(usage))
                return end + b"data: [DONE]\n\n"
            case _:
                return b""  # a restart: not reached, the transport never asks for them

    @staticmethod
    def failure(error: Exception) -> bytes:
        """
        An error event: the OpenAI SDK raises ``APIError`` when it reads one.
        """
        refused = _refusal_for(error)
        body = error_json(str(refused), kind=refused.kind, code=refused.code)
        return b"data: " + json.dumps(body).encode() + b"\n\n"


def _opened(completion_id: str, asked: _Asked, model: str) -> _ChunkWriter:
    return _ChunkWriter(
        completion_id=completion_id,
        created=int(time.time()),
        model=model,
        include_usage=asked.include_usage,
    )


def _model_of(target: Target | None) -> str:
    return str(target.model) if target is not None else ""


def _new_id() -> str:
    import secrets

    return f"chatcmpl-{secrets.token_hex(12)}"


# --- the async transport --------------------------------------------------------------------


class AsyncOpenAITransport(httpx.AsyncBaseTransport):
    """
    An ``httpx`` async transport that answers OpenAI chat completion requests with
    modelcfg: ``openai.AsyncOpenAI(http_client=httpx.AsyncClient(transport=...))``.

    The request's ``model`` is ``/model`` text (an alias, ``provider/model``,
    ``Alias@profile``) resolved against the configuration; the chain follows it.
    The answer's ``model`` is the model that actually answered, and the headers
    ``x-modelcfg-model``, ``x-modelcfg-profile`` and ``x-modelcfg-attempts`` say
    how. Other requests go to *inner*.

    Args:
        executor: The executor that answers; its ``httpx.AsyncClient`` calls the
            providers (it must not be built on this transport).
        config: The configuration ``/model`` text resolves against.
        inner: Where other requests go; a plain ``httpx.AsyncHTTPTransport`` by default.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        executor: Executor,
        *,
        config: Config,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.executor = executor
        self.config = config
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self._owned: httpx.AsyncClient | None = None
        self._selections: dict[str, Selection] = {}

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        auth_store: AuthStoreProtocol | None = None,
        credentials: CredentialSource | None = None,
        environ: Mapping[str, str] | None = None,
        catalog: ModelCatalog | None = None,
        adapters: Mapping[str, Adapter] | None = None,
        store: StateStore | None = None,
        observers: Sequence[Observer] = (),
        limits: CallLimits | None = None,
        clock: Clock = time.time,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> Self:
        """
        A transport with its own executor and provider client (closed with the
        transport); the keywords are those of :meth:`Executor.from_config`.
        """
        client = httpx.AsyncClient()
        executor = Executor.from_config(
            config,
            client=client,
            auth_store=auth_store,
            credentials=credentials,
            environ=environ,
            catalog=catalog,
            adapters=adapters,
            store=store,
            observers=observers,
            limits=limits,
            clock=clock,
        )
        transport = cls(executor, config=config, inner=inner)
        transport._owned = client
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """
        Answer a chat completion with modelcfg; send anything else to the inner transport.
        """
        if not _is_chat_completion(request):
            return await self.inner.handle_async_request(request)
        try:
            asked = read_chat_request(await request.aread())
            selection = self._selections.get(asked.model)
            if selection is None:
                selection = resolve_selection(asked.model, self.config, self.executor)
                if len(self._selections) < _KEEP_SELECTIONS:
                    self._selections[asked.model] = selection
            deadline_s = deadline_of(request, self.executor.routes.policy.deadline_s)
            if asked.request.stream:
                return await self._stream(request, asked, selection, deadline_s)
            completion = await self.executor.complete(
                asked.request, selection=selection, deadline_s=deadline_s
            )
        except (ModelcfgError, _Refused) as error:
            return _error_response(_refusal_for(error), request)
        completion_id = _new_id()
        body = completion_json(completion, completion_id=completion_id, created=int(time.time()))
        return httpx.Response(
            200,
            headers={**_headers(completion_id, stream=False), **_answer_headers(completion)},
            content=json.dumps(body).encode(),
            request=request,
        )

    async def _stream(
        self,
        request: httpx.Request,
        asked: _Asked,
        selection: Selection,
        deadline_s: float | None,
    ) -> httpx.Response:
        stack = contextlib.AsyncExitStack()
        answer = await stack.enter_async_context(
            self.executor.stream(asked.request, selection=selection, deadline_s=deadline_s)
        )
        events = aiter(answer)
        try:
            first = await anext(events)
        except BaseException:
            await stack.aclose()
            raise
        completion_id = _new_id()
        body = _AsyncEvents(stack, answer, events, first, asked, completion_id)
        return httpx.Response(
            200, headers=_headers(completion_id, stream=True), stream=body, request=request
        )

    async def aclose(self) -> None:
        """
        Close the inner transport, and the provider client when the transport made it.
        """
        await self.inner.aclose()
        if self._owned is not None:
            await self._owned.aclose()


class _AsyncEvents(httpx.AsyncByteStream):
    def __init__(
        self,
        stack: contextlib.AsyncExitStack,
        answer: StreamingCompletion,
        events: AsyncIterator[StreamEvent | StreamRestarted],
        first: StreamEvent | StreamRestarted,
        asked: _Asked,
        completion_id: str,
    ) -> None:
        self._stack = stack
        self._answer = answer
        self._events = events
        self._first = first
        self._asked = asked
        self._id = completion_id

    async def __aiter__(self) -> AsyncIterator[bytes]:
        writer = _opened(self._id, self._asked, _model_of(self._answer.target))
        yield writer.opening()
        yield writer.event(self._first)
        try:
            async for event in self._events:
                yield writer.event(event)
        except (ModelcfgError, OutputInterruptedError) as error:
            yield writer.failure(error)
        finally:
            await self._stack.aclose()

    async def aclose(self) -> None:
        await self._stack.aclose()


# --- the sync transport ---------------------------------------------------------------------


class OpenAITransport(httpx.BaseTransport):
    """
    An ``httpx`` transport that answers OpenAI chat completion requests with
    modelcfg: ``openai.OpenAI(http_client=httpx.Client(transport=...))``.

    It runs on a :class:`~modelcfg.Client` (one loop thread, one provider client,
    one store) and behaves as :class:`AsyncOpenAITransport` does.

    Args:
        client: The blocking client that answers; it must have a configuration.
        inner: Where other requests go; a plain ``httpx.HTTPTransport`` by default.

    .. versionadded:: 0.2.0
    """

    def __init__(self, client: Client, *, inner: httpx.BaseTransport | None = None) -> None:
        if client.config is None:
            raise ModelcfgError(
                "OpenAITransport resolves the request's model against a configuration: "
                "build the Client with one (Client(config, ...))."
            )
        self.client = client
        self.inner = inner if inner is not None else httpx.HTTPTransport()
        self._owns_client = False

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        auth_store: AuthStoreProtocol | None = None,
        credentials: CredentialSource | None = None,
        environ: Mapping[str, str] | None = None,
        catalog: ModelCatalog | None = None,
        adapters: Mapping[str, Adapter] | None = None,
        store: StateStore | None = None,
        observers: Sequence[Observer] = (),
        limits: CallLimits | None = None,
        clock: Clock = time.time,
        http_client: Callable[[], httpx.AsyncClient] | None = None,
        inner: httpx.BaseTransport | None = None,
    ) -> Self:
        """
        A transport on a client of its own (closed with the transport); the
        keywords are those of :class:`~modelcfg.Client`.
        """
        client = Client(
            config,
            auth_store=auth_store,
            credentials=credentials,
            environ=environ,
            catalog=catalog,
            adapters=adapters,
            store=store,
            observers=observers,
            limits=limits,
            clock=clock,
            http_client=http_client,
        )
        transport = cls(client, inner=inner)
        transport._owns_client = True
        return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """
        Answer a chat completion with modelcfg; send anything else to the inner transport.
        """
        if not _is_chat_completion(request):
            return self.inner.handle_request(request)
        try:
            asked = read_chat_request(request.read())
            selection = self.client.resolve(asked.model)
            deadline_s = deadline_of(request, self.client.executor.routes.policy.deadline_s)
            if asked.request.stream:
                return self._stream(request, asked, selection, deadline_s)
            completion = self.client.complete(asked.request, model=selection, deadline_s=deadline_s)
        except (ModelcfgError, _Refused) as error:
            return _error_response(_refusal_for(error), request)
        completion_id = _new_id()
        body = completion_json(completion, completion_id=completion_id, created=int(time.time()))
        return httpx.Response(
            200,
            headers={**_headers(completion_id, stream=False), **_answer_headers(completion)},
            content=json.dumps(body).encode(),
            request=request,
        )

    def _stream(
        self,
        request: httpx.Request,
        asked: _Asked,
        selection: Selection,
        deadline_s: float | None,
    ) -> httpx.Response:
        answer = self.client.stream(asked.request, model=selection, deadline_s=deadline_s)
        try:
            first = next(answer)
        except StopIteration:
            answer.close()
            raise ModelcfgError("The stream ended before its first event.") from None
        except BaseException:
            answer.close()
            raise
        completion_id = _new_id()
        body = _SyncEvents(answer, first, asked, completion_id)
        return httpx.Response(
            200, headers=_headers(completion_id, stream=True), stream=body, request=request
        )

    def close(self) -> None:
        """
        Close the inner transport, and the client when the transport made it.
        """
        self.inner.close()
        if self._owns_client:
            self.client.close()


class _SyncEvents(httpx.SyncByteStream):
    def __init__(
        self,
        answer: SyncStream,
        first: StreamEvent | StreamRestarted,
        asked: _Asked,
        completion_id: str,
    ) -> None:
        self._answer = answer
        self._first = first
        self._asked = asked
        self._id = completion_id

    def __iter__(self) -> Iterator[bytes]:
        writer = _opened(self._id, self._asked, _model_of(self._answer.target))
        yield writer.opening()
        yield writer.event(self._first)
        try:
            for event in self._answer:
                yield writer.event(event)
        except (ModelcfgError, OutputInterruptedError) as error:
            yield writer.failure(error)
        finally:
            self._answer.close()

    def close(self) -> None:
        self._answer.close()
