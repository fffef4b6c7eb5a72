"""The gates a render reports are the gate resources the program registers, per model, in the order they run."""

from __future__ import annotations

from llmzd_infra.render.gates import is_gate_type
from llmzd_infra.render.writer import build_manifest, plan_markdown
from tests.support.stacks import dev_config, minimal_model, raw_config, render

GATE_CHAIN = ["readiness", "smoke-preview", "promotion", "smoke-stable"]


def test_dev_render_records_each_gate_resource_of_the_model() -> None:
    raw, secret_keys = dev_config()
    result = render(raw, secret_keys, stack="dev")
    assert sorted((gate.type, gate.name) for gate in result.gates) == [
        ("pulumi-python:dynamic/llmzd:PromotionGate", "vllm-gates-promotion"),
        ("pulumi-python:dynamic/llmzd:ReadinessGate", "vllm-gates-readiness"),
        ("pulumi-python:dynamic/llmzd:SmokeGate", "vllm-gates-smoke-preview"),
        ("pulumi-python:dynamic/llmzd:SmokeGate", "vllm-gates-smoke-stable"),
    ]
    assert {gate.inputs["modelName"] for gate in result.gates} == {"vllm"}
    (model,) = build_manifest(result)["models"]
    assert model["gates"] == GATE_CHAIN


def test_gates_are_listed_per_model_and_the_load_check_sits_in_promotion() -> None:
    models = [
        minimal_model("chat", gates={"load": {"enabled": True}}),
        minimal_model("embed", gates={"smoke": False}),
        minimal_model("batch", gates={"enabled": False}),
    ]
    result = render(raw_config(models))
    assert sorted(gate.name for gate in result.gates if gate.inputs["modelName"] == "embed") == [
        "embed-gates-promotion", "embed-gates-readiness",
    ]
    assert not [gate for gate in result.gates if gate.inputs["modelName"] == "batch"]
    manifest = build_manifest(result)
    assert {model["name"]: model["gates"] for model in manifest["models"]} == {
        "chat": ["readiness", "smoke-preview", "promotion (+ load check)", "smoke-stable"],
        "embed": ["readiness", "promotion"],
        "batch": [],
    }
    plan = plan_markdown(manifest)
    assert "| readiness, smoke-preview, promotion (+ load check), smoke-stable |" in plan
    assert "load |" not in plan.replace("load check", "")


def test_render_only_stack_and_switched_off_gates_record_no_gates() -> None:
    render_only = render(raw_config([minimal_model()], renderYamlToDirectory="rendered"))
    switched_off = render(raw_config([minimal_model(gates={"enabled": False})]))
    for result in (render_only, switched_off):
        assert result.gates == []
        assert [model["gates"] for model in build_manifest(result)["models"]] == [[]]


def test_gate_types_are_the_dynamic_provider_types() -> None:
    assert is_gate_type("pulumi-python:dynamic/llmzd:ReadinessGate")
    assert is_gate_type("pulumi-python:dynamic:Resource")
    assert not is_gate_type("kubernetes:argoproj.io/v1alpha1:Rollout")
    assert not is_gate_type("llmzd:index:RolloutGates")
