"""
The one thin async call path over an injected ``httpx.AsyncClient``, shared by
every HTTP wire format.

The call path decides nothing. It sends the request, turns the body (or the
stream) into values, and raises an exception carrying what
:func:`~modelcfg.adapters.classify` needs when something goes wrong:

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

import collections
import contextlib
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Final, Literal, Protocol

import anyio
import anyio.lowlevel
import attrs
import httpx

from modelcfg._core._failures import Failure
from modelcfg._core._redact import redact
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    StreamEnd,
    StreamEvent,
    Usage,
)
from modelcfg.adapters._classify import ErrorTable, classify
from modelcfg.adapters._errors import (
    _MAX_BODY,
    FirstTokenTimeoutError,
    MalformedResponseError,
    ProviderError,
    ProviderHTTPError,
    ProviderStreamError,
    StreamInterruptedError,
    _secrets,
    is_error_object,
)
from modelcfg.adapters._json import loads_object
from modelcfg.adapters._protocol import CallLimits, Endpoint, HTTPWire, StreamParser
from modelcfg.adapters._sse import EventTooLargeError, SSEBuffer

if TYPE_CHECKING:
    pass


_CLOSE_S: Final = 5.0
"""The longest a response may take to close, shielded from cancellation."""
_DRAIN_S: Final = 0.25
"""The longest a closed response's byte iterator is run to its end."""


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


_PIECE: Final = 65_536
"""The most decoded bytes one step of a compressed body may produce."""
_SLICE: Final = 8_192
"""The most bytes of a stream decoded between two chances for other tasks to run."""


class DecodedBody:
    """
    A response's body, decoded piece by piece, never more than ``_PIECE`` bytes a step.

    httpx inflates each compressed chunk whole, so a 64 KiB gzip chunk can become
    64 MiB at once. Gzip is inflated here instead, with a bound on each step, so a
    compression bomb is counted (and stopped) before it is held. Other encodings go
    through httpx's decoders.
    """

    __slots__ = ("_done", "_inflater", "source")

    def __init__(self, response: httpx.Response) -> None:
        encodings = [
            part.strip().lower()
            for part in response.headers.get("content-encoding", "").split(",")
            if part.strip()
        ]
        self._inflater: zlib._Decompress | None = None
        self._done = False
        self.source: AsyncIterator[bytes]
        if response.is_stream_consumed:  # read already (built from bytes): held anyway
            self.source = response.aiter_bytes()
        elif encodings in ([], ["identity"]):
            self.source = response.aiter_raw()
        elif encodings in (["gzip"], ["x-gzip"]):
            self.source = response.aiter_raw()
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        else:
            self.source = response.aiter_bytes()

    def __aiter__(self) -> DecodedBody:
        return self

    async def __anext__(self) -> bytes:
        inflater = self._inflater
        if inflater is None:
            return await anext(self.source)
        try:
            while True:
                if inflater.unconsumed_tail:
                    # Let others run between the pieces of one inflating chunk.
                    await anyio.lowlevel.checkpoint()
                    out = inflater.decompress(inflater.unconsumed_tail, _PIECE)
                elif self._done:
                    out = inflater.flush()
                    if not out:
                        raise StopAsyncIteration
                    return out
                else:
                    data = await anext(self.source, None)
                    if data is None:
                        self._done = True
                        continue
                    out = inflater.decompress(data, _PIECE)
                if out:
                    return out
        except zlib.error as exc:
            raise httpx.DecodingError(f"the gzip body could not be inflated: {exc}") from None


async def read_success_body(
    response: httpx.Response, provider: str, model: str, limit: int | None
) -> httpx.Response:
    """
    Read a streamed success response whole, but never more than *limit* decoded bytes.

    The body is decoded as the bytes arrive (see :class:`DecodedBody`), so the
    decoded size is counted piece by piece and a compression bomb stops at the
    cap, as an endless body does.

    Returns:
        A read response with the same status, headers and (decoded) content.

    Raises:
        MalformedResponseError: The decoded body is longer than *limit* bytes.
    """
    # Pieces, joined once at the end: a growing bytearray's reallocations would
    # briefly hold twice what was read.
    kept: list[bytes] = []
    size = 0
    body = DecodedBody(response)
    chunks = body.source
    try:
        async for chunk in body:
            kept.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                # Freed now: the error's traceback would otherwise hold it until collected.
                kept.clear()
                raise MalformedResponseError(
                    f"the {provider} answer for model {model} is larger than the "
                    f"{limit}-byte cap (CallLimits.max_body_bytes); the rest was not read",
                    provider=provider,
                    model=model,
                )
    finally:
        if not response.is_closed:  # too large, cancelled or failed while reading
            with anyio.move_on_after(_CLOSE_S, shield=True):
                await response.aclose()
            await _drain(chunks)
    # The content is decoded already: it no longer carries its transfer encodings.
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    read = httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(kept),
        request=response.request,
        extensions=response.extensions,
    )
    del kept
    return read


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
                response = await read_success_body(
                    response, wire.name, endpoint.model, limits.max_body_bytes
                )
    except TimeoutError as exc:
        raise FirstTokenTimeoutError(
            f"{wire.name} did not answer within {limits.first_token_s} s "
            f"for model {endpoint.model}",
            provider=wire.name,
            model=endpoint.model,
            limit_s=limits.first_token_s,
        ) from exc
    if error_body is not None or _error_object(response.content):
        # An error status, or a success status with an error object for a body
        # (OpenAI-compatible servers and OpenRouter send those): classify() reads it.
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


def _error_object(content: bytes) -> bool:
    """
    Whether a success body is an error object; parsed only when it has an ``"error"`` key.
    """
    return b'"error"' in content and is_error_object(loads_object(content))


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
        body = DecodedBody(response)
        chunks = body.source
        events = pump_events(
            body,
            _sse_step(wire.stream_parser(request), limits.max_event_bytes),
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

    def __call__(self, item: object) -> Sequence[StreamEvent]: ...

    @property
    def finishable(self) -> bool: ...

    def finish(self, reason: Literal["cut", "stalled"]) -> Sequence[StreamEvent]: ...

    @property
    def reported_usage(self) -> Usage | None: ...


class _SSEStep:
    """
    Feeds raw bytes through one stream's SSE buffer and its stream parser.
    """

    __slots__ = ("buffer", "parser")

    def __init__(self, parser: StreamParser, max_event_bytes: int | None = None) -> None:
        self.buffer = SSEBuffer(max_event_bytes)
        self.parser = parser

    def __call__(self, item: object) -> Sequence[StreamEvent]:
        assert isinstance(item, bytes)
        sse_events = self.buffer.feed(item)
        if len(sse_events) == 1:  # the usual chunk: one event
            parser, events = self.parser.feed(sse_events[0])
            self.parser = parser
            return events
        out: list[StreamEvent] = []
        for sse in sse_events:
            parser, events = self.parser.feed(sse)
            self.parser = parser
            out.extend(events)
            if parser.finished:
                break
        return out

    @property
    def finishable(self) -> bool:
        return self.parser.finishable

    def finish(self, reason: Literal["cut", "stalled"]) -> Sequence[StreamEvent]:
        return self.parser.finish(reason)

    @property
    def reported_usage(self) -> Usage | None:
        return self.parser.reported_usage


def _sse_step(parser: StreamParser, max_event_bytes: int | None = None) -> _SSEStep:
    return _SSEStep(parser, max_event_bytes)


class EventPump:
    """
    Reads a source under the first-token and idle limits and gives its stream events:
    ``async for event in pump`` (an iterator object, not a chain of generators).

    The whole stream is bounded by ``limits.max_stream_s`` and, for a byte source,
    ``limits.max_stream_bytes``; past either, iterating raises
    :class:`StreamInterruptedError` (reason ``"too_long"`` or ``"too_large"``).
    Stops right after a :class:`StreamEnd`, without waiting for the source to end;
    the caller owns *source* and closes it.
    A source that ends or stalls after a finish reason but before the end marker
    still finishes properly, and once a finish reason arrived it is waited for
    only ``limits.end_grace_s`` more (for a trailing usage chunk), not the whole
    idle limit. One that ends or stalls earlier raises :class:`StreamInterruptedError`.
    An error the stream reports (:class:`ProviderStreamError`) has *secrets*
    masked in its message and detail (providers echo keys back), and a provider
    error raised on the way carries the usage the stream reported before it
    (``error.usage``), since the provider bills it.

    Each read is bounded by one cancel scope whose deadline is the nearest of the
    limits; a chunk's events after its first are handed out without any await.
    """

    __slots__ = (
        "_backlog",
        "_deadline",
        "_done",
        "_end_at",
        "_hard_at",
        "_hard_error",
        "_limits",
        "_model",
        "_pending",
        "_provider",
        "_received",
        "_secrets",
        "_source",
        "_started",
        "_step",
    )

    def __init__(
        self,
        source: AsyncIterator[object],
        step: EventStep,
        *,
        provider: str,
        model: str,
        deadline: float | None,
        limits: CallLimits,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._source = source
        self._step = step
        self._provider = provider
        self._model = model
        self._deadline = deadline
        self._limits = limits
        self._secrets = secrets
        self._started = False
        self._received = 0
        self._done = False
        self._pending: collections.deque[StreamEvent] = collections.deque()
        self._hard_at: float | None = None
        self._hard_error: Callable[[], BaseException] | None = None
        self._backlog = b""
        self._end_at = (
            None if limits.max_stream_s is None else anyio.current_time() + limits.max_stream_s
        )

    def __aiter__(self) -> EventPump:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._pending:
            return self._pending.popleft()
        if self._done:
            raise StopAsyncIteration
        try:
            return await self._read()
        except ProviderError as exc:
            self._done = True
            if exc.usage is None:
                exc.usage = self._step.reported_usage
            raise
        except BaseException:
            self._done = True
            raise

    def bound_by(self, at: float, error: Callable[[], BaseException]) -> None:
        """
        Bound every later read by *at* too (an ``anyio.current_time()``), raising
        ``error()`` when a read is still waiting then.

        The executor bounds reads by the request's deadline this way, in the one
        cancel scope each read has anyway.
        """
        self._hard_at = at
        self._hard_error = error

    async def aclose(self) -> None:
        """
        Stop: later reads end the iteration (the caller closes the source).
        """
        self._done = True
        self._pending.clear()

    def _hand_out(self, events: Sequence[StreamEvent]) -> StreamEvent:
        """
        The first of *events*; the rest wait in the queue (none past a StreamEnd).
        """
        pending = self._pending
        for event in events:
            pending.append(event)
            if isinstance(event, StreamEnd):
                self._done = True
                break
        return pending.popleft()

    def _finished(self, reason: Literal["cut", "stalled"]) -> StreamEvent:
        self._done = True
        events = self._step.finish(reason)
        if not events:
            raise StopAsyncIteration
        return self._hand_out(events)

    async def _read(self) -> StreamEvent:
        step, limits, source = self._step, self._limits, self._source
        provider, model = self._provider, self._model
        while self._backlog:
            # The rest of a large chunk, a slice at a time, letting others run in between.
            await anyio.lowlevel.checkpoint()
            piece, self._backlog = self._backlog[:_SLICE], self._backlog[_SLICE:]
            produced = self._step_through(piece)
            if produced:
                return self._hand_out(produced)
        while True:
            at = self._deadline
            grace = limits.end_grace_s
            if grace is not None and step.finishable:
                grace_at = anyio.current_time() + grace
                if at is None or grace_at < at:
                    at = grace_at
            end_at = self._end_at
            if end_at is not None and (at is None or end_at < at):
                at = end_at
            hard_at = self._hard_at
            if hard_at is not None and (at is None or hard_at < at):
                at = hard_at
            try:
                if at is None:
                    item = await anext(source, None)
                else:
                    with anyio.CancelScope(deadline=at) as scope:
                        item = await anext(source, None)
                    if scope.cancelled_caught:
                        return self._timed_out()
            except httpx.TransportError as exc:
                if step.finishable:
                    return self._finished("cut")
                if not self._started and isinstance(exc, httpx.TimeoutException):
                    raise
                raise StreamInterruptedError(
                    f"the {provider} stream for model {model} was cut: {type(exc).__name__}",
                    provider=provider,
                    model=model,
                    reason="cut",
                    started=self._started,
                ) from exc
            if item is None:
                return self._finished("cut")
            if end_at is not None and anyio.current_time() >= end_at:
                # Also checked here: a source that never waits gives a timer no chance to fire.
                raise _too_long(provider, model, limits, self._started)
            if isinstance(item, bytes):
                self._received += len(item)
                max_bytes = limits.max_stream_bytes
                if max_bytes is not None and self._received > max_bytes:
                    raise StreamInterruptedError(
                        f"the {provider} stream for model {model} carried more than its "
                        f"{max_bytes}-byte cap (CallLimits.max_stream_bytes)",
                        provider=provider,
                        model=model,
                        reason="too_large",
                        started=self._started,
                    )
            if isinstance(item, bytes) and len(item) > _SLICE:
                # A large chunk is decoded a slice at a time, so that a provider sending
                # big chunks of small events never blocks the event loop for long.
                item, self._backlog = item[:_SLICE], item[_SLICE:]
            produced = self._step_through(item)
            if produced:
                return self._hand_out(produced)

    def _step_through(self, item: object) -> Sequence[StreamEvent]:
        try:
            produced = self._step(item)
        except ProviderStreamError as exc:
            _mask_stream_error(exc, self._secrets)
            raise
        except EventTooLargeError as exc:
            raise StreamInterruptedError(
                f"the {self._provider} stream for model {self._model}: {exc}",
                provider=self._provider,
                model=self._model,
                reason="too_large",
                started=self._started,
            ) from None
        if produced:
            self._started = True
            if self._limits.idle_s is not None:
                self._deadline = anyio.current_time() + self._limits.idle_s
        return produced

    def _timed_out(self) -> StreamEvent:
        provider, model, limits = self._provider, self._model, self._limits
        if (
            self._hard_error is not None
            and self._hard_at is not None
            and anyio.current_time() >= self._hard_at
        ):
            raise self._hard_error()
        if self._step.finishable:
            return self._finished("stalled")
        if self._end_at is not None and anyio.current_time() >= self._end_at:
            raise _too_long(provider, model, limits, self._started)
        if not self._started:
            raise FirstTokenTimeoutError(
                f"{provider} sent no first token within {limits.first_token_s} s for model {model}",
                provider=provider,
                model=model,
                limit_s=limits.first_token_s,
            )
        raise StreamInterruptedError(
            f"the {provider} stream for model {model} stalled: nothing arrived "
            f"for {limits.idle_s} s",
            provider=provider,
            model=model,
            reason="stalled",
            started=True,
        )


def pump_events(
    source: AsyncIterator[object],
    step: EventStep,
    *,
    provider: str,
    model: str,
    deadline: float | None,
    limits: CallLimits,
    secrets: tuple[str, ...] = (),
) -> EventPump:
    """
    Read *source* under the first-token and idle limits and give its stream events
    (an :class:`EventPump`).
    """
    return EventPump(
        source,
        step,
        provider=provider,
        model=model,
        deadline=deadline,
        limits=limits,
        secrets=secrets,
    )


def _too_long(
    provider: str, model: str, limits: CallLimits, started: bool
) -> StreamInterruptedError:
    return StreamInterruptedError(
        f"the {provider} stream for model {model} ran past its "
        f"{limits.max_stream_s} s cap (CallLimits.max_stream_s)",
        provider=provider,
        model=model,
        reason="too_long",
        started=started,
    )


def _mask_stream_error(error: ProviderStreamError, secrets: tuple[str, ...]) -> None:
    """
    Mask *secrets* in an error a stream parser just built (modelcfg's own object,
    not yet seen by anyone), before it leaves the call path.
    """
    error.detail = redact(error.detail, *secrets)
    error.args = tuple(redact(a, *secrets) if isinstance(a, str) else a for a in error.args)
