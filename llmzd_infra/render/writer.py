"""Write a render to disk: one YAML file per object, Helm summaries, a manifest and a short plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from llmzd_infra.config.deadlines import readiness_gate_timeout_seconds, startup_budget_seconds
from llmzd_infra.naming import CONFIG_HASH_ANNOTATION, REVISION_ANNOTATION, ModelNames
from llmzd_infra.render.gates import gate_labels_by_model
from llmzd_infra.render.runner import RenderResult

GENERATED = ("objects", "helm", "manifest.json", "plan.md")


def object_path(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata", {})
    scope = metadata.get("namespace") or "_cluster"
    return f"objects/{scope}/{obj['kind'].lower()}-{metadata['name']}.yaml"


def model_summaries(result: RenderResult) -> list[dict[str, Any]]:
    rollouts = {
        obj["metadata"]["name"]: obj for obj in result.objects if obj["kind"] == "Rollout"
    }
    summaries = []
    # From the registered gates, not the config: a render-only stack creates none, so the plan promises none.
    gates = gate_labels_by_model(result.gates)
    for model in result.parsed.stack.models:
        names = ModelNames(model.name)
        template = rollouts[names.rollout]["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        summaries.append({
            "name": model.name,
            "namespace": result.parsed.stack.namespace,
            "rollout": names.rollout,
            "revision": annotations[REVISION_ANNOTATION],
            "configHash": annotations[CONFIG_HASH_ANNOTATION],
            "image": template["spec"]["containers"][0]["image"],
            "servedModel": model.model.served_model_name,
            "modelId": model.model.id,
            "replicas": model.replicas,
            "previewReplicas": model.preview_replicas,
            "gpusPerReplica": model.gpus_per_replica,
            "drainSeconds": model.drain.pre_stop_seconds,
            "terminationGraceSeconds": model.drain.termination_grace_period_seconds,
            "scaleDownDelaySeconds": model.blue_green.scale_down_delay_seconds,
            "autoPromotion": model.blue_green.auto_promotion_enabled,
            "gates": gates.get(model.name, []),
            "longestStreamSeconds": model.drain.longest_stream_seconds,
            "stableService": names.stable_service,
            "previewService": names.preview_service,
            "port": model.port,
            "startupBudgetSeconds": startup_budget_seconds(model),
            "readinessTimeoutSeconds": readiness_gate_timeout_seconds(model),
            "progressDeadlineSeconds": rollouts[names.rollout]["spec"].get("progressDeadlineSeconds"),
        })
    return summaries


def policy_violations(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from llmzd_infra.policies import evaluate

    return [
        {"policy": v.policy, "level": v.level, "kind": v.kind, "name": v.name, "message": v.message}
        for v in evaluate(objects)
    ]


def build_manifest(result: RenderResult) -> dict[str, Any]:
    objects = sorted(result.objects, key=object_path)
    return {
        "project": "llmzd",
        "stack": result.stack,
        "namespace": result.parsed.stack.namespace,
        "cluster": {"gpuBudget": result.parsed.stack.gpu_budget},
        "objects": [
            {
                "file": object_path(obj),
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "namespace": obj["metadata"].get("namespace"),
                "name": obj["metadata"]["name"],
            }
            for obj in objects
        ],
        "helmReleases": sorted(result.helm_releases, key=lambda release: release["name"]),
        "models": model_summaries(result),
        "policy": {"violations": policy_violations(objects)},
    }


def plan_markdown(manifest: dict[str, Any]) -> str:
    lines = [f"# llmzd render: stack `{manifest['stack']}`", ""]
    lines += ["| model | rollout | revision | image | served model | gates |", "|---|---|---|---|---|---|"]
    for model in manifest["models"]:
        gates = ", ".join(model["gates"]) or "off"
        lines.append(
            f"| {model['name']} | {model['namespace']}/{model['rollout']} | `{model['revision']}` "
            f"| `{model['image']}` | {model['servedModel']} | {gates} |"
        )
    lines += ["", f"{len(manifest['objects'])} Kubernetes objects, {len(manifest['helmReleases'])} Helm releases."]
    violations = manifest["policy"]["violations"]
    if violations:
        lines += ["", "Policy violations:"]
        lines += [f"- [{v['level']}] {v['policy']} on {v['kind']}/{v['name']}: {v['message']}" for v in violations]
    return "\n".join(lines) + "\n"


def _dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def write_render(result: RenderResult, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    for name in GENERATED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for obj in result.objects:
        path = out / object_path(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump_yaml(obj), encoding="utf-8")
    for release in result.helm_releases:
        path = out / "helm" / f"{release['name']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump_yaml(release), encoding="utf-8")
    manifest = build_manifest(result)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "plan.md").write_text(plan_markdown(manifest), encoding="utf-8")
    return manifest
