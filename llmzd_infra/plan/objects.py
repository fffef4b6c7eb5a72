"""Classify every object between two renders: added, changed in place, replaced or deleted.

An object is *replaced* (deleted and created again, so anything pointing at it breaks for a moment) when:
- it moves namespace (same kind and name, another namespace), or is renamed (same kind, namespace and
  identity labels ``app.kubernetes.io/instance`` + ``llmzd.io/role``, another name);
- a field the API server will not update changes (``IMMUTABLE_FIELDS``, kept short on purpose), or a
  ConfigMap/Secret marked ``immutable: true`` changes its data.

A content-named ConfigMap (``<model>-config-<hash>``, immutable) is replaced on every data change too, but the
other way round: Pulumi creates the new one first and deletes the old one only after the whole update has
succeeded, so the reason says that instead of "renamed".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llmzd_infra.plan.field_diff import FieldChange, changes_between, under
from llmzd_infra.plan.references import is_content_named
from llmzd_infra.plan.render_dir import ObjectRef


class Change(StrEnum):
    ADDED = "added"
    CHANGED = "changed in place"
    REPLACED = "replaced"
    DELETED = "deleted"


@dataclass(frozen=True)
class ImmutableField:
    kind: str
    api_versions: tuple[str, ...]  # empty: every version
    path: str
    why: str


_V1BETA1 = ("policy/v1beta1",)
IMMUTABLE_FIELDS: tuple[ImmutableField, ...] = (
    ImmutableField("Service", (), "spec.clusterIP", "a Service's cluster IP cannot change"),
    ImmutableField("Service", (), "spec.clusterIPs", "a Service's cluster IPs cannot change"),
    ImmutableField("PodDisruptionBudget", _V1BETA1, "spec.selector", "v1beta1 PDB selector is immutable"),
    ImmutableField("Deployment", ("apps/v1",), "spec.selector", "apps/v1 workload selectors are immutable"),
    ImmutableField("StatefulSet", ("apps/v1",), "spec.selector", "apps/v1 workload selectors are immutable"),
    ImmutableField("Job", ("batch/v1",), "spec.template", "a Job's pod template is immutable"),
)
_IMMUTABLE_DATA_KINDS = ("ConfigMap", "Secret")
_DATA_FIELDS = ("data", "binaryData", "stringData")
IDENTITY_LABELS = ("app.kubernetes.io/instance", "app.kubernetes.io/component", "llmzd.io/role")
CONTENT_NAMED_REASON = "new content-named ConfigMap; the old one is deleted after the update succeeds"


@dataclass(frozen=True)
class ObjectChange:
    change: Change
    ref: ObjectRef  # the head object (the base object for deletions)
    fields: tuple[FieldChange, ...] = ()
    previous: ObjectRef | None = None  # set when a replacement renames or moves the object
    reasons: tuple[str, ...] = ()


Objects = dict[ObjectRef, dict[str, Any]]


def classify_objects(base: Objects, head: Objects) -> list[ObjectChange]:
    """Every object that differs, in a stable order: by change kind, then by object."""
    changes: list[ObjectChange] = []
    for ref in sorted(base.keys() & head.keys()):
        fields = changes_between(base[ref], head[ref])
        if fields:
            reasons = immutable_reasons(base[ref], fields)
            kind = Change.REPLACED if reasons else Change.CHANGED
            changes.append(ObjectChange(kind, ref, tuple(fields), reasons=reasons))
    only_base = {ref: base[ref] for ref in base.keys() - head.keys()}
    only_head = {ref: head[ref] for ref in head.keys() - base.keys()}
    for old_ref, new_ref, reason in _pair_moves(only_base, only_head):
        old_object, new_object = only_base.pop(old_ref), only_head.pop(new_ref)
        fields = changes_between(old_object, new_object)
        if old_ref.namespace == new_ref.namespace and is_content_named(new_object):
            reason = CONTENT_NAMED_REASON
        replaced = ObjectChange(Change.REPLACED, new_ref, tuple(fields), previous=old_ref, reasons=(reason,))
        changes.append(replaced)
    changes += [ObjectChange(Change.ADDED, ref) for ref in sorted(only_head)]
    changes += [ObjectChange(Change.DELETED, ref) for ref in sorted(only_base)]
    order = list(Change)
    return sorted(changes, key=lambda c: (order.index(c.change), c.ref))


def immutable_reasons(old_object: dict[str, Any], fields: Iterable[FieldChange]) -> tuple[str, ...]:
    kind, api_version = old_object.get("kind"), old_object.get("apiVersion")
    reasons: list[str] = []
    fields = list(fields)
    for rule in IMMUTABLE_FIELDS:
        applies = rule.kind == kind and (not rule.api_versions or api_version in rule.api_versions)
        if applies and any(under(f.path, rule.path) for f in fields):
            reasons.append(f"{rule.path} changed: {rule.why}")
    frozen_data = kind in _IMMUTABLE_DATA_KINDS and old_object.get("immutable") is True
    if frozen_data and any(under(f.path, data) for f in fields for data in _DATA_FIELDS):
        reasons.append(f"data changed in an immutable {kind}")
    return tuple(dict.fromkeys(reasons))


def _pair_moves(only_base: Objects, only_head: Objects) -> list[tuple[ObjectRef, ObjectRef, str]]:
    """Pair a deleted and an added object that are the same thing moved (namespace) or renamed."""
    pairs: list[tuple[ObjectRef, ObjectRef, str]] = []
    used_base: set[ObjectRef] = set()
    used_head: set[ObjectRef] = set()
    for matcher, describe in (
        (lambda ref, _obj: (ref.kind, ref.name), _namespace_move),
        (lambda ref, obj: (ref.kind, ref.namespace, _identity(obj)), _rename),
    ):
        base_groups = _unique_groups(only_base, used_base, matcher)
        head_groups = _unique_groups(only_head, used_head, matcher)
        for key in sorted(base_groups.keys() & head_groups.keys(), key=repr):
            old_ref, new_ref = base_groups[key], head_groups[key]
            if key[-1] is None:
                continue
            pairs.append((old_ref, new_ref, describe(old_ref, new_ref)))
            used_base.add(old_ref)
            used_head.add(new_ref)
    return pairs


def _unique_groups(objects: Objects, used: set[ObjectRef], matcher: Any) -> dict[Any, ObjectRef]:
    groups: dict[Any, list[ObjectRef]] = {}
    for ref, obj in objects.items():
        if ref not in used:
            groups.setdefault(matcher(ref, obj), []).append(ref)
    # Only an unambiguous one-to-one match is a move; anything else stays an add plus a delete.
    return {key: refs[0] for key, refs in groups.items() if len(refs) == 1}


def _identity(obj: dict[str, Any]) -> tuple[str, ...] | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if "app.kubernetes.io/instance" not in labels:
        return None
    return tuple(str(labels.get(label, "")) for label in IDENTITY_LABELS)


def _namespace_move(old: ObjectRef, new: ObjectRef) -> str:
    return f"namespace {old.namespace or '(cluster)'} → {new.namespace or '(cluster)'}"


def _rename(old: ObjectRef, new: ObjectRef) -> str:
    return f"name {old.name} → {new.name}"
