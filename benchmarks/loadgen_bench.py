"""Measure the load generator against a streaming test server: its client-added TTFT next to a bare client's,
and its ceiling.

Phase "compare" (client-added TTFT and CPU): each client ALONE against a FRESH test server with a fixed
server TTFT of 100 ms and ITL of 20 ms (32 tokens per stream), at 64 and 256 closed-loop streams, server and
client pinned to separate cores when the machine has two (os.sched_setaffinity; the server on CPU 0, the
client on CPU 1). Clients, in this order for each concurrency:
  bare      benchmarks/bare_client.py: one shared aiohttp pool on uvloop and nothing else (the baseline)
  loadgen   `python -m loadgen run` as shipped (aiohttp load path)
  httpx     the same with LOADGEN_LOAD_PATH=httpx: loadgen's previous httpx/httpcore load path (--httpx-row)
  guidellm  from its own venv ($GUIDELLM_VENV, default /tmp/guidellm-venv) when installed (see below)
Every client runs a 2 s warm-up and then `--duration` measured seconds. Printed per row: completed streams/s,
TTFT p50/p90/p99 from request creation, client-added p50 (TTFT p50 minus the server's 100 ms), send wait p50
(request creation until the request was written to the socket, where the client notes it), CPU ms per
completed request (the client's CPU cores over its steady state, sampled from /proc, divided by its
completed/s), and each figure's ratio to the bare client's in the same run.

Phase "ceiling" (throughput): for each concurrency (default 64, 256, 1024) ONE `python -m loadgen run`
process streams against a server configured with ttft = itl = 0 and 16 tokens per completion, unpinned.
Printed: completed streams/s, output tokens/s, TTFT p50/p99 minus the server's configured TTFT, and the CPU
cores each side used on average, which says which side is the bottleneck (an asyncio process cannot use more
than one).

Server: `--server fake` (default) is the project's fake vLLM (tests/support/fake_vllm.py);
`--server guidellm-mock` is guidellm's own mock server from the separate guidellm venv, with
`--server-workers` processes.

guidellm runs offline (see benchmarks/guidellm_offline.py); in the ceiling phase after each loadgen row on the
same server, at the same concurrency and duration, and the loadgen/guidellm ratio of completed streams/s and
tokens/s is printed. guidellm's client cores are averaged over its own measured window only (its workers take
10-20 s to start, which its rates do not count either). guidellm's tokens/s also counts tokens of streams
still running at the window's end, and its TTFT clock starts when its request headers are written (after its
dispatch queue), so its TTFT is not charged for client queueing. If guidellm cannot run here the benchmark
says why and prints no guidellm row.

    .venv/bin/python benchmarks/loadgen_bench.py [--phase all|compare|ceiling] [--duration 15]
        [--concurrency 64 256 1024] [--compare-streams 64 256] [--rounds 1] [--httpx-row]
        [--server fake|guidellm-mock] [--server-workers 1] [--processes 1]
        [--no-guidellm] [--guidellm-processes N]

A plain script, not a test: about (duration + 5 s) per client row, (duration + 20-40 s) per guidellm row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import guidellm_offline  # benchmarks/ is sys.path[0] when this file is run as a script
import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.ports import free_port  # noqa: E402

GUIDELLM_VENV = guidellm_offline.GUIDELLM_VENV
OUTPUT_TOKENS = 16
SERVER_START_TIMEOUT_S = 30.0
CLIENT_RUN_SLACK_S = 120.0
GUIDELLM_RUN_SLACK_S = 300.0  # 11 spawned processes each importing torch, then compiling the report
CPU_SAMPLE_INTERVAL_S = 0.25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
COMPARE_TTFT_MS = 100
COMPARE_ITL_MS = 20
COMPARE_TOKENS = 32
COMPARE_WARMUP_S = 2.0
# The steady state that CPU is sampled over starts this long after the warm-up's end (imports, first burst).
STEADY_STATE_DELAY_S = 1.5
SERVER_CPU, CLIENT_CPU = 0, 1
BARE_CLIENT = Path(__file__).resolve().parent / "bare_client.py"


@dataclass
class Row:
    label: str
    concurrency: int
    completed_per_s: float
    tokens_per_s: float
    failed: int
    added_ttft_p50_ms: float | None
    added_ttft_p99_ms: float | None
    client_cores: float
    server_cores: float


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds used so far by a process and all its live descendants (servers may fork workers)."""
    return trees_cpu_seconds((root_pid,))[0]


def trees_cpu_seconds(root_pids: tuple[int, ...]) -> list[float]:
    """tree_cpu_seconds for several roots from one scan of /proc (sampled a few times a second)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    totals = dict.fromkeys(root_pids, 0.0)
    for pid in cpu:
        ancestor = pid
        while ancestor not in (0, 1) and ancestor not in totals and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor in totals:
            totals[ancestor] += cpu[pid]
    return [totals[root] for root in root_pids]


def waited_children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_command(kind: str, port: int, ttft_ms: int, itl_ms: int, tokens: int, workers: int) -> list[str]:
    if kind == "fake":
        return [sys.executable, "-m", "tests.support.fake_vllm", "--port", str(port),
                "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms),
                "--output-tokens", str(tokens)]  # fmt: skip
    return [str(GUIDELLM_VENV / "bin" / "guidellm"), "mock-server", "--port", str(port),
            "--workers", str(workers), "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms),
            "--output-tokens", str(tokens)]  # fmt: skip


def pinning_available() -> bool:
    return hasattr(os, "sched_setaffinity") and {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0)


def pinned_to(cpu: int | None) -> Callable[[], None] | None:
    """A preexec_fn that pins the child (and so everything it spawns) to one CPU; None: no pinning."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


@contextmanager
def running_server(
    kind: str, latency_ms: int, workers: int, log: Path, *, itl_ms: int | None = None,
    tokens: int = OUTPUT_TOKENS, cpu: int | None = None,
) -> Iterator[tuple[str, int]]:  # fmt: skip
    port = free_port()
    command = server_command(kind, port, latency_ms, latency_ms if itl_ms is None else itl_ms, tokens, workers)
    with log.open("ab") as log_file:
        server = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=log_file, stderr=log_file, preexec_fn=pinned_to(cpu)
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                raise SystemExit(f"{kind} server exited at start (code {server.returncode}); see {log}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{kind} server did not answer /health within {SERVER_START_TIMEOUT_S}s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def run_loadgen(
    url: str, server_pid: int, concurrency: int, duration: float, processes: int, configured_ttft_ms: int,
    label: str, workdir: Path,
) -> Row:  # fmt: skip
    report_path = workdir / f"loadgen-{label}-{concurrency}.json"
    command = [sys.executable, "-m", "loadgen", "run", "--url", url, "--concurrency", str(concurrency),
               "--duration", str(duration), "--max-tokens", str(OUTPUT_TOKENS), "--timeout", "60",
               "--processes", str(processes), "--output", str(report_path)]  # fmt: skip
    server_before, client_before = tree_cpu_seconds(server_pid), waited_children_cpu_seconds()
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=duration + CLIENT_RUN_SLACK_S,
        check=False,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"loadgen exited {done.returncode}: {done.stderr.strip()[-400:]}")
    summary = json.loads(report_path.read_text())["summary"]

    def added_ms(seconds: float | None) -> float | None:
        return None if seconds is None else seconds * 1000 - configured_ttft_ms

    return Row(
        label=label,
        concurrency=concurrency,
        completed_per_s=summary["completed_per_s"],
        tokens_per_s=summary["output_tokens_per_s"],
        failed=summary["failed"],
        added_ttft_p50_ms=added_ms(summary["ttft_s"]["p50"]),
        added_ttft_p99_ms=added_ms(summary["ttft_s"]["p99"]),
        client_cores=(waited_children_cpu_seconds() - client_before) / wall,
        server_cores=(tree_cpu_seconds(server_pid) - server_before) / wall,
    )


def guidellm_unavailable_reason(tokenizer_dir: Path) -> str | None:
    """Why guidellm cannot run here, or None once it can (its local tokenizer then exists in tokenizer_dir)."""
    return guidellm_offline.unavailable_reason(GUIDELLM_VENV) or guidellm_offline.build_tokenizer(
        tokenizer_dir, GUIDELLM_VENV
    )


@dataclass
class GuidellmRow:
    row: Row
    report: guidellm_offline.GuidellmReport


def window_cores(samples: list[tuple[float, float, float]], start: float, end: float) -> tuple[float, float]:
    """Average (client, server) cores between the samples that bracket guidellm's measured window most tightly.

    guidellm spends 10-20 s starting its workers and several seconds compiling its report, both outside the
    window its rates cover; averaging CPU over the whole process lifetime would charge that to its ceiling.
    """
    if not samples:
        return 0.0, 0.0
    inside = [sample for sample in samples if start <= sample[0] <= end]
    if len(inside) < 2:  # a window shorter than the sampling interval: fall back to the nearest samples
        inside = [max((s for s in samples if s[0] <= start), default=samples[0]),
                  min((s for s in samples if s[0] >= end), default=samples[-1])]  # fmt: skip
    (t0, client0, server0), (t1, client1, server1) = inside[0], inside[-1]
    if t1 <= t0:
        return 0.0, 0.0
    return (client1 - client0) / (t1 - t0), (server1 - server0) / (t1 - t0)


def run_guidellm(
    url: str, server_pid: int, concurrency: int, duration: float, configured_ttft_ms: int, tokenizer_dir: Path,
    worker_processes: int | None, workdir: Path, *, tokens: int = OUTPUT_TOKENS, cpu: int | None = None,
) -> GuidellmRow:  # fmt: skip
    report_path = workdir / f"guidellm-{configured_ttft_ms}-{concurrency}.json"
    log = workdir / f"guidellm-{configured_ttft_ms}-{concurrency}.log"
    command = guidellm_offline.command(url, concurrency, duration, tokens, tokenizer_dir, report_path,
                                       GUIDELLM_VENV)  # fmt: skip
    samples: list[tuple[float, float, float]] = []
    deadline = time.monotonic() + duration + GUIDELLM_RUN_SLACK_S
    with log.open("wb") as log_file:
        # Own session, so a run that overstays can be killed together with the worker processes it spawned.
        client = subprocess.Popen(
            command, cwd=workdir, stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL,
            env=guidellm_offline.offline_env(worker_processes), start_new_session=True, preexec_fn=pinned_to(cpu),
        )  # fmt: skip
        while client.poll() is None:
            client_cpu, server_cpu = trees_cpu_seconds((client.pid, server_pid))
            samples.append((time.time(), client_cpu, server_cpu))  # wall clock: guidellm reports epoch times
            if time.monotonic() > deadline:
                os.killpg(client.pid, signal.SIGKILL)
                client.wait(timeout=10)
                raise SystemExit(f"guidellm did not finish within {duration + GUIDELLM_RUN_SLACK_S:g}s; see {log}")
            time.sleep(CPU_SAMPLE_INTERVAL_S)
    if client.returncode != 0 or not report_path.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"guidellm exited {client.returncode}: {tail[0][-400:]}")
    report = guidellm_offline.parse_report(report_path)
    client_cores, server_cores = window_cores(samples, report.window_start, report.window_end)

    def added_ms(seconds: float | None) -> float | None:
        return None if seconds is None else seconds * 1000 - configured_ttft_ms

    row = Row(
        label="guidellm",
        concurrency=concurrency,
        completed_per_s=report.completed_per_s,
        tokens_per_s=report.output_tokens_per_s,
        failed=report.errored,
        added_ttft_p50_ms=added_ms(report.ttft_p50_s),
        added_ttft_p99_ms=added_ms(report.ttft_p99_s),
        client_cores=client_cores,
        server_cores=server_cores,
    )
    return GuidellmRow(row=row, report=report)


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else "n/a"


def print_guidellm(loadgen: Row, guidellm: GuidellmRow) -> None:
    print_row(guidellm.row)
    report = guidellm.report
    # Below the asked concurrency on average means guidellm could not keep its streams busy: a client limit.
    print(
        f"{'':<11} guidellm: {report.worker_processes} worker processes, {report.mean_in_flight:.1f} of"
        f" {guidellm.row.concurrency} streams in flight on average, {report.incomplete} cut at the window end;"
        f" loadgen/guidellm: completed/s {ratio(loadgen.completed_per_s, guidellm.row.completed_per_s)},"
        f" tokens/s {ratio(loadgen.tokens_per_s, guidellm.row.tokens_per_s)}"
    )


def print_header() -> None:
    print(
        f"{'run':<11} {'streams':>7} {'completed/s':>11} {'tokens/s':>9} {'+ttft p50':>9} {'+ttft p99':>9}"
        f" {'failed':>6} {'client cores':>12} {'server cores':>12}  bottleneck"
    )


def print_row(row: Row) -> None:
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f} ms"

    print(
        f"{row.label:<11} {row.concurrency:>7} {row.completed_per_s:>11.1f} {row.tokens_per_s:>9.0f}"
        f" {ms(row.added_ttft_p50_ms):>9} {ms(row.added_ttft_p99_ms):>9} {row.failed:>6}"
        f" {row.client_cores:>12.2f} {row.server_cores:>12.2f}  {bottleneck(row)}"
    )


def bottleneck(row: Row) -> str:
    if row.client_cores >= 0.9 and row.client_cores >= row.server_cores:
        return "client (a core saturated)"
    if row.server_cores >= 0.9 and row.server_cores > row.client_cores:
        return "server (a core saturated)"
    if (os.cpu_count() or 1) <= 2 and row.client_cores + row.server_cores >= 1.7:
        return "machine (both cores busy)"
    return "neither side saturated"


@dataclass
class CompareRow:
    label: str
    streams: int
    completed_per_s: float
    failed: int
    ttft_ms: dict[str, float | None]  # p50/p90/p99, from request creation
    send_wait_p50_ms: float | None
    client_cores: float
    server_cores: float

    @property
    def added_p50_ms(self) -> float | None:
        p50 = self.ttft_ms.get("p50")
        return None if p50 is None else p50 - COMPARE_TTFT_MS

    @property
    def cpu_ms_per_request(self) -> float | None:
        return self.client_cores / self.completed_per_s * 1000 if self.completed_per_s > 0 else None


def steady_cores(samples: list[tuple[float, float, float]], start: float, end: float) -> tuple[float, float]:
    """Average (client, server) cores between the first and last sample within [start, end]."""
    inside = [sample for sample in samples if start <= sample[0] <= end]
    if len(inside) < 2:
        return 0.0, 0.0
    (t0, client0, server0), (t1, client1, server1) = inside[0], inside[-1]
    return (client1 - client0) / (t1 - t0), (server1 - server0) / (t1 - t0)


def ms_block(block: dict[str, float | None]) -> dict[str, float | None]:
    return {key: None if value is None else value * 1000 for key, value in block.items()}


def run_compare_client(
    label: str, url: str, server_pid: int, streams: int, duration: float, cpu: int | None, workdir: Path
) -> CompareRow:
    """One client alone against the server: its own figures, and its CPU sampled over its steady state."""
    report_path = workdir / f"{label}-{streams}.json"
    env = dict(os.environ)
    if label == "bare":
        command = [sys.executable, str(BARE_CLIENT), f"{url}/v1/completions", "--streams", str(streams),
                   "--warmup", str(COMPARE_WARMUP_S), "--duration", str(duration),
                   "--max-tokens", str(COMPARE_TOKENS)]  # fmt: skip
    else:
        command = [sys.executable, "-m", "loadgen", "run", "--url", url, "--model", "test-model",
                   "--concurrency", str(streams), "--warmup", str(COMPARE_WARMUP_S), "--duration", str(duration),
                   "--max-tokens", str(COMPARE_TOKENS), "--timeout", "60", "--output", str(report_path)]  # fmt: skip
        if label == "httpx":
            env["LOADGEN_LOAD_PATH"] = "httpx"
    samples: list[tuple[float, float, float]] = []
    launched = time.monotonic()
    deadline = launched + COMPARE_WARMUP_S + duration + CLIENT_RUN_SLACK_S
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        client = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=err, env=env,
                                  preexec_fn=pinned_to(cpu))  # fmt: skip
        while client.poll() is None:
            client_cpu, server_cpu = trees_cpu_seconds((client.pid, server_pid))
            samples.append((time.monotonic(), client_cpu, server_cpu))
            if time.monotonic() > deadline:
                client.kill()
                client.wait(timeout=10)
                raise SystemExit(f"{label} did not finish within {deadline - launched:.0f}s")
            time.sleep(CPU_SAMPLE_INTERVAL_S)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if client.returncode != 0:
        raise SystemExit(f"{label} exited {client.returncode}: {stderr.strip()[-400:]}")
    steady_start = launched + COMPARE_WARMUP_S + STEADY_STATE_DELAY_S
    client_cores, server_cores = steady_cores(samples, steady_start, launched + COMPARE_WARMUP_S + duration)
    if label == "bare":
        result = json.loads(stdout.strip().splitlines()[-1])
        completed, requests, elapsed = result["completed"], result["requests"], result["elapsed_s"]
        ttft, send_wait = result["ttft_s"], result["send_wait_s"]
    else:
        summary = json.loads(report_path.read_text())["summary"]
        completed, requests, elapsed = summary["completed"], summary["requests"], summary["elapsed_s"]
        ttft, send_wait = summary["ttft_s"], summary["send_wait_s"]
    wait_p50 = send_wait.get("p50")
    return CompareRow(
        label=label,
        streams=streams,
        completed_per_s=completed / elapsed if elapsed > 0 else 0.0,
        failed=requests - completed,
        ttft_ms=ms_block({key: ttft.get(key) for key in ("p50", "p90", "p99")}),
        send_wait_p50_ms=None if wait_p50 is None else wait_p50 * 1000,
        client_cores=client_cores,
        server_cores=server_cores,
    )


def guidellm_compare_row(url: str, server_pid: int, streams: int, duration: float, tokenizer_dir: Path,
                         worker_processes: int | None, cpu: int | None, workdir: Path) -> CompareRow:  # fmt: skip
    done = run_guidellm(url, server_pid, streams, duration, COMPARE_TTFT_MS, tokenizer_dir, worker_processes,
                        workdir, tokens=COMPARE_TOKENS, cpu=cpu)  # fmt: skip
    report = done.report
    return CompareRow(
        label="guidellm",
        streams=streams,
        completed_per_s=report.completed_per_s,
        failed=report.errored,
        ttft_ms=ms_block({"p50": report.ttft_p50_s, "p90": report.ttft_p90_s, "p99": report.ttft_p99_s}),
        send_wait_p50_ms=None,  # guidellm's clock starts at its header write: no wait before it is measured
        client_cores=done.row.client_cores,
        server_cores=done.row.server_cores,
    )


def print_compare_header() -> None:
    print(
        f"{'client':<9} {'streams':>7} {'done/s':>7} {'ttft p50':>9} {'p90':>9} {'p99':>9} {'+p50':>8}"
        f" {'send wait':>9} {'cpu/req':>8} {'cores c/s':>10}  ratios to bare: +p50, +p99, cpu/req, done/s"
    )


def print_compare_row(row: CompareRow, bare: CompareRow | None) -> None:
    def ms(value: float | None, width: int = 9) -> str:
        return f"{'n/a':>{width}}" if value is None else f"{value:>{width - 3}.1f} ms"

    ratios = ""
    if bare is not None and row is not bare:
        ratios = ", ".join(fmt_ratio(value) for value in ratios_to(row, bare))
    cpu = "n/a" if row.cpu_ms_per_request is None else f"{row.cpu_ms_per_request:.2f} ms"
    failed = f"  ({row.failed} not completed)" if row.failed else ""
    print(
        f"{row.label:<9} {row.streams:>7} {row.completed_per_s:>7.1f} {ms(row.ttft_ms.get('p50'))}"
        f" {ms(row.ttft_ms.get('p90'))} {ms(row.ttft_ms.get('p99'))} {ms(row.added_p50_ms, 8)}"
        f" {ms(row.send_wait_p50_ms)} {cpu:>8} {row.client_cores:>4.2f}/{row.server_cores:<4.2f}  {ratios}{failed}"
    )


def compare_phase(args: argparse.Namespace, guidellm_reason: str | None, tokenizer_dir: Path, workdir: Path) -> None:
    pin = pinning_available() and not args.no_pin
    server_cpu, client_cpu = (SERVER_CPU, CLIENT_CPU) if pin else (None, None)
    print(
        f"== compare: server TTFT {COMPARE_TTFT_MS} ms, ITL {COMPARE_ITL_MS} ms, {COMPARE_TOKENS} tokens per"
        f" stream; {COMPARE_WARMUP_S:g} s warm-up + {args.duration:g} s per client, each alone against a fresh"
        f" server; " + (f"server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}" if pin else "not pinned")
    )
    print("ttft from request creation; +p50 = ttft p50 - server TTFT; send wait p50 = creation to socket write;"
          " cpu/req = client cores / done/s over the steady state")  # fmt: skip
    labels = ["bare", "loadgen", *(["httpx"] if args.httpx_row else [])]
    if guidellm_reason is None:
        labels.append("guidellm")
    print_compare_header()
    log = workdir / "compare-server.log"
    ratios: dict[tuple[str, int], list[tuple[float | None, ...]]] = {}
    for streams in args.compare_streams:
        for _ in range(args.rounds):
            bare: CompareRow | None = None
            for label in labels:
                with running_server("fake", COMPARE_TTFT_MS, 1, log, itl_ms=COMPARE_ITL_MS, tokens=COMPARE_TOKENS,
                                    cpu=server_cpu) as (url, pid):  # fmt: skip
                    if label == "guidellm":
                        row = guidellm_compare_row(url, pid, streams, args.duration, tokenizer_dir,
                                                   args.guidellm_processes, client_cpu, workdir)  # fmt: skip
                    else:
                        row = run_compare_client(label, url, pid, streams, args.duration, client_cpu, workdir)
                if label == "bare":
                    bare = row
                elif bare is not None:
                    ratios.setdefault((label, streams), []).append(ratios_to(row, bare))
                print_compare_row(row, bare)
                sys.stdout.flush()
    if args.rounds > 1:
        print(f"median ratio to bare over {args.rounds} rounds (each ratio within its own round):")
        for (label, streams), rounds in ratios.items():
            medians = [statistics.median(v for v in column if v is not None) if any(v is not None for v in column)
                       else None for column in zip(*rounds, strict=True)]  # fmt: skip
            print(f"  {label:<9} {streams:>4} streams: +p50 {fmt_ratio(medians[0])}, +p99 {fmt_ratio(medians[1])},"
                  f" cpu/req {fmt_ratio(medians[2])}, done/s {fmt_ratio(medians[3])}")  # fmt: skip
    if guidellm_reason is not None:
        print(f"guidellm: NOT RUN: {guidellm_reason}.")


def _ratio_value(mine: float | None, base: float | None) -> float | None:
    return None if mine is None or base is None or base <= 0 else mine / base


def ratios_to(row: CompareRow, bare: CompareRow) -> tuple[float | None, ...]:
    """(+p50, +p99, cpu/req, completed/s) of `row` over the bare client's, all from one round."""
    def added_p99(r: CompareRow) -> float | None:
        p99 = r.ttft_ms.get("p99")
        return None if p99 is None else p99 - COMPARE_TTFT_MS

    return (_ratio_value(row.added_p50_ms, bare.added_p50_ms), _ratio_value(added_p99(row), added_p99(bare)),
            _ratio_value(row.cpu_ms_per_request, bare.cpu_ms_per_request),
            _ratio_value(row.completed_per_s, bare.completed_per_s))  # fmt: skip


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def ceiling_phase(args: argparse.Namespace, reason: str | None, tokenizer_dir: Path, workdir: Path) -> None:
    print(
        f"== ceiling: server: {args.server} ({args.server_workers} worker(s)); {OUTPUT_TOKENS} tokens per stream;"
        f" ttft = itl = 0; {args.duration:g} s per run; loadgen client processes: {args.processes}; not pinned"
    )
    print("+ttft = measured TTFT minus the server's configured TTFT; cores = average CPU cores in use")
    if reason is None:
        print("guidellm: runs after each loadgen row, same server, concurrency and duration; offline")
        # Said up front because it flatters guidellm's +ttft: time spent in its own dispatch queue is not
        # in its TTFT (its clock starts at the header write), while loadgen's clock starts when the request
        # is created, before a connection slot is granted.
        print("guidellm TTFT starts at its header write, loadgen's when the request is created")
    print_header()
    log = workdir / "server.log"
    with running_server(args.server, 0, args.server_workers, log) as (url, pid):
        for concurrency in args.concurrency:
            loadgen = run_loadgen(url, pid, concurrency, args.duration, args.processes, 0, "ttft=0", workdir)
            print_row(loadgen)
            sys.stdout.flush()
            if reason is None:
                print_guidellm(loadgen, run_guidellm(url, pid, concurrency, args.duration, 0, tokenizer_dir,
                                                     args.guidellm_processes, workdir))  # fmt: skip
    if reason:
        print(f"guidellm: NOT RUN: {reason}. No loadgen/guidellm ratio can be printed.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", choices=["all", "compare", "ceiling"], default="all")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per client run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256, 1024], help="ceiling phase")
    parser.add_argument("--compare-streams", type=int, nargs="+", default=[64, 256], help="compare phase")
    parser.add_argument("--rounds", type=int, default=1, help="compare: rounds of every client per concurrency")
    parser.add_argument("--httpx-row", action="store_true", help="compare: also loadgen's previous httpx path")
    parser.add_argument("--no-pin", action="store_true", help="compare: do not pin server and client to CPUs")
    parser.add_argument("--server", choices=["fake", "guidellm-mock"], default="fake", help="ceiling phase")
    parser.add_argument("--server-workers", type=int, default=1, help="guidellm-mock worker processes")
    parser.add_argument("--processes", type=int, default=1, help="loadgen client processes (ceiling phase)")
    parser.add_argument("--no-guidellm", action="store_true", help="skip the guidellm rows")
    parser.add_argument(
        "--guidellm-processes", type=int, default=None,
        help="guidellm worker processes (default: guidellm's own default, 10)",
    )  # fmt: skip
    args = parser.parse_args()

    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio (uvloop not installed)"
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, event loop {loop}")
    with tempfile.TemporaryDirectory(prefix="loadgen-bench-") as tmp:
        workdir = Path(tmp)
        tokenizer_dir = workdir / "tokenizer"  # generated per run: no binary tokenizer files are committed
        reason = "skipped (--no-guidellm)" if args.no_guidellm else guidellm_unavailable_reason(tokenizer_dir)
        if args.phase in ("all", "compare"):
            compare_phase(args, reason, tokenizer_dir, workdir)
        if args.phase in ("all", "ceiling"):
            ceiling_phase(args, reason, tokenizer_dir, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
