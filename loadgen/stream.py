"""Send one streaming completion and record what happened to it, failure included, without retrying."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable
from time import perf_counter
from typing import Any

import aiohttp
import httpx

from loadgen.api import describe_transport_error, encode_payload, excerpt
from loadgen.records import Failure, RequestRecord
from loadgen.senders import AiohttpSender, ClientSender, HttpxSender, Sender, Trace
from loadgen.sse import SSEParser

ERROR_BODY_BYTES = 2048


def classify_status(status: int) -> Failure:
    if 500 <= status <= 599:
        return Failure.HTTP_5XX
    if 400 <= status <= 499:
        return Failure.HTTP_4XX
    return Failure.HTTP_OTHER


async def stream_request(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    record: RequestRecord,
    *,
    origin: float,
    timeout: float,
) -> None:
    """Run one request through `client`, filling `record` in place (times relative to `origin`, a perf_counter
    value); the clock (`record.start`) starts now.

    Cancellation propagates after `record.end` is set, so the caller can mark the record cancelled.
    """
    record.start = perf_counter() - origin
    await send_streaming(ClientSender(client), url, encode_payload(payload), record, origin=origin, timeout=timeout)


async def send_streaming(
    sender: Sender, url: str, body: bytes, record: RequestRecord, *, origin: float, timeout: float
) -> None:
    """`stream_request` for a body already encoded, through any Sender.

    TTFT and latency count from `record.start`, which the caller sets when it creates the request (what a user
    waits through); `record.sent` is set when the request has been written to the socket, so a report can
    tell the client's own queueing (sent - start) from the server's time to first token.
    """
    if isinstance(sender, AiohttpSender):
        await _send_aiohttp(sender, url, body, record, origin, timeout)
    else:
        await _send_httpx(sender, url, body, record, origin, timeout)


async def _send_aiohttp(
    sender: AiohttpSender, url: str, body: bytes, record: RequestRecord, origin: float, timeout: float
) -> None:
    try:
        async with asyncio.timeout(timeout), sender.post(url, body, record, origin) as response:
            status = record.status = response.status
            if status != 200:
                record.failure = classify_status(status)
                text = _excerpt_bytes(await response.content.read(ERROR_BODY_BYTES))
                record.detail = f"HTTP {status}: {text}"
                return
            await _consume_stream(response.content.iter_any(), record, origin)
    except TimeoutError:  # asyncio.timeout's, and aiohttp's own timeout errors subclass it
        record.failure = Failure.TIMEOUT
        record.detail = f"no complete response within {timeout:g}s"
    except aiohttp.ClientConnectorError as exc:
        record.failure = Failure.CONNECT_ERROR
        record.detail = describe_transport_error(exc)
    except aiohttp.ClientError as exc:
        # After a 200 the stream was cut; before any status the server dropped or garbled the connection.
        record.failure = Failure.STREAM_CUT if record.status is not None else Failure.PROTOCOL_ERROR
        record.detail = describe_transport_error(exc)
    finally:
        record.end = perf_counter() - origin


def _sent_tracer(record: RequestRecord, origin: float) -> Trace:
    async def trace(event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            record.sent = perf_counter() - origin

    return trace


async def _send_httpx(
    sender: HttpxSender, url: str, body: bytes, record: RequestRecord, origin: float, timeout: float
) -> None:
    try:
        async with asyncio.timeout(timeout), sender.post(url, body, _sent_tracer(record, origin)) as response:
            record.status = response.status_code
            if response.status_code != 200:
                record.failure = classify_status(response.status_code)
                text = await _read_excerpt(response)
                record.detail = f"HTTP {response.status_code}: {text}"
                return
            await _consume_stream(_body_chunks(response), record, origin)
    except (TimeoutError, httpx.TimeoutException):
        record.failure = Failure.TIMEOUT
        record.detail = f"no complete response within {timeout:g}s"
    except httpx.ConnectError as exc:
        record.failure = Failure.CONNECT_ERROR
        record.detail = describe_transport_error(exc)
    except httpx.TransportError as exc:
        # After a 200 the stream was cut; before any status the server dropped or garbled the connection.
        record.failure = Failure.STREAM_CUT if record.status is not None else Failure.PROTOCOL_ERROR
        record.detail = describe_transport_error(exc)
    finally:
        record.end = perf_counter() - origin


def _excerpt_bytes(received: bytes) -> str:
    return excerpt(received[:ERROR_BODY_BYTES].decode("utf-8", errors="replace"))


async def _read_excerpt(response: httpx.Response) -> str:
    received = b""
    async for chunk in response.aiter_bytes():
        received += chunk
        if len(received) >= ERROR_BODY_BYTES:
            break
    return _excerpt_bytes(received)


def _body_chunks(response: httpx.Response) -> AsyncIterable[bytes]:
    # Without a content encoding the transport's byte stream is the body: reading it directly skips the two
    # generator layers (and the no-op decoder and chunker) aiter_bytes adds to every network read.
    if response.headers.get("content-encoding", "identity") == "identity":
        return response.stream  # type: ignore[return-value]
    return response.aiter_bytes()


_raw_decode = json.JSONDecoder().raw_decode


def _loads(data: str) -> Any:
    """json.loads, minus its wrapper and trailing-whitespace regex for the usual case of a payload that is
    exactly one JSON value; anything else goes through json.loads itself (same result, same errors)."""
    try:
        value, end = _raw_decode(data)
        if end == len(data):
            return value
    except ValueError:
        pass
    return json.loads(data)


async def _consume_stream(chunks: AsyncIterable[bytes], record: RequestRecord, origin: float) -> None:
    parser = SSEParser()
    feed = parser.feed_data
    last_token_at = 0.0
    itl = record.itl
    async for chunk in chunks:
        # One timestamp per network read: tokens arriving in the same read really did arrive together.
        now = perf_counter() - origin
        for data in feed(chunk):
            if data == "[DONE]":
                record.done = True
                continue
            if record.done:
                continue
            try:
                has_token = _apply_chunk(_loads(data), record)
            except (ValueError, TypeError, AttributeError):
                record.failure = Failure.MALFORMED_CHUNK
                record.detail = f"unparseable SSE data: {excerpt(data, 120)}"
                return
            if record.failure is not None:
                return
            if has_token:
                if record.ttft is None:
                    record.ttft = now - record.start
                else:
                    itl.append(now - last_token_at)
                last_token_at = now
                record.token_chunks += 1
    if not record.done:
        record.failure = Failure.STREAM_CUT
        record.detail = f"stream ended before [DONE] after {record.token_chunks} token chunks"


def _apply_chunk(chunk: Any, record: RequestRecord) -> bool:
    """Fold one decoded SSE payload into the record; return whether it carried output text.

    Raises TypeError/AttributeError for payloads that are JSON but not an OpenAI chunk.
    """
    if not isinstance(chunk, dict):
        raise TypeError("SSE payload is not a JSON object")
    if "error" in chunk:
        record.failure = Failure.STREAM_ERROR
        record.detail = f"error event in stream: {excerpt(json.dumps(chunk['error']), 160)}"
        return False
    usage = chunk.get("usage")
    if usage:
        completion_tokens = usage.get("completion_tokens")
        if isinstance(completion_tokens, int):
            record.usage_tokens = completion_tokens
    has_token = False
    for choice in chunk.get("choices") or ():
        text = choice.get("text")
        if text is None:
            delta = choice.get("delta")
            text = delta.get("content") if delta else None
        if text:
            has_token = True
        reason = choice.get("finish_reason")
        if reason:
            record.finish_reason = reason
    return has_token
