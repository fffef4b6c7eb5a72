"""Partial config keeps the documented defaults key by key; conflicting or mistyped keys name themselves."""

from __future__ import annotations

import pytest

from llmzd_infra.config import ConfigError, parse_stack_config
from llmzd_infra.config.sizing import STARTUP_BY_SIZE, startup_timing
from tests.support.stacks import minimal_model, raw_config


def issues_of(raw: dict[str, str], secret_keys: set[str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw, secret_keys or set())
    return [str(issue) for issue in caught.value.issues]


def test_switching_an_addon_off_keeps_its_other_defaults() -> None:
    addons = {"argoRollouts": {"install": False}, "nvidiaDevicePlugin": {"chartVersion": "0.17.1"}}
    stack = parse_stack_config(raw_config(addons=addons)).stack
    argo, plugin = stack.addons.argo_rollouts, stack.addons.nvidia_device_plugin
    assert (argo.install, argo.chart_version, argo.namespace) == (False, "2.40.2", "argo-rollouts")
    assert (plugin.install, plugin.chart_version, plugin.namespace) == (True, "0.17.1", "kube-system")


def test_overriding_one_probe_timing_keeps_the_defaults_for_the_rest() -> None:
    probes = {"readiness": {"failureThreshold": 6}, "liveness": {"periodSeconds": 60}}
    model = parse_stack_config(raw_config([minimal_model(probes=probes)])).stack.models[0]
    readiness, liveness = model.probes.readiness, model.probes.liveness
    assert (readiness.initial_delay_seconds, readiness.period_seconds, readiness.timeout_seconds,
            readiness.failure_threshold) == (5, 10, 5, 6)
    assert (liveness.initial_delay_seconds, liveness.period_seconds, liveness.timeout_seconds,
            liveness.failure_threshold) == (10, 60, 5, 3)


def test_explicit_startup_keys_sit_on_top_of_the_size_row() -> None:
    probes = {"parameterCountBillions": 72, "startup": {"failureThreshold": 90}}
    model = parse_stack_config(raw_config([minimal_model(probes=probes)])).stack.models[0]
    timing = startup_timing(model.probes)
    large = STARTUP_BY_SIZE["large"]
    assert (timing.initial_delay_seconds, timing.period_seconds, timing.failure_threshold) == (
        large.initial_delay_seconds, large.period_seconds, 90,
    )
    assert timing.budget_seconds == large.initial_delay_seconds + large.period_seconds * 90


def test_size_class_contradicting_the_parameter_count_is_rejected() -> None:
    probes = {"modelSize": "small", "parameterCountBillions": 13}
    lines = issues_of(raw_config([minimal_model(probes=probes)]))
    assert lines == ["llmzd:models[0].probes.modelSize: got 'small'; expected 'medium' to match "
                     "probes.parameterCountBillions (13B), or only one of the two"]
    agreeing = {"modelSize": "medium", "parameterCountBillions": 13}
    assert parse_stack_config(raw_config([minimal_model(probes=agreeing)])).stack.models


def test_gpu_budget_errors_name_the_camel_case_key() -> None:
    assert issues_of(raw_config(gpuBudget=-1)) == ["llmzd:gpuBudget: got -1; expected greater than or equal to 0"]
    assert issues_of(raw_config(gpuBudget=True))[0].startswith("llmzd:gpuBudget: got True; expected")
    assert parse_stack_config(raw_config(gpuBudget="3")).stack.gpu_budget == 3


def test_namespace_longer_than_a_label_is_reported_with_the_other_rules() -> None:
    lines = issues_of(raw_config([minimal_model(port=0)], namespace="n" * 64))
    paths = [line.split(": got")[0] for line in lines]
    assert paths == ["llmzd:models[0].port", "llmzd:namespace"]
    assert "at most 63 chars" in lines[1]


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"port": True}, "llmzd:models[0].port"),
        ({"replicas": False}, "llmzd:models[0].replicas"),
        ({"vllm": {"gpuMemoryUtilization": True}}, "llmzd:models[0].vllm.gpuMemoryUtilization"),
        ({"drain": {"preStopSeconds": True}}, "llmzd:models[0].drain.preStopSeconds"),
    ],
)
def test_booleans_are_not_numbers(overrides: dict, path: str) -> None:
    lines = issues_of(raw_config([minimal_model(**overrides)]))
    assert f"{path}: got True; expected a number, not true/false" in lines or \
        f"{path}: got False; expected a number, not true/false" in lines


def test_a_missing_key_shows_nothing_not_its_parent_object() -> None:
    lines = issues_of(raw_config([{"name": "vllm"}]))
    assert lines == ["llmzd:models[0].model: got nothing; expected this key to be set"]


def test_a_wrongly_typed_required_key_is_one_line_not_two() -> None:
    lines = issues_of(raw_config([minimal_model(name=5), minimal_model("b", drain="x", blueGreen=[])]))
    assert lines == [
        "llmzd:models[0].name: got 5; expected a valid string",
        "llmzd:models[1].drain: got 'x'; expected an object of keys and values (see docs/config.md)",
        "llmzd:models[1].blueGreen: got []; expected an object of keys and values (see docs/config.md)",
    ]


def test_render_yaml_to_directory_cannot_be_combined_with_a_kubeconfig() -> None:
    raw = {**raw_config(renderYamlToDirectory="rendered"), "llmzd:kubeconfig": "apiVersion: v1"}
    lines = issues_of(raw, {"llmzd:kubeconfig"})
    assert len(lines) == 1
    assert lines[0].startswith("llmzd:renderYamlToDirectory: got 'rendered'; expected no llmzd:kubeconfig")


def test_load_gate_5xx_threshold_is_spelled_max5xx_rate() -> None:
    load = {"enabled": True, "max5xxRate": 0.01}
    model = parse_stack_config(raw_config([minimal_model(gates={"load": load})])).stack.models[0]
    assert model.gates.load.max_5xx_rate == 0.01


def test_case_only_misspellings_name_the_real_key() -> None:
    lines = issues_of(raw_config([minimal_model(gates={"load": {"max5XxRate": 0.01}})]))
    assert lines == ["llmzd:models[0].gates.load.max5XxRate: got 0.01; expected no such key "
                     "(did you mean 'max5xxRate'? keys are case-sensitive)"]
    addon_lines = issues_of(raw_config(addons={"argoRollouts": {"Install": False}}))
    assert addon_lines == ["llmzd:addons.argoRollouts.Install: got False; expected no such key "
                           "(did you mean 'install'? keys are case-sensitive)"]


def test_misspelt_keys_name_the_closest_real_key() -> None:
    lines = issues_of(raw_config([minimal_model(gpuPerReplica=2, drain={"preStopSecond": 30})]))
    assert sorted(lines) == [
        "llmzd:models[0].drain.preStopSecond: got 30; expected no such key (did you mean 'preStopSeconds'?)",
        "llmzd:models[0].gpuPerReplica: got 2; expected no such key (did you mean 'gpusPerReplica'?)",
    ]
    (top_level,) = issues_of(raw_config(gpuBuget=2))
    assert top_level.startswith("llmzd:gpuBuget: got '(set)'; expected one of the known keys")
    assert "(did you mean 'llmzd:gpuBudget'?)" in top_level


def test_unknown_keys_without_a_near_spelling_keep_the_generic_hint() -> None:
    (line,) = issues_of(raw_config([minimal_model(gates={"load": {"retries": 3}})]))
    assert line.endswith("expected no such key (check its spelling; keys are camelCase, see docs/config.md)")
