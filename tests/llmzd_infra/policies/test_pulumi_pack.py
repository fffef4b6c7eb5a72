"""The CrossGuard wrappers: called with ResourceValidationArgs, and through the pack's own gRPC server."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from llmzd_infra.policies import RULES, STACK_RULES
from tests.llmzd_infra.policies.k8s_objects import config_map, vllm_container, vllm_rollout
from tests.llmzd_infra.policies.pack_loader import PACK_DIR, load_pack_module

ROLLOUT_TYPE = "kubernetes:argoproj.io/v1alpha1:Rollout"
CONFIG_MAP_TYPE = "kubernetes:core/v1:ConfigMap"
PACK_START_TIMEOUT_S = 20.0
RPC_TIMEOUT_S = 10.0


def _args(resource_type: str, props: dict[str, Any]) -> ResourceValidationArgs:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    name = props["metadata"]["name"]
    urn = f"urn:pulumi:dev::llmzd::{resource_type}::{name}"
    # The policy host hands validations the inputs wrapped in its unknown-checking proxy, not plain dicts.
    return ResourceValidationArgs(resource_type, unknown_checking_proxy(props), urn, name, options, None)


def _policy(name: str) -> ResourceValidationPolicy:
    (policy,) = [p for p in load_pack_module().build_policies() if p.name == name]
    return policy


def _validate(policy: ResourceValidationPolicy, resource_type: str, props: dict[str, Any]) -> list[str]:
    reported: list[str] = []
    policy.validate(_args(resource_type, props), lambda message, urn=None: reported.append(message))
    return reported


def test_pack_has_one_policy_per_rule_at_its_level() -> None:
    policies = load_pack_module().build_policies()
    assert [p.name for p in policies] == [rule.name for rule in (*RULES, *STACK_RULES)]
    assert {p.enforcement_level for p in policies[: len(RULES)]} == {EnforcementLevel.MANDATORY}
    assert [p.enforcement_level for p in policies[len(RULES):]] == [EnforcementLevel.ADVISORY]


def test_stack_policy_flags_a_budget_that_lets_a_drain_evict_the_only_pod() -> None:
    from pulumi_policy import PolicyResource, StackValidationArgs

    from tests.llmzd_infra.policies.k8s_objects import disruption_budget

    def resource(resource_type: str, props: dict[str, Any]) -> PolicyResource:
        options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        name = props["metadata"]["name"]
        urn = f"urn:pulumi:dev::llmzd::{resource_type}::{name}"
        return PolicyResource(resource_type, props, urn, name, options, None, None, [], {})

    (policy,) = [p for p in load_pack_module().build_policies() if p.name == "pdb-drain-keeps-a-pod-serving"]
    pdb = {k: v for k, v in disruption_budget(max_unavailable=1).items() if k not in ("apiVersion", "kind")}
    rollout = {k: v for k, v in vllm_rollout().items() if k not in ("apiVersion", "kind")}
    reported: list[str] = []
    args = StackValidationArgs([resource(ROLLOUT_TYPE, rollout),
                                resource("kubernetes:policy/v1:PodDisruptionBudget", pdb)], None)
    policy.validate(args, lambda message, urn=None: reported.append(message))
    assert len(reported) == 1 and "never finishes" in reported[0]


FAILING_ROLLOUTS: dict[str, dict[str, Any]] = {
    "vllm-probes-present": vllm_rollout(container={**vllm_container(), "startupProbe": {}}),
    "vllm-readiness-checks-model": vllm_rollout(
        container={**vllm_container(), "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}}}
    ),
    "vllm-prestop-drain": vllm_rollout(container=vllm_container(drain_seconds=120), grace_seconds=90),
    "bluegreen-scale-down-covers-drain": vllm_rollout(scale_down_delay=10),
    "vllm-image-pinned": vllm_rollout(container=vllm_container(image="vllm/vllm-openai:latest")),
    "vllm-gpu-limits-set": vllm_rollout(container=vllm_container(gpus=0)),
    "bluegreen-auto-promotion-gated": vllm_rollout(auto_promotion=True, gates=False),
}


@pytest.mark.parametrize("policy_name", sorted(FAILING_ROLLOUTS))
def test_each_rollout_policy_passes_the_reference_and_fails_its_breakage(policy_name: str) -> None:
    policy = _policy(policy_name)
    assert _validate(policy, ROLLOUT_TYPE, vllm_rollout()) == []
    reported = _validate(policy, ROLLOUT_TYPE, FAILING_ROLLOUTS[policy_name])
    assert len(reported) == 1


def test_config_map_policy_passes_clean_and_fails_token() -> None:
    policy = _policy("configmap-no-secrets")
    assert _validate(policy, CONFIG_MAP_TYPE, config_map()) == []
    assert "names a credential" in _validate(policy, CONFIG_MAP_TYPE, config_map(HF_TOKEN="x"))[0]


def test_policies_ignore_other_resource_types() -> None:
    policy = _policy("vllm-image-pinned")
    broken = FAILING_ROLLOUTS["vllm-image-pinned"]
    assert _validate(policy, "kubernetes:apps/v1:Deployment", broken) == []


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(json.loads(json.dumps(props)), struct)
    return struct


def _request(rollout: dict[str, Any]) -> analyzer_pb2.AnalyzeRequest:
    urn = "urn:pulumi:dev::llmzd::kubernetes:argoproj.io/v1alpha1:Rollout::vllm"
    return analyzer_pb2.AnalyzeRequest(type=ROLLOUT_TYPE, properties=_struct(rollout), urn=urn, name="vllm")


def test_pack_process_reports_violations_over_grpc() -> None:
    """Start policy/__main__.py as Pulumi does and call Analyze ; numbers arrive as floats."""
    process = subprocess.Popen(
        [sys.executable, "-u", str(PACK_DIR / "__main__.py")],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port_line = _read_port_line(process)
        with grpc.insecure_channel(f"127.0.0.1:{port_line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=PACK_START_TIMEOUT_S)
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            long_drain = vllm_container(drain_seconds=120)
            broken = vllm_rollout(container=long_drain, scale_down_delay=10, gates=False, auto_promotion=True)
            response = stub.Analyze(_request(broken), timeout=RPC_TIMEOUT_S)
            clean = stub.Analyze(_request(vllm_rollout()), timeout=RPC_TIMEOUT_S)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert sorted(d.policyName for d in response.diagnostics) == [
        "bluegreen-auto-promotion-gated",
        "bluegreen-scale-down-covers-drain",
        "vllm-prestop-drain",
    ]
    assert {d.policyPackName for d in response.diagnostics} == {"llmzd-zero-downtime"}
    assert list(clean.diagnostics) == []


def _read_port_line(process: subprocess.Popen[str]) -> int:
    """The pack prints its gRPC port as its first stdout line; bounded so a crash fails fast with stderr."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=PACK_START_TIMEOUT_S):
        process.kill()
        stderr = process.stderr.read() if process.stderr else ""
        raise AssertionError(f"pack printed no port within {PACK_START_TIMEOUT_S}s: {stderr}")
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        stderr = process.stderr.read() if process.stderr else ""
        raise AssertionError(f"pack did not print a port (got {line!r}): {stderr}")
    return int(line)
