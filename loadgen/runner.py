"""Drive streaming load (closed loop or Poisson open loop) and collect one record per request."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import httpx

from loadgen.api import ServerError, build_payload, encode_payload, first_model_id, join_url
from loadgen.clients import ClientSlots
from loadgen.config import LoadConfig
from loadgen.prompts import PromptSchedule, load_prompts
from loadgen.records import RequestRecord
from loadgen.stream import send_streaming
from loadgen.summary import failure_examples, summarize, time_series

REPORT_SCHEMA_VERSION = 1
MODEL_LOOKUP_TIMEOUT_S = 10.0


@dataclass
class LiveCounters:
    """Running totals a progress display can read while the run goes on (one event loop, no locking),
    and a place to mark moments (e.g. the promotion) that the report's `events` and the plot then show."""

    started: int = 0
    completed: int = 0
    failed: int = 0
    tokens: int = 0
    in_flight: int = 0
    marks: list[tuple[float, str]] = field(default_factory=list)  # (perf_counter time, label)

    def mark(self, label: str) -> None:
        self.marks.append((perf_counter(), label))


@dataclass
class LoadReport:
    config: LoadConfig
    model: str
    records: list[RequestRecord]
    started_at: str
    warmup_s: float
    elapsed_s: (
        float  # measured window: from the end of warm-up until the last request ended or the run stopped
    )
    interrupted: bool
    capped_arrivals: int = 0  # open loop only: arrivals that waited because the in-flight cap was reached
    events: list[dict[str, Any]] = field(default_factory=list)
    origin: float = 0.0  # perf_counter value that record times are relative to

    def summary(self) -> dict[str, Any]:
        summary = summarize(self.records, self.elapsed_s)
        summary["capped_arrivals"] = self.capped_arrivals
        return summary

    def series(self) -> list[dict[str, Any]]:
        return time_series(self.records, self.warmup_s, self.elapsed_s)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "started_at": self.started_at,
            "model": self.model,
            "interrupted": self.interrupted,
            "config": self.config.to_dict(),
            "summary": self.summary(),
            "failure_examples": failure_examples(self.records),
            "series": self.series(),
            "events": list(self.events),
        }


async def run_load(
    config: LoadConfig,
    *,
    client: httpx.AsyncClient | None = None,
    stop: asyncio.Event | None = None,
    counters: LiveCounters | None = None,
    abort: asyncio.Event | None = None,
) -> LoadReport:
    """Run load as configured and return every request's record.

    A given `client` is used as-is (it may carry auth/TLS) and is not closed. Setting `stop` ends the run
    early and gracefully: no new request starts, requests in flight run to their end (bounded by
    config.timeout) and are judged like any other. Setting `abort` also cancels the requests in flight;
    they are recorded as cancelled, not as failures. Raises ConfigError for a bad scenario and ServerError
    when no model id can be found before load starts.
    """
    prompts = PromptSchedule(load_prompts(config.scenario), config.seed)
    if client is None:
        slots = await ClientSlots.open(config.concurrency, config.timeout)
    else:
        slots = ClientSlots.wrap(client, config.concurrency)
    try:
        model = config.model or await first_model_id(
            slots.clients[0], config.url, timeout=min(config.timeout, MODEL_LOOKUP_TIMEOUT_S)
        )
        run = _Run(
            config,
            slots,
            model,
            prompts,
            counters or LiveCounters(),
            stop=stop or asyncio.Event(),
            abort=abort or asyncio.Event(),
        )
        return await run.execute()
    finally:
        await slots.aclose()


class _Run:
    def __init__(
        self,
        config: LoadConfig,
        slots: ClientSlots,
        model: str,
        prompts: PromptSchedule,
        counters: LiveCounters,
        *,
        stop: asyncio.Event,
        abort: asyncio.Event,
    ) -> None:
        self.config = config
        self.slots = slots
        self.model = model
        self.prompts = prompts
        self.stop = stop
        self.abort = abort
        self.counters = counters
        self.url = join_url(config.url, config.endpoint.path)  # senders parse it once, not per request
        self.bodies: dict[str, bytes] = {}  # encoded request body per distinct prompt
        self.records: list[RequestRecord] = []
        self.origin = 0.0
        self.issue_until = float("inf") if config.duration is None else config.warmup + config.duration
        self.next_index = 0
        self.measured_issued = 0
        self.capped_arrivals = 0
        self.request_tasks: set[asyncio.Task[None]] = set()

    async def execute(self) -> LoadReport:
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.origin = perf_counter()
        if self.config.rate is None:
            drivers = [
                asyncio.create_task(self._closed_loop_worker()) for _ in range(self.config.concurrency)
            ]
        else:
            drivers = [asyncio.create_task(self._open_loop_arrivals(self.config.rate))]
        all_drivers = asyncio.gather(*drivers)
        abort_waiter = asyncio.create_task(self.abort.wait())
        try:
            # `stop` needs no waiter: drivers check it before every new request and then drain.
            await asyncio.wait({all_drivers, abort_waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            interrupted = self.stop.is_set() or self.abort.is_set()
            abort_waiter.cancel()
            for task in [*drivers, *self.request_tasks]:
                task.cancel()
            await asyncio.gather(all_drivers, abort_waiter, *self.request_tasks, return_exceptions=True)
        if not self.abort.is_set():
            # Surface a bug in a driver rather than returning a silently truncated report.
            all_drivers.result()
        ended = perf_counter() - self.origin
        return LoadReport(
            config=self.config,
            model=self.model,
            records=self.records,
            started_at=started_at,
            warmup_s=self.config.warmup,
            elapsed_s=max(ended - self.config.warmup, 0.0),
            interrupted=interrupted,
            capped_arrivals=self.capped_arrivals,
            origin=self.origin,
            events=[
                {"t": round(at - self.origin - self.config.warmup, 3), "label": label}
                for at, label in self.counters.marks
            ],
        )

    def _claim(self) -> int | None:
        """The next request index, or None once the run's time or request budget is spent."""
        if self.stop.is_set():
            return None
        now = perf_counter() - self.origin
        if now >= self.issue_until:
            return None
        if now >= self.config.warmup:
            if self.config.requests is not None and self.measured_issued >= self.config.requests:
                return None
            self.measured_issued += 1
        index = self.next_index
        self.next_index += 1
        return index

    async def _closed_loop_worker(self) -> None:
        while (index := self._claim()) is not None:
            await self._one_request(index)

    async def _open_loop_arrivals(self, rate: float) -> None:
        rng = random.Random(self.config.seed)
        slots = asyncio.Semaphore(self.config.concurrency)
        next_arrival = 0.0
        while True:
            delay = next_arrival - (perf_counter() - self.origin)
            if delay > 0:
                # Sleep until the next arrival, but wake at once when asked to stop.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)
            index = self._claim()
            if index is None:
                break
            if slots.locked():
                self.capped_arrivals += 1
            await slots.acquire()
            task = asyncio.create_task(self._one_request(index))
            self.request_tasks.add(task)
            task.add_done_callback(self.request_tasks.discard)
            task.add_done_callback(lambda _task: slots.release())
            next_arrival += rng.expovariate(rate)
        # The drive ends when the last admitted request does, so the report covers all of them.
        while self.request_tasks:
            await asyncio.gather(*list(self.request_tasks), return_exceptions=True)

    async def _one_request(self, index: int) -> None:
        start = perf_counter() - self.origin
        record = RequestRecord(index=index, start=start, warmup=start < self.config.warmup)
        self.records.append(record)
        body = self._body(self.prompts.prompt_for(index))
        counters = self.counters
        counters.started += 1
        counters.in_flight += 1
        sender = self.slots.acquire()
        try:
            # TTFT counts from `start` (request creation, what a user waits through); the sender also notes
            # when the request reached the socket (`record.sent`), so client queueing shows apart.
            await send_streaming(sender, self.url, body, record, origin=self.origin, timeout=self.config.timeout)
        except asyncio.CancelledError:
            record.cancelled = True
            raise
        finally:
            self.slots.release(sender)
            counters.in_flight -= 1
            counters.tokens += record.tokens
            if record.completed:
                counters.completed += 1
            elif record.failure is not None:
                counters.failed += 1

    def _body(self, prompt: str) -> bytes:
        body = self.bodies.get(prompt)
        if body is None:
            payload = build_payload(self.config.endpoint, self.model, prompt, self.config.max_tokens, stream=True)
            body = self.bodies[prompt] = encode_payload(payload)
        return body


__all__ = ["LiveCounters", "LoadConfig", "LoadReport", "ServerError", "run_load"]
