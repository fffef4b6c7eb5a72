"""Scenario 7: every object the offline render writes is accepted by the real API server (dry-run create by
server-side apply), with Argo Rollouts' own CRD schema for the Rollout."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from llmzd_infra.render.stack_file import read_stack_config
from tests.e2e.harness import model_config, render, stack_config
from tests.support.kube_apply import KubeApi

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def replica_set_for(rollout: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet Argo Rollouts creates from a Rollout: its pod template plus the pod-template-hash label.
    The CRD schema does not validate the template's metadata; the API server does, here (labels, image...)."""
    template = copy.deepcopy(rollout["spec"]["template"])
    labels = {**template["metadata"]["labels"], "rollouts-pod-template-hash": "5d8f7c9b4"}
    template["metadata"]["labels"] = labels
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{rollout['metadata']['name']}-5d8f7c9b4", "namespace": rollout["metadata"]["namespace"],
                     "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
    }


def _dry_run_all(kube: KubeApi, objects: list[dict[str, Any]]) -> list[str]:
    # The namespace must exist for a dry run of what lives in it; it is the one object really created here.
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    kube.apply_all(namespaces)
    replica_sets = [replica_set_for(o) for o in objects if o["kind"] == "Rollout"]
    accepted = kube.apply_all([o for o in objects if o["kind"] != "Namespace"] + replica_sets, dry_run=True)
    return [f"{o['kind']}/{o['metadata']['name']}" for o in accepted]


@pytest.mark.scenario("api-server-accepts-render")
def test_dev_stack_render_is_accepted_by_the_api_server(kube: KubeApi) -> None:
    raw, secret_keys = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    from llmzd_infra.render.runner import render_program

    result = render_program(raw, secret_keys, "dev")
    accepted = _dry_run_all(kube, result.objects)
    assert len(accepted) == len(result.objects)  # every object but the namespace, plus one ReplicaSet
    assert any(name.startswith("Rollout/") for name in accepted)


@pytest.mark.scenario("api-server-accepts-render")
def test_two_model_stack_with_digest_image_is_accepted(kube: KubeApi) -> None:
    digest = "sha256:" + "ab" * 32
    result = render(stack_config(
        model_config("chat", "Qwen/Qwen2.5-0.5B-Instruct"),
        model_config("coder", "Qwen/Qwen2.5-Coder-1.5B-Instruct",
                     image={"repository": "vllm/vllm-openai", "tag": digest}),
    ), stack="two-models")
    kinds = sorted({o["kind"] for o in result.objects})
    accepted = _dry_run_all(kube, result.objects)
    assert len(accepted) == len(result.objects) + 1, kinds  # but the namespace, plus two ReplicaSets
    assert sum(name.startswith("Rollout/") for name in accepted) == 2
    assert sum(name.startswith("ReplicaSet/") for name in accepted) == 2
