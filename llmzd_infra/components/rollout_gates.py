"""One model's gate chain: readiness on preview -> smoke on preview -> promotion -> smoke on stable.

Each gate is a dynamic resource whose inputs include the pod-template revision, so ``pulumi preview`` lists
the gates exactly when the pod template changes. Each depends on the previous one; the first depends on
whatever the component was given (the Rollout and its Services).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from llmzd_infra.config import GateSettings
from llmzd_infra.config.deadlines import readiness_timeout
from llmzd_infra.gates.inputs import Side
from llmzd_infra.gates.providers import RESULT_KEYS
from llmzd_infra.gates.resources import PromotionGate, ReadinessGate, SmokeGate


@dataclass(frozen=True)
class RolloutGatesArgs:
    model_name: str
    namespace: str
    rollout_name: str
    revision: str  # the pod template's llmzd.io/revision annotation
    served_model: str
    port: int
    preview_service: str
    stable_service: str
    auto_promotion: bool
    settings: GateSettings
    startup_budget_seconds: int
    kubeconfig: pulumi.Input[str] | None = None  # kubeconfig content; made secret here in any case
    kube_context: str | None = None

    @property
    def readiness_timeout_seconds(self) -> int:
        return readiness_timeout(self.settings, self.startup_budget_seconds)


def common_props(args: RolloutGatesArgs) -> dict[str, Any]:
    props: dict[str, Any] = {
        "modelName": args.model_name,
        "namespace": args.namespace,
        "rolloutName": args.rollout_name,
        "revision": args.revision,
        "servedModel": args.served_model,
        "port": args.port,
        "pollIntervalSeconds": args.settings.poll_interval_seconds,
        "kubeContext": args.kube_context,
    }
    if args.kubeconfig is not None:
        props["kubeconfig"] = pulumi.Output.secret(args.kubeconfig)
    return props


def readiness_props(args: RolloutGatesArgs) -> dict[str, Any]:
    return {
        **common_props(args),
        "previewService": args.preview_service,
        "stableService": args.stable_service,
        "previewUrl": args.settings.preview_url,
        "stableUrl": args.settings.stable_url,
        "timeoutSeconds": args.readiness_timeout_seconds,
    }


def smoke_props(args: RolloutGatesArgs, side: Side) -> dict[str, Any]:
    preview = side == "preview"
    return {
        **common_props(args),
        "side": side,
        "service": args.preview_service if preview else args.stable_service,
        "url": args.settings.preview_url if preview else args.settings.stable_url,
        "timeoutSeconds": args.settings.smoke_timeout_seconds,
    }


def promotion_props(args: RolloutGatesArgs) -> dict[str, Any]:
    load = args.settings.load
    return {
        **common_props(args),
        "autoPromotion": args.auto_promotion,
        "stableService": args.stable_service,
        "stableUrl": args.settings.stable_url,
        "timeoutSeconds": args.settings.promotion_timeout_seconds,
        "load": {
            "concurrency": load.concurrency,
            "durationSeconds": load.duration_seconds,
            "maxErrorRate": load.max_error_rate,
            "max5xxRate": load.max_5xx_rate,
            "minStreamCompletion": load.min_stream_completion,
        } if load.enabled else None,
    }


class RolloutGates(pulumi.ComponentResource):
    def __init__(self, name: str, args: RolloutGatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llmzd:index:RolloutGates", name, None, opts)
        # depends_on of a component does not reach its children: the first gate waits for it explicitly.
        given = opts.depends_on if opts else None
        upstream = list(given) if isinstance(given, list) else ([given] if given is not None else [])

        def after(*previous: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=[p for p in previous if p is not None])

        self.readiness = ReadinessGate(f"{name}-readiness", readiness_props(args), opts=after(*upstream))
        self.smoke_preview: SmokeGate | None = None
        self.smoke_stable: SmokeGate | None = None
        if args.settings.smoke:
            self.smoke_preview = SmokeGate(
                f"{name}-smoke-preview", smoke_props(args, "preview"), opts=after(self.readiness)
            )
        self.promotion = PromotionGate(
            f"{name}-promotion", promotion_props(args), opts=after(self.smoke_preview or self.readiness)
        )
        if args.settings.smoke:
            self.smoke_stable = SmokeGate(
                f"{name}-smoke-stable", smoke_props(args, "stable"), opts=after(self.promotion)
            )
        self.last: pulumi.Resource = self.smoke_stable or self.promotion
        self.outputs: dict[str, Any] = {
            "revision": self.readiness.output("revision"),
            "readiness": self.readiness.outputs(RESULT_KEYS["readiness"]),
            "smokePreview": self.smoke_preview.outputs(RESULT_KEYS["smoke"]) if self.smoke_preview else None,
            "promotion": self.promotion.outputs(RESULT_KEYS["promotion"]),
            "smokeStable": self.smoke_stable.outputs(RESULT_KEYS["smoke"]) if self.smoke_stable else None,
        }
        self.register_outputs(self.outputs)
