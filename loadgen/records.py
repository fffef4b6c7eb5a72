"""What one streamed request measured, and the ways it can fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Failure(StrEnum):
    """Each failed request lands in exactly one class; nothing is retried."""

    CONNECT_ERROR = "connect_error"  # TCP connect refused / reset / DNS / TLS before a request was sent
    TIMEOUT = "timeout"  # per-request deadline passed (connect, headers or mid-stream)
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    HTTP_OTHER = "http_other"  # a non-200 status outside 4xx/5xx (e.g. an unfollowed redirect)
    PROTOCOL_ERROR = "protocol_error"  # server closed or garbled the connection before a status line
    STREAM_CUT = "stream_cut"  # 200 and streaming, but the body ended before [DONE]
    MALFORMED_CHUNK = "malformed_chunk"  # an SSE data payload that is not a JSON object
    STREAM_ERROR = "stream_error"  # the server sent an {"error": ...} event inside the stream


FAILURE_CLASSES: tuple[str, ...] = tuple(f.value for f in Failure)


@dataclass(slots=True)
class RequestRecord:
    """Times are seconds from the run's start (time.perf_counter based); durations are seconds."""

    index: int
    start: float  # when the request was created: TTFT and latency count from here
    end: float = 0.0
    sent: float | None = None  # when the whole request had been written to the socket (None: it never was)
    status: int | None = None
    ttft: float | None = None
    itl: list[float] = field(default_factory=list)
    token_chunks: int = 0
    usage_tokens: int | None = None
    finish_reason: str | None = None
    done: bool = False
    failure: Failure | None = None
    detail: str = ""
    cancelled: bool = False
    warmup: bool = False

    @property
    def tokens(self) -> int:
        """Output tokens: the server's usage count when it sent one, else the token chunks counted."""
        return self.usage_tokens if self.usage_tokens is not None else self.token_chunks

    @property
    def completed(self) -> bool:
        return self.failure is None and not self.cancelled and self.done

    @property
    def send_wait(self) -> float | None:
        """Client-side queueing: from the request's creation until it was written to the socket."""
        return None if self.sent is None else self.sent - self.start

    @property
    def latency(self) -> float:
        return self.end - self.start

    def token_times(self) -> list[float]:
        """Arrival time of every token chunk, reconstructed from TTFT and the inter-token gaps."""
        if self.ttft is None:
            return []
        t = self.start + self.ttft
        times = [t]
        for gap in self.itl:
            t += gap
            times.append(t)
        return times
