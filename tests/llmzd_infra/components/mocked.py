"""Run one component under Pulumi's mocks and look at what it registered: inputs, parents, deps, outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from llmzd_infra.config import ModelDeployment, parse_stack_config
from llmzd_infra.render.mocks import RecordingMocks, RecordingMonitor, Registration, plain
from tests.support.stacks import minimal_model, raw_config


@dataclass
class Mocked:
    mocks: RecordingMocks
    monitor: RecordingMonitor
    built: Any = None

    def registration(self, type_: str, name: str) -> Registration:
        (found,) = [r for r in self.monitor.registrations if r.type == type_ and r.name == name]
        return found

    def inputs(self, type_: str, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.mocks.resources if r.type == type_ and r.name == name]
        return plain(dict(found.inputs))

    def children_of(self, parent: Registration) -> list[Registration]:
        return [r for r in self.monitor.registrations if r.parent == parent.urn]

    def outputs_of(self, registration: Registration) -> dict[str, Any]:
        return self.monitor.component_outputs[registration.urn]


def run_mocked(build: Callable[[], Any]) -> Mocked:
    """Call ``build`` inside a Pulumi program under recording mocks and wait for every resource."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="llmzd", stack="test", preview=False, monitor=monitor)
    result = Mocked(mocks, monitor)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        result.built = build()
        return pulumi.Output.from_input(None)

    program()
    return result


def model(name: str = "vllm", **overrides: Any) -> ModelDeployment:
    return parse_stack_config(raw_config([minimal_model(name, **overrides)])).stack.models[0]
