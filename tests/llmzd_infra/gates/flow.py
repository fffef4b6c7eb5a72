"""Drive the gate providers the way the engine does (check, then create or update with the checked inputs)
against the fake Kubernetes API and fake vLLM servers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from llmzd_infra.gates.errors import GateFailed
from llmzd_infra.gates.providers import (
    GateProvider,
    PromotionGateProvider,
    ReadinessGateProvider,
    SmokeGateProvider,
)
from tests.llmzd_infra.gates.helpers import NEW_HASH, OLD_HASH, OLD_REVISION, PORT, SERVED
from tests.support.fake_kube_api import FakeKubeAPI, FakeRollout

PROVIDERS: dict[str, Callable[[], GateProvider]] = {
    "readiness": ReadinessGateProvider,
    "smoke-preview": SmokeGateProvider,
    "promotion": PromotionGateProvider,
    "smoke-stable": SmokeGateProvider,
}
CHAIN = tuple(PROVIDERS)


def as_engine_update(gate: str, props: dict[str, Any], previous_revision: str | None) -> dict[str, Any]:
    """check, then create (no previous state) or update (state from the previous revision's run)."""
    provider = PROVIDERS[gate]()
    checked = provider.check({}, props)
    assert checked.failures == [], [(f.property, f.reason) for f in checked.failures]
    if previous_revision is None:
        return dict(provider.create(checked.inputs).outs or {})
    olds = {**{k: v for k, v in checked.inputs.items() if k != "kubeconfig"}, "revision": previous_revision}
    return dict(provider.update("gate-id", olds, checked.inputs).outs or {})


def run_chain(
    props: dict[str, dict[str, Any]], *, previous_revision: str | None = OLD_REVISION, gates: tuple[str, ...] = CHAIN
) -> dict[str, dict[str, Any]]:
    return {gate: as_engine_update(gate, props[gate], previous_revision) for gate in gates}


def expect_failure(gate: str, props: dict[str, Any], api: FakeKubeAPI, previous: str | None = OLD_REVISION) -> str:
    with pytest.raises(GateFailed) as info:
        as_engine_update(gate, props, previous)
    message = str(info.value)
    assert api.token not in message
    return message


@dataclass
class World:
    """A fake cluster: the Rollout plus the new (preview) and old (stable) vLLM pods behind their Services."""

    api: FakeKubeAPI
    rollout: FakeRollout
    new_pods: Any
    old_pods: Any | None
    timers: list[threading.Timer] = field(default_factory=list)

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self.timers.append(timer)
        timer.start()


@contextmanager
def fake_world(
    api: FakeKubeAPI, fake_vllm: Callable[..., Any], rollout: FakeRollout, *, new_model: str = SERVED,
    new_phase: str = "ready", **new_knobs: Any,
) -> Iterator[World]:
    new_pods = fake_vllm(model=new_model, phase=new_phase, revision="new", **new_knobs)
    old_pods = fake_vllm(model=SERVED, phase="ready", revision="old") if rollout.stable_hash else None
    api.add_model(rollout, PORT)
    api.set_backend(NEW_HASH, new_pods.base_url)
    if old_pods is not None:
        api.set_backend(OLD_HASH, old_pods.base_url)
    world = World(api, rollout, new_pods, old_pods)
    try:
        yield world
    finally:
        for timer in world.timers:
            timer.cancel()
