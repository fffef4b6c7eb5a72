"""Incremental Server-Sent Events parser.

Bytes arrive split at arbitrary points (mid-line, mid-CRLF, mid-UTF-8 sequence), so the parser keeps the
unterminated tail between feeds and only decodes complete lines. It follows the WHATWG event-stream rules
that matter for OpenAI-style streams: lines end in LF, CRLF or CR; lines starting with ':' are comments
(keep-alives); 'data:' lines accumulate; a blank line dispatches the event; a blank line with no data
(a keep-alive) dispatches nothing; an event left unterminated when the stream ends is discarded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str = "message"


class SSEParser:
    __slots__ = ("_buffer", "_data_lines", "_event_type", "_skip_leading_lf", "comments")

    def __init__(self) -> None:
        self._buffer = b""
        self._data_lines: list[str] = []
        self._event_type = ""
        # A CR ending one feed may be the first half of a CRLF whose LF starts the next feed.
        self._skip_leading_lf = False
        self.comments = 0

    def feed_data(self, chunk: bytes) -> list[str]:
        """`feed`, returning only each completed event's data (the hot path of a completion stream).

        A read that holds exactly one whole `data: ...` event, with nothing pending before it, is by far the
        most common case (vLLM sends one event per token) and is answered without splitting lines.
        """
        if (
            chunk[:6] == b"data: "
            and chunk[-2:] == b"\n\n"
            and not self._buffer
            and not self._data_lines
            and not self._skip_leading_lf
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
        ):
            return [chunk[6:-2].decode("utf-8", errors="replace")]
        return [event.data for event in self.feed(chunk)]

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume the next bytes of the stream and return every event they complete."""
        if self._skip_leading_lf and chunk:
            self._skip_leading_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        data = self._buffer + chunk if self._buffer else chunk
        if b"\r" not in data:
            # Fast path: LF-only streams (vLLM's case) split cheaply.
            *lines, self._buffer = data.split(b"\n")
            return self._consume(lines)
        lines = []
        start = 0
        length = len(data)
        while True:
            lf = data.find(b"\n", start)
            cr = data.find(b"\r", start, lf if lf >= 0 else length)
            if cr >= 0:
                lines.append(data[start:cr])
                start = cr + 1
                if start == length:
                    self._skip_leading_lf = True
                elif data[start : start + 1] == b"\n":
                    start += 1
            elif lf >= 0:
                lines.append(data[start:lf])
                start = lf + 1
            else:
                break
        self._buffer = data[start:]
        return self._consume(lines)

    def _consume(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for raw in lines:
            if not raw:
                if self._data_lines:
                    events.append(SSEEvent("\n".join(self._data_lines), self._event_type or "message"))
                self._data_lines = []
                self._event_type = ""
                continue
            if raw[:1] == b":":
                self.comments += 1
                continue
            if raw[:6] == b"data: ":
                # Every line of an OpenAI stream: same result as the general path below, without partition.
                self._data_lines.append(raw[6:].decode("utf-8", errors="replace"))
                continue
            line = raw.decode("utf-8", errors="replace")
            name, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data_lines.append(value)
            elif name == "event":
                self._event_type = value
            # 'id', 'retry' and unknown fields carry nothing a completion stream needs.
        return events

    @property
    def has_partial_event(self) -> bool:
        """True when bytes or data lines were received that no blank line has dispatched yet."""
        return bool(self._buffer) or bool(self._data_lines)
