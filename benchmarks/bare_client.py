"""The baseline for loadgen_bench.py: the barest streaming client, to tell the client's TTFT cost from the server's.

N closed-loop streams through ONE shared aiohttp connection pool (keep-alive, C parser) on uvloop when it is
installed, and nothing else: no SSE parsing (the first body read is the first token, `[DONE]` in the last bytes
ends the stream), no records beyond four numbers per request, no progress, no report. Its clock starts, like
loadgen's, when a request is created; it also notes when the request had been written to the socket.

    python benchmarks/bare_client.py URL --streams 256 --warmup 2 --duration 15 --max-tokens 32

prints one JSON object: requests and completions started in the measured window (after warm-up), the window's
length (until the last of them ended), and TTFT and send-wait percentiles in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from time import perf_counter
from typing import Any

import aiohttp
from aiohttp.payload import BytesPayload


class TimedBody(BytesPayload):
    """The body, noting when aiohttp has written it (with the headers, in one write) to the socket."""

    def __init__(self, body: bytes, row: list[Any]) -> None:
        super().__init__(body, content_type="application/json")
        self.row = row

    async def write_with_length(self, writer: Any, content_length: int | None) -> None:
        await super().write_with_length(writer, content_length)
        self.row[1] = perf_counter()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def run(url: str, streams: int, warmup: float, duration: float, max_tokens: int) -> dict[str, Any]:
    body = json.dumps({"model": "test-model", "prompt": "Say hello.", "max_tokens": max_tokens, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()  # fmt: skip
    rows: list[list[Any]] = []  # [start, sent, first token, end, completed]
    connector = aiohttp.TCPConnector(limit=streams)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        origin = perf_counter()
        stop_at = origin + warmup + duration

        async def worker() -> None:
            while (start := perf_counter()) < stop_at:
                row: list[Any] = [start, None, None, 0.0, False]
                rows.append(row)
                try:
                    async with session.post(url, data=TimedBody(body, row)) as response:
                        tail = b""
                        async for chunk in response.content.iter_any():
                            if row[2] is None:
                                row[2] = perf_counter()
                            tail = (tail + chunk)[-32:]
                        row[4] = response.status == 200 and b"[DONE]" in tail
                except aiohttp.ClientError:
                    pass
                row[3] = perf_counter()

        await asyncio.gather(*(worker() for _ in range(streams)))
    measured = [row for row in rows if row[0] >= origin + warmup]
    window = max((row[3] for row in measured), default=stop_at) - (origin + warmup)
    ttft = [row[2] - row[0] for row in measured if row[2] is not None]
    send_wait = [row[1] - row[0] for row in measured if row[1] is not None]
    return {
        "requests": len(measured),
        "completed": sum(1 for row in measured if row[4]),
        "elapsed_s": window,
        "ttft_s": {f"p{q}": percentile(ttft, q) for q in (50, 90, 95, 99)},
        "send_wait_s": {f"p{q}": percentile(send_wait, q) for q in (50, 90, 95, 99)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="full completions URL, e.g. http://127.0.0.1:8000/v1/completions")
    parser.add_argument("--streams", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run(args.url, args.streams, args.warmup, args.duration, args.max_tokens))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
