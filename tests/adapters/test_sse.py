"""
Tests for the incremental server-sent events decoder.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelcfg.adapters._sse import EventTooLargeError, SSEBuffer, SSEDecoder, SSEEvent, decode_all


def feed_in_pieces(body: bytes, cuts: list[int]) -> tuple[SSEEvent, ...]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    start = 0
    for cut in sorted(set(cuts)):
        decoder, out = decoder.feed(body[start:cut])
        events.extend(out)
        start = cut
    decoder, out = decoder.feed(body[start:])
    events.extend(out)
    return (*events, *decoder.finish())


CASES = [
    pytest.param(b"data: hello\n\n", (SSEEvent(data="hello"),), id="one-event"),
    pytest.param(
        b"data: a\r\n\r\ndata: b\r\n\r\n", (SSEEvent(data="a"), SSEEvent(data="b")), id="crlf"
    ),
    pytest.param(b"data: a\r\rdata: b\r\r", (SSEEvent(data="a"), SSEEvent(data="b")), id="bare-cr"),
    pytest.param(
        b"data: line1\ndata: line2\n\n", (SSEEvent(data="line1\nline2"),), id="multi-line-data"
    ),
    pytest.param(
        b": keep-alive\n\n: ping\ndata: x\n\n", (SSEEvent(data="x"),), id="comments-skipped"
    ),
    pytest.param(
        b"event: message_stop\ndata: {}\n\n",
        (SSEEvent(event="message_stop", data="{}"),),
        id="event-name",
    ),
    pytest.param(b"data:no-space\n\n", (SSEEvent(data="no-space"),), id="no-space-after-colon"),
    pytest.param(
        b"data:  two-spaces\n\n", (SSEEvent(data=" two-spaces"),), id="only-one-space-dropped"
    ),
    pytest.param(b"data\n\n", (SSEEvent(data=""),), id="field-without-colon"),
    pytest.param(
        b"event: x\n\ndata: y\n\n", (SSEEvent(data="y"),), id="event-name-reset-by-empty-event"
    ),
    pytest.param(b"id: 7\ndata: y\n\n", (SSEEvent(data="y", id="7"),), id="last-event-id"),
    pytest.param(b"retry: 1500\ndata: y\n\n", (SSEEvent(data="y", retry_ms=1500),), id="retry"),
    pytest.param(b"\xef\xbb\xbfdata: bom\n\n", (SSEEvent(data="bom"),), id="leading-bom-dropped"),
    pytest.param(b"data: cut-before-blank-line\n", (), id="unfinished-event-dropped"),
    pytest.param(b"unknown: field\ndata: z\n\n", (SSEEvent(data="z"),), id="unknown-field-ignored"),
    pytest.param("data: héllo ✓\n\n".encode(), (SSEEvent(data="héllo ✓"),), id="utf8"),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_decode_all(body: bytes, expected: tuple[SSEEvent, ...]) -> None:
    """Each stream decodes to the events the SSE rules say."""

    assert expected == decode_all(body)


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    """A CR at the end of one chunk and an LF at the start of the next make one line end."""
    decoder, first = SSEDecoder().feed(b"data: a\r")
    decoder, second = decoder.feed(b"\n\r")
    decoder, third = decoder.feed(b"\n")

    assert ((), (), (SSEEvent(data="a"),)) == (first, second, third)


def test_pending_reports_an_unfinished_event() -> None:
    """A decoder that stopped inside an event says so."""
    decoder, _ = SSEDecoder().feed(b"data: partial")

    assert (True, False) == (decoder.pending, SSEDecoder().pending)


_lines = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12).map(
            lambda text: f"data: {text}"
        ),
        st.sampled_from([": keep-alive", "event: delta", "id: 3", "retry: 10", ""]),
    ),
    max_size=12,
)


@settings(max_examples=150)
@given(
    lines=_lines,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_chunking_never_changes_the_events(lines: list[str], newline: str, cuts: list[int]) -> None:
    """Splitting a stream anywhere (inside lines, CRLFs or UTF-8 characters) gives the same events."""
    body = (newline.join(lines) + newline + newline).encode()

    assert decode_all(body) == feed_in_pieces(body, cuts)


_any_lines = st.lists(
    st.one_of(
        _lines.map(lambda lines: "\n".join(lines)),
        st.sampled_from(
            ["data", "data:", "data:x", "event:", "id: a\0b", "retry: x", "\ufeffdata: 1"]
        ),
    ),
    max_size=8,
)


@settings(max_examples=200)
@given(
    lines=_any_lines,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    bom=st.booleans(),
    closed=st.booleans(),
)
def test_buffer_decodes_as_the_decoder_does(
    lines: list[str], newline: str, cuts: list[int], bom: bool, closed: bool
) -> None:
    """The mutable buffer gives the decoder's events and pending flag for any stream, however cut."""
    body = ("\ufeff" if bom else "").encode() + (
        newline.join(lines) + (newline + newline if closed else "")
    ).encode()
    decoder = SSEDecoder()
    buffer = SSEBuffer()
    expected: list[SSEEvent] = []
    actual: list[SSEEvent] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(body)]:
        decoder, out = decoder.feed(body[start:cut])
        expected.extend(out)
        actual.extend(buffer.feed(body[start:cut]))
        start = max(start, cut)
    pending = (decoder.pending, buffer.pending)
    expected.extend(decoder.finish())
    actual.extend(buffer.finish())

    assert (expected, pending[0]) == (actual, pending[1])


def test_buffer_caps_an_event_that_never_dispatches() -> None:
    """A run of data lines without a blank line stops at the buffer's cap."""
    buffer = SSEBuffer(max_event_bytes=100)
    for _ in range(5):
        buffer.feed(b"data: " + b"x" * 10 + b"\n")

    with pytest.raises(EventTooLargeError) as caught:
        buffer.feed(b"data: " + b"x" * 100 + b"\n")

    assert 100 == caught.value.limit
