"""Pulumi mocks that record what the program registers (with parents and dependencies) instead of creating it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor


@dataclass(frozen=True)
class RecordedResource:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Registration:
    """One RegisterResource call as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str
    dependencies: tuple[str, ...]
    custom: bool
    provider: str = ""  # provider reference ("<urn>::<id>"), empty for the default provider
    # Replacement order as sent: tests check that nothing deletes a ConfigMap before its replacement exists.
    delete_before_replace: bool = False
    delete_before_replace_defined: bool = False
    ignore_changes: tuple[str, ...] = ()
    alias_names: tuple[str, ...] = ()  # names of the aliases given as specs (the SDK's default under a monitor)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[RecordedResource] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(RecordedResource(args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        # component URN -> the outputs it registered (register_outputs), for tests of component contracts
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.registrations.append(Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            dependencies=tuple(request.dependencies),
            custom=bool(request.custom),
            provider=request.provider,
            delete_before_replace=bool(request.deleteBeforeReplace),
            delete_before_replace_defined=bool(request.deleteBeforeReplaceDefined),
            ignore_changes=tuple(request.ignoreChanges),
            alias_names=tuple(a.spec.name for a in request.aliases if a.HasField("spec") and a.spec.name),
        ))
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        outputs = rpc.deserialize_properties(request.outputs) if request.HasField("outputs") else {}
        self.component_outputs[request.urn] = plain(dict(outputs))
        return super().RegisterResourceOutputs(request)


def plain(value: Any) -> Any:
    """Mock inputs arrive through protobuf: integral numbers come back as floats, map order is lost."""
    if isinstance(value, dict):
        # Sorted keys: protobuf maps come back in arbitrary order, and renders must diff cleanly.
        return {key: plain(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
