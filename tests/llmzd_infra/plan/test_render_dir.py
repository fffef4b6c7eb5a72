from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmzd_infra.plan.errors import PlanInputError
from llmzd_infra.plan.render_dir import HELM_KIND, ObjectRef, load_render
from tests.llmzd_infra.plan.render_builder import StackSpec, write_stack


def _manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def _save(path: Path, manifest: dict) -> None:
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_loads_objects_models_helm_and_budget(tmp_path: Path) -> None:
    stack = load_render(write_stack(tmp_path, StackSpec(gpu_budget=3)))
    assert stack.stack == "dev" and stack.namespace == "llm-serving" and stack.gpu_budget == 3
    assert ObjectRef("Rollout", "llm-serving", "vllm") in stack.objects
    assert ObjectRef("Namespace", None, "llm-serving") in stack.objects
    assert ObjectRef(HELM_KIND, "argo-rollouts", "argo-rollouts") in stack.objects
    model = stack.models["vllm"]
    assert model.gates == ("readiness", "smoke-preview", "promotion", "smoke-stable")
    assert (model.replicas, model.preview_replicas, model.gpus_per_replica) == (1, 1, 1)


def test_unset_preview_replicas_means_a_full_size_preview(tmp_path: Path) -> None:
    write_stack(tmp_path, StackSpec(replicas=3))
    manifest = _manifest(tmp_path)
    manifest["models"][0]["previewReplicas"] = None
    _save(tmp_path, manifest)
    assert load_render(tmp_path).models["vllm"].preview_replicas == 3


def _expect_error(path: Path, fragment: str) -> str:
    with pytest.raises(PlanInputError) as caught:
        load_render(path)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
    return message


def test_missing_directory(tmp_path: Path) -> None:
    assert "python -m llmzd_infra render" in _expect_error(tmp_path / "nope", "not found")


def test_missing_manifest(tmp_path: Path) -> None:
    _expect_error(tmp_path, "manifest.json not found")


def test_manifest_not_json(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    _expect_error(tmp_path, "not valid JSON")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda m: m.pop("objects"), "'objects' must be a list"),
        (lambda m: m.pop("stack"), "'stack' must be a non-empty string"),
        (lambda m: m["models"][0].pop("revision"), "'revision' must be a non-empty string"),
        (lambda m: m["models"][0].update(replicas="2"), "'replicas' must be an integer"),
        (lambda m: m["models"][0].update(autoPromotion="yes"), "'autoPromotion' must be true or false"),
        (lambda m: m["models"][0].update(gates="readiness"), "'gates' must be a list"),
        (lambda m: m["cluster"].update(gpuBudget="4"), "gpuBudget must be an integer"),
        (lambda m: m["objects"][0].update(file="objects/x/missing.yaml"), "is missing"),
        (lambda m: m["objects"][0].update(file="../../etc/passwd"), "outside the render directory"),
        (lambda m: m["objects"][0].update(name="other"), "lists"),
    ],
)
def test_bad_manifest_is_one_clear_line(tmp_path: Path, mutate, fragment: str) -> None:
    write_stack(tmp_path, StackSpec())
    manifest = _manifest(tmp_path)
    mutate(manifest)
    _save(tmp_path, manifest)
    _expect_error(tmp_path, fragment)


def test_object_file_with_two_documents_is_rejected(tmp_path: Path) -> None:
    write_stack(tmp_path, StackSpec())
    first = tmp_path / _manifest(tmp_path)["objects"][0]["file"]
    first.write_text(first.read_text() + "---\nkind: Extra\nmetadata: {name: x}\n")
    _expect_error(tmp_path, "exactly one Kubernetes object")
