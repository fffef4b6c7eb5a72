"""A test kubelet: the one fake in the end-to-end tests. It stands in for the node and its GPU processes.

It registers a Ready node that advertises ``nvidia.com/gpu`` and runs every pod bound to it (kube-scheduler
binds them) the way the kubelet would, as far as llmzd's pods can tell:

- the pod's ConfigMap and Secret volumes, and its env (``envFrom``, ``value``, ``configMapKeyRef``,
  ``secretKeyRef``, ``fieldRef``), are materialised from the API server into a directory of the pod's own;
  ``$(VAR)`` references in command and args are expanded as Kubernetes does;
- the container is the vLLM test server (``tests/support/fake_vllm.py``) on the pod IP (a /32 address on the
  test network namespace's loopback) and the container port, serving the model named by
  ``--served-model-name``; it binds its port at once and loads for ``loading_seconds``, as vLLM does;
- startup, readiness and liveness probes run as the spec says (initial delay, period, timeout, thresholds).
  Exec probes run the pod's own command, with the real probe files from the ConfigMap volume, in a private
  mount namespace whose /etc/hosts maps ``localhost`` to the pod IP: inside a real pod, ``localhost`` is the
  pod's own network namespace, where vLLM listens;
- the pod's status (phase, podIP, Ready and ContainersReady, container state and restarts) follows what the
  probes see, through the status subresource; a container whose startup or liveness probe fails its threshold,
  or whose process exits, is restarted;
- on deletion: the preStop hook, then SIGTERM (the test server drains), SIGKILL at the end of the grace
  period, then the pod object is removed.

What the fake GPU process does for a model is set in a JSON file the tests write (``--behaviour``), read when
a container starts: ``{"<model id or served name>": {"loading_seconds": 2, "never_ready": false, "knobs": {...}}}``,
where ``knobs`` are the test server's (e.g. ``{"error_5xx_rate": 1.0}``); ``"*"`` applies to every model. Knob
changes in the file also reach running containers (a model that starts failing after the traffic switch).

Run: ``python -m tests.support.kubelet --kubeconfig FILE --workdir DIR [--behaviour FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import datetime
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.control_plane import HOST_IP
from tests.support.fake_vllm import Knobs
from tests.support.netns import add_address, remove_address

NODE_NAME = "gpu-node-0"
POD_NETWORK = ipaddress.ip_network("10.244.0.0/16")
GPUS = 8
POLL_S = 0.2
API_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
START_TIMEOUT_S = 20.0
DEFAULT_LOADING_S = 2.0
REPO_ROOT = Path(__file__).resolve().parents[2]
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def log(text: str) -> None:
    print(f"{datetime.datetime.now().strftime('%H:%M:%S.%f')[:-3]} kubelet: {text}", file=sys.stderr, flush=True)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(value: str, env: dict[str, str]) -> str:
    """``$(VAR)`` from the container's env; unknown references stay as written (Kubernetes' rule)."""
    return _VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def option_value(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


class IpAllocator:
    def __init__(self) -> None:
        self.free = [str(ip) for ip in list(POD_NETWORK.hosts())[1:1000]]
        self.free.reverse()

    def take(self) -> str:
        return self.free.pop()

    def give_back(self, ip: str) -> None:
        self.free.append(ip)


async def run_command(command: list[str], *, env: dict[str, str] | None = None, timeout_s: float) -> tuple[int, str]:
    """Exit code and combined output; -1 when the command ran past ``timeout_s`` (and was killed)."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
        stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return -1, f"timed out after {timeout_s:g} s"
    return int(process.returncode or 0), output.decode(errors="replace").strip()


@dataclass
class Container:
    process: asyncio.subprocess.Process
    control_port: int
    started_at: str


@dataclass
class PodWorker:
    kubelet: Kubelet
    pod: dict[str, Any]
    ip: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, Path] = field(default_factory=dict)
    container: Container | None = None
    served_model: str = ""
    model_id: str = ""
    applied_knobs: dict[str, Any] = field(default_factory=dict)
    last_probe_failure: str = ""
    started: bool = False
    ready: bool = False
    restarts: int = 0
    terminating: bool = False
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.pod['metadata']['namespace']}/{self.pod['metadata']['name']}"

    @property
    def spec_container(self) -> dict[str, Any]:
        return dict(self.pod["spec"]["containers"][0])

    @property
    def status_path(self) -> str:
        meta = self.pod["metadata"]
        return f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"

    # -- setup ----------------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        namespace = self.pod["metadata"]["namespace"]
        volumes = {v["name"]: v for v in self.pod["spec"].get("volumes") or []}
        for name, volume in volumes.items():
            directory = self.root / "volumes" / name
            directory.mkdir(parents=True, exist_ok=True)
            if "configMap" in volume:
                data = await self.kubelet.read_data("configmaps", namespace, volume["configMap"]["name"])
                self._write_items(directory, data, volume["configMap"].get("items"))
            elif "secret" in volume:
                data = await self.kubelet.read_data("secrets", namespace, volume["secret"]["secretName"])
                self._write_items(directory, data, volume["secret"].get("items"))
        for mount in self.spec_container.get("volumeMounts") or []:
            self.mounts[mount["mountPath"]] = self.root / "volumes" / mount["name"]
        self.env = await self._container_env(namespace)
        hosts = self.root / "hosts"
        hosts.write_text(f"{self.ip} localhost\n{self.ip} {self.pod['metadata']['name']}\n")

    @staticmethod
    def _write_items(directory: Path, data: dict[str, str], items: list[dict[str, str]] | None) -> None:
        chosen = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]
        for key, path in chosen:
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data[key])

    async def _container_env(self, namespace: str) -> dict[str, str]:
        container = self.spec_container
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                data = await self.kubelet.read_data("configmaps", namespace, source["configMapRef"]["name"])
            else:
                data = await self.kubelet.read_data("secrets", namespace, source["secretRef"]["name"])
            env.update({prefix + k: v for k, v in data.items()})
        for entry in container.get("env") or []:
            if "value" in entry:
                env[entry["name"]] = expand(entry["value"], env)
                continue
            source = entry.get("valueFrom") or {}
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                env[entry["name"]] = (await self.kubelet.read_data("configmaps", namespace, ref["name"]))[ref["key"]]
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                env[entry["name"]] = (await self.kubelet.read_data("secrets", namespace, ref["name"]))[ref["key"]]
            elif "fieldRef" in source:
                env[entry["name"]] = self._field(source["fieldRef"]["fieldPath"])
        return env

    def _field(self, path: str) -> str:
        meta = self.pod["metadata"]
        return {"status.podIP": self.ip, "metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
                "spec.nodeName": NODE_NAME, "status.hostIP": HOST_IP}.get(path, "")

    # -- the container ---------------------------------------------------------------------------------------

    def _command(self) -> list[str]:
        container = self.spec_container
        return [expand(part, self.env) for part in (container.get("command") or []) + (container.get("args") or [])]

    def _port(self, port: int | str | None = None) -> int:
        ports = self.spec_container.get("ports") or []
        if isinstance(port, int):
            return port
        for entry in ports:
            if port is None or entry.get("name") == port:
                return int(entry["containerPort"])
        raise ValueError(f"pod {self.name}: no container port {port!r}")

    async def start_container(self) -> None:
        command = self._command()
        positional = [part for part in command[2:3] if not part.startswith("-")]  # `vllm serve MODEL ...`
        self.model_id = positional[0] if positional else option_value(command, "--model") or "unknown"
        model = self.served_model = option_value(command, "--served-model-name") or self.model_id
        behaviour = self.kubelet.behaviour_for(self.served_model, self.model_id)
        knobs = self.applied_knobs = dict(behaviour.get("knobs") or {})
        revision = self.pod["metadata"].get("labels", {}).get("rollouts-pod-template-hash", "none")
        args = [sys.executable, "-m", "tests.support.fake_vllm", "--host", self.ip, "--port", str(self._port()),
                "--model", model, "--revision", revision, "--phase", "bound"]
        for knob, value in knobs.items():
            args += [f"--{knob.replace('_', '-')}", str(value)]
        server_log = (self.root / f"server-{self.restarts}.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            *args, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=server_log, stdin=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        server_log.close()
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=START_TIMEOUT_S)
        ready_line = json.loads(line)
        self.container = Container(process, int(ready_line["control_port"]), now_rfc3339())
        loading_s = float(behaviour.get("loading_seconds", self.kubelet.loading_seconds))
        log(f"{self.name}: container started on {self.ip}:{self._port()} serving {model} "
            f"(loading {loading_s:g} s{', never ready' if behaviour.get('never_ready') else ''})")
        self.tasks.append(asyncio.create_task(self._load(loading_s, bool(behaviour.get("never_ready")))))

    async def _load(self, loading_s: float, never_ready: bool) -> None:
        # vLLM binds its port first, answers /health while the weights load, and lists the model once loaded.
        await asyncio.sleep(loading_s / 2)
        await self._control({"phase": "loading"})
        if never_ready:
            return
        await asyncio.sleep(loading_s / 2)
        await self._control({"phase": "ready"})

    async def _control(self, knobs: dict[str, Any]) -> None:
        if self.container is None:
            return
        with contextlib.suppress(httpx.HTTPError):
            await self.kubelet.local.post(f"http://{self.ip}:{self.container.control_port}/knobs", json=knobs)

    async def stop_container(self, *, grace_s: float) -> None:
        container, self.container = self.container, None
        if container is None or container.process.returncode is not None:
            return
        container.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(container.process.wait(), timeout=max(grace_s, 0.0))
        except TimeoutError:
            log(f"{self.name}: grace period over, SIGKILL")
            container.process.kill()
            await container.process.wait()

    # -- probes ----------------------------------------------------------------------------------------------

    def _rewrite_paths(self, part: str) -> str:
        """Mount paths (also inside a shell string) point at the pod's materialised volume directories."""
        for mount_path, directory in self.mounts.items():
            pattern = re.escape(mount_path.rstrip("/")) + r"(?=/|$|\s|')"
            part = re.sub(pattern, str(directory).replace("\\", "\\\\"), part)
        return part

    async def run_exec(self, command: list[str], timeout_s: float) -> tuple[int, str]:
        """The command as in the container: its mounts, its env, and ``localhost`` being the pod itself."""
        inner = [self._rewrite_paths(part) for part in command]
        wrapped = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$0" /etc/hosts && exec "$@"', str(self.root / "hosts"), *inner]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.env}
        return await run_command(wrapped, env=env, timeout_s=timeout_s)

    async def _http_get(self, handler: dict[str, Any], timeout_s: float) -> tuple[int, str]:
        url = f"http://{self.ip}:{self._port(handler.get('port'))}{handler.get('path', '/')}"
        try:
            response = await self.kubelet.local.get(url, timeout=timeout_s)
        except httpx.HTTPError as exc:
            return 1, f"{type(exc).__name__} on {url}"
        # The kubelet's rule: 200 <= status < 400 succeeds.
        return (0 if 200 <= response.status_code < 400 else 1), f"HTTP {response.status_code}"

    async def probe_once(self, probe: dict[str, Any]) -> bool:
        timeout_s = float(probe.get("timeoutSeconds", 1))
        if "exec" in probe:
            code, output = await self.run_exec(list(probe["exec"]["command"]), timeout_s)
        elif "httpGet" in probe:
            code, output = await self._http_get(probe["httpGet"], timeout_s)
        else:
            raise ValueError(f"pod {self.name}: probe handler not supported by the test kubelet: {sorted(probe)}")
        passed = code == 0
        if not passed and output != self.last_probe_failure:
            log(f"{self.name}: probe failed: {output[-300:]}")
        self.last_probe_failure = "" if passed else output
        return passed

    async def lifecycle(self) -> None:
        """Start, probe and restart the container until the pod is deleted."""
        await self.prepare()
        while not self.terminating:
            await self.start_container()
            await self.publish_status()
            reason = await self._probe_until_failure()
            if self.terminating:
                return
            log(f"{self.name}: restarting the container: {reason}")
            self.started = self.ready = False
            await self.stop_container(grace_s=float(self.pod["spec"].get("terminationGracePeriodSeconds", 30)))
            self.restarts += 1
            await self.publish_status()

    async def _probe_until_failure(self) -> str:
        container = self.spec_container
        startup = container.get("startupProbe")
        if startup and not await self._run_probe("startup", startup, until_success=True):
            return "startup probe failed"
        self.started = True
        readiness = container.get("readinessProbe")
        if readiness is None:
            self.ready = True
        await self.publish_status()
        loops = [asyncio.create_task(self._run_probe("liveness", container["livenessProbe"], until_success=False))] \
            if container.get("livenessProbe") else []
        if readiness:
            loops.append(asyncio.create_task(self._readiness_loop(readiness)))
        loops.append(asyncio.create_task(self._process_exit()))
        done, pending = await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return str(next(iter(done)).result())

    async def _process_exit(self) -> str:
        assert self.container is not None
        code = await self.container.process.wait()
        return f"the container exited with code {code}"

    async def _run_probe(self, kind: str, probe: dict[str, Any], *, until_success: bool) -> bool | str:
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        failures = 0
        threshold = int(probe.get("failureThreshold", 3))
        while not self.terminating:
            if await self.probe_once(probe):
                failures = 0
                if until_success:
                    return True
            else:
                failures += 1
                if failures >= threshold:
                    return False if until_success else f"{kind} probe failed {failures} times"
            await asyncio.sleep(float(probe.get("periodSeconds", 10)))
        return False

    async def _readiness_loop(self, probe: dict[str, Any]) -> str:
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        failures = successes = 0
        while not self.terminating:
            if await self.probe_once(probe):
                failures, successes = 0, successes + 1
                if not self.ready and successes >= int(probe.get("successThreshold", 1)):
                    self.ready = True
                    log(f"{self.name}: ready")
                    await self.publish_status()
            else:
                failures, successes = failures + 1, 0
                if self.ready and failures >= int(probe.get("failureThreshold", 3)):
                    self.ready = False
                    log(f"{self.name}: not ready")
                    await self.publish_status()
            await asyncio.sleep(float(probe.get("periodSeconds", 10)))
        return "terminating"

    # -- status and termination ------------------------------------------------------------------------------

    async def publish_status(self) -> None:
        if self.terminating:
            return
        ready = "True" if self.ready else "False"
        transition = now_rfc3339()
        container = self.spec_container
        state = {"running": {"startedAt": self.container.started_at}} if self.container else {
            "waiting": {"reason": "ContainerCreating"}}
        status = {
            "phase": "Running",
            "hostIP": HOST_IP,
            "hostIPs": [{"ip": HOST_IP}],
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.pod["metadata"].get("creationTimestamp") or transition,
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": transition},
                {"type": "Initialized", "status": "True", "lastTransitionTime": transition},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": transition},
                {"type": "Ready", "status": ready, "lastTransitionTime": transition},
            ],
            "containerStatuses": [{
                "name": container["name"], "image": container.get("image", ""), "imageID": "",
                "containerID": f"fake://{self.pod['metadata']['uid']}-{self.restarts}",
                "ready": self.ready, "started": self.started, "restartCount": self.restarts, "state": state,
            }],
        }
        await self.kubelet.patch_status(self.status_path, status)

    async def terminate(self) -> None:
        """preStop, then SIGTERM, SIGKILL when the grace period ends, then the pod object goes."""
        if self.terminating:
            return
        self.terminating = True
        grace_s = float(self.pod["metadata"].get("deletionGracePeriodSeconds")
                        or self.pod["spec"].get("terminationGracePeriodSeconds", 30))
        deadline = time.monotonic() + grace_s
        for task in self.tasks:
            task.cancel()
        pre_stop = ((self.spec_container.get("lifecycle") or {}).get("preStop") or {}).get("exec")
        if pre_stop and self.container is not None:
            log(f"{self.name}: terminating: preStop {pre_stop['command']}")
            await self.run_exec(list(pre_stop["command"]), timeout_s=grace_s)
        log(f"{self.name}: SIGTERM ({max(deadline - time.monotonic(), 0):.1f} s of grace left)")
        await self.stop_container(grace_s=deadline - time.monotonic())
        await self.kubelet.remove_pod(self)


class Kubelet:
    def __init__(self, api: httpx.AsyncClient, workdir: Path, behaviour: Path | None, loading_seconds: float) -> None:
        self.api = api
        self.local = httpx.AsyncClient(timeout=API_TIMEOUT)
        self.workdir = workdir
        self.behaviour_path = behaviour
        self.loading_seconds = loading_seconds
        self.ips = IpAllocator()
        self.workers: dict[str, PodWorker] = {}
        self.lifecycles: dict[str, asyncio.Task[None]] = {}
        self.behaviour_text: str | None = None
        self.terminations: set[asyncio.Task[None]] = set()

    def behaviour_for(self, served_model: str, model_id: str) -> dict[str, Any]:
        if self.behaviour_path is None or not self.behaviour_path.is_file():
            return {}
        table = json.loads(self.behaviour_path.read_text() or "{}")
        return {**table.get("*", {}), **table.get(served_model, {}), **table.get(model_id, {})}

    async def push_knob_changes(self) -> None:
        """Behaviour file changed: running containers get their model's knobs now, as a live fault would."""
        if self.behaviour_path is None or not self.behaviour_path.is_file():
            return
        text = self.behaviour_path.read_text()
        if text == self.behaviour_text:
            return
        self.behaviour_text = text
        for worker in list(self.workers.values()):
            if worker.container is None or worker.terminating:
                continue
            knobs = dict(self.behaviour_for(worker.served_model, worker.model_id).get("knobs") or {})
            if knobs != worker.applied_knobs:
                # A knob the file no longer names goes back to the test server's default.
                defaults = dataclasses.asdict(Knobs())
                reset = {name: defaults[name] for name in worker.applied_knobs if name not in knobs}
                worker.applied_knobs = knobs
                await worker._control({**reset, **knobs})
                log(f"{worker.name}: knobs now {knobs}")
        # Tell the test which version of the file running containers now follow.
        applied_marker(self.behaviour_path).write_text(behaviour_digest(text))

    async def read_data(self, kind: str, namespace: str, name: str) -> dict[str, str]:
        response = await self.api.get(f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        response.raise_for_status()
        body = response.json()
        data = dict(body.get("data") or {})
        if kind == "secrets":
            return {k: base64.b64decode(v).decode() for k, v in data.items()}
        return data

    async def patch_status(self, path: str, status: dict[str, Any]) -> None:
        response = await self.api.patch(
            path, content=json.dumps({"status": status}).encode(),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code not in (200, 404):
            log(f"status patch {path}: HTTP {response.status_code} {response.text[:300]}")

    async def register_node(self) -> None:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE_NAME, "labels": {
            "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "nvidia.com/gpu.present": "true"}}}
        response = await self.api.post("/api/v1/nodes", json=node)
        if response.status_code not in (201, 409):
            response.raise_for_status()
        resources = {"cpu": "64", "memory": "512Gi", "pods": "110", "ephemeral-storage": "1Ti",
                     "nvidia.com/gpu": str(GPUS)}
        now = now_rfc3339()
        status = {
            "capacity": resources, "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "test kubelet is ready", "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": NODE_NAME}],
            "nodeInfo": {"kubeletVersion": "v1.34.4-test", "containerRuntimeVersion": "fake://1",
                         "operatingSystem": "linux", "architecture": "amd64", "machineID": "", "systemUUID": "",
                         "bootID": "", "kernelVersion": "", "osImage": "test kubelet", "kubeProxyVersion": ""},
        }
        await self.patch_status(f"/api/v1/nodes/{NODE_NAME}/status", status)
        # The API server taints a new node not-ready (admission plugin TaintNodesByCondition); the node
        # lifecycle controller lifts it once the node reports Ready. That controller also evicts pods from
        # nodes whose heartbeats stop, which the test does not want, so the test kubelet lifts the taint itself.
        response = await self.api.patch(
            f"/api/v1/nodes/{NODE_NAME}", content=b'{"spec":{"taints":null}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        response.raise_for_status()
        log(f"node {NODE_NAME} registered with {GPUS} nvidia.com/gpu")

    async def remove_pod(self, worker: PodWorker) -> None:
        meta = worker.pod["metadata"]
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {"uid": meta["uid"]}}
        await self.api.request("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", json=body)
        await self._forget(meta["uid"])
        log(f"{worker.name}: removed")

    async def _forget(self, uid: str) -> None:
        worker = self.workers.pop(uid, None)
        if worker is None:
            return
        lifecycle = self.lifecycles.pop(uid, None)
        if lifecycle is not None and lifecycle is not asyncio.current_task():
            lifecycle.cancel()
        await worker.stop_container(grace_s=0)
        with contextlib.suppress(RuntimeError):  # an address already gone is what we want
            await asyncio.to_thread(remove_address, f"{worker.ip}/32")
        self.ips.give_back(worker.ip)

    async def sync(self) -> None:
        response = await self.api.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={NODE_NAME}"})
        response.raise_for_status()
        seen = set()
        for pod in response.json().get("items") or []:
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            worker = self.workers.get(uid)
            if worker is None:
                if pod["metadata"].get("deletionTimestamp"):
                    await self.api.request("DELETE", f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/"
                                           f"{pod['metadata']['name']}", json={"gracePeriodSeconds": 0})
                    continue
                worker = await self._admit(pod)
            worker.pod = pod
            if pod["metadata"].get("deletionTimestamp") and not worker.terminating:
                termination = asyncio.create_task(worker.terminate())
                self.terminations.add(termination)
                termination.add_done_callback(self.terminations.discard)
        for uid in set(self.workers) - seen:
            await self._forget(uid)

    async def _admit(self, pod: dict[str, Any]) -> PodWorker:
        ip = self.ips.take()
        await asyncio.to_thread(add_address, f"{ip}/32")
        root = self.workdir / pod["metadata"]["namespace"] / f"{pod['metadata']['name']}-{pod['metadata']['uid'][:8]}"
        root.mkdir(parents=True, exist_ok=True)
        worker = PodWorker(self, pod, ip, root)
        self.workers[pod["metadata"]["uid"]] = worker
        self.lifecycles[pod["metadata"]["uid"]] = asyncio.create_task(self._lifecycle(worker))
        log(f"{worker.name}: admitted with IP {ip}")
        return worker

    async def _lifecycle(self, worker: PodWorker) -> None:
        try:
            await worker.lifecycle()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep the kubelet alive; the pod stays not ready, as a broken node would
            log(f"{worker.name}: lifecycle failed: {type(exc).__name__}: {exc}")

    async def run(self) -> None:
        await self.register_node()
        while True:
            try:
                await self.sync()
                await self.push_knob_changes()
            except httpx.HTTPError as exc:
                log(f"sync failed: {type(exc).__name__}: {exc}")
            await asyncio.sleep(POLL_S)

    async def shutdown(self) -> None:
        for uid in list(self.workers):
            await self._forget(uid)
        await self.local.aclose()


def applied_marker(behaviour: Path) -> Path:
    """Holds ``behaviour_digest`` of the behaviour file once every running container has its knobs."""
    return behaviour.with_name(behaviour.name + ".applied")


def behaviour_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def api_client(kubeconfig: Path) -> httpx.AsyncClient:
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = kubeconfig.parent / "kubelet-ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    token = config["users"][0]["user"]["token"]
    return httpx.AsyncClient(base_url=cluster["server"], verify=str(ca), timeout=API_TIMEOUT,
                             headers={"Authorization": f"Bearer {token}"})


async def main_async(args: argparse.Namespace) -> None:
    if shutil.which("unshare") is None:
        raise SystemExit("the test kubelet needs unshare (util-linux) for exec probes")
    async with api_client(Path(args.kubeconfig)) as api:
        kubelet = Kubelet(api, Path(args.workdir), Path(args.behaviour) if args.behaviour else None,
                          args.loading_seconds)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner = asyncio.create_task(kubelet.run())
        await stop.wait()
        runner.cancel()
        await kubelet.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.kubelet", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True, help="admin kubeconfig of the test control plane")
    parser.add_argument("--workdir", required=True, help="where pods' volumes, hosts files and server logs go")
    parser.add_argument("--behaviour", help="JSON file: what the fake GPU process does per served model")
    parser.add_argument("--loading-seconds", type=float, default=DEFAULT_LOADING_S,
                        help=f"model loading time when the behaviour file says nothing (default {DEFAULT_LOADING_S:g})")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
