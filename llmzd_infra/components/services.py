"""Stable and preview Services for one model; Argo Rollouts points their selectors at a ReplicaSet."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.components.options import child_options
from llmzd_infra.naming import ModelNames, selector_labels, standard_labels

# Argo Rollouts adds rollouts-pod-template-hash to both Services' selectors and moves it on every switch.
# ServiceSpec.selector is an atomic map (k8s.io/api core/v1 types.go, `+mapType=atomic`), so applying our
# selector again would drop Argo's key: the stable Service would select every revision's pods, and Argo,
# seeing an empty active selector, promotes the new ReplicaSet at once as an "Initial deploy" (argo-rollouts
# v1.9.1 rollout/sync.go shouldFullPromote), skipping the gates. With ignoreChanges, pulumi-kubernetes leaves
# a field another manager owns out of its server-side apply, or sends the live value (provider
# pkg/await/await.go handleSSAIgnoreFields). Seen in the end-to-end tests against the real controller.
ARGO_OWNED_SELECTOR = "spec.selector"


@dataclass(frozen=True)
class ModelServicesArgs:
    model_name: str
    namespace: str
    port: int


class ModelServices(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:ModelServices", name, None, opts)
        names = ModelNames(args.model_name)
        child = child_options(self, opts)
        self.stable = self._service(names.stable_service, "stable", args, child)
        self.preview = self._service(names.preview_service, "preview", args, child)
        self.stable_name = names.stable_service
        self.preview_name = names.preview_service
        self.register_outputs({"stable": self.stable_name, "preview": self.preview_name})

    def _service(
        self, service_name: str, role: str, args: ModelServicesArgs, child: pulumi.ResourceOptions
    ) -> k8s.core.v1.Service:
        return k8s.core.v1.Service(
            service_name,
            metadata={
                "name": service_name,
                "namespace": args.namespace,
                "labels": {**standard_labels("service", args.model_name), "llmzd.io/role": role},
            },
            spec={
                "type": "ClusterIP",
                # Argo Rollouts adds the rollouts-pod-template-hash selector; we own only the stable part.
                "selector": selector_labels(args.model_name),
                "ports": [{"name": "http", "port": args.port, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=[ARGO_OWNED_SELECTOR])),
        )
