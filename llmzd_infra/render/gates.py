"""The gate resources a render recorded, and the names the manifest and the plan show for them.

Names come from the registered resources rather than from config, so a render lists exactly the gates
``pulumi up`` would create: none for a render-only stack, and no separate load gate (the load check runs
inside the promotion gate).
"""

from __future__ import annotations

from collections.abc import Iterable

from llmzd_infra.render.mocks import RecordedResource

# A dynamic resource declared with a module and name registers as `pulumi-python:dynamic/<module>:<Name>`,
# one without as `pulumi-python:dynamic:Resource`.
DYNAMIC_PACKAGE = "pulumi-python"
DYNAMIC_MODULE = "dynamic"
PROMOTION_WITH_LOAD = "promotion (+ load check)"
# The order the gates run in (each depends on the one before); registration order is not guaranteed.
CHAIN_ORDER = ("readiness", "smoke-preview", "promotion", PROMOTION_WITH_LOAD, "smoke-stable")


def is_gate_type(resource_type: str) -> bool:
    package, _, rest = resource_type.partition(":")
    module = rest.split(":", 1)[0].split("/", 1)[0]
    return package == DYNAMIC_PACKAGE and module == DYNAMIC_MODULE


def gate_label(gate: RecordedResource) -> str:
    kind = gate.type.rsplit(":", 1)[-1]
    if kind == "ReadinessGate":
        return "readiness"
    if kind == "SmokeGate":
        return f"smoke-{gate.inputs.get('side')}"
    if kind == "PromotionGate":
        return PROMOTION_WITH_LOAD if gate.inputs.get("load") else "promotion"
    return kind


def gate_labels_by_model(gates: Iterable[RecordedResource]) -> dict[str, list[str]]:
    """Model name -> its gates in the order they run."""
    labels: dict[str, list[str]] = {}
    for gate in gates:
        labels.setdefault(str(gate.inputs.get("modelName")), []).append(gate_label(gate))
    return {model: sorted(names, key=_chain_position) for model, names in labels.items()}


def _chain_position(label: str) -> int:
    return CHAIN_ORDER.index(label) if label in CHAIN_ORDER else len(CHAIN_ORDER)
