"""Config parsing: documented defaults, every validation rule with its exact key path, all at once."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmzd_infra.config import ConfigError, parse_stack_config
from llmzd_infra.config.rules import DNS_LABEL, MAX_MODEL_NAME
from llmzd_infra.config.sizing import startup_timing
from tests.support.stacks import dev_config, minimal_model, raw_config


def issues_of(raw: dict[str, str], secret_keys: set[str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, secret_keys or set())
    return [str(issue) for issue in caught.value.issues]


def test_dev_stack_parses_with_one_small_model() -> None:
    raw, secrets = dev_config()
    stack = parse_stack_config(raw, secrets).stack
    assert [m.name for m in stack.models] == ["vllm"]
    assert stack.models[0].model.id == "Qwen/Qwen2.5-0.5B-Instruct"
    assert stack.models[0].gpus_per_replica == 1
    assert stack.namespace == "llm-serving"


def test_defaults_are_the_documented_ones() -> None:
    parsed = parse_stack_config(raw_config())
    model = parsed.stack.models[0]
    startup = startup_timing(model.probes)
    assert (startup.initial_delay_seconds, startup.period_seconds, startup.timeout_seconds,
            startup.failure_threshold) == (30, 10, 5, 60)
    readiness = model.probes.readiness
    assert (readiness.initial_delay_seconds, readiness.period_seconds, readiness.timeout_seconds,
            readiness.failure_threshold) == (5, 10, 5, 3)
    liveness = model.probes.liveness
    assert (liveness.initial_delay_seconds, liveness.period_seconds, liveness.timeout_seconds,
            liveness.failure_threshold) == (10, 30, 5, 3)
    assert model.drain.pre_stop_seconds == 60
    assert model.drain.termination_grace_period_seconds == 90
    assert model.port == 8000
    assert model.blue_green.auto_promotion_enabled is False
    assert parsed.stack.namespace == "llm-serving"
    assert parsed.stack.addons.argo_rollouts.install and parsed.stack.addons.nvidia_device_plugin.install


@pytest.mark.parametrize(
    ("probes", "expected"),
    [
        ({"parameterCountBillions": 0.5}, (30, 10, 30)),
        ({"parameterCountBillions": 6.9}, (30, 10, 30)),
        ({"parameterCountBillions": 7}, (60, 15, 40)),
        ({"parameterCountBillions": 70}, (60, 15, 40)),
        ({"parameterCountBillions": 70.5}, (120, 20, 60)),
        ({"modelSize": "medium"}, (60, 15, 40)),
        ({"modelSize": "large"}, (120, 20, 60)),
        # Explicit timings win over a size hint.
        ({"modelSize": "large", "startup": {"initialDelaySeconds": 1, "periodSeconds": 2, "timeoutSeconds": 3,
                                            "failureThreshold": 4}}, (1, 2, 4)),
    ],
)
def test_startup_timing_derives_from_size(probes: dict, expected: tuple[int, int, int]) -> None:
    model = parse_stack_config(raw_config([minimal_model(probes=probes)])).stack.models[0]
    timing = startup_timing(model.probes)
    assert (timing.initial_delay_seconds, timing.period_seconds, timing.failure_threshold) == expected


@pytest.mark.parametrize(
    ("model_overrides", "path", "fragment"),
    [
        ({"name": "Bad_Name"}, "llmzd:models[0].name", "DNS-1123 label"),
        ({"name": "x" * 60}, "llmzd:models[0].name", "at most 55 chars"),
        ({"drain": {"preStopSeconds": 85}}, "llmzd:models[0].drain.terminationGracePeriodSeconds", "85 + 10 = 95"),
        ({"drain": {"terminationGracePeriodSeconds": 70}},
         "llmzd:models[0].drain.terminationGracePeriodSeconds", "more than"),
        ({"blueGreen": {"scaleDownDelaySeconds": 30}}, "llmzd:models[0].blueGreen.scaleDownDelaySeconds",
         "at least drain.preStopSeconds (60)"),
        ({"gpusPerReplica": 1, "vllm": {"tensorParallelSize": 2}}, "llmzd:models[0].gpusPerReplica",
         "at least vllm.tensorParallelSize (2)"),
        ({"port": 0}, "llmzd:models[0].port", "greater than or equal to 1"),
        ({"port": 65536}, "llmzd:models[0].port", "less than or equal to 65535"),
        ({"image": {"tag": "latest"}}, "llmzd:models[0].image.tag", "pinned image tag"),
        ({"image": {"tag": ""}}, "llmzd:models[0].image.tag", "pinned image tag"),
        ({"image": {"repository": "vllm/vllm-openai:latest"}}, "llmzd:models[0].image.repository", "without a tag"),
        ({"vllm": {"extraArgs": ["--port=9000"]}}, "llmzd:models[0].vllm.extraArgs[0]", "--port"),
        ({"modelCache": {"type": "pvc"}}, "llmzd:models[0].modelCache.claimName", "existing PersistentVolumeClaim"),
        (
            {"blueGreen": {"previewReplicaCount": 3}},
            "llmzd:models[0].blueGreen.previewReplicaCount",
            "at most replicas",
        ),
        ({"replicass": 2}, "llmzd:models[0].replicass", "no such key"),
        ({"vllm": {"gpuMemoryUtilization": 1.5}}, "llmzd:models[0].vllm.gpuMemoryUtilization", "less than or equal"),
    ],
)
def test_each_rule_names_its_key_path(model_overrides: dict, path: str, fragment: str) -> None:
    lines = issues_of(raw_config([minimal_model(**model_overrides)]))
    matching = [line for line in lines if line.startswith(f"{path}: got ")]
    assert matching, lines
    assert fragment in matching[0]


def test_duplicate_names_are_reported_on_the_second_model() -> None:
    lines = issues_of(raw_config([minimal_model("a"), minimal_model("a")]))
    assert lines == ["llmzd:models[1].name: got 'a'; expected a name unique across models (models[0] already uses it)"]


def test_all_violations_are_reported_together() -> None:
    bad = minimal_model(
        "Bad", port=70000, image={"tag": "latest"}, gpusPerReplica=0, vllm={"tensorParallelSize": 2},
        drain={"preStopSeconds": 85},
    )
    lines = issues_of(raw_config([bad], namespace="Not_A_Label", gpuBudget="lots"))
    paths = {line.split(": got")[0] for line in lines}
    assert {
        "llmzd:models[0].port", "llmzd:models[0].name", "llmzd:models[0].image.tag", "llmzd:models[0].gpusPerReplica",
        "llmzd:models[0].drain.terminationGracePeriodSeconds", "llmzd:models[0].blueGreen.scaleDownDelaySeconds",
        "llmzd:namespace", "llmzd:gpuBudget",
    } <= paths


def test_error_message_is_one_line_per_issue_and_names_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw_config([minimal_model(port=0), minimal_model("b", image={"tag": "latest"})]))
    text = str(caught.value)
    assert text.splitlines()[0].startswith("invalid llmzd stack config (2 problems)")
    assert len(text.splitlines()) == 3
    assert "Traceback" not in text


def test_missing_models_key_explains_how_to_set_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config({})
    assert "llmzd:models: got None; expected a list of at least one model object" in str(caught.value)


def test_unknown_top_level_key_is_rejected() -> None:
    lines = issues_of({**raw_config(), "llmzd:modles": "[]"})
    assert lines[0].startswith("llmzd:modles: got '(set)'; expected one of the known keys")


def test_hf_token_must_be_a_pulumi_secret() -> None:
    raw = {**raw_config(), "llmzd:hfToken": "hf_plaintext"}
    lines = issues_of(raw, secret_keys=set())
    assert lines == ["llmzd:hfToken: got '(plain text)'; expected a secret: "
                     "run `pulumi config set --secret llmzd:hfToken` (it prompts for the value)"]
    parsed = parse_stack_config(raw, {"llmzd:hfToken"})
    assert parsed.hf_token_keys == {"vllm": "hfToken"}


def test_model_can_name_its_own_token_key() -> None:
    models = [minimal_model("a", hfTokenKey="gatedToken"), minimal_model("b")]
    parsed = parse_stack_config({**raw_config(models), "llmzd:gatedToken": "x"}, {"llmzd:gatedToken"})
    assert parsed.hf_token_keys == {"a": "gatedToken"}
    lines = issues_of(raw_config([minimal_model("a", hfTokenKey="missingKey")]))
    assert lines[0].startswith("llmzd:models[0].hfTokenKey: got 'missingKey'; expected an existing secret key")


def test_kubeconfig_must_be_secret() -> None:
    lines = issues_of({**raw_config(), "llmzd:kubeconfig": "apiVersion: v1"})
    assert lines[0].startswith("llmzd:kubeconfig: got '(plain text)'; expected a secret")


def test_malformed_json_names_the_key() -> None:
    lines = issues_of({"llmzd:models": "{not json"})
    assert lines[0].startswith("llmzd:models: got '{not json'; expected a JSON/YAML value")


# Random invalid configs: each must end in a clean ConfigError, never another exception.
_invalid_field = st.sampled_from([
    ("port", st.one_of(st.integers(max_value=0), st.integers(min_value=65536), st.text(max_size=5))),
    ("replicas", st.one_of(st.integers(max_value=0), st.none())),
    ("name", st.text(max_size=70).filter(lambda s: not DNS_LABEL.match(s) or len(s) > MAX_MODEL_NAME)),
    ("gpusPerReplica", st.integers(max_value=-1)),
    ("image", st.fixed_dictionaries({"tag": st.sampled_from(["latest", "", "a b", ":x"])})),
    ("drain", st.fixed_dictionaries({"preStopSeconds": st.integers(min_value=81, max_value=3600)})),
    ("vllm", st.fixed_dictionaries({"tensorParallelSize": st.integers(min_value=2, max_value=64)})),
    # Non-empty: every probe key is longer than 8 chars, so each drawn key is unknown.
    ("probes", st.fixed_dictionaries({"readiness": st.dictionaries(st.text(max_size=8), st.integers(),
                                                                   min_size=1)})),
    ("unknownKey", st.integers()),
])


@settings(max_examples=150, deadline=None)
@given(fields=st.lists(_invalid_field, min_size=1, max_size=4), data=st.data())
def test_random_invalid_configs_end_in_clean_errors(fields: list, data: st.DataObject) -> None:
    model = minimal_model()
    for key, strategy in fields:
        model[key] = data.draw(strategy)
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw_config([model]))
    assert caught.value.issues
    for issue in caught.value.issues:
        assert str(issue).startswith("llmzd:")
        assert "; expected " in str(issue)


def test_models_json_round_trips_through_cli_encoding() -> None:
    raw = raw_config([minimal_model(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists",
                                                  "effect": "NoSchedule"}])])
    model = parse_stack_config(raw).stack.models[0]
    assert model.tolerations[0].key == "nvidia.com/gpu"
    assert json.loads(raw["llmzd:models"])[0]["tolerations"][0]["operator"] == "Exists"
