"""Smoke checks a serving endpoint must pass before it takes traffic.

As an API: the ``smoke_test.sh`` of the zero-downtime update guide with Argo Rollouts.

The checks run in order and stop at the first failure, so an unreachable or hung server costs one timeout,
not one per check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter

import httpx

from loadgen.api import (
    Endpoint,
    ServerError,
    build_payload,
    describe_transport_error,
    excerpt,
    failed_request_url,
    first_model_id,
    join_url,
)
from loadgen.records import RequestRecord
from loadgen.stream import stream_request

SMOKE_PROMPT = "Say hello in one short sentence."


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass(frozen=True)
class SmokeReport:
    ok: bool
    checks: tuple[SmokeCheck, ...]
    model: str | None
    ttft_s: float | None
    total_s: float

    def failure_summary(self) -> str:
        """One line naming the first failed check and why ('' when every check passed)."""
        for check in self.checks:
            if not check.ok:
                return f"smoke check '{check.name}' failed after {check.seconds:.2f}s: {check.detail}"
        return ""


class _CheckFailed(Exception):
    pass


async def run_smoke(
    base_url: str,
    *,
    model: str | None = None,
    client: httpx.AsyncClient | None = None,
    timeout: float = 30.0,
    max_tokens: int = 16,
) -> SmokeReport:
    """Check /health, a plain and a streaming completion at base_url (which may carry a path prefix)."""
    http = client if client is not None else httpx.AsyncClient(timeout=httpx.Timeout(timeout))
    checks: list[SmokeCheck] = []
    started = perf_counter()
    ttft: float | None = None

    async def check(name: str, body: Callable[[], Awaitable[str]]) -> bool:
        check_started = perf_counter()
        try:
            detail, ok = await body(), True
        except _CheckFailed as failure:
            detail, ok = str(failure), False
        except httpx.HTTPError as exc:
            url = failed_request_url(exc)
            detail, ok = describe_transport_error(exc, timeout=timeout) + (f" on {url}" if url else ""), False
        checks.append(SmokeCheck(name, ok, perf_counter() - check_started, detail))
        return ok

    async def health() -> str:
        response = await http.get(join_url(base_url, "/health"), timeout=timeout)
        if response.status_code != 200:
            raise _CheckFailed(f"HTTP {response.status_code}: {excerpt(response.text)}")
        return "HTTP 200"

    async def models() -> str:
        nonlocal model
        try:
            model = await first_model_id(http, base_url, timeout=timeout)
        except ServerError as exc:
            raise _CheckFailed(str(exc)) from None
        return f"serving {model}"

    async def completion() -> str:
        assert model is not None
        payload = build_payload(Endpoint.COMPLETIONS, model, SMOKE_PROMPT, max_tokens, stream=False)
        response = await http.post(
            join_url(base_url, Endpoint.COMPLETIONS.path), json=payload, timeout=timeout
        )
        if response.status_code != 200:
            raise _CheckFailed(f"HTTP {response.status_code}: {excerpt(response.text)}")
        try:
            text = response.json()["choices"][0]["text"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _CheckFailed(f"HTTP 200 but no choices[0].text: {excerpt(response.text)}") from None
        if not isinstance(text, str) or not text.strip():
            raise _CheckFailed(f"HTTP 200 but the completion text is empty: {excerpt(response.text)}")
        return f"HTTP 200, {len(text)} chars of text"

    async def streaming() -> str:
        nonlocal ttft
        assert model is not None
        payload = build_payload(Endpoint.COMPLETIONS, model, SMOKE_PROMPT, max_tokens, stream=True)
        origin = perf_counter()
        record = RequestRecord(index=0, start=0.0)
        await stream_request(
            http,
            join_url(base_url, Endpoint.COMPLETIONS.path),
            payload,
            record,
            origin=origin,
            timeout=timeout,
        )
        if record.failure is not None:
            raise _CheckFailed(f"{record.failure.value}: {record.detail}")
        if record.token_chunks == 0:
            raise _CheckFailed("stream ended with [DONE] but carried no token chunks")
        ttft = record.ttft
        return f"{record.token_chunks} token chunks then [DONE], TTFT {(ttft or 0.0) * 1000:.1f} ms"

    try:
        steps: list[tuple[str, Callable[[], Awaitable[str]]]] = [("health", health)]
        if model is None:
            steps.append(("models", models))
        steps += [("completion", completion), ("streaming", streaming)]
        for name, body in steps:
            if not await check(name, body):
                break
    finally:
        if client is None:
            await http.aclose()
    ok = len(checks) == len(steps) and all(c.ok for c in checks)
    return SmokeReport(
        ok=ok, checks=tuple(checks), model=model, ttft_s=ttft, total_s=perf_counter() - started
    )
