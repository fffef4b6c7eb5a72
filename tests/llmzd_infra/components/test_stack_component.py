"""The top-level LlmzdStack under mocks: one provider for cluster settings, render-only mode, token exposure."""

from __future__ import annotations

from typing import Any

import pulumi

from llmzd_infra.config import StackSecrets, parse_stack_config
from llmzd_infra.policies import evaluate
from llmzd_infra.render.writer import model_summaries
from llmzd_infra.stack import LlmzdStack, LlmzdStackArgs
from tests.llmzd_infra.components.mocked import Mocked, run_mocked
from tests.support.stacks import minimal_model, raw_config, render

PROVIDER = "pulumi:providers:kubernetes"


def _stack(raw: dict[str, str], secret_keys: set[str] | None = None, **secrets: Any) -> Mocked:
    parsed = parse_stack_config(raw, secret_keys or set())
    return run_mocked(lambda: LlmzdStack("llmzd", LlmzdStackArgs(parsed, StackSecrets(**secrets))))


def test_render_yaml_to_directory_sends_every_object_through_one_render_provider() -> None:
    mocked = _stack(raw_config([minimal_model()], renderYamlToDirectory="rendered"))
    (provider,) = [r for r in mocked.monitor.registrations if r.type == PROVIDER]
    assert mocked.inputs(PROVIDER, provider.name)["renderYamlToDirectory"] == "rendered"
    kubernetes = [r for r in mocked.monitor.registrations if r.custom and r.type.startswith("kubernetes:")]
    assert {r.type.rsplit(":", 1)[1] for r in kubernetes} >= {"Namespace", "ConfigMap", "Service", "Rollout"}
    for registration in kubernetes:
        assert registration.provider.startswith(provider.urn), registration
    # Helm releases cannot be rendered to YAML and gates have no cluster to watch: both are left out.
    assert not [r for r in mocked.monitor.registrations if r.type == "kubernetes:helm.sh/v3:Release"]
    assert not [r for r in mocked.monitor.registrations if r.type == "llmzd:index:RolloutGates"]


def test_kube_context_configures_the_provider() -> None:
    mocked = _stack(raw_config([minimal_model(gates={"enabled": False})], kubeContext="gpu-cluster"))
    (provider,) = [r for r in mocked.monitor.registrations if r.type == PROVIDER]
    inputs = mocked.inputs(PROVIDER, provider.name)
    assert inputs["context"] == "gpu-cluster" and "renderYamlToDirectory" not in inputs
    release = mocked.registration("kubernetes:helm.sh/v3:Release", "argo-rollouts")
    assert release.provider.startswith(provider.urn)


def test_without_cluster_settings_the_default_provider_is_used() -> None:
    mocked = _stack(raw_config([minimal_model(gates={"enabled": False})]))
    assert not [r for r in mocked.monitor.registrations if r.type == PROVIDER and r.name == "k8s"]


def test_hf_token_reaches_only_the_secret_and_never_an_output() -> None:
    token = "hf_" + "T" * 34
    raw = {**raw_config([minimal_model(gates={"enabled": False})]), "llmzd:hfToken": token}
    mocked = _stack(raw, {"llmzd:hfToken"}, hf_tokens={"hfToken": pulumi.Output.secret(token)})
    holders = [r.type for r in mocked.mocks.resources if token in repr(r.inputs)]
    assert holders == ["kubernetes:core/v1:Secret"]
    for urn, outputs in mocked.monitor.component_outputs.items():
        assert token not in repr(outputs), urn


def test_offline_render_of_a_render_only_stack_promises_no_gates() -> None:
    result = render(raw_config([minimal_model()], renderYamlToDirectory="rendered"))
    assert [summary["gates"] for summary in model_summaries(result)] == [[]]
    assert result.gates == [] and result.helm_releases == []


def test_a_render_only_stack_marks_its_rollouts_ungated_so_auto_promotion_is_flagged() -> None:
    # The gates are configured but cannot run when only manifests are written: applying that YAML with
    # auto-promotion would promote an unchecked revision, so the policy must see the Rollout as ungated.
    model = minimal_model(blueGreen={"autoPromotionEnabled": True})
    rendered_only = render(raw_config([model], renderYamlToDirectory="rendered"))
    deployed = render(raw_config([model]))

    def gates_annotation(objects: list[dict[str, Any]]) -> str:
        [rollout] = [o for o in objects if o["kind"] == "Rollout"]
        return str(rollout["metadata"]["annotations"]["llmzd.io/gates"])

    assert gates_annotation(rendered_only.objects) == "disabled"
    assert gates_annotation(deployed.objects) == "enabled"
    flagged = [v.policy for v in evaluate(rendered_only.objects)]
    assert "bluegreen-auto-promotion-gated" in flagged
    assert "bluegreen-auto-promotion-gated" not in [v.policy for v in evaluate(deployed.objects)]
