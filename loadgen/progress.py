"""A single self-overwriting progress line for interactive terminals (nothing at all in CI logs)."""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import TextIO

from loadgen.runner import LiveCounters

PROGRESS_INTERVAL_S = 0.5


def progress_line(counters: LiveCounters, elapsed: float, tokens_per_s: float) -> str:
    return (
        f"{elapsed:7.1f}s  requests {counters.started}  ok {counters.completed}  errors {counters.failed}"
        f"  in flight {counters.in_flight}  tokens/s {tokens_per_s:,.0f}"
    )


async def show_progress(
    counters: LiveCounters, stream: TextIO, interval: float = PROGRESS_INTERVAL_S
) -> None:
    """Redraw the line every `interval` seconds until cancelled, then erase it."""
    started = last_at = perf_counter()
    last_tokens = 0
    try:
        while True:
            await asyncio.sleep(interval)
            now = perf_counter()
            rate = (counters.tokens - last_tokens) / (now - last_at)
            last_at, last_tokens = now, counters.tokens
            stream.write("\r\x1b[K" + progress_line(counters, now - started, rate))
            stream.flush()
    finally:
        stream.write("\r\x1b[K")
        stream.flush()
