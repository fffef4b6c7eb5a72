"""The assembled stack under Pulumi's mocks: component tree, dependency order, outputs, secrets."""

from __future__ import annotations

import pytest

from llmzd_infra.render import RenderResult
from llmzd_infra.render.mocks import Registration
from tests.support.stacks import minimal_model, raw_config, render


def by_name(result: RenderResult) -> dict[tuple[str, str], Registration]:
    return {(r.type, r.name): r for r in result.registrations}


def urn_of(result: RenderResult, type_: str, name: str) -> str:
    return by_name(result)[(type_, name)].urn


@pytest.fixture(scope="module")
def two_models() -> RenderResult:
    models = [minimal_model("chat", gates={"enabled": False}), minimal_model("code", gates={"enabled": False})]
    return render(raw_config(models))


def test_every_kubernetes_object_is_parented_to_a_component(two_models: RenderResult) -> None:
    components = {r.urn for r in two_models.registrations if not r.custom}
    for registration in two_models.registrations:
        if registration.custom:
            assert registration.parent in components, registration


def test_component_tree(two_models: RenderResult) -> None:
    registrations = by_name(two_models)
    stack = registrations[("llmzd:index:LlmzdStack", "llmzd")]
    for name in ("chat", "code"):
        serving = registrations[("llmzd:index:ModelServing", name)]
        assert serving.parent == stack.urn
        rollout_component = registrations[("llmzd:index:VllmRollout", f"{name}-rollout")]
        assert rollout_component.parent == serving.urn
        assert registrations[("kubernetes:argoproj.io/v1alpha1:Rollout", name)].parent == rollout_component.urn
    argo = registrations[("llmzd:index:ArgoRollouts", "argo-rollouts")]
    assert registrations[("kubernetes:helm.sh/v3:Release", "argo-rollouts")].parent == argo.urn


def test_rollouts_wait_for_argo_crds_device_plugin_namespace_config_and_services(two_models: RenderResult) -> None:
    registrations = by_name(two_models)
    for name in ("chat", "code"):
        deps = set(registrations[("kubernetes:argoproj.io/v1alpha1:Rollout", name)].dependencies)
        assert urn_of(two_models, "kubernetes:helm.sh/v3:Release", "argo-rollouts") in deps
        assert urn_of(two_models, "kubernetes:helm.sh/v3:Release", "nvidia-device-plugin") in deps
        assert urn_of(two_models, "kubernetes:core/v1:Namespace", "llm-serving") in deps
        config_maps = [r.urn for (kind, cm_name), r in registrations.items()
                       if kind == "kubernetes:core/v1:ConfigMap" and cm_name.startswith(f"{name}-config-")]
        assert len(config_maps) == 1 and config_maps[0] in deps
        assert urn_of(two_models, "kubernetes:core/v1:Service", f"{name}-stable") in deps
        assert urn_of(two_models, "kubernetes:core/v1:Service", f"{name}-preview") in deps


def test_addons_can_be_skipped() -> None:
    addons = {"nvidiaDevicePlugin": {"install": False, "chartVersion": "0.18.0", "namespace": "kube-system"},
              "argoRollouts": {"install": False, "chartVersion": "2.40.2", "namespace": "argo-rollouts"}}
    result = render(raw_config([minimal_model(gates={"enabled": False})], addons=addons))
    assert result.helm_releases == []
    rollout = by_name(result)[("kubernetes:argoproj.io/v1alpha1:Rollout", "vllm")]
    assert urn_of(result, "kubernetes:core/v1:Namespace", "llm-serving") in rollout.dependencies


def test_helm_releases_pin_official_charts(two_models: RenderResult) -> None:
    releases = {r["name"]: r for r in two_models.helm_releases}
    assert releases["argo-rollouts"]["repo"] == "https://argoproj.github.io/argo-helm"
    assert releases["argo-rollouts"]["values"]["installCRDs"] is True
    assert releases["argo-rollouts"]["version"] == "2.40.2"
    assert releases["nvidia-device-plugin"]["repo"] == "https://nvidia.github.io/k8s-device-plugin"
    assert releases["nvidia-device-plugin"]["version"] == "0.18.0"


def test_outputs_for_other_stacks(two_models: RenderResult) -> None:
    outputs = two_models.outputs
    assert outputs["namespace"] == "llm-serving"
    chat = outputs["models"]["chat"]
    assert chat["stableService"] == "chat-stable" and chat["previewService"] == "chat-preview"
    assert chat["stableUrl"] == "http://chat-stable.llm-serving.svc.cluster.local:8000/v1"
    assert chat["previewUrl"] == "http://chat-preview.llm-serving.svc.cluster.local:8000/v1"
    assert chat["servedModel"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert chat["rollout"] == "chat"
    assert chat["image"] == "vllm/vllm-openai:v0.11.0"
    rollout = next(o for o in two_models.objects if o["kind"] == "Rollout" and o["metadata"]["name"] == "chat")
    assert chat["revision"] == rollout["spec"]["template"]["metadata"]["annotations"]["llmzd.io/revision"]
    config_hash = rollout["spec"]["template"]["metadata"]["annotations"]["llmzd.io/config-hash"]
    assert chat["configMap"] == f"chat-config-{config_hash}"


def test_kubeconfig_context_and_render_directory_configure_one_provider() -> None:
    raw = raw_config([minimal_model(gates={"enabled": False})], kubeContext="gpu-cluster",
                     renderYamlToDirectory="rendered")
    result = render(raw)
    providers = [r for r in result.registrations if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1
    custom = [r for r in result.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert custom


def test_hf_token_only_in_the_secret_and_never_in_outputs() -> None:
    token = "hf_" + "Z" * 34
    raw = {**raw_config([minimal_model(gates={"enabled": False})]), "llmzd:hfToken": token}
    result = render(raw, {"llmzd:hfToken"})
    secret = next(r for r in result.registrations if r.type == "kubernetes:core/v1:Secret")
    assert secret.name == "vllm-hf-token"
    rendered_secret = next(o for o in result.objects if o["kind"] == "Secret")
    assert rendered_secret["stringData"] == {"token": "[secret]"}
    for obj in result.objects:
        assert token not in repr(obj), obj["kind"]
    assert token not in repr(result.outputs)


def test_config_error_stops_before_any_resource() -> None:
    from llmzd_infra.config import ConfigError

    with pytest.raises(ConfigError):
        render(raw_config([minimal_model(port=0)]))
