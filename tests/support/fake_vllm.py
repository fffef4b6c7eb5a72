"""A vLLM-compatible test server: a real process on 127.0.0.1 that behaves like vLLM v0.11's OpenAI server.

``--host`` binds another address instead: the end-to-end tests' test kubelet runs one per pod on the pod's IP.

It serves GET /health, GET /v1/models, POST /v1/completions and /v1/chat/completions, streaming (SSE over
chunked HTTP/1.1, ``data: {...}`` chunks, ``finish_reason`` on the last token chunk, an optional usage chunk
for ``stream_options.include_usage``, then ``data: [DONE]``) and not, with vLLM's error JSON for an unknown
model (404) and a malformed body (400). Shapes: ``tests/support/vllm_shapes.py``.

Knobs (``Knobs`` below; settable at start as ``--flags`` and live through the control port):
- ``phase``: ``closed`` (port reserved, connections refused) → ``bound`` (listening, never answering: vLLM binds
  its port before it loads the model) → ``loading`` (HTTP up, /v1/models lists nothing) → ``ready``;
- ``ttft_ms`` / ``itl_ms`` / ``output_tokens``: time to first token, inter-token latency, tokens per completion;
- ``error_5xx_rate`` / ``cut_rate`` with ``seed``: injected HTTP 5xx answers and mid-stream disconnects on
  completions, counted in ``stats`` so tests can compare exact numbers;
- ``models_response`` (``garbage``, ``not_a_list``), ``health_status`` and ``misbehave`` (``silent``,
  ``trickle``, ``huge``, ``reset``) for the probe's failure cases;
- SIGTERM drains: the listening socket closes (new connections are refused), idle keep-alive connections close,
  in-flight responses finish for up to ``drain_limit_s``, then the process exits.

Every response carries ``x-fake-revision`` so a test can tell which "pods" answered.

Run: ``python -m tests.support.fake_vllm [--port 0] [--ttft-ms 50] ...``; it prints one JSON line
``{"port": P, "control_port": C, "pid": N}`` on stdout once the port is reserved. The control port
answers ``GET /stats`` and ``POST /knobs`` (a JSON object of knobs to change).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import signal
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from tests.support import vllm_shapes

HOST = "127.0.0.1"
PHASES = ("closed", "bound", "loading", "ready")
MISBEHAVIOURS = ("", "silent", "trickle", "huge", "reset")
MODELS_RESPONSES = ("normal", "garbage", "not_a_list")
MAX_BODY_BYTES = 8 * 1024 * 1024
# A misbehaving answer still ends on its own, so a test that forgets the server cannot hang forever.
MISBEHAVE_LIMIT_S = 120.0
HUGE_BODY_BYTES = 64 * 1024 * 1024
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")


@dataclass
class Knobs:
    model: str = "test-model"
    revision: str = "test"
    phase: str = "ready"
    ttft_ms: float = 0.0
    itl_ms: float = 0.0
    output_tokens: int = 16
    max_model_len: int = 4096
    error_5xx_rate: float = 0.0
    error_5xx_status: int = 500
    cut_rate: float = 0.0
    seed: int | None = None
    models_response: str = "normal"
    health_status: int = 200
    misbehave: str = ""
    misbehave_path: str = ""  # empty: every path misbehaves
    drain_limit_s: float = 30.0

    def check(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        if self.misbehave not in MISBEHAVIOURS:
            raise ValueError(f"misbehave must be one of {MISBEHAVIOURS}, got {self.misbehave!r}")
        if self.models_response not in MODELS_RESPONSES:
            raise ValueError(f"models_response must be one of {MODELS_RESPONSES}, got {self.models_response!r}")
        for rate in (self.error_5xx_rate, self.cut_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rates must be within [0, 1], got {rate}")


@dataclass
class Stats:
    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    completions: int = 0
    injected_5xx: int = 0
    injected_cuts: int = 0
    in_flight: int = 0
    connections: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class BadRequest(Exception):
    pass


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One HTTP/1.1 request, or None when the client closed the connection between requests."""
    line = await reader.readline()
    if not line:
        return None
    try:
        method, target, _version = line.decode("latin-1").split()
    except ValueError as exc:
        raise BadRequest(f"bad request line {line[:80]!r}") from exc
    headers: dict[str, str] = {}
    while True:
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError as exc:
        raise BadRequest(f"bad content-length {headers['content-length'][:80]!r}") from exc
    if length < 0:
        raise BadRequest(f"negative content-length {length}")
    if length > MAX_BODY_BYTES:
        raise BadRequest(f"body of {length} bytes is over {MAX_BODY_BYTES}")
    body = await reader.readexactly(length) if length else b""
    return Request(method.upper(), target.split("?", 1)[0], headers, body)


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}  # fmt: skip


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class FakeVllm:
    def __init__(self, knobs: Knobs, host: str = HOST) -> None:
        self.knobs = knobs
        self.host = host
        self.stats = Stats()
        self.rng = random.Random(knobs.seed)
        self.created = int(time.time())
        self.request_ids = 0
        self.draining = False
        self.idle: set[asyncio.StreamWriter] = set()
        self.open: set[asyncio.StreamWriter] = set()
        self.sock: socket.socket | None = None
        self.server: asyncio.Server | None = None
        self.done = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def reserve(self, port: int) -> int:
        # A bound socket that does not listen refuses connections, like a port nothing has opened yet.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if port:
            # Only for a fixed port (restarts across TIME_WAIT): with port 0 it would let the kernel hand out
            # a port another reserved-but-not-listening server already holds.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.setblocking(False)
        self.sock = sock
        return int(sock.getsockname()[1])

    async def apply_phase(self) -> None:
        phase = self.knobs.phase
        if phase == "closed" or self.draining or self.sock is None:
            return
        if self.server is None:
            self.sock.listen(1024)
        if phase in ("loading", "ready") and self.server is None:
            self.server = await asyncio.start_server(self.serve_connection, sock=self.sock, limit=MAX_BODY_BYTES)

    async def set_knobs(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(Knobs)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown knobs {unknown}; known: {sorted(names)}")
        updated = dataclasses.replace(self.knobs, **changes)
        updated.check()
        if "seed" in changes:
            self.rng = random.Random(updated.seed)
        self.knobs = updated
        await self.apply_phase()

    def drain(self) -> None:
        if self.draining:
            return
        self.draining = True
        if self.server is not None:
            self.server.close()
        elif self.sock is not None:
            self.sock.close()
        for writer in list(self.idle):
            writer.close()
        asyncio.get_running_loop().create_task(self._finish_drain())

    async def _finish_drain(self) -> None:
        deadline = time.monotonic() + self.knobs.drain_limit_s
        # Wait for the answers and then for their connections to close, so the last bytes of a finished answer
        # leave the process (not stay in a transport buffer) before it exits.
        while (self.stats.in_flight or self.open) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.done.set()

    # -- HTTP ------------------------------------------------------------------------------------------------

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self.open.add(writer)
        try:
            while not self.draining:
                self.idle.add(writer)
                try:
                    request = await read_request(reader)
                finally:
                    self.idle.discard(writer)
                if request is None:
                    break
                keep_alive = await self.answer(request, writer)
                if not keep_alive or request.headers.get("connection", "").lower() == "close":
                    break
        except BadRequest as exc:
            with suppress(ConnectionError, OSError):
                error = vllm_shapes.error(str(exc), "BadRequestError", 400)
                await self.send_json(writer, 400, error, keep_alive=False)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        except asyncio.CancelledError:
            # Only at exit, when the drain limit cut this response: end quietly, as the connection ends anyway
            # (asyncio's stream callback would otherwise print the cancellation as a traceback).
            writer.transport.abort()
        finally:
            if not writer.is_closing():
                writer.close()
            with suppress(Exception):
                await writer.wait_closed()
            self.open.discard(writer)

    def base_headers(self, content_type: str) -> dict[str, str]:
        return {"content-type": content_type, "x-fake-revision": self.knobs.revision, "server": "fake-vllm"}

    async def send_json(
        self, writer: asyncio.StreamWriter, status: int, payload: Any, *, keep_alive: bool = True
    ) -> bool:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = self.base_headers("application/json")
        headers["content-length"] = str(len(body))
        if not keep_alive or self.draining:
            headers["connection"] = "close"
        writer.write(head(status, headers) + body)
        await writer.drain()
        return keep_alive and not self.draining

    async def answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        self.stats.requests += 1
        self.stats.by_path[request.path] = self.stats.by_path.get(request.path, 0) + 1
        self.stats.in_flight += 1
        try:
            if self.knobs.misbehave and self.knobs.misbehave_path in ("", request.path):
                await self.misbehave(writer)
                return False
            route = self.routes().get((request.method, request.path))
            if route is None:
                known = any(path == request.path for _, path in self.routes())
                status = 405 if known else 404
                message = "Method Not Allowed" if known else "Not Found"
                return await self.send_json(writer, status, {"detail": message})
            return await route(request, writer)
        finally:
            self.stats.in_flight -= 1

    def routes(self) -> dict[tuple[str, str], Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]]:
        return {
            ("GET", "/health"): self.health,
            ("GET", "/v1/models"): self.models,
            ("POST", "/v1/completions"): self.completions,
            ("POST", "/v1/chat/completions"): self.chat_completions,
        }

    async def health(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        # vLLM answers /health with an empty 200 body.
        writer.write(head(self.knobs.health_status, {**self.base_headers("application/json"), "content-length": "0"}))
        await writer.drain()
        return not self.draining

    async def models(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        if self.knobs.models_response == "garbage":
            return await self.send_json(writer, 200, b"<html>upstream connect error</html>")
        if self.knobs.models_response == "not_a_list":
            return await self.send_json(writer, 200, {"object": "list", "data": {"id": self.knobs.model}})
        payload = vllm_shapes.model_list(self.knobs.model, self.knobs.max_model_len, self.created)
        if self.knobs.phase == "loading":
            payload["data"] = []
        return await self.send_json(writer, 200, payload)

    async def misbehave(self, writer: asyncio.StreamWriter) -> None:
        kind = self.knobs.misbehave
        if kind == "silent":
            await asyncio.sleep(MISBEHAVE_LIMIT_S)
        elif kind == "trickle":
            writer.write(head(200, {**self.base_headers("application/json"), "content-length": "1000000"}))
            deadline = time.monotonic() + MISBEHAVE_LIMIT_S
            while time.monotonic() < deadline:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.2)
        elif kind == "huge":
            # No content-length: the body ends only when the connection does, so a client must cap its reads.
            headers = {**self.base_headers("application/json"), "connection": "close"}
            writer.write(head(200, headers) + b'{"object": "list", "data": [')
            block = b'{"id": "x"},' * 8192
            sent = 0
            while sent < HUGE_BODY_BYTES:
                writer.write(block)
                sent += len(block)
                await writer.drain()
        elif kind == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    # -- completions -----------------------------------------------------------------------------------------

    async def completions(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        return await self.complete(request, writer, chat=False)

    async def chat_completions(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        return await self.complete(request, writer, chat=True)

    def parse_body(self, request: Request, chat: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The request body, or the (status, error) vLLM would answer instead."""
        try:
            body = json.loads(request.body or b"")
        except ValueError as exc:
            return None, vllm_shapes.error(f"JSON decode error: {exc}", "BadRequestError", 400)
        if not isinstance(body, dict):
            return None, vllm_shapes.error("request body must be a JSON object", "BadRequestError", 400)
        prompt_key = "messages" if chat else "prompt"
        if prompt_key not in body:
            return None, vllm_shapes.error(f"Field required: {prompt_key}", "BadRequestError", 400, prompt_key)
        model = body.get("model")
        if self.knobs.phase != "ready" or model not in (None, self.knobs.model):
            message = f"The model `{model}` does not exist."
            return None, vllm_shapes.error(message, "NotFoundError", 404, "model")
        max_tokens = body.get("max_completion_tokens" if chat else "max_tokens", body.get("max_tokens"))
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            return None, vllm_shapes.error("max_tokens must be at least 1", "BadRequestError", 400, "max_tokens")
        return body, None

    @staticmethod
    def prompt_tokens(body: dict[str, Any], chat: bool) -> int:
        if chat:
            text = " ".join(str(m.get("content", "")) for m in body["messages"] if isinstance(m, dict))
        else:
            text = str(body["prompt"])
        return max(len(text.split()), 1)

    async def complete(self, request: Request, writer: asyncio.StreamWriter, *, chat: bool) -> bool:
        body, failure = self.parse_body(request, chat)
        if failure is not None:
            return await self.send_json(writer, failure["error"]["code"], failure)
        assert body is not None
        self.stats.completions += 1
        if self.rng.random() < self.knobs.error_5xx_rate:
            self.stats.injected_5xx += 1
            status = self.knobs.error_5xx_status
            failure = vllm_shapes.error("injected failure", "InternalServerError", status)
            return await self.send_json(writer, status, failure)
        self.request_ids += 1
        completion = vllm_shapes.Completion(
            chat=chat, model=self.knobs.model, request_id=self.request_ids, prompt_tokens=self.prompt_tokens(body, chat)
        )
        limit = body.get("max_completion_tokens" if chat else "max_tokens", body.get("max_tokens"))
        tokens = self.knobs.output_tokens if limit is None else min(limit, self.knobs.output_tokens)
        finish_reason = "length" if limit is not None and tokens == limit else "stop"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self.stream(writer, completion, tokens, finish_reason, include_usage)
        await self.sleep_ms(self.knobs.ttft_ms + max(tokens - 1, 0) * self.knobs.itl_ms)
        text = "".join(self.token_text(i) for i in range(tokens))
        return await self.send_json(writer, 200, completion.response(text, tokens, finish_reason))

    @staticmethod
    def token_text(index: int) -> str:
        return f" {WORDS[index % len(WORDS)]}"

    @staticmethod
    async def sleep_ms(ms: float) -> None:
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    async def stream(
        self, writer: asyncio.StreamWriter, completion: vllm_shapes.Completion, tokens: int, finish_reason: str,
        include_usage: bool,
    ) -> bool:
        self.stats.streams_started += 1
        cut_after = self.rng.randrange(tokens) if tokens and self.rng.random() < self.knobs.cut_rate else None
        headers = {**self.base_headers("text/event-stream; charset=utf-8"), "transfer-encoding": "chunked"}
        if self.draining:
            headers["connection"] = "close"
        writer.write(head(200, headers))
        if completion.chat:
            writer.write(chunk(b"data: %s\n\n" % completion.role_chunk().encode()))
        await writer.drain()
        await self.sleep_ms(self.knobs.ttft_ms)
        for index in range(tokens):
            if index == cut_after:
                self.stats.injected_cuts += 1
                # Close without the terminating chunk: the client sees the body end mid-stream.
                writer.transport.abort()
                return False
            if index:
                await self.sleep_ms(self.knobs.itl_ms)
            reason = finish_reason if index == tokens - 1 else None
            event = b"data: %s\n\n" % completion.token_chunk(self.token_text(index), reason).encode()
            writer.write(chunk(event))
            await writer.drain()
        tail = b""
        if include_usage:
            tail += b"data: %s\n\n" % completion.usage_chunk(tokens).encode()
        writer.write(chunk(tail + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        self.stats.streams_completed += 1
        return not self.draining


async def serve_control(app: FakeVllm, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The control port: GET /stats and POST /knobs, one request per connection."""
    try:
        request = await read_request(reader)
        if request is None:
            return
        status, payload = 200, {}
        if request.path == "/stats":
            payload = dataclasses.asdict(app.stats)
        elif request.path == "/knobs" and request.method == "POST":
            try:
                await app.set_knobs(json.loads(request.body))
                payload = dataclasses.asdict(app.knobs)
            except (ValueError, TypeError) as exc:
                status, payload = 400, {"error": str(exc)}
        else:
            status, payload = 404, {"error": f"no control endpoint {request.method} {request.path}"}
        body = json.dumps(payload).encode()
        writer.write(head(status, {"content-type": "application/json", "content-length": str(len(body))}) + body)
        await writer.drain()
    except (BadRequest, ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main_async(port: int, knobs: Knobs, host: str = HOST) -> None:
    app = FakeVllm(knobs, host)
    bound_port = app.reserve(port)
    control = await asyncio.start_server(lambda r, w: serve_control(app, r, w), host, 0)
    control_port = control.sockets[0].getsockname()[1]
    await app.apply_phase()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.drain)
    print(json.dumps({"port": bound_port, "control_port": control_port, "pid": os.getpid()}), flush=True)
    await app.done.wait()
    control.close()


def parse_args(argv: list[str] | None = None) -> tuple[str, int, Knobs]:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_vllm", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=HOST, help=f"address to bind the server and control ports (default {HOST})")
    parser.add_argument("--port", type=int, default=0, help="port on --host (0: an ephemeral one)")
    defaults = Knobs()
    for knob in dataclasses.fields(Knobs):
        default = getattr(defaults, knob.name)
        kind = int if knob.name == "seed" else type(default)
        parser.add_argument(f"--{knob.name.replace('_', '-')}", type=kind, default=default)
    args = vars(parser.parse_args(argv))
    host, port = args.pop("host"), args.pop("port")
    knobs = Knobs(**args)
    try:
        knobs.check()
    except ValueError as exc:
        parser.error(str(exc))
    return host, port, knobs


def main(argv: list[str] | None = None) -> None:
    host, port, knobs = parse_args(argv)
    try:
        import uvloop

        runner: Callable[..., Any] = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(main_async(port, knobs, host))
    sys.exit(0)


if __name__ == "__main__":
    main()
