"""Config a real cluster would refuse or run differently: refused here, naming the key, before any resource."""

from __future__ import annotations

from typing import Any

import pytest

from llmzd_infra.config import ConfigError, parse_stack_config
from tests.support.stacks import minimal_model, raw_config


def issues_of(model: dict[str, Any], **keys: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw_config([model], **keys))
    return [str(issue) for issue in caught.value.issues]


def parses(model: dict[str, Any], **keys: Any) -> Any:
    return parse_stack_config(raw_config([model], **keys)).stack.models[0]


@pytest.mark.parametrize(
    "tag", ["\uff56\uff4c\uff4c\uff4d", "v1\n", "latest", "", "sha256:" + "AB" * 32, "x" * 129, "-v1", "v1:2"]
)
def test_image_tags_outside_the_reference_grammar_are_refused(tag: str) -> None:
    issues = issues_of(minimal_model(image={"tag": tag}))
    assert len(issues) == 1 and issues[0].startswith("llmzd:models[0].image.tag: got ")


@pytest.mark.parametrize("tag", ["v0.11.0", "sha256:" + "ab" * 32, "x" * 128, "v1-", "V1_rc"])
def test_valid_image_tags_are_accepted(tag: str) -> None:
    assert parses(minimal_model(image={"tag": tag})).image.tag == tag


@pytest.mark.parametrize(
    "repository", ["", "vllm/VLLM-openai", "vllm/vllm-openai:v1", "repo@sha256:ab", " vllm/vllm-openai", "a//b"]
)
def test_invalid_image_repositories_are_refused(repository: str) -> None:
    issues = issues_of(minimal_model(image={"repository": repository}))
    assert len(issues) == 1 and issues[0].startswith("llmzd:models[0].image.repository: got ")
    assert "such as 'vllm/vllm-openai'" in issues[0]


@pytest.mark.parametrize("repository", ["vllm/vllm-openai", "registry.example.com:5000/team/vllm", "localhost/v"])
def test_valid_image_repositories_are_accepted(repository: str) -> None:
    assert parses(minimal_model(image={"repository": repository})).image.repository == repository


def test_model_name_with_a_trailing_newline_is_refused() -> None:
    assert issues_of(minimal_model(name="vllm\n"))[0].startswith("llmzd:models[0].name: ")


@pytest.mark.parametrize(
    ("overrides", "deadline"),
    [
        ({}, 630 + 35),  # startup 30 + 10 x 60, readiness 5 + 10 x 3
        ({"probes": {"modelSize": "large"}}, 1320 + 35),
        ({"gates": {"readinessTimeoutSeconds": 2000}}, 2000 + 35),
        ({"gates": {"promotionTimeoutSeconds": 900}}, 900 + 35),
    ],
)
def test_progress_deadline_outlasts_startup_and_every_gate(overrides: dict[str, Any], deadline: int) -> None:
    from llmzd_infra.components.rollout_gates import RolloutGatesArgs
    from llmzd_infra.config.deadlines import progress_deadline_seconds, startup_budget_seconds
    from tests.support.stacks import objects_by_kind, render

    model = parses(minimal_model(**overrides))
    assert progress_deadline_seconds(model) == deadline
    rollout = objects_by_kind(render(raw_config([minimal_model(**overrides)])), "Rollout")["vllm"]
    assert rollout["spec"]["progressDeadlineSeconds"] == deadline
    gates = RolloutGatesArgs(
        model_name="vllm", namespace="ns", rollout_name="vllm", revision="r", served_model="m", port=8000,
        preview_service="p", stable_service="s", auto_promotion=False, settings=model.gates,
        startup_budget_seconds=startup_budget_seconds(model),
    )
    # The gates give up (and abort, with their report) before Argo declares the revision Degraded.
    assert gates.readiness_timeout_seconds < deadline
    assert model.gates.promotion_timeout_seconds < deadline


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"resources": {"requests": {"memory": "32Gi"}, "limits": {"memory": "16Gi"}}}, "resources.requests.memory",
         "at most resources.limits"),
        ({"resources": {"requests": {"cpu": "4"}, "limits": {"cpu": "3500m"}}}, "resources.requests.cpu", "3500m"),
        ({"tolerations": [{"key": "gpu", "effect": "NoSchedule", "tolerationSeconds": 30}]},
         "tolerations[0].effect", "'NoExecute' when tolerationSeconds"),
        ({"tolerations": [{"key": "gpu", "operator": "Exists", "value": "x"}]}, "tolerations[0].value", "no value"),
        ({"tolerations": [{"value": "x"}]}, "tolerations[0].operator", "'Exists' when key is empty"),
        ({"tolerations": [{"key": "a/b/c", "operator": "Exists"}]}, "tolerations[0].key", "more than one '/'"),
        ({"nodeSelector": {"gpu type": "a100"}}, "nodeSelector['gpu type']", "node label key"),
        ({"nodeSelector": {"gpu": "a100-"}}, "nodeSelector['gpu']", "a label value"),
        ({"modelCache": {"mountPath": "/dev/shm"}}, "modelCache.mountPath", "apart from the pod's other mounts"),
        ({"modelCache": {"mountPath": "/etc/llmzd/probe/"}}, "modelCache.mountPath", "apart from"),
        ({"modelCache": {"mountPath": "/etc/llmzd"}}, "modelCache.mountPath", "apart from"),
        ({"modelCache": {"mountPath": "cache"}}, "modelCache.mountPath", "an absolute path"),
    ],
)
def test_pod_spec_values_the_api_server_refuses(overrides: dict[str, Any], path: str, fragment: str) -> None:
    issues = issues_of(minimal_model(**overrides))
    matching = [issue for issue in issues if issue.startswith(f"llmzd:models[0].{path}: got ")]
    assert matching, issues
    assert fragment in matching[0]


def test_valid_pod_spec_values_pass() -> None:
    model = parses(minimal_model(
        resources={"requests": {"cpu": "500m", "memory": "16Gi"}, "limits": {"cpu": "1", "memory": "16Gi"}},
        tolerations=[{"operator": "Exists"}, {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute",
                                              "tolerationSeconds": 60}],
        nodeSelector={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
        modelCache={"mountPath": "/models"},
    ))
    assert model.model_cache.mount_path == "/models"


TOKEN = "hf_" + "a1B2c3D4e5" * 3


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["-tp", "4"], "--tensor-parallel-size"), (["-tp=4"], "--tensor-parallel-size"),
        (["--tensor_parallel_size", "4"], "--tensor-parallel-size"),
        (["--tensor-parallel", "4"], "--tensor-parallel-size"),
        (["--max_model_len=8192"], "--max-model-len"), (["--gpu-memory-util", "0.5"], "--gpu-memory-utilization"),
        (["--served-model", "x"], "--served-model-name"), (["--port", "1"], "--port"),
    ],
)
def test_aliases_of_managed_vllm_flags_are_refused(args: list[str], flag: str) -> None:
    issues = issues_of(minimal_model(vllm={"extraArgs": args}))
    assert issues[0].startswith("llmzd:models[0].vllm.extraArgs[0]: got ") and f"vLLM's {flag}" in issues[0]


def test_unmanaged_vllm_flags_pass() -> None:
    args = ["--enable-prefix-caching", "-pp", "1", "--max-num-seqs", "8", "--hf-token", "--trust-remote-code"]
    assert parses(minimal_model(vllm={"extraArgs": args})).vllm.extra_args == args


@pytest.mark.parametrize(
    "args", [["--hf-token", TOKEN], [f"--hf-token={TOKEN}"], ["--hf_token", "abc"], ["--api-key", "s3cret-value"]]
)
def test_credentials_in_extra_args_are_refused_and_never_shown(args: list[str]) -> None:
    issues = issues_of(minimal_model(vllm={"extraArgs": args}))
    text = "\n".join(issues)
    assert "llmzd:models[0].vllm.extraArgs[" in text
    assert TOKEN not in text
    if "hf" in args[0]:
        assert "pulumi config set --secret llmzd:hfToken" in text


def test_a_token_anywhere_in_extra_args_or_plain_model_values_is_refused() -> None:
    issues = issues_of(minimal_model(model={"id": "org/m", "revision": TOKEN}, vllm={"extraArgs": ["--x", TOKEN]}))
    text = "\n".join(issues)
    assert "llmzd:models[0].vllm.extraArgs[1]: got '<redacted>'" in text
    assert "llmzd:models[0].model.revision: got '<redacted>'" in text
    assert TOKEN not in text


@pytest.mark.parametrize(
    "value",
    [
        TOKEN, f"Bearer {'x' * 30}",
        "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- user: {token: abcdefgh123}\n",
        {"nested": TOKEN},
    ],
)
def test_credentials_under_a_wrong_key_are_redacted_in_errors(value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw_config([{**minimal_model(), "hfToken": value}]))
    message = str(caught.value)
    assert "llmzd:models[0].hfToken: got " in message and "<redacted>" in message
    for secret in (TOKEN, "x" * 30, "abcdefgh123"):
        assert secret not in message


def test_credentials_in_undecodable_config_are_redacted() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({"llmzd:models": f"[{{'hfToken': '{TOKEN}'"})
    assert TOKEN not in str(caught.value) and "llmzd:models: got " in str(caught.value)


@pytest.mark.parametrize("value", [0, 1, "yes", "off", "False", None])
def test_booleans_must_be_booleans(value: Any) -> None:
    issues = issues_of(minimal_model(gates={"enabled": value}))
    assert issues[0].startswith("llmzd:models[0].gates.enabled: got ") and "true or false" in issues[0]


@pytest.mark.parametrize(("value", "expected"), [(False, False), ("false", False), ("true", True)])
def test_booleans_and_the_strings_pulumi_stores_for_them_pass(value: Any, expected: bool) -> None:
    assert parses(minimal_model(gates={"enabled": value})).gates.enabled is expected


@pytest.mark.parametrize("value", ["2147483648", "true", "[1]", "{}", "null", "1.5"])
def test_paths_must_be_strings(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({**raw_config([minimal_model()]), "llmzd:renderYamlToDirectory": value})
    assert str(caught.value.issues[0]).startswith("llmzd:renderYamlToDirectory: got ")
    assert f"'./{value}'" in str(caught.value)


@pytest.mark.parametrize("value", ["rendered", "./2147483648", "/tmp/out"])
def test_path_strings_pass(value: str) -> None:
    parsed = parse_stack_config({**raw_config([minimal_model()]), "llmzd:renderYamlToDirectory": value})
    assert parsed.stack.cluster.render_yaml_to_directory == value


def test_a_72b_model_on_four_gpus_gets_cache_shm_and_memory_sized_for_it() -> None:
    from tests.support.stacks import objects_by_kind, render, vllm_container

    model = minimal_model(gpusPerReplica=4, vllm={"tensorParallelSize": 4, "dtype": "bfloat16"},
                          probes={"parameterCountBillions": 72})
    result = render(raw_config([model]))
    template = objects_by_kind(result, "Rollout")["vllm"]["spec"]["template"]
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    # 72e9 x 2 bytes = 144 GB = 134.1 GiB; x 1.25 = 167.6 -> 168Gi.
    assert volumes["model-cache"]["emptyDir"]["sizeLimit"] == "168Gi"
    assert volumes["dshm"]["emptyDir"]["sizeLimit"] == "4Gi"
    resources = vllm_container(result)["resources"]
    # 4 GiB server + 4 x 4 GiB vLLM swap space + 4 GiB /dev/shm.
    assert resources["requests"]["memory"] == "24Gi" and resources["limits"]["memory"] == "24Gi"


def test_small_defaults_stay_as_before_where_they_suffice() -> None:
    from tests.support.stacks import objects_by_kind, render, vllm_container

    result = render(raw_config([minimal_model()]))
    template = objects_by_kind(result, "Rollout")["vllm"]["spec"]["template"]
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["model-cache"]["emptyDir"]["sizeLimit"] == "20Gi"
    assert volumes["dshm"]["emptyDir"]["sizeLimit"] == "2Gi"
    assert vllm_container(result)["resources"]["limits"]["memory"] == "16Gi"


def test_configured_sizes_too_small_for_the_model_are_refused_with_the_numbers() -> None:
    issues = issues_of(minimal_model(
        gpusPerReplica=4, vllm={"tensorParallelSize": 4}, probes={"parameterCountBillions": 72},
        modelCache={"sizeLimit": "20Gi"}, resources={"limits": {"memory": "16Gi"}},
    ))
    text = "\n".join(issues)
    assert ("llmzd:models[0].modelCache.sizeLimit: got '20Gi'; expected at least 168Gi: 72B parameters as auto "
            "take 144 GB") in text
    assert "llmzd:models[0].resources.limits.memory: got '16Gi'; expected at least 24Gi" in text


def test_a_memory_request_alone_raises_the_derived_limit() -> None:
    from tests.support.stacks import render, vllm_container

    result = render(raw_config([minimal_model(resources={"requests": {"memory": "32Gi"}})]))
    assert vllm_container(result)["resources"]["limits"]["memory"] == "32Gi"
