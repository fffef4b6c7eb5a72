"""Zero-downtime rules for Argo Rollouts that run vLLM. Each takes the Rollout object, returns messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmzd_infra.policies.k8s_fields import as_int, dig, mapping
from llmzd_infra.policies.vllm_rollout import (
    GATES_ANNOTATION,
    blue_green,
    container_drain_seconds,
    container_label,
    drain_seconds,
    gates_configured,
    image_tag_problem,
    pre_stop_hook,
    probe_budget_seconds,
    progress_deadline_seconds,
    scale_down_delay_seconds,
    termination_grace_seconds,
    vllm_containers,
)

GPU_RESOURCE = "nvidia.com/gpu"
HEALTH_PATHS = ("/health", "/health/")


def probes_present(rollout: Mapping[str, Any]) -> list[str]:
    messages = []
    for container in vllm_containers(rollout):
        for probe in ("startupProbe", "readinessProbe"):
            if not mapping(container.get(probe)):
                messages.append(
                    f"{container_label(container)} has no {probe}: without it traffic (or liveness restarts) "
                    "can reach vLLM before the model is loaded"
                )
    return messages


def readiness_checks_model(rollout: Mapping[str, Any]) -> list[str]:
    messages = []
    for container in vllm_containers(rollout):
        path = dig(container, "readinessProbe", "httpGet", "path")
        if path in HEALTH_PATHS:
            messages.append(
                f"{container_label(container)} readinessProbe is a bare httpGet on {path}: vLLM answers "
                "/health before the model is served; use the exec readiness probe that checks /v1/models"
            )
    return messages


def pre_stop_drain(rollout: Mapping[str, Any]) -> list[str]:
    messages = []
    grace = termination_grace_seconds(rollout)
    for container in vllm_containers(rollout):
        hook = pre_stop_hook(container)
        if hook is None:
            messages.append(
                f"{container_label(container)} has no preStop drain: SIGTERM cuts in-flight streams at once; "
                "add lifecycle.preStop sleep"
            )
            continue
        seconds = drain_seconds(hook)
        if seconds is None:
            messages.append(
                f"{container_label(container)} preStop hook has no readable drain time; use `sleep N` in the "
                "exec command or lifecycle.preStop.sleep.seconds"
            )
        elif seconds >= grace:
            messages.append(
                f"{container_label(container)} preStop drain {seconds}s is not shorter than "
                f"terminationGracePeriodSeconds {grace}s: the kubelet kills vLLM before it shuts down cleanly"
            )
    return messages


def scale_down_covers_drain(rollout: Mapping[str, Any]) -> list[str]:
    strategy = blue_green(rollout)
    drains = container_drain_seconds(rollout)
    if strategy is None or not drains:
        return []
    delay = scale_down_delay_seconds(strategy)
    drain = max(drains)
    if delay >= drain:
        return []
    return [
        f"blueGreen.scaleDownDelaySeconds {delay}s (Argo's default is 30 when unset) is shorter than the "
        f"preStop drain {drain}s: the old ReplicaSet is scaled down while it may still serve streams"
    ]


def image_pinned(rollout: Mapping[str, Any]) -> list[str]:
    messages = []
    for container in vllm_containers(rollout):
        problem = image_tag_problem(str(container.get("image") or ""))
        if problem:
            messages.append(f"{container_label(container)} {problem}: pin a version tag or a digest")
    return messages


def gpu_limits_set(rollout: Mapping[str, Any]) -> list[str]:
    messages = []
    for container in vllm_containers(rollout):
        count = as_int(dig(container, "resources", "limits", GPU_RESOURCE))
        if count is None or count < 1:
            messages.append(
                f"{container_label(container)} has no resources.limits['{GPU_RESOURCE}'] of at least 1: "
                "the pod may land on a node without a GPU or share one unplanned"
            )
    return messages


def auto_promotion_gated(rollout: Mapping[str, Any]) -> list[str]:
    strategy = blue_green(rollout)
    if strategy is None or not vllm_containers(rollout):
        return []
    # Argo Rollouts promotes automatically unless autoPromotionEnabled is explicitly false.
    auto = strategy.get("autoPromotionEnabled")
    if auto is False or gates_configured(rollout, strategy):
        return []
    state = "on" if auto is True else "on (Argo's default when unset)"
    return [
        f"blueGreen auto-promotion is {state} with no gates (annotation {GATES_ANNOTATION}: enabled) and no "
        "prePromotionAnalysis: an unverified revision would take production traffic; set "
        "autoPromotionEnabled: false or enable the gates"
    ]


def progress_deadline_covers_startup(rollout: Mapping[str, Any]) -> list[str]:
    """Argo marks the Rollout Degraded (ProgressDeadlineExceeded) if a pod loads longer than the deadline."""
    deadline = progress_deadline_seconds(rollout)
    messages = []
    for container in vllm_containers(rollout):
        startup = probe_budget_seconds(mapping(container.get("startupProbe")))
        readiness = probe_budget_seconds(mapping(container.get("readinessProbe")))
        needed = startup + readiness
        if deadline < needed:
            messages.append(
                f"progressDeadlineSeconds {deadline}s (Argo's default is 600 when unset) is shorter than "
                f"{container_label(container)}'s startup budget {startup}s plus readiness budget {readiness}s: "
                "Argo marks a revision still loading as Degraded (ProgressDeadlineExceeded); set it to at least "
                f"{needed}s"
            )
    return messages
