"""Cost of one readiness probe run: our Python probe against the curl-based shell probe of llm-d's guide.

kubelet execs the probe every period in every vLLM pod, so what counts is the wall time and CPU time of one
whole run, process start-up included. Both probes run against the same vLLM test server (ready, one model),
alternating, N runs each; printed: median wall and CPU (user + system of the child processes) per run, and
the ratios python / curl. Target: python no slower than curl (ratio <= 1).

    python benchmarks/probe_bench.py [--runs 200]

The shell probe is what an llm-d style ``readiness_probe.sh`` does: two curl calls and a check that the model
list has data (grep, the cheapest JSON check a shell script can make).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.support.vllm_fixtures import running_fake_vllm  # noqa: E402

PROBE = REPO_ROOT / "probe" / "readiness_probe.py"
SERVED_MODEL = "test-model"
CURL_PROBE = (
    'curl -sf -m "$T" "http://$H:$P/health" >/dev/null'
    ' && curl -sf -m "$T" "http://$H:$P/v1/models" | grep -q \'"data": *\\[ *{\''
)


def python_probe(port: int) -> list[str]:
    # Exactly the pod's command (llmzd_infra.workload.probe_command).
    return [sys.executable, "-I", "-S", str(PROBE), str(port), "127.0.0.1", "--expect-model", SERVED_MODEL]


def curl_probe(port: int) -> list[str]:
    return ["sh", "-c", CURL_PROBE]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{command[0]} probe failed (exit {completed.returncode}): {completed.stderr.decode()}")
    return wall, children_cpu_s() - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs of each probe (default 200)")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl not found: install it (apt-get install curl) to compare against the shell probe")
    with running_fake_vllm(model=SERVED_MODEL) as server:
        env = {"PATH": os.environ.get("PATH", ""), "T": "5", "H": "127.0.0.1", "P": str(server.port)}
        probes: dict[str, Callable[[int], list[str]]] = {"python": python_probe, "curl": curl_probe}
        samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in probes}
        for build in probes.values():  # warm the page cache once for each
            measure(build(server.port), env)
        for _ in range(args.runs):
            for name, build in probes.items():  # alternate, so drift on a noisy machine hits both alike
                wall, cpu = measure(build(server.port), env)
                samples[name][0].append(wall)
                samples[name][1].append(cpu)
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; {args.runs} runs of each probe")
    print(f"{'probe':<8} {'median wall ms':>15} {'p90 wall ms':>12} {'median cpu ms':>14}")
    medians: dict[str, tuple[float, float]] = {}
    for name, (walls, cpus) in samples.items():
        medians[name] = (statistics.median(walls), statistics.median(cpus))
        p90 = statistics.quantiles(walls, n=10)[-1]
        print(f"{name:<8} {medians[name][0] * 1000:>15.2f} {p90 * 1000:>12.2f} {medians[name][1] * 1000:>14.2f}")
    wall_ratio = medians["python"][0] / medians["curl"][0]
    cpu_ratio = medians["python"][1] / medians["curl"][1] if medians["curl"][1] else float("nan")
    verdict = "meets" if wall_ratio <= 1.0 else "misses"
    print(f"ratio python/curl: wall {wall_ratio:.2f}, cpu {cpu_ratio:.2f} ({verdict} the target: wall ratio <= 1)")


if __name__ == "__main__":
    main()
