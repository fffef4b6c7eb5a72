"""The gate resources the program declares; each carries its provider (pickled into state) and its inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from llmzd_infra.gates.providers import (
    RESULT_KEYS,
    GateProvider,
    PromotionGateProvider,
    ReadinessGateProvider,
    SmokeGateProvider,
)


class _Gate(Resource):
    def __init__(
        self, provider: GateProvider, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None
    ) -> None:
        # Result keys start as None so they exist as Output attributes; `check` drops them from the inputs.
        placeholders = dict.fromkeys(RESULT_KEYS[provider.kind])
        super().__init__(provider, name, {**placeholders, **props}, opts)

    def output(self, key: str) -> pulumi.Output[Any]:
        """One output property (a result key or an echoed input) by its camelCase name."""
        value: pulumi.Output[Any] = getattr(self, key)
        return value

    def outputs(self, keys: tuple[str, ...]) -> dict[str, pulumi.Output[Any]]:
        return {key: self.output(key) for key in keys}


class ReadinessGate(_Gate, module="llmzd", name="ReadinessGate"):
    def __init__(self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ReadinessGateProvider(), name, props, opts)


class SmokeGate(_Gate, module="llmzd", name="SmokeGate"):
    def __init__(self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SmokeGateProvider(), name, props, opts)


class PromotionGate(_Gate, module="llmzd", name="PromotionGate"):
    def __init__(self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PromotionGateProvider(), name, props, opts)
