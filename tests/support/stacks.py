"""Stack configs for tests: the dev stack as shipped, and small variations built from plain dicts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from llmzd_infra.render import RenderResult, read_stack_config, render_program

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_STACK_FILE = REPO_ROOT / "Pulumi.dev.yaml"


def minimal_model(name: str = "vllm", **overrides: Any) -> dict[str, Any]:
    model: dict[str, Any] = {"name": name, "model": {"id": "Qwen/Qwen2.5-0.5B-Instruct"}}
    model.update(overrides)
    return model


def raw_config(models: list[dict[str, Any]] | None = None, **keys: Any) -> dict[str, str]:
    """Raw ``llmzd:*`` config as the Pulumi CLI hands it to the program (objects JSON-encoded)."""
    raw = {"llmzd:models": json.dumps(models if models is not None else [minimal_model()])}
    for key, value in keys.items():
        raw[f"llmzd:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return raw


def dev_config() -> tuple[dict[str, str], set[str]]:
    return read_stack_config(DEV_STACK_FILE)


def dev_models() -> list[dict[str, Any]]:
    raw, _ = dev_config()
    return copy.deepcopy(json.loads(raw["llmzd:models"]))


def render(raw: dict[str, str], secret_keys: set[str] | None = None, stack: str = "test") -> RenderResult:
    return render_program(raw, secret_keys or set(), stack)


def objects_by_kind(result: RenderResult, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in result.objects if obj["kind"] == kind}


def vllm_container(result: RenderResult, rollout: str = "vllm") -> dict[str, Any]:
    template = objects_by_kind(result, "Rollout")[rollout]["spec"]["template"]
    return template["spec"]["containers"][0]
