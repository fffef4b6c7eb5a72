"""Check, Diff and Create through Pulumi's own dynamic provider host over gRPC, as the engine drives them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2

from llmzd_infra.components.rollout_gates import promotion_props
from llmzd_infra.gates.providers import PromotionGateProvider, ReadinessGateProvider, SmokeGateProvider
from tests.llmzd_infra.gates.flow import fake_world
from tests.llmzd_infra.gates.helpers import all_props, blue_green_rollout, engine_props, gate_args
from tests.support.engine_host import EngineHost, from_struct, running_engine_host
from tests.support.fake_kube_api import FakeKubeAPI, kubeconfig_yaml

URN = "urn:pulumi:test::llmzd::llmzd:index:RolloutGates$pulumi-python:dynamic/llmzd:PromotionGate::chat-gates-promotion"


def test_check_and_diff_over_grpc(tmp_path: Path) -> None:
    props = engine_props(promotion_props(gate_args()), kubeconfig_yaml("https://k:6443", "tok-0123456789"))
    news = EngineHost.with_provider(PromotionGateProvider(), {**props, "port": 8000.0})
    with running_engine_host(tmp_path / "host.stderr") as host:
        checked = host.check(URN, {}, news)
        assert list(checked.failures) == []
        inputs = from_struct(checked.inputs)
        assert inputs["port"] == 8000 and inputs["revision"] == "rev-new-2222"

        bad = host.check(URN, {}, {**news, "timeoutSeconds": -1, "side": "x"})
        assert sorted((f.property, f.reason) for f in bad.failures) == [
            ("side", "side is not an input of the promotion gate"),
            ("timeoutSeconds", "timeoutSeconds must be greater than 0"),
        ]

        olds = {k: v for k, v in inputs.items() if k != "kubeconfig"}
        assert host.diff(URN, olds, news).changes == provider_pb2.DiffResponse.DIFF_NONE
        changed = host.diff(URN, olds, {**news, "revision": "rev-3333"})
        assert changed.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert list(changed.replaces) == []
        same_pod_template = host.diff(URN, olds, {**news, "kubeContext": "other", "pollIntervalSeconds": 2.0})
        assert same_pod_template.changes == provider_pb2.DiffResponse.DIFF_NONE


def gate_urn(name: str, gate_type: str) -> str:
    return f"urn:pulumi:test::llmzd::llmzd:index:RolloutGates$pulumi-python:dynamic/llmzd:{gate_type}::{name}"


def test_create_over_grpc_runs_the_whole_chain(
    fake_kube_api: FakeKubeAPI, fake_vllm: Callable[..., Any], tmp_path: Path
) -> None:
    providers = {
        "readiness": ("ReadinessGate", ReadinessGateProvider()),
        "smoke-preview": ("SmokeGate", SmokeGateProvider()),
        "promotion": ("PromotionGate", PromotionGateProvider()),
        "smoke-stable": ("SmokeGate", SmokeGateProvider()),
    }
    stderr_path = tmp_path / "host.stderr"
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(), new_phase="loading") as world:
        world.later(0.4, lambda: world.new_pods.control(phase="ready"))
        props = all_props(fake_kube_api, gate_args())
        created: dict[str, dict[str, Any]] = {}
        with running_engine_host(stderr_path) as host:
            for gate, (gate_type, provider) in providers.items():
                urn = gate_urn(f"chat-gates-{gate}", gate_type)
                checked = host.check(urn, {}, EngineHost.with_provider(provider, props[gate]))
                assert list(checked.failures) == []
                response = host.create(urn, from_struct(checked.inputs))
                assert response.id.startswith(f"{gate.split('-')[0]}:llm-serving/chat")
                created[gate] = from_struct(response.properties)
    assert created["readiness"]["modelIds"] == ["test-model"]
    assert created["promotion"]["result"] == "promoted"
    assert created["smoke-stable"]["ttftSeconds"] > 0
    assert all("kubeconfig" not in outs for outs in created.values())
    assert len(fake_kube_api.promotion_patches()) == 1 and fake_kube_api.abort_patches() == []
    assert "chat readiness (preview): waiting: " in stderr_path.read_text()  # progress reaches the CLI's stream


def test_failed_create_over_grpc_carries_the_message(
    fake_kube_api: FakeKubeAPI, fake_vllm: Callable[..., Any], tmp_path: Path
) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(), new_phase="loading"):
        props = all_props(fake_kube_api, gate_args(), readiness_timeout=0.5)["readiness"]
        urn = gate_urn("chat-gates-readiness", "ReadinessGate")
        with running_engine_host(tmp_path / "host.stderr") as host:
            checked = host.check(urn, {}, EngineHost.with_provider(ReadinessGateProvider(), props))
            with pytest.raises(grpc.RpcError) as info:
                host.create(urn, from_struct(checked.inputs))
    details = info.value.details()
    assert 'llmzd gate failed: model "chat", revision rev-new-2222, step "readiness (preview)"' in details
    assert "aborted rollout llm-serving/chat; stable still on revision rev-old-1111" in details
    assert fake_kube_api.token not in details
    assert len(fake_kube_api.abort_patches()) == 1 and fake_kube_api.promotion_patches() == []


def test_six_models_gate_at_once_through_the_dynamic_provider_host(tmp_path: Path) -> None:
    """The host's pool has 4 threads; without widening, gates 5 and 6 (and Checks) wait a whole gate behind."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tests.llmzd_infra.gates.slow_gate import WAIT_S, SlowGateProvider

    models = 6
    with running_engine_host(tmp_path / "host.stderr") as host:
        def create(index: int) -> float:
            props = EngineHost.with_provider(SlowGateProvider(), {"namespace": "ns", "rolloutName": f"m{index}"})
            host.create(gate_urn(f"m{index}-gates-readiness", "ReadinessGate"), props)
            return time.monotonic()

        # Warm up: unpickling the provider and the first widening happen in this first call.
        create(99)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=models + 1) as pool:
            gates = [pool.submit(create, index) for index in range(models)]
            time.sleep(0.3)  # every gate is now blocking in the host
            check_started = time.monotonic()
            props = EngineHost.with_provider(SlowGateProvider(), {"namespace": "ns", "rolloutName": "other"})
            host.check(gate_urn("other", "ReadinessGate"), {}, props)
            check_seconds = time.monotonic() - check_started
            finished = [future.result(timeout=30) for future in gates]
    total = max(finished) - started
    # All six gated in about one gate's time (two rounds, 3 s, with the host's 4 threads), and a Check is answered
    # while they block.
    print(f"6 gates: {total:.2f} s, Check while they block: {check_seconds:.2f} s")
    assert total < WAIT_S * 1.6, total
    assert check_seconds < WAIT_S / 2, check_seconds
