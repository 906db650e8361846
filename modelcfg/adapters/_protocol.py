"""
What an adapter is: the Adapter and StreamParser protocols, endpoints and per-attempt call limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, Self, runtime_checkable

import attrs
import httpx

from modelcfg._core._failures import Failure
from modelcfg._core._values import ModelRef, ProfileId
from modelcfg._messages import (
    ChatRequest,
    ChatResponse,
    StreamEvent,
    Usage,
)
from modelcfg.adapters._sse import SSEEvent

if TYPE_CHECKING:
    from modelcfg.typing import JSON


# --------------------------------------------------------------------------- values


@attrs.frozen(kw_only=True)
class Endpoint:
    """
    Where one attempt goes and as whom: everything an adapter needs besides the request.

    Attributes:
        model: The provider's model id (``gpt-4o``, ``anthropic/claude-sonnet-4``).
        base_url: The API root, as the provider's official SDK takes it: for
            OpenAI-compatible APIs including the version path
            (``https://api.openai.com/v1``, ``http://127.0.0.1:11434/v1``); for
            Anthropic the host root (``https://api.anthropic.com``; one ending in
            ``/v1`` works too).
        credential: The API key or OAuth access token; only ever sent in a header.
        headers: Extra request headers (never shown in reprs: they may hold secrets).
    """

    model: str
    base_url: str = ""
    credential: str | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False, hash=False)

    def url(self, path: str) -> str:
        """
        Join the base URL and an API path such as ``/chat/completions``.
        """
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def _check_limit(_instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(
            f"{attribute.name} must be a positive number of seconds or None, not {value!r}"
        )


_END_GRACE_S: Final[float | None] = 2.0
"""How long a stream is waited for after its finish reason, by default."""

MAX_BODY_BYTES: Final = 32 * 1024 * 1024
"""The largest decoded success body a call reads, by default (32 MiB)."""
MAX_STREAM_BYTES: Final = 256 * 1024 * 1024
"""The most decoded bytes a stream may carry, by default (256 MiB)."""
MAX_STREAM_S: Final = 1800.0
"""The longest a stream may run, from sending the request, by default (30 minutes)."""
MAX_EVENT_BYTES: Final = 8 * 1024 * 1024
"""The largest a server-sent event may grow before it is dispatched, by default (8 MiB)."""


def _check_size(_instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(
            f"{attribute.name} must be a positive number of bytes or None, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class CallLimits:
    """
    Per-attempt time limits; ``None`` leaves that limit off.

    The host client's own ``timeout=`` does not apply to provider calls: adapters
    build their requests themselves, and httpx applies a client's timeout only to
    requests the client builds. These limits, and the request's deadline (the
    policy's ``deadline_s``, which the executor applies to every attempt whatever
    these say), are what bound a call.

    Attributes:
        connect_s: Time to establish a connection (an httpx timeout).
        read_s: Longest wait for any bytes from the socket (an httpx timeout).
        first_token_s: Time from sending the request to the first content of a
            stream; for a non-streamed call, to the complete answer (its first token
            arrives with its last).
        idle_s: Longest gap between content events once a stream has started; a
            longer gap is a stall.
        end_grace_s: Once a stream carried its finish reason, how long to wait for
            the events that may still follow it (OpenAI's usage chunk, ``[DONE]``)
            before the answer counts as complete anyway; ``None`` waits up to
            *idle_s*.
        max_body_bytes: The largest decoded success body a non-streamed call reads;
            the body is read in pieces (and decompressed as it arrives), so a
            longer one, or a compression bomb, stops at this cap with
            :class:`~modelcfg.adapters.MalformedResponseError`.
        max_stream_bytes: The most decoded bytes a stream may carry; past it,
            iterating raises :class:`~modelcfg.adapters.StreamInterruptedError`
            (reason ``"too_large"``).
        max_stream_s: The longest a stream may run, from sending the request,
            however steadily it sends; past it, iterating raises
            :class:`~modelcfg.adapters.StreamInterruptedError` (reason ``"too_long"``).
        max_event_bytes: The largest a server-sent event may grow before it is
            dispatched; past it, iterating raises
            :class:`~modelcfg.adapters.StreamInterruptedError` (reason ``"too_large"``).

    .. versionchanged:: 0.2.0
       Added ``max_body_bytes``, ``max_stream_bytes``, ``max_stream_s`` and ``max_event_bytes``.
    """

    connect_s: float | None = attrs.field(default=None, validator=_check_limit)
    read_s: float | None = attrs.field(default=None, validator=_check_limit)
    first_token_s: float | None = attrs.field(default=None, validator=_check_limit)
    idle_s: float | None = attrs.field(default=None, validator=_check_limit)
    end_grace_s: float | None = attrs.field(default=_END_GRACE_S, validator=_check_limit)
    max_body_bytes: int | None = attrs.field(default=MAX_BODY_BYTES, validator=_check_size)
    max_stream_bytes: int | None = attrs.field(default=MAX_STREAM_BYTES, validator=_check_size)
    max_stream_s: float | None = attrs.field(default=MAX_STREAM_S, validator=_check_limit)
    max_event_bytes: int | None = attrs.field(default=MAX_EVENT_BYTES, validator=_check_size)


DEFAULT_LIMITS: Final = CallLimits(connect_s=10.0, first_token_s=120.0, idle_s=60.0)
"""The per-attempt limits of an executor that neither its host nor its config's
``timeouts`` set: 10 s to connect, 120 s to the first token (or the whole answer of a
call that does not stream), 60 s between a stream's events, no read limit of its own,
and the body and stream caps of :class:`CallLimits`."""


# ----------------------------------------------------------------- the protocol


class StreamParser(Protocol):
    """
    Turns a wire format's stream payloads into stream events, as a frozen value.
    """

    @property
    def finished(self) -> bool:
        """
        Whether the stream's end was seen and :class:`StreamEnd` emitted.
        """
        ...

    @property
    def finishable(self) -> bool:
        """
        Whether a finish reason was seen, so the answer is complete without an end marker.
        """
        ...

    def feed(self, event: SSEEvent) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one SSE event; raise on a malformed event or an error event.
        """
        ...

    def feed_json(self, payload: JSON) -> tuple[Self, tuple[StreamEvent, ...]]:
        """
        Read one decoded payload (for example an SDK chunk's ``model_dump()``).
        """
        ...

    def finish(self, reason: Literal["cut", "stalled"]) -> tuple[StreamEvent, ...]:
        """
        End the stream: return the closing :class:`StreamEnd` or raise if unfinished.
        """
        ...

    @property
    def reported_usage(self) -> Usage | None:
        """
        The usage the stream reported so far (billed even if it fails now), or ``None``.
        """
        ...


@runtime_checkable
class Adapter(Protocol):
    """
    A provider adapter: what the executor calls for one attempt.

    ``client`` is the host's ``httpx.AsyncClient`` (adapters never build one);
    adapters that do not speak HTTP themselves accept ``None``.
    """

    @property
    def name(self) -> str:
        """
        The adapter's short name, used in messages.
        """
        ...

    async def complete(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = ...,
    ) -> ChatResponse:
        """
        Make one non-streamed attempt; raise what :meth:`classify` understands.
        """
        ...

    def stream(
        self,
        client: httpx.AsyncClient | None,
        request: ChatRequest,
        endpoint: Endpoint,
        *,
        limits: CallLimits = ...,
    ) -> AbstractAsyncContextManager[AsyncIterator[StreamEvent]]:
        """
        Make one streamed attempt: ``async with adapter.stream(...) as events``.
        """
        ...

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
        Turn what a call raised into a :class:`Failure`; never raises.
        """
        ...


class HTTPWire(Protocol):
    """
    The pure half of an HTTP adapter, which the shared call path drives.
    """

    @property
    def name(self) -> str: ...

    def build_request(self, request: ChatRequest, endpoint: Endpoint) -> httpx.Request: ...

    def parse_response(self, response: httpx.Response) -> ChatResponse: ...

    def stream_parser(self, request: ChatRequest) -> StreamParser: ...
