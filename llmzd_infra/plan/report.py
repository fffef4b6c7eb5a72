"""The whole plan between two renders: model rollouts, object changes and warnings."""

from __future__ import annotations

from dataclasses import dataclass

from llmzd_infra.plan.errors import PlanInputError
from llmzd_infra.plan.objects import ObjectChange, classify_objects
from llmzd_infra.plan.render_dir import RenderedStack
from llmzd_infra.plan.risks import PlanWarning, plan_warnings
from llmzd_infra.plan.rollouts import ModelPlan, plan_models


@dataclass(frozen=True)
class Plan:
    stack: str
    gpu_budget: int | None
    models: tuple[ModelPlan, ...]
    objects: tuple[ObjectChange, ...]
    warnings: tuple[PlanWarning, ...]

    @property
    def gpus_during_switch(self) -> int:
        return sum(model.gpus_during_switch for model in self.models)


def build_plan(base: RenderedStack, head: RenderedStack) -> Plan:
    if base.stack != head.stack:
        raise PlanInputError(
            f"base render is stack '{base.stack}' but head is '{head.stack}': render both with one --stack"
        )
    models = plan_models(base, head)
    objects = classify_objects(base.objects, head.objects)
    warnings = plan_warnings(base, head, objects, models)
    return Plan(head.stack, head.gpu_budget, tuple(models), tuple(objects), tuple(warnings))
