"""Rollout status parsing, and the exact patches sent for promote and abort."""

from __future__ import annotations

import asyncio

from llmzd_infra.gates import rollouts
from llmzd_infra.gates.kube import ClusterAccess, open_session
from llmzd_infra.gates.rollouts import RolloutState
from tests.llmzd_infra.gates.helpers import MODEL, NAMESPACE, NEW_HASH, OLD_HASH, blue_green_rollout
from tests.support.fake_kube_api import FakeKubeAPI


def state(**status: object) -> RolloutState:
    body = {
        "metadata": {"generation": 3},
        "spec": {"template": {"metadata": {"annotations": {"llmzd.io/revision": "r2"}}}},
        "status": {"observedGeneration": "3", **status},
    }
    return RolloutState.from_json(body)


def test_paused_for_promotion_and_not_promoted() -> None:
    paused = state(
        phase="Paused", currentPodHash="new", stableRS="old",
        blueGreen={"activeSelector": "old", "previewSelector": "new"},
        pauseConditions=[{"reason": "BlueGreenPause", "startTime": "t"}],
    )
    assert paused.paused_for_promotion
    assert not paused.fully_promoted
    assert paused.carries("r2")
    assert "paused for BlueGreenPause" in paused.describe()


def test_fully_promoted_needs_healthy_active_and_stable_on_current() -> None:
    done = state(phase="Healthy", currentPodHash="new", stableRS="new", blueGreen={"activeSelector": "new"})
    assert done.fully_promoted
    half = state(phase="Healthy", currentPodHash="new", stableRS="old", blueGreen={"activeSelector": "new"})
    assert not half.fully_promoted


def test_stale_observed_generation_does_not_carry_the_revision() -> None:
    stale = state(phase="Healthy", observedGeneration="2")
    assert not stale.controller_caught_up
    assert not stale.carries("r2")
    assert not state(phase="Healthy").carries("r1")


def test_promote_and_abort_send_the_cli_status_patches(fake_kube_api: FakeKubeAPI) -> None:
    fake_kube_api.add_model(blue_green_rollout(lagging_polls=0, progressing_polls=0), 8000)
    assert fake_kube_api.kubeconfig_path is not None
    access = ClusterAccess(kubeconfig=fake_kube_api.kubeconfig_path.read_text())
    ref = rollouts.RolloutRef(NAMESPACE, MODEL)

    async def go() -> tuple[RolloutState, RolloutState, str | None]:
        async with open_session(access) as session:
            await rollouts.read_rollout(session, ref)  # progressing -> paused
            promoted = await rollouts.promote(session, ref)
            aborted = await rollouts.abort(session, ref)
            stable = await rollouts.revision_of_pod_hash(session, NAMESPACE, aborted.stable_pod_hash)
            return promoted, aborted, stable

    promoted, aborted, stable_revision = asyncio.run(go())
    bodies = [(p.subresource, p.content_type, p.body) for p in fake_kube_api.patches]
    assert bodies == [
        ("status", "application/merge-patch+json", {"status": {"pauseConditions": None}}),
        ("status", "application/merge-patch+json", {"status": {"abort": True}}),
    ]
    assert promoted.active_selector == NEW_HASH
    assert aborted.aborted and aborted.active_selector == OLD_HASH
    assert stable_revision == "rev-old-1111"
    assert fake_kube_api.spec_patches() == []
