"""Scenarios 1-6: the blue/green flow on the real API server, controllers and Argo Rollouts controller, with the
test kubelet's vLLM test servers as the only fake. The gates run in Pulumi's dynamic provider host, spoken to
over gRPC as the engine does. The scenarios run in file order and build on each other (one model, ``chat``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import (
    FAST_GATES,
    LOAD_CONCURRENCY,
    MODEL_A,
    MODEL_B,
    NAMESPACE,
    STREAM_KNOBS,
    GateOutcome,
    apply_render,
    endpoint_ips,
    model_config,
    pod_hashes,
    pods,
    render,
    revision_of,
    rollout,
    run_gates,
    service_selector_hash,
    stack_config,
    streaming_load,
    wait_until,
)
from tests.e2e.summary import Summary
from tests.support.control_plane import ControlPlane
from tests.support.engine_host import EngineHost
from tests.support.kube_apply import KubeApi

pytestmark = pytest.mark.e2e

NEVER_READY = "example/never-ready-7B"
BROKEN = "example/answers-5xx-7B"
BROKEN_ANSWERS_5XX = {"*": {"knobs": STREAM_KNOBS}, BROKEN: {"knobs": {**STREAM_KNOBS, "error_5xx_rate": 1.0}}}


class Deployed:
    """What the scenarios share: the revision the stable Service serves now."""

    revision: str | None = None
    model_id: str | None = None


@pytest.fixture(autouse=True)
def streaming_servers(behaviour: Callable[[dict[str, Any]], None]) -> None:
    behaviour({"*": {"knobs": STREAM_KNOBS, "loading_seconds": 2}})


def _deploy(kube: KubeApi, model_id: str, **overrides: Any) -> Any:
    result = render(stack_config(model_config("chat", model_id, **overrides)))
    apply_render(kube, result)
    return result


def _rollout_status(kube: KubeApi) -> dict[str, Any]:
    return dict(rollout(kube, "chat").get("status") or {})


def _gates(engine_host: EngineHost, plane: ControlPlane, result: Any) -> GateOutcome:
    return run_gates(engine_host, result, "chat", plane.kubeconfig(), previous_revision=Deployed.revision)


def _serving_hash(kube: KubeApi) -> str | None:
    return service_selector_hash(kube, "chat-stable")


@pytest.mark.scenario("first-deploy")
def test_first_deploy_becomes_healthy_and_gates_pass(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost
) -> None:
    result = _deploy(kube, MODEL_A)
    outcome = _gates(engine_host, control_plane, result)
    assert outcome.failed_gate is None, outcome.message
    assert outcome.outputs["promotion"]["result"] == "already-promoted"
    assert outcome.outputs["readiness"]["modelIds"] == ["chat"]

    status = _rollout_status(kube)
    assert status["phase"] == "Healthy"
    assert _serving_hash(kube) == status["currentPodHash"] == status["stableRS"]
    ready_ips = {p["status"]["podIP"] for p in pods(kube, "chat") if p["metadata"]["labels"].get(
        "rollouts-pod-template-hash") == status["stableRS"]}
    wait_until("the stable Service's endpoints to be the ready pods",
               lambda: endpoint_ips(kube, "chat-stable") == ready_ips, within_s=30)
    Deployed.revision, Deployed.model_id = revision_of(result, "chat"), MODEL_A


class ReadyWatch:
    """Notes when a pod of ``pod_hash`` first shows Ready, polling the API server every 0.1 s."""

    def __init__(self, kube_client_factory: Callable[[], Any]) -> None:
        self.factory = kube_client_factory
        self.ready_at: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.factory() as client:
            from tests.support.kube_apply import KubeApi as Api

            api = Api(client)
            while not self.stop.is_set():
                for pod_hash in pod_hashes(api, "chat", ready_only=True):
                    self.ready_at.setdefault(pod_hash, time.monotonic())
                time.sleep(0.1)

    def __enter__(self) -> ReadyWatch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.mark.scenario("model-change-under-load")
def test_model_change_under_streaming_load_drops_nothing(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost, summary: Summary
) -> None:
    assert Deployed.revision, "needs the first deploy"
    old_hash = _serving_hash(kube)
    with streaming_load(control_plane, "chat-stable", concurrency=LOAD_CONCURRENCY, max_tokens=40) as finish, \
            ReadyWatch(control_plane.client) as watch:
        time.sleep(3)  # every stream slot busy before the change
        result = _deploy(kube, MODEL_B)
        outcome = _gates(engine_host, control_plane, result)
        promoted_at = time.monotonic()
        assert outcome.failed_gate is None, outcome.message
        new_hash = _serving_hash(kube)
        assert new_hash != old_hash
        wait_until("the old pods to drain and go", lambda: old_hash not in pod_hashes(kube, "chat"), within_s=60)
        time.sleep(2)  # load keeps running on the new pods after the old ones are gone
        load = finish()

    s = load.summary
    incomplete = s["requests"] - s["completed"]
    summary.data["switch"] = {
        "requests": s["requests"], "failed": s["failed"], "incomplete_streams": incomplete,
        "completion_rate": s["stream_completion_rate"], "failures": s["failures"],
        "status_codes": s["status_codes"], "concurrency": LOAD_CONCURRENCY,
        "failed_requests": _failed_records(load, switched_at=promoted_at),
    }
    assert new_hash in watch.ready_at, "never saw the new pods Ready"
    smoke_s = outcome.seconds.get("smoke-preview", 0.0)
    overhead = promoted_at - outcome.seconds.get("smoke-stable", 0.0) - watch.ready_at[new_hash] - smoke_s
    summary.data["gate_overhead_s"] = round(overhead, 2)
    summary.data["gate_seconds"] = {k: round(v, 2) for k, v in outcome.seconds.items()}

    assert s["requests"] > LOAD_CONCURRENCY
    assert s["failed"] == 0, s["failures"]
    assert incomplete == 0
    assert s["stream_completion_rate"] == 1.0
    status = _rollout_status(kube)
    assert status["phase"] == "Healthy" and status["stableRS"] == new_hash
    Deployed.revision, Deployed.model_id = revision_of(result, "chat"), MODEL_B


def _failed_records(load: Any, *, switched_at: float) -> list[dict[str, Any]]:
    """What a failed request was doing, on the promotion clock (negative: before the gates finished)."""
    shift = load.origin - switched_at
    return [
        {"start_s": round(r.start + shift, 3), "end_s": round(r.end + shift, 3),
         "failure": r.failure.value, "detail": r.detail, "tokens": r.tokens}
        for r in load.records if r.failure is not None and not r.cancelled
    ]


def _failing_update(
    kube: KubeApi, plane: ControlPlane, engine_host: EngineHost, model_id: str, **overrides: Any
) -> tuple[GateOutcome, Any]:
    """A gated update expected to fail, under streaming load on the stable Service."""
    stable_before = _serving_hash(kube)
    with streaming_load(plane, "chat-stable", concurrency=8, max_tokens=40) as finish:
        time.sleep(2)
        result = _deploy(kube, model_id, **overrides)
        outcome = _gates(engine_host, plane, result)
        assert _serving_hash(kube) == stable_before
        load = finish()
    return outcome, load


@pytest.mark.scenario("never-ready-aborts")
def test_revision_that_never_becomes_ready_is_aborted_and_stable_keeps_serving(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost,
    behaviour: Callable[[dict[str, Any]], None],
) -> None:
    behaviour({"*": {"knobs": STREAM_KNOBS, "loading_seconds": 2}, NEVER_READY: {"never_ready": True}})
    stable_before = _serving_hash(kube)
    gates = {**FAST_GATES, "readinessTimeoutSeconds": 15}
    outcome, load = _failing_update(kube, control_plane, engine_host, NEVER_READY, gates=gates)
    assert outcome.failed_gate == "readiness"
    assert "aborted rollout llm-serving/chat" in outcome.message
    assert f"pod hash {stable_before}" in outcome.message
    status = _rollout_status(kube)
    assert status.get("abort") is True and status["stableRS"] == stable_before
    assert load.summary["failed"] == 0 and load.summary["stream_completion_rate"] == 1.0
    _restore(kube)


@pytest.mark.scenario("smoke-fails-aborts")
def test_smoke_failure_on_preview_aborts_and_stable_is_unchanged(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost,
    behaviour: Callable[[dict[str, Any]], None],
) -> None:
    behaviour(BROKEN_ANSWERS_5XX)
    stable_before = _serving_hash(kube)
    outcome, load = _failing_update(kube, control_plane, engine_host, BROKEN)
    assert outcome.failed_gate == "smoke-preview", outcome.message
    assert "aborted rollout llm-serving/chat" in outcome.message
    status = _rollout_status(kube)
    assert status.get("abort") is True and status["stableRS"] == stable_before
    assert load.summary["failed"] == 0 and load.summary["stream_completion_rate"] == 1.0
    # Scenario 6 picks up from this aborted state.


@pytest.mark.scenario("retry-after-abort")
def test_retry_after_abort_runs_the_checks_again_before_traffic_moves(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost,
    behaviour: Callable[[dict[str, Any]], None],
) -> None:
    behaviour(BROKEN_ANSWERS_5XX)  # the aborted preview pods keep failing until the test says otherwise
    stable_before = _serving_hash(kube)
    status = _rollout_status(kube)
    assert status.get("abort") is True, "needs the aborted rollout of the smoke scenario"
    _retry(control_plane)
    # The revision comes back as preview and waits for promotion: no traffic moves by itself.
    _wait_for_pause(kube)
    time.sleep(3)
    assert _serving_hash(kube) == stable_before
    # `pulumi up` after a retry runs the gates again: the broken revision fails its smoke check again.
    broken = render(stack_config(model_config("chat", BROKEN)))
    again = _gates(engine_host, control_plane, broken)
    assert again.failed_gate == "smoke-preview", again.message
    assert _serving_hash(kube) == stable_before
    # Once the cause is gone, retry + the gates promote it.
    behaviour({"*": {"knobs": STREAM_KNOBS}})  # the kubelet passes the change to the running preview pods
    _retry(control_plane)
    _wait_for_pause(kube)
    fixed = _gates(engine_host, control_plane, broken)
    assert fixed.failed_gate is None, fixed.message
    assert _serving_hash(kube) != stable_before
    Deployed.revision, Deployed.model_id = revision_of(broken, "chat"), BROKEN


@pytest.mark.scenario("nothing-to-abort-to")
def test_check_failing_on_a_first_deploy_says_there_is_nothing_to_abort_to(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost,
    behaviour: Callable[[dict[str, Any]], None],
) -> None:
    behaviour(BROKEN_ANSWERS_5XX)
    result = render(stack_config(model_config("solo", BROKEN)))
    apply_render(kube, result)
    outcome = run_gates(engine_host, result, "solo", control_plane.kubeconfig(), previous_revision=None)
    assert outcome.failed_gate == "smoke-preview", outcome.message
    assert "did not abort rollout llm-serving/solo: there is nothing to abort to" in outcome.message
    assert "it is the Rollout's first revision" in outcome.message
    assert "aborted rollout" not in outcome.message
    status = dict(rollout(kube, "solo").get("status") or {})
    assert not status.get("abort")
    # What the message says is so: Argo made the first ReplicaSet stable and the stable Service serves it.
    assert status["stableRS"] == status["currentPodHash"] == service_selector_hash(kube, "solo-stable")
    kube.delete("argoproj.io/v1alpha1", "Rollout", NAMESPACE, "solo")  # the garbage collector takes its pods
    wait_until("the solo pods to go", lambda: not pods(kube, "solo"), within_s=60)


@pytest.mark.scenario("nothing-to-abort-to")
def test_check_failing_after_the_switch_says_traffic_already_moved(
    kube: KubeApi, control_plane: ControlPlane, engine_host: EngineHost,
    behaviour: Callable[[dict[str, Any]], None],
) -> None:
    behaviour({"*": {"knobs": STREAM_KNOBS}})
    result = _deploy(kube, MODEL_A)
    fails_after_switch = {"*": {"knobs": STREAM_KNOBS}, MODEL_A: {"knobs": {**STREAM_KNOBS, "error_5xx_rate": 1.0}}}
    outcome = run_gates(engine_host, result, "chat", control_plane.kubeconfig(), previous_revision=Deployed.revision,
                        before={"smoke-stable": lambda: behaviour(fails_after_switch)})
    assert outcome.failed_gate == "smoke-stable", outcome.message
    assert "did not abort rollout llm-serving/chat: there is nothing to abort to" in outcome.message
    assert "traffic has already switched to it" in outcome.message
    assert f"revert the model's llmzd config to revision {Deployed.revision}'s settings" in outcome.message
    status = _rollout_status(kube)
    assert not status.get("abort") and status["stableRS"] == _serving_hash(kube) == status["currentPodHash"]
    Deployed.revision, Deployed.model_id = revision_of(result, "chat"), MODEL_A


def _wait_for_pause(kube: KubeApi) -> None:
    wait_until("the retried revision to pause for promotion", lambda: any(
        c.get("reason") == "BlueGreenPause" for c in _rollout_status(kube).get("pauseConditions") or []),
        within_s=60)


def _retry(plane: ControlPlane) -> None:
    """Exactly what `kubectl argo rollouts retry rollout chat` sends (argo-rollouts v1.9.1,
    pkg/kubectl-argo-rollouts/cmd/retry/retry.go): a merge patch of the status subresource."""
    with plane.client() as client:
        response = client.patch(
            f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/rollouts/chat/status",
            content=b'{"status":{"abort":false}}', headers={"Content-Type": "application/merge-patch+json"},
        )
    assert response.status_code == 200, response.text


def _restore(kube: KubeApi) -> None:
    """Put the last good config back, as a user reverting the config and running `pulumi up` would: the gates'
    state still holds the stable revision (a failed update records nothing), so no gate runs. Argo takes the
    template back to the stable ReplicaSet and drops the abort (its "fast rollback" path)."""
    assert Deployed.model_id
    _deploy(kube, Deployed.model_id)
    wait_until("the Rollout to be Healthy on the stable revision again", lambda: (
        (status := _rollout_status(kube)).get("phase") == "Healthy" and not status.get("abort")), within_s=60)
