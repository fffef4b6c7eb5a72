"""The real Kubernetes control plane and Argo Rollouts controller, started from the binaries that
``e2e/toolchain/build.sh`` builds, for the end-to-end tests.

Runs etcd, kube-apiserver, kube-controller-manager (replicaset, endpoints, endpointslice, garbage-collector,
namespace and serviceaccount controllers), kube-scheduler and the Argo Rollouts controller, each a process
with its log in ``logs_dir``. The caller runs inside a network namespace of its own (``tests/support/netns.py``),
so the fixed ports below cannot meet anything else on the machine.

Choices, with the upstream facts behind them:
- token authentication from a file and ``--authorization-mode=AlwaysAllow``: one credential, no RBAC objects;
- ``--endpoint-reconciler-type=none``: the API server does not publish itself as the ``kubernetes`` Service's
  endpoint, which would need a routable address (kube-apiserver refuses loopback endpoints);
- ``--disable-admission-plugins=ServiceAccount``: no service-account token volumes in the pods, which the test
  kubelet would have to project; the pods here never talk to the API server;
- the garbage collector runs: without it, foreground deletes (which Pulumi and Argo use) never finish.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import yaml

from tests.support.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "e2e" / "toolchain" / "build.sh"
API_PORT = 6443
ETCD_PORT = 2379
# The "host" address: the node's InternalIP and the API server's advertised address. Pod IPs are other /32
# addresses from the same 10.244.0.0/16 range on the namespace's loopback.
HOST_IP = "10.244.255.254"
SERVICE_CIDR = "10.96.0.0/16"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
CONTROLLERS = (
    "replicaset-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
)


class ToolchainMissing(RuntimeError):
    """A binary the end-to-end tests need is not built."""


def bin_dir(component: str) -> Path:
    """Where ``build.sh`` puts (or would put) a component's binaries."""
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--bin-dir", component], capture_output=True, text=True, timeout=60, check=True
    )
    return Path(result.stdout.strip())


def built_binary(component: str, name: str) -> Path:
    directory = bin_dir(component)
    if not (directory / ".complete").is_file():
        raise ToolchainMissing(f"{component} is not built (expected {directory}); run: bash {BUILD_SCRIPT}")
    return directory / name


def argo_crd_dir() -> Path:
    """Where ``build.sh`` copies Argo Rollouts' CRDs, from the same module version as the controller."""
    return bin_dir("argo-rollouts").parent / "crds"


def argo_crds() -> list[Path]:
    crds = argo_crd_dir()
    found = sorted(crds.glob("*-crd.yaml"))
    if not found:
        raise ToolchainMissing(f"Argo Rollouts CRDs not found in {crds}; run: bash {BUILD_SCRIPT} argo-rollouts")
    return found


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> None:
    """A CA, the API server's serving certificate for its addresses, and the service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=llmzd-e2e-ca", cwd=directory)
    names = f"IP:127.0.0.1,IP:{HOST_IP},IP:10.96.0.1,DNS:localhost,DNS:kubernetes.default.svc"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver.key", "-out", "apiserver.csr",
             "-subj", "/CN=kube-apiserver", cwd=directory)
    (directory / "san.ext").write_text(f"subjectAltName={names}\n")
    _openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "apiserver.crt", "-days", "2", "-extfile", "san.ext", cwd=directory)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=directory)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)


def kubeconfig_text(server: str, ca_pem: bytes, token: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        }}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
        "current-context": "e2e",
    })


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def stop(self) -> None:
        stop_process(self.process, grace_s=STOP_TIMEOUT_S)
        self.log.close()


@dataclass
class ControlPlane:
    """A running control plane: its API URL, admin kubeconfig, an API client and the processes behind it."""

    workdir: Path
    logs_dir: Path
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{API_PORT}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    @property
    def ca_path(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    def kubeconfig(self) -> str:
        return self.kubeconfig_path.read_text()

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.server, verify=str(self.ca_path), timeout=timeout,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def start(self, name: str, command: list[str | Path]) -> ManagedProcess:
        log = (self.logs_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(part) for part in command], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        managed = ManagedProcess(name, process, log)
        self.processes.append(managed)
        return managed

    def wait_for(self, what: str, check: Callable[[], bool], *, within_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + within_s
        while True:
            for managed in self.processes:
                if managed.process.poll() is not None:
                    raise RuntimeError(
                        f"{managed.name} exited with code {managed.process.returncode} while waiting for {what}; "
                        f"see {self.logs_dir / (managed.name + '.log')}"
                    )
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {within_s:g} s for {what}; logs in {self.logs_dir}")
            time.sleep(0.2)

    def stop(self) -> None:
        for managed in reversed(self.processes):
            managed.stop()
        self.processes.clear()


def _etcd_healthy() -> bool:
    return httpx.get(f"http://127.0.0.1:{ETCD_PORT}/health", timeout=2.0).status_code == 200


def _start_etcd(plane: ControlPlane) -> None:
    client_url = f"http://127.0.0.1:{ETCD_PORT}"
    plane.start("etcd", [
        built_binary("etcd", "etcd"), "--data-dir", plane.workdir / "etcd",
        "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
        "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "default=http://127.0.0.1:2380",
        # A test cluster that lives for minutes: skip fsync, it dominates etcd's latency on a shared disk.
        "--unsafe-no-fsync",
    ])
    plane.wait_for("etcd /health", _etcd_healthy)


def _start_apiserver(plane: ControlPlane) -> None:
    pki = plane.workdir / "pki"
    (plane.workdir / "tokens.csv").write_text(f"{plane.token},admin,admin,system:masters\n")
    plane.start("kube-apiserver", [
        built_binary("kubernetes", "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{ETCD_PORT}",
        "--bind-address=127.0.0.1", f"--advertise-address={HOST_IP}", f"--secure-port={API_PORT}",
        f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--token-auth-file={plane.workdir / 'tokens.csv'}", "--authorization-mode=AlwaysAllow",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--endpoint-reconciler-type=none", "--disable-admission-plugins=ServiceAccount",
        "--enable-priority-and-fairness=false", "--profiling=false",
    ])
    with plane.client(timeout=5.0) as client:
        plane.wait_for("kube-apiserver /readyz", lambda: client.get("/readyz").status_code == 200)


def _write_kubeconfig(plane: ControlPlane) -> None:
    plane.kubeconfig_path.write_text(kubeconfig_text(plane.server, plane.ca_path.read_bytes(), plane.token))
    plane.kubeconfig_path.chmod(0o600)


def _start_controllers(plane: ControlPlane) -> None:
    kubeconfig = plane.kubeconfig_path
    plane.start("kube-controller-manager", [
        built_binary("kubernetes", "kube-controller-manager"), f"--kubeconfig={kubeconfig}",
        f"--controllers={','.join(CONTROLLERS)}", "--leader-elect=false", "--secure-port=0",
        "--use-service-account-credentials=false", "--concurrent-replicaset-syncs=5",
    ])
    plane.start("kube-scheduler", [
        built_binary("kubernetes", "kube-scheduler"), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
        "--secure-port=0",
    ])


def _install_argo(plane: ControlPlane, apply: Callable[[Path], None]) -> None:
    for crd in argo_crds():
        apply(crd)

    def established() -> bool:
        with plane.client(timeout=5.0) as client:
            response = client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rollouts.argoproj.io")
            conditions = (response.json().get("status") or {}).get("conditions") or []
            return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    plane.wait_for("the Rollout CRD to be established", established)
    plane.start("argo-rollouts", [
        built_binary("argo-rollouts", "rollouts-controller"), f"--kubeconfig={plane.kubeconfig_path}",
        "--leader-elect=false", "--healthzPort=8080", "--metricsPort=8090", "--loglevel=info",
    ])
    plane.wait_for("Argo Rollouts /healthz", lambda: httpx.get("http://127.0.0.1:8080/healthz", timeout=2.0)
                   .status_code == 200)


@contextmanager
def running_control_plane(workdir: Path, logs_dir: Path, apply: Callable[[ControlPlane, Path], None]) -> Iterator[
        ControlPlane]:
    """Start everything (about 10-20 s); stop it all on exit. ``apply`` server-side-applies a YAML file."""
    for component in ("etcd", "kubernetes", "argo-rollouts"):
        if not (bin_dir(component) / ".complete").is_file():
            raise ToolchainMissing(f"{component} is not built; run: bash {BUILD_SCRIPT}")
    workdir.mkdir(parents=True, exist_ok=True)
    logs_dir.mkdir(parents=True, exist_ok=True)
    make_certificates(workdir / "pki")
    plane = ControlPlane(workdir=workdir, logs_dir=logs_dir)
    with ExitStack() as stack:
        stack.callback(plane.stop)
        _start_etcd(plane)
        _start_apiserver(plane)
        _write_kubeconfig(plane)
        _start_controllers(plane)
        _install_argo(plane, lambda path: apply(plane, path))
        yield plane
