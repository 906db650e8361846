"""
A blocking facade over the executor, for hosts without an event loop.

:class:`Client` owns one event loop thread (an anyio blocking portal), one
``httpx.AsyncClient`` and one state store for its whole life, so a sync host pays
for them once rather than per call. Any number of threads may call it at once:
their requests run concurrently on that loop and share health and sessions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import anyio
import anyio.from_thread
import httpx

from modelcfg._executor._executor import Executor
from modelcfg._executor._reports import Completion, StreamRestarted
from modelcfg._executor._stream import StreamingCompletion
from modelcfg._messages import ChatRequest, StreamEvent, TextDelta
from modelcfg.exceptions import ModelcfgError

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from modelcfg._catalog._catalog import ModelCatalog
    from modelcfg._config._schema import Config
    from modelcfg._core._state import RequestNeeds, SessionState
    from modelcfg._core._values import Selection, Target
    from modelcfg._executor._credentials import CredentialSource
    from modelcfg._executor._reports import Observer
    from modelcfg.adapters import Adapter, CallLimits
    from modelcfg.auth import AuthStoreProtocol
    from modelcfg.typing import Clock, StateStore
    from modelcfg.usage._ledger import UsageLedger

__all__ = ["Client", "SyncStream"]

_T = TypeVar("_T")

_KEEP_SELECTIONS: Final = 256
"""How many resolved ``/model`` texts a client keeps (the configuration never changes)."""

_BATCH: Final = 64
"""The most stream events one hop from the loop thread hands over."""


class Client:
    """
    A blocking client: ``Executor.complete()`` and ``Executor.stream()`` for sync code.

    It starts one event loop thread and one ``httpx.AsyncClient`` and keeps them,
    with one executor (so one state store), until :meth:`close`; use it as a
    context manager to close it. It is thread-safe: concurrent calls from several
    threads run concurrently on its loop.

    Build it from a configuration (the keywords are those of
    :meth:`Executor.from_config`), or with :meth:`from_executor` from a function
    that builds the executor around the client's ``httpx.AsyncClient``.

    Args:
        config: The configuration; ``/model`` text given to :meth:`complete` and
            :meth:`stream` as *model* resolves against it.
        http_client: Builds the ``httpx.AsyncClient`` the providers are called with
            (proxies, certificates, ...); a plain one by default. The client
            closes it.
        backend: The event loop library of the thread: ``"asyncio"`` or ``"trio"``.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
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
        backend: str = "asyncio",
        ledger: UsageLedger | None = None,
    ) -> None:
        def build(client: httpx.AsyncClient) -> Executor:
            return Executor.from_config(
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
                ledger=ledger,
            )

        self._start(build, config, http_client, backend)

    @classmethod
    def from_executor(
        cls,
        build: Callable[[httpx.AsyncClient], Executor],
        *,
        config: Config | None = None,
        http_client: Callable[[], httpx.AsyncClient] | None = None,
        backend: str = "asyncio",
    ) -> Self:
        """
        A client around the executor that *build* makes from the client's
        ``httpx.AsyncClient`` (called once, on the client's loop thread).

        Args:
            build: Makes the executor; it must use the client it is given.
            config: The configuration ``/model`` text resolves against, if any.
            http_client: Builds the ``httpx.AsyncClient``; a plain one by default.
            backend: ``"asyncio"`` or ``"trio"``.
        """
        client = cls.__new__(cls)
        client._start(build, config, http_client, backend)
        return client

    def _start(
        self,
        build: Callable[[httpx.AsyncClient], Executor],
        config: Config | None,
        http_client: Callable[[], httpx.AsyncClient] | None,
        backend: str,
    ) -> None:
        self._config = config
        self._selections: dict[str, Selection] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._portal_running = True
        self._streams: set[SyncStream] = set()
        self._calls: set[concurrent.futures.Future[Any]] = set()
        self._exit = contextlib.ExitStack()
        self._portal: BlockingPortal = self._exit.enter_context(
            anyio.from_thread.start_blocking_portal(backend, name="modelcfg-client")
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        try:
            if backend == "asyncio":
                self._loop = self._portal.call(_running_loop)
            self._http = self._portal.call(_made_on_loop, http_client or httpx.AsyncClient)
            try:
                self._executor = self._portal.call(
                    _made_on_loop, functools.partial(build, self._http)
                )
            except BaseException:
                self._portal.call(self._http.aclose)
                raise
        except BaseException:
            self._exit.__exit__(None, None, None)
            raise

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"Client({state}, chain={self._executor.routes.chain})"

    @property
    def executor(self) -> Executor:
        """
        The executor the client runs (its routes, store and observers).
        """
        return self._executor

    @property
    def config(self) -> Config | None:
        """
        The configuration ``/model`` text resolves against, if the client has one.
        """
        return self._config

    def resolve(self, model: str) -> Selection:
        """
        The selection that ``/model`` text names (``Opus``, ``openai/gpt-5.2``,
        ``Opus@work``), checked against the providers the client can reach.

        Raises:
            UnknownModelError: The text names no known model or alias.
            ModelcfgError: The client has no configuration, or the model's provider
                is not one the client was set up for.
        """
        if self._config is None:
            raise ModelcfgError(
                "This client was built without a configuration, so it cannot resolve "
                f"/model text ({model!r}): pass a Selection, or build it with config=."
            )
        selection = self._selections.get(model)
        if selection is None:
            selection = resolve_selection(model, self._config, self._executor)
            if len(self._selections) < _KEEP_SELECTIONS:
                self._selections[model] = selection
        return selection

    def complete(
        self,
        request: ChatRequest,
        *,
        model: str | Selection | None = None,
        session: SessionState | None = None,
        session_id: str | None = None,
        needs: RequestNeeds | None = None,
        preset: str | None = None,
        api_key_id: str | None = None,
        deadline_s: float | None = None,
    ) -> Completion:
        """
        Get one complete answer, failing over as the core decides; blocks until done.

        Args:
            request: What to ask.
            model: ``/model`` text or a :class:`~modelcfg.Selection`: the model this
                request starts with (the chain follows); the chain's primary by default.
            session: The session's memory; or give *session_id*.
            session_id: Load and save the session in the state store under this id.
            needs: What the request needs; by default only whether it has images.
            preset: A preset for this request (see :meth:`Executor.complete`).
            api_key_id: Your id for your caller's API key, for budgets and the ledger.
            deadline_s: How long this request may take in all, in place of the
                policy's ``deadline_s``: no call, retry or cooldown wait goes past it.

        Returns:
            The answer, with the model and profile that gave it and every attempt.

        Raises:
            AttemptsExhaustedError: Every candidate failed or was skipped (a
                subclass names the final kind).
            ModelcfgError: The client is closed.
        """
        selection = self._selection(model)
        call = functools.partial(
            self._executor.complete,
            request,
            session=session,
            session_id=session_id,
            selection=selection,
            needs=needs,
            preset=preset,
            api_key_id=api_key_id,
            deadline_s=deadline_s,
        )
        return self._run(call)

    def stream(
        self,
        request: ChatRequest,
        *,
        model: str | Selection | None = None,
        session: SessionState | None = None,
        session_id: str | None = None,
        needs: RequestNeeds | None = None,
        restart_after_output: bool = False,
        preset: str | None = None,
        api_key_id: str | None = None,
        deadline_s: float | None = None,
    ) -> SyncStream:
        """
        Stream one answer: ``with client.stream(request) as answer: for event in answer:``.

        The events and the rules are those of :meth:`Executor.stream`; the stream
        starts when it is first iterated. Leaving the ``with`` block (or
        :meth:`SyncStream.close`) ends a stream not read to its end. *deadline_s*
        bounds the request until its first content, as for :meth:`Executor.stream`.

        Raises:
            ModelcfgError: The client is closed.
        """
        selection = self._selection(model)
        stream = SyncStream(
            self,
            functools.partial(
                self._executor.stream,
                request,
                session=session,
                session_id=session_id,
                selection=selection,
                needs=needs,
                restart_after_output=restart_after_output,
                preset=preset,
                api_key_id=api_key_id,
                deadline_s=deadline_s,
            ),
        )
        with self._lock:
            if self._closed:
                raise _closed_error()
            self._streams.add(stream)
        return stream

    def close(self) -> None:
        """
        End open streams and calls (those raise :class:`~modelcfg.ModelcfgError` in
        their threads), close the ``httpx.AsyncClient`` and stop the loop thread.

        Safe to call more than once, from any thread but the client's own loop.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            streams = tuple(self._streams)
            calls = tuple(self._calls)
        for call in calls:
            call.cancel()
        for stream in streams:
            stream.close()
        self._portal_running = False
        try:
            self._portal.call(self._http.aclose)
            self._portal.call(self._portal.stop, True)
        finally:
            self._exit.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _selection(self, model: str | Selection | None) -> Selection | None:
        if model is None or not isinstance(model, str):
            return model
        return self.resolve(model)

    def _run(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """
        What *call* returns, awaited on the client's loop; this thread waits.

        On asyncio the coroutine goes to the loop in one hop
        (``asyncio.run_coroutine_threadsafe``), rather than the portal's two (one
        to start a task, one for its result); if this thread is interrupted, the
        call is cancelled.
        """
        portal = self._portal_for_call()
        loop = self._loop
        if loop is None:
            return portal.call(call)
        future = asyncio.run_coroutine_threadsafe(_awaited(call), loop)
        with self._lock:
            self._calls.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            if self._closed:  # close() cancelled it
                raise _closed_error() from None
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            with self._lock:
                self._calls.discard(future)

    def _portal_for_call(self, *, closing: bool = False) -> BlockingPortal:
        if self._closed and not (closing and self._portal_running):
            raise _closed_error()
        return self._portal

    def _forget(self, stream: SyncStream) -> None:
        with self._lock:
            self._streams.discard(stream)


def resolve_selection(text: str, config: Config, executor: Executor) -> Selection:
    """
    The selection *text* names, refused when *executor* cannot reach its provider.

    Raises:
        UnknownModelError: The text names no known model or alias.
        ModelcfgError: The model's provider is not one the executor was set up for.
    """
    from modelcfg._config._resolve import resolve_model

    selection = resolve_model(text, config)
    provider = selection.model.provider
    if provider not in executor.providers:
        known = ", ".join(sorted(executor.providers))
        raise ModelcfgError(
            f"Model {selection.model} (from {text!r}) is served by provider {provider!r}, "
            f"which no model of the configured chains uses; this client reaches {known}."
        )
    return selection


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def _awaited(call: Callable[[], Awaitable[_T]]) -> _T:
    return await call()


async def _made_on_loop(make: Callable[[], _T]) -> _T:
    """
    What *make* returns, made on the loop thread (where the object will be used).
    """
    return make()


def _closed_error() -> ModelcfgError:
    return ModelcfgError("This modelcfg.Client is closed; make a new one.")


class SyncStream:
    """
    A streamed answer for sync code; iterate it for events.

    Events are those of :class:`~modelcfg.StreamingCompletion`:
    :class:`~modelcfg.TextDelta`, :class:`~modelcfg.ToolCallDelta`,
    :class:`~modelcfg.StreamEnd`, and :class:`~modelcfg.StreamRestarted` when
    restarts are allowed. Errors (:class:`~modelcfg.AttemptsExhaustedError`,
    :class:`~modelcfg.OutputInterruptedError`) are raised by the iteration.

    The whole stream runs in one task on the client's loop and hands events over
    in batches; it reads ahead by at most a few dozen events.

    Attributes:
        completion: The result once the stream ended properly, else ``None``.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        client: Client,
        open_stream: Callable[[], contextlib.AbstractAsyncContextManager[StreamingCompletion]],
    ) -> None:
        self._client = client
        self._open = open_stream
        self._future: concurrent.futures.Future[None] | None = None
        self._receive: MemoryObjectReceiveStream[StreamEvent | StreamRestarted] | None = None
        self._pending: list[StreamEvent | StreamRestarted] = []
        self._done = False
        self._streaming: StreamingCompletion | None = None
        self.completion: Completion | None = None

    def __repr__(self) -> str:
        return f"SyncStream(done={self.completion is not None})"

    @property
    def target(self) -> Target | None:
        """
        The model and profile the events come from (the latest attempt's); ``None``
        before the first event.
        """
        return self._streaming.target if self._streaming is not None else None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[StreamEvent | StreamRestarted]:
        return self

    def __next__(self) -> StreamEvent | StreamRestarted:
        if not self._pending:
            self._fill()
        if not self._pending:
            raise StopIteration
        return self._pending.pop()

    def text(self) -> str:
        """
        Read the whole stream and return its text (restarts handled).
        """
        parts: list[str] = []
        for event in self:
            if isinstance(event, StreamRestarted):
                parts.clear()
            elif isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts)

    def close(self) -> None:
        """
        End the stream, if it is still running, and wait until it has let go of
        its connection. Safe to call more than once.
        """
        future, receive = self._future, self._receive
        self._done = True
        self._pending.clear()
        if future is not None and not future.done():
            future.cancel()
            concurrent.futures.wait([future])
        if receive is not None:
            self._receive = None
            with contextlib.suppress(ModelcfgError):
                self._client._portal_for_call(closing=True).call(receive.aclose)
        self._client._forget(self)

    def _fill(self) -> None:
        if self._done:
            return
        portal = self._client._portal_for_call()
        if self._future is None:
            send, self._receive = portal.call(_channel)
            self._future = portal.start_task_soon(self._pump, send)
        if self._receive is None:
            return
        receive = self._receive
        batch = self._client._run(lambda: _take(receive))
        if batch:
            batch.reverse()
            self._pending = batch
            return
        self._done = True
        self._receive = None  # closed by _take at its end
        self._client._forget(self)
        if not self._future.cancelled():  # cancelled: closed by another thread
            self._future.result()  # raises what ended the stream, if anything did

    async def _pump(self, send: MemoryObjectSendStream[StreamEvent | StreamRestarted]) -> None:
        async with send, self._open() as answer:
            self._streaming = answer
            async for event in answer:
                await send.send(event)
            self.completion = answer.completion


async def _channel() -> tuple[
    MemoryObjectSendStream[StreamEvent | StreamRestarted],
    MemoryObjectReceiveStream[StreamEvent | StreamRestarted],
]:
    return anyio.create_memory_object_stream[StreamEvent | StreamRestarted](_BATCH)


async def _take(
    receive: MemoryObjectReceiveStream[StreamEvent | StreamRestarted],
) -> list[StreamEvent | StreamRestarted]:
    """
    The next events, at least one unless the stream ended (then none).
    """
    try:
        batch = [await receive.receive()]
    except anyio.EndOfStream:
        receive.close()
        return []
    with contextlib.suppress(anyio.WouldBlock, anyio.EndOfStream):
        while len(batch) < _BATCH:
            batch.append(receive.receive_nowait())
    return batch
