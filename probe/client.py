"""The readiness check as an async API over httpx, for the gates and smoke checks.

The rules are ``probe/vllm_readiness.py``'s own (``judge_health``, ``judge_models``), so the pod's exec probe
and the gates that hold ``pulumi up`` agree on what "ready" means.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from probe.vllm_readiness import (
    HEALTH_PATH,
    MAX_BODY_BYTES,
    MODELS_PATH,
    STAGE_HEALTH,
    STAGE_MODELS,
    STAGE_READY,
    NotReady,
    excerpt,
    judge_health,
    judge_models,
)

__all__ = ["STAGE_HEALTH", "STAGE_MODELS", "STAGE_READY", "ReadinessResult", "check_readiness"]


@dataclass(frozen=True)
class ReadinessResult:
    """Where the check got to: ``stage`` is health, models (the stage that failed) or ready."""

    ready: bool
    stage: str
    status: int | None
    models: tuple[str, ...]
    reason: str
    elapsed_s: float

    def line(self) -> str:
        """The same one-line wording the exec probe prints."""
        if self.ready:
            return f"ready: {self.reason}"
        path = HEALTH_PATH if self.stage == STAGE_HEALTH else MODELS_PATH
        return f"not ready: {self.stage} {path}: {self.reason}"


def _transport_reason(exc: httpx.TransportError, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout_s:g}s"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {excerpt(exc) or type(exc).__name__}"
    if _caused_by_reset(exc):
        return "connection reset by the server"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return f"connection closed mid-response{': ' + excerpt(exc) if str(exc) else ''}"
    return f"{type(exc).__name__}: {excerpt(exc) or 'no detail'}"


def _caused_by_reset(exc: BaseException) -> bool:
    """httpx wraps the socket error; the reset shows only in the chain of causes."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionResetError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _get(client: httpx.AsyncClient, url: str, timeout_s: float) -> tuple[int, bytes]:
    """(status, body) of one GET, the whole request bounded by timeout_s and the body capped."""
    try:
        async with asyncio.timeout(timeout_s), client.stream("GET", url, timeout=timeout_s) as response:
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > MAX_BODY_BYTES:
                    raise NotReady(f"HTTP {response.status_code} with a body over {MAX_BODY_BYTES} bytes",
                                   response.status_code)  # fmt: skip
            return response.status_code, bytes(body)
    except TimeoutError:
        raise NotReady(f"timed out after {timeout_s:g}s") from None
    except httpx.TransportError as exc:
        raise NotReady(_transport_reason(exc, timeout_s)) from None


async def check_readiness(
    base_url: str,
    *,
    expected_model: str | None = None,
    timeout: float = 5.0,
    client: httpx.AsyncClient | None = None,
) -> ReadinessResult:
    """Run the probe's two stages against ``base_url`` (``http://host:port`` or a Service proxy URL).

    ``timeout`` bounds each request. A given ``client`` (with auth, TLS, a proxy path) is used and left open.
    """
    started = time.perf_counter()
    base = base_url.rstrip("/")
    own_client = client is None
    http = client if client is not None else httpx.AsyncClient()

    def result(ready: bool, stage: str, status: int | None, models: tuple[str, ...], reason: str) -> ReadinessResult:
        return ReadinessResult(ready, stage, status, models, reason, time.perf_counter() - started)

    try:
        try:
            status, _ = await _get(http, base + HEALTH_PATH, timeout)
        except NotReady as failure:
            return result(False, STAGE_HEALTH, failure.status, (), failure.reason)
        reason = judge_health(status)
        if reason:
            return result(False, STAGE_HEALTH, status, (), reason)
        try:
            status, body = await _get(http, base + MODELS_PATH, timeout)
        except NotReady as failure:
            return result(False, STAGE_MODELS, failure.status, (), failure.reason)
        models, reason = judge_models(status, body, expected_model)
        if reason:
            return result(False, STAGE_MODELS, status, models, reason)
        return result(True, STAGE_READY, status, models, "serving " + ", ".join(models))
    finally:
        if own_client:
            await http.aclose()
