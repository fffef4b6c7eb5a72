"""Property tests: random broken configs end in one clean ConfigError that names every broken key.

Each mutation below is invalid on its own, whatever else is broken next to it, and says which key path the
error must name; combining several checks that all violations are reported together.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmzd_infra.config import ConfigError, parse_stack_config
from llmzd_infra.config.rules import DNS_LABEL, MAX_MODEL_NAME
from llmzd_infra.config.vllm_flags import MANAGED_FLAGS
from tests.support.stacks import minimal_model

# (where in the model, strategy for a bad value, key path the error must name below llmzd:models[0])
MODEL_MUTATIONS: list[tuple[tuple[str, ...], st.SearchStrategy[Any], str]] = [
    (("port",), st.one_of(st.integers(max_value=0), st.integers(min_value=65536), st.booleans(),
                          st.text(alphabet="abc", min_size=1, max_size=5)), "port"),
    (("replicas",), st.integers(max_value=0), "replicas"),
    (("gpusPerReplica",), st.integers(max_value=-1), "gpusPerReplica"),
    (("name",), st.text(max_size=70).filter(lambda s: not DNS_LABEL.match(s) or len(s) > MAX_MODEL_NAME), "name"),
    (("image", "tag"), st.sampled_from(["latest", "", "a b", ":x", "v1/2"]), "image.tag"),
    (("drain", "preStopSeconds"), st.integers(min_value=81, max_value=3600),
     "drain.terminationGracePeriodSeconds"),
    (("blueGreen", "scaleDownDelaySeconds"), st.integers(min_value=0, max_value=59), "blueGreen.scaleDownDelaySeconds"),
    (("vllm", "tensorParallelSize"), st.integers(min_value=2, max_value=64), "gpusPerReplica"),
    (("vllm", "gpuMemoryUtilization"), st.one_of(st.floats(max_value=0), st.floats(min_value=1.01)),
     "vllm.gpuMemoryUtilization"),
    (("vllm", "extraArgs"), st.sampled_from(MANAGED_FLAGS).map(lambda flag: [f"{flag}=1"]), "vllm.extraArgs[0]"),
    (("probes", "readiness", "periodSeconds"), st.integers(max_value=0), "probes.readiness.periodSeconds"),
    (("probes", "startup", "failureThreshold"), st.integers(max_value=0), "probes.startup.failureThreshold"),
    (("modelCache", "type"), st.just("pvc"), "modelCache.claimName"),
    (("resources", "requests", "cpu"), st.sampled_from(["two", "1.5.5", "-1", ""]), "resources.requests.cpu"),
    (("tolerations",), st.lists(st.integers(), min_size=1, max_size=2), "tolerations[0]"),
    (("model", "id"), st.sampled_from(["", " spaced", "-leading"]), "model.id"),
]

# (top-level key, strategy for a bad raw value, key path the error must name)
TOP_MUTATIONS: list[tuple[str, st.SearchStrategy[str], str]] = [
    ("namespace", st.text(max_size=70).filter(lambda s: not DNS_LABEL.match(s) or len(s) > 63), "llmzd:namespace"),
    ("gpuBudget", st.integers(max_value=-1).map(json.dumps), "llmzd:gpuBudget"),
    ("addons", st.sampled_from(["", "a b", "x y"]).map(
        lambda v: json.dumps({"argoRollouts": {"chartVersion": v}})), "llmzd:addons.argoRollouts.chartVersion"),
    ("renderYamlToDirect", st.just("out"), "llmzd:renderYamlToDirect"),
]


def _set_in(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _issue_paths(error: ConfigError) -> list[str]:
    return [issue.path for issue in error.issues]


def _assert_clean(error: ConfigError) -> None:
    lines = [str(issue) for issue in error.issues]
    assert lines, "a ConfigError without issues"
    assert len(lines) == len(set(lines)), f"duplicate lines: {lines}"
    for line in lines:
        assert line.startswith("llmzd:") and "; expected " in line and "\n" not in line, line
    message = str(error)
    assert "Traceback" not in message
    assert len(message.splitlines()) == len(lines) + 1


@st.composite
def broken_configs(draw: st.DrawFn) -> tuple[dict[str, str], set[str]]:
    model = minimal_model()
    expected: set[str] = set()
    model_picks = draw(st.lists(st.sampled_from(range(len(MODEL_MUTATIONS))), max_size=4, unique=True))
    top_picks = draw(st.lists(st.sampled_from(range(len(TOP_MUTATIONS))), max_size=2, unique=True))
    if not model_picks and not top_picks:
        model_picks = [draw(st.sampled_from(range(len(MODEL_MUTATIONS))))]
    for pick in model_picks:
        path, strategy, reported_at = MODEL_MUTATIONS[pick]
        _set_in(model, path, draw(strategy))
        expected.add(f"llmzd:models[0].{reported_at}")
    raw = {"llmzd:models": json.dumps([model])}
    for pick in top_picks:
        key, strategy, reported_at = TOP_MUTATIONS[pick]
        raw[f"llmzd:{key}"] = draw(strategy)
        expected.add(reported_at)
    return raw, expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=broken_configs())
def test_every_broken_key_is_named_in_one_clean_error(case: tuple[dict[str, str], set[str]]) -> None:
    raw, expected = case
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw)
    _assert_clean(caught.value)
    missing = expected - set(_issue_paths(caught.value))
    assert not missing, f"not reported: {missing}; got {[str(i) for i in caught.value.issues]}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
MODEL_KEYS = ["name", "model", "image", "vllm", "replicas", "gpusPerReplica", "resources", "nodeSelector",
              "tolerations", "modelCache", "shmSize", "port", "hfTokenKey", "probes", "drain", "blueGreen",
              "gates", "disruptionBudget"]


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(MODEL_KEYS), value=json_values,
       top=st.sampled_from(["models", "addons", "gpuBudget", "namespace"]), top_value=json_values)
def test_any_json_anywhere_parses_or_fails_cleanly(key: str, value: Any, top: str, top_value: Any) -> None:
    """Arbitrary JSON in a model key and a top-level key: a config, or a clean ConfigError, never a crash."""
    model = minimal_model()
    model[key] = value
    raw = {"llmzd:models": json.dumps([model]), f"llmzd:{top}": json.dumps(top_value)}
    try:
        parse_stack_config(raw)
    except ConfigError as error:
        _assert_clean(error)
