from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmzd_infra.plan import build_plan, load_render
from llmzd_infra.plan.report import Plan
from llmzd_infra.plan.rollouts import Status, model_argument
from tests.llmzd_infra.plan.render_builder import StackSpec, render_pair

BASE = StackSpec()


def _plan(tmp_path: Path, head: StackSpec, base: StackSpec = BASE) -> Plan:
    base_dir, head_dir = render_pair(tmp_path, base, head)
    return build_plan(load_render(base_dir), load_render(head_dir))


def _causes(plan: Plan) -> dict[str, tuple[str, ...]]:
    (model,) = plan.models
    return {cause.label: cause.details for cause in model.causes}


def test_same_config_does_not_roll(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE)
    (model,) = plan.models
    assert model.status is Status.UNCHANGED and model.causes == () and plan.objects == ()


def test_image_change_rolls_and_names_both_tags(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(image="vllm/vllm-openai:v0.11.1"))
    (model,) = plan.models
    assert model.status is Status.ROLLS and model.base_revision != model.model.revision
    assert list(_causes(plan)) == ["image"]
    assert "v0.11.0" in _causes(plan)["image"][0] and "v0.11.1" in _causes(plan)["image"][0]


def test_model_change_names_model_and_config_hash(tmp_path: Path) -> None:
    causes = _causes(_plan(tmp_path, BASE.but(model_id="Qwen/Qwen2.5-1.5B-Instruct")))
    assert list(causes) == ["model", "config hash"]
    assert "Qwen2.5-1.5B" in causes["model"][0]


def test_vllm_args_change_lists_added_flags(tmp_path: Path) -> None:
    causes = _causes(_plan(tmp_path, BASE.but(extra_args=("--max-model-len", "4096"))))
    assert list(causes) == ["vLLM args"]
    assert causes["vLLM args"] == ("added `--max-model-len 4096`",)


def test_drain_change_rolls_with_drain_cause(tmp_path: Path) -> None:
    causes = _causes(_plan(tmp_path, BASE.but(drain_seconds=75, grace_seconds=100)))
    assert list(causes) == ["drain", "pod spec"]


def test_gpu_change_is_a_resources_cause(tmp_path: Path) -> None:
    assert list(_causes(_plan(tmp_path, BASE.but(gpus=2)))) == ["resources"]


def _edit_rollout(head_dir: Path, edit: Any) -> None:
    path = head_dir / "objects/llm-serving/rollout-vllm.yaml"
    rollout = yaml.safe_load(path.read_text())
    edit(rollout["spec"]["template"])
    path.write_text(yaml.safe_dump(rollout))


@pytest.mark.parametrize(
    ("edit", "label"),
    [
        (lambda t: t["spec"]["containers"][0]["readinessProbe"].update(timeoutSeconds=9), "probes"),
        (lambda t: t["spec"]["containers"][0]["env"].append({"name": "VLLM_LOGGING", "value": "1"}), "env"),
        (lambda t: t["spec"]["volumes"].append({"name": "cache", "emptyDir": {}}), "volumes"),
        (lambda t: t["spec"]["containers"][0]["volumeMounts"].append({"name": "c", "mountPath": "/c"}), "volumes"),
        (lambda t: t["metadata"]["annotations"].update({"llmzd.io/config-hash": "ffffffffffff"}), "config hash"),
        (lambda t: t["spec"].update(nodeSelector={"gpu": "a10"}), "pod spec"),
    ],
)
def test_each_pod_template_area_is_named(tmp_path: Path, edit: Any, label: str) -> None:
    base_dir, head_dir = render_pair(tmp_path, BASE, BASE)
    _edit_rollout(head_dir, edit)
    plan = build_plan(load_render(base_dir), load_render(head_dir))
    (model,) = plan.models
    assert model.status is Status.ROLLS
    assert [cause.label for cause in model.causes] == [label]


def test_strategy_change_changes_the_rollout_in_place_without_rolling(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(scale_down_delay=120))
    (model,) = plan.models
    assert model.status is Status.UNCHANGED
    assert [str(o.ref) for o in plan.objects] == ["Rollout llm-serving/vllm"]


def test_new_and_removed_models(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE.but(model="chat"))
    assert {m.name: m.status for m in plan.models} == {"chat": Status.NEW, "vllm": Status.REMOVED}
    new = next(m for m in plan.models if m.name == "chat")
    assert new.gpus_during_switch == 1  # created directly: no preview alongside
    assert next(m for m in plan.models if m.name == "vllm").gpus_during_switch == 0


def test_gpus_during_switch_counts_preview_only_for_rolling_models(tmp_path: Path) -> None:
    rolling = _plan(tmp_path / "a", BASE.but(replicas=2, preview_replicas=1, gpus=2, image="vllm/vllm-openai:v1"),
                    BASE.but(replicas=2, preview_replicas=1, gpus=2))
    steady = _plan(tmp_path / "b", BASE.but(replicas=2, preview_replicas=1, gpus=2),
                   BASE.but(replicas=2, preview_replicas=1, gpus=2))
    assert rolling.gpus_during_switch == (2 + 1) * 2
    assert steady.gpus_during_switch == 2 * 2


@pytest.mark.parametrize(
    ("words", "model"),
    [
        (["vllm", "serve", "Qwen/A", "--port", "8000"], "Qwen/A"),
        (["--model", "Qwen/B", "--port", "8000"], "Qwen/B"),
        (["--model=Qwen/C"], "Qwen/C"),
        (["$(LLMZD_MODEL_ID)", "--host", "0.0.0.0"], "$(LLMZD_MODEL_ID)"),
        (["--port", "8000"], None),
    ],
)
def test_model_argument_forms(words: list[str], model: str | None) -> None:
    assert model_argument(copy.copy(words)) == model


def test_settings_change_rolls_with_the_config_hash_as_the_only_template_cause(tmp_path: Path) -> None:
    # The renamed ConfigMap references (envFrom, probe volume) are the config hash moving, not env or volume edits.
    plan = _plan(tmp_path, BASE.but(model_id="Qwen/Qwen2.5-1.5B-Instruct"))
    (model,) = plan.models
    assert model.status is Status.ROLLS
    causes = _causes(plan)
    assert list(causes) == ["model", "config hash"]
    assert causes["config hash"] == (
        '`metadata.annotations["llmzd.io/config-hash"]`', "`spec.containers[vllm].envFrom[0].configMapRef.name`",
    )
    (config_map,) = [o for o in plan.objects if o.ref.kind == "ConfigMap"]
    assert config_map.change.value == "replaced" and config_map.previous is not None
    base_hash = load_render(tmp_path / "base").models["vllm"].config_hash
    assert config_map.previous.name == f"vllm-config-{base_hash}"
    assert config_map.ref.name == f"vllm-config-{model.model.config_hash}"
