"""The plan as Markdown for a pull-request comment."""

from __future__ import annotations

from collections.abc import Iterable

from llmzd_infra.plan.field_diff import FieldChange, under
from llmzd_infra.plan.objects import Change, ObjectChange
from llmzd_infra.plan.report import Plan
from llmzd_infra.plan.rollouts import ModelPlan, Status
from llmzd_infra.plan.values import code, describe_change

MAX_FIELDS_PER_OBJECT = 12
TEMPLATE_PATH = "spec.template"


def render_markdown(plan: Plan) -> str:
    lines = [f"## llmzd rollout plan: stack `{plan.stack}`", "", _headline(plan), ""]
    if plan.warnings:
        lines += [f"### ⚠️ Warnings ({len(plan.warnings)})", ""]
        lines += [f"- **{w.code}** `{code(w.subject)}`: {w.message}" for w in plan.warnings]
        lines.append("")
    if plan.models:
        lines += _models_section(plan)
    lines += _objects_section(plan.objects)
    return "\n".join(lines).rstrip() + "\n"


def _headline(plan: Plan) -> str:
    rolling = sum(1 for m in plan.models if m.rolls)
    counts = {change: sum(1 for o in plan.objects if o.change is change) for change in Change}
    if not rolling and not plan.objects:
        return "**No changes:** nothing rolls and no object changes."
    objects = ", ".join(f"{counts[change]} {change.value}" for change in Change)
    warnings = f"**{_count(len(plan.warnings), 'warning')}**" if plan.warnings else "no warnings"
    rolls = f"{_count(rolling, 'model')} roll{'s' * (rolling == 1)}"
    return f"**{rolls}** · objects: {objects} · {warnings}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _models_section(plan: Plan) -> list[str]:
    lines = [
        "### Models",
        "",
        "| Model | Rolls | Why | Gates | Gives up after | Drain budget | GPUs during switch |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_model_row(model) for model in plan.models]
    budget = " (no budget configured)" if plan.gpu_budget is None else f" of a budget of {plan.gpu_budget}"
    lines += ["", f"GPUs needed during the switch: **{plan.gpus_during_switch}**{budget}.", ""]
    for model in plan.models:
        if model.causes:
            lines += _why_details(model)
    return lines


def _model_row(plan: ModelPlan) -> str:
    model = plan.model
    if plan.status is Status.ROLLS:
        rolls = f"**yes** `{plan.base_revision}` → `{model.revision}`"
    elif plan.status is Status.UNCHANGED:
        rolls = f"no (`{model.revision}`)"
    else:
        rolls = f"{plan.status.value} (`{model.revision}`)"
    why = ", ".join(cause.label for cause in plan.causes) or "—"
    gates = " → ".join(model.gates) if model.gates else "none"
    if model.auto_promotion:
        gates += " (auto-promotion)"
    drain = (f"preStop {model.drain_seconds}s · grace {model.termination_grace_seconds}s · "
             f"scale-down {model.scale_down_delay_seconds}s")
    if model.longest_stream_seconds is not None:
        drain += f" · longest stream {model.longest_stream_seconds}s"
    gpus = str(plan.gpus_during_switch)
    if plan.rolls:
        gpus += f" = ({model.replicas} stable + {model.preview_replicas} preview) x {model.gpus_per_replica}"
    cells = [f"`{plan.name}`", rolls, why, gates, _give_up(plan), drain, gpus]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _give_up(plan: ModelPlan) -> str:
    """Who stops waiting for a revision that does not come up, in order (see config/deadlines.py)."""
    model = plan.model
    parts = []
    if model.startup_budget_seconds is not None:
        parts.append(f"startup probe {model.startup_budget_seconds}s")
    if model.gates and model.readiness_timeout_seconds is not None:
        parts.append(f"readiness gate {model.readiness_timeout_seconds}s")
    if model.progress_deadline_seconds is not None:
        parts.append(f"Argo progressDeadlineSeconds {model.progress_deadline_seconds}s")
    return " · ".join(parts) or "—"


def _why_details(plan: ModelPlan) -> list[str]:
    lines = [f"<details><summary>Why <code>{plan.name}</code> rolls</summary>", ""]
    for cause in plan.causes:
        lines.append(f"- **{cause.label}**: " + "; ".join(cause.details))
    lines += ["", "Pod template changes:", ""]
    lines += _field_lines(plan.template_changes, "Rollout", indent="")
    return [*lines, "", "</details>", ""]


def _objects_section(objects: Iterable[ObjectChange]) -> list[str]:
    objects = list(objects)
    if not objects:
        return []
    lines = ["### Objects", ""]
    for change_kind in Change:
        group = [o for o in objects if o.change is change_kind]
        if not group:
            continue
        lines += [f"**{change_kind.value.capitalize()} ({len(group)})**", ""]
        for change in group:
            lines += _object_lines(change)
        lines.append("")
    return lines


def _object_lines(change: ObjectChange) -> list[str]:
    head = f"- `{change.ref}`"
    if change.previous is not None:
        head += f" (was `{change.previous}`)"
    if change.reasons:
        head += ": " + "; ".join(change.reasons)
    fields = list(change.fields)
    if change.ref.kind == "Rollout":
        # The pod template diff is already shown, with its causes, under the model.
        template = [f for f in fields if under(f.path, TEMPLATE_PATH)]
        fields = [f for f in fields if not under(f.path, TEMPLATE_PATH)]
        if template:
            head += f" (pod template: {len(template)} field changes, shown under Models)"
    return [head, *_field_lines(fields, change.ref.kind, indent="  ")]


def _field_lines(fields: Iterable[FieldChange], kind: str, indent: str) -> list[str]:
    fields = list(fields)
    lines = []
    for field in fields[:MAX_FIELDS_PER_OBJECT]:
        lines.append(f"{indent}- `{code(field.path)}`: {describe_change(field, kind)}")
    if len(fields) > MAX_FIELDS_PER_OBJECT:
        lines.append(f"{indent}- … {len(fields) - MAX_FIELDS_PER_OBJECT} more field changes")
    return lines


