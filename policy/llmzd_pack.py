"""Wrap each rule of ``llmzd_infra.policies`` as a CrossGuard ResourceValidationPolicy."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from llmzd_infra.policies import RULES, STACK_RULES, Rule, StackRule

PACK_NAME = "llmzd-zero-downtime"


def resource_policy(rule: Rule) -> ResourceValidationPolicy:
    """One policy per rule; a Python ResourceValidationPolicy sees every resource, so filter on the type."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != rule.pulumi_type:
            return
        # args.props are the resource inputs: the Kubernetes object in camelCase (apiVersion, metadata, spec).
        for message in rule.check(args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.level),
    )


def _as_object(resource_type: str, props: Any) -> dict[str, Any]:
    """The resource's properties with apiVersion and kind from its type token (``kubernetes:policy/v1:Kind``)."""
    _, group_version, kind = resource_type.split(":", 2)
    api_version = group_version.removeprefix("core/")
    return {"apiVersion": api_version, "kind": kind, **dict(props)}


def stack_policy(rule: StackRule) -> StackValidationPolicy:
    """A rule over several objects sees every resource's inputs at once (after the program has run)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        objects = [
            _as_object(resource.resource_type, resource.props)
            for resource in args.resources if resource.resource_type.startswith("kubernetes:")
        ]
        for _kind, _name, message in rule.check(objects):
            report_violation(message, None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.level),
    )


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [*(resource_policy(rule) for rule in RULES), *(stack_policy(rule) for rule in STACK_RULES)]
