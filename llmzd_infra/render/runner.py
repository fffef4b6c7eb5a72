"""Run the same program ``pulumi up`` runs, under mocks, and sort what it registered into objects."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc

from llmzd_infra.config import ParsedConfig, parse_stack_config
from llmzd_infra.render.gates import is_gate_type
from llmzd_infra.render.mocks import RecordedResource, RecordingMocks, RecordingMonitor, Registration, plain
from llmzd_infra.render.stack_file import SECRET_PLACEHOLDER

HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


@dataclass(frozen=True)
class RenderResult:
    stack: str
    parsed: ParsedConfig
    objects: list[dict[str, Any]]
    helm_releases: list[dict[str, Any]]
    gates: list[RecordedResource]  # the gate resources (dynamic providers), in registration order
    outputs: dict[str, Any] = field(default_factory=dict)
    registrations: list[Registration] = field(default_factory=list)


def render_program(raw_config: Mapping[str, str], secret_keys: Collection[str], stack: str) -> RenderResult:
    """Validate config (raises ConfigError before anything runs), then run the program under mocks."""
    parsed = parse_stack_config(raw_config, secret_keys)
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="llmzd", stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(raw_config), sorted(secret_keys))
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        from llmzd_infra.program import run

        built = run()
        return pulumi.Output.from_input(built.outputs).apply(outputs.update)

    program()
    objects = [_kubernetes_object(r) for r in mocks.resources if _is_kubernetes_object(r.type)]
    helm = [_helm_summary(r) for r in mocks.resources if r.type == HELM_RELEASE_TYPE]
    gates = [r for r in mocks.resources if is_gate_type(r.type)]
    return RenderResult(stack, parsed, objects, helm, gates, outputs, monitor.registrations)


def _is_kubernetes_object(resource_type: str) -> bool:
    return (
        resource_type.startswith("kubernetes:")
        and resource_type != HELM_RELEASE_TYPE
        and not resource_type.startswith("pulumi:providers:")
    )


def _kubernetes_object(resource: RecordedResource) -> dict[str, Any]:
    obj = plain(resource.inputs)
    if obj.get("kind") == "Secret":
        # Never write secret material to disk, even a placeholder-free test value; keep the key names.
        for key in ("data", "stringData"):
            if key in obj:
                obj[key] = dict.fromkeys(unwrap_secret(obj[key]) or {}, SECRET_PLACEHOLDER)
    obj = _redact_secrets(obj)
    ordered = {key: obj.pop(key) for key in ("apiVersion", "kind", "metadata") if key in obj}
    return {**ordered, **obj}


def _is_secret_value(value: Any) -> bool:
    """A value the SDK marked secret reaches the mocks as ``{<sig key>: <secret sig>, "value": ...}``."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def unwrap_secret(value: Any) -> Any:
    return value.get("value") if _is_secret_value(value) else value


def _redact_secrets(value: Any) -> Any:
    """Every secret-marked value, wherever it sits, becomes the placeholder."""
    if _is_secret_value(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {key: _redact_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_secrets(item) for item in value]
    return value


def _helm_summary(resource: RecordedResource) -> dict[str, Any]:
    inputs = plain(resource.inputs)
    return {
        "name": inputs.get("name", resource.name),
        "chart": inputs.get("chart"),
        "repo": (inputs.get("repositoryOpts") or {}).get("repo"),
        "version": inputs.get("version"),
        "namespace": inputs.get("namespace"),
        "createNamespace": inputs.get("createNamespace", False),
        "values": inputs.get("values") or {},
    }
