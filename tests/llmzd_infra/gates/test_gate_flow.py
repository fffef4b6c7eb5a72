"""End to end through the providers: fake Kubernetes API (real kubeconfig, token auth, service proxy) in front
of fake vLLM servers for the new (preview) and old (stable) pods."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from llmzd_infra.config import LoadGateSettings
from llmzd_infra.gates import report
from tests.llmzd_infra.gates.flow import as_engine_update, expect_failure, fake_world, run_chain
from tests.llmzd_infra.gates.helpers import (
    NEW_HASH,
    NEW_REVISION,
    OLD_HASH,
    OLD_REVISION,
    SERVED,
    all_props,
    blue_green_rollout,
    gate_args,
)
from tests.support.fake_kube_api import FakeKubeAPI, FakeService, kubeconfig_yaml
from tests.support.ports import free_port

FakeVllm = Callable[..., Any]


def test_update_waits_through_loading_promotes_once_and_ends_on_stable(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[str] = []
    monkeypatch.setattr(report, "_emit", logged.append)
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(), new_phase="loading") as world:
        world.later(0.4, lambda: world.new_pods.control(phase="ready"))
        outs = run_chain(all_props(fake_kube_api, gate_args()))

    readiness = outs["readiness"]
    assert readiness["revision"] == NEW_REVISION and readiness["podHash"] == NEW_HASH
    assert readiness["modelIds"] == [SERVED] and readiness["service"] == "chat-preview"
    assert readiness["secondsWaited"] >= 0.3  # it waited through the loading phase
    assert outs["smoke-preview"]["ttftSeconds"] > 0
    assert [c["name"] for c in outs["smoke-preview"]["checks"]] == ["health", "completion", "streaming"]
    assert outs["promotion"]["result"] == "promoted" and outs["promotion"]["activeSelector"] == NEW_HASH
    assert outs["promotion"]["promotedAt"] is not None
    assert outs["smoke-stable"]["totalSeconds"] > 0

    assert len(fake_kube_api.promotion_patches()) == 1
    assert fake_kube_api.abort_patches() == [] and fake_kube_api.spec_patches() == []
    # After promotion the stable Service forwards to the new pods, and the stable smoke reached them.
    assert world.new_pods.stats()["streams_completed"] >= 2
    assert world.old_pods.stats()["streams_started"] == 0
    for gate_outs in outs.values():
        assert "kubeconfig" not in gate_outs and fake_kube_api.token not in repr(gate_outs)
    # Progress is logged while waiting, once per change rather than once per poll.
    assert any(line.startswith("chat readiness (preview): waiting: ") for line in logged)
    assert any(line.startswith("chat promotion: promoted rollout llm-serving/chat") for line in logged)
    assert len(logged) < 40


def test_first_deploy_is_already_promoted_by_argo_and_gets_no_patch(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    first = blue_green_rollout(stable_hash=None, stable_revision=None, lagging_polls=0)
    with fake_world(fake_kube_api, fake_vllm, first):
        outs = run_chain(all_props(fake_kube_api, gate_args()), previous_revision=None)
    assert outs["promotion"]["result"] == "already-promoted"
    assert fake_kube_api.patches == []


def test_auto_promotion_sends_nothing_but_still_waits_and_checks(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(auto_promotion=True)):
        outs = run_chain(all_props(fake_kube_api, gate_args(auto_promotion=True)))
    assert outs["promotion"]["result"] == "auto-promoted"
    assert outs["smoke-stable"]["ttftSeconds"] > 0
    assert fake_kube_api.patches == []


def test_never_ready_times_out_aborts_and_never_promotes(fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm) -> None:
    # The controller pauses at its first poll, so the message's phase does not depend on how many polls fit in 0.6 s.
    rollout = blue_green_rollout(lagging_polls=0, progressing_polls=0)
    with fake_world(fake_kube_api, fake_vllm, rollout, new_phase="loading"):
        props = all_props(fake_kube_api, gate_args(), readiness_timeout=0.6)
        message = expect_failure("readiness", props["readiness"], fake_kube_api)
    assert f'model "chat", revision {NEW_REVISION}, step "readiness (preview)"' in message
    assert "did not become ready within 0.6 s" in message
    assert "preview Service chat-preview (via the API server's service proxy): stage models, HTTP 200" in message
    assert "rollout: llm-serving/chat: phase Paused" in message
    stable = f"stable still on revision {OLD_REVISION} (pod hash {OLD_HASH})"
    assert f"done: aborted rollout llm-serving/chat; {stable}" in message
    assert "kubectl argo rollouts retry rollout chat -n llm-serving" in message
    assert len(fake_kube_api.abort_patches()) == 1 and fake_kube_api.promotion_patches() == []
    assert fake_kube_api.rollout_status("chat")["blueGreen"]["activeSelector"] == OLD_HASH


def test_wrong_model_fails_early_with_the_ids_seen(fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(), new_model="other-model"):
        props = all_props(fake_kube_api, gate_args(), readiness_timeout=20)
        started = time.monotonic()
        message = expect_failure("readiness", props["readiness"], fake_kube_api)
    assert time.monotonic() - started < 5  # not the whole 20 s budget
    assert "the new pods serve ['other-model'], not the expected model \"test-model\"" in message
    assert "model ids ['other-model']" in message
    assert len(fake_kube_api.abort_patches()) == 1 and fake_kube_api.promotion_patches() == []


def test_smoke_failure_on_preview_aborts(fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(), error_5xx_rate=1.0, seed=1) as world:
        props = all_props(fake_kube_api, gate_args())
        run_chain(props, gates=("readiness",))
        message = expect_failure("smoke-preview", props["smoke-preview"], fake_kube_api)
    assert 'step "smoke (preview)": smoke checks failed on the preview Service' in message
    assert "smoke check 'completion' failed" in message and "HTTP 5" in message
    assert "done: aborted rollout llm-serving/chat; stable still on revision rev-old-1111" in message
    assert fake_kube_api.promotion_patches() == []
    assert world.rollout.aborts == 1


def test_degraded_after_promotion_aborts_back_to_the_old_revision(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(after_promote="degraded")):
        props = all_props(fake_kube_api, gate_args())
        run_chain(props, gates=("readiness", "smoke-preview"))
        message = expect_failure("promotion", props["promotion"], fake_kube_api)
    assert 'step "promotion": the Rollout went Degraded instead of Healthy' in message
    assert "ProgressDeadlineExceeded" in message
    assert f"stable still on revision {OLD_REVISION}" in message
    assert len(fake_kube_api.promotion_patches()) == 1 and len(fake_kube_api.abort_patches()) == 1
    assert fake_kube_api.rollout_status("chat")["blueGreen"]["activeSelector"] == OLD_HASH


def test_unreachable_api_server_fails_fast_and_changes_nothing(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    port = free_port()
    props = all_props(fake_kube_api, gate_args(), readiness_timeout=30)["readiness"]
    props["kubeconfig"] = kubeconfig_yaml(f"http://127.0.0.1:{port}", fake_kube_api.token)
    started = time.monotonic()
    message = expect_failure("readiness", props, fake_kube_api)
    assert time.monotonic() - started < 5
    assert "the Kubernetes API server cannot be reached" in message
    assert f"cannot reach the Kubernetes API server at http://127.0.0.1:{port} (ConnectError" in message
    assert "done: nothing was changed in the cluster" in message
    assert fake_kube_api.patches == []


def test_proxy_503_is_reported_with_status_and_body(fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout()):
        broken = FakeService("llm-serving", "chat-preview", 8000, "chat", "preview", forced_status=503)
        fake_kube_api.add_service(broken)
        props = all_props(fake_kube_api, gate_args(), readiness_timeout=0.5)
        message = expect_failure("readiness", props["readiness"], fake_kube_api)
    assert "HTTP 503" in message
    assert "aborted rollout llm-serving/chat" in message
    assert fake_kube_api.promotion_patches() == []


def test_rollout_already_aborted_for_this_revision_fails_at_once(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout(lagging_polls=0)) as world:
        world.rollout.patch_status({"status": {"abort": True}})
        props = all_props(fake_kube_api, gate_args(), readiness_timeout=20)
        message = expect_failure("readiness", props["readiness"], fake_kube_api)
    assert "the Rollout is aborted for this revision" in message
    assert "kubectl argo rollouts retry rollout chat" in message
    assert fake_kube_api.patches == []  # the test's own abort went straight to the fake, not over HTTP


def test_stable_smoke_failure_does_not_abort_a_promoted_rollout(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout()) as world:
        props = all_props(fake_kube_api, gate_args())
        run_chain(props, gates=("readiness", "smoke-preview", "promotion"))
        world.new_pods.control(error_5xx_rate=1.0)
        message = expect_failure("smoke-stable", props["smoke-stable"], fake_kube_api)
    assert 'step "smoke (stable)"' in message
    assert "did not abort rollout llm-serving/chat: there is nothing to abort to" in message
    assert f"revision {NEW_REVISION} (pod hash {NEW_HASH}) is already its stable revision" in message
    assert "traffic has already switched to it" in message
    assert f"revert the model's llmzd config to revision {OLD_REVISION}'s settings" in message
    assert "kubectl argo rollouts retry" not in message  # a retry of a promoted revision means nothing
    assert fake_kube_api.abort_patches() == []


def test_check_failing_on_a_first_deploy_says_there_is_nothing_to_abort_to(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    first = blue_green_rollout(stable_hash=None, stable_revision=None, lagging_polls=0)
    with fake_world(fake_kube_api, fake_vllm, first, error_5xx_rate=1.0):
        props = all_props(fake_kube_api, gate_args())
        run_chain(props, gates=("readiness",), previous_revision=None)
        message = expect_failure("smoke-preview", props["smoke-preview"], fake_kube_api, previous=None)
    assert "did not abort rollout llm-serving/chat: there is nothing to abort to" in message
    assert "it is the Rollout's first revision, which Argo Rollouts made stable at once" in message
    assert "the stable Service serves revision" in message
    assert "aborted rollout" not in message
    assert fake_kube_api.abort_patches() == []


def test_explicit_urls_bypass_the_api_proxy(fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm) -> None:
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout()) as world:
        args = gate_args(preview_url=world.new_pods.base_url, stable_url=world.new_pods.base_url)
        outs = run_chain(all_props(fake_kube_api, args), gates=("readiness", "smoke-preview"))
    assert outs["readiness"]["modelIds"] == [SERVED]
    assert not [path for _, path in fake_kube_api.requests if "/proxy" in path]


def test_load_gate_runs_across_promotion_and_reports_its_summary(
    fake_kube_api: FakeKubeAPI, fake_vllm: FakeVllm
) -> None:
    load = LoadGateSettings(enabled=True, concurrency=2, duration_seconds=1)
    with fake_world(fake_kube_api, fake_vllm, blue_green_rollout()):
        props = all_props(fake_kube_api, gate_args(load=load))
        run_chain(props, gates=("readiness",))
        outs = as_engine_update("promotion", props["promotion"], OLD_REVISION)
    summary = outs["loadSummary"]
    assert summary["requests"] > 0 and summary["error_rate"] == 0
    assert outs["result"] == "promoted"
