"""Everything one model needs: ConfigMap, optional token Secret, Services, Rollout, and its gates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from llmzd_infra.components.hf_secret import HfTokenSecret, HfTokenSecretArgs
from llmzd_infra.components.model_config import ModelConfig, ModelConfigArgs
from llmzd_infra.components.options import child_options
from llmzd_infra.components.rollout import VllmRollout, VllmRolloutArgs
from llmzd_infra.components.services import ModelServices, ModelServicesArgs
from llmzd_infra.config import ModelDeployment
from llmzd_infra.config.deadlines import progress_deadline_seconds, startup_budget_seconds
from llmzd_infra.naming import ModelNames, in_cluster_url
from llmzd_infra.workload import config_map_data, pod_template, revision_of


@dataclass(frozen=True)
class ModelServingArgs:
    model: ModelDeployment
    namespace: str
    hf_token: pulumi.Input[str] | None = None
    # Where the stack's Kubernetes API access comes from, for the gates (secret, or the default lookup).
    kubeconfig: pulumi.Input[str] | None = None
    kube_context: str | None = None
    # False when the stack only renders manifests: there is no rollout for the gates to wait on.
    run_gates: bool = True


class ModelServing(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:ModelServing", name, None, opts)
        model = args.model
        names = ModelNames(model.name)
        child = child_options(self, opts)

        self.config = ModelConfig(
            names.config_resource, ModelConfigArgs(model.name, args.namespace, config_map_data(model)), opts=child
        )
        pod_dependencies: list[pulumi.Resource] = [self.config]
        self.hf_secret: HfTokenSecret | None = None
        if args.hf_token is not None:
            self.hf_secret = HfTokenSecret(
                f"{model.name}-hf-token",
                HfTokenSecretArgs(model.name, args.namespace, names.hf_token_secret, args.hf_token),
                opts=child,
            )
            pod_dependencies.append(self.hf_secret)

        self.services = ModelServices(
            f"{model.name}-services", ModelServicesArgs(model.name, args.namespace, model.port), opts=child
        )
        template = pod_template(model, has_hf_token=args.hf_token is not None)
        # A render-only stack runs no gates even when they are configured: the Rollout must say so, so the
        # policies treat auto-promotion there as ungated.
        runs_gates = model.gates.enabled and args.run_gates
        self.revision = revision_of(template)
        self.rollout = VllmRollout(
            f"{model.name}-rollout",
            VllmRolloutArgs(
                model_name=model.name,
                namespace=args.namespace,
                replicas=model.replicas,
                pod_template=template,
                blue_green=model.blue_green,
                preview_replicas=model.preview_replicas,
                gates_enabled=runs_gates,
                max_unavailable=model.disruption_budget.max_unavailable,
                progress_deadline_seconds=progress_deadline_seconds(model),
            ),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[*pod_dependencies, self.services])
            ),
        )
        self.gates = self._gates(args, names, child) if runs_gates else None
        self.outputs = self._outputs(args, names)
        self.register_outputs(self.outputs)

    def _gates(self, args: ModelServingArgs, names: ModelNames, child: pulumi.ResourceOptions) -> Any:
        from llmzd_infra.components.rollout_gates import RolloutGates, RolloutGatesArgs

        model = args.model
        return RolloutGates(
            f"{model.name}-gates",
            RolloutGatesArgs(
                model_name=model.name,
                namespace=args.namespace,
                rollout_name=names.rollout,
                revision=self.revision,
                served_model=model.model.served_model_name,
                port=model.port,
                preview_service=names.preview_service,
                stable_service=names.stable_service,
                auto_promotion=model.blue_green.auto_promotion_enabled,
                settings=model.gates,
                startup_budget_seconds=startup_budget_seconds(model),
                kubeconfig=args.kubeconfig,
                kube_context=args.kube_context,
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.rollout, self.services])),
        )

    def _outputs(self, args: ModelServingArgs, names: ModelNames) -> dict[str, Any]:
        model = args.model
        outputs: dict[str, Any] = {
            "stableService": names.stable_service,
            "previewService": names.preview_service,
            "stableUrl": in_cluster_url(names.stable_service, args.namespace, model.port),
            "previewUrl": in_cluster_url(names.preview_service, args.namespace, model.port),
            "servedModel": model.model.served_model_name,
            "rollout": names.rollout,
            "image": model.image.reference,
            "revision": self.revision,
            # Named after its content: the ConfigMap this revision's pods read.
            "configMap": self.config.name,
        }
        if self.gates is not None:
            outputs["gates"] = self.gates.outputs
        return outputs
