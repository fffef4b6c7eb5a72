"""The fake API server itself: auth, patch media type, and a service proxy that follows Argo's selectors and
streams SSE through chunk by chunk."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.llmzd_infra.gates.helpers import NEW_HASH, OLD_HASH, blue_green_rollout
from tests.support.fake_kube_api import FakeKubeAPI

ROLLOUT_PATH = "/apis/argoproj.io/v1alpha1/namespaces/llm-serving/rollouts/chat"
PROXY = "/api/v1/namespaces/llm-serving/services/{service}:8000/proxy"


def client(api: FakeKubeAPI, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or api.token}"}
    return httpx.Client(base_url=api.server_url, headers=headers, timeout=10)


def test_requests_without_the_token_get_401(fake_kube_api: FakeKubeAPI) -> None:
    fake_kube_api.add_model(blue_green_rollout(), 8000)
    with httpx.Client(base_url=fake_kube_api.server_url, timeout=10) as anonymous:
        response = anonymous.get(ROLLOUT_PATH)
    assert response.status_code == 401 and response.json()["reason"] == "Unauthorized"
    with client(fake_kube_api) as authorized:
        assert authorized.get(ROLLOUT_PATH).json()["kind"] == "Rollout"


def test_status_patch_needs_merge_patch_and_is_recorded(fake_kube_api: FakeKubeAPI) -> None:
    fake_kube_api.add_model(blue_green_rollout(), 8000)
    with client(fake_kube_api) as http:
        wrong = http.patch(f"{ROLLOUT_PATH}/status", json={"status": {"abort": True}})
        right = http.patch(
            f"{ROLLOUT_PATH}/status", content=b'{"status":{"abort":true}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
    assert wrong.status_code == 415
    assert right.status_code == 200 and right.json()["status"]["abort"] is True
    assert len(fake_kube_api.abort_patches()) == 1


def test_proxy_follows_selectors_and_streams(fake_kube_api: FakeKubeAPI, fake_vllm: Callable[..., Any]) -> None:
    new = fake_vllm(revision="new", itl_ms=150, output_tokens=4)
    old = fake_vllm(revision="old")
    fake_kube_api.add_model(blue_green_rollout(lagging_polls=0), 8000)
    fake_kube_api.set_backend(NEW_HASH, new.base_url)
    fake_kube_api.set_backend(OLD_HASH, old.base_url)
    payload = {"model": "test-model", "prompt": "hi", "max_tokens": 4, "stream": True}
    with client(fake_kube_api) as http:
        assert http.get(PROXY.format(service="chat-stable") + "/health").headers["x-fake-revision"] == "old"
        started = time.monotonic()
        arrivals: list[float] = []
        with http.stream("POST", PROXY.format(service="chat-preview") + "/v1/completions", json=payload) as response:
            assert response.headers["x-fake-revision"] == "new"
            lines = []
            for line in response.iter_lines():
                if line.startswith("data: "):
                    arrivals.append(time.monotonic() - started)
                    lines.append(line)
    assert lines[-1] == "data: [DONE]"
    assert arrivals[-1] - arrivals[0] >= 0.3  # chunks arrived spread out, not buffered into one response


def test_service_without_ready_pods_answers_503_like_the_api_server(fake_kube_api: FakeKubeAPI) -> None:
    fake_kube_api.add_model(blue_green_rollout(), 8000)
    with client(fake_kube_api) as http:
        response = http.get(PROXY.format(service="chat-preview") + "/health")
    assert response.status_code == 503
    assert response.json()["message"] == 'no endpoints available for service "chat-preview"'
