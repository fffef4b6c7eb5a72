"""Wrap each rule of ``llmzd_infra.policies`` as a CrossGuard ResourceValidationPolicy."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from llmzd_infra.policies import RULES, Rule

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


def build_policies() -> list[ResourceValidationPolicy]:
    return [resource_policy(rule) for rule in RULES]
