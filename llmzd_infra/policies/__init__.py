"""Zero-downtime policy rules as pure functions on Kubernetes object dicts.

The offline render calls ``evaluate``; the CrossGuard pack in ``policy/`` wraps the same ``RULES`` for
``pulumi preview --policy-pack policy``. Nothing here imports Pulumi.
"""

from llmzd_infra.policies.registry import RULES, STACK_RULES, Rule, StackRule, evaluate
from llmzd_infra.policies.violation import Level, Violation

__all__ = ["RULES", "STACK_RULES", "Level", "Rule", "StackRule", "Violation", "evaluate"]
