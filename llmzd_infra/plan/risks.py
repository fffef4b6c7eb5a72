"""Warnings for changes that can break consumers or a zero-downtime switch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmzd_infra.plan.field_diff import under
from llmzd_infra.plan.objects import Change, ObjectChange
from llmzd_infra.plan.references import config_map_references
from llmzd_infra.plan.render_dir import ObjectRef, RenderedStack
from llmzd_infra.plan.rollouts import ModelPlan, Status
from llmzd_infra.policies.disruption_rules import drain_can_evict_every_pod


@dataclass(frozen=True)
class PlanWarning:
    code: str
    subject: str
    message: str


def plan_warnings(
    base: RenderedStack, head: RenderedStack, objects: Sequence[ObjectChange], models: Sequence[ModelPlan]
) -> list[PlanWarning]:
    warnings = [*_service_warnings(objects), *_namespace_warnings(base, head, objects)]
    warnings += _shared_config_warnings(head, objects)
    warnings += _disruption_warnings(head, objects)
    for plan in models:
        warnings += _model_warnings(base, plan)
    budget = _gpu_budget_warning(head, models)
    if budget:
        warnings.append(budget)
    warnings += [
        PlanWarning("policy", f"{v.get('kind')}/{v.get('name')}", f"{v.get('policy')}: {v.get('message')}")
        for v in head.violations
        if v.get("level") == "mandatory"
    ]
    return warnings


def _service_warnings(objects: Sequence[ObjectChange]) -> list[PlanWarning]:
    warnings = []
    for change in objects:
        if change.ref.kind != "Service" or change.change not in (Change.CHANGED, Change.REPLACED):
            continue
        for prefix, what in (("spec.selector", "selector"), ("spec.ports", "ports")):
            fields = [f.path for f in change.fields if under(f.path, prefix)]
            if fields:
                warnings.append(PlanWarning(
                    f"service-{what}", str(change.ref),
                    f"{what} change ({', '.join(fields)}) breaks clients and the Rollout's traffic switch",
                ))
    return warnings


def _shared_config_warnings(head: RenderedStack, objects: Sequence[ObjectChange]) -> list[PlanWarning]:
    """A ConfigMap the Rollout pods read whose data changes under the same name.

    Old and new revision then share it: it is updated (or, immutable, deleted and created again) before any
    gate has run, and a stable pod that restarts meanwhile, or after an abort, reads the new settings or none.
    """
    read = {
        ObjectRef("ConfigMap", ref.namespace, name)
        for ref, obj in head.objects.items()
        if ref.kind == "Rollout"
        for name in config_map_references(dict((obj.get("spec") or {}).get("template") or {}))
    }
    warnings = []
    for change in objects:
        same_name = change.previous is None and change.change in (Change.CHANGED, Change.REPLACED)
        data = [f.path for f in change.fields if under(f.path, "data") or under(f.path, "binaryData")]
        if same_name and data and change.ref in read:
            warnings.append(PlanWarning(
                "shared-config", str(change.ref),
                "data changes under the same name while Rollout pods read it: the stable pods see it before any "
                "gate runs, so one that restarts gets the new settings (or none); name the ConfigMap after its "
                "content",
            ))
    return warnings


def _disruption_warnings(head: RenderedStack, objects: Sequence[ObjectChange]) -> list[PlanWarning]:
    """A budget that lets a drain evict every serving pod, when this change creates it or sets its numbers."""
    touched = {
        (change.ref.kind, change.ref.name)
        for change in objects
        if change.change is not Change.DELETED and (
            change.ref.kind == "PodDisruptionBudget" or change.change is Change.ADDED
            or any(under(f.path, "spec.replicas") for f in change.fields)
        )
    }
    found = drain_can_evict_every_pod(head.objects.values())
    rollouts = {name for kind, name in touched if kind == "Rollout"}
    return [
        PlanWarning("disruption-budget", f"{kind} {name}", message)
        for kind, name, message in found
        if (kind, name) in touched or any(f"Rollout {rollout}:" in message for rollout in rollouts)
    ]


def _namespace_warnings(
    base: RenderedStack, head: RenderedStack, objects: Sequence[ObjectChange]
) -> list[PlanWarning]:
    if base.namespace != head.namespace:
        return [PlanWarning(
            "namespace", f"{base.namespace} → {head.namespace}",
            "namespace change replaces every namespaced object: pods are deleted and created without a "
            "blue/green switch, and in-cluster URLs change",
        )]
    warnings = []
    for change in objects:
        old = change.previous
        if change.change is Change.REPLACED and old is not None and old.namespace != change.ref.namespace:
            message = f"moves from namespace {old.namespace or '(cluster)'}: replaced, not updated"
            warnings.append(PlanWarning("namespace", str(change.ref), message))
    return warnings


def _model_warnings(base: RenderedStack, plan: ModelPlan) -> list[PlanWarning]:
    if plan.status is Status.REMOVED:
        return []
    model, warnings = plan.model, []
    if model.auto_promotion and not model.gates:
        before = base.models.get(plan.name)
        newly = before is None or not before.auto_promotion or bool(before.gates)
        state = "turned on" if newly else "on"
        warnings.append(PlanWarning(
            "auto-promotion", plan.name,
            f"auto-promotion {state} without gates: a revision that starts but fails takes all traffic",
        ))
    warnings += _deadline_warnings(plan)
    longest = model.longest_stream_seconds
    if longest is not None and model.drain_seconds < longest:
        warnings.append(PlanWarning(
            "drain", plan.name,
            f"preStop drain {model.drain_seconds}s is shorter than the longest expected stream {longest}s: "
            "streams still open at scale-down are cut",
        ))
    return warnings


def _deadline_warnings(plan: ModelPlan) -> list[PlanWarning]:
    model = plan.model
    deadline = model.progress_deadline_seconds
    waits = [model.startup_budget_seconds]
    if model.gates:
        waits.append(model.readiness_timeout_seconds)
    known = [wait for wait in waits if wait is not None]
    if deadline is None or not known or deadline > max(known):
        return []
    return [PlanWarning(
        "progress-deadline", plan.name,
        f"Argo's progressDeadlineSeconds {deadline}s is not longer than the startup/gate wait of {max(known)}s: "
        "a revision still loading is marked Degraded (ProgressDeadlineExceeded) and the gate fails on that",
    )]


def _gpu_budget_warning(head: RenderedStack, models: Sequence[ModelPlan]) -> PlanWarning | None:
    if head.gpu_budget is None:
        return None
    needed = sum(plan.gpus_during_switch for plan in models)
    if needed <= head.gpu_budget:
        return None
    return PlanWarning(
        "gpu-budget", f"stack {head.stack}",
        f"{needed} GPUs needed during the switch exceed the cluster budget of {head.gpu_budget}: preview "
        "pods stay Pending and the rollout stalls; lower previewReplicas or roll models one at a time",
    )
