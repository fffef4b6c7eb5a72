"""Fixtures for the end-to-end tests: a network namespace of their own, the real control plane inside it, the
test kubelet, Pulumi's dynamic provider host, and the summary written to ``out/e2e/summary.json``.

Run them with ``make e2e`` (builds what is missing first). Without root, iproute2 or the built toolchain they
are skipped, naming what is missing; ``LLMZD_E2E_REQUIRED=1`` (set by ``make e2e``) turns those skips into
failures, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import wait_until, write_behaviour
from tests.e2e.summary import Summary
from tests.support.control_plane import (
    HOST_IP,
    ControlPlane,
    ToolchainMissing,
    built_binary,
    running_control_plane,
)
from tests.support.engine_host import EngineHost, running_engine_host
from tests.support.kube_apply import KubeApi, load_manifests
from tests.support.kubelet import NODE_NAME, applied_marker, behaviour_digest
from tests.support.netns import add_address, entered_netns, unavailable_reason
from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "out" / "e2e"
KUBELET_START_S = 30.0


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("LLMZD_E2E_REQUIRED") == "1":
        pytest.fail(f"end-to-end tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


SUMMARY = pytest.StashKey[Summary]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SUMMARY] = Summary(OUT_DIR / "summary.json")


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash[SUMMARY]
    if recorder.has_scenarios():
        recorder.write()
        print("\n" + recorder.table(), file=sys.stderr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("scenario")
    if marker is None or (report.when != "call" and not report.failed):
        return
    section = marker.kwargs.get("section")  # e.g. scenario("preview", section="engine"): data["engine"]["scenarios"]
    item.config.stash[SUMMARY].scenario(str(marker.args[0]), "passed" if report.passed else "failed", section)


@pytest.fixture(scope="session")
def summary(pytestconfig: pytest.Config) -> Summary:
    return pytestconfig.stash[SUMMARY]


@pytest.fixture(scope="session")
def netns() -> Iterator[str]:
    reason = unavailable_reason()
    if reason:
        _skip_or_fail(reason)
    with entered_netns(f"llmzd-e2e-{os.getpid()}") as name:
        add_address(f"{HOST_IP}/32")
        yield name


def _apply_file(plane: ControlPlane, path: Path) -> None:
    with plane.client() as client:
        KubeApi(client).apply_all(load_manifests([path]))


@pytest.fixture(scope="session")
def control_plane(netns: str, tmp_path_factory: pytest.TempPathFactory, summary: Summary) -> Iterator[ControlPlane]:
    logs = OUT_DIR / "logs"
    started = time.monotonic()
    try:
        with running_control_plane(tmp_path_factory.mktemp("control-plane"), logs, _apply_file) as plane:
            summary.data["control_plane_start_s"] = round(time.monotonic() - started, 1)
            summary.data["versions"] = plane_versions(plane)
            yield plane
    except ToolchainMissing as missing:
        _skip_or_fail(str(missing))


def plane_versions(plane: ControlPlane) -> dict[str, str]:
    """What each program says it is: the API server's /version, the binaries' own --version."""
    with plane.client() as client:
        server = client.get("/version").json()

    def says(component: str, name: str) -> str:
        completed = subprocess.run([str(built_binary(component, name)), "--version"],
                                   capture_output=True, text=True, timeout=30, check=False)
        return completed.stdout.strip().splitlines()[0] if completed.stdout.strip() else "unknown"

    return {
        "kube-apiserver": str(server.get("gitVersion")),
        "etcd": says("etcd", "etcd"),
        "argo-rollouts": says("argo-rollouts", "rollouts-controller"),
        "python": sys.version.split()[0],
    }


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> Iterator[KubeApi]:
    with control_plane.client() as client:
        yield KubeApi(client)


@pytest.fixture(scope="session")
def behaviour_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kubelet") / "behaviour.json"
    write_behaviour(path, {})
    return path


@pytest.fixture(scope="session")
def kubelet(control_plane: ControlPlane, kube: KubeApi, behaviour_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The test kubelet process; yields the behaviour file the tests write to shape the fake GPU process."""
    log = (OUT_DIR / "logs" / "kubelet.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.kubelet", "--kubeconfig", str(control_plane.kubeconfig_path),
         "--workdir", str(tmp_path_factory.mktemp("pods")), "--behaviour", str(behaviour_file)],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        deadline = time.monotonic() + KUBELET_START_S
        while kube.get("v1", "Node", None, NODE_NAME) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test kubelet did not register its node; see {log.name}")
            time.sleep(0.2)
        yield behaviour_file
    finally:
        stop_process(process, grace_s=30)  # it stops its pods' servers first
        log.close()


@pytest.fixture(scope="session")
def engine_host(control_plane: ControlPlane) -> Iterator[EngineHost]:
    with running_engine_host(OUT_DIR / "logs" / "dynamic-provider-host.log") as host:
        yield host


@pytest.fixture
def behaviour(kubelet: Path) -> Iterator[Any]:
    """Set what the fake GPU process does per model (see tests/support/kubelet.py); reset after the test."""

    def set_behaviour(table: dict[str, Any]) -> None:
        write_behaviour(kubelet, table)
        written = behaviour_digest(kubelet.read_text())
        marker = applied_marker(kubelet)
        wait_until("the test kubelet to pass the new behaviour to running containers",
                   lambda: marker.is_file() and marker.read_text() == written, within_s=10)

    yield set_behaviour
    write_behaviour(kubelet, {})

