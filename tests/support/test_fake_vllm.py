"""The vLLM test server's own behaviour (tests/support/fake_vllm.py), against the real process over real sockets."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.vllm_fixtures import REPO_ROOT, FakeVllmProcess, wait_until

Factory = Callable[..., FakeVllmProcess]

TIMEOUT = httpx.Timeout(5.0)
# Timing slack for upper bounds: the box is small and loaded; lower bounds are exact.
SLACK_S = 0.25
# A measured gap can shrink by how late the client saw the previous token; the server-side gap is exact.
GAP_JITTER_S = 0.02


# -- helpers -------------------------------------------------------------------------------------------------


def client(server: FakeVllmProcess, **kwargs: Any) -> httpx.Client:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.Client(base_url=server.base_url, **kwargs)


def stream_lines(server: FakeVllmProcess, path: str, body: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """POST a streaming request and read it to the end: the response and every line of its body."""
    with client(server) as http, http.stream("POST", path, json={**body, "stream": True}) as response:
        lines = list(response.iter_lines())
    return response, lines


def events(lines: list[str]) -> list[str]:
    """The payloads of the ``data:`` events among SSE lines, checking each event ends with a blank line."""
    payloads = []
    for index, line in enumerate(lines):
        if line:
            assert line.startswith("data: "), line
            assert index + 1 < len(lines) and lines[index + 1] == "", f"event not followed by a blank line: {line}"
            payloads.append(line.removeprefix("data: "))
    return payloads


def json_events(payloads: list[str]) -> list[dict[str, Any]]:
    assert payloads[-1] == "[DONE]"
    assert "[DONE]" not in payloads[:-1]
    return [json.loads(payload) for payload in payloads[:-1]]


def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                return bytes(received)
            received += data
    raise AssertionError(f"connection still open after {timeout}s; got {bytes(received[:200])!r}")


def raw_post(path: str, body: dict[str, Any] | bytes) -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


def split_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, f"no end of headers in {raw[:200]!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status, _reason = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status), headers, body


def dechunk(body: bytes) -> list[bytes]:
    """The chunks of a chunked body, checking its framing down to the terminating zero chunk and nothing after."""
    chunks = []
    rest = body
    while True:
        size_line, separator, rest = rest.partition(b"\r\n")
        assert separator, f"chunk size line not terminated: {size_line[:40]!r}"
        size = int(size_line, 16)
        if size == 0:
            assert rest == b"\r\n", f"bytes after the last chunk: {rest[:80]!r}"
            return chunks
        data, trailer, rest = rest[:size], rest[size : size + 2], rest[size + 2 :]
        assert len(data) == size and trailer == b"\r\n", "chunk shorter than its size or not CRLF-terminated"
        chunks.append(data)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


def assert_vllm_error(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert set(payload) == {"error"}
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == kind and error["code"] == status and isinstance(error["message"], str)
    return dict(error)


def stream_outcome(http: httpx.Client, body: dict[str, Any]) -> str:
    """``5xx``, ``cut`` (body ended without [DONE]) or ``ok`` for one streaming completion."""
    try:
        with http.stream("POST", "/v1/completions", json={**body, "stream": True}) as response:
            if response.status_code >= 500:
                response.read()
                return "5xx"
            assert response.status_code == 200
            lines = list(response.iter_lines())
    except httpx.RemoteProtocolError:
        return "cut"
    return "ok" if "data: [DONE]" in lines else "cut"


# -- health, models, headers ---------------------------------------------------------------------------------


def test_health_is_an_empty_200(fake_vllm: Factory) -> None:
    server = fake_vllm()
    response = httpx.get(server.base_url + "/health", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "0"


def test_models_list_in_vllm_shape(fake_vllm: Factory) -> None:
    server = fake_vllm(model="qwen-7b", max_model_len=8192)
    response = httpx.get(server.base_url + "/v1/models", timeout=TIMEOUT)
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "list" and len(payload["data"]) == 1
    card = payload["data"][0]
    assert card["id"] == "qwen-7b" and card["root"] == "qwen-7b" and card["object"] == "model"
    assert card["owned_by"] == "vllm" and card["max_model_len"] == 8192 and card["parent"] is None
    assert isinstance(card["created"], int)
    assert isinstance(card["permission"], list) and len(card["permission"]) == 1
    assert card["permission"][0]["object"] == "model_permission"


def test_every_response_carries_the_revision_header(fake_vllm: Factory) -> None:
    server = fake_vllm(revision="rev-42", output_tokens=2)
    with client(server) as http:
        responses = [
            http.get("/health"),
            http.get("/v1/models"),
            http.post("/v1/completions", json={"prompt": "hi"}),
            http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}),
            http.post("/v1/completions", json={"prompt": "hi", "model": "nope"}),
            http.post("/v1/completions", content=b"{not json"),
            http.get("/nowhere"),
            http.get("/v1/completions"),
        ]
        with http.stream("POST", "/v1/completions", json={"prompt": "hi", "stream": True}) as streamed:
            streamed.read()
        responses.append(streamed)
    statuses = [response.status_code for response in responses]
    assert statuses == [200, 200, 200, 200, 404, 400, 404, 405, 200]
    assert [response.headers.get("x-fake-revision") for response in responses] == ["rev-42"] * len(responses)
    stats = server.stats()
    assert stats["requests"] == len(responses)
    assert stats["by_path"]["/v1/completions"] == 5 and stats["by_path"]["/health"] == 1
    assert stats["completions"] == 3 and stats["streams_completed"] == 1


# -- completions ---------------------------------------------------------------------------------------------


def test_completion_is_capped_by_max_tokens_with_finish_reason_length(fake_vllm: Factory) -> None:
    server = fake_vllm(model="m", output_tokens=16)
    with client(server) as http:
        response = http.post("/v1/completions", json={"model": "m", "prompt": "one two three", "max_tokens": 4})
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "text_completion" and payload["model"] == "m"
    assert payload["id"].startswith("cmpl-")
    [choice] = payload["choices"]
    assert choice["text"] == " alpha beta gamma delta" and choice["finish_reason"] == "length"
    assert payload["usage"]["prompt_tokens"] == 3
    assert payload["usage"]["completion_tokens"] == 4 and payload["usage"]["total_tokens"] == 7


@pytest.mark.parametrize("max_tokens", [None, 100], ids=["no-limit", "limit-above-output"])
def test_completion_ends_with_stop_below_the_limit(fake_vllm: Factory, max_tokens: int | None) -> None:
    server = fake_vllm(output_tokens=10)
    body: dict[str, Any] = {"prompt": "hello"}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    with client(server) as http:
        payload = http.post("/v1/completions", json=body).json()
    [choice] = payload["choices"]
    assert choice["finish_reason"] == "stop"
    assert len(choice["text"].split()) == 10
    assert payload["usage"] == {"prompt_tokens": 1, "total_tokens": 11, "completion_tokens": 10,
                                "prompt_tokens_details": None}  # fmt: skip


def test_chat_completion_shape(fake_vllm: Factory) -> None:
    server = fake_vllm(model="m", output_tokens=3)
    body = {"model": "m", "messages": [{"role": "user", "content": "say three words"}]}
    with client(server) as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "chat.completion" and payload["id"].startswith("chatcmpl-")
    [choice] = payload["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == " alpha beta gamma"
    assert choice["finish_reason"] == "stop"
    assert payload["usage"]["prompt_tokens"] == 3 and payload["usage"]["completion_tokens"] == 3


def test_chat_max_completion_tokens_caps_output(fake_vllm: Factory) -> None:
    server = fake_vllm(output_tokens=8)
    body = {"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 2}
    with client(server) as http:
        payload = http.post("/v1/chat/completions", json=body).json()
    assert payload["choices"][0]["message"]["content"] == " alpha beta"
    assert payload["choices"][0]["finish_reason"] == "length" and payload["usage"]["completion_tokens"] == 2


# -- streaming -----------------------------------------------------------------------------------------------


def test_stream_framing_over_chunked_encoding(fake_vllm: Factory) -> None:
    server = fake_vllm(output_tokens=5)
    body = {"prompt": "a b", "stream": True, "stream_options": {"include_usage": True}}
    status, headers, raw_body = split_response(raw_exchange(server.port, raw_post("/v1/completions", body)))
    assert status == 200
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert headers["content-type"].startswith("text/event-stream")
    chunks = dechunk(raw_body)
    # Each chunk holds whole events, and every event is "data: ...\n\n".
    assert all(chunk.endswith(b"\n\n") for chunk in chunks)
    stream = b"".join(chunks).decode()
    assert stream.endswith("\n\n")
    raw_events = stream[: -len("\n\n")].split("\n\n")
    assert all(event.startswith("data: ") and "\n" not in event for event in raw_events)
    payloads = [event.removeprefix("data: ") for event in raw_events]
    assert payloads[-1] == "[DONE]" and len(payloads) == 5 + 1 + 1


@pytest.mark.parametrize(
    ("knobs", "body", "tokens", "finish_reason"),
    [
        ({"output_tokens": 6}, {}, 6, "stop"),
        ({"output_tokens": 6}, {"max_tokens": 3}, 3, "length"),
        ({"output_tokens": 1}, {}, 1, "stop"),
    ],
    ids=["output-tokens", "max-tokens", "one-token"],
)
@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "usage"])
def test_completion_stream_chunks(
    fake_vllm: Factory,
    knobs: dict[str, Any],
    body: dict[str, Any],
    tokens: int,
    finish_reason: str,
    include_usage: bool,
) -> None:
    server = fake_vllm(model="m", **knobs)
    request = {"model": "m", "prompt": "p q", **body}
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    response, lines = stream_lines(server, "/v1/completions", request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = json_events(events(lines))
    token_chunks = chunks[:-1] if include_usage else chunks
    assert len(token_chunks) == tokens
    assert len({chunk["id"] for chunk in chunks}) == 1 and chunks[0]["id"].startswith("cmpl-")
    for index, chunk in enumerate(token_chunks):
        assert chunk["object"] == "text_completion" and chunk["model"] == "m" and chunk["usage"] is None
        [choice] = chunk["choices"]
        assert choice["text"].strip() and choice["index"] == 0
        assert choice["finish_reason"] == (finish_reason if index == tokens - 1 else None)
    if include_usage:
        usage_chunk = chunks[-1]
        assert usage_chunk["choices"] == []
        assert usage_chunk["usage"]["completion_tokens"] == tokens and usage_chunk["usage"]["prompt_tokens"] == 2
        assert usage_chunk["usage"]["total_tokens"] == tokens + 2
    stats = server.stats()
    assert stats["streams_started"] == stats["streams_completed"] == 1 and stats["in_flight"] == 0


def test_chat_stream_starts_with_the_role_chunk(fake_vllm: Factory) -> None:
    server = fake_vllm(output_tokens=4)
    request = {"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": True}}
    response, lines = stream_lines(server, "/v1/chat/completions", request)
    assert response.status_code == 200
    chunks = json_events(events(lines))
    assert len(chunks) == 1 + 4 + 1
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    role, *tokens, usage = chunks
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert role["choices"][0]["finish_reason"] is None
    assert "".join(chunk["choices"][0]["delta"]["content"] for chunk in tokens) == " alpha beta gamma delta"
    assert all("role" not in chunk["choices"][0]["delta"] for chunk in tokens)
    assert [chunk["choices"][0]["finish_reason"] for chunk in tokens] == [None, None, None, "stop"]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 4


def test_stream_keeps_the_connection_alive(fake_vllm: Factory) -> None:
    server = fake_vllm(output_tokens=2)
    with client(server) as http:
        for _ in range(3):
            with http.stream("POST", "/v1/completions", json={"prompt": "x", "stream": True}) as response:
                assert list(response.iter_lines())[-2:] == ["data: [DONE]", ""]
    stats = server.stats()
    assert stats["connections"] == 1 and stats["streams_completed"] == 3


def test_stream_timing(fake_vllm: Factory) -> None:
    ttft_s, itl_s, tokens = 0.1, 0.05, 5
    server = fake_vllm(ttft_ms=ttft_s * 1000, itl_ms=itl_s * 1000, output_tokens=tokens)
    arrivals: list[float] = []
    with client(server) as http:
        http.get("/health")  # connect first, so the timings below are the server's
        start = time.monotonic()
        with http.stream("POST", "/v1/completions", json={"prompt": "x", "stream": True}) as response:
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    arrivals.append(time.monotonic() - start)
    assert len(arrivals) == tokens
    assert ttft_s <= arrivals[0] <= ttft_s + SLACK_S, arrivals
    for index, arrival in enumerate(arrivals):
        assert arrival >= ttft_s + index * itl_s, arrivals
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(itl_s - GAP_JITTER_S <= gap <= itl_s + SLACK_S for gap in gaps), gaps

    # Not streaming: the whole answer comes after ttft + (tokens - 1) * itl.
    with client(server) as http:
        http.get("/health")
        start = time.monotonic()
        assert http.post("/v1/completions", json={"prompt": "x"}).status_code == 200
        elapsed = time.monotonic() - start
    assert ttft_s + (tokens - 1) * itl_s <= elapsed <= ttft_s + (tokens - 1) * itl_s + SLACK_S


# -- errors --------------------------------------------------------------------------------------------------


def test_unknown_model_is_a_404_not_found_error(fake_vllm: Factory) -> None:
    server = fake_vllm(model="m")
    with client(server) as http:
        for path, body in [("/v1/completions", {"prompt": "x"}), ("/v1/chat/completions", {"messages": []})]:
            error = assert_vllm_error(http.post(path, json={**body, "model": "llama-9000"}), 404, "NotFoundError")
            assert "llama-9000" in error["message"] and error["param"] == "model"
    assert server.stats()["completions"] == 0


@pytest.mark.parametrize(
    ("path", "content", "param"),
    [
        ("/v1/completions", b"{not json", None),
        ("/v1/completions", b"[1, 2]", None),
        ("/v1/completions", b'{"model": "test-model"}', "prompt"),
        ("/v1/chat/completions", b'{"model": "test-model"}', "messages"),
        ("/v1/completions", b'{"prompt": "x", "max_tokens": 0}', "max_tokens"),
    ],
    ids=["malformed-json", "not-an-object", "missing-prompt", "missing-messages", "zero-max-tokens"],
)
def test_bad_bodies_are_400_bad_request_errors(
    fake_vllm: Factory, path: str, content: bytes, param: str | None
) -> None:
    server = fake_vllm()
    with client(server) as http:
        error = assert_vllm_error(http.post(path, content=content), 400, "BadRequestError")
        assert error["param"] == param
        assert http.get("/health").status_code == 200  # the connection and server survive


def test_unknown_path_404_and_wrong_method_405(fake_vllm: Factory) -> None:
    server = fake_vllm()
    with client(server) as http:
        missing = http.get("/v1/nothing")
        wrong_method = http.get("/v1/chat/completions")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert wrong_method.status_code == 405 and wrong_method.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NONSENSE\r\n\r\n",
        b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["request-line", "content-length", "negative-content-length"],
)
def test_malformed_http_gets_a_400_and_close(fake_vllm: Factory, request_bytes: bytes) -> None:
    server = fake_vllm()
    status, headers, body = split_response(raw_exchange(server.port, request_bytes))
    assert status == 400 and headers["connection"] == "close"
    assert json.loads(body)["error"]["type"] == "BadRequestError"
    assert httpx.get(server.base_url + "/health", timeout=TIMEOUT).status_code == 200


# -- phases --------------------------------------------------------------------------------------------------


def test_phase_closed_refuses_connections(fake_vllm: Factory) -> None:
    server = fake_vllm(phase="closed")
    assert refused(server.port)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/health", timeout=TIMEOUT)


def test_phase_bound_accepts_tcp_but_never_answers(fake_vllm: Factory) -> None:
    server = fake_vllm(phase="bound")
    with socket.create_connection(("127.0.0.1", server.port), timeout=1.0) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1024)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.base_url + "/health", timeout=httpx.Timeout(1.0, read=0.3))


def test_phase_loading_is_healthy_with_no_models(fake_vllm: Factory) -> None:
    server = fake_vllm(phase="loading", model="m")
    with client(server) as http:
        assert http.get("/health").status_code == 200
        models = http.get("/v1/models").json()
        assert models["object"] == "list" and models["data"] == []
        assert_vllm_error(http.post("/v1/completions", json={"model": "m", "prompt": "x"}), 404, "NotFoundError")
        assert_vllm_error(http.post("/v1/completions", json={"prompt": "x"}), 404, "NotFoundError")


def test_phases_switch_live_and_a_request_sent_while_bound_is_answered_once_loading(fake_vllm: Factory) -> None:
    server = fake_vllm(phase="closed", model="m")
    assert refused(server.port)

    assert server.control(phase="bound")["phase"] == "bound"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=1.0)
    with sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1024)

        assert server.control(phase="loading")["phase"] == "loading"
        sock.settimeout(5.0)
        answer = b""
        while data := sock.recv(4096):
            answer += data
    status, headers, body = split_response(answer)
    assert status == 200 and body == b"" and headers["x-fake-revision"] == "test"

    with client(server) as http:
        assert http.get("/v1/models").json()["data"] == []
        assert http.post("/v1/completions", json={"model": "m", "prompt": "x"}).status_code == 404
        server.control(phase="ready")
        assert [card["id"] for card in http.get("/v1/models").json()["data"]] == ["m"]
        assert http.post("/v1/completions", json={"model": "m", "prompt": "x"}).status_code == 200


# -- injected failures ---------------------------------------------------------------------------------------


def test_injected_5xx_on_every_completion(fake_vllm: Factory) -> None:
    server = fake_vllm(error_5xx_rate=1.0)
    with client(server) as http:
        for _ in range(3):
            error = assert_vllm_error(http.post("/v1/completions", json={"prompt": "x"}), 500, "InternalServerError")
            assert error["message"]
        streamed = http.post("/v1/completions", json={"prompt": "x", "stream": True})
        assert_vllm_error(streamed, 500, "InternalServerError")
        assert http.get("/health").status_code == 200  # only completions fail
        server.control(error_5xx_status=503)
        assert_vllm_error(http.post("/v1/chat/completions", json={"messages": []}), 503, "InternalServerError")
    stats = server.stats()
    assert stats["injected_5xx"] == 5 and stats["completions"] == 5 and stats["streams_started"] == 0


def test_injected_cuts_end_streams_without_done(fake_vllm: Factory) -> None:
    server = fake_vllm(cut_rate=1.0, output_tokens=8)
    with client(server) as http:
        outcomes = [stream_outcome(http, {"prompt": "x"}) for _ in range(4)]
        # Non-streaming completions are never cut.
        assert http.post("/v1/completions", json={"prompt": "x"}).status_code == 200
    assert outcomes == ["cut"] * 4
    stats = server.stats()
    assert stats["injected_cuts"] == 4 and stats["streams_started"] == 4 and stats["streams_completed"] == 0


def test_a_cut_stream_raises_remote_protocol_error(fake_vllm: Factory) -> None:
    server = fake_vllm(cut_rate=1.0, output_tokens=4)
    with client(server) as http, pytest.raises(httpx.RemoteProtocolError):  # noqa: SIM117
        with http.stream("POST", "/v1/completions", json={"prompt": "x", "stream": True}) as response:
            for _ in response.iter_lines():
                pass


def test_seeded_injection_is_reproducible(fake_vllm: Factory) -> None:
    knobs = {"seed": 1234, "error_5xx_rate": 0.4, "cut_rate": 0.4, "output_tokens": 3}
    patterns = []
    for server in (fake_vllm(**knobs), fake_vllm(**knobs)):
        with client(server) as http:
            pattern = [stream_outcome(http, {"prompt": "x"}) for _ in range(16)]
        stats = server.stats()
        assert stats["injected_5xx"] == pattern.count("5xx") and stats["injected_cuts"] == pattern.count("cut")
        assert stats["streams_completed"] == pattern.count("ok")
        patterns.append(pattern)
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {"5xx", "cut", "ok"}, patterns[0]

    # Re-seeding live restarts the same sequence.
    server = fake_vllm(**{**knobs, "seed": 99})
    server.control(seed=1234)
    with client(server) as http:
        assert [stream_outcome(http, {"prompt": "x"}) for _ in range(16)] == patterns[0]


# -- misbehaviour --------------------------------------------------------------------------------------------


def test_models_response_garbage_is_not_json(fake_vllm: Factory) -> None:
    server = fake_vllm(models_response="garbage")
    response = httpx.get(server.base_url + "/v1/models", timeout=TIMEOUT)
    assert response.status_code == 200 and response.content.startswith(b"<html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_models_response_not_a_list(fake_vllm: Factory) -> None:
    server = fake_vllm(models_response="not_a_list", model="m")
    payload = httpx.get(server.base_url + "/v1/models", timeout=TIMEOUT).json()
    assert payload["object"] == "list" and payload["data"] == {"id": "m"}


def test_health_status_503(fake_vllm: Factory) -> None:
    server = fake_vllm(health_status=503)
    response = httpx.get(server.base_url + "/health", timeout=TIMEOUT)
    assert response.status_code == 503 and response.content == b""
    server.control(health_status=200)
    assert httpx.get(server.base_url + "/health", timeout=TIMEOUT).status_code == 200


def test_misbehave_silent_never_answers(fake_vllm: Factory) -> None:
    server = fake_vllm(misbehave="silent")
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(server.base_url + "/health", timeout=httpx.Timeout(1.0, read=0.3))
    assert time.monotonic() - start < 0.3 + SLACK_S * 4
    assert server.stats()["in_flight"] == 1


def test_misbehave_trickle_sends_a_byte_at_a_time(fake_vllm: Factory) -> None:
    server = fake_vllm(misbehave="trickle")
    with socket.create_connection(("127.0.0.1", server.port), timeout=1.0) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        deadline = time.monotonic() + 0.7
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data = sock.recv(4096)
            except TimeoutError:
                break
            assert data, "trickle closed the connection"
            received += data
    _status, headers, body = split_response(received)
    assert headers["content-length"] == "1000000"
    # One space every 0.2 s: a few bytes in 0.7 s, nowhere near the announced length.
    assert 1 <= len(body) <= 8 and body.strip() == b""


def test_misbehave_huge_body_without_length_keeps_coming(fake_vllm: Factory) -> None:
    server = fake_vllm(misbehave="huge")
    cap = 2 * 1024 * 1024
    read = 0
    with client(server) as http, http.stream("GET", "/v1/models") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers and "transfer-encoding" not in response.headers
        first = b""
        for data in response.iter_raw(65536):
            first = first or data
            read += len(data)
            if read >= cap:
                break
    assert read >= cap
    assert first.startswith(b'{"object": "list", "data": [')


def test_misbehave_reset_resets_the_connection(fake_vllm: Factory) -> None:
    server = fake_vllm(misbehave="reset")
    with socket.create_connection(("127.0.0.1", server.port), timeout=2.0) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(server.base_url + "/health", timeout=TIMEOUT)
    server.control(misbehave="")
    assert httpx.get(server.base_url + "/health", timeout=TIMEOUT).status_code == 200


# -- SIGTERM drain -------------------------------------------------------------------------------------------


def test_sigterm_drains_the_in_flight_stream_and_refuses_new_connections(fake_vllm: Factory) -> None:
    server = fake_vllm(itl_ms=100, output_tokens=10)
    lines: list[str] = []
    with client(server) as http, http.stream("POST", "/v1/completions", json={"prompt": "x", "stream": True}) as r:
        lines_iter = r.iter_lines()
        for line in lines_iter:
            lines.append(line)
            if line.startswith("data: {"):
                break
        server.terminate()
        wait_until(lambda: refused(server.port), "the listening socket to close", within_s=5.0)
        assert server.process.poll() is None, "exited with a stream still in flight"
        assert server.stats()["in_flight"] == 1  # the control port still answers while draining
        lines.extend(lines_iter)
    chunks = json_events(events(lines))
    assert len(chunks) == 10 and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert server.wait(timeout=10) == 0


def test_sigterm_closes_idle_keep_alive_connections_and_exits_at_once(fake_vllm: Factory) -> None:
    server = fake_vllm(drain_limit_s=30)
    with client(server) as http:
        assert http.get("/health").status_code == 200  # leaves an idle keep-alive connection
        start = time.monotonic()
        server.terminate()
        assert server.wait(timeout=10) == 0
    assert time.monotonic() - start < 3.0


def test_drain_limit_cuts_a_longer_stream(fake_vllm: Factory) -> None:
    limit_s = 0.5
    server = fake_vllm(itl_ms=100, output_tokens=100, drain_limit_s=limit_s)
    with client(server) as http, http.stream("POST", "/v1/completions", json={"prompt": "x", "stream": True}) as r:
        lines_iter = r.iter_lines()
        for line in lines_iter:
            if line.startswith("data: {"):
                break
        start = time.monotonic()
        server.terminate()
        assert server.wait(timeout=10) == 0
        elapsed = time.monotonic() - start
        rest: list[str] = []
        with pytest.raises(httpx.RemoteProtocolError):
            rest.extend(lines_iter)
    assert "data: [DONE]" not in rest
    assert limit_s <= elapsed <= limit_s + 2.0


# -- control port and CLI ------------------------------------------------------------------------------------


def test_control_rejects_bad_values_and_unknown_knobs(fake_vllm: Factory) -> None:
    server = fake_vllm()
    for knobs in ({"phase": "nonsense"}, {"bogus": 1}, {"cut_rate": 2.0}, {"misbehave": "dance"}):
        with pytest.raises(urllib.error.HTTPError) as raised:
            server.control(**knobs)
        assert raised.value.code == 400
        assert json.load(raised.value)["error"]
    # Nothing changed.
    knobs = server.control()
    assert knobs["phase"] == "ready" and knobs["cut_rate"] == 0.0 and knobs["misbehave"] == ""
    assert httpx.get(server.base_url + "/health", timeout=TIMEOUT).status_code == 200


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.fake_vllm", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_cli_help() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "--ttft-ms" in result.stdout and "--phase" in result.stdout and "--drain-limit-s" in result.stdout


def test_cli_rejects_an_invalid_phase() -> None:
    result = run_cli("--phase", "sideways")
    assert result.returncode == 2
    assert "phase must be one of" in result.stderr and "sideways" in result.stderr
    assert result.stdout == ""
