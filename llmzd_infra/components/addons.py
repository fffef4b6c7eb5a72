"""Shared shape of the two Helm add-ons (device plugin, Argo Rollouts): a pinned chart from its official repo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class HelmAddonArgs:
    chart_version: str
    namespace: str
    values: dict[str, Any] = field(default_factory=dict)


def helm_release(
    parent: pulumi.Resource, name: str, chart: str, repo: str, args: HelmAddonArgs, create_namespace: bool
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        name=name,
        chart=chart,
        version=args.chart_version,
        namespace=args.namespace,
        create_namespace=create_namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
        values=args.values,
        # Wait for the controller/daemonset to be ready so dependants never race an absent CRD or plugin.
        skip_await=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
