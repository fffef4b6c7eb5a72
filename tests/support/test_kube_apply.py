"""The e2e harness applies the program's ignoreChanges as pulumi-kubernetes does under server-side apply."""

from __future__ import annotations

from typing import Any

from tests.support.kube_apply import without_ignored_fields
from tests.support.kubelet import expand, option_value

DESIRED = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat-stable"},
           "spec": {"selector": {"app": "chat"}, "ports": [{"port": 8000}]}}


def _live(selector_owner: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "chat-stable", "managedFields": [
            {"manager": "llmzd-e2e", "operation": "Apply", "fieldsV1": {"f:spec": {"f:ports": {}}}},
            {"manager": selector_owner, "operation": "Update", "fieldsV1": {"f:spec": {"f:selector": {}}}},
        ]},
        "spec": {"selector": {"app": "chat", "rollouts-pod-template-hash": "abc"}, "ports": [{"port": 8000}]},
    }


def test_a_field_another_manager_owns_is_left_out_of_the_apply() -> None:
    sent = without_ignored_fields(DESIRED, _live("rollouts-controller"), ["spec.selector"], "llmzd-e2e")
    assert "selector" not in sent["spec"]
    assert sent["spec"]["ports"] == [{"port": 8000}]
    assert DESIRED["spec"]["selector"] == {"app": "chat"}  # the caller's object is untouched


def test_a_field_we_own_is_sent_with_its_live_value() -> None:
    sent = without_ignored_fields(DESIRED, _live("llmzd-e2e"), ["spec.selector"], "llmzd-e2e")
    assert sent["spec"]["selector"] == {"app": "chat", "rollouts-pod-template-hash": "abc"}


def test_kubelet_expands_env_references_as_kubernetes_does() -> None:
    env = {"LLMZD_MODEL_ID": "Qwen/Qwen2.5-0.5B-Instruct"}
    assert expand("$(LLMZD_MODEL_ID)", env) == "Qwen/Qwen2.5-0.5B-Instruct"
    assert expand("$(UNKNOWN)", env) == "$(UNKNOWN)"  # an unknown reference stays as written
    args = ["vllm", "serve", "m", "--served-model-name", "chat", "--port=8000"]
    assert option_value(args, "--served-model-name") == "chat"
    assert option_value(args, "--port") == "8000"
