from __future__ import annotations

from pathlib import Path

from llmzd_infra.plan import build_plan, load_render
from llmzd_infra.plan.report import Plan
from tests.llmzd_infra.plan.render_builder import StackSpec, render_pair
from tests.llmzd_infra.policies import k8s_objects as k8s

BASE = StackSpec()


def _plan(tmp_path: Path, head: StackSpec, base: StackSpec = BASE, **head_extra) -> Plan:
    base_dir, head_dir = render_pair(tmp_path, base, head, **head_extra)
    return build_plan(load_render(base_dir), load_render(head_dir))


def _codes(plan: Plan) -> list[str]:
    return [w.code for w in plan.warnings]


def test_reference_change_has_no_warnings(tmp_path: Path) -> None:
    assert _codes(_plan(tmp_path, BASE.but(image="vllm/vllm-openai:v0.11.1"))) == []


def test_service_port_change_warns_for_both_services(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(port=8080))
    ports = [w for w in plan.warnings if w.code == "service-ports"]
    assert [w.subject for w in ports] == ["Service llm-serving/vllm-preview", "Service llm-serving/vllm-stable"]
    assert "spec.ports[http].port" in ports[0].message


def test_service_selector_change_warns(tmp_path: Path) -> None:
    base_dir, head_dir = render_pair(tmp_path, BASE, BASE)
    path = head_dir / "objects/llm-serving/service-vllm-stable.yaml"
    path.write_text(path.read_text().replace("app.kubernetes.io/instance: vllm", "app.kubernetes.io/instance: x"))
    plan = build_plan(load_render(base_dir), load_render(head_dir))
    assert _codes(plan) == ["service-selector"]


def test_namespace_change_warns_once_and_replaces_objects(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(namespace="llm-prod"))
    assert _codes(plan) == ["namespace"]
    assert plan.warnings[0].subject == "llm-serving → llm-prod"
    replaced = [str(o.ref) for o in plan.objects if o.change.value == "replaced"]
    assert "Rollout llm-prod/vllm" in replaced and "Service llm-prod/vllm-stable" in replaced


def test_auto_promotion_turned_on_without_gates_warns(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(auto_promotion=True, gates=()))
    assert _codes(plan) == ["auto-promotion"]
    assert "turned on" in plan.warnings[0].message


def test_auto_promotion_with_gates_does_not_warn(tmp_path: Path) -> None:
    assert _codes(_plan(tmp_path, BASE.but(auto_promotion=True))) == []


def test_auto_promotion_already_on_still_warns_but_not_as_new(tmp_path: Path) -> None:
    risky = BASE.but(auto_promotion=True, gates=())
    plan = _plan(tmp_path, risky.but(image="vllm/vllm-openai:v0.11.1"), base=risky)
    assert _codes(plan) == ["auto-promotion"] and "turned on" not in plan.warnings[0].message


def test_drain_shorter_than_longest_stream_warns(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(longest_stream_seconds=120))
    assert _codes(plan) == ["drain"]
    assert "60s" in plan.warnings[0].message and "120s" in plan.warnings[0].message
    assert _codes(_plan(tmp_path / "none", BASE.but(longest_stream_seconds=None))) == []


def test_gpu_budget_exceeded_only_while_switching(tmp_path: Path) -> None:
    tight = BASE.but(replicas=2, preview_replicas=2, gpu_budget=3)
    rolling = _plan(tmp_path / "roll", tight.but(image="vllm/vllm-openai:v0.11.1"), base=tight)
    assert _codes(rolling) == ["gpu-budget"]
    assert "4 GPUs" in rolling.warnings[0].message and "budget of 3" in rolling.warnings[0].message
    assert _codes(_plan(tmp_path / "steady", tight.but(scale_down_delay=90), base=tight)) == []
    assert _codes(_plan(tmp_path / "nobudget", tight.but(image="x:1", gpu_budget=None), base=tight)) == []


def test_mandatory_policy_violations_in_head_are_warnings(tmp_path: Path) -> None:
    violations = [
        {"policy": "vllm-image-pinned", "level": "mandatory", "kind": "Rollout", "name": "vllm", "message": "m"},
        {"policy": "x", "level": "advisory", "kind": "Rollout", "name": "vllm", "message": "n"},
    ]
    plan = _plan(tmp_path, BASE, violations=violations)
    assert [(w.code, w.subject) for w in plan.warnings] == [("policy", "Rollout/vllm")]


def test_content_named_config_change_does_not_warn(tmp_path: Path) -> None:
    assert _codes(_plan(tmp_path, BASE.but(model_id="Qwen/Qwen2.5-1.5B-Instruct"))) == []


def test_fixed_name_config_shared_by_old_and_new_pods_warns(tmp_path: Path) -> None:
    # The defect content naming removes: old and new revision read one ConfigMap that changes before the gates.
    shared = BASE.but(content_named_config=False)
    plan = _plan(tmp_path, shared.but(model_id="Qwen/Qwen2.5-1.5B-Instruct"), base=shared)
    assert _codes(plan) == ["shared-config"]
    assert plan.warnings[0].subject == "ConfigMap llm-serving/vllm-config"
    assert "name the ConfigMap after its content" in plan.warnings[0].message


def test_config_map_no_rollout_reads_may_change_in_place(tmp_path: Path) -> None:
    unread = k8s.config_map("dashboards")
    changed = k8s.config_map("dashboards", A="2")
    plan = _plan(tmp_path, BASE.but(extra_objects=(changed,)), base=BASE.but(extra_objects=(unread,)))
    assert [str(o.ref) for o in plan.objects] == ["ConfigMap llm-serving/dashboards"]
    assert _codes(plan) == []


def test_progress_deadline_is_shown_and_warned_when_argo_would_give_up_first(tmp_path: Path) -> None:
    from llmzd_infra.plan.markdown import render_markdown

    fine = _plan(tmp_path / "fine", BASE.but(deadlines=(630, 630, 665), image="vllm/vllm-openai:v0.11.1"))
    assert _codes(fine) == []
    assert "startup probe 630s · readiness gate 630s · Argo progressDeadlineSeconds 665s" in render_markdown(fine)
    short = _plan(tmp_path / "short", BASE.but(deadlines=(630, 630, 600), image="vllm/vllm-openai:v0.11.1"))
    assert _codes(short) == ["progress-deadline"]
    assert "600s is not longer than the startup/gate wait of 630s" in short.warnings[0].message


def test_budget_that_lets_a_drain_evict_the_only_pod_warns_with_the_trade_off(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(max_unavailable=1))
    (warning,) = [w for w in plan.warnings if w.code == "disruption-budget"]
    assert warning.subject == "PodDisruptionBudget vllm-pdb"
    assert "evict every serving pod" in warning.message and "never finishes" in warning.message
    assert "disruption-budget" not in _codes(_plan(tmp_path / "two", BASE.but(max_unavailable=1, replicas=2)))
    # Said when the budget or the replica count changes, not on every unrelated roll.
    image_only = BASE.but(max_unavailable=1)
    assert "disruption-budget" not in _codes(_plan(tmp_path / "img", image_only, base=image_only.but(image="x:v1")))
