"""Per model: will its Rollout roll (new pod template revision), why, and what the switch needs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llmzd_infra.plan.field_diff import FieldChange, changes_between
from llmzd_infra.plan.render_dir import ModelSummary, ObjectRef, RenderedStack
from llmzd_infra.plan.values import code, describe_change, list_delta

REVISION_ANNOTATION = "llmzd.io/revision"
CONFIG_HASH_ANNOTATION = "llmzd.io/config-hash"
_CONTAINER_FIELD = re.compile(r"^spec\.(?:init)?[cC]ontainers\[[^\]]*\](?:\.(?P<field>[A-Za-z]+))?")
_PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# The ConfigMap is named after its content, so a settings change also renames every reference to it: that is
# the config hash moving, not an env or volume change of its own.
_CONFIG_MAP_NAME = re.compile(r"\.(?:configMapRef|configMapKeyRef|configMap)\.name$")


class Status(StrEnum):
    ROLLS = "rolls"
    UNCHANGED = "no roll"
    NEW = "new"
    REMOVED = "removed"


@dataclass(frozen=True)
class RollCause:
    label: str  # image, model, vLLM args, resources, probes, env, volumes, config hash, ...
    details: tuple[str, ...]  # Markdown, e.g. "`vllm/vllm-openai:v0.11.0` → `vllm/vllm-openai:v0.11.1`"


@dataclass(frozen=True)
class ModelPlan:
    name: str
    status: Status
    model: ModelSummary  # head summary (base summary for a removed model)
    base_revision: str | None
    causes: tuple[RollCause, ...]
    template_changes: tuple[FieldChange, ...]

    @property
    def rolls(self) -> bool:
        return self.status is Status.ROLLS

    @property
    def gpus_during_switch(self) -> int:
        """GPUs the model holds at the peak of this change: stable + preview while blue/green switches."""
        model = self.model
        if self.status is Status.REMOVED:
            return 0
        replicas = model.replicas + (model.preview_replicas if self.rolls else 0)
        return replicas * model.gpus_per_replica


def plan_models(base: RenderedStack, head: RenderedStack) -> list[ModelPlan]:
    plans = []
    for name in sorted(base.models.keys() | head.models.keys()):
        old, new = base.models.get(name), head.models.get(name)
        if new is None and old is not None:
            plans.append(ModelPlan(name, Status.REMOVED, old, old.revision, (), ()))
        elif old is None and new is not None:
            plans.append(ModelPlan(name, Status.NEW, new, None, (), ()))
        elif old is not None and new is not None:
            template_changes = tuple(changes_between(_template(base, old), _template(head, new)))
            causes = roll_causes(old, new, template_changes)
            rolls = bool(template_changes) or old.revision != new.revision
            status = Status.ROLLS if rolls else Status.UNCHANGED
            plans.append(ModelPlan(name, status, new, old.revision, causes, template_changes))
    return plans


def _template(stack: RenderedStack, model: ModelSummary) -> dict[str, Any]:
    rollout = stack.objects.get(ObjectRef("Rollout", model.namespace, model.rollout))
    if rollout is None:
        # The summary still carries the revision; without the object only that comparison is possible.
        return {}
    return dict((rollout.get("spec") or {}).get("template") or {})


def roll_causes(
    old: ModelSummary, new: ModelSummary, template_changes: Sequence[FieldChange]
) -> tuple[RollCause, ...]:
    """Name why the pod template changed, most telling cause first."""
    found: dict[str, list[str]] = {}

    def add(label: str, detail: str) -> None:
        found.setdefault(label, []).append(detail)

    if (old.model_id, old.served_model) != (new.model_id, new.served_model):
        if old.model_id != new.model_id:
            add("model", f"`{code(old.model_id)}` → `{code(new.model_id)}`")
        else:
            add("model", f"served as `{code(old.served_model)}` → `{code(new.served_model)}`")
    for change in template_changes:
        label = cause_of(change)
        if label == "args":
            for arg_label, detail in _arg_causes(change):
                add(arg_label, detail)
        elif label == "image":
            add(label, describe_change(change, "Rollout"))
        elif label is not None:
            add(label, f"`{code(change.path)}`")
    if not found and old.revision != new.revision:
        add("revision", f"`{old.revision}` → `{new.revision}`")
    order = ["model", "image", "vLLM args", "config hash", "resources", "probes", "env", "volumes", "drain",
             "pod labels", "pod annotations", "pod spec", "revision"]
    return tuple(RollCause(label, tuple(dict.fromkeys(found[label])))
                 for label in sorted(found, key=lambda k: order.index(k) if k in order else len(order)))


def cause_of(change: FieldChange) -> str | None:
    """The cause label for one pod-template field change; None for the revision annotation (an effect)."""
    path = change.path
    if path == f'metadata.annotations["{REVISION_ANNOTATION}"]':
        return None
    if path == f'metadata.annotations["{CONFIG_HASH_ANNOTATION}"]':
        return "config hash"
    if path.startswith("metadata.labels"):
        return "pod labels"
    if path.startswith("metadata"):
        return "pod annotations"
    if _CONFIG_MAP_NAME.search(path):
        return "config hash"
    if path.startswith("spec.volumes"):
        return "volumes"
    match = _CONTAINER_FIELD.match(path)
    if not match:
        return "pod spec"
    field = match.group("field")
    return {
        "image": "image",
        "args": "args",
        "command": "args",
        "resources": "resources",
        "env": "env",
        "envFrom": "env",
        "volumeMounts": "volumes",
        "lifecycle": "drain",
        **dict.fromkeys(_PROBES, "probes"),
    }.get(field or "", "pod spec")


def _arg_causes(change: FieldChange) -> Iterable[tuple[str, str]]:
    old_args, new_args = _words(change.old), _words(change.new)
    old_model, new_model = model_argument(old_args), model_argument(new_args)
    if old_model != new_model:
        yield "model", f"served model argument `{code(str(old_model))}` → `{code(str(new_model))}`"
    rest_old, rest_new = _without_model(old_args), _without_model(new_args)
    if rest_old != rest_new:
        yield "vLLM args", list_delta(rest_old, rest_new) or "changed"


def _words(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def model_argument(words: Sequence[str]) -> str | None:
    """The model vLLM serves: ``--model X``/``--model=X``, or the first positional after ``serve``."""
    for index, word in enumerate(words):
        if word == "--model" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("--model="):
            return word.split("=", 1)[1]
    if "serve" in words:
        after = words[words.index("serve") + 1:]
        if after and not after[0].startswith("-"):
            return after[0]
    # Args-only form (command ["vllm", "serve"] lives in the command field): the first positional.
    if words and not words[0].startswith("-"):
        return words[0]
    return None


def _without_model(words: Sequence[str]) -> list[str]:
    model = model_argument(words)
    out: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word == "--model":
            skip_next = True
            continue
        if word.startswith("--model=") or (model is not None and word == model):
            continue
        out.append(word)
    return out
