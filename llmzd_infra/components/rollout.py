"""The vLLM Argo Rollout (blue/green) for one model, plus its PodDisruptionBudget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.components.options import child_options
from llmzd_infra.config import BlueGreenConfig
from llmzd_infra.naming import GATES_ANNOTATION, ModelNames, selector_labels, standard_labels

ROLLOUT_API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class VllmRolloutArgs:
    model_name: str
    namespace: str
    replicas: int
    pod_template: dict[str, Any]
    blue_green: BlueGreenConfig
    preview_replicas: int
    gates_enabled: bool
    max_unavailable: int
    progress_deadline_seconds: int


# An aborted revision's preview pods stay up until the next change (0: "not to scale down"). With Argo's
# default of 30 s, Argo marks the aborted ReplicaSet with a scale-down deadline, and a ReplicaSet carrying one
# counts as a fast-tracked update: `kubectl argo rollouts retry` then skips the BlueGreenPause and switches the
# stable Service to the revision that just failed its checks, before any gate runs (argo-rollouts v1.9.1,
# rollout/bluegreen.go isBlueGreenFastTracked, rollout/replicaset.go shouldDelayScaleDownOnAbort). Seen in the
# end-to-end tests. The cost: the aborted revision holds its GPUs until the config changes again.
ABORTED_PREVIEW_KEPT = 0


def rollout_spec(args: VllmRolloutArgs) -> dict[str, Any]:
    names = ModelNames(args.model_name)
    blue_green = {
        "activeService": names.stable_service,
        "previewService": names.preview_service,
        "autoPromotionEnabled": args.blue_green.auto_promotion_enabled,
        "scaleDownDelaySeconds": args.blue_green.scale_down_delay_seconds,
        "previewReplicaCount": args.preview_replicas,
        "abortScaleDownDelaySeconds": ABORTED_PREVIEW_KEPT,
    }
    return {
        "replicas": args.replicas,
        "revisionHistoryLimit": 3,
        # Derived so the gates give up (and abort, with a report) before Argo marks the Rollout Degraded;
        # see llmzd_infra/config/deadlines.py.
        "progressDeadlineSeconds": args.progress_deadline_seconds,
        "selector": {"matchLabels": selector_labels(args.model_name)},
        "template": args.pod_template,
        "strategy": {"blueGreen": blue_green},
    }


class VllmRollout(pulumi.ComponentResource):
    def __init__(self, name: str, args: VllmRolloutArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:VllmRollout", name, None, opts)
        names = ModelNames(args.model_name)
        child = child_options(self, opts)
        self.rollout = k8s.apiextensions.CustomResource(
            names.rollout,
            api_version=ROLLOUT_API_VERSION,
            kind="Rollout",
            metadata={
                "name": names.rollout,
                "namespace": args.namespace,
                "labels": standard_labels("inference", args.model_name),
                "annotations": {GATES_ANNOTATION: "enabled" if args.gates_enabled else "disabled"},
            },
            spec=rollout_spec(args),
            opts=child,
        )
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            names.disruption_budget,
            metadata={
                "name": names.disruption_budget,
                "namespace": args.namespace,
                "labels": standard_labels("inference", args.model_name),
            },
            spec={
                "maxUnavailable": args.max_unavailable,
                "selector": {"matchLabels": selector_labels(args.model_name)},
            },
            opts=child,
        )
        self.rollout_name = names.rollout
        self.register_outputs({"rollout": names.rollout, "disruptionBudget": names.disruption_budget})
