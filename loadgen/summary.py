"""Turn per-request records into the report's summary and its per-second time series."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from loadgen.records import FAILURE_CLASSES, RequestRecord
from loadgen.stats import percentile, percentiles

LATENCY_PERCENTILES = (50, 90, 95, 99)
FAILURE_EXAMPLES_PER_CLASS = 3


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _per_second(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def summarize(records: Sequence[RequestRecord], elapsed_s: float) -> dict[str, Any]:
    """Summary of measured requests (warm-up and cancelled-at-stop requests are counted apart, unjudged)."""
    measured = [r for r in records if not r.warmup and not r.cancelled]
    completed = [r for r in measured if r.completed]
    failure_counts = Counter(r.failure.value for r in measured if r.failure is not None)
    status_counts = Counter(str(r.status) for r in measured if r.status is not None)
    failed = sum(failure_counts.values())
    requests = len(measured)
    tokens = sum(r.tokens for r in measured)
    itl = [gap for r in measured for gap in r.itl]
    return {
        "requests": requests,
        "completed": len(completed),
        "failed": failed,
        "cancelled": sum(1 for r in records if r.cancelled and not r.warmup),
        "warmup_requests": sum(1 for r in records if r.warmup),
        "stream_completion_rate": _rate(len(completed), requests),
        "error_rate": _rate(failed, requests),
        "rate_5xx": _rate(failure_counts["http_5xx"], requests),
        "status_codes": dict(sorted(status_counts.items())),
        "failures": {name: failure_counts[name] for name in FAILURE_CLASSES},
        "ttft_s": percentiles((r.ttft for r in measured if r.ttft is not None), LATENCY_PERCENTILES),
        # The client's own share of TTFT: from the request's creation until it was written to the socket.
        "send_wait_s": percentiles((r.sent - r.start for r in measured if r.sent is not None), LATENCY_PERCENTILES),
        "itl_s": percentiles(itl, LATENCY_PERCENTILES),
        "e2e_s": percentiles((r.latency for r in completed), LATENCY_PERCENTILES),
        "output_tokens": tokens,
        "output_tokens_per_s": _per_second(tokens, elapsed_s),
        "requests_per_s": _per_second(requests, elapsed_s),
        "completed_per_s": _per_second(len(completed), elapsed_s),
        "elapsed_s": elapsed_s,
    }


def failure_examples(records: Sequence[RequestRecord]) -> dict[str, list[str]]:
    """A few failure details per class, so a report says why without keeping every record."""
    examples: dict[str, list[str]] = {}
    for record in records:
        if record.failure is None or record.warmup or record.cancelled:
            continue
        bucket = examples.setdefault(record.failure.value, [])
        if len(bucket) < FAILURE_EXAMPLES_PER_CLASS:
            bucket.append(record.detail)
    return examples


def time_series(
    records: Sequence[RequestRecord], window_start: float, elapsed_s: float
) -> list[dict[str, Any]]:
    """One row per second of the measured window: what started, ended, failed, streamed, and TTFT."""
    seconds = max(1, math.ceil(elapsed_s))
    last = seconds - 1

    def bucket(t: float) -> int:
        return min(max(int(t - window_start), 0), last)

    started = [0] * seconds
    completed = [0] * seconds
    failed: list[Counter[str]] = [Counter() for _ in range(seconds)]
    tokens = [0] * seconds
    ttfts: list[list[float]] = [[] for _ in range(seconds)]
    for record in records:
        if record.warmup or record.cancelled:
            continue
        start_bucket = bucket(record.start)
        started[start_bucket] += 1
        if record.ttft is not None:
            ttfts[start_bucket].append(record.ttft)
        if record.completed:
            completed[bucket(record.end)] += 1
        elif record.failure is not None:
            failed[bucket(record.end)][record.failure.value] += 1
        for t in record.token_times():
            tokens[bucket(t)] += 1
    return [
        {
            "t": second,
            # The last row usually covers only part of a second; rates must divide by this, not by 1.
            "width_s": round(min(1.0, elapsed_s - second), 3)
            if second == last and elapsed_s > second
            else 1.0,
            "started": started[second],
            "completed": completed[second],
            "failed": sum(failed[second].values()),
            "failed_by_class": dict(sorted(failed[second].items())),
            "tokens": tokens[second],
            "ttft_p50_s": percentile(sorted(ttfts[second]), 50),
        }
        for second in range(seconds)
    ]
