"""A PodDisruptionBudget that lets a node drain evict every serving pod of a Rollout at once.

The trade-off: ``maxUnavailable`` at least the replica count (``1`` with ``replicas: 1``, the default) lets
``kubectl drain`` evict the only pod, so the model is down until a new pod has loaded elsewhere; ``maxUnavailable:
0`` keeps it serving, but then the drain never finishes (the eviction API answers 429 until someone scales the
Rollout up or deletes the pod by hand). Two or more replicas with ``maxUnavailable: 1`` avoid both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llmzd_infra.policies.k8s_fields import as_int, dig, mapping, object_name
from llmzd_infra.policies.vllm_rollout import ROLLOUT_API_VERSION, vllm_containers

PDB_API_VERSION = "policy/v1"


def _selects(pdb: Mapping[str, Any], rollout: Mapping[str, Any]) -> bool:
    selector = mapping(dig(pdb, "spec", "selector", "matchLabels"))
    labels = mapping(dig(rollout, "spec", "template", "metadata", "labels"))
    same_namespace = dig(pdb, "metadata", "namespace") == dig(rollout, "metadata", "namespace")
    return bool(selector) and same_namespace and all(labels.get(k) == v for k, v in selector.items())


def drain_can_evict_every_pod(objects: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(kind, name, message) for each PDB whose maxUnavailable covers all replicas of a vLLM Rollout."""
    objects = list(objects)
    rollouts = [
        o for o in objects if o.get("apiVersion") == ROLLOUT_API_VERSION and o.get("kind") == "Rollout"
        and vllm_containers(o)
    ]
    found = []
    for pdb in objects:
        if pdb.get("apiVersion") != PDB_API_VERSION or pdb.get("kind") != "PodDisruptionBudget":
            continue
        max_unavailable = as_int(dig(pdb, "spec", "maxUnavailable"))
        if max_unavailable is None:
            continue
        for rollout in rollouts:
            replicas = as_int(dig(rollout, "spec", "replicas"))
            replicas = 1 if replicas is None else replicas
            if _selects(pdb, rollout) and max_unavailable >= replicas:
                found.append(("PodDisruptionBudget", object_name(pdb), (
                    f"maxUnavailable {max_unavailable} with {replicas} replica(s) of Rollout "
                    f"{object_name(rollout)}: a node drain may evict every serving pod, and the model is down "
                    "until a new pod has loaded; run at least 2 replicas, or set maxUnavailable: 0 and accept "
                    "that a drain then never finishes until the pod is moved by hand"
                )))
    return found
