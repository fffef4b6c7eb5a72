"""Per-model ConfigMap: the vLLM settings (as environment) and the readiness probe program file."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.components.options import child_options
from llmzd_infra.naming import standard_labels


@dataclass(frozen=True)
class ModelConfigArgs:
    model_name: str
    namespace: str
    config_map_name: str
    data: dict[str, str]
    data_hash: str


class ModelConfig(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:ModelConfig", name, None, opts)
        self.config_map = k8s.core.v1.ConfigMap(
            name,
            metadata={
                "name": args.config_map_name,
                "namespace": args.namespace,
                "labels": standard_labels("config", args.model_name),
                "annotations": {"llmzd.io/config-hash": args.data_hash},
            },
            data=args.data,
            opts=child_options(self, opts),
        )
        self.register_outputs({"name": args.config_map_name, "hash": args.data_hash})
