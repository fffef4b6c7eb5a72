"""RolloutGates under Pulumi mocks: one chain per model, in order, each gate depending on the previous one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import rpc

from llmzd_infra.components.rollout_gates import RolloutGates, RolloutGatesArgs
from llmzd_infra.config import GateSettings
from llmzd_infra.render.mocks import RecordingMocks, RecordingMonitor
from tests.llmzd_infra.gates.helpers import gate_args

GATE_TYPE_PREFIX = "pulumi-python:dynamic/llmzd:"


class SecretAwareMonitor(RecordingMonitor):
    """Also keeps which input properties arrived at the engine marked secret."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.secret_inputs: dict[str, set[str]] = {}

    def RegisterResource(self, request: Any) -> Any:
        fields = request.object.fields
        self.secret_inputs[request.name] = {
            key for key, value in fields.items()
            if value.HasField("struct_value")
            and value.struct_value.fields.get(rpc._special_sig_key, None) is not None
            and value.struct_value.fields[rpc._special_sig_key].string_value == rpc._special_secret_sig
        }
        return super().RegisterResource(request)


@pytest.fixture(autouse=True)
def event_loop_for_pulumi() -> Iterator[None]:
    """Pulumi's mock runtime needs a current event loop; an earlier asyncio.run() leaves none behind."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


def run_component(args: RolloutGatesArgs) -> tuple[SecretAwareMonitor, RecordingMocks, dict[str, Any]]:
    mocks = RecordingMocks()
    monitor = SecretAwareMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="llmzd", stack="test", preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        rollout = k8s.apiextensions.CustomResource(
            "chat", api_version="argoproj.io/v1alpha1", kind="Rollout", metadata={"name": "chat"}, spec={}
        )
        gates = RolloutGates("chat-gates", args, opts=pulumi.ResourceOptions(depends_on=[rollout]))
        return pulumi.Output.from_input(gates.outputs).apply(outputs.update)

    program()
    return monitor, mocks, outputs


def gate_chain(monitor: RecordingMonitor) -> list[Any]:
    return [r for r in monitor.registrations if r.type.startswith(GATE_TYPE_PREFIX)]


def test_chain_runs_in_order_each_after_the_previous() -> None:
    args = gate_args()
    monitor, _, _ = run_component(RolloutGatesArgs(**{**vars(args), "kubeconfig": "apiVersion: v1"}))
    chain = gate_chain(monitor)
    assert [(r.name, r.type.removeprefix(GATE_TYPE_PREFIX)) for r in chain] == [
        ("chat-gates-readiness", "ReadinessGate"),
        ("chat-gates-smoke-preview", "SmokeGate"),
        ("chat-gates-promotion", "PromotionGate"),
        ("chat-gates-smoke-stable", "SmokeGate"),
    ]
    rollout_urn = next(r.urn for r in monitor.registrations if r.name == "chat")
    assert rollout_urn in chain[0].dependencies
    for previous, gate in itertools.pairwise(chain):
        assert previous.urn in gate.dependencies, gate.name
    component = next(r for r in monitor.registrations if r.type == "llmzd:index:RolloutGates")
    assert all(r.parent == component.urn for r in chain)


def test_smoke_off_leaves_readiness_then_promotion() -> None:
    args = gate_args(smoke=False)
    monitor, _, outputs = run_component(args)
    chain = gate_chain(monitor)
    assert [r.name for r in chain] == ["chat-gates-readiness", "chat-gates-promotion"]
    assert chain[0].urn in chain[1].dependencies
    assert outputs["smokePreview"] is None and outputs["smokeStable"] is None


def test_kubeconfig_reaches_the_engine_as_a_secret_and_revision_as_plain() -> None:
    args = gate_args()
    monitor, mocks, _ = run_component(RolloutGatesArgs(**{**vars(args), "kubeconfig": "apiVersion: v1"}))
    for gate in gate_chain(monitor):
        assert "kubeconfig" in monitor.secret_inputs[gate.name]
        assert "revision" not in monitor.secret_inputs[gate.name]
    readiness = next(r for r in mocks.resources if r.name == "chat-gates-readiness")
    assert readiness.inputs["revision"] == "rev-new-2222"
    assert readiness.inputs["timeoutSeconds"] == 600  # derived from the startup probe budget


def test_outputs_expose_each_gates_results() -> None:
    _, _, outputs = run_component(gate_args())
    assert outputs["revision"] == "rev-new-2222"
    assert set(outputs["readiness"]) == {"podHash", "service", "modelIds", "startedAt", "finishedAt", "secondsWaited"}
    assert "ttftSeconds" in outputs["smokeStable"] and "result" in outputs["promotion"]


@pytest.mark.parametrize(("configured", "expected"), [(None, 600), (45, 45)])
def test_readiness_timeout_comes_from_settings_or_startup_budget(configured: int | None, expected: int) -> None:
    args = RolloutGatesArgs(**{**vars(gate_args()), "settings": GateSettings(readiness_timeout_seconds=configured)})
    assert args.readiness_timeout_seconds == expected
