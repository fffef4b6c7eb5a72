"""Per-model ConfigMap: the vLLM settings (as environment) and the readiness probe files, named after its content.

A settings change must not touch the ConfigMap the stable pods read: until the new revision has passed the
gates, a stable pod that restarts has to come back with the old settings. So the object is immutable and named
``<model>-config-<content hash>``; a change is a new object, created before the Rollout update, and the old one
is deleted only once the whole update, gates included, has succeeded.

The ConfigMap's Pulumi resource name carries the content hash too, so each content is a resource of its own: a
change is a create plus, at the end of a successful update, a delete of the resource the program no longer
declares. With one fixed resource name a change was a replacement, and a failed update left the old object in
the state as pending deletion; changing the config back to the stable revision then "replaced" the failed one
with an object of the same name as the pending one, and the engine deleted both: the stable pods' ConfigMap was
gone (seen on the real engine, tests/e2e/test_engine.py). An alias keeps stacks made with the fixed name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from llmzd_infra.components.options import child_options
from llmzd_infra.naming import CONFIG_HASH_ANNOTATION, ModelNames, standard_labels
from llmzd_infra.workload import content_hash


@dataclass(frozen=True)
class ModelConfigArgs:
    model_name: str
    namespace: str
    data: dict[str, str]

    @property
    def data_hash(self) -> str:
        return content_hash(self.data)

    @property
    def config_map_name(self) -> str:
        return ModelNames(self.model_name).config_map(self.data_hash)


def replacement_options() -> pulumi.ResourceOptions:
    """Create the new ConfigMap before the old one is deleted, never the other way round.

    This is Pulumi's default; it is spelled out because delete-before-replace would delete the stable pods'
    ConfigMap before the new revision has passed any gate.
    """
    return pulumi.ResourceOptions(delete_before_replace=False)


class ModelConfig(pulumi.ComponentResource):
    def __init__(self, name: str, args: ModelConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        """``name`` is the component's fixed Pulumi name (``ModelNames.config_resource``); the ConfigMap in it is
        named after its content (see the module docstring), with ``name`` as an alias for older stacks."""
        super().__init__("llmzd:index:ModelConfig", name, None, opts)
        self.name = args.config_map_name
        self.data_hash = args.data_hash
        self.config_map = k8s.core.v1.ConfigMap(
            self.name,
            metadata={
                "name": self.name,
                "namespace": args.namespace,
                "labels": standard_labels("config", args.model_name),
                "annotations": {CONFIG_HASH_ANNOTATION: self.data_hash},
            },
            data=args.data,
            # Immutable: the API server refuses any data change, so the content always matches the name, and
            # kubelet stops watching it.
            immutable=True,
            opts=pulumi.ResourceOptions.merge(
                child_options(self, opts),
                pulumi.ResourceOptions.merge(replacement_options(), pulumi.ResourceOptions(aliases=[pulumi.Alias(
                    name=name)])),
            ),
        )
        self.register_outputs({"name": self.name, "hash": self.data_hash})
