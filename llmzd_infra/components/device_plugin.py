"""NVIDIA device plugin (official Helm chart): advertises ``nvidia.com/gpu`` on GPU nodes."""

from __future__ import annotations

import pulumi

from llmzd_infra.components.addons import HelmAddonArgs, helm_release

CHART = "nvidia-device-plugin"
REPO = "https://nvidia.github.io/k8s-device-plugin"


class NvidiaDevicePlugin(pulumi.ComponentResource):
    def __init__(self, name: str, args: HelmAddonArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:NvidiaDevicePlugin", name, None, opts)
        self.release = helm_release(self, CHART, CHART, REPO, args, create_namespace=False)
        self.register_outputs({"release": self.release.name, "version": args.chart_version})
