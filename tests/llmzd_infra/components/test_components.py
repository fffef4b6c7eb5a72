"""Every component on its own under Pulumi's mocks: its children's specs, parents, dependencies, outputs."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime import rpc

from llmzd_infra.components.addons import HelmAddonArgs
from llmzd_infra.components.argo_rollouts import ArgoRollouts
from llmzd_infra.components.device_plugin import NvidiaDevicePlugin
from llmzd_infra.components.hf_secret import HfTokenSecret, HfTokenSecretArgs
from llmzd_infra.components.model_config import ModelConfig, ModelConfigArgs
from llmzd_infra.components.model_serving import ModelServing, ModelServingArgs
from llmzd_infra.components.namespace import ServingNamespace, ServingNamespaceArgs
from llmzd_infra.components.rollout import VllmRollout, VllmRolloutArgs
from llmzd_infra.components.services import ModelServices, ModelServicesArgs
from llmzd_infra.config import ModelDeployment
from llmzd_infra.render.mocks import Registration
from llmzd_infra.workload import config_map_data, content_hash, pod_template
from tests.llmzd_infra.components.mocked import model, run_mocked
from tests.support.pod_templates import config_map_names_read_by

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                   "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by")


def _guard() -> k8s.core.v1.ConfigMap:
    """A stand-in for what a component must wait on (e.g. the Argo Rollouts release)."""
    return k8s.core.v1.ConfigMap("guard", metadata={"name": "guard"})


def test_device_plugin_is_a_pinned_official_chart_parented_to_its_component() -> None:
    args = HelmAddonArgs(chart_version="0.17.1", namespace="kube-system", values={"config": {"x": "1"}})
    mocked = run_mocked(lambda: NvidiaDevicePlugin("plugin", args))
    component = mocked.registration("llmzd:index:NvidiaDevicePlugin", "plugin")
    release = mocked.registration(RELEASE, "nvidia-device-plugin")
    assert release.parent == component.urn
    inputs = mocked.inputs(RELEASE, "nvidia-device-plugin")
    assert inputs["chart"] == "nvidia-device-plugin"
    assert inputs["repositoryOpts"] == {"repo": "https://nvidia.github.io/k8s-device-plugin"}
    assert (inputs["version"], inputs["namespace"]) == ("0.17.1", "kube-system")
    assert inputs["values"] == {"config": {"x": "1"}}
    assert inputs.get("createNamespace") is False
    assert mocked.outputs_of(component)["version"] == "0.17.1"


def test_argo_rollouts_installs_its_crds_and_keeps_user_values() -> None:
    args = HelmAddonArgs(chart_version="2.40.2", namespace="argo-rollouts", values={"dashboard": {"enabled": True}})
    mocked = run_mocked(lambda: ArgoRollouts("argo", args))
    component = mocked.registration("llmzd:index:ArgoRollouts", "argo")
    assert mocked.registration(RELEASE, "argo-rollouts").parent == component.urn
    inputs = mocked.inputs(RELEASE, "argo-rollouts")
    assert inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
    assert inputs["values"] == {"installCRDs": True, "dashboard": {"enabled": True}}
    assert (inputs["version"], inputs["createNamespace"]) == ("2.40.2", True)
    # Wait for the controller, so nothing depending on the release races an absent CRD.
    assert inputs.get("skipAwait") is False
    assert mocked.outputs_of(component) == {"release": "argo-rollouts", "version": "2.40.2"}


def test_namespace_carries_the_standard_labels() -> None:
    mocked = run_mocked(lambda: ServingNamespace("llm-serving", ServingNamespaceArgs("llm-serving")))
    component = mocked.registration("llmzd:index:ServingNamespace", "llm-serving")
    namespace = mocked.registration("kubernetes:core/v1:Namespace", "llm-serving")
    assert namespace.parent == component.urn
    labels = mocked.inputs("kubernetes:core/v1:Namespace", "llm-serving")["metadata"]["labels"]
    assert set(STANDARD_LABELS) <= set(labels)
    assert labels["app.kubernetes.io/part-of"] == "llmzd"
    assert mocked.outputs_of(component) == {"name": "llm-serving"}


def test_config_map_holds_settings_and_probe_with_its_hash_and_waits_for_the_component_deps() -> None:
    served = model()
    data = config_map_data(served)
    data_hash = content_hash(data)

    def build() -> ModelConfig:
        guard = _guard()
        args = ModelConfigArgs("vllm", "llm-serving", data)
        return ModelConfig("vllm-config", args, opts=pulumi.ResourceOptions(depends_on=[guard]))

    mocked = run_mocked(build)
    component = mocked.registration("llmzd:index:ModelConfig", "vllm-config")
    config_map = mocked.registration(CONFIG_MAP, f"vllm-config-{data_hash}")
    assert config_map.parent == component.urn
    assert mocked.registration(CONFIG_MAP, "guard").urn in config_map.dependencies
    inputs = mocked.inputs(CONFIG_MAP, f"vllm-config-{data_hash}")
    assert inputs["data"] == data and "readiness_probe.py" in inputs["data"]
    assert inputs["metadata"]["annotations"] == {"llmzd.io/config-hash": data_hash}
    assert inputs["metadata"]["namespace"] == "llm-serving"
    assert mocked.outputs_of(component) == {"name": f"vllm-config-{data_hash}", "hash": data_hash}


def test_config_map_is_immutable_named_after_its_content_and_replaced_create_before_delete() -> None:
    data = config_map_data(model())
    mocked = run_mocked(lambda: ModelConfig("vllm-config", ModelConfigArgs("vllm", "llm-serving", data)))
    name = f"vllm-config-{content_hash(data)}"
    # The Kubernetes name and the Pulumi resource name both carry the content hash: each content is a resource of
    # its own, created before the Rollout update and deleted only after a successful update. (With one fixed
    # resource name, reverting to the stable config after a failed update deleted the stable pods' ConfigMap on
    # the real engine: the failed replacement's pending delete had the same object name.)
    inputs = mocked.inputs(CONFIG_MAP, name)
    assert inputs["metadata"]["name"] == name
    assert inputs["immutable"] is True
    registration = mocked.registration(CONFIG_MAP, name)
    assert registration.delete_before_replace is False
    # Stacks made with the fixed name keep their ConfigMap: the old name is an alias.
    assert registration.alias_names == ("vllm-config",)


def _model_serving_config_map(served: ModelDeployment) -> tuple[Registration, dict, Registration, dict]:
    mocked = run_mocked(lambda: ModelServing(served.name, ModelServingArgs(served, "llm-serving", run_gates=False)))
    (config_map,) = [r for r in mocked.monitor.registrations if r.type == CONFIG_MAP]
    rollout = mocked.registration(ROLLOUT, served.name)
    return config_map, mocked.inputs(CONFIG_MAP, config_map.name), rollout, mocked.inputs(ROLLOUT, served.name)


def test_settings_change_is_a_new_config_map_resource_under_the_same_component() -> None:
    old_cm, old_inputs, old_rollout, old_rollout_inputs = _model_serving_config_map(model("chat"))
    new_cm, new_inputs, new_rollout, new_rollout_inputs = _model_serving_config_map(
        model("chat", vllm={"gpuMemoryUtilization": 0.5})
    )
    # Another URN under the same component: Pulumi creates the new object before the Rollout update and deletes
    # the resource the program no longer declares only at the end of a successful update.
    assert old_cm.urn != new_cm.urn and old_cm.parent == new_cm.parent
    assert (old_cm.name, new_cm.name) == (old_inputs["metadata"]["name"], new_inputs["metadata"]["name"])
    assert old_inputs["metadata"]["name"] != new_inputs["metadata"]["name"]
    assert old_inputs["metadata"]["name"].startswith("chat-config-")
    assert not new_cm.delete_before_replace
    for cm, cm_inputs, rollout, rollout_inputs in (
        (old_cm, old_inputs, old_rollout, old_rollout_inputs),
        (new_cm, new_inputs, new_rollout, new_rollout_inputs),
    ):
        # The Rollout waits for its ConfigMap, and reads exactly that one, in env and in the probe volume.
        assert cm.urn in rollout.dependencies
        template = rollout_inputs["spec"]["template"]
        assert set(config_map_names_read_by(template)) == {cm_inputs["metadata"]["name"]}
        annotations = template["metadata"]["annotations"]
        assert cm_inputs["metadata"]["name"] == f"chat-config-{annotations['llmzd.io/config-hash']}"


def test_token_secret_holds_the_token_as_a_pulumi_secret() -> None:
    token = "hf_" + "Q" * 34

    def build() -> HfTokenSecret:
        return HfTokenSecret("vllm-hf-token", HfTokenSecretArgs("vllm", "llm-serving", "vllm-hf-token", token))

    mocked = run_mocked(build)
    component = mocked.registration("llmzd:index:HfTokenSecret", "vllm-hf-token")
    assert mocked.registration(SECRET, "vllm-hf-token").parent == component.urn
    inputs = mocked.inputs(SECRET, "vllm-hf-token")
    assert inputs["type"] == "Opaque"
    # Sent to the engine wrapped as a secret value, so state and previews only ever show it encrypted.
    assert inputs["stringData"] == {rpc._special_sig_key: rpc._special_secret_sig, "value": {"token": token}}
    assert token not in repr(mocked.outputs_of(component))


def test_services_are_stable_and_preview_with_a_port_named_http() -> None:
    mocked = run_mocked(lambda: ModelServices("chat-services", ModelServicesArgs("chat", "llm-serving", 8200)))
    component = mocked.registration("llmzd:index:ModelServices", "chat-services")
    for name, role in (("chat-stable", "stable"), ("chat-preview", "preview")):
        assert mocked.registration(SERVICE, name).parent == component.urn
        inputs = mocked.inputs(SERVICE, name)
        assert inputs["metadata"]["name"] == name
        assert inputs["metadata"]["labels"]["llmzd.io/role"] == role
        assert inputs["spec"]["ports"] == [{"name": "http", "port": 8200, "targetPort": "http", "protocol": "TCP"}]
        assert inputs["spec"]["selector"] == {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "chat"}
    assert mocked.outputs_of(component) == {"stable": "chat-stable", "preview": "chat-preview"}


def test_rollout_is_blue_green_with_a_disruption_budget_and_waits_for_the_component_deps() -> None:
    served = model("chat", blueGreen={"autoPromotionEnabled": False, "scaleDownDelaySeconds": 75,
                                      "previewReplicaCount": 1}, replicas=2, disruptionBudget={"maxUnavailable": 0})
    template = pod_template(served, has_hf_token=False)

    def build() -> VllmRollout:
        guard = _guard()
        args = VllmRolloutArgs("chat", "llm-serving", 2, template, served.blue_green, 1, True, 0, 665)
        return VllmRollout("chat-rollout", args, opts=pulumi.ResourceOptions(depends_on=[guard]))

    mocked = run_mocked(build)
    component = mocked.registration("llmzd:index:VllmRollout", "chat-rollout")
    guard = mocked.registration(CONFIG_MAP, "guard").urn
    for type_, name in ((ROLLOUT, "chat"), (PDB, "chat-pdb")):
        registration = mocked.registration(type_, name)
        assert registration.parent == component.urn and guard in registration.dependencies
    rollout = mocked.inputs(ROLLOUT, "chat")
    assert (rollout["apiVersion"], rollout["kind"]) == ("argoproj.io/v1alpha1", "Rollout")
    assert rollout["spec"]["strategy"] == {"blueGreen": {
        "activeService": "chat-stable", "previewService": "chat-preview", "autoPromotionEnabled": False,
        "scaleDownDelaySeconds": 75, "previewReplicaCount": 1,
        # kept up after an abort, so a later retry pauses for the gates instead of being fast-tracked
        "abortScaleDownDelaySeconds": 0,
    }}
    assert rollout["spec"]["replicas"] == 2 and rollout["spec"]["progressDeadlineSeconds"] == 665
    assert rollout["spec"]["template"] == template
    assert rollout["metadata"]["annotations"]["llmzd.io/gates"] == "enabled"
    pdb = mocked.inputs(PDB, "chat-pdb")
    assert pdb["spec"] == {"maxUnavailable": 0, "selector": {"matchLabels": rollout["spec"]["selector"]["matchLabels"]}}
    assert mocked.outputs_of(component) == {"rollout": "chat", "disruptionBudget": "chat-pdb"}


@pytest.mark.parametrize("with_token", [False, True])
def test_model_serving_wires_config_secret_services_and_rollout(with_token: bool) -> None:
    served = model("chat", gates={"enabled": False})
    token = "hf_" + "W" * 34 if with_token else None
    mocked = run_mocked(lambda: ModelServing("chat", ModelServingArgs(served, "llm-serving", hf_token=token)))
    component = mocked.registration("llmzd:index:ModelServing", "chat")
    secrets = [r for r in mocked.monitor.registrations if r.type == SECRET]
    # A Secret exists exactly when a token is configured, and the pod reads HF_TOKEN from it.
    assert len(secrets) == int(with_token)
    rollout = mocked.registration(ROLLOUT, "chat")
    (config_map_registration,) = [r for r in mocked.monitor.registrations if r.type == CONFIG_MAP]
    assert config_map_registration.name.startswith("chat-config-")
    expected_deps = {config_map_registration.urn,
                     mocked.registration(SERVICE, "chat-stable").urn,
                     mocked.registration(SERVICE, "chat-preview").urn}
    expected_deps |= {s.urn for s in secrets}
    assert expected_deps <= set(rollout.dependencies)
    container = mocked.inputs(ROLLOUT, "chat")["spec"]["template"]["spec"]["containers"][0]
    assert any(e["name"] == "HF_TOKEN" for e in container["env"]) is with_token
    # The pod template's hash annotation is the ConfigMap's, so a settings change rolls the model.
    config_map = mocked.inputs(CONFIG_MAP, config_map_registration.name)
    template_annotations = mocked.inputs(ROLLOUT, "chat")["spec"]["template"]["metadata"]["annotations"]
    assert template_annotations["llmzd.io/config-hash"] == config_map["metadata"]["annotations"]["llmzd.io/config-hash"]
    children = {(r.type, r.name) for r in mocked.children_of(component)}
    assert {("llmzd:index:ModelConfig", "chat-config"), ("llmzd:index:ModelServices", "chat-services"),
            ("llmzd:index:VllmRollout", "chat-rollout")} <= children
    outputs = mocked.outputs_of(component)
    assert outputs["stableUrl"] == "http://chat-stable.llm-serving.svc.cluster.local:8000/v1"
    assert outputs["revision"] == template_annotations["llmzd.io/revision"]
    if token:
        assert token not in repr(outputs)


def test_model_serving_leaves_gates_out_when_told_to() -> None:
    served = model("chat")  # gates enabled in config
    mocked = run_mocked(lambda: ModelServing("chat", ModelServingArgs(served, "llm-serving", run_gates=False)))
    assert not [r for r in mocked.monitor.registrations if r.type == "llmzd:index:RolloutGates"]
    assert "gates" not in mocked.outputs_of(mocked.registration("llmzd:index:ModelServing", "chat"))
