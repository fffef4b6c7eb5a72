"""Find the load generator's ceiling against a streaming test server at near-zero latency.

Phase 1 (throughput): for each concurrency (default 64, 256, 1024) ONE `python -m loadgen run` process
streams against a server configured with ttft = itl = 0 and 16 tokens per completion. Printed: completed
streams/s, output tokens/s, TTFT p50/p99 minus the server's configured TTFT, and the CPU cores each side
used on average, which says which side is the bottleneck (an asyncio process cannot use more than one).

Phase 2 (client-added TTFT): 256 streams against a server with ttft = itl = 100 ms, far from saturation,
so measured TTFT minus 100 ms is what the client (plus loopback and the server's own bookkeeping) adds.

Server: `--server fake` (default) is the project's fake vLLM (tests/support/fake_vllm.py);
`--server guidellm-mock` is guidellm's own mock server from the separate guidellm venv, with
`--server-workers` processes. guidellm itself is run at the same concurrency when it can run offline from
that venv; otherwise the benchmark says why and prints no ratio.

    .venv/bin/python benchmarks/loadgen_bench.py [--duration 10] [--concurrency 64 256 1024]
        [--server fake|guidellm-mock] [--server-workers 1] [--processes 1]

A plain script, not a test: about (duration + 3 s) per row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
GUIDELLM_VENV = Path(os.environ.get("GUIDELLM_VENV", "/tmp/guidellm-venv"))
OUTPUT_TOKENS = 16
SERVER_START_TIMEOUT_S = 30.0
CLIENT_RUN_SLACK_S = 120.0
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds used so far by a process and all its live descendants (servers may fork workers)."""
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
    total = 0.0
    for pid in cpu:
        ancestor = pid
        while ancestor not in (0, 1, root_pid) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root_pid:
            total += cpu[pid]
    return total


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


def guidellm_unavailable_reason() -> str | None:
    python = GUIDELLM_VENV / "bin" / "python"
    if not python.exists():
        return f"no guidellm venv at {GUIDELLM_VENV} (set GUIDELLM_VENV)"
    probe = subprocess.run(
        [str(python), "-c", "import guidellm.data.loaders"], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    if probe.returncode != 0:
        last_line = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return (
            f"guidellm in {GUIDELLM_VENV} cannot import its data loader ({last_line}); guidellm 0.8 "
            "requires torch, and torch from PyPI on this machine resolves to the CUDA build (>1 GB of "
            "nvidia-* wheels), which this benchmark must not install"
        )
    return (
        "guidellm imports, but its offline run (local tokenizer + synthetic data) is not wired into this "
        "benchmark yet"
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
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; server: {args.server}"
        f" ({args.server_workers} worker(s)); {OUTPUT_TOKENS} tokens per stream; {args.duration:g} s per run;"
        f" loadgen client processes: {args.processes}"
    )
    print("+ttft = measured TTFT minus the server's configured TTFT; cores = average CPU cores in use")
    print_header()
    with tempfile.TemporaryDirectory(prefix="loadgen-bench-") as tmp:
        workdir = Path(tmp)
        log = workdir / "server.log"
        with running_server(args.server, 0, args.server_workers, log) as (url, pid):
            for concurrency in args.concurrency:
                print_row(
                    run_loadgen(url, pid, concurrency, args.duration, args.processes, 0, "ttft=0", workdir)
                )
        with running_server(args.server, TTFT_PHASE_LATENCY_MS, args.server_workers, log) as (url, pid):
            print_row(
                run_loadgen(url, pid, TTFT_PHASE_CONCURRENCY, args.duration, args.processes,
                            TTFT_PHASE_LATENCY_MS, f"ttft={TTFT_PHASE_LATENCY_MS}ms", workdir)
            )  # fmt: skip
    reason = guidellm_unavailable_reason()
    if reason:
        print(f"guidellm: NOT RUN: {reason}. No loadgen/guidellm ratio can be printed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
