"""Rollout plan between two offline renders: what rolls and why, object changes, risky-change warnings."""

from llmzd_infra.plan.errors import PlanInputError
from llmzd_infra.plan.markdown import render_markdown
from llmzd_infra.plan.render_dir import load_render
from llmzd_infra.plan.report import Plan, build_plan

__all__ = ["Plan", "PlanInputError", "build_plan", "load_render", "render_markdown"]
