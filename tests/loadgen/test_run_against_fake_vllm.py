"""run_load against the real fake-vLLM process: timings, exact failure counts, stop/abort, open loop."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from loadgen.api import Endpoint, ServerError
from loadgen.config import LoadConfig
from loadgen.records import Failure
from loadgen.runner import LiveCounters, LoadReport, run_load
from tests.support.ports import free_port

# Timing slack above the server's configured delays: generous enough for a loaded 2-core CI machine,
# tight enough that a client adding real latency (or a wrong measurement origin) fails.
SLACK_S = 0.030
# The test server sleeps on its event loop's timers, which uvloop keeps at 1 ms resolution: a 40 ms wait can end
# a fraction of a millisecond early, so a client that adds almost nothing can measure 39.9 ms.
TIMER_RESOLUTION_S = 0.001


def load(base_url: str, **settings: Any) -> LoadReport:
    settings.setdefault("duration", None)
    settings.setdefault("timeout", 10.0)
    return asyncio.run(run_load(LoadConfig(url=base_url, **settings)))


def test_ttft_itl_and_tokens_match_server_settings(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(ttft_ms=40, itl_ms=10, output_tokens=6)
    report = load(server.base_url, requests=12, concurrency=3, max_tokens=6)
    summary = report.summary()
    assert summary["requests"] == 12 and summary["completed"] == 12 and summary["failed"] == 0
    assert report.model == "test-model"
    for record in report.records:
        assert record.tokens == 6 and record.token_chunks == 6 and len(record.itl) == 5
        assert record.done and record.status == 200
        assert 0.040 - TIMER_RESOLUTION_S <= record.ttft <= 0.040 + SLACK_S  # type: ignore[operator]
        # Written to the socket after the request was created and before its first token came back.
        assert record.sent is not None and record.start <= record.sent < record.start + record.ttft
    assert 0.010 <= summary["itl_s"]["p50"] <= 0.010 + SLACK_S / 3
    assert 0.040 + 5 * 0.010 <= summary["e2e_s"]["p50"] <= 0.090 + SLACK_S
    assert summary["output_tokens"] == 72
    assert summary["status_codes"] == {"200": 12}
    assert 0.0 <= summary["send_wait_s"]["p50"] <= summary["send_wait_s"]["p99"] < SLACK_S


def test_max_tokens_caps_output(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=50)
    report = load(server.base_url, requests=3, concurrency=1, max_tokens=4)
    assert [r.tokens for r in report.records] == [4, 4, 4]


def test_injected_5xx_and_cuts_are_counted_exactly(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(error_5xx_rate=0.15, cut_rate=0.15, seed=7, output_tokens=5, itl_ms=1)
    report = load(server.base_url, model="test-model", requests=80, concurrency=4, max_tokens=5)
    summary = report.summary()
    stats = server.stats()
    assert stats["injected_5xx"] > 0 and stats["injected_cuts"] > 0
    assert summary["failures"]["http_5xx"] == stats["injected_5xx"]
    assert summary["failures"]["stream_cut"] == stats["injected_cuts"]
    assert summary["failed"] == stats["injected_5xx"] + stats["injected_cuts"]
    assert summary["completed"] == 80 - summary["failed"] == stats["streams_completed"]
    assert summary["status_codes"].get("200", 0) == 80 - stats["injected_5xx"]
    assert summary["rate_5xx"] == stats["injected_5xx"] / 80


def test_chat_endpoint_streams(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=3)
    report = load(server.base_url, requests=2, concurrency=1, endpoint=Endpoint.CHAT, scenario="chat")
    assert report.summary()["completed"] == 2
    assert all(r.token_chunks == 3 for r in report.records)


def test_connect_errors_are_classified_without_retry() -> None:
    report = load(f"http://127.0.0.1:{free_port()}", model="m", requests=5, concurrency=2)
    summary = report.summary()
    assert summary["failures"]["connect_error"] == 5 and summary["requests"] == 5
    assert summary["error_rate"] == 1.0


def test_unreachable_server_without_model_raises_server_error() -> None:
    with pytest.raises(ServerError, match=r"GET http://127\.0\.0\.1:\d+/v1/models failed: ConnectError"):
        load(f"http://127.0.0.1:{free_port()}", requests=1)


def test_slow_first_token_is_a_timeout(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(ttft_ms=2000)
    report = load(server.base_url, model="test-model", requests=2, concurrency=2, timeout=0.2)
    assert report.summary()["failures"]["timeout"] == 2
    assert all(0.2 <= r.latency < 1.0 for r in report.records)


def test_duration_bounds_the_run_and_in_flight_requests_finish(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(ttft_ms=5, itl_ms=20, output_tokens=5)
    report = load(server.base_url, duration=0.3, concurrency=2, max_tokens=5)
    summary = report.summary()
    assert summary["failed"] == 0 and summary["cancelled"] == 0
    assert summary["requests"] == summary["completed"] >= 4
    assert max(r.start for r in report.records) < 0.3
    assert 0.3 <= summary["elapsed_s"] < 0.3 + 0.2
    assert len(report.series()) == 1


def test_stop_drains_and_abort_cancels(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(ttft_ms=5, itl_ms=30, output_tokens=10)

    async def scenario(use_abort: bool) -> LoadReport:
        stop, abort = asyncio.Event(), asyncio.Event()
        config = LoadConfig(
            url=server.base_url, model="test-model", duration=30.0, concurrency=3, max_tokens=10
        )
        task = asyncio.create_task(run_load(config, stop=stop, abort=abort))
        await asyncio.sleep(0.15)
        stop.set()
        if use_abort:
            abort.set()
        return await asyncio.wait_for(task, timeout=5)

    drained = asyncio.run(scenario(use_abort=False))
    assert drained.interrupted and drained.summary()["cancelled"] == 0
    assert drained.summary()["completed"] == drained.summary()["requests"] == 3
    aborted = asyncio.run(scenario(use_abort=True))
    assert aborted.interrupted and aborted.summary()["cancelled"] == 3
    assert aborted.summary()["requests"] == 0 and aborted.summary()["failed"] == 0


def test_external_client_is_used_and_left_open(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=2)

    async def scenario() -> tuple[LoadReport, bool]:
        async with httpx.AsyncClient(headers={"x-test": "1"}) as client:
            report = await run_load(LoadConfig(url=server.base_url, requests=2, duration=None), client=client)
            return report, client.is_closed

    report, closed = asyncio.run(scenario())
    assert report.summary()["completed"] == 2 and not closed
    # httpx's trace extension notes the send time on this path too.
    assert all(r.sent is not None and r.start <= r.sent < r.end for r in report.records)


def test_open_loop_poisson_rate_and_in_flight_cap(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(ttft_ms=100, output_tokens=1)
    report = load(server.base_url, model="test-model", rate=40.0, duration=1.0, concurrency=2, seed=3)
    summary = report.summary()
    # Poisson(40) over 1 s: 40 ± ~6; with only 2 slots and 100 ms requests, at most ~20 can run.
    assert 10 <= summary["requests"] <= 24
    assert summary["capped_arrivals"] > 0
    assert summary["failed"] == 0
    assert server.stats()["in_flight"] == 0


def test_warmup_requests_are_not_judged(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=1, ttft_ms=20)
    report = load(server.base_url, model="test-model", warmup=0.15, duration=0.15, concurrency=1)
    summary = report.summary()
    assert summary["warmup_requests"] >= 3 and summary["requests"] >= 3
    assert all(r.start >= 0.15 for r in report.records if not r.warmup)


def test_series_shows_failures_in_their_second(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=2, ttft_ms=10)

    async def scenario() -> LoadReport:
        config = LoadConfig(url=server.base_url, model="test-model", duration=2.0, concurrency=2)
        counters = LiveCounters()
        task = asyncio.create_task(run_load(config, counters=counters))
        # The load clock starts with the first request, after the clients are open: wait for it, so the
        # mark lands 1.1 s into the run however slow the machine is.
        for _ in range(500):
            if counters.started:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.1)
        counters.mark("inject 5xx")
        await asyncio.to_thread(server.control, error_5xx_rate=1.0)
        return await task

    report = asyncio.run(scenario())
    series = report.series()
    # Requests in flight at the 2 s mark end just after it, in a last, partial row.
    assert len(series) == math.ceil(report.summary()["elapsed_s"]) >= 2
    assert sum(row["width_s"] for row in series) == pytest.approx(report.summary()["elapsed_s"], abs=0.01)
    assert series[0]["failed"] == 0 and series[0]["completed"] > 0
    assert series[1]["failed_by_class"].get("http_5xx", 0) > 0
    assert report.summary()["failures"]["http_5xx"] == sum(r["failed"] for r in series)
    assert all(r.failure in (None, Failure.HTTP_5XX) for r in report.records)
    [event] = report.to_json()["events"]
    assert event["label"] == "inject 5xx" and 1.1 <= event["t"] < 1.3


def test_a_redirect_is_classified_not_followed() -> None:
    hits: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\ncontent-length: 5\r\n\r\nmoved")
        await writer.drain()
        writer.close()

    async def scenario() -> LoadReport:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await run_load(LoadConfig(url=f"http://127.0.0.1:{port}", model="m", requests=2, duration=None))

    summary = asyncio.run(scenario()).summary()
    assert summary["failures"]["http_other"] == 2 and summary["status_codes"] == {"302": 2}
    assert len(hits) == 2 and all(hit.startswith(b"POST /v1/completions") for hit in hits)
