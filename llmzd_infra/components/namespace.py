"""The serving namespace, labelled like every other llmzd object."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.naming import standard_labels


@dataclass(frozen=True)
class ServingNamespaceArgs:
    name: str


class ServingNamespace(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServingNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:ServingNamespace", name, None, opts)
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata={"name": args.name, "labels": standard_labels("namespace", args.name)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name: pulumi.Output[str] = self.namespace.metadata.apply(lambda m: m.name)
        self.register_outputs({"name": self.name})
