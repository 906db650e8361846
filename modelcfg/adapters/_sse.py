"""
An incremental decoder for server-sent events (the ``text/event-stream`` format).

It follows the WHATWG rules: lines end with CRLF, LF or CR; a blank line
dispatches the event; ``data:`` lines join with newlines; lines that start with
``:`` are comments (keep-alives); one space after the colon is dropped. Bytes
arrive in arbitrary chunks, so lines (and UTF-8 characters) may be split
anywhere. An event that the stream leaves unfinished (no blank line before the
end) is never dispatched: it may be a truncated one.

The decoder is a frozen value: :meth:`SSEDecoder.feed` returns the successor
decoder with the events that became complete.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

__all__ = ["SSEDecoder", "SSEEvent", "decode_all"]

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


@attrs.frozen(kw_only=True)
class SSEDecoder:
    """
    The state of a stream being decoded: the unfinished line and event.

    Attributes:
        tail: Bytes after the last complete line (a held-back ``\\r`` included).
        data: The data lines of the event being built.
        event: The name of the event being built, if set.
        last_id: The last event id the stream set.
        retry_ms: The reconnection time set for the event being built.
        started: Whether any byte was seen (a leading BOM is dropped once).
    """

    tail: bytes = b""
    data: tuple[str, ...] = ()
    event: str | None = None
    last_id: str | None = None
    retry_ms: int | None = None
    started: bool = False

    def feed(self, chunk: bytes) -> tuple[SSEDecoder, tuple[SSEEvent, ...]]:
        """
        Decode the next chunk of the stream.

        Args:
            chunk: The next bytes, split anywhere.

        Returns:
            The successor decoder and the events this chunk completed, in order.
        """
        buffer = self.tail + chunk
        started = self.started
        if not started:
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                return attrs.evolve(self, tail=buffer), ()
            started = True
            buffer = buffer.removeprefix(_BOM)
        # A CR at the very end may be the first half of a CRLF: hold it back.
        held = b""
        if buffer.endswith(b"\r"):
            buffer, held = buffer[:-1], b"\r"
        lines = _LINE_END.split(buffer)
        rest = lines.pop()
        state = attrs.evolve(self, started=started)
        events: list[SSEEvent] = []
        for raw in lines:
            state, event = state._line(raw.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return attrs.evolve(state, tail=rest + held), tuple(events)

    def finish(self) -> tuple[SSEEvent, ...]:
        """
        End the stream.

        Returns:
            The events that a held-back final CR completes. Per the SSE rules,
            an event without its closing blank line is dropped, because the
            stream may have been cut inside it.
        """
        if self.tail.endswith(b"\r"):
            return self.feed(b"\n")[1]
        return ()

    @property
    def pending(self) -> bool:
        """
        Whether the stream stopped inside a line or an event.
        """
        return bool(self.tail.strip(b"\r\n")) or bool(self.data)

    def _line(self, line: str) -> tuple[SSEDecoder, SSEEvent | None]:
        if not line:
            if not self.data:
                return attrs.evolve(self, event=None, retry_ms=None), None
            event = SSEEvent(
                event=self.event or "message",
                data="\n".join(self.data),
                id=self.last_id,
                retry_ms=self.retry_ms,
            )
            return attrs.evolve(self, data=(), event=None, retry_ms=None), event
        if line.startswith(":"):
            return self, None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            return attrs.evolve(self, data=(*self.data, value)), None
        if field == "event":
            return attrs.evolve(self, event=value), None
        if field == "id" and "\0" not in value:
            return attrs.evolve(self, last_id=value), None
        if field == "retry" and value.isascii() and value.isdigit():
            return attrs.evolve(self, retry_ms=int(value)), None
        return self, None


def decode_all(body: bytes) -> tuple[SSEEvent, ...]:
    """
    Decode a whole stream at once (handy in tests and for buffered bodies).
    """
    decoder, events = SSEDecoder().feed(body)
    return events + decoder.finish()
