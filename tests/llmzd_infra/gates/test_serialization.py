"""Every provider survives the serializer Pulumi itself uses (dill, sorted dicts, base64) and holds no state."""

from __future__ import annotations

import base64

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from llmzd_infra.components.rollout_gates import readiness_props
from llmzd_infra.gates.providers import (
    GateProvider,
    PromotionGateProvider,
    ReadinessGateProvider,
    SmokeGateProvider,
)
from tests.llmzd_infra.gates.helpers import engine_props, gate_args
from tests.support.fake_kube_api import kubeconfig_yaml

PROVIDERS = [ReadinessGateProvider, SmokeGateProvider, PromotionGateProvider]


@pytest.mark.parametrize("provider_class", PROVIDERS)
def test_round_trip_through_pulumis_serializer(provider_class: type[GateProvider]) -> None:
    provider = provider_class()
    encoded = serialize_provider(provider)
    restored = dill.loads(base64.b64decode(encoded))
    assert type(restored) is provider_class
    assert vars(restored) == {}  # no clients, locks or loggers travel with it
    assert serialize_provider(restored) == encoded  # deterministic, so state does not churn


@pytest.mark.parametrize("provider_class", PROVIDERS)
def test_serialized_provider_is_small_and_by_reference(provider_class: type[GateProvider]) -> None:
    encoded = serialize_provider(provider_class())
    raw = base64.b64decode(encoded)
    assert b"llmzd_infra.gates.providers" in raw
    assert len(raw) < 1000  # the class is referenced by module, not its code pickled


def test_restored_provider_checks_inputs() -> None:
    restored = dill.loads(base64.b64decode(serialize_provider(ReadinessGateProvider())))
    props = engine_props(readiness_props(gate_args()), kubeconfig_yaml("https://k:6443", "tok-0123456789"))
    assert restored.check({}, props).failures == []
