from __future__ import annotations

from typing import Any

import pytest

from llmzd_infra.policies import rollout_rules
from llmzd_infra.policies.vllm_rollout import drain_seconds, image_tag_problem
from tests.llmzd_infra.policies.k8s_objects import vllm_container, vllm_rollout


def _container(rollout: dict[str, Any]) -> dict[str, Any]:
    return rollout["spec"]["template"]["spec"]["containers"][0]


def test_the_reference_rollout_passes_every_rollout_rule() -> None:
    rollout = vllm_rollout()
    for check in (
        rollout_rules.probes_present,
        rollout_rules.readiness_checks_model,
        rollout_rules.pre_stop_drain,
        rollout_rules.scale_down_covers_drain,
        rollout_rules.image_pinned,
        rollout_rules.gpu_limits_set,
        rollout_rules.auto_promotion_gated,
        rollout_rules.progress_deadline_covers_startup,
    ):
        assert check(rollout) == [], check.__name__


@pytest.mark.parametrize("probe", ["startupProbe", "readinessProbe"])
def test_missing_probe_is_reported_by_name(probe: str) -> None:
    rollout = vllm_rollout()
    del _container(rollout)[probe]
    messages = rollout_rules.probes_present(rollout)
    assert len(messages) == 1
    assert probe in messages[0] and "container 'vllm'" in messages[0]


def test_rules_ignore_containers_that_are_not_vllm() -> None:
    sidecar = {"name": "proxy", "image": "envoyproxy/envoy:latest"}
    rollout = vllm_rollout(container=sidecar)
    assert rollout_rules.probes_present(rollout) == []
    assert rollout_rules.image_pinned(rollout) == []
    ungated = vllm_rollout(container=sidecar, auto_promotion=True, gates=False)
    assert rollout_rules.auto_promotion_gated(ungated) == []


def test_a_container_named_vllm_counts_whatever_its_image() -> None:
    container = vllm_container(image="registry.local/inference-server")
    rollout = vllm_rollout(container=container)
    assert "has no tag" in rollout_rules.image_pinned(rollout)[0]


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_readiness_as_bare_health_check_fails(path: str) -> None:
    rollout = vllm_rollout()
    _container(rollout)["readinessProbe"] = {"httpGet": {"path": path, "port": 8000}}
    messages = rollout_rules.readiness_checks_model(rollout)
    assert len(messages) == 1 and "/v1/models" in messages[0]


def test_readiness_on_another_http_path_passes() -> None:
    rollout = vllm_rollout()
    _container(rollout)["readinessProbe"] = {"httpGet": {"path": "/v1/models", "port": 8000}}
    assert rollout_rules.readiness_checks_model(rollout) == []


def test_missing_pre_stop_hook_fails() -> None:
    rollout = vllm_rollout()
    del _container(rollout)["lifecycle"]
    assert "no preStop drain" in rollout_rules.pre_stop_drain(rollout)[0]


def test_pre_stop_without_readable_sleep_fails() -> None:
    rollout = vllm_rollout()
    _container(rollout)["lifecycle"] = {"preStop": {"httpGet": {"path": "/drain", "port": 8000}}}
    assert "no readable drain time" in rollout_rules.pre_stop_drain(rollout)[0]


@pytest.mark.parametrize(
    ("drain", "grace", "fails"), [(60, 90, False), (89, 90, False), (90, 90, True), (120, 90, True)]
)
def test_drain_must_be_shorter_than_termination_grace(drain: int, grace: int, fails: bool) -> None:
    rollout = vllm_rollout(container=vllm_container(drain_seconds=drain), grace_seconds=grace)
    messages = rollout_rules.pre_stop_drain(rollout)
    assert bool(messages) is fails
    if fails:
        assert f"{drain}s" in messages[0] and f"{grace}s" in messages[0]


def test_unset_termination_grace_uses_the_kubernetes_default_of_30s() -> None:
    rollout = vllm_rollout(container=vllm_container(drain_seconds=45))
    del rollout["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert "30s" in rollout_rules.pre_stop_drain(rollout)[0]


@pytest.mark.parametrize(
    ("hook", "seconds"),
    [
        ({"exec": {"command": ["/bin/sh", "-c", "sleep 60"]}}, 60),
        ({"exec": {"command": ["sh", "-c", "echo draining; sleep 15s; kill 1"]}}, 15),
        ({"exec": {"command": ["/usr/bin/sleep", "7"]}}, 7),
        ({"sleep": {"seconds": 20}}, 20),
        ({"sleep": {"seconds": 20.0}}, 20),
        ({"exec": {"command": ["/bin/sh", "-c", "curl -X POST localhost:8000/drain"]}}, None),
    ],
)
def test_drain_seconds_reads_sleep_forms(hook: dict[str, Any], seconds: int | None) -> None:
    assert drain_seconds(hook) == seconds


@pytest.mark.parametrize(("delay", "drain", "fails"), [(60, 60, False), (90, 60, False), (30, 60, True)])
def test_scale_down_delay_must_cover_the_drain(delay: int, drain: int, fails: bool) -> None:
    rollout = vllm_rollout(container=vllm_container(drain_seconds=drain), scale_down_delay=delay)
    assert bool(rollout_rules.scale_down_covers_drain(rollout)) is fails


def test_unset_scale_down_delay_uses_argo_default_of_30s() -> None:
    short = vllm_rollout(container=vllm_container(drain_seconds=25), scale_down_delay=None)
    long = vllm_rollout(container=vllm_container(drain_seconds=45), scale_down_delay=None)
    assert rollout_rules.scale_down_covers_drain(short) == []
    assert "30s" in rollout_rules.scale_down_covers_drain(long)[0]


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("vllm/vllm-openai:v0.11.0", None),
        ("localhost:5000/vllm/vllm-openai:v0.11.0", None),
        ("vllm/vllm-openai@sha256:" + "a" * 64, None),
        ("vllm/vllm-openai", "has no tag"),
        ("localhost:5000/vllm/vllm-openai", "has no tag"),
        ("vllm/vllm-openai:latest", "'latest'"),
    ],
)
def test_image_tag_must_be_pinned(image: str, problem: str | None) -> None:
    found = image_tag_problem(image)
    if problem is None:
        assert found is None
        assert rollout_rules.image_pinned(vllm_rollout(container=vllm_container(image=image))) == []
    else:
        assert found is not None and problem in found
        assert len(rollout_rules.image_pinned(vllm_rollout(container=vllm_container(image=image)))) == 1


@pytest.mark.parametrize(
    ("limits", "fails"),
    [({"nvidia.com/gpu": "1"}, False), ({"nvidia.com/gpu": 2}, False), ({"nvidia.com/gpu": "0"}, True),
     ({"memory": "12Gi"}, True)],
)
def test_gpu_limit_must_be_set(limits: dict[str, Any], fails: bool) -> None:
    rollout = vllm_rollout()
    _container(rollout)["resources"] = {"limits": limits}
    assert bool(rollout_rules.gpu_limits_set(rollout)) is fails


def test_gpu_limit_missing_resources_entirely_fails() -> None:
    rollout = vllm_rollout()
    del _container(rollout)["resources"]
    assert "nvidia.com/gpu" in rollout_rules.gpu_limits_set(rollout)[0]


@pytest.mark.parametrize(
    ("auto", "gates", "analysis", "fails"),
    [
        (False, False, False, False),
        (True, True, False, False),
        (True, False, True, False),
        (True, False, False, True),
        (None, False, False, True),  # unset means on in Argo Rollouts
    ],
)
def test_auto_promotion_needs_gates_or_analysis(
    auto: bool | None, gates: bool, analysis: bool, fails: bool
) -> None:
    rollout = vllm_rollout(auto_promotion=auto, gates=gates)
    if analysis:
        analysis_spec = {"templates": [{"templateName": "smoke"}]}
        rollout["spec"]["strategy"]["blueGreen"]["prePromotionAnalysis"] = analysis_spec
    messages = rollout_rules.auto_promotion_gated(rollout)
    assert bool(messages) is fails
    if auto is None and fails:
        assert "default" in messages[0]


@pytest.mark.parametrize(("deadline", "violates"), [(None, True), (629, True), (630, False), (665, False)])
def test_progress_deadline_must_outlast_startup_and_readiness(deadline: int | None, violates: bool) -> None:
    # The reference container: startup 0 + 10 x 60 = 600 s, readiness 0 + 10 x 3 = 30 s.
    messages = rollout_rules.progress_deadline_covers_startup(vllm_rollout(progress_deadline=deadline))
    assert bool(messages) is violates
    if violates:
        assert "ProgressDeadlineExceeded" in messages[0] and "at least 630s" in messages[0]
