"""Kubernetes Secret holding a model's Hugging Face token, fed from a Pulumi secret (never a ConfigMap)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.components.options import child_options
from llmzd_infra.naming import standard_labels
from llmzd_infra.workload import HF_TOKEN_KEY


@dataclass(frozen=True)
class HfTokenSecretArgs:
    model_name: str
    namespace: str
    secret_name: str
    token: pulumi.Input[str]


class HfTokenSecret(pulumi.ComponentResource):
    def __init__(self, name: str, args: HfTokenSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:HfTokenSecret", name, None, opts)
        self.secret = k8s.core.v1.Secret(
            name,
            metadata={
                "name": args.secret_name,
                "namespace": args.namespace,
                "labels": standard_labels("credentials", args.model_name),
            },
            type="Opaque",
            string_data={HF_TOKEN_KEY: pulumi.Output.secret(args.token)},
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts), pulumi.ResourceOptions(additional_secret_outputs=["stringData", "data"])
            ),
        )
        self.register_outputs({"name": args.secret_name})
