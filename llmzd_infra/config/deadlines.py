"""Who gives up first on a revision that does not come up: the llmzd gates, then Argo Rollouts.

Argo Rollouts marks a Rollout Degraded (condition Progressing=False, reason ProgressDeadlineExceeded) once its
Progressing condition has not been updated for ``spec.progressDeadlineSeconds``, 600 s when unset
(argo-rollouts v1.9.1: utils/defaults/defaults.go DefaultProgressDeadlineSeconds; utils/conditions/conditions.go
RolloutTimedOut; rollout/sync.go). Progress is reported when the new ReplicaSet is created and each time more of
its pods become available; a paused Rollout (BlueGreenPause) is not timed. One replica that takes the whole
startup-probe budget to load therefore has to fit in the deadline, with the readiness probe's own time on top.

The gates must be the ones to give up: they abort with a report naming the cause, while the promotion gate reads
Argo's Degraded as a failure of its own. So the deadline is derived to be longer than every gate's wait.
"""

from __future__ import annotations

from llmzd_infra.config.models import GateSettings, ModelDeployment
from llmzd_infra.config.sizing import startup_timing


def startup_budget_seconds(model: ModelDeployment) -> int:
    """How long the kubelet lets one pod load before the startup probe restarts it."""
    return startup_timing(model.probes).budget_seconds


def readiness_timeout(settings: GateSettings, startup_budget: int) -> int:
    """The readiness gate's limit: the configured one, else the startup budget."""
    return settings.readiness_timeout_seconds or startup_budget


def readiness_gate_timeout_seconds(model: ModelDeployment) -> int:
    return readiness_timeout(model.gates, startup_budget_seconds(model))


def readiness_margin_seconds(model: ModelDeployment) -> int:
    """After the startup probe passes, the readiness probe's own budget before the pod counts as available."""
    return model.probes.readiness.budget_seconds


def progress_deadline_seconds(model: ModelDeployment) -> int:
    """``spec.progressDeadlineSeconds``: longer than the startup budget and every gate wait, plus the margin.

    The promotion gate's limit counts too: with previewReplicaCount below replicas, promotion scales the new
    ReplicaSet up and those pods load while the gate waits.
    """
    longest_wait = max(
        startup_budget_seconds(model),
        readiness_gate_timeout_seconds(model),
        model.gates.promotion_timeout_seconds,
    )
    return longest_wait + readiness_margin_seconds(model)
