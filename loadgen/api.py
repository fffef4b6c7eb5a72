"""The slice of vLLM's OpenAI-compatible API the load generator speaks: URLs, payloads, model discovery."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import httpx

EXCERPT_CHARS = 200


class Endpoint(StrEnum):
    COMPLETIONS = "completions"
    CHAT = "chat"

    @property
    def path(self) -> str:
        return "/v1/completions" if self is Endpoint.COMPLETIONS else "/v1/chat/completions"


class ServerError(RuntimeError):
    """The server could not be used at all (unreachable, or answered something unusable) before load began."""


def join_url(base_url: str, path: str) -> str:
    """Append an API path to a base URL that may carry a path prefix (e.g. a Kubernetes service proxy)."""
    return base_url.rstrip("/") + path


def build_payload(
    endpoint: Endpoint, model: str, prompt: str, max_tokens: int, *, stream: bool
) -> dict[str, Any]:
    payload: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "stream": stream}
    if endpoint is Endpoint.COMPLETIONS:
        payload["prompt"] = prompt
    else:
        payload["messages"] = [{"role": "user", "content": prompt}]
    if stream:
        # Ask for the final usage chunk so token counts come from the server, not from chunk counting.
        payload["stream_options"] = {"include_usage": True}
    return payload


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The JSON body bytes, encoded as httpx's `json=` would (compact, UTF-8, no NaN), once per distinct payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def redacted_url(url: str | httpx.URL) -> str:
    """The URL without user and password, fit for a message."""
    parsed = httpx.URL(str(url))
    return str(parsed.copy_with(userinfo=b"")) if parsed.userinfo else str(parsed)


def failed_request_url(exc: httpx.HTTPError) -> str | None:
    try:
        return redacted_url(exc.request.url)
    except RuntimeError:  # an error raised before httpx attached the request
        return None


_TIMEOUT_PHASES = {
    "ConnectTimeout": "connecting",
    "ReadTimeout": "waiting for the response",
    "WriteTimeout": "sending the request",
    "PoolTimeout": "waiting for a free connection",
}


def describe_transport_error(exc: BaseException, *, timeout: float | None = None) -> str:
    """One line naming the failure, without the request URL (a proxy URL may carry credentials).

    httpx's timeouts often carry no message of their own (``ReadTimeout: ReadTimeout``): say what timed out and,
    when the caller passes it, after how long. Callers name the URL they asked for themselves.
    """
    kind = type(exc).__name__
    message = str(exc).strip()
    if isinstance(exc, httpx.TimeoutException):
        after = f" after {timeout:g}s" if timeout is not None else ""
        phase = _TIMEOUT_PHASES.get(kind, "waiting")
        detail = f" ({excerpt(message, 120)})" if message and message != kind else ""
        return f"timed out{after} {phase} ({kind}){detail}"
    if not message or message == kind:
        return kind
    return f"{kind}: {excerpt(message, 160)}"


async def first_model_id(client: httpx.AsyncClient, base_url: str, *, timeout: float) -> str:
    """Return the first model id served at base_url, or raise ServerError saying why there is none."""
    url = join_url(base_url, "/v1/models")
    try:
        response = await client.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ServerError(f"GET {redacted_url(url)} failed: {describe_transport_error(exc, timeout=timeout)}") from exc
    if response.status_code != 200:
        raise ServerError(f"GET /v1/models returned HTTP {response.status_code}: {excerpt(response.text)}")
    try:
        data = response.json()["data"]
        model_id = data[0]["id"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ServerError(
            "GET /v1/models returned no usable model id (pass --model to choose one): "
            f"{excerpt(response.text)}"
        ) from exc
    if not isinstance(model_id, str) or not model_id:
        raise ServerError(f"GET /v1/models returned an empty model id: {excerpt(response.text)}")
    return model_id
