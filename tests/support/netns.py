"""A network namespace of the test's own, entered by this process, so nothing the end-to-end tests start can
reach or be reached from outside it.

``ip netns add`` creates it with only a loopback device; the test brings loopback up, adds the addresses it
needs (pod IPs are /32 addresses from 10.244.0.0/16 on that loopback) and moves this process's thread into it
with setns(2). Every process started afterwards inherits it. On exit the thread moves back, every process
still inside is killed, and the namespace is deleted, also when the test failed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

CLONE_NEWNET = 0x40000000
IP_TIMEOUT_S = 10.0
KILL_WAIT_S = 5.0


class NetnsUnavailable(RuntimeError):
    """This machine cannot make network namespaces (not root, or no iproute2)."""


def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    return None


def ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *(["-n", namespace] if namespace else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns(CLONE_NEWNET) failed: {os.strerror(errno)}")


def pids_inside(name: str) -> list[int]:
    result = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=IP_TIMEOUT_S)
    return [int(pid) for pid in result.stdout.split() if pid.isdigit() and int(pid) != os.getpid()]


def _kill_all_inside(name: str) -> None:
    for pid in pids_inside(name):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT_S
    while pids_inside(name) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def entered_netns(name: str) -> Iterator[str]:
    """Create network namespace ``name``, bring its loopback up and run the body inside it."""
    reason = unavailable_reason()
    if reason:
        raise NetnsUnavailable(reason)
    ip("netns", "add", name)
    original = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        ip("link", "set", "lo", "up", namespace=name)
        inside = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            _setns(inside)
        finally:
            os.close(inside)
        try:
            yield name
        finally:
            _setns(original)
    finally:
        os.close(original)
        _kill_all_inside(name)
        ip("netns", "delete", name)


def add_address(cidr: str) -> None:
    """Add an address to the current namespace's loopback (the caller is inside the test's namespace)."""
    ip("addr", "add", cidr, "dev", "lo")


def remove_address(cidr: str) -> None:
    ip("addr", "del", cidr, "dev", "lo")
