"""Kubernetes objects shaped like the offline render's, for policy and plan tests.

Each builder returns a fresh dict, so a test can break exactly one field and check only that rule fires.
"""

from __future__ import annotations

import copy
from typing import Any

SELECTOR = {"app.kubernetes.io/name": "vllm"}
PROBE_COMMAND = ["python3", "-I", "-S", "/etc/llmzd/probe/readiness_probe.py", "8000", "localhost"]


def _labels(model: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "vllm",
        "app.kubernetes.io/instance": model,
        "app.kubernetes.io/managed-by": "llmzd",
        "app.kubernetes.io/part-of": "llmzd",
    }


def selector_labels(model: str) -> dict[str, str]:
    return {**SELECTOR, "app.kubernetes.io/instance": model}


def vllm_container(
    image: str = "vllm/vllm-openai:v0.11.0",
    model_id: str = "$(LLMZD_MODEL_ID)",
    drain_seconds: int = 60,
    gpus: int = 1,
) -> dict[str, Any]:
    exec_probe = {"exec": {"command": list(PROBE_COMMAND)}}
    return {
        "name": "vllm",
        "image": image,
        "command": ["vllm", "serve"],
        "args": [model_id, "--host", "0.0.0.0", "--port", "8000", "--dtype", "half"],
        "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": "vllm-config"}}],
        "env": [{"name": "READINESS_TIMEOUT", "value": "2.5"}],
        "resources": {"requests": {"cpu": "2", "memory": "6Gi"}, "limits": {"nvidia.com/gpu": str(gpus)}},
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
        "startupProbe": {**copy.deepcopy(exec_probe), "periodSeconds": 10, "failureThreshold": 60},
        "readinessProbe": {**copy.deepcopy(exec_probe), "periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 30},
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {drain_seconds}"]}}},
    }


def vllm_rollout(
    name: str = "vllm",
    namespace: str = "llm-serving",
    container: dict[str, Any] | None = None,
    replicas: int = 1,
    preview_replicas: int = 1,
    grace_seconds: int = 90,
    scale_down_delay: int | None = 60,
    auto_promotion: bool | None = False,
    gates: bool = True,
    revision: str = "0123456789ab",
    config_hash: str = "abcdef012345",
    progress_deadline: int | None = 665,
) -> dict[str, Any]:
    blue_green: dict[str, Any] = {
        "activeService": f"{name}-stable",
        "previewService": f"{name}-preview",
        "previewReplicaCount": preview_replicas,
    }
    if auto_promotion is not None:
        blue_green["autoPromotionEnabled"] = auto_promotion
    if scale_down_delay is not None:
        blue_green["scaleDownDelaySeconds"] = scale_down_delay
    rollout: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": _labels(name),
            "annotations": {"llmzd.io/gates": "enabled" if gates else "disabled"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(name)},
            "strategy": {"blueGreen": blue_green},
            "template": {
                "metadata": {
                    "labels": _labels(name),
                    "annotations": {"llmzd.io/revision": revision, "llmzd.io/config-hash": config_hash},
                },
                "spec": {
                    "terminationGracePeriodSeconds": grace_seconds,
                    "containers": [container if container is not None else vllm_container()],
                    "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
                },
            },
        },
    }
    if progress_deadline is not None:
        rollout["spec"]["progressDeadlineSeconds"] = progress_deadline
    return rollout


def config_map(name: str = "vllm-config", namespace: str = "llm-serving", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(name.removesuffix("-config"))},
        "data": data or {"LLMZD_MODEL_ID": "Qwen/Qwen2.5-0.5B-Instruct"},
    }


def content_named_config_map(
    model: str = "vllm", content_hash: str = "abcdef012345", namespace: str = "llm-serving", **data: str
) -> dict[str, Any]:
    """The program's ConfigMap: immutable, named ``<model>-config-<hash>`` and annotated with the same hash."""
    obj = config_map(f"{model}-config-{content_hash}", namespace, **data)
    obj["metadata"]["labels"] = {**_labels(model), "app.kubernetes.io/component": "config"}
    obj["metadata"]["annotations"] = {"llmzd.io/config-hash": content_hash}
    obj["immutable"] = True
    return obj


def service(
    name: str = "vllm-stable",
    namespace: str = "llm-serving",
    port: int = 8000,
    model: str = "vllm",
    role: str = "stable",
) -> dict[str, Any]:
    labels = {**_labels(model), "llmzd.io/role": role}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(model),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def disruption_budget(
    name: str = "vllm-pdb",
    namespace: str = "llm-serving",
    api_version: str = "policy/v1",
    model: str = "vllm",
    max_unavailable: int = 0,
) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(model)},
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": selector_labels(model)}},
    }


def namespace_object(name: str = "llm-serving") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": _labels("llmzd")}}
