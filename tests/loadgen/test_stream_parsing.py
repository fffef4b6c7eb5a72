"""stream_request's classification of what a response body contains.

These use httpx.MockTransport so each case controls the exact bytes and how they are split; the real-socket
behaviour (timing, cuts, 5xx, connect errors) is covered against the fake vLLM server elsewhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from time import perf_counter

import httpx

from loadgen.records import Failure, RequestRecord
from loadgen.stream import classify_status, stream_request


class ChunkedBody(httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def run_against(parts: list[bytes], status: int = 200) -> RequestRecord:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, headers={"content-type": "text/event-stream"}, stream=ChunkedBody(parts)
        )

    async def go() -> RequestRecord:
        record = RequestRecord(index=0, start=0.0)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await stream_request(
                client, "http://test/v1/completions", {}, record, origin=perf_counter(), timeout=5
            )
        return record

    return asyncio.run(go())


def chunk(text: str, finish: str | None = None) -> bytes:
    body = {"choices": [{"index": 0, "text": text, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7,"total_tokens":10}}\n\n'
DONE = b"data: [DONE]\n\n"


def test_complete_stream_with_usage_chunk_takes_tokens_from_usage() -> None:
    record = run_against([chunk("a"), chunk("b"), chunk("c", "length"), USAGE, DONE])
    assert record.failure is None and record.done and record.completed
    assert record.token_chunks == 3
    assert record.usage_tokens == 7
    assert record.tokens == 7
    assert record.finish_reason == "length"
    assert record.ttft is not None and len(record.itl) == 2


def test_without_usage_chunk_tokens_are_counted_chunks() -> None:
    record = run_against([chunk("a"), chunk("b", "stop"), DONE])
    assert record.tokens == 2 and record.usage_tokens is None and record.finish_reason == "stop"


def test_chunks_split_mid_json_with_keepalive_comments_still_parse() -> None:
    raw = b": ping\n\n" + chunk("x") + b"\n: ping\n\n" + chunk("y", "stop") + DONE
    parts = [raw[i : i + 5] for i in range(0, len(raw), 5)]
    record = run_against(parts)
    assert record.completed and record.token_chunks == 2


def test_empty_text_chunks_are_not_tokens_and_do_not_set_ttft() -> None:
    record = run_against([chunk(""), chunk(""), DONE])
    assert record.completed and record.token_chunks == 0 and record.ttft is None


def test_chat_deltas_count_content_not_the_role_preamble() -> None:
    role = b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
    content = b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
    record = run_against([role, content, DONE])
    assert record.token_chunks == 1 and record.finish_reason == "stop" and record.completed


def test_missing_done_is_a_stream_cut() -> None:
    record = run_against([chunk("a"), chunk("b")])
    assert record.failure is Failure.STREAM_CUT and not record.done
    assert "before [DONE] after 2 token chunks" in record.detail


def test_done_without_its_terminating_blank_line_is_a_cut() -> None:
    record = run_against([chunk("a"), b"data: [DONE]\n"])
    assert record.failure is Failure.STREAM_CUT


def test_malformed_json_is_classified_and_excerpted() -> None:
    record = run_against([chunk("a"), b"data: {not json\n\n", DONE])
    assert record.failure is Failure.MALFORMED_CHUNK
    assert "{not json" in record.detail


def test_json_that_is_not_a_chunk_object_is_malformed() -> None:
    for payload in (b"data: [1, 2]\n\n", b'data: {"choices": "nope"}\n\n', b'data: {"choices": [3]}\n\n'):
        assert run_against([payload, DONE]).failure is Failure.MALFORMED_CHUNK, payload


def test_error_event_inside_stream_is_a_stream_error() -> None:
    error = b'data: {"error": {"message": "engine dead", "code": 500}}\n\n'
    record = run_against([chunk("a"), error, DONE])
    assert record.failure is Failure.STREAM_ERROR and "engine dead" in record.detail


def test_non_200_statuses_are_classified_with_a_body_excerpt() -> None:
    record = run_against([b'{"error": "overloaded"}'], status=503)
    assert record.failure is Failure.HTTP_5XX and record.status == 503
    assert record.detail.startswith("HTTP 503: ") and "overloaded" in record.detail
    assert run_against([b"nope"], status=404).failure is Failure.HTTP_4XX


def test_status_classes() -> None:
    assert classify_status(500) is Failure.HTTP_5XX
    assert classify_status(599) is Failure.HTTP_5XX
    assert classify_status(429) is Failure.HTTP_4XX
    assert classify_status(302) is Failure.HTTP_OTHER


def test_events_after_done_are_ignored() -> None:
    record = run_against([chunk("a"), DONE, b"data: {garbage\n\n"])
    assert record.completed and record.token_chunks == 1


def test_json_with_surrounding_whitespace_parses_and_trailing_garbage_is_malformed() -> None:
    spaced = b'data:  {"choices": [{"index": 0, "text": "a", "finish_reason": null}]} \n\n'
    assert run_against([spaced, DONE]).token_chunks == 1
    record = run_against([b'data: {"choices": []} x\n\n', DONE])
    assert record.failure is Failure.MALFORMED_CHUNK
