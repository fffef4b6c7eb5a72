"""The pod template: probes, drain, GPUs, volumes, secrets; and a revision that moves exactly with it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmzd_infra.config import parse_stack_config
from llmzd_infra.workload import (
    config_hash,
    config_map_data,
    config_map_name,
    content_hash,
    pod_template,
    probe_sources,
    revision_of,
)
from tests.support.pod_templates import config_map_names_read_by
from tests.support.stacks import REPO_ROOT, minimal_model, raw_config


def model_of(**overrides: object):
    return parse_stack_config(raw_config([minimal_model(**overrides)])).stack.models[0]


def container_of(template: dict) -> dict:
    return template["spec"]["containers"][0]


def test_probes_exec_the_mounted_probe_with_seed_timings() -> None:
    model = model_of(model={"id": "Qwen/Qwen2.5-0.5B-Instruct", "servedName": "qwen"}, port=8200)
    container = container_of(pod_template(model, has_hf_token=False))
    expected_command = [
        "python3", "-I", "-S", "/etc/llmzd/probe/readiness_probe.py", "8200", "localhost", "--expect-model", "qwen",
    ]
    assert container["startupProbe"]["exec"]["command"] == expected_command
    assert container["readinessProbe"]["exec"]["command"] == expected_command
    startup = container["startupProbe"]
    assert (startup["initialDelaySeconds"], startup["periodSeconds"], startup["timeoutSeconds"],
            startup["failureThreshold"]) == (30, 10, 5, 60)
    readiness = container["readinessProbe"]
    assert (readiness["initialDelaySeconds"], readiness["periodSeconds"], readiness["timeoutSeconds"],
            readiness["failureThreshold"]) == (5, 10, 5, 3)
    assert container["livenessProbe"] == {
        "httpGet": {"path": "/health", "port": "http"},
        "initialDelaySeconds": 10, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3,
    }
    assert container["ports"] == [{"name": "http", "containerPort": 8200, "protocol": "TCP"}]
    assert "8200" in container["args"]


def test_a_zero_initial_delay_is_left_out_as_the_rollouts_controller_writes_it_back() -> None:
    # Argo Rollouts re-serialises the Rollout (Go `omitempty`) on its first sync: a 0 we sent would vanish from
    # the live object and `pulumi refresh` would show a diff on every run (seen on the real engine).
    zero = {"initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 3, "failureThreshold": 2}
    model = model_of(probes={"startup": {**zero, "failureThreshold": 120}, "readiness": zero, "liveness": zero})
    container = container_of(pod_template(model, has_hf_token=False))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert "initialDelaySeconds" not in container[probe], probe
        assert container[probe]["periodSeconds"] == 1


def test_probe_request_timeout_fits_the_kubelet_exec_timeout() -> None:
    model = model_of(probes={"readiness": {"initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 3,
                                           "failureThreshold": 3}})
    env = {item["name"]: item for item in container_of(pod_template(model, False))["env"]}
    # Two requests (health, models) must finish inside timeoutSeconds=3.
    assert float(env["READINESS_TIMEOUT"]["value"]) * 2 <= 3


def test_drain_and_grace_follow_config() -> None:
    model = model_of(drain={"preStopSeconds": 45, "terminationGracePeriodSeconds": 120})
    template = pod_template(model, False)
    assert template["spec"]["terminationGracePeriodSeconds"] == 120
    assert container_of(template)["lifecycle"]["preStop"]["exec"]["command"] == ["/bin/sh", "-c", "sleep 45"]


def test_gpu_limits_shm_cache_and_probe_volume() -> None:
    model = model_of(gpusPerReplica=2, vllm={"tensorParallelSize": 2}, shmSize="4Gi",
                     modelCache={"type": "pvc", "claimName": "hf-cache"})
    template = pod_template(model, False)
    container = container_of(template)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "4Gi"}
    assert volumes["model-cache"]["persistentVolumeClaim"] == {"claimName": "hf-cache"}
    assert volumes["llmzd-probe"]["configMap"]["name"] == config_map_name(model)
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["dshm"]["mountPath"] == "/dev/shm"
    assert mounts["llmzd-probe"] == {"name": "llmzd-probe", "mountPath": "/etc/llmzd/probe", "readOnly": True}


def test_vllm_settings_come_from_the_config_map() -> None:
    model = model_of(vllm={"dtype": "bfloat16", "maxModelLen": 8192, "extraArgs": ["--enable-prefix-caching"]},
                     model={"id": "org/m", "revision": "abc123"})
    container = container_of(pod_template(model, False))
    data = config_map_data(model)
    env_refs = {e["name"]: e["valueFrom"]["configMapKeyRef"] for e in container["env"] if "valueFrom" in e
                and "configMapKeyRef" in e["valueFrom"]}
    assert env_refs == {key: {"name": config_map_name(model), "key": key} for key in data if key.startswith("LLMZD_")}
    assert data["LLMZD_DTYPE"] == "bfloat16" and data["LLMZD_MAX_MODEL_LEN"] == "8192"
    assert data["LLMZD_MODEL_REVISION"] == "abc123"
    args = container["args"]
    assert args[0] == "$(LLMZD_MODEL_ID)" and container["command"] == ["vllm", "serve"]
    assert args[args.index("--dtype") + 1] == "$(LLMZD_DTYPE)"
    assert args[-1] == "--enable-prefix-caching"


def test_config_map_carries_the_probe_source_byte_identical() -> None:
    data = config_map_data(model_of())
    for name in ("readiness_probe.py", "vllm_readiness.py"):
        packaged = (REPO_ROOT / "probe" / name).read_bytes()
        assert probe_sources()[name].encode() == packaged
        assert data[name].encode() == packaged


def test_the_mounted_probe_files_run_on_their_own(tmp_path: Path, fake_vllm: Callable[..., Any]) -> None:
    # What the pod sees: only the ConfigMap's items, mounted read-only, run with the pod's command.
    volume = next(v for v in pod_template(model_of(), False)["spec"]["volumes"] if v["name"] == "llmzd-probe")
    data = config_map_data(model_of())
    for item in volume["configMap"]["items"]:
        (tmp_path / item["path"]).write_text(data[item["key"]], encoding="utf-8")
        (tmp_path / item["path"]).chmod(0o444)
    tmp_path.chmod(0o555)
    command = container_of(pod_template(model_of(), False))["readinessProbe"]["exec"]["command"]
    script = command.index("/etc/llmzd/probe/readiness_probe.py")
    server = fake_vllm(model=command[command.index("--expect-model") + 1])
    argv = [sys.executable, *command[1:script], str(tmp_path / "readiness_probe.py"), str(server.port), "127.0.0.1",
            *command[script + 3 :]]  # fmt: skip
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/")
    tmp_path.chmod(0o755)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("readiness_probe: ready: serving ")


def test_hf_token_comes_from_the_secret_only() -> None:
    container = container_of(pod_template(model_of(), has_hf_token=True))
    token_env = [e for e in container["env"] if e["name"] == "HF_TOKEN"]
    assert token_env == [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "vllm-hf-token", "key": "token"}}}]
    assert not [e for e in container_of(pod_template(model_of(), False))["env"] if e["name"] == "HF_TOKEN"]


def test_revision_changes_exactly_when_the_pod_template_changes() -> None:
    base = revision_of(pod_template(model_of(), False))
    assert base == revision_of(pod_template(model_of(), False))
    rolling_changes = [
        {"image": {"tag": "v0.11.1"}},
        {"model": {"id": "Qwen/Qwen2.5-1.5B-Instruct"}},
        {"vllm": {"maxModelLen": 1024}},
        {"resources": {"requests": {"cpu": "3"}}},
        {"probes": {"modelSize": "large"}},
        {"drain": {"preStopSeconds": 30, "terminationGracePeriodSeconds": 60}},
        {"replicas": 1, "gpusPerReplica": 2},
    ]
    for change in rolling_changes:
        assert revision_of(pod_template(model_of(**change), False)) != base, change
    still = [
        {"replicas": 3},
        {"gates": {"enabled": False}},
        {"blueGreen": {"scaleDownDelaySeconds": 120}},
        {"disruptionBudget": {"maxUnavailable": 0}},
    ]
    for change in still:
        assert revision_of(pod_template(model_of(**change), False)) == base, change


def test_config_hash_annotation_tracks_config_map_data() -> None:
    a = pod_template(model_of(), False)["metadata"]["annotations"]["llmzd.io/config-hash"]
    b = pod_template(model_of(vllm={"gpuMemoryUtilization": 0.5}), False)["metadata"]["annotations"][
        "llmzd.io/config-hash"]
    assert a != b


def test_config_map_name_is_the_model_name_and_the_content_hash() -> None:
    model = model_of()
    data_hash = content_hash(config_map_data(model))
    assert config_hash(model) == data_hash and len(data_hash) == 12
    assert config_map_name(model) == f"vllm-config-{data_hash}"
    # The annotation the issue asked for stays, equal to the name suffix.
    assert pod_template(model, False)["metadata"]["annotations"]["llmzd.io/config-hash"] == data_hash


def test_config_map_name_changes_exactly_when_its_data_changes() -> None:
    base = model_of()
    settings_changes = [
        {"model": {"id": "Qwen/Qwen2.5-1.5B-Instruct"}},
        {"model": {"id": "Qwen/Qwen2.5-0.5B-Instruct", "servedName": "qwen"}},
        {"model": {"id": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "abc123"}},
        {"vllm": {"dtype": "bfloat16"}},
        {"vllm": {"maxModelLen": 1024}},
        {"vllm": {"gpuMemoryUtilization": 0.5}},
    ]
    for change in settings_changes:
        changed = model_of(**change)
        assert config_map_data(changed) != config_map_data(base), change
        assert config_map_name(changed) != config_map_name(base), change
    # Pod-template-only changes roll the model but keep the ConfigMap (and its name) as it is.
    other_changes = [
        {"image": {"tag": "v0.11.1"}},
        {"resources": {"requests": {"cpu": "3"}}},
        {"drain": {"preStopSeconds": 30, "terminationGracePeriodSeconds": 60}},
        {"replicas": 3},
        {"vllm": {"extraArgs": ["--enable-prefix-caching"]}},
    ]
    for change in other_changes:
        same = model_of(**change)
        assert config_map_data(same) == config_map_data(base), change
        assert config_map_name(same) == config_map_name(base), change


def test_pod_template_reads_only_its_content_named_config_map_in_env_and_volume() -> None:
    for model in (model_of(), model_of(vllm={"dtype": "bfloat16"})):
        template = pod_template(model, has_hf_token=True)
        # Env entries and the probe volume, all naming this content.
        assert set(config_map_names_read_by(template)) == {config_map_name(model)}
        container = container_of(template)
        assert "envFrom" not in container
        (probe_volume,) = [v for v in template["spec"]["volumes"] if "configMap" in v]
        assert probe_volume["configMap"]["name"] == config_map_name(model)


def test_probe_files_stay_out_of_the_vllm_environment() -> None:
    model = model_of()
    container = container_of(pod_template(model, has_hf_token=True))
    assert "envFrom" not in container
    names = {entry["name"] for entry in container["env"]}
    assert names.isdisjoint(probe_sources())
    assert names == {*(k for k in config_map_data(model) if k.startswith("LLMZD_")), "READINESS_TIMEOUT", "HF_TOKEN"}
    size = sum(len(e.get("value", "")) for e in container["env"])
    assert size < 100  # plain values only: the settings arrive through configMapKeyRef, the probe not at all
