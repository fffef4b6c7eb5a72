"""Every label and annotation the program writes passes the API server's rules (apimachinery v0.34.4)."""

from __future__ import annotations

from typing import Any

import pytest

from llmzd_infra.config import parse_stack_config
from llmzd_infra.k8s_validation import (
    annotation_problems,
    label_problems,
    label_value_for,
    label_value_problem,
    qualified_name_problem,
)
from tests.support.stacks import minimal_model, raw_config, render

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("v0.11.0", True), ("", True), ("a" * 63, True), ("a" * 64, False), ("v1-", False), ("-v1", False),
        (DIGEST, False), ("\uff56\uff4c\uff4c\uff4d", False), ("v1\n", False), ("a_b.c-d", True),
    ],
)
def test_label_values_follow_apimachinery(value: str, valid: bool) -> None:
    assert (label_value_problem(value) is None) is valid


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("app.kubernetes.io/version", True), ("llmzd.io/revision", True), ("a/b/c", False), ("/x", False),
        ("Example.com/x", False), ("x" * 64, False), ("nvidia.com/gpu.present", True), ("gpu ", False),
    ],
)
def test_qualified_names_follow_apimachinery(key: str, valid: bool) -> None:
    assert (qualified_name_problem(key) is None) is valid


@pytest.mark.parametrize("tag", [DIGEST, "v" + "1" * 100, "v1_", "V1.0_rc", "1"])
def test_label_value_for_is_always_valid_and_keeps_valid_values(tag: str) -> None:
    value = label_value_for(tag)
    assert label_value_problem(value) is None
    if label_value_problem(tag) is None:
        assert value == tag
    else:
        assert value != label_value_for(tag + "x")  # distinct inputs stay distinct


def _metadata_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    found = [obj.get("metadata") or {}]
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict):
        found.append(template.get("metadata") or {})
    return found


@pytest.mark.parametrize("tag", [DIGEST, "v0.11.0-" + "x" * 70, "v0.11.0_"])
def test_every_rendered_label_and_annotation_is_valid(tag: str) -> None:
    model = minimal_model(image={"tag": tag}, nodeSelector={"nvidia.com/gpu.product": "NVIDIA-A100"})
    result = render(raw_config([model]))
    problems = []
    for obj in result.objects:
        for metadata in _metadata_of(obj):
            problems += label_problems(metadata.get("labels") or {})
            problems += annotation_problems(metadata.get("annotations") or {})
    assert problems == []
    rollout = next(obj for obj in result.objects if obj["kind"] == "Rollout")
    container = rollout["spec"]["template"]["spec"]["containers"][0]
    separator = "@" if tag == DIGEST else ":"
    assert container["image"] == f"vllm/vllm-openai{separator}{tag}"


def test_digest_tag_gives_a_digest_reference() -> None:
    model = parse_stack_config(raw_config([minimal_model(image={"tag": DIGEST})])).stack.models[0]
    assert model.image.reference == f"vllm/vllm-openai@{DIGEST}"
