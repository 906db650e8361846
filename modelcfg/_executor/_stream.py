"""
A streamed answer, carried through the executor's loop.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
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
    StreamInterruptedError,
)
from modelcfg.adapters._classify import HOST_ERRORS
from modelcfg.exceptions import (
    OutputInterruptedError,
)

if TYPE_CHECKING:
    from modelcfg._core._actions import Call
    from modelcfg._core._values import Target
    from modelcfg._executor._executor import Executor, _Run


class StreamingCompletion:
    """
    A streamed answer: iterate it for events; ``completion`` is set once it ended.

    Events are :class:`~modelcfg.TextDelta`, :class:`~modelcfg.ToolCallDelta`,
    :class:`~modelcfg.StreamEnd` and, only with restarts allowed,
    :class:`StreamRestarted`. The success is recorded (``completion`` set, health
    and session saved, observers told) before the :class:`~modelcfg.StreamEnd`
    is yielded, so a caller may stop reading there.
    """

    def __init__(
        self, executor: Executor, run: _Run, request: ChatRequest, restart_after_output: bool
    ) -> None:
        self._executor = executor
        self._run = run
        self._request = request
        self._restart = restart_after_output
        self._events: AsyncIterator[StreamEvent | StreamRestarted] | None = None
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
        if self._events is None:
            self._events = self._iterate()
        return self._events

    async def aclose(self) -> None:
        """
        Close the underlying stream (done for you by ``async with``).
        """
        events = self._events
        if events is not None and hasattr(events, "aclose"):
            with anyio.CancelScope(shield=True):
                await events.aclose()

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

    async def _iterate(self) -> AsyncIterator[StreamEvent | StreamRestarted]:
        run, executor = self._run, self._executor
        failure: Failure | None = None
        interrupted: OutputInterruptedError | None = None
        while interrupted is None:
            call = await run.decide(failure)
            adapter = executor.providers[call.target.model.provider].adapter
            started = anyio.current_time()
            first_token: float | None = None
            received = _Collector()
            end: StreamEnd | None = None
            credential: str | None = None
            settled = False
            try:
                credential = await executor._credential(call.target)
                async with contextlib.AsyncExitStack() as stack:
                    # The deadline bounds the attempt until its first event (content or
                    # the end): the scope closes before anything is yielded to the caller.
                    # Once output flows, the idle limit bounds each read, and a long
                    # answer that keeps coming is not cut at the deadline; without an
                    # idle limit the deadline bounds each read, so no read is unbounded.
                    limits = run.limits()
                    with run.bounded(call):
                        events = aiter(
                            await stack.enter_async_context(
                                adapter.stream(
                                    executor.client,
                                    run.request_for(call),
                                    executor._endpoint(call.target, credential),
                                    limits=limits,
                                )
                            )
                        )
                        event = await anext(events, None)
                    reads = run.bounded if limits.idle_s is None else _unbounded
                    while event is not None:
                        received.add(event)
                        if isinstance(event, StreamEnd):
                            end = event
                            break
                        if first_token is None and isinstance(event, TextDelta | ToolCallDelta):
                            first_token = anyio.current_time() - started
                        yield event
                        with reads(call):
                            event = await anext(events, None)
                if end is None:
                    raise StreamInterruptedError(
                        f"the {adapter.name} stream for model {call.target.model} ended "
                        "without its end event",
                        provider=adapter.name,
                        model=call.target.model.model,
                        reason="cut",
                        started=first_token is not None,
                    )
                response = collect_stream(received.events(end))
                settled = True
            except HOST_ERRORS:  # the host's own trouble (out of memory): never retried
                raise
            except Exception as exc:  # every provider failure is classified, never raised
                settled = True
                after_output = first_token is not None
                failure = run.failed(
                    call,
                    exc,
                    anyio.current_time() - started,
                    credential,
                    after_output=after_output,
                )
                if after_output and not self._restart:
                    # Raised below, outside this handler, so that the raw exception
                    # (which may hold the key) is not its __context__ either.
                    interrupted = await run.interrupted(call, failure)
                elif after_output:
                    yield StreamRestarted(failure=failure)
                continue
            finally:
                # Not kept in this frame: a traceback through it must not show the key.
                # (The adapter's event iterator holds it too, until the stack closes it.)
                credential = None
                if not settled:  # cancelled or abandoned mid-stream: give back a held probe
                    await run.cancelled()
            latency = anyio.current_time() - started
            # Recorded before the end is yielded: a caller may stop reading at StreamEnd.
            self.completion = await run.succeeded(
                call, response, latency, first_token_s=first_token
            )
            # The end the caller sees carries the answer's cost too.
            yield attrs.evolve(end, cost=self.completion.cost)
            return
        raise interrupted from run.last_exception()


def _unbounded(_call: Call) -> contextlib.AbstractContextManager[None]:
    """
    No bound at all: a stream read that its idle limit bounds already.
    """
    return contextlib.nullcontext()


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
