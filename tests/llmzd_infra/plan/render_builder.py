"""Write render directories in the offline render's format (manifest.json + one YAML file per object).

Used until (and alongside) the real render: each test states the config difference it cares about through
``StackSpec`` and gets two directories to plan over.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tests.llmzd_infra.policies import k8s_objects as k8s


@dataclass(frozen=True)
class StackSpec:
    stack: str = "dev"
    namespace: str = "llm-serving"
    model: str = "vllm"
    image: str = "vllm/vllm-openai:v0.11.0"
    model_id: str = "Qwen/Qwen2.5-0.5B-Instruct"
    extra_args: tuple[str, ...] = ()
    replicas: int = 1
    preview_replicas: int = 1
    gpus: int = 1
    drain_seconds: int = 60
    grace_seconds: int = 90
    scale_down_delay: int = 60
    auto_promotion: bool = False
    gates: tuple[str, ...] = ("readiness", "smoke-preview", "promotion", "smoke-stable")
    longest_stream_seconds: int | None = 45
    port: int = 8000
    gpu_budget: int | None = 2
    helm_version: str = "2.40.2"
    # The program's ConfigMap is named after its content (and immutable); False: the old fixed-name one.
    content_named_config: bool = True
    # (startup budget, readiness gate timeout, progressDeadlineSeconds); None: a render made before they were recorded
    deadlines: tuple[int, int, int] | None = None
    max_unavailable: int = 0
    extra_objects: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def but(self, **changes: Any) -> StackSpec:
        return replace(self, **changes)


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def build_objects(spec: StackSpec) -> list[dict[str, Any]]:
    config_data = {"LLMZD_MODEL_ID": spec.model_id, "LLMZD_SERVED_MODEL_NAME": spec.model_id}
    config_hash = _hash(config_data)
    if spec.content_named_config:
        config = k8s.content_named_config_map(spec.model, config_hash, spec.namespace, **config_data)
    else:
        config = k8s.config_map(f"{spec.model}-config", spec.namespace, **config_data)
    container = k8s.vllm_container(image=spec.image, drain_seconds=spec.drain_seconds, gpus=spec.gpus)
    container["args"] += list(spec.extra_args)
    container["envFrom"] = [{"configMapRef": {"name": config["metadata"]["name"]}}]
    rollout = k8s.vllm_rollout(
        name=spec.model,
        namespace=spec.namespace,
        container=container,
        replicas=spec.replicas,
        preview_replicas=spec.preview_replicas,
        grace_seconds=spec.grace_seconds,
        scale_down_delay=spec.scale_down_delay,
        auto_promotion=spec.auto_promotion,
        gates=bool(spec.gates),
        config_hash=config_hash,
    )
    template = rollout["spec"]["template"]
    del template["metadata"]["annotations"]["llmzd.io/revision"]
    template["metadata"]["annotations"]["llmzd.io/revision"] = _hash(template)
    return [
        k8s.namespace_object(spec.namespace),
        config,
        k8s.service(f"{spec.model}-stable", spec.namespace, spec.port, spec.model, "stable"),
        k8s.service(f"{spec.model}-preview", spec.namespace, spec.port, spec.model, "preview"),
        rollout,
        k8s.disruption_budget(f"{spec.model}-pdb", spec.namespace, model=spec.model,
                              max_unavailable=spec.max_unavailable),
        *copy.deepcopy(list(spec.extra_objects)),
    ]


def model_summary(spec: StackSpec, rollout: dict[str, Any]) -> dict[str, Any]:
    annotations = rollout["spec"]["template"]["metadata"]["annotations"]
    return {
        "name": spec.model,
        "namespace": spec.namespace,
        "rollout": spec.model,
        "revision": annotations["llmzd.io/revision"],
        "configHash": annotations["llmzd.io/config-hash"],
        "image": spec.image,
        "servedModel": spec.model_id,
        "modelId": spec.model_id,
        "replicas": spec.replicas,
        "previewReplicas": spec.preview_replicas,
        "gpusPerReplica": spec.gpus,
        "drainSeconds": spec.drain_seconds,
        "terminationGraceSeconds": spec.grace_seconds,
        "scaleDownDelaySeconds": spec.scale_down_delay,
        "autoPromotion": spec.auto_promotion,
        "gates": list(spec.gates),
        "longestStreamSeconds": spec.longest_stream_seconds,
        "stableService": f"{spec.model}-stable",
        "previewService": f"{spec.model}-preview",
        "port": spec.port,
        **({} if spec.deadlines is None else dict(zip(
            ("startupBudgetSeconds", "readinessTimeoutSeconds", "progressDeadlineSeconds"), spec.deadlines, strict=True
        ))),
    }


def object_file(obj: dict[str, Any]) -> str:
    scope = obj["metadata"].get("namespace") or "_cluster"
    return f"objects/{scope}/{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def write_render(
    out: Path,
    objects: list[dict[str, Any]],
    models: list[dict[str, Any]],
    stack: str = "dev",
    namespace: str = "llm-serving",
    gpu_budget: int | None = None,
    helm_releases: list[dict[str, Any]] | None = None,
    violations: list[dict[str, Any]] | None = None,
) -> Path:
    entries = []
    for obj in sorted(objects, key=object_file):
        path = out / object_file(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")
        metadata = obj["metadata"]
        entries.append({"file": object_file(obj), "apiVersion": obj["apiVersion"], "kind": obj["kind"],
                        "namespace": metadata.get("namespace"), "name": metadata["name"]})
    manifest = {
        "project": "llmzd",
        "stack": stack,
        "namespace": namespace,
        "cluster": {"gpuBudget": gpu_budget},
        "objects": entries,
        "helmReleases": helm_releases or [],
        "models": models,
        "policy": {"violations": violations or []},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def write_stack(out: Path, spec: StackSpec, violations: list[dict[str, Any]] | None = None) -> Path:
    objects = build_objects(spec)
    rollout = next(o for o in objects if o["kind"] == "Rollout")
    helm = [{"name": "argo-rollouts", "chart": "argo-rollouts", "repo": "https://argoproj.github.io/argo-helm",
             "version": spec.helm_version, "namespace": "argo-rollouts", "values": {}}]
    return write_render(out, objects, [model_summary(spec, rollout)], spec.stack, spec.namespace, spec.gpu_budget,
                        helm, violations)


def render_pair(tmp_path: Path, base: StackSpec, head: StackSpec, **head_extra: Any) -> tuple[Path, Path]:
    """Two render directories: ``base`` and ``head`` (``head_extra`` goes to the head's write_stack)."""
    return write_stack(tmp_path / "base", base), write_stack(tmp_path / "head", head, **head_extra)
