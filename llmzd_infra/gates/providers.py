"""The gates as Pulumi dynamic providers.

Pulumi pickles each provider (dill, by reference to this module) into the state and runs it in its dynamic
provider host, so a provider holds nothing but its class: clients, loops and loggers are made inside each
call. ``create``/``update`` run only during ``pulumi up`` (never in preview) and block until the check passes
or fails; ``delete`` leaves the cluster alone. Outputs echo the inputs (the engine passes old outputs to
``diff``) except the kubeconfig, which stays an input only and is a secret there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult

from llmzd_infra.gates.errors import GateFailed
from llmzd_infra.gates.host_workers import widen_host_pool
from llmzd_infra.gates.inputs import GateKind, changed_keys, check_inputs

PROVIDER_KEY = "__provider"
SECRET_INPUTS = ("kubeconfig",)
RESULT_KEYS: dict[GateKind, tuple[str, ...]] = {
    "readiness": ("podHash", "service", "modelIds", "startedAt", "finishedAt", "secondsWaited"),
    "smoke": ("ttftSeconds", "totalSeconds", "checks", "startedAt", "finishedAt", "secondsWaited"),
    "promotion": (
        "podHash", "result", "activeSelector", "promotedAt", "startedAt", "finishedAt", "secondsWaited", "loadSummary",
    ),
}


class GateProvider(ResourceProvider):
    kind: ClassVar[GateKind]

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        # The component declares result keys as None placeholders so they become resource attributes.
        inputs = {k: v for k, v in news.items() if not (k in RESULT_KEYS[self.kind] and v is None)}
        inputs, failures = check_inputs(self.kind, inputs)
        return CheckResult(inputs, [CheckFailure(prop, reason) for prop, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed_keys(self.kind, olds, news)
        return DiffResult(changes=bool(changes), replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._run(props, previous_revision=None)
        return CreateResult(self.resource_id(props), outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._run(news, previous_revision=olds.get("revision")))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # a gate owns nothing in the cluster

    def resource_id(self, props: Mapping[str, Any]) -> str:
        return f"{self.kind}:{props['namespace']}/{props['rolloutName']}"

    def _run(self, props: dict[str, Any], *, previous_revision: str | None) -> dict[str, Any]:
        widen_host_pool()  # before blocking: gates of more than four models must not queue behind each other
        try:
            results = asyncio.run(self.execute(props, previous_revision))
        except GateFailed as failure:
            # Re-raised here so the engine's traceback is short and ends with the message a person reads.
            raise GateFailed(str(failure)) from None
        echoed = {k: v for k, v in props.items() if k not in SECRET_INPUTS and k != PROVIDER_KEY}
        return {**echoed, **results}

    def execute(self, props: dict[str, Any], previous_revision: str | None) -> Awaitable[dict[str, Any]]:
        raise NotImplementedError


class ReadinessGateProvider(GateProvider):
    kind = "readiness"

    def execute(self, props: dict[str, Any], previous_revision: str | None) -> Awaitable[dict[str, Any]]:
        from llmzd_infra.gates.inputs import ReadinessSpec
        from llmzd_infra.gates.readiness import wait_until_ready

        return wait_until_ready(ReadinessSpec.from_props(props), previous_revision=previous_revision)


class SmokeGateProvider(GateProvider):
    kind = "smoke"

    def resource_id(self, props: Mapping[str, Any]) -> str:
        return f"{super().resource_id(props)}/{props['side']}"

    def execute(self, props: dict[str, Any], previous_revision: str | None) -> Awaitable[dict[str, Any]]:
        from llmzd_infra.gates.inputs import SmokeSpec
        from llmzd_infra.gates.smoke import run_smoke_gate

        return run_smoke_gate(SmokeSpec.from_props(props), previous_revision=previous_revision)


class PromotionGateProvider(GateProvider):
    kind = "promotion"

    def execute(self, props: dict[str, Any], previous_revision: str | None) -> Awaitable[dict[str, Any]]:
        from llmzd_infra.gates.inputs import PromotionSpec
        from llmzd_infra.gates.promotion import promote_and_wait

        return promote_and_wait(PromotionSpec.from_props(props), previous_revision=previous_revision)
