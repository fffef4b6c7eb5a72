"""The async readiness API (used by the gates and smoke checks) against the same cases as the exec probe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from probe.client import STAGE_HEALTH, STAGE_MODELS, STAGE_READY, ReadinessResult, check_readiness
from tests.support.ports import free_port

TIMEOUT_S = 0.5


def check(base_url: str, **kwargs: Any) -> ReadinessResult:
    kwargs.setdefault("timeout", TIMEOUT_S)
    return asyncio.run(check_readiness(base_url, **kwargs))


def test_ready_with_models_status_and_elapsed(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(model="qwen")
    result = check(server.base_url + "/", expected_model="qwen")
    assert result.ready and result.stage == STAGE_READY and result.status == 200
    assert result.models == ("qwen",) and result.reason == "serving qwen"
    assert 0 < result.elapsed_s < 1
    assert result.line() == "ready: serving qwen"


def test_expected_model_missing_lists_the_ids_found(fake_vllm: Callable[..., Any]) -> None:
    result = check(fake_vllm(model="qwen").base_url, expected_model="llama")
    assert not result.ready and result.stage == STAGE_MODELS and result.models == ("qwen",)
    assert result.line() == "not ready: models /v1/models: expected model 'llama' not listed; found qwen"


@pytest.mark.parametrize(
    ("knobs", "stage", "status", "reason"),
    [
        ({"phase": "loading"}, STAGE_MODELS, 200, "empty model list (model still loading)"),
        ({"models_response": "garbage"}, STAGE_MODELS, 200, "invalid JSON: '<html>upstream connect error</html>'"),
        ({"models_response": "not_a_list"}, STAGE_MODELS, 200, "no 'data' list in the response"),
        ({"health_status": 503}, STAGE_HEALTH, 503, "HTTP 503"),
        ({"misbehave": "huge"}, STAGE_HEALTH, 200, "HTTP 200 with a body over 1048576 bytes"),
    ],
    ids=["loading", "garbage-models", "data-not-a-list", "health-503", "huge-body"],
)
def test_failures_match_the_exec_probe(
    fake_vllm: Callable[..., Any], knobs: dict[str, Any], stage: str, status: int, reason: str
) -> None:
    result = check(fake_vllm(**knobs).base_url)
    assert (result.ready, result.stage, result.status, result.reason) == (False, stage, status, reason)


def test_reset_is_reported_as_a_cut_connection(fake_vllm: Callable[..., Any]) -> None:
    result = check(fake_vllm(misbehave="reset").base_url)
    assert not result.ready and result.stage == STAGE_HEALTH and result.status is None
    assert result.reason == "connection reset by the server"


@pytest.mark.parametrize(
    "knobs",
    [{"phase": "bound"}, {"misbehave": "silent"}, {"misbehave": "trickle"},
     {"misbehave": "silent", "misbehave_path": "/v1/models"}],
    ids=["bound", "silent", "trickle", "silent-models"],
)  # fmt: skip
def test_hung_servers_are_cut_at_the_timeout(fake_vllm: Callable[..., Any], knobs: dict[str, Any]) -> None:
    server = fake_vllm(**knobs)
    started = time.monotonic()
    result = check(server.base_url)
    elapsed = time.monotonic() - started
    expected_stage = STAGE_MODELS if knobs.get("misbehave_path") else STAGE_HEALTH
    assert not result.ready and result.stage == expected_stage
    assert result.reason == f"timed out after {TIMEOUT_S:g}s"
    assert TIMEOUT_S <= elapsed < 2 * TIMEOUT_S + 0.3


def test_closed_port_is_a_connect_failure(fake_vllm: Callable[..., Any]) -> None:
    result = check(fake_vllm(phase="closed").base_url)
    assert not result.ready and result.stage == STAGE_HEALTH and result.reason.startswith("cannot connect")
    assert check(f"http://127.0.0.1:{free_port()}").reason.startswith("cannot connect")


def test_a_given_client_is_used_and_left_open(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm()
    seen: list[str] = []

    async def scenario() -> tuple[ReadinessResult, bool]:
        async def record(request: httpx.Request) -> None:
            seen.append(request.url.path)

        async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
            result = await check_readiness(server.base_url, client=client, timeout=2)
            return result, client.is_closed

    result, closed = asyncio.run(scenario())
    assert result.ready and not closed
    assert seen == ["/health", "/v1/models"]


def test_base_url_with_a_path_prefix_is_kept(fake_vllm: Callable[..., Any]) -> None:
    # Through the API server's Service proxy the base URL ends in .../proxy; the probe paths go after it.
    server = fake_vllm()
    result = check(server.base_url + "/prefix")
    assert not result.ready and result.stage == STAGE_HEALTH and result.reason == "HTTP 404"
