"""The input properties of each gate: validation for ``check``, the keys whose change re-runs a gate for
``diff``, and typed views for ``create``/``update``.

Inputs are camelCase, as they appear in Pulumi state. Numbers may arrive as floats (protobuf Struct), so
integers are accepted in either form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from llmzd_infra.gates.kube import ClusterAccess, kubeconfig_problem
from llmzd_infra.gates.rollouts import RolloutRef

GateKind = Literal["readiness", "smoke", "promotion"]
Side = Literal["preview", "stable"]
SIDES: tuple[Side, ...] = ("preview", "stable")
# pulumi.runtime.rpc.UNKNOWN: a value not known yet during preview; checked later, when it is known.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class InputField:
    key: str
    kind: Literal["str", "int", "number", "bool", "object"]
    required: bool = True
    # Whether a change re-runs the gate. Cluster access and polling cadence do not change what is checked.
    triggers: bool = True
    rule: Callable[[Any], str | None] | None = None


def _dns_label(value: Any) -> str | None:
    if len(value) > 63 or not value.replace("-", "").isalnum() or value != value.lower():
        return "must be a DNS label (lowercase letters, digits, '-', at most 63 characters)"
    return None


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _port(value: Any) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number between 1 and 65535"


def _http_url(value: Any) -> str | None:
    return None if value.startswith(("http://", "https://")) else "must start with http:// or https://"


def _not_empty(value: Any) -> str | None:
    return None if value.strip() else "must not be empty"


def _side(value: Any) -> str | None:
    return None if value in SIDES else f"must be one of {', '.join(SIDES)}"


def _kubeconfig(value: Any) -> str | None:
    problem = kubeconfig_problem(value)
    return f"{problem} (content not shown)" if problem else None


def _load(value: Any) -> str | None:
    missing = [key for key in LOAD_KEYS if key not in value]
    if missing:
        return f"missing {', '.join(missing)}"
    rates = ("maxErrorRate", "max5xxRate", "minStreamCompletion")
    if any(not isinstance(value[key], int | float) or not 0 <= value[key] <= 1 for key in rates):
        return f"{', '.join(rates)} must be numbers between 0 and 1"
    if not all(isinstance(value[key], int | float) and value[key] >= 1 for key in ("concurrency", "durationSeconds")):
        return "concurrency and durationSeconds must be at least 1"
    return None


LOAD_KEYS = ("concurrency", "durationSeconds", "maxErrorRate", "max5xxRate", "minStreamCompletion")

COMMON_FIELDS: tuple[InputField, ...] = (
    InputField("modelName", "str", rule=_dns_label),
    InputField("namespace", "str", rule=_dns_label),
    InputField("rolloutName", "str", rule=_not_empty),
    InputField("revision", "str", rule=_not_empty),
    InputField("servedModel", "str", rule=_not_empty),
    InputField("port", "int", rule=_port),
    InputField("kubeconfig", "str", required=False, triggers=False, rule=_kubeconfig),
    InputField("kubeContext", "str", required=False, triggers=False),
    InputField("pollIntervalSeconds", "number", triggers=False, rule=_positive),
)
GATE_FIELDS: dict[GateKind, tuple[InputField, ...]] = {
    "readiness": (
        InputField("previewService", "str", rule=_not_empty),
        InputField("stableService", "str", rule=_not_empty),
        InputField("previewUrl", "str", required=False, rule=_http_url),
        InputField("stableUrl", "str", required=False, rule=_http_url),
        InputField("timeoutSeconds", "number", rule=_positive),
    ),
    "smoke": (
        InputField("side", "str", rule=_side),
        InputField("service", "str", rule=_not_empty),
        InputField("url", "str", required=False, rule=_http_url),
        InputField("timeoutSeconds", "number", rule=_positive),
    ),
    "promotion": (
        InputField("autoPromotion", "bool"),
        InputField("stableService", "str", rule=_not_empty),
        InputField("stableUrl", "str", required=False, rule=_http_url),
        InputField("timeoutSeconds", "number", rule=_positive),
        InputField("load", "object", required=False, rule=_load),
    ),
}


def fields_of(kind: GateKind) -> tuple[InputField, ...]:
    return COMMON_FIELDS + GATE_FIELDS[kind]


def _type_problem(field: InputField, value: Any) -> str | None:
    if field.kind == "str":
        return None if isinstance(value, str) else "must be a string"
    if field.kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if field.kind == "object":
        return None if isinstance(value, dict) else "must be an object"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "must be a number"
    if field.kind == "int" and float(value) != int(value):
        return "must be a whole number"
    return None


def check_inputs(kind: GateKind, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalized inputs plus (property, reason) failures; values still unknown (preview) are not judged."""
    inputs = dict(news)
    failures: list[tuple[str, str]] = []
    for field in fields_of(kind):
        value = inputs.get(field.key)
        if value == UNKNOWN:
            continue
        if value is None:
            if field.required:
                failures.append((field.key, f"{field.key} is required"))
            continue
        problem = _type_problem(field, value) or (field.rule(value) if field.rule else None)
        if problem:
            failures.append((field.key, f"{field.key} {problem}"))
        elif field.kind == "int":
            inputs[field.key] = int(value)
    known = {f.key for f in fields_of(kind)} | {"__provider"}
    failures += [(key, f"{key} is not an input of the {kind} gate") for key in sorted(set(inputs) - known)]
    return inputs, failures


def changed_keys(kind: GateKind, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
    """Inputs whose change re-runs the gate (revision and check settings), in field order."""
    return [f.key for f in fields_of(kind) if f.triggers and olds.get(f.key) != news.get(f.key)]


@dataclass(frozen=True)
class GateTarget:
    """What every gate needs: which model and revision, which Rollout, how to reach the cluster."""

    model_name: str
    namespace: str
    rollout_name: str
    revision: str
    served_model: str
    port: int
    access: ClusterAccess
    poll_interval_s: float

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> GateTarget:
        return cls(
            model_name=str(props["modelName"]),
            namespace=str(props["namespace"]),
            rollout_name=str(props["rolloutName"]),
            revision=str(props["revision"]),
            served_model=str(props["servedModel"]),
            port=int(props["port"]),
            access=ClusterAccess(kubeconfig=props.get("kubeconfig"), context=props.get("kubeContext")),
            poll_interval_s=float(props["pollIntervalSeconds"]),
        )

    @property
    def rollout(self) -> RolloutRef:
        return RolloutRef(self.namespace, self.rollout_name)


@dataclass(frozen=True)
class ServiceEndpoint:
    """A Service reached through the API server's proxy, or through an explicit base URL when given."""

    side: Side
    service: str
    url: str | None

    def describe(self) -> str:
        via = self.url if self.url else "the API server's service proxy"
        return f"{self.side} Service {self.service} (via {via})"


@dataclass(frozen=True)
class ReadinessSpec:
    target: GateTarget
    preview: ServiceEndpoint
    stable: ServiceEndpoint
    timeout_s: float

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> ReadinessSpec:
        return cls(
            target=GateTarget.from_props(props),
            preview=ServiceEndpoint("preview", str(props["previewService"]), props.get("previewUrl")),
            stable=ServiceEndpoint("stable", str(props["stableService"]), props.get("stableUrl")),
            timeout_s=float(props["timeoutSeconds"]),
        )


@dataclass(frozen=True)
class SmokeSpec:
    target: GateTarget
    endpoint: ServiceEndpoint
    timeout_s: float

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> SmokeSpec:
        side: Side = "stable" if props["side"] == "stable" else "preview"
        return cls(
            target=GateTarget.from_props(props),
            endpoint=ServiceEndpoint(side, str(props["service"]), props.get("url")),
            timeout_s=float(props["timeoutSeconds"]),
        )


@dataclass(frozen=True)
class LoadSpec:
    concurrency: int
    duration_s: float
    max_error_rate: float
    max_5xx_rate: float
    min_stream_completion: float

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> LoadSpec:
        return cls(
            concurrency=int(props["concurrency"]),
            duration_s=float(props["durationSeconds"]),
            max_error_rate=float(props["maxErrorRate"]),
            max_5xx_rate=float(props["max5xxRate"]),
            min_stream_completion=float(props["minStreamCompletion"]),
        )


@dataclass(frozen=True)
class PromotionSpec:
    target: GateTarget
    auto_promotion: bool
    stable: ServiceEndpoint
    timeout_s: float
    load: LoadSpec | None

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> PromotionSpec:
        load = props.get("load")
        return cls(
            target=GateTarget.from_props(props),
            auto_promotion=bool(props["autoPromotion"]),
            stable=ServiceEndpoint("stable", str(props["stableService"]), props.get("stableUrl")),
            timeout_s=float(props["timeoutSeconds"]),
            load=LoadSpec.from_props(load) if load else None,
        )
