"""``check`` validates inputs with one failure per bad property; ``diff`` re-runs gates only on a new revision
or changed check settings, always as an update."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from llmzd_infra.components.rollout_gates import promotion_props, readiness_props, smoke_props
from llmzd_infra.gates.inputs import UNKNOWN
from llmzd_infra.gates.providers import (
    RESULT_KEYS,
    GateProvider,
    PromotionGateProvider,
    ReadinessGateProvider,
    SmokeGateProvider,
)
from tests.llmzd_infra.gates.helpers import engine_props, gate_args
from tests.support.fake_kube_api import kubeconfig_yaml

KUBECONFIG = kubeconfig_yaml("https://10.0.0.1:6443", "tok-abcdef-123456")


def cases() -> list[tuple[GateProvider, dict[str, Any]]]:
    args = gate_args()
    return [
        (ReadinessGateProvider(), engine_props(readiness_props(args), KUBECONFIG)),
        (SmokeGateProvider(), engine_props(smoke_props(args, "preview"), KUBECONFIG)),
        (PromotionGateProvider(), engine_props(promotion_props(args), KUBECONFIG)),
    ]


def failures(provider: GateProvider, props: dict[str, Any]) -> dict[str, str]:
    result = provider.check({}, props)
    return {f.property: f.reason for f in result.failures}


@pytest.mark.parametrize(("provider", "props"), cases())
def test_component_inputs_pass_check(provider: GateProvider, props: dict[str, Any]) -> None:
    assert failures(provider, props) == {}


def test_check_names_each_bad_property() -> None:
    provider, props = cases()[1]
    props.update(port=0, url="ftp://x", side="middle", namespace="Not_A_Label")
    del props["servedModel"]
    found = failures(provider, props)
    assert found == {
        "namespace": "namespace must be a DNS label (lowercase letters, digits, '-', at most 63 characters)",
        "servedModel": "servedModel is required",
        "port": "port must be a port number between 1 and 65535",
        "side": "side must be one of preview, stable",
        "url": "url must start with http:// or https://",
    }


def test_check_rejects_a_broken_kubeconfig_without_quoting_it() -> None:
    provider, props = cases()[0]
    props["kubeconfig"] = "clusters: [ {token: hunter2-secret"
    found = failures(provider, props)
    assert found == {"kubeconfig": "kubeconfig the kubeconfig is not valid YAML (content not shown)"}


def test_check_skips_values_unknown_during_preview_and_drops_result_placeholders() -> None:
    provider, props = cases()[2]
    props["revision"] = UNKNOWN
    props.update(dict.fromkeys(RESULT_KEYS["promotion"]))
    result = provider.check({}, props)
    assert result.failures == []
    assert not set(RESULT_KEYS["promotion"]) & set(result.inputs)


def test_check_turns_float_whole_numbers_into_ints_and_flags_strays() -> None:
    provider, props = cases()[0]
    props["port"] = 8000.0
    props["surprise"] = 1
    result = provider.check({}, props)
    assert result.inputs["port"] == 8000 and isinstance(result.inputs["port"], int)
    assert [(f.property, f.reason) for f in result.failures] == [
        ("surprise", "surprise is not an input of the readiness gate")
    ]


def outputs_after_create(props: dict[str, Any], kind: str) -> dict[str, Any]:
    """Old outputs as stored: inputs echoed without the kubeconfig, plus results."""
    olds = {k: v for k, v in props.items() if k != "kubeconfig"}
    olds.update(dict.fromkeys(RESULT_KEYS[kind], "x"))  # type: ignore[index]
    return olds


@pytest.mark.parametrize(("provider", "props"), cases())
def test_same_revision_and_settings_is_no_change(provider: GateProvider, props: dict[str, Any]) -> None:
    diff = provider.diff("id", outputs_after_create(props, provider.kind), props)
    assert diff.changes is False


@pytest.mark.parametrize(("provider", "props"), cases())
def test_new_revision_is_an_update_not_a_replace(provider: GateProvider, props: dict[str, Any]) -> None:
    olds = outputs_after_create(props, provider.kind)
    diff = provider.diff("id", olds, {**props, "revision": "rev-3333"})
    assert diff.changes is True
    assert diff.replaces == []
    assert diff.delete_before_replace is False


@pytest.mark.parametrize(
    ("key", "value"),
    [("kubeconfig", kubeconfig_yaml("https://other:6443", "other-token-12345")), ("kubeContext", "other"),
     ("pollIntervalSeconds", 9.0)],
)
def test_cluster_access_and_poll_cadence_do_not_rerun_gates(key: str, value: Any) -> None:
    for provider, props in cases():
        diff = provider.diff("id", outputs_after_create(props, provider.kind), {**props, key: value})
        assert diff.changes is False, (provider.kind, key)


def test_check_settings_changes_rerun_the_gate() -> None:
    provider, props = cases()[2]
    olds = outputs_after_create(props, "promotion")
    load = {"concurrency": 2, "durationSeconds": 5, "maxErrorRate": 0.1, "max5xxRate": 0.1,
            "minStreamCompletion": 0.5}
    assert provider.diff("id", olds, {**props, "load": load}).changes is True
    assert provider.diff("id", olds, {**props, "timeoutSeconds": 900}).changes is True
    assert provider.diff("id", olds, {**props, "autoPromotion": True}).changes is True


def test_delete_touches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pulumi destroy`` drops the gates from state only: no cluster session, no HTTP request, no socket."""
    calls: list[str] = []

    def forbid(name: str) -> Any:
        def called(*_args: Any, **_kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"delete must not touch the cluster, but it called {name}")
        return called

    import httpx

    import llmzd_infra.gates.kube as kube

    monkeypatch.setattr(kube, "open_session", forbid("kube.open_session"))
    monkeypatch.setattr(kube, "load_cluster_config", forbid("kube.load_cluster_config"))
    monkeypatch.setattr(httpx.AsyncClient, "send", forbid("httpx.AsyncClient.send"))
    monkeypatch.setattr(httpx.Client, "send", forbid("httpx.Client.send"))
    monkeypatch.setattr(socket.socket, "connect", forbid("socket.connect"))
    monkeypatch.setattr(socket, "create_connection", forbid("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", forbid("socket.getaddrinfo"))
    for provider, props in cases():
        assert provider.delete("id", props) is None
    assert calls == []


def test_the_delete_guard_catches_a_cluster_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard above is live: a delete that opened a cluster session would fail it."""
    import llmzd_infra.gates.kube as kube

    def reaches_the_cluster(self: GateProvider, _id: str, props: dict[str, Any]) -> None:
        kube.load_cluster_config(props)  # what a delete that looked at the Rollout would do first

    monkeypatch.setattr(ReadinessGateProvider, "delete", reaches_the_cluster)
    with pytest.raises(AssertionError, match=r"must not touch the cluster, but it called kube\.load_cluster_config"):
        test_delete_touches_nothing(monkeypatch)
