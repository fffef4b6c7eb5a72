"""Plan over two real offline renders of the dev stack (the lead's render_program + write_render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmzd_infra.plan.cli import main
from tests.support.stacks import REPO_ROOT, dev_config

pytestmark = pytest.mark.skipif(
    not (REPO_ROOT / "probe" / "readiness_probe.py").is_file(),
    reason="the render ships probe/readiness_probe.py, which is not written yet",
)


def _render_dev(out: Path, **model_changes: Any) -> Path:
    from llmzd_infra.render import render_program, write_render

    raw, secret_keys = dev_config()
    models = json.loads(raw["llmzd:models"])
    for dotted, value in model_changes.items():
        target = models[0]
        *parents, leaf = dotted.split("__")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    raw = {**raw, "llmzd:models": json.dumps(models)}
    write_render(render_program(raw, secret_keys, "dev"), out)
    return out


@pytest.fixture(scope="module")
def dev_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _render_dev(tmp_path_factory.mktemp("e2e") / "base")


def test_image_bump_rolls_with_image_cause_and_no_warnings(
    dev_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _render_dev(tmp_path / "head", image__tag="v0.11.2")
    assert main(["--base", str(dev_base), "--head", str(head), "--fail-on-warning"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| `vllm`"))
    assert "**yes**" in row and "image" in row
    assert "readiness → smoke-preview → promotion → smoke-stable" in row
    assert "`vllm/vllm-openai:v0.11.0` → `vllm/vllm-openai:v0.11.2`" in out
    assert "Changed in place (1)" in out and "`Rollout llm-serving/vllm`" in out


def test_risky_change_warns_and_fails_ci(dev_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = _render_dev(
        tmp_path / "head", replicas=2, blueGreen__previewReplicaCount=2, drain__longestStreamSeconds=120,
        image__tag="v0.11.2",
    )
    assert main(["--base", str(dev_base), "--head", str(head), "--fail-on-warning"]) == 1
    out = capsys.readouterr().out
    assert "- **drain** `vllm`" in out
    assert "4 GPUs needed during the switch exceed the cluster budget of 2" in out


def test_dev_render_has_no_mandatory_policy_violations(dev_base: Path) -> None:
    manifest = json.loads((dev_base / "manifest.json").read_text())
    # One replica with maxUnavailable 1: a drain may take the model down; the advisory rule says so.
    assert [(v["policy"], v["level"]) for v in manifest["policy"]["violations"]] == [
        ("pdb-drain-keeps-a-pod-serving", "advisory")
    ]


def test_load_check_shows_inside_the_promotion_gate(
    dev_base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _render_dev(tmp_path / "head", gates__load={"enabled": True})
    assert main(["--base", str(dev_base), "--head", str(head)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| `vllm`"))
    assert "readiness → smoke-preview → promotion (+ load check) → smoke-stable |" in row
