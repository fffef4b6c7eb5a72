"""The offline render of the dev stack: files, determinism, and every object valid against real schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from llmzd_infra.workload import content_hash
from tests.support.control_plane import BUILD_SCRIPT, argo_crd_dir
from tests.support.pod_templates import config_map_names_read_by
from tests.support.stacks import DEV_STACK_FILE, REPO_ROOT

KUBERNETES_VERSION = "1.30.0"
# Argo Rollouts' own CRDs, from the module version the end-to-end toolchain builds (e2e/toolchain/build.sh).
ARGO_SCHEMAS = argo_crd_dir()
NO_CRDS = f"Argo Rollouts CRDs not built yet: run bash {BUILD_SCRIPT} argo-rollouts"


def run_render(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmzd_infra", "render", "--stack", "dev", "--out", str(out), *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def dev_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "dev"
    completed = run_render(out)
    assert completed.returncode == 0, completed.stderr
    assert "rollout llm-serving/vllm: revision " in completed.stdout
    return out


def load_objects(out: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted((out / "objects").rglob("*.yaml"))]


def crd_schema(filename: str) -> dict[str, Any]:
    crd = yaml.safe_load((ARGO_SCHEMAS / filename).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_render_writes_one_file_per_object(dev_render: Path) -> None:
    files = sorted(str(p.relative_to(dev_render)) for p in (dev_render / "objects").rglob("*.yaml"))
    config_hash = json.loads((dev_render / "manifest.json").read_text())["models"][0]["configHash"]
    assert files == [
        "objects/_cluster/namespace-llm-serving.yaml",
        f"objects/llm-serving/configmap-vllm-config-{config_hash}.yaml",
        "objects/llm-serving/poddisruptionbudget-vllm-pdb.yaml",
        "objects/llm-serving/rollout-vllm.yaml",
        "objects/llm-serving/service-vllm-preview.yaml",
        "objects/llm-serving/service-vllm-stable.yaml",
    ]
    helm = sorted(p.name for p in (dev_render / "helm").iterdir())
    assert helm == ["argo-rollouts.yaml", "nvidia-device-plugin.yaml"]
    manifest = json.loads((dev_render / "manifest.json").read_text())
    assert [o["file"] for o in manifest["objects"]] == files
    (model,) = manifest["models"]
    assert model["rollout"] == "vllm" and len(model["revision"]) == 12
    assert model["gates"] == ["readiness", "smoke-preview", "promotion", "smoke-stable"]
    assert f"`{model['revision']}`" in (dev_render / "plan.md").read_text()


def test_render_is_deterministic(dev_render: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert run_render(again).returncode == 0
    for path in sorted(dev_render.rglob("*")):
        if path.is_file():
            assert path.read_bytes() == (again / path.relative_to(dev_render)).read_bytes(), path


def test_builtin_kinds_are_valid_kubernetes(dev_render: Path) -> None:
    builtin = [o for o in load_objects(dev_render) if o["apiVersion"] != "argoproj.io/v1alpha1"]
    assert {o["kind"] for o in builtin} == {"Namespace", "ConfigMap", "Service", "PodDisruptionBudget"}
    for obj in builtin:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_rendered_config_map_is_immutable_content_named_and_the_only_one_the_rollout_reads(dev_render: Path) -> None:
    objects = load_objects(dev_render)
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap"]
    (rollout,) = [o for o in objects if o["kind"] == "Rollout"]
    template = rollout["spec"]["template"]
    config_hash = template["metadata"]["annotations"]["llmzd.io/config-hash"]
    assert config_map["immutable"] is True
    assert config_map["metadata"]["name"] == f"vllm-config-{config_hash}"
    assert config_map["metadata"]["annotations"]["llmzd.io/config-hash"] == config_hash
    assert config_hash == content_hash(config_map["data"])
    assert set(config_map_names_read_by(template)) == {config_map["metadata"]["name"]}
    kubernetes_validate.validate(config_map, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(not (ARGO_SCHEMAS / "rollout-crd.yaml").is_file(), reason=NO_CRDS)
def test_rollout_matches_the_argo_rollouts_crd_schema(dev_render: Path) -> None:
    rollouts = [o for o in load_objects(dev_render) if o["kind"] == "Rollout"]
    assert rollouts
    schema = crd_schema("rollout-crd.yaml")
    for rollout in rollouts:
        jsonschema.validate(rollout, schema)
    # The pod template inside is a real PodTemplateSpec: check it with the Kubernetes schema too.
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                "template": rollouts[0]["spec"]["template"]}
    kubernetes_validate.validate(template, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(not (ARGO_SCHEMAS / "rollout-crd.yaml").is_file(), reason=NO_CRDS)
def test_schema_check_catches_a_broken_rollout(dev_render: Path) -> None:
    rollout = next(o for o in load_objects(dev_render) if o["kind"] == "Rollout")
    rollout["spec"]["strategy"]["blueGreen"]["scaleDownDelaySeconds"] = "sixty"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rollout, crd_schema("rollout-crd.yaml"))


def test_config_errors_exit_2_with_key_paths(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.bad.yaml"
    text = DEV_STACK_FILE.read_text().replace("tag: v0.11.0", "tag: latest").replace("port: 8000", "port: 0")
    stack_file.write_text(text)
    completed = run_render(tmp_path / "out", "--config", str(stack_file))
    assert completed.returncode == 2
    assert "llmzd:models[0].image.tag: got 'latest'" in completed.stderr
    assert "llmzd:models[0].port: got 0" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()


def test_secure_values_render_as_placeholders(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.sec.yaml"
    text = DEV_STACK_FILE.read_text() + "  llmzd:hfToken:\n    secure: AAABAHxEncryptedCipherText==\n"
    stack_file.write_text(text)
    out = tmp_path / "out"
    assert run_render(out, "--config", str(stack_file)).returncode == 0
    secret = yaml.safe_load((out / "objects/llm-serving/secret-vllm-hf-token.yaml").read_text())
    assert secret["stringData"] == {"token": "[secret]"}
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
    rollout = yaml.safe_load((out / "objects/llm-serving/rollout-vllm.yaml").read_text())
    env = rollout["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "vllm-hf-token", "key": "token"}}} in env
    for path in out.rglob("*"):
        if path.is_file():
            assert "AAABAHxEncrypted" not in path.read_text()


def test_render_runs_the_policy_pack_rules_and_reports_violations(tmp_path: Path) -> None:
    document = yaml.safe_load(DEV_STACK_FILE.read_text())
    model = document["config"]["llmzd:models"][0]
    model["blueGreen"]["autoPromotionEnabled"] = True
    model["gates"]["enabled"] = False  # valid config, but an unverified revision would take traffic
    stack_file = tmp_path / "Pulumi.risky.yaml"
    stack_file.write_text(yaml.safe_dump(document))

    completed = run_render(tmp_path / "out", "--config", str(stack_file))
    assert completed.returncode == 0, completed.stderr
    assert "policy: 1 mandatory, 1 advisory violations" in completed.stdout
    assert "[mandatory] bluegreen-auto-promotion-gated Rollout/vllm: blueGreen auto-promotion is on" \
        in completed.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [(v["policy"], v["kind"], v["name"]) for v in manifest["policy"]["violations"]] == [
        ("bluegreen-auto-promotion-gated", "Rollout", "vllm"),
        ("pdb-drain-keeps-a-pod-serving", "PodDisruptionBudget", "vllm-pdb"),
    ]
    assert "bluegreen-auto-promotion-gated on Rollout/vllm" in (tmp_path / "out" / "plan.md").read_text()

    strict = run_render(tmp_path / "strict", "--config", str(stack_file), "--fail-on-policy")
    assert strict.returncode == 1
    assert run_render(tmp_path / "clean", "--fail-on-policy").returncode == 0
