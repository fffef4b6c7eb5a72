"""What the end-to-end scenarios do to the cluster: render a stack offline, server-side apply its objects, drive
its gates through Pulumi's dynamic provider host, watch the Rollout, and stream load through the API server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx

from llmzd_infra.render.gates import CHAIN_ORDER, gate_label
from llmzd_infra.render.runner import RenderResult, render_program, unwrap_secret
from tests.support.control_plane import ControlPlane
from tests.support.engine_host import EngineHost, from_struct
from tests.support.kube_apply import KubeApi

NAMESPACE = "llm-serving"
SERVED = "chat"
ROLLOUT_API = "argoproj.io/v1alpha1"
MODEL_A = "Qwen/Qwen2.5-0.5B-Instruct"
MODEL_B = "Qwen/Qwen2.5-1.5B-Instruct"
# Streams of about 4.2 s (200 ms to the first token, then 40 tokens 100 ms apart): longer than the test
# stack's 3 s preStop, so streams are in flight on the old pods when they start to drain.
STREAM_KNOBS = {"ttft_ms": 200, "itl_ms": 100, "output_tokens": 40}
LOAD_CONCURRENCY = 16
ADDONS_OFF = {"nvidiaDevicePlugin": {"install": False}, "argoRollouts": {"install": False}}
GATE_RPC_TIMEOUT_S = 300.0

# The test stack: one small model, probes and drain shortened so a roll takes seconds, not minutes.
FAST_PROBES: dict[str, Any] = {
    "startup": {"initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 3, "failureThreshold": 120},
    "readiness": {"initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 3, "failureThreshold": 2},
    "liveness": {"initialDelaySeconds": 0, "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 3},
}
FAST_GATES: dict[str, Any] = {
    "enabled": True, "pollIntervalSeconds": 0.5, "smokeTimeoutSeconds": 30, "promotionTimeoutSeconds": 120,
    "readinessTimeoutSeconds": 60,
}


def model_config(name: str, model_id: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "model": {"id": model_id, "servedName": SERVED if name == "chat" else name},
        "image": {"repository": "vllm/vllm-openai", "tag": "v0.11.0"},
        "replicas": 1,
        "gpusPerReplica": 1,
        "modelCache": {"type": "emptyDir", "sizeLimit": "10Gi"},
        "probes": FAST_PROBES,
        "drain": {"preStopSeconds": 3, "terminationGracePeriodSeconds": 10, "shutdownMarginSeconds": 2,
                  "longestStreamSeconds": 6},
        "blueGreen": {"autoPromotionEnabled": False, "scaleDownDelaySeconds": 5, "previewReplicaCount": 1},
        "gates": FAST_GATES,
    }
    config.update(overrides)
    return config


def stack_config(*models: dict[str, Any]) -> dict[str, str]:
    """Raw config as the Pulumi CLI hands it to the program (objects JSON-encoded)."""
    return {
        "llmzd:namespace": NAMESPACE,
        "llmzd:addons": json.dumps(ADDONS_OFF),
        "llmzd:models": json.dumps(list(models)),
    }


def render(raw: dict[str, str], stack: str = "e2e") -> RenderResult:
    return render_program(raw, set(), stack)


def apply_render(api: KubeApi, result: RenderResult) -> None:
    """Server-side apply every rendered object, honouring the program's ignoreChanges as `pulumi up` would."""
    ignored = {(r.type.rsplit(":", 1)[-1], r.name): r.ignore_changes for r in result.registrations if r.custom}
    api.apply_all(result.objects, ignore_changes=lambda o: ignored.get((o["kind"], o["metadata"]["name"]), ()))


def revision_of(result: RenderResult, model: str) -> str:
    for obj in result.objects:
        if obj["kind"] == "Rollout" and obj["metadata"]["name"] == model:
            return str(obj["spec"]["template"]["metadata"]["annotations"]["llmzd.io/revision"])
    raise KeyError(f"no Rollout {model} in the render")


@dataclass
class GateOutcome:
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_gate: str | None = None
    message: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


def run_gates(
    host: EngineHost, result: RenderResult, model: str, kubeconfig: str, *, previous_revision: str | None,
    before: dict[str, Callable[[], None]] | None = None,
) -> GateOutcome:
    """The model's gates in order, as the engine runs them on `pulumi up`: Check, then Create (first deploy)
    or Update (the previous revision in the old state). Stops at the first failure, as the engine does.
    ``before`` runs a step of the test's own just before the named gate (a fault that starts mid-update)."""
    gates = [g for g in result.gates if g.name.startswith(f"{model}-gates-")]
    gates.sort(key=lambda g: CHAIN_ORDER.index(gate_label(g)))
    outcome = GateOutcome()
    for gate in gates:
        step = gate_label(gate)
        if before and step in before:
            before[step]()
        urn = f"urn:pulumi:e2e::llmzd::llmzd:index:RolloutGates$pulumi-python:dynamic/{gate.type}::{gate.name}"
        # The mocks record secret inputs (``__provider`` is one) in their wire form; the host gets the value.
        news = {**{key: unwrap_secret(value) for key, value in gate.inputs.items()}, "kubeconfig": kubeconfig}
        checked = host.check(urn, {}, news)
        assert list(checked.failures) == [], [(f.property, f.reason) for f in checked.failures]
        inputs = from_struct(checked.inputs)
        started = time.monotonic()
        try:
            if previous_revision is None:
                response = host.create(urn, inputs, timeout_s=GATE_RPC_TIMEOUT_S)
            else:
                olds = {k: v for k, v in inputs.items() if k != "kubeconfig"} | {"revision": previous_revision}
                response = host.update(urn, olds, inputs, timeout_s=GATE_RPC_TIMEOUT_S)
        except grpc.RpcError as error:
            outcome.failed_gate, outcome.message = step, str(error.details())
            outcome.seconds[step] = time.monotonic() - started
            return outcome
        outcome.seconds[step] = time.monotonic() - started
        outcome.outputs[step] = from_struct(response.properties)
    return outcome


def rollout(api: KubeApi, name: str) -> dict[str, Any]:
    found = api.get(ROLLOUT_API, "Rollout", NAMESPACE, name)
    assert found is not None, f"Rollout {NAMESPACE}/{name} does not exist"
    return found


def wait_until(what: str, check: Callable[[], bool], within_s: float = 60.0, every_s: float = 0.2) -> float:
    """Seconds it took; fails naming what it waited for."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"waited {within_s:g} s for {what}")
        time.sleep(every_s)
    return time.monotonic() - started


def pods(api: KubeApi, model: str) -> list[dict[str, Any]]:
    return api.list("v1", "Pod", NAMESPACE, labelSelector=f"app.kubernetes.io/instance={model}")


def pod_hashes(api: KubeApi, model: str, *, ready_only: bool = False) -> set[str]:
    hashes = set()
    for pod in pods(api, model):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        conditions = pod.get("status", {}).get("conditions") or []
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        if ready or not ready_only:
            hashes.add(pod["metadata"]["labels"].get("rollouts-pod-template-hash", ""))
    return hashes


def service_selector_hash(api: KubeApi, service: str) -> str | None:
    found = api.get("v1", "Service", NAMESPACE, service)
    assert found is not None, f"Service {service} does not exist"
    return (found["spec"].get("selector") or {}).get("rollouts-pod-template-hash")


def endpoint_ips(api: KubeApi, service: str) -> set[str]:
    selector = f"kubernetes.io/service-name={service}"
    slices = api.list("discovery.k8s.io/v1", "EndpointSlice", NAMESPACE, labelSelector=selector)
    return {
        address
        for s in slices for endpoint in s.get("endpoints") or []
        if (endpoint.get("conditions") or {}).get("ready")
        for address in endpoint.get("addresses") or []
    }


def proxy_url(plane: ControlPlane, service: str, port: int = 8000, namespace: str = NAMESPACE) -> str:
    return f"{plane.server}/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"


@dataclass
class LoadResult:
    summary: dict[str, Any]
    records: list[Any]
    origin: float  # the monotonic clock reading the records' times count from


@contextmanager
def streaming_load(plane: ControlPlane, service: str, *, concurrency: int, max_tokens: int,
                   namespace: str = NAMESPACE, served: str = SERVED) -> Iterator[
        Callable[[], LoadResult]]:
    """loadgen streams through the API server's service proxy in a thread of its own until the body ends;
    the yielded function stops it and returns the report."""
    from loadgen.config import LoadConfig
    from loadgen.runner import run_load

    stop_event: asyncio.Event | None = None
    loop = asyncio.new_event_loop()
    result: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        nonlocal stop_event
        stop_event = asyncio.Event()
        config = LoadConfig(
            url=proxy_url(plane, service, namespace=namespace), model=served, concurrency=concurrency, duration=3600.0,
            timeout=60.0, max_tokens=max_tokens,
        )
        headers = {"Authorization": f"Bearer {plane.token}"}
        # HTTP/2 as the gates use it (see llmzd_infra/gates/kube.py on the API server proxy over HTTP/1.1).
        async with httpx.AsyncClient(headers=headers, verify=str(plane.ca_path), timeout=60.0, http2=True) as client:
            ready.set()
            result["report"] = await run_load(config, client=client, stop=stop_event)

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), name="e2e-load", daemon=True)
    thread.start()
    assert ready.wait(30), "the load generator did not start within 30 s"

    def finish() -> LoadResult:
        assert stop_event is not None
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout=120)
        assert not thread.is_alive(), "the load generator did not stop within 120 s of being asked to"
        report = result["report"]
        return LoadResult(report.summary(), list(report.records), report.origin)

    try:
        yield finish
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(lambda: stop_event.set() if stop_event else None)
            thread.join(timeout=120)


def write_behaviour(path: Path, table: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(table))
    tmp.replace(path)
