"""
A streamed answer, carried through the executor's loop.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import anyio
import attrs

from modelcfg._core._failures import Failure
from modelcfg._executor._reports import Completion, StreamRestarted
from modelcfg._messages import (
    ChatRequest,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    collect_stream,
)
from modelcfg.adapters import (
    DeadlineExceededError,
    StreamInterruptedError,
)
from modelcfg.adapters._classify import HOST_ERRORS
from modelcfg.adapters._http import EventPump
from modelcfg.exceptions import (
    OutputInterruptedError,
)

if TYPE_CHECKING:
    from modelcfg._core._actions import Call
    from modelcfg._core._values import Target
    from modelcfg._executor._executor import Executor, _Run
    from modelcfg.adapters import Adapter


class _Attempt:
    """
    One streamed attempt while it is open: what its events need until it settles.

    It holds the credential (to mask it in a failure) until the attempt settles;
    its repr shows none of it.
    """

    __slots__ = (
        "adapter",
        "call",
        "credential",
        "events",
        "first_token",
        "reads",
        "received",
        "stack",
        "started",
    )

    def __init__(self, call: Call, adapter: Adapter, started: float) -> None:
        self.call = call
        self.adapter = adapter
        self.started = started
        self.first_token: float | None = None
        self.received = _Collector()
        self.credential: str | None = None
        self.stack = contextlib.AsyncExitStack()
        self.events: AsyncIterator[StreamEvent] | None = None
        self.reads: Callable[[Call], contextlib.AbstractContextManager[None]] | None = None

    def __repr__(self) -> str:
        return f"_Attempt(model={self.call.target.model})"


class StreamingCompletion:
    """
    A streamed answer: iterate it for events; ``completion`` is set once it ended.

    Events are :class:`~modelcfg.TextDelta`, :class:`~modelcfg.ToolCallDelta`,
    :class:`~modelcfg.StreamEnd` and, only with restarts allowed,
    :class:`StreamRestarted`. The success is recorded (``completion`` set, health
    and session saved, observers told) before the :class:`~modelcfg.StreamEnd`
    is yielded, so a caller may stop reading there.

    It is its own iterator: once content flows, each event is one read of the
    adapter's events, with no generator in between.
    """

    def __init__(
        self, executor: Executor, run: _Run, request: ChatRequest, restart_after_output: bool
    ) -> None:
        self._executor = executor
        self._run = run
        self._request = request
        self._restart = restart_after_output
        self._attempt: _Attempt | None = None
        self._failure: Failure | None = None
        self._interrupted: OutputInterruptedError | None = None
        self._finished = False
        self.completion: Completion | None = None

    def __repr__(self) -> str:
        return f"StreamingCompletion(done={self.completion is not None})"

    @property
    def target(self) -> Target | None:
        """
        The model and profile the events come from (the latest attempt's); ``None``
        before the first call.

        .. versionadded:: 0.2.0
        """
        return self._run.state.current

    def __aiter__(self) -> AsyncIterator[StreamEvent | StreamRestarted]:
        return self

    async def aclose(self) -> None:
        """
        Close the underlying stream (done for you by ``async with``).
        """
        self._finished = True
        if self._attempt is not None:
            with anyio.CancelScope(shield=True):
                await self._abandon()

    async def text(self) -> str:
        """
        Consume the whole stream and return its text (restarts handled).
        """
        parts: list[str] = []
        async for event in self:
            if isinstance(event, StreamRestarted):
                parts.clear()
            elif isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts)

    async def __anext__(self) -> StreamEvent | StreamRestarted:
        attempt = self._attempt
        if attempt is None:
            return await self._next_attempt()
        error: Exception | None = None
        try:
            assert attempt.events is not None
            if attempt.reads is None:
                event = await anext(attempt.events, None)
            else:
                with attempt.reads(attempt.call):
                    event = await anext(attempt.events, None)
        except HOST_ERRORS:  # the host's own trouble (out of memory): never retried
            await self._abandon()
            raise
        except Exception as exc:  # every provider failure is classified, never raised
            error = exc
        except BaseException:  # cancelled: give back what the attempt held
            await self._abandon()
            raise
        if error is not None:
            return await self._after_failure(error)
        return await self._take(attempt, event)

    async def _next_attempt(self) -> StreamEvent | StreamRestarted:
        """
        Decide and open the next attempt, failing over until one gives a first event.
        """
        run, executor = self._run, self._executor
        while True:
            if self._finished:
                raise StopAsyncIteration
            interrupted = self._interrupted
            if interrupted is not None:
                self._finished = True
                raise interrupted from run.last_exception()
            try:
                call = await run.decide(self._failure)
            except BaseException:
                self._finished = True
                raise
            adapter = executor.providers[call.target.model.provider].adapter
            attempt = self._attempt = _Attempt(call, adapter, anyio.current_time())
            error: Exception | None = None
            try:
                attempt.credential = await executor._credential(call.target)
                # The deadline bounds the attempt until its first event (content or
                # the end): the scope closes before anything reaches the caller.
                # Once output flows, the idle limit bounds each read, and a long
                # answer that keeps coming is not cut at the deadline; without an
                # idle limit the deadline bounds each read, so no read is unbounded.
                limits = run.limits()
                with run.bounded(call):
                    attempt.events = aiter(
                        await attempt.stack.enter_async_context(
                            adapter.stream(
                                executor.client,
                                run.request_for(call),
                                executor._endpoint(call.target, attempt.credential),
                                limits=limits,
                            )
                        )
                    )
                    event = await anext(attempt.events, None)
                if limits.idle_s is None:
                    # No idle limit: the deadline bounds each read. An event pump takes
                    # it into the one scope its reads have; any other source gets a
                    # scope of its own per read.
                    if isinstance(attempt.events, EventPump):
                        attempt.events.bound_by(*_deadline_bound(run, call))
                    else:
                        attempt.reads = run.bounded
            except HOST_ERRORS:
                await self._abandon()
                raise
            except Exception as exc:
                error = exc
            except BaseException:
                await self._abandon()
                raise
            if error is None:
                return await self._take(attempt, event)
            restarted = await self._failed(error)
            del error  # the raw exception may hold the key; error trackers record frame locals
            if restarted is not None:
                return restarted

    async def _take(
        self, attempt: _Attempt, event: StreamEvent | None
    ) -> StreamEvent | StreamRestarted:
        """
        Hand *event* out, or settle the attempt at the end of its events.
        """
        if event is not None and not isinstance(event, StreamEnd):
            attempt.received.add(event)
            if attempt.first_token is None and isinstance(event, TextDelta | ToolCallDelta):
                attempt.first_token = anyio.current_time() - attempt.started
            return event
        call = attempt.call
        error: Exception | None = None
        try:
            await attempt.stack.aclose()
            if event is None:
                raise StreamInterruptedError(
                    f"the {attempt.adapter.name} stream for model {call.target.model} ended "
                    "without its end event",
                    provider=attempt.adapter.name,
                    model=call.target.model.model,
                    reason="cut",
                    started=attempt.first_token is not None,
                )
            attempt.received.add(event)
            response = collect_stream(attempt.received.events(event))
        except HOST_ERRORS:
            await self._abandon()
            raise
        except Exception as exc:
            error = exc
        except BaseException:
            await self._abandon()
            raise
        if error is not None:
            return await self._after_failure(error)
        assert event is not None
        self._attempt = None
        attempt.credential = None
        latency = anyio.current_time() - attempt.started
        self._finished = True
        # Recorded before the end is handed out: a caller may stop reading at StreamEnd.
        self.completion = await self._run.succeeded(
            call, response, latency, first_token_s=attempt.first_token
        )
        # The end the caller sees carries the answer's cost too.
        return attrs.evolve(event, cost=self.completion.cost)

    async def _after_failure(self, error: Exception) -> StreamEvent | StreamRestarted:
        restarted = await self._failed(error)
        del error  # the raw exception may hold the key; error trackers record frame locals
        if restarted is not None:
            return restarted
        return await self._next_attempt()

    async def _failed(self, error: Exception) -> StreamRestarted | None:
        """
        Classify the open attempt's failure: the restart event to hand out, if any.

        An interruption after output (without restarts) is raised by
        :meth:`_next_attempt`, outside any handler, so that the raw exception (which
        may hold the key) is not its ``__context__`` either.
        """
        attempt = self._attempt
        assert attempt is not None
        self._attempt = None
        with contextlib.suppress(Exception):
            await attempt.stack.aclose()
        after_output = attempt.first_token is not None
        failure = self._failure = self._run.failed(
            attempt.call,
            error,
            anyio.current_time() - attempt.started,
            attempt.credential,
            after_output=after_output,
        )
        attempt.credential = None
        if after_output and not self._restart:
            self._interrupted = await self._run.interrupted(attempt.call, failure)
        elif after_output:
            return StreamRestarted(failure=failure)
        return None

    async def _abandon(self) -> None:
        """
        Cancelled or abandoned mid-stream: close the attempt, give back a held probe.
        """
        attempt = self._attempt
        self._attempt = None
        self._finished = True
        if attempt is None:
            return
        attempt.credential = None
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await attempt.stack.aclose()
        await self._run.cancelled()


def _deadline_bound(run: _Run, call: Call) -> tuple[float, Callable[[], BaseException]]:
    """
    The request's deadline as an ``anyio.current_time()``, and the error a read still
    waiting then raises (what :meth:`_Run.bounded` raises).
    """
    limit_s = max(run.state.deadline_at - run.executor.clock(), 0.0)
    target = call.target

    def error() -> BaseException:
        return DeadlineExceededError(
            f"the attempt on {target.model} was still running at the request's deadline "
            f"({limit_s:.2f} s after it started)",
            provider=target.model.provider,
            model=target.model.model,
            limit_s=limit_s,
        )

    return anyio.current_time() + limit_s, error


class _Collector:
    """
    What a stream's answer needs of its events, kept compact: the text and each
    tool call's arguments grow in buffers, not as one object per event.
    """

    __slots__ = ("_calls", "_text")

    def __init__(self) -> None:
        self._text = io.StringIO()
        self._calls: dict[int, tuple[str | None, str | None, io.StringIO]] = {}

    def add(self, event: StreamEvent) -> None:
        """
        Keep what *event* adds to the answer.
        """
        if isinstance(event, TextDelta):
            self._text.write(event.text)
        elif isinstance(event, ToolCallDelta):
            call_id, name, arguments = self._calls.get(event.index, (None, None, io.StringIO()))
            self._calls[event.index] = (call_id or event.id, name or event.name, arguments)
            arguments.write(event.arguments)

    def events(self, end: StreamEnd) -> list[StreamEvent]:
        """
        The events kept, merged (one text, one piece per tool call), closed by *end*.
        """
        merged: list[StreamEvent] = [TextDelta(text=self._text.getvalue())]
        merged.extend(
            ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments.getvalue())
            for index, (call_id, name, arguments) in self._calls.items()
        )
        merged.append(end)
        return merged
