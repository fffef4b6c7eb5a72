"""Which ConfigMaps a rendered pod template reads, and which ConfigMaps are named after their content."""

from __future__ import annotations

from llmzd_infra.plan.references import config_map_references, is_content_named
from tests.llmzd_infra.policies import k8s_objects as k8s


def test_every_kind_of_config_map_reference_is_found() -> None:
    template = k8s.vllm_rollout()["spec"]["template"]
    container = template["spec"]["containers"][0]
    container["env"].append({"name": "X", "valueFrom": {"configMapKeyRef": {"name": "from-key", "key": "x"}}})
    container["env"].append({"name": "T", "valueFrom": {"secretKeyRef": {"name": "a-secret", "key": "t"}}})
    template["spec"]["initContainers"] = [{"name": "init", "envFrom": [{"configMapRef": {"name": "init-env"}}]}]
    template["spec"]["volumes"] += [
        {"name": "plain", "configMap": {"name": "from-volume"}},
        {"name": "proj", "projected": {"sources": [{"configMap": {"name": "from-projection"}}]}},
    ]
    assert config_map_references(template) == {
        "vllm-config", "from-key", "init-env", "from-volume", "from-projection",
    }


def test_content_named_needs_immutable_and_the_hash_as_name_suffix() -> None:
    assert is_content_named(k8s.content_named_config_map("vllm", "abcdef012345"))
    mutable = k8s.content_named_config_map("vllm", "abcdef012345")
    del mutable["immutable"]
    assert not is_content_named(mutable)
    other_suffix = k8s.content_named_config_map("vllm", "abcdef012345")
    other_suffix["metadata"]["annotations"]["llmzd.io/config-hash"] = "999999999999"
    assert not is_content_named(other_suffix)
    assert not is_content_named(k8s.config_map("vllm-config"))
