"""Gate inputs shaped exactly as the engine hands them to a provider, built from the component's own code."""

from __future__ import annotations

from typing import Any

from llmzd_infra.components.rollout_gates import (
    RolloutGatesArgs,
    promotion_props,
    readiness_props,
    smoke_props,
)
from llmzd_infra.config import GateSettings, LoadGateSettings
from tests.support.fake_kube_api import FakeKubeAPI, FakeRollout

NAMESPACE = "llm-serving"
MODEL = "chat"
SERVED = "test-model"
PORT = 8000
NEW_REVISION = "rev-new-2222"
OLD_REVISION = "rev-old-1111"
NEW_HASH = "7d9f8c6b5a"
OLD_HASH = "5c4b3a2918"
FAST = 0.02  # poll interval in tests


def gate_args(
    *, revision: str = NEW_REVISION, auto_promotion: bool = False, smoke: bool = True,
    load: LoadGateSettings | None = None, preview_url: str | None = None, stable_url: str | None = None,
    served_model: str = SERVED, kube_context: str | None = None,
) -> RolloutGatesArgs:
    settings = GateSettings(
        poll_interval_seconds=FAST,
        smoke=smoke,
        smoke_timeout_seconds=5.0,
        preview_url=preview_url,
        stable_url=stable_url,
        load=load or LoadGateSettings(),
    )
    return RolloutGatesArgs(
        model_name=MODEL, namespace=NAMESPACE, rollout_name=MODEL, revision=revision, served_model=served_model,
        port=PORT, preview_service=f"{MODEL}-preview", stable_service=f"{MODEL}-stable",
        auto_promotion=auto_promotion, settings=settings, startup_budget_seconds=600,
        kubeconfig=None, kube_context=kube_context,
    )


def engine_props(props: dict[str, Any], kubeconfig: str | None) -> dict[str, Any]:
    """What the engine sends: None-valued inputs are absent, secrets arrive unwrapped (acceptSecrets=false)."""
    shaped = {key: value for key, value in props.items() if value is not None}
    if kubeconfig is not None:
        shaped["kubeconfig"] = kubeconfig
    return shaped


def all_props(
    api: FakeKubeAPI, args: RolloutGatesArgs, *, readiness_timeout: float = 3.0, promotion_timeout: float = 3.0,
) -> dict[str, dict[str, Any]]:
    """Each gate's inputs; timeouts are sub-second-capable here (config wants whole seconds) to keep tests fast."""
    assert api.kubeconfig_path is not None
    kubeconfig = api.kubeconfig_path.read_text()
    props = {
        "readiness": engine_props(readiness_props(args), kubeconfig),
        "smoke-preview": engine_props(smoke_props(args, "preview"), kubeconfig),
        "promotion": engine_props(promotion_props(args), kubeconfig),
        "smoke-stable": engine_props(smoke_props(args, "stable"), kubeconfig),
    }
    props["readiness"]["timeoutSeconds"] = readiness_timeout
    props["promotion"]["timeoutSeconds"] = promotion_timeout
    return props


def blue_green_rollout(**overrides: Any) -> FakeRollout:
    """The usual update: stable on the old revision, the new ReplicaSet behind preview, pause before promotion."""
    values: dict[str, Any] = {
        "namespace": NAMESPACE, "name": MODEL, "revision": NEW_REVISION, "new_hash": NEW_HASH,
        "stable_hash": OLD_HASH, "stable_revision": OLD_REVISION, "lagging_polls": 1,
    }
    values.update(overrides)
    return FakeRollout(**values)

