"""Which Rollouts and containers the zero-downtime rules are about, and the values they compare."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from llmzd_infra.policies.k8s_fields import as_int, dig, mapping, sequence

ROLLOUT_API_VERSION = "argoproj.io/v1alpha1"
# Kubernetes' and Argo Rollouts' defaults when the field is unset.
DEFAULT_TERMINATION_GRACE_SECONDS = 30
DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30
# argo-rollouts v1.9.1 utils/defaults/defaults.go DefaultProgressDeadlineSeconds.
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
# Probe field defaults (k8s.io/api v0.34 core/v1 types.go: periodSeconds 10, failureThreshold 3).
DEFAULT_PROBE_PERIOD_SECONDS = 10
DEFAULT_PROBE_FAILURE_THRESHOLD = 3
GATES_ANNOTATION = "llmzd.io/gates"

_SLEEP_SECONDS = re.compile(r"^(\d+)s?$")


def is_vllm_container(container: Mapping[str, Any]) -> bool:
    return container.get("name") == "vllm" or "vllm" in str(container.get("image") or "").lower()


def pod_spec(rollout: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(dig(rollout, "spec", "template", "spec"))


def vllm_containers(rollout: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """vLLM containers of the Rollout's pod template (none for a workloadRef Rollout or another workload)."""
    containers = [mapping(c) for c in sequence(pod_spec(rollout).get("containers"))]
    return [c for c in containers if is_vllm_container(c)]


def container_label(container: Mapping[str, Any]) -> str:
    return f"container '{container.get('name') or '<unnamed>'}'"


def termination_grace_seconds(rollout: Mapping[str, Any]) -> int:
    value = as_int(pod_spec(rollout).get("terminationGracePeriodSeconds"))
    return DEFAULT_TERMINATION_GRACE_SECONDS if value is None else value


def progress_deadline_seconds(rollout: Mapping[str, Any]) -> int:
    value = as_int(dig(rollout, "spec", "progressDeadlineSeconds"))
    return DEFAULT_PROGRESS_DEADLINE_SECONDS if value is None else value


def probe_budget_seconds(probe: Mapping[str, Any]) -> int:
    """Longest time a probe tolerates failures: initialDelaySeconds + periodSeconds x failureThreshold."""
    if not probe:
        return 0
    delay = as_int(probe.get("initialDelaySeconds")) or 0
    period = as_int(probe.get("periodSeconds")) or DEFAULT_PROBE_PERIOD_SECONDS
    failures = as_int(probe.get("failureThreshold")) or DEFAULT_PROBE_FAILURE_THRESHOLD
    return delay + period * failures


def blue_green(rollout: Mapping[str, Any]) -> Mapping[str, Any] | None:
    strategy = dig(rollout, "spec", "strategy", "blueGreen")
    return strategy if isinstance(strategy, Mapping) else None


def scale_down_delay_seconds(strategy: Mapping[str, Any]) -> int:
    value = as_int(strategy.get("scaleDownDelaySeconds"))
    return DEFAULT_SCALE_DOWN_DELAY_SECONDS if value is None else value


def pre_stop_hook(container: Mapping[str, Any]) -> Mapping[str, Any] | None:
    hook = dig(container, "lifecycle", "preStop")
    return hook if isinstance(hook, Mapping) and hook else None


def drain_seconds(hook: Mapping[str, Any]) -> int | None:
    """Seconds a preStop hook holds SIGTERM back: the ``sleep`` action or a ``sleep N`` in an exec command."""
    sleep_action = as_int(dig(hook, "sleep", "seconds"))
    if sleep_action is not None:
        return sleep_action
    words: list[str] = []
    for part in sequence(dig(hook, "exec", "command")):
        # "sh -c 'sleep 60'" arrives as one string; split it into words too.
        try:
            words.extend(shlex.split(str(part)))
        except ValueError:
            words.extend(str(part).split())
    for word, following in pairwise(words):
        if word.rsplit("/", 1)[-1] == "sleep":
            seconds = _SLEEP_SECONDS.match(following.rstrip(";&"))
            if seconds:
                return int(seconds.group(1))
    return None


def container_drain_seconds(rollout: Mapping[str, Any]) -> list[int]:
    """Every readable preStop drain of the Rollout's vLLM containers."""
    found = []
    for container in vllm_containers(rollout):
        hook = pre_stop_hook(container)
        seconds = drain_seconds(hook) if hook else None
        if seconds is not None:
            found.append(seconds)
    return found


def image_tag_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it is (a tag other than latest, or a digest)."""
    if not image:
        return "has no image"
    if "@" in image:
        return None
    last_segment = image.rsplit("/", 1)[-1]
    if ":" not in last_segment:
        return f"image '{image}' has no tag (pulls latest)"
    tag = last_segment.rsplit(":", 1)[1]
    if tag in ("", "latest"):
        return f"image '{image}' uses the floating tag 'latest'"
    return None


def gates_configured(rollout: Mapping[str, Any], strategy: Mapping[str, Any]) -> bool:
    gates = dig(rollout, "metadata", "annotations", GATES_ANNOTATION)
    return gates == "enabled" or bool(strategy.get("prePromotionAnalysis"))
