"""Find the load generator's ceiling against a streaming test server at near-zero latency.

Phase 1 (throughput): for each concurrency (default 64, 256, 1024) ONE `python -m loadgen run` process
streams against a server configured with ttft = itl = 0 and 16 tokens per completion. Printed: completed
streams/s, output tokens/s, TTFT p50/p99 minus the server's configured TTFT, and the CPU cores each side
used on average, which says which side is the bottleneck (an asyncio process cannot use more than one).

Phase 2 (client-added TTFT): 256 streams against a server with ttft = itl = 100 ms, far from saturation,
so measured TTFT minus 100 ms is what the client (plus loopback and the server's own bookkeeping) adds.

Server: `--server fake` (default) is the project's fake vLLM (tests/support/fake_vllm.py);
`--server guidellm-mock` is guidellm's own mock server from the separate guidellm venv, with
`--server-workers` processes.

guidellm (from its own venv, $GUIDELLM_VENV, default /tmp/guidellm-venv) runs after each loadgen row on the
same server, at the same concurrency and duration, offline (see benchmarks/guidellm_offline.py), and the
loadgen/guidellm ratio of completed streams/s and tokens/s is printed. guidellm's client cores are averaged
over its own measured window only (its workers take 10-20 s to start, which its rates do not count either).
guidellm's tokens/s also counts tokens of streams still running at the window's end, and its TTFT clock starts
when its request headers are written (after its dispatch queue), so its +ttft is not charged for client queueing.
If guidellm cannot run here the benchmark says why and prints no ratio.

    .venv/bin/python benchmarks/loadgen_bench.py [--duration 10] [--concurrency 64 256 1024]
        [--server fake|guidellm-mock] [--server-workers 1] [--processes 1]
        [--no-guidellm] [--guidellm-processes N]

A plain script, not a test: about (duration + 3 s) per loadgen row, (duration + 20-40 s) per guidellm row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
TTFT_PHASE_CONCURRENCY = 256
TTFT_PHASE_LATENCY_MS = 100


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


def server_command(kind: str, port: int, latency_ms: int, workers: int) -> list[str]:
    if kind == "fake":
        return [sys.executable, "-m", "tests.support.fake_vllm", "--port", str(port),
                "--ttft-ms", str(latency_ms), "--itl-ms", str(latency_ms),
                "--output-tokens", str(OUTPUT_TOKENS)]  # fmt: skip
    return [str(GUIDELLM_VENV / "bin" / "guidellm"), "mock-server", "--port", str(port),
            "--workers", str(workers), "--ttft-ms", str(latency_ms), "--itl-ms", str(latency_ms),
            "--output-tokens", str(OUTPUT_TOKENS)]  # fmt: skip


@contextmanager
def running_server(kind: str, latency_ms: int, workers: int, log: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    with log.open("ab") as log_file:
        server = subprocess.Popen(
            server_command(kind, port, latency_ms, workers), cwd=REPO_ROOT, stdout=log_file, stderr=log_file
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
    worker_processes: int | None, workdir: Path,
) -> GuidellmRow:  # fmt: skip
    report_path = workdir / f"guidellm-{configured_ttft_ms}-{concurrency}.json"
    log = workdir / f"guidellm-{configured_ttft_ms}-{concurrency}.log"
    command = guidellm_offline.command(url, concurrency, duration, OUTPUT_TOKENS, tokenizer_dir, report_path,
                                       GUIDELLM_VENV)  # fmt: skip
    samples: list[tuple[float, float, float]] = []
    deadline = time.monotonic() + duration + GUIDELLM_RUN_SLACK_S
    with log.open("wb") as log_file:
        # Own session, so a run that overstays can be killed together with the worker processes it spawned.
        client = subprocess.Popen(
            command, cwd=workdir, stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL,
            env=guidellm_offline.offline_env(worker_processes), start_new_session=True,
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--server", choices=["fake", "guidellm-mock"], default="fake")
    parser.add_argument("--server-workers", type=int, default=1, help="guidellm-mock worker processes")
    parser.add_argument("--processes", type=int, default=1, help="loadgen client processes")
    parser.add_argument("--no-guidellm", action="store_true", help="skip the guidellm rows")
    parser.add_argument(
        "--guidellm-processes", type=int, default=None,
        help="guidellm worker processes (default: guidellm's own default, 10)",
    )  # fmt: skip
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; server: {args.server}"
        f" ({args.server_workers} worker(s)); {OUTPUT_TOKENS} tokens per stream; {args.duration:g} s per run;"
        f" loadgen client processes: {args.processes}"
    )
    print("+ttft = measured TTFT minus the server's configured TTFT; cores = average CPU cores in use")
    with tempfile.TemporaryDirectory(prefix="loadgen-bench-") as tmp:
        workdir = Path(tmp)
        tokenizer_dir = workdir / "tokenizer"  # generated per run: no binary tokenizer files are committed
        reason = "skipped (--no-guidellm)" if args.no_guidellm else guidellm_unavailable_reason(tokenizer_dir)
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
                if reason is None:
                    print_guidellm(loadgen, run_guidellm(url, pid, concurrency, args.duration, 0, tokenizer_dir,
                                                         args.guidellm_processes, workdir))  # fmt: skip
        with running_server(args.server, TTFT_PHASE_LATENCY_MS, args.server_workers, log) as (url, pid):
            loadgen = run_loadgen(url, pid, TTFT_PHASE_CONCURRENCY, args.duration, args.processes,
                                  TTFT_PHASE_LATENCY_MS, f"ttft={TTFT_PHASE_LATENCY_MS}ms", workdir)  # fmt: skip
            print_row(loadgen)
            if reason is None:
                print_guidellm(loadgen, run_guidellm(url, pid, TTFT_PHASE_CONCURRENCY, args.duration,
                                                     TTFT_PHASE_LATENCY_MS, tokenizer_dir, args.guidellm_processes,
                                                     workdir))  # fmt: skip
    if reason:
        print(f"guidellm: NOT RUN: {reason}. No loadgen/guidellm ratio can be printed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
