"""
An incremental decoder for server-sent events (the ``text/event-stream`` format).

It follows the WHATWG rules: lines end with CRLF, LF or CR; a blank line
dispatches the event; ``data:`` lines join with newlines; lines that start with
``:`` are comments (keep-alives); one space after the colon is dropped. Bytes
arrive in arbitrary chunks, so lines (and UTF-8 characters) may be split
anywhere. An event that the stream leaves unfinished (no blank line before the
end) is never dispatched: it may be a truncated one.

The decoder is a frozen value: :meth:`SSEDecoder.feed` returns the successor
decoder with the events that became complete, one successor per chunk. Its work
is linear in the bytes fed: a line or event that keeps growing is kept in links,
joined once when it completes, and an undispatched event may be capped.

:class:`SSEBuffer` decodes the same way, but is a small mutable buffer owned by
one stream: the call path uses it, so a chunk costs no successor at all.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

__all__ = ["EventTooLargeError", "SSEBuffer", "SSEDecoder", "SSEEvent", "decode_all"]

_LINE_END: Final = re.compile(rb"\r\n|\r|\n")
_BOM: Final = b"\xef\xbb\xbf"


@attrs.frozen(kw_only=True)
class SSEEvent:
    """
    One dispatched server-sent event.

    Attributes:
        event: The event's name (``"message"`` unless an ``event:`` line named it).
        data: The data lines, joined with ``"\\n"``.
        id: The last event id seen so far in the stream, if any.
        retry_ms: The reconnection time this event set, if any.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry_ms: int | None = None


class EventTooLargeError(ValueError):
    """
    An event still being built (or its unfinished line) outgrew the decoder's cap.

    Attributes:
        limit: The cap, in bytes.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        self.limit = limit
        super().__init__(message)


@attrs.frozen(slots=True)
class _Link:
    """
    One piece of a growing sequence, newest first: appending never copies the rest.
    """

    prev: _Link | None
    value: object


def _unwind(link: _Link | None) -> list[object]:
    values: list[object] = []
    while link is not None:
        values.append(link.value)
        link = link.prev
    values.reverse()
    return values


def _joined(link: _Link | None) -> bytes:
    if link is None:
        return b""
    if link.prev is None:
        return link.value  # type: ignore[return-value]  # tail pieces are bytes
    return b"".join(_unwind(link))  # type: ignore[arg-type]


@attrs.frozen(kw_only=True)
class SSEDecoder:
    """
    The state of a stream being decoded: the unfinished line and event.

    Feeding a chunk costs time in proportion to that chunk (and to the event it
    completes), however long the unfinished line or event already is: pieces are
    kept as links that are joined once, when their line or event completes.

    Attributes:
        max_event_bytes: The largest an undispatched event (its data lines and
            unfinished line) may grow before :meth:`feed` raises
            :class:`EventTooLargeError`; ``None`` for no cap.
        event: The name of the event being built, if set.
        last_id: The last event id the stream set.
        retry_ms: The reconnection time set for the event being built.
        started: Whether any byte was seen (a leading BOM is dropped once).
    """

    max_event_bytes: int | None = None
    event: str | None = None
    last_id: str | None = None
    retry_ms: int | None = None
    started: bool = False
    pieces: _Link | None = attrs.field(default=None, repr=False)
    """The bytes after the last complete line (a held-back ``\\r`` included), in pieces."""
    tail_size: int = 0
    lines: _Link | None = attrs.field(default=None, repr=False)
    """The data lines of the event being built, newest first."""
    data_size: int = 0

    @property
    def tail(self) -> bytes:
        """
        Bytes after the last complete line (a held-back ``\\r`` included).
        """
        return _joined(self.pieces)

    @property
    def data(self) -> tuple[str, ...]:
        """
        The data lines of the event being built.
        """
        return tuple(_unwind(self.lines))  # type: ignore[arg-type]  # data lines are str

    def feed(self, chunk: bytes) -> tuple[SSEDecoder, tuple[SSEEvent, ...]]:
        """
        Decode the next chunk of the stream.

        Args:
            chunk: The next bytes, split anywhere.

        Returns:
            The successor decoder and the events this chunk completed, in order.

        Raises:
            EventTooLargeError: The event being built outgrew ``max_event_bytes``.
        """
        pieces, tail_size, started = self.pieces, self.tail_size, self.started
        if not started:
            buffer = _joined(pieces) + chunk
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                return attrs.evolve(self, pieces=_Link(None, buffer), tail_size=len(buffer)), ()
            started = True
            chunk = buffer.removeprefix(_BOM)
            pieces, tail_size = None, 0
        held_cr = pieces is not None and pieces.value.endswith(b"\r")  # type: ignore[attr-defined]
        if not held_cr and b"\n" not in chunk and b"\r" not in chunk:
            # No line ends here: only the unfinished line grows, by one link.
            tail_size += len(chunk)
            self._check(self.data_size + tail_size)
            if chunk:
                pieces = _Link(pieces, chunk)
            return attrs.evolve(self, pieces=pieces, tail_size=tail_size, started=started), ()
        buffer = _joined(pieces) + chunk if pieces is not None else chunk
        # A CR at the very end may be the first half of a CRLF: hold it back.
        held = b""
        if buffer.endswith(b"\r"):
            buffer, held = buffer[:-1], b"\r"
        raw_lines = _LINE_END.split(buffer)
        rest = raw_lines.pop() + held
        lines, data_size = self.lines, self.data_size
        name, last_id, retry_ms = self.event, self.last_id, self.retry_ms
        events: list[SSEEvent] = []
        for raw in raw_lines:
            line = raw.decode("utf-8", errors="replace")
            if not line:
                if lines is not None:
                    events.append(
                        SSEEvent(
                            event=name or "message",
                            data="\n".join(_unwind(lines)),  # type: ignore[arg-type]
                            id=last_id,
                            retry_ms=retry_ms,
                        )
                    )
                lines, data_size, name, retry_ms = None, 0, None, None
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                lines = _Link(lines, value)
                data_size += len(raw) + 1
                self._check(data_size)
            elif field == "event":
                name = value
            elif field == "id" and "\0" not in value:
                last_id = value
            elif field == "retry" and value.isascii() and value.isdigit():
                retry_ms = int(value)
        self._check(data_size + len(rest))
        return SSEDecoder(
            max_event_bytes=self.max_event_bytes,
            event=name,
            last_id=last_id,
            retry_ms=retry_ms,
            started=started,
            pieces=_Link(None, rest) if rest else None,
            tail_size=len(rest),
            lines=lines,
            data_size=data_size,
        ), tuple(events)

    def finish(self) -> tuple[SSEEvent, ...]:
        """
        End the stream.

        Returns:
            The events that a held-back final CR completes. Per the SSE rules,
            an event without its closing blank line is dropped, because the
            stream may have been cut inside it.
        """
        if self.pieces is not None and self.pieces.value.endswith(b"\r"):  # type: ignore[attr-defined]
            return self.feed(b"\n")[1]
        return ()

    @property
    def pending(self) -> bool:
        """
        Whether the stream stopped inside a line or an event.
        """
        return bool(self.tail.strip(b"\r\n")) or self.lines is not None

    def _check(self, size: int) -> None:
        limit = self.max_event_bytes
        if limit is not None and size > limit:
            raise EventTooLargeError(
                f"a server-sent event grew past {limit} bytes without being dispatched "
                "(CallLimits.max_event_bytes)",
                limit=limit,
            )


class SSEBuffer:
    """
    One stream's decoding state, updated in place: what :class:`SSEDecoder` does,
    without a successor per chunk.

    Only the stream that owns it feeds it. Its work is linear in the bytes fed:
    the unfinished line and the data lines of the event being built are kept as
    lists of pieces, joined once when they complete.
    """

    __slots__ = (
        "_data_size",
        "_event",
        "_last_id",
        "_limit",
        "_lines",
        "_retry_ms",
        "_started",
        "_tail",
        "_tail_size",
    )

    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._limit = max_event_bytes
        self._event: str | None = None
        self._last_id: str | None = None
        self._retry_ms: int | None = None
        self._started = False
        self._tail: list[bytes] = []
        self._tail_size = 0
        self._lines: list[str] = []
        self._data_size = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """
        Decode the next chunk of the stream; return the events it completed, in order.

        Raises:
            EventTooLargeError: The event being built outgrew ``max_event_bytes``.
        """
        tail = self._tail
        if not self._started:
            buffer = b"".join(tail) + chunk
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._tail, self._tail_size = [buffer], len(buffer)
                return []
            self._started = True
            chunk = buffer.removeprefix(_BOM)
            tail.clear()
            self._tail_size = 0
        held_cr = bool(tail) and tail[-1].endswith(b"\r")
        if not held_cr and b"\n" not in chunk and b"\r" not in chunk:
            # No line ends here: only the unfinished line grows, by one piece.
            self._tail_size += len(chunk)
            self._check(self._data_size + self._tail_size)
            if chunk:
                tail.append(chunk)
            return []
        if tail:
            tail.append(chunk)
            buffer = b"".join(tail)
            tail.clear()
        else:
            buffer = chunk
        # A CR at the very end may be the first half of a CRLF: hold it back.
        held = b""
        if buffer.endswith(b"\r"):
            buffer, held = buffer[:-1], b"\r"
        raw_lines = _LINE_END.split(buffer) if b"\r" in buffer else buffer.split(b"\n")
        rest = raw_lines.pop() + held
        events = self._lines_read(raw_lines)
        self._check(self._data_size + len(rest))
        if rest:
            tail.append(rest)
        self._tail_size = len(rest)
        return events

    def _lines_read(self, raw_lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        lines = self._lines
        for raw in raw_lines:
            if not raw:
                if lines:
                    events.append(
                        SSEEvent(
                            event=self._event or "message",
                            data="\n".join(lines),
                            id=self._last_id,
                            retry_ms=self._retry_ms,
                        )
                    )
                    lines = self._lines = []
                self._data_size = 0
                self._event = self._retry_ms = None
                continue
            if raw.startswith(b"data:"):
                value = raw[6:] if raw.startswith(b"data: ") else raw[5:]
                lines.append(value.decode("utf-8", errors="replace"))
                self._data_size += len(raw) + 1
                self._check(self._data_size)
                continue
            line = raw.decode("utf-8", errors="replace")
            if line.startswith(":"):
                continue
            field, _, value_text = line.partition(":")
            value_text = value_text.removeprefix(" ")
            if field == "data":  # a bare "data" line: an empty data line
                lines.append(value_text)
                self._data_size += len(raw) + 1
                self._check(self._data_size)
            elif field == "event":
                self._event = value_text
            elif field == "id" and "\0" not in value_text:
                self._last_id = value_text
            elif field == "retry" and value_text.isascii() and value_text.isdigit():
                self._retry_ms = int(value_text)
        return events

    def finish(self) -> list[SSEEvent]:
        """
        End the stream: the events a held-back final CR completes (an event without
        its closing blank line is dropped, as by :meth:`SSEDecoder.finish`).
        """
        if self._tail and self._tail[-1].endswith(b"\r"):
            return self.feed(b"\n")
        return []

    @property
    def pending(self) -> bool:
        """
        Whether the stream stopped inside a line or an event.
        """
        return bool(b"".join(self._tail).strip(b"\r\n")) or bool(self._lines)

    def _check(self, size: int) -> None:
        limit = self._limit
        if limit is not None and size > limit:
            raise EventTooLargeError(
                f"a server-sent event grew past {limit} bytes without being dispatched "
                "(CallLimits.max_event_bytes)",
                limit=limit,
            )


def decode_all(body: bytes) -> tuple[SSEEvent, ...]:
    """
    Decode a whole stream at once (handy in tests and for buffered bodies).
    """
    decoder, events = SSEDecoder().feed(body)
    return events + decoder.finish()
