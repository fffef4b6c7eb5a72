from __future__ import annotations

from pathlib import Path

from llmzd_infra.plan import build_plan, load_render, render_markdown
from llmzd_infra.plan.field_diff import FieldChange
from llmzd_infra.plan.values import describe_change, format_value
from tests.llmzd_infra.plan.render_builder import StackSpec, render_pair


def _markdown(tmp_path: Path, base: StackSpec, head: StackSpec) -> str:
    base_dir, head_dir = render_pair(tmp_path, base, head)
    return render_markdown(build_plan(load_render(base_dir), load_render(head_dir)))


def test_rolling_plan_shows_revision_causes_gates_drain_and_gpus(tmp_path: Path) -> None:
    text = _markdown(tmp_path, StackSpec(), StackSpec(image="vllm/vllm-openai:v0.11.1"))
    assert text.startswith("## llmzd rollout plan: stack `dev`")
    assert "**1 model rolls** · objects: 0 added, 1 changed in place, 0 replaced, 0 deleted · no warnings" in text
    row = next(line for line in text.splitlines() if line.startswith("| `vllm`"))
    assert "**yes**" in row and "| image |" in row
    assert "readiness → smoke-preview → promotion → smoke-stable" in row
    assert "preStop 60s · grace 90s · scale-down 60s · longest stream 45s" in row
    assert "2 = (1 stable + 1 preview) x 1" in row
    assert "GPUs needed during the switch: **2** of a budget of 2." in text
    assert "- **image**: `vllm/vllm-openai:v0.11.0` → `vllm/vllm-openai:v0.11.1`" in text


def test_no_change_plan_says_so(tmp_path: Path) -> None:
    text = _markdown(tmp_path, StackSpec(), StackSpec())
    assert "**No changes:** nothing rolls and no object changes." in text
    assert "### Objects" not in text


def test_warnings_section_lists_each_warning(tmp_path: Path) -> None:
    text = _markdown(tmp_path, StackSpec(), StackSpec(port=8080, longest_stream_seconds=300))
    assert "### ⚠️ Warnings (3)" in text
    assert "- **drain** `vllm`:" in text and "- **service-ports** `Service llm-serving/vllm-stable`:" in text


def test_replaced_objects_show_previous_name_and_reason(tmp_path: Path) -> None:
    text = _markdown(tmp_path, StackSpec(), StackSpec(namespace="llm-prod"))
    assert "**Replaced (" in text
    moved = "- `Service llm-prod/vllm-stable` (was `Service llm-serving/vllm-stable`)"
    assert f"{moved}: namespace llm-serving → llm-prod" in text


def test_long_text_values_are_summarised() -> None:
    script = "\n".join(f"line {i}" for i in range(200))
    assert format_value(script).startswith("<200 lines, sha256 ")
    assert len(format_value("x" * 500)) == 60 and format_value("x" * 500).endswith("…")


def test_secret_values_are_never_shown() -> None:
    change = FieldChange("data.token", "aGZfc2VjcmV0", "bmV3X3NlY3JldA==")
    shown = describe_change(change, "Secret")
    assert "aGZf" not in shown and "bmV3" not in shown and "(hidden)" in shown


def test_backticks_in_values_cannot_break_code_spans() -> None:
    shown = describe_change(FieldChange("data.x", "a`b", "c"), "ConfigMap")
    assert shown == "`a'b` → `c`"


def test_secret_object_data_diff_is_hidden_in_plan(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vllm-hf-token", "namespace": "llm-serving"},
              "data": {"token": "[secret]"}}
    changed = {**secret, "data": {"token": "[secret]", "extra": "c2VjcmV0"}}
    base_dir, head_dir = render_pair(tmp_path, StackSpec(extra_objects=(secret,)), StackSpec(extra_objects=(changed,)))
    text = render_markdown(build_plan(load_render(base_dir), load_render(head_dir)))
    assert "c2VjcmV0" not in text and "`data.extra`: `(absent)` → `(hidden)`" in text


def test_settings_change_shows_the_config_map_replaced_create_before_delete(tmp_path: Path) -> None:
    text = _markdown(tmp_path, StackSpec(), StackSpec(model_id="Qwen/Qwen2.5-1.5B-Instruct"))
    assert "objects: 0 added, 1 changed in place, 1 replaced, 0 deleted · no warnings" in text
    line = next(line for line in text.splitlines() if line.startswith("- `ConfigMap "))
    assert "(was `ConfigMap llm-serving/vllm-config-" in line
    assert line.endswith(": new content-named ConfigMap; the old one is deleted after the update succeeds")
