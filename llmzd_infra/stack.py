"""The whole stack, assembled in dependency order: add-ons, namespace, then one ModelServing per model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.components.addons import HelmAddonArgs
from llmzd_infra.components.argo_rollouts import ArgoRollouts
from llmzd_infra.components.device_plugin import NvidiaDevicePlugin
from llmzd_infra.components.model_serving import ModelServing, ModelServingArgs
from llmzd_infra.components.namespace import ServingNamespace, ServingNamespaceArgs
from llmzd_infra.config import HelmChartAddon, ParsedConfig, StackSecrets


@dataclass(frozen=True)
class LlmzdStackArgs:
    parsed: ParsedConfig
    secrets: StackSecrets


def _addon_args(addon: HelmChartAddon) -> HelmAddonArgs:
    return HelmAddonArgs(chart_version=addon.chart_version, namespace=addon.namespace, values=dict(addon.values))


class LlmzdStack(pulumi.ComponentResource):
    def __init__(self, name: str, args: LlmzdStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:LlmzdStack", name, None, opts)
        stack = args.parsed.stack
        provider = self._kubernetes_provider(args)
        child = pulumi.ResourceOptions(parent=self, providers=[provider] if provider else None)

        # With renderYamlToDirectory nothing reaches a cluster: the provider cannot render Helm releases
        # (pulumi-kubernetes#1716) and the gates have no rollout to watch, so both are left out.
        rendering_only = stack.cluster.render_yaml_to_directory is not None
        if rendering_only:
            pulumi.log.warn(
                "llmzd:renderYamlToDirectory is set: writing manifests only; the Helm add-ons (NVIDIA device "
                "plugin, Argo Rollouts) and the rollout gates are skipped"
            )

        self.device_plugin: NvidiaDevicePlugin | None = None
        if stack.addons.nvidia_device_plugin.install and not rendering_only:
            self.device_plugin = NvidiaDevicePlugin(
                "nvidia-device-plugin", _addon_args(stack.addons.nvidia_device_plugin), opts=child
            )
        self.argo_rollouts: ArgoRollouts | None = None
        if stack.addons.argo_rollouts.install and not rendering_only:
            self.argo_rollouts = ArgoRollouts("argo-rollouts", _addon_args(stack.addons.argo_rollouts), opts=child)
        self.namespace = ServingNamespace(stack.namespace, ServingNamespaceArgs(stack.namespace), opts=child)

        # Rollouts need the Argo CRDs and GPUs the device plugin advertises; both come first.
        serving_dependencies: list[pulumi.Resource] = [self.namespace]
        serving_dependencies += [addon for addon in (self.argo_rollouts, self.device_plugin) if addon]
        self.models: dict[str, ModelServing] = {}
        for model in stack.models:
            token_key = args.parsed.hf_token_keys.get(model.name)
            self.models[model.name] = ModelServing(
                model.name,
                ModelServingArgs(
                    model=model,
                    namespace=stack.namespace,
                    hf_token=args.secrets.hf_tokens[token_key] if token_key else None,
                    kubeconfig=args.secrets.kubeconfig,
                    kube_context=stack.cluster.kube_context,
                    run_gates=not rendering_only,
                ),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=serving_dependencies)),
            )
        self.outputs: dict[str, Any] = {
            "namespace": stack.namespace,
            "models": {name: serving.outputs for name, serving in self.models.items()},
        }
        self.register_outputs(self.outputs)

    def _kubernetes_provider(self, args: LlmzdStackArgs) -> k8s.Provider | None:
        cluster = args.parsed.stack.cluster
        if not (args.secrets.kubeconfig or cluster.kube_context or cluster.render_yaml_to_directory):
            return None
        return k8s.Provider(
            "k8s",
            kubeconfig=args.secrets.kubeconfig,
            context=cluster.kube_context,
            render_yaml_to_directory=cluster.render_yaml_to_directory,
            opts=pulumi.ResourceOptions(parent=self),
        )
