"""The rule list, shared by the offline render (``evaluate``) and the CrossGuard pack in ``policy/``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmzd_infra.policies import config_map_rules, disruption_rules, rollout_rules
from llmzd_infra.policies.k8s_fields import object_name
from llmzd_infra.policies.violation import Level, Violation
from llmzd_infra.policies.vllm_rollout import ROLLOUT_API_VERSION

Check = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    level: Level
    api_version: str
    kind: str
    check: Check

    @property
    def pulumi_type(self) -> str:
        """The resource type token Pulumi gives this kind, e.g. ``kubernetes:core/v1:ConfigMap``."""
        group_version = self.api_version if "/" in self.api_version else f"core/{self.api_version}"
        return f"kubernetes:{group_version}:{self.kind}"

    def applies_to(self, obj: Mapping[str, Any]) -> bool:
        return obj.get("apiVersion") == self.api_version and obj.get("kind") == self.kind


def _rollout_rule(name: str, description: str, check: Check) -> Rule:
    return Rule(name, description, "mandatory", ROLLOUT_API_VERSION, "Rollout", check)


RULES: tuple[Rule, ...] = (
    _rollout_rule(
        "vllm-probes-present",
        "vLLM containers have a startupProbe and a readinessProbe.",
        rollout_rules.probes_present,
    ),
    _rollout_rule(
        "vllm-readiness-checks-model",
        "vLLM readiness is not a bare httpGet on /health (it is up before the model is).",
        rollout_rules.readiness_checks_model,
    ),
    _rollout_rule(
        "vllm-prestop-drain",
        "vLLM containers have a preStop drain shorter than terminationGracePeriodSeconds.",
        rollout_rules.pre_stop_drain,
    ),
    _rollout_rule(
        "bluegreen-scale-down-covers-drain",
        "Argo blueGreen.scaleDownDelaySeconds is at least the preStop drain.",
        rollout_rules.scale_down_covers_drain,
    ),
    _rollout_rule(
        "vllm-image-pinned",
        "vLLM images are pinned to a version tag or digest (no tag or 'latest' is a violation).",
        rollout_rules.image_pinned,
    ),
    _rollout_rule(
        "vllm-gpu-limits-set",
        "vLLM containers set resources.limits['nvidia.com/gpu'].",
        rollout_rules.gpu_limits_set,
    ),
    _rollout_rule(
        "rollout-progress-deadline-covers-startup",
        "spec.progressDeadlineSeconds is at least the vLLM startup plus readiness probe budgets.",
        rollout_rules.progress_deadline_covers_startup,
    ),
    _rollout_rule(
        "bluegreen-auto-promotion-gated",
        "Auto-promotion is off unless llmzd gates or Argo prePromotionAnalysis are configured.",
        rollout_rules.auto_promotion_gated,
    ),
    Rule(
        "configmap-no-secrets",
        "ConfigMaps hold no secret-looking keys or values (tokens, passwords, private keys, cloud keys).",
        "mandatory",
        "v1",
        "ConfigMap",
        config_map_rules.no_secrets_in_config_map,
    ),
)


StackCheck = Callable[[Iterable[Mapping[str, Any]]], list[tuple[str, str, str]]]


@dataclass(frozen=True)
class StackRule:
    """A rule that relates several objects (say a PodDisruptionBudget and the Rollout it covers)."""

    name: str
    description: str
    level: Level
    check: StackCheck  # objects -> (kind, name, message)


STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "pdb-drain-keeps-a-pod-serving",
        "A PodDisruptionBudget's maxUnavailable is below the replica count of the vLLM Rollout it covers "
        "(advisory: maxUnavailable 0 blocks node drains instead).",
        "advisory",
        disruption_rules.drain_can_evict_every_pod,
    ),
)


def evaluate(objects: Iterable[Mapping[str, Any]]) -> list[Violation]:
    """Every violation of every rule, in object order then rule order; then the stack rules."""
    objects = list(objects)
    violations = []
    for obj in objects:
        for rule in RULES:
            if rule.applies_to(obj):
                violations.extend(
                    Violation(rule.name, rule.level, rule.kind, object_name(obj), message)
                    for message in rule.check(obj)
                )
    for stack_rule in STACK_RULES:
        violations.extend(
            Violation(stack_rule.name, stack_rule.level, kind, name, message)
            for kind, name, message in stack_rule.check(objects)
        )
    return violations
