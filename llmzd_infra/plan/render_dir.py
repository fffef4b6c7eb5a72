"""Read an offline render directory (``python -m llmzd_infra render --out DIR``) into typed pieces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmzd_infra.plan.errors import PlanInputError

RENDER_COMMAND = "python -m llmzd_infra render"
HELM_KIND = "HelmRelease"
HELM_API_VERSION = "helm.sh/v3"


@dataclass(frozen=True, order=True)
class ObjectRef:
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        scope = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {scope}{self.name}"


@dataclass(frozen=True)
class ModelSummary:
    name: str
    namespace: str
    rollout: str
    revision: str
    config_hash: str
    image: str
    served_model: str
    model_id: str
    replicas: int
    preview_replicas: int
    gpus_per_replica: int
    drain_seconds: int
    termination_grace_seconds: int
    scale_down_delay_seconds: int
    auto_promotion: bool
    gates: tuple[str, ...]
    longest_stream_seconds: int | None
    stable_service: str
    preview_service: str
    # None in renders made before these were recorded.
    startup_budget_seconds: int | None = None
    readiness_timeout_seconds: int | None = None
    progress_deadline_seconds: int | None = None


@dataclass(frozen=True)
class RenderedStack:
    path: Path
    stack: str
    namespace: str
    gpu_budget: int | None
    objects: dict[ObjectRef, dict[str, Any]]
    models: dict[str, ModelSummary]
    violations: tuple[dict[str, Any], ...]


def load_render(path: Path) -> RenderedStack:
    """Load and check a render; any problem is a PlanInputError naming the file and the fix."""
    if not path.is_dir():
        raise PlanInputError(f"render directory {path} not found: run `{RENDER_COMMAND} --out {path}`")
    manifest_path = path / "manifest.json"
    manifest = _read_manifest(manifest_path)
    where = str(manifest_path)
    objects: dict[ObjectRef, dict[str, Any]] = {}
    for entry in _list(manifest, "objects", where):
        obj = _read_object(path, _mapping(entry, "objects[]", where), where)
        metadata = obj.get("metadata") or {}
        objects[ObjectRef(str(obj["kind"]), metadata.get("namespace"), str(metadata["name"]))] = obj
    for release in _list(manifest, "helmReleases", where, required=False):
        obj = helm_release_object(_mapping(release, "helmReleases[]", where), where)
        objects[ObjectRef(HELM_KIND, obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
    models = [_model(_mapping(m, "models[]", where), where) for m in _list(manifest, "models", where)]
    cluster = manifest.get("cluster") or {}
    budget = cluster.get("gpuBudget") if isinstance(cluster, dict) else None
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int)):
        raise PlanInputError(f"{where}: cluster.gpuBudget must be an integer or null, got {budget!r}")
    policy = manifest.get("policy") or {}
    violations = policy.get("violations", []) if isinstance(policy, dict) else []
    return RenderedStack(
        path=path,
        stack=_str(manifest, "stack", where),
        namespace=_str(manifest, "namespace", where),
        gpu_budget=budget,
        objects=objects,
        models={model.name: model for model in models},
        violations=tuple(v for v in violations if isinstance(v, dict)),
    )


def helm_release_object(release: dict[str, Any], where: str) -> dict[str, Any]:
    """A Helm release as an object-shaped dict, so it is diffed and classified like the rest."""
    name = _str(release, "name", f"{where} helmReleases[]")
    body = {key: value for key, value in release.items() if key not in ("name", "namespace")}
    return {
        "apiVersion": HELM_API_VERSION,
        "kind": HELM_KIND,
        "metadata": {"name": name, "namespace": release.get("namespace")},
        **body,
    }


def _read_manifest(manifest_path: Path) -> dict[str, Any]:
    if not manifest_path.is_file():
        raise PlanInputError(
            f"{manifest_path} not found: is {manifest_path.parent} a render from `{RENDER_COMMAND}`?"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PlanInputError(f"{manifest_path}: not valid JSON ({error}); render it again") from None
    if not isinstance(manifest, dict):
        raise PlanInputError(f"{manifest_path}: expected a JSON object at the top level; render it again")
    return manifest


def _read_object(root: Path, entry: dict[str, Any], where: str) -> dict[str, Any]:
    relative = _str(entry, "file", f"{where} objects[]")
    file_path = (root / relative).resolve()
    if not file_path.is_relative_to(root.resolve()):
        raise PlanInputError(f"{where}: object file {relative!r} points outside the render directory")
    if not file_path.is_file():
        raise PlanInputError(f"{where}: object file {relative} is missing; render the directory again")
    try:
        loaded = yaml.safe_load_all(file_path.read_text(encoding="utf-8"))
        documents = [doc for doc in loaded if doc is not None]
    except yaml.YAMLError as error:
        raise PlanInputError(f"{file_path}: not valid YAML ({error.__class__.__name__})") from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise PlanInputError(f"{file_path}: expected exactly one Kubernetes object, found {len(documents)}")
    obj = documents[0]
    metadata = obj.get("metadata")
    if not isinstance(obj.get("kind"), str) or not isinstance(metadata, dict) or "name" not in metadata:
        raise PlanInputError(f"{file_path}: object has no kind or metadata.name")
    listed = (entry.get("kind", obj["kind"]), entry.get("name", metadata["name"]))
    if listed != (obj["kind"], metadata["name"]):
        raise PlanInputError(
            f"{file_path}: holds {obj['kind']}/{metadata['name']} but {where} lists "
            f"{entry.get('kind')}/{entry.get('name')}; render the directory again"
        )
    return obj


def _model(raw: dict[str, Any], where: str) -> ModelSummary:
    context = f"{where} models[{raw.get('name', '?')}]"
    longest = raw.get("longestStreamSeconds")
    if longest is not None:
        longest = _int(raw, "longestStreamSeconds", context)
    preview = raw.get("previewReplicas")
    replicas = _int(raw, "replicas", context)
    gates = raw.get("gates", [])
    if not isinstance(gates, list) or not all(isinstance(g, str) for g in gates):
        raise PlanInputError(f"{context}: 'gates' must be a list of gate names")
    return ModelSummary(
        name=_str(raw, "name", context),
        namespace=_str(raw, "namespace", context),
        rollout=_str(raw, "rollout", context),
        revision=_str(raw, "revision", context),
        config_hash=_str(raw, "configHash", context),
        image=_str(raw, "image", context),
        served_model=_str(raw, "servedModel", context),
        model_id=_str(raw, "modelId", context),
        replicas=replicas,
        # Argo Rollouts runs a full-size preview when previewReplicaCount is unset.
        preview_replicas=replicas if preview is None else _int(raw, "previewReplicas", context),
        gpus_per_replica=_int(raw, "gpusPerReplica", context),
        drain_seconds=_int(raw, "drainSeconds", context),
        termination_grace_seconds=_int(raw, "terminationGraceSeconds", context),
        scale_down_delay_seconds=_int(raw, "scaleDownDelaySeconds", context),
        auto_promotion=_bool(raw, "autoPromotion", context),
        gates=tuple(gates),
        longest_stream_seconds=longest,
        stable_service=_str(raw, "stableService", context),
        preview_service=_str(raw, "previewService", context),
        startup_budget_seconds=_optional_int(raw, "startupBudgetSeconds", context),
        readiness_timeout_seconds=_optional_int(raw, "readinessTimeoutSeconds", context),
        progress_deadline_seconds=_optional_int(raw, "progressDeadlineSeconds", context),
    )


def _mapping(value: Any, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlanInputError(f"{where}: each entry of {what} must be an object, got {type(value).__name__}")
    return value


def _list(document: dict[str, Any], key: str, where: str, required: bool = True) -> list[Any]:
    if key not in document and not required:
        return []
    value = document.get(key)
    if not isinstance(value, list):
        raise PlanInputError(f"{where}: '{key}' must be a list; render the directory again")
    return value


def _str(document: dict[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise PlanInputError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _int(document: dict[str, Any], key: str, where: str) -> int:
    value = document.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanInputError(f"{where}: '{key}' must be an integer, got {value!r}")
    return value


def _optional_int(document: dict[str, Any], key: str, where: str) -> int | None:
    return None if document.get(key) is None else _int(document, key, where)


def _bool(document: dict[str, Any], key: str, where: str) -> bool:
    value = document.get(key)
    if not isinstance(value, bool):
        raise PlanInputError(f"{where}: '{key}' must be true or false, got {value!r}")
    return value
