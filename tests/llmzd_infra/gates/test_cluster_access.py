"""Kubeconfig loading and auth through lightkube, against the fake API server with a real kubeconfig."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmzd_infra.gates import rollouts
from llmzd_infra.gates.errors import ClusterAccessError
from llmzd_infra.gates.kube import ClusterAccess, open_session
from tests.llmzd_infra.gates.helpers import MODEL, NAMESPACE, blue_green_rollout
from tests.support.fake_kube_api import FakeKubeAPI, kubeconfig_yaml
from tests.support.ports import free_port

REF = rollouts.RolloutRef(NAMESPACE, MODEL)


def read(access: ClusterAccess) -> rollouts.RolloutState:
    async def go() -> rollouts.RolloutState:
        async with open_session(access) as session:
            return await rollouts.read_rollout(session, REF)

    return asyncio.run(go())


def test_kubeconfig_content_carries_the_bearer_token(fake_kube_api: FakeKubeAPI) -> None:
    fake_kube_api.add_model(blue_green_rollout(lagging_polls=0), 8000)
    assert fake_kube_api.kubeconfig_path is not None
    state = read(ClusterAccess(kubeconfig=fake_kube_api.kubeconfig_path.read_text()))
    assert state.template_revision == "rev-new-2222"
    assert fake_kube_api.unauthorized == 0


def test_standard_lookup_reads_the_kubeconfig_env_file(
    fake_kube_api: FakeKubeAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_kube_api.add_model(blue_green_rollout(), 8000)
    missing = tmp_path / "missing"
    monkeypatch.setenv("KUBECONFIG", f"{missing}:{fake_kube_api.kubeconfig_path}")
    state = read(ClusterAccess(kubeconfig=None, context="fake"))
    assert state.phase == "Healthy"  # lagging: the controller has not seen the new spec yet


def test_unknown_context_is_named(fake_kube_api: FakeKubeAPI) -> None:
    assert fake_kube_api.kubeconfig_path is not None
    content = fake_kube_api.kubeconfig_path.read_text()
    with pytest.raises(ClusterAccessError, match="'elsewhere'") as info:
        read(ClusterAccess(kubeconfig=content, context="elsewhere"))
    assert fake_kube_api.token not in str(info.value)


def test_bad_yaml_names_the_problem_without_quoting_it() -> None:
    content = "apiVersion: v1\nusers: [ {token: sekret-abcdef\n"
    with pytest.raises(ClusterAccessError, match="not valid YAML") as info:
        read(ClusterAccess(kubeconfig=content))
    assert "sekret" not in str(info.value)


def test_wrong_token_is_reported_as_refused_credentials(fake_kube_api: FakeKubeAPI) -> None:
    fake_kube_api.add_model(blue_green_rollout(), 8000)
    content = kubeconfig_yaml(fake_kube_api.server_url, "wrong-token-value-123")
    with pytest.raises(ClusterAccessError, match="refused the kubeconfig's credentials \\(401") as info:
        read(ClusterAccess(kubeconfig=content))
    assert "wrong-token-value-123" not in str(info.value)
    assert fake_kube_api.unauthorized == 1


def test_unreachable_server_is_a_transport_failure() -> None:
    port = free_port()
    content = kubeconfig_yaml(f"http://127.0.0.1:{port}", "token-0123456789")
    with pytest.raises(rollouts.ApiUnreachable, match=f"cannot reach the Kubernetes API server at http://127.0.0.1:{port}"):
        read(ClusterAccess(kubeconfig=content))


def test_no_kubeconfig_anywhere_says_what_to_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterAccessError, match="no kubeconfig found: set the llmzd:kubeconfig secret"):
        read(ClusterAccess())


def test_cluster_access_repr_hides_the_kubeconfig() -> None:
    shown = repr(ClusterAccess(kubeconfig="token: very-secret-token", context="ctx"))
    assert "very-secret-token" not in shown
    assert "ctx" in shown


def test_proxy_url_keeps_a_server_path_prefix(fake_kube_api: FakeKubeAPI) -> None:
    content = kubeconfig_yaml("https://rancher.example/k8s/clusters/c-1", "token-0123456789")

    async def url() -> str:
        async with open_session(ClusterAccess(kubeconfig=content)) as session:
            return session.service_proxy_url("ns", "svc", 8000)

    assert asyncio.run(url()) == "https://rancher.example/k8s/clusters/c-1/api/v1/namespaces/ns/services/svc:8000/proxy"
