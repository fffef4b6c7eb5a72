"""The vLLM pod template, its ConfigMap data and the revision hash: pure functions of one model's config.

Everything here is plain data known at program time, so the revision of a model can be computed (and shown in
``pulumi preview`` and the offline render) before anything reaches the cluster.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

from llmzd_infra.config import ModelDeployment, ProbeTiming
from llmzd_infra.config.host_sizing import cache_size, memory_amounts, shm_size
from llmzd_infra.config.sizing import startup_timing
from llmzd_infra.k8s_validation import checked_metadata, label_value_for
from llmzd_infra.naming import (
    CONFIG_HASH_ANNOTATION,
    PROBE_FILE,
    PROBE_FILES,
    PROBE_MOUNT_PATH,
    REVISION_ANNOTATION,
    SHM_MOUNT_PATH,
    ModelNames,
    selector_labels,
    standard_labels,
)

CONTAINER_NAME = "vllm"
HF_TOKEN_KEY = "token"
_ENV_PREFIX = "LLMZD_"


def probe_sources() -> dict[str, str]:
    """The readiness probe's files exactly as tested, read from the installed ``probe`` package."""
    package = resources.files("probe")
    return {name: package.joinpath(name).read_text(encoding="utf-8") for name in PROBE_FILES}


def vllm_settings(model: ModelDeployment) -> dict[str, str]:
    """vLLM settings as ConfigMap keys, each read into one env entry; the container args use them as $(VAR)."""
    settings = {
        "MODEL_ID": model.model.id,
        "SERVED_MODEL_NAME": model.model.served_model_name,
        "DTYPE": model.vllm.dtype,
        "GPU_MEMORY_UTILIZATION": f"{model.vllm.gpu_memory_utilization:g}",
        "TENSOR_PARALLEL_SIZE": str(model.vllm.tensor_parallel_size),
    }
    if model.vllm.max_model_len is not None:
        settings["MAX_MODEL_LEN"] = str(model.vllm.max_model_len)
    if model.model.revision:
        settings["MODEL_REVISION"] = model.model.revision
    return {f"{_ENV_PREFIX}{key}": value for key, value in settings.items()}


def config_map_data(model: ModelDeployment) -> dict[str, str]:
    return {**vllm_settings(model), **probe_sources()}


def content_hash(data: Any, length: int = 12) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]


def config_hash(model: ModelDeployment) -> str:
    """The ConfigMap's content hash: its name suffix and the pod template's ``llmzd.io/config-hash``."""
    return content_hash(config_map_data(model))


def config_map_name(model: ModelDeployment) -> str:
    return ModelNames(model.name).config_map(config_hash(model))


def vllm_args(model: ModelDeployment) -> list[str]:
    settings = vllm_settings(model)

    def ref(key: str) -> str:
        return f"$({_ENV_PREFIX}{key})"

    args = [
        ref("MODEL_ID"),
        "--host", "0.0.0.0",
        "--port", str(model.port),
        "--served-model-name", ref("SERVED_MODEL_NAME"),
        "--dtype", ref("DTYPE"),
        "--gpu-memory-utilization", ref("GPU_MEMORY_UTILIZATION"),
        "--tensor-parallel-size", ref("TENSOR_PARALLEL_SIZE"),
    ]
    if f"{_ENV_PREFIX}MAX_MODEL_LEN" in settings:
        args += ["--max-model-len", ref("MAX_MODEL_LEN")]
    if f"{_ENV_PREFIX}MODEL_REVISION" in settings:
        args += ["--revision", ref("MODEL_REVISION")]
    return args + list(model.vllm.extra_args)


def probe_command(model: ModelDeployment) -> list[str]:
    # -I -S: no site-packages or user paths, so the probe starts fast and runs only the stdlib.
    return [
        "python3", "-I", "-S", f"{PROBE_MOUNT_PATH}/{PROBE_FILE}", str(model.port), "localhost",
        "--expect-model", model.model.served_model_name,
    ]


def _probe(timing: ProbeTiming, handler: dict[str, Any]) -> dict[str, Any]:
    # A zero initialDelaySeconds (Kubernetes' default) is left out: the Argo Rollouts controller writes the
    # Rollout back through its Go types (`omitempty`) on its first sync, so a 0 in our spec would be gone from
    # the live object and every `pulumi refresh` would show, and the next `pulumi up` re-apply, a diff.
    delay = {"initialDelaySeconds": timing.initial_delay_seconds} if timing.initial_delay_seconds else {}
    return {
        **handler,
        **delay,
        "periodSeconds": timing.period_seconds,
        "timeoutSeconds": timing.timeout_seconds,
        "failureThreshold": timing.failure_threshold,
    }


def probe_request_timeout(model: ModelDeployment) -> str:
    """Per-request timeout for the probe: two requests must fit in the kubelet's exec timeout."""
    startup = startup_timing(model.probes)
    budget = min(startup.timeout_seconds, model.probes.readiness.timeout_seconds)
    return f"{budget / 2:g}"


def _resources(model: ModelDeployment) -> dict[str, Any]:
    memory_request, memory_limit = memory_amounts(model)
    configured_requests = {**model.resources.requests.model_dump(), "memory": memory_request}
    configured_limits = {**model.resources.limits.model_dump(), "memory": memory_limit}
    requests = {k: v for k, v in configured_requests.items() if v is not None}
    limits = {k: v for k, v in configured_limits.items() if v is not None}
    if model.gpus_per_replica:
        limits["nvidia.com/gpu"] = str(model.gpus_per_replica)
    result: dict[str, Any] = {}
    if requests:
        result["requests"] = requests
    if limits:
        result["limits"] = limits
    return result


def _volumes(model: ModelDeployment, config_map: str) -> list[dict[str, Any]]:
    cache = model.model_cache
    if cache.type == "pvc":
        cache_volume: dict[str, Any] = {"persistentVolumeClaim": {"claimName": cache.claim_name}}
    else:
        cache_volume = {"emptyDir": {"sizeLimit": cache_size(model)}}
    return [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size(model)}},
        {"name": "model-cache", **cache_volume},
        {
            "name": "llmzd-probe",
            "configMap": {
                "name": config_map,
                "items": [{"key": name, "path": name} for name in PROBE_FILES],
                "defaultMode": 0o444,
            },
        },
    ]


def _env(model: ModelDeployment, names: ModelNames, config_map: str, has_hf_token: bool) -> list[dict[str, Any]]:
    # One entry per vLLM setting, not envFrom: the ConfigMap also holds the probe files (about 14 KB of source),
    # which must not become environment variables of vLLM.
    env: list[dict[str, Any]] = [
        {"name": key, "valueFrom": {"configMapKeyRef": {"name": config_map, "key": key}}}
        for key in vllm_settings(model)
    ]
    env.append({"name": "READINESS_TIMEOUT", "value": probe_request_timeout(model)})
    if has_hf_token:
        env.append({
            "name": "HF_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": names.hf_token_secret, "key": HF_TOKEN_KEY}},
        })
    return env


def pod_template(model: ModelDeployment, has_hf_token: bool) -> dict[str, Any]:
    """The Rollout's pod template, reading the content-named ConfigMap and annotated with its hash and revision."""
    names = ModelNames(model.name)
    data_hash = config_hash(model)
    # The ConfigMap this revision reads is named after its content, so these pods never see another
    # revision's settings, even when they restart after an aborted update.
    config_map = names.config_map(data_hash)
    exec_probe = {"exec": {"command": probe_command(model)}}
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": model.image.reference,
        "imagePullPolicy": model.image.pull_policy,
        "command": ["vllm", "serve"],
        "args": vllm_args(model),
        "ports": [{"name": "http", "containerPort": model.port, "protocol": "TCP"}],
        "env": _env(model, names, config_map, has_hf_token),
        "resources": _resources(model),
        "volumeMounts": [
            {"name": "dshm", "mountPath": SHM_MOUNT_PATH},
            {"name": "model-cache", "mountPath": model.model_cache.mount_path},
            {"name": "llmzd-probe", "mountPath": PROBE_MOUNT_PATH, "readOnly": True},
        ],
        "startupProbe": _probe(startup_timing(model.probes), exec_probe),
        "readinessProbe": _probe(model.probes.readiness, exec_probe),
        # Liveness stays a cheap /health check: restart only when the server itself is gone.
        "livenessProbe": _probe(model.probes.liveness, {"httpGet": {"path": "/health", "port": "http"}}),
        # The Service stops routing to a terminating pod, but streams already open keep going: hold
        # SIGTERM back for the drain window so they can finish.
        "lifecycle": {
            "preStop": {"exec": {"command": ["/bin/sh", "-c", f"sleep {model.drain.pre_stop_seconds}"]}}
        },
    }
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": model.drain.termination_grace_period_seconds,
        "containers": [container],
        "volumes": _volumes(model, config_map),
    }
    if model.node_selector:
        spec["nodeSelector"] = dict(model.node_selector)
    if model.tolerations:
        spec["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in model.tolerations]
    labels = {
        **standard_labels("inference", model.name, version=label_value_for(model.image.tag)),
        **selector_labels(model.name),
    }
    annotations = {CONFIG_HASH_ANNOTATION: data_hash}
    template = {"metadata": {"labels": labels, "annotations": annotations}, "spec": spec}
    annotations[REVISION_ANNOTATION] = content_hash(template)
    checked_metadata(labels, annotations)
    return template


def revision_of(template: dict[str, Any]) -> str:
    return str(template["metadata"]["annotations"][REVISION_ANNOTATION])
