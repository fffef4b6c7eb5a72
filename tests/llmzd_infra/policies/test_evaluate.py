from __future__ import annotations

import dataclasses

import pytest

from llmzd_infra.policies import RULES, Violation, evaluate
from tests.llmzd_infra.policies import k8s_objects as k8s
from tests.llmzd_infra.policies.k8s_objects import config_map, vllm_container, vllm_rollout


def test_reference_objects_have_no_violations() -> None:
    assert evaluate([k8s.namespace_object(), config_map(), k8s.service(), vllm_rollout()]) == []


def test_violations_name_rule_level_kind_and_object() -> None:
    bad_rollout = vllm_rollout(name="big", container=vllm_container(image="vllm/vllm-openai:latest"))
    bad_map = config_map(name="big-config", HF_TOKEN="x")
    violations = evaluate([bad_rollout, bad_map, k8s.service()])
    assert [(v.policy, v.level, v.kind, v.name) for v in violations] == [
        ("vllm-image-pinned", "mandatory", "Rollout", "big"),
        ("configmap-no-secrets", "mandatory", "ConfigMap", "big-config"),
    ]


def test_rules_apply_only_to_their_api_version_and_kind() -> None:
    deployment = vllm_rollout(auto_promotion=True, gates=False)
    deployment["apiVersion"] = "apps/v1"
    deployment["kind"] = "Deployment"
    assert evaluate([deployment]) == []


def test_violation_is_frozen() -> None:
    violation = Violation("p", "mandatory", "Rollout", "n", "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.policy = "other"  # type: ignore[misc]


def test_rule_names_are_unique_and_types_are_pulumi_tokens() -> None:
    assert len({rule.name for rule in RULES}) == len(RULES)
    assert {rule.pulumi_type for rule in RULES} == {
        "kubernetes:argoproj.io/v1alpha1:Rollout",
        "kubernetes:core/v1:ConfigMap",
    }


@pytest.mark.parametrize(("replicas", "max_unavailable", "flagged"), [(1, 1, True), (2, 2, True), (2, 1, False),
                                                                      (1, 0, False)])
def test_pdb_that_lets_a_drain_evict_every_pod_is_advisory(replicas: int, max_unavailable: int, flagged: bool) -> None:
    from llmzd_infra.policies import evaluate
    from tests.llmzd_infra.policies.k8s_objects import disruption_budget, vllm_rollout

    objects = [vllm_rollout(replicas=replicas), disruption_budget(max_unavailable=max_unavailable)]
    found = [v for v in evaluate(objects) if v.policy == "pdb-drain-keeps-a-pod-serving"]
    assert bool(found) is flagged
    if flagged:
        assert found[0].level == "advisory" and found[0].kind == "PodDisruptionBudget"
        assert f"maxUnavailable {max_unavailable} with {replicas} replica(s)" in found[0].message
