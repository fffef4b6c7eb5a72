"""Argo Rollouts controller and CRDs (official ``argo-rollouts`` chart); every Rollout depends on it."""

from __future__ import annotations

import pulumi

from llmzd_infra.components.addons import HelmAddonArgs, helm_release

CHART = "argo-rollouts"
REPO = "https://argoproj.github.io/argo-helm"


class ArgoRollouts(pulumi.ComponentResource):
    def __init__(self, name: str, args: HelmAddonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:ArgoRollouts", name, None, opts)
        values = {"installCRDs": True, **args.values}
        chart_args = HelmAddonArgs(chart_version=args.chart_version, namespace=args.namespace, values=values)
        self.release = helm_release(self, CHART, CHART, REPO, chart_args, create_namespace=True)
        self.register_outputs({"release": self.release.name, "version": args.chart_version})
