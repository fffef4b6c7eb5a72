"""Stopping the test's own child processes: politely first, then for sure, never waiting without a bound."""

from __future__ import annotations

import subprocess

KILL_WAIT_S = 10.0


def stop_process(process: subprocess.Popen[bytes], *, grace_s: float = 10.0) -> None:
    """SIGTERM and up to ``grace_s`` to exit (servers drain, hosts flush), then SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=KILL_WAIT_S)
