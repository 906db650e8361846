"""
Wrap any async callable as an adapter, such as a call through the official
``openai`` or ``anthropic`` SDK client a host already uses.

The callable receives the :class:`~modelcfg.ChatRequest` and the
:class:`~modelcfg.adapters.Endpoint` (model id, base URL, credential) and
returns a :class:`~modelcfg.ChatResponse`, or anything with the shape of an
OpenAI ``chat.completion`` or Anthropic ``message``: a dict, or an SDK object
with ``model_dump()``. A stream callable returns an async iterator of stream
events, or of OpenAI chunks / Anthropic events in the same forms.

Exceptions are classified by duck typing, without importing any SDK: an HTTP
status in ``status_code`` or ``status`` (on the exception or its ``.response``;
else an integer ``.code`` that is an HTTP status), headers in ``.headers`` or
``.response.headers`` (``Retry-After`` is honoured), the error body in ``.body``
(a dict, a list, JSON text or bytes; else ``.code`` / ``.type`` / ``.message``),
and otherwise the class names along the MRO (``APITimeoutError``,
``APIConnectionError``, ``RateLimitError``, ``AuthenticationError``, ...).
Network errors of the standard library (``ConnectionError``, ``ssl.SSLError``,
an ``OSError`` such as ``ENETUNREACH``) are connection failures.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

import anyio
import attrs
import httpx

from modelcfg._core._failures import Failure
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from modelcfg.adapters._classify import ERROR_TABLE, ErrorTable, classify
from modelcfg.adapters._errors import FirstTokenTimeoutError, MalformedResponseError
from modelcfg.adapters._http import pump_events
from modelcfg.adapters._json import as_object
from modelcfg.adapters._protocol import CallLimits, Endpoint, StreamParser
from modelcfg.adapters.anthropic import AnthropicAdapter, AnthropicStreamParser
from modelcfg.adapters.openai import OpenAIAdapter, OpenAIStreamParser

if TYPE_CHECKING:
    from modelcfg.typing import JSON

__all__ = ["CallableAdapter", "ChatCall", "StreamCall"]

ChatCall: TypeAlias = Callable[[ChatRequest, Endpoint], Awaitable[object]]
"""An async function making one non-streamed call."""

StreamCall: TypeAlias = Callable[
    [ChatRequest, Endpoint], AsyncIterable[object] | Awaitable[AsyncIterable[object]]
]
"""A function returning (or an async function resolving to) an async iterable of chunks."""

Wire = Literal["auto", "openai", "anthropic"]


def _payload(item: object) -> object:
    dump = getattr(item, "model_dump", None)
    return dump() if callable(dump) else item


def _looks_anthropic(payload: object) -> bool:
    body = as_object(payload)
    kind = body.get("type")
    return isinstance(kind, str) and (
        kind == "message" or kind.startswith(("message_", "content_"))
    )


@attrs.frozen(kw_only=True)
class _AutoStep:
    """
    Feeds payloads to a stream parser picked from the first payload (mutable cell inside).
    """

    wire: Wire
    provider: str
    cell: list[StreamParser | None]

    def _parser(self, payload: object) -> StreamParser:
        parser = self.cell[0]
        if parser is None:
            anthropic = self.wire == "anthropic" or (
                self.wire == "auto" and _looks_anthropic(payload)
            )
            parser = (
                AnthropicStreamParser(provider=self.provider)
                if anthropic
                # A host's SDK stream may carry a usage chunk after the finish
                # reason (include_usage): it is read, not cut off.
                else OpenAIStreamParser(provider=self.provider)
            )
        return parser

    def __call__(self, item: object) -> tuple[StreamEvent, ...]:
        if isinstance(item, TextDelta | ToolCallDelta | StreamEnd):
            return (item,)
        payload = _payload(item)
        parser, events = self._parser(payload).feed_json(cast("JSON", payload))
        self.cell[0] = parser
        return events

    @property
    def finishable(self) -> bool:
        parser = self.cell[0]
        return parser is not None and parser.finishable

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]:
        parser = self.cell[0] or OpenAIStreamParser(provider=self.provider)
        return parser.finish(reason)

    @property
    def reported_usage(self) -> Usage | None:
        parser = self.cell[0]
        return None if parser is None else parser.reported_usage


async def _close(thing: object) -> None:
    for name in ("aclose", "close"):
        closer = getattr(thing, name, None)
        if callable(closer):
            result = closer()
            if inspect.isawaitable(result):
                await result
            return


async def _closing(source: AsyncIterable[object]) -> AsyncGenerator[object, None]:
    """
    Iterate *source*, then close it, however it ends.

    An async generator is closed directly. An SDK stream object is closed first
    (``close()`` / ``aclose()`` ends its HTTP response), then its iterator is run
    to its now-prompt end, so that no half-run generator is left to the garbage
    collector (trio warns about those).
    """
    iterator = aiter(source)
    try:
        while True:
            try:
                item = await anext(iterator)
            except StopAsyncIteration:
                return
            yield item
    finally:
        with anyio.move_on_after(5, shield=True):
            if iterator is not source:
                try:
                    await _close(source)
                    for _ in range(1000):
                        await anext(iterator)
                except Exception:  # the closed stream ends, one way or another
                    pass
            await _close(iterator)


@attrs.frozen(kw_only=True)
class CallableAdapter:
    """
    An adapter over a host's own async callable.

    Attributes:
        call: Makes one non-streamed call.
        stream_call: Makes one streamed call, if the host supports streaming.
        name: The adapter's name in messages.
        wire: How to read dicts and SDK objects the callables return:
            ``"openai"``, ``"anthropic"`` or ``"auto"`` (by their shape).
        error_table: The classification rules.
        needs_credential: Whether the executor must find a credential for the
            profile before calling; ``False`` for a callable that handles its own auth
            (it is then called with no credential, and never skipped for lack of one).
    """

    call: ChatCall = attrs.field(eq=False, repr=False)
    stream_call: StreamCall | None = attrs.field(default=None, eq=False, repr=False)
    name: str = "callable"
    wire: Wire = "auto"
    error_table: ErrorTable = attrs.field(default=ERROR_TABLE, repr=False)
    needs_credential: bool = attrs.field(default=True, repr=False)

    def to_response(self, result: object) -> ChatResponse:
        """
        Read what the callable returned.

        Raises:
            MalformedResponseError: It is neither a ChatResponse nor a known shape.
        """
        if isinstance(result, ChatResponse):
            return result
        payload = _payload(result)
        anthropic = self.wire == "anthropic" or (self.wire == "auto" and _looks_anthropic(payload))
        if anthropic:
            return AnthropicAdapter(name=self.name).parse_json(payload)
        if self.wire == "openai" or "choices" in as_object(payload):
            return OpenAIAdapter(name=self.name).parse_json(payload)
        raise MalformedResponseError(
            f"the {self.name} callable returned a {type(result).__name__}, "
            "not a ChatResponse, a chat completion or a message",
            provider=self.name,
        )

    async def complete(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = CallLimits(),
    ) -> ChatResponse:
        """
        Make one non-streamed call through the callable; *client* is ignored.

        Raises:
            FirstTokenTimeoutError: No answer within ``limits.first_token_s``.
            MalformedResponseError: The result cannot be read.
            Exception: Whatever the callable raised, for :meth:`classify`.
        """
        try:
            with anyio.fail_after(limits.first_token_s):
                whole = attrs.evolve(request, stream=False) if request.stream else request
                result = await self.call(whole, endpoint)
        except TimeoutError as exc:
            if isinstance(exc, FirstTokenTimeoutError) or limits.first_token_s is None:
                raise
            raise FirstTokenTimeoutError(
                f"{self.name} did not answer within {limits.first_token_s} s "
                f"for model {endpoint.model}",
                provider=self.name,
                model=endpoint.model,
                limit_s=limits.first_token_s,
            ) from exc
        return self.to_response(result)

    @contextlib.asynccontextmanager
    async def _stream(
        self, request: ChatRequest, endpoint: Endpoint, limits: CallLimits
    ) -> AsyncIterator[AsyncIterator[StreamEvent]]:
        if self.stream_call is None:
            raise TypeError(
                f"the {self.name} adapter was given no stream_call, so it cannot stream"
            )
        deadline = None
        if limits.first_token_s is not None:
            deadline = anyio.current_time() + limits.first_token_s
        opened = self.stream_call(attrs.evolve(request, stream=True), endpoint)
        if inspect.isawaitable(opened):
            try:
                with anyio.fail_after(limits.first_token_s):
                    source = await opened
            except TimeoutError as exc:
                raise FirstTokenTimeoutError(
                    f"{self.name} did not start streaming within {limits.first_token_s} s "
                    f"for model {endpoint.model}",
                    provider=self.name,
                    model=endpoint.model,
                    limit_s=limits.first_token_s,
                ) from exc
        else:
            source = opened
        step = _AutoStep(wire=self.wire, provider=self.name, cell=[None])
        items = _closing(source)
        events = pump_events(
            items,
            step,
            provider=self.name,
            model=endpoint.model,
            deadline=deadline,
            limits=limits,
            secrets=(endpoint.credential,) if endpoint.credential else (),
        )
        try:
            yield events
        finally:
            await events.aclose()
            with anyio.move_on_after(5, shield=True):
                await items.aclose()

    def stream(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = CallLimits(),
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """
        Make one streamed call: ``async with adapter.stream(...) as events:``.

        The events end with a :class:`~modelcfg.StreamEnd`; a source that ends
        without one (and without a finish reason) raises
        :class:`~modelcfg.adapters.StreamInterruptedError`.

        Raises:
            TypeError: The adapter has no *stream_call*.
        """
        return self._stream(request, endpoint, limits)

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
        Turn what the callable raised into a failure (duck typing); never raises.
        """
        return classify(
            error,
            now=now,
            table=self.error_table,
            model=model,
            profile=profile,
            credential=credential,
        )
