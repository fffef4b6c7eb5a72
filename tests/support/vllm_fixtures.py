"""Start and stop the vLLM test server (tests/support/fake_vllm.py) as a real process, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 15.0
CONTROL_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 10.0


class FakeVllmProcess:
    """A running fake vLLM server: its base URL, live knobs and counters, and its process."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, control_port: int, host: str = "127.0.0.1") -> None:
        self.process = process
        self.host = host
        self.port = port
        self.control_port = control_port
        self.base_url = f"http://{host}:{port}"

    def _control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"http://{self.host}:{self.control_port}{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT_S) as response:
            return dict(json.load(response))

    def control(self, **knobs: Any) -> dict[str, Any]:
        """Change knobs on the running server (phase, latencies, failure rates...); returns all knobs."""
        return self._control("POST", "/knobs", knobs)

    def stats(self) -> dict[str, Any]:
        """Server-side counters: requests, streams_started/completed, injected_5xx, injected_cuts, in_flight."""
        return self._control("GET", "/stats")

    def terminate(self) -> None:
        """SIGTERM: the server drains in-flight streams and exits, as a vLLM pod does on deletion."""
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT_S)


def _read_ready_line(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=START_TIMEOUT_S):
            process.kill()
            raise RuntimeError(f"fake vLLM server printed no ready line within {START_TIMEOUT_S:g}s")
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"fake vLLM server exited at start (code {process.wait(timeout=STOP_TIMEOUT_S)})")
    return dict(json.loads(line))


def knob_args(knobs: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for name, value in knobs.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def start_fake_vllm(*, port: int = 0, host: str = "127.0.0.1", stderr: Any = None, **knobs: Any) -> FakeVllmProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_vllm", "--host", host, "--port", str(port), *knob_args(knobs)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env,
    )
    ready = _read_ready_line(process)
    return FakeVllmProcess(process, int(ready["port"]), int(ready["control_port"]), host)


@contextmanager
def running_fake_vllm(**knobs: Any) -> Iterator[FakeVllmProcess]:
    server = start_fake_vllm(**knobs)
    try:
        yield server
    finally:
        server.stop()


def wait_until(predicate: Callable[[], bool], what: str, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within_s:g}s for {what}")
        time.sleep(0.01)


@pytest.fixture
def fake_vllm(tmp_path: Path) -> Iterator[Callable[..., FakeVllmProcess]]:
    """A factory: ``fake_vllm(ttft_ms=50, output_tokens=8, ...)`` starts one server; all stop at test end."""
    servers: list[FakeVllmProcess] = []
    logs: list[Any] = []

    def start(**knobs: Any) -> FakeVllmProcess:
        log = (tmp_path / f"fake_vllm_{len(servers)}.log").open("wb")
        logs.append(log)
        server = start_fake_vllm(stderr=log, **knobs)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        for log in logs:
            log.close()
