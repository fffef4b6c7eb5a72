"""Spread one load run over several processes and merge their records into one report.

One asyncio process tops out at one CPU core; past that, the client (not the server) sets the ceiling.
Each worker process runs `run_load` with its share of the concurrency / rate / request budget. Workers
ignore SIGINT/SIGTERM: the parent owns the signals and relays stop/abort through multiprocessing events,
so a Ctrl-C delivered to the whole process group is not counted twice.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as ProcessEvent

from loadgen.config import LoadConfig
from loadgen.eventloop import run_async
from loadgen.records import RequestRecord
from loadgen.runner import LoadReport, run_load

EVENT_POLL_S = 0.05
WORKER_EXIT_TIMEOUT_S = 10.0


@dataclass
class _WorkerResult:
    origin: float
    ended: float
    records: list[RequestRecord]
    interrupted: bool
    capped_arrivals: int


def split_config(config: LoadConfig, processes: int) -> list[LoadConfig]:
    """Shares of concurrency (and rate / request budget) that add up to the whole; never an empty share."""
    count = min(processes, config.concurrency)
    shares = []
    for i in range(count):
        concurrency = config.concurrency // count + (1 if i < config.concurrency % count else 0)
        requests = None
        if config.requests is not None:
            requests = config.requests // count + (1 if i < config.requests % count else 0)
            if requests == 0:
                continue
        rate = None if config.rate is None else config.rate * concurrency / config.concurrency
        shares.append(
            replace(config, concurrency=concurrency, requests=requests, rate=rate, seed=config.seed + i)
        )
    return shares


def _relay(source: ProcessEvent, target: asyncio.Event, loop: asyncio.AbstractEventLoop,
           finished: threading.Event) -> None:  # fmt: skip
    while not finished.is_set():
        if source.wait(EVENT_POLL_S):
            loop.call_soon_threadsafe(target.set)
            return


async def _worker_main(config: LoadConfig, stop: ProcessEvent, abort: ProcessEvent) -> _WorkerResult:
    loop = asyncio.get_running_loop()
    local_stop, local_abort = asyncio.Event(), asyncio.Event()
    finished = threading.Event()
    relays = [
        threading.Thread(target=_relay, args=(source, target, loop, finished), daemon=True)
        for source, target in ((stop, local_stop), (abort, local_abort))
    ]
    for relay in relays:
        relay.start()
    try:
        report = await run_load(config, stop=local_stop, abort=local_abort)
    finally:
        finished.set()
    ended = report.origin + report.warmup_s + report.elapsed_s
    return _WorkerResult(report.origin, ended, report.records, report.interrupted, report.capped_arrivals)


def _worker(config: LoadConfig, stop: ProcessEvent, abort: ProcessEvent, results: Connection) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    try:
        outcome: _WorkerResult | str = run_async(lambda: _worker_main(config, stop, abort))
    except Exception as exc:  # reported to the parent, which fails the run with this message
        outcome = f"{type(exc).__name__}: {exc}"
    results.send(outcome)
    results.close()


async def run_load_processes(
    config: LoadConfig,
    processes: int,
    *,
    stop: asyncio.Event,
    abort: asyncio.Event,
) -> LoadReport:
    """Like run_load (config.model must be set), over `processes` worker processes; records are merged.

    Live counters and marks are not available across processes; the merged report has no events.
    """
    context = multiprocessing.get_context("spawn")
    stop_flag, abort_flag = context.Event(), context.Event()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    loop = asyncio.get_running_loop()
    workers: list[tuple[BaseProcess, Connection]] = []
    for share in split_config(config, processes):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(share, stop_flag, abort_flag, writer), daemon=True)
        process.start()
        writer.close()  # the child holds the only writer: its exit makes recv() raise instead of hanging
        workers.append((process, reader))

    async def relay(local: asyncio.Event, flag: ProcessEvent) -> None:
        await local.wait()
        flag.set()

    relays = [asyncio.create_task(relay(stop, stop_flag)), asyncio.create_task(relay(abort, abort_flag))]
    try:
        outcomes = await asyncio.gather(
            *(loop.run_in_executor(None, _receive, process, reader) for process, reader in workers)
        )
    finally:
        for task in relays:
            task.cancel()
        for process, reader in workers:
            reader.close()
            process.join(WORKER_EXIT_TIMEOUT_S)
            if process.is_alive():
                process.kill()
    return merge_results(config, outcomes, started_at)


def _receive(process: BaseProcess, reader: Connection) -> _WorkerResult:
    try:
        outcome = reader.recv()
    except EOFError:
        process.join(WORKER_EXIT_TIMEOUT_S)
        raise RuntimeError(
            f"load worker {process.pid} exited (code {process.exitcode}) without results"
        ) from None
    if isinstance(outcome, str):
        raise RuntimeError(f"load worker {process.pid} failed: {outcome}")
    return outcome


def merge_results(config: LoadConfig, results: list[_WorkerResult], started_at: str) -> LoadReport:
    # perf_counter is CLOCK_MONOTONIC on Linux, shared by all processes, so shifting each worker's
    # relative times by its origin's offset puts every record on one timeline.
    base = min(result.origin for result in results)
    records: list[RequestRecord] = []
    for result in results:
        shift = result.origin - base
        for record in result.records:
            record.start += shift
            record.end += shift
            if record.sent is not None:
                record.sent += shift
            records.append(record)
    records.sort(key=lambda r: r.start)
    for index, record in enumerate(records):
        record.index = index
    ended = max(result.ended for result in results) - base
    return LoadReport(
        config=config,
        model=config.model or "",
        records=records,
        started_at=started_at,
        warmup_s=config.warmup,
        elapsed_s=max(ended - config.warmup, 0.0),
        interrupted=any(result.interrupted for result in results),
        capped_arrivals=sum(result.capped_arrivals for result in results),
        origin=base,
    )
