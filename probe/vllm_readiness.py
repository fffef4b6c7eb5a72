"""The readiness check for vLLM containers: /health must answer 200, then /v1/models must list the model.

The rules (``judge_health``, ``judge_models``), one HTTP/1.1 GET with a hard deadline, and the command line
that ``readiness_probe.py`` (the entry point kubelet execs) runs. The async API in ``probe/client.py`` uses the
same rules, so the pod's probe and the gates agree on what "ready" means.

Runs on the Python standard library alone (the vllm/vllm-openai image has python3 but none of our packages)
and imports as little as it can, since kubelet starts it every few seconds in every pod: the C modules behind
``socket`` and ``json`` are used directly, because the Python wrappers pull in ``re`` and ``enum``, which would
double the cost of a run (``benchmarks/probe_bench.py`` measures it).
"""

from __future__ import annotations

import _socket
import sys
import time

try:
    from _json import make_scanner as _make_json_scanner
except ImportError:  # not CPython: the json package is slower to import but equivalent
    _make_json_scanner = None

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: it costs start-up in every probe run
    from collections.abc import Mapping

HEALTH_PATH = "/health"
MODELS_PATH = "/v1/models"
DEFAULT_PORT = 8000
DEFAULT_HOST = "localhost"
DEFAULT_TIMEOUT_S = 5.0
# vLLM's model list is a few hundred bytes per model; anything this large is not a model list.
MAX_BODY_BYTES = 1 << 20
PREFIX = "readiness_probe:"
USAGE = "usage: readiness_probe.py [PORT] [HOST] [--expect-model NAME]"
STAGE_HEALTH = "health"
STAGE_MODELS = "models"
STAGE_READY = "ready"


class NotReady(Exception):
    """A request could not be completed: the reason, with the HTTP status when one was received."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# -- the rules, shared with probe/client.py ---------------------------------------------------------------


class _JSONSettings:
    """What json.JSONDecoder hands the C scanner: plain JSON, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo: dict[str, str] = {}


def parse_json(text: str) -> object:
    """json.loads for one document; raises ValueError for anything that is not exactly one JSON value."""
    if _make_json_scanner is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip())
    try:
        value, end = _make_json_scanner(_JSONSettings)(text, start)
    except StopIteration:
        raise ValueError("no JSON value") from None
    if text[end:].strip():
        raise ValueError("extra data after the JSON value")
    return value


def judge_health(status: int) -> str | None:
    """None when /health says the server is up, else why not."""
    return None if status == 200 else f"HTTP {status}"


def excerpt(text: object, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge_models(
    status: int, body: bytes, expected_model: str | None = None
) -> tuple[tuple[str, ...], str | None]:
    """(model ids, None) when /v1/models lists a model (the expected one, if named), else (ids, reason)."""
    if status != 200:
        return (), f"HTTP {status}: {excerpt(body.decode('utf-8', 'replace'))}"
    try:
        document = parse_json(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return (), f"invalid JSON: {excerpt(body.decode('utf-8', 'replace'), 60)!r}"
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return (), "no 'data' list in the response"
    if not data:
        return (), "empty model list (model still loading)"
    ids = tuple(str(entry["id"]) for entry in data if isinstance(entry, dict) and entry.get("id") is not None)
    if not ids:
        return (), "model entries carry no 'id'"
    if expected_model and expected_model not in ids:
        return ids, f"expected model {expected_model!r} not listed; found {', '.join(ids)}"
    return ids, None


# -- one HTTP/1.1 GET with a hard deadline ------------------------------------------------------------------


def _recv(sock: _socket.socket, deadline: float, timeout_s: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise NotReady(f"timed out after {timeout_s:g}s")
    sock.settimeout(remaining)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        raise NotReady(f"timed out after {timeout_s:g}s") from None
    return data


def _dechunk(raw: bytearray) -> bytes | None:
    """The body of a chunked response, or None while the final chunk has not arrived."""
    body, position = bytearray(), 0
    while True:
        line_end = raw.find(b"\r\n", position)
        if line_end < 0:
            return None
        try:
            size = int(raw[position:line_end].split(b";", 1)[0], 16)
        except ValueError:
            raise NotReady("malformed chunked encoding") from None
        if size == 0:
            return bytes(body)
        start = line_end + 2
        if len(raw) < start + size + 2:
            return None
        body += raw[start : start + size]
        position = start + size + 2


def connect(host: str, port: int, deadline: float, timeout_s: float) -> _socket.socket:
    """A connected socket to the first address of host that accepts (localhost may be ::1, then 127.0.0.1)."""
    try:
        # A bytes host skips the idna codec, another import on every run.
        addresses = _socket.getaddrinfo(host.encode(), port, _socket.AF_UNSPEC, _socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise NotReady(f"cannot connect to {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
    failure: NotReady | None = None
    for family, kind, proto, _, address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = _socket.socket(family, kind, proto)
        sock.settimeout(remaining)
        try:
            sock.connect(address)
            return sock
        except TimeoutError:
            failure = NotReady(f"connect timed out after {timeout_s:g}s")
        except ConnectionRefusedError:
            failure = NotReady(f"connection refused on {host}:{port}")
        except OSError as exc:
            failure = NotReady(f"cannot connect to {host}:{port}: {exc.strerror or exc}")
        sock.close()
    raise failure or NotReady(f"connect timed out after {timeout_s:g}s")


def http_get(host: str, port: int, path: str, timeout_s: float) -> tuple[int, bytes]:
    """(status, body) of GET path; raises NotReady on any failure. The whole request ends within timeout_s."""
    deadline = time.monotonic() + timeout_s
    sock = connect(host, port, deadline, timeout_s)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("ascii"))
        raw = bytearray()
        while b"\r\n\r\n" not in raw:
            data = _recv(sock, deadline, timeout_s)
            if not data:
                raise NotReady("connection closed before a response" if not raw else "connection closed mid-headers")
            raw += data
            if len(raw) > MAX_BODY_BYTES:
                raise NotReady("response headers too large")
        header_end = raw.index(b"\r\n\r\n")
        head, raw = bytes(raw[:header_end]).decode("latin-1"), raw[header_end + 4 :]
        status_line, *header_lines = head.split("\r\n")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            raise NotReady(f"not an HTTP response: {excerpt(status_line, 40)!r}") from None
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = None if chunked or "content-length" not in headers else int(headers["content-length"])
        if length is not None and length > MAX_BODY_BYTES:
            raise NotReady(f"HTTP {status} with a {length}-byte body (over {MAX_BODY_BYTES})", status)
        while True:
            if chunked:
                body = _dechunk(raw)
                if body is not None:
                    return status, body
            elif length is not None and len(raw) >= length:
                return status, bytes(raw[:length])
            if len(raw) > MAX_BODY_BYTES:
                raise NotReady(f"HTTP {status} with a body over {MAX_BODY_BYTES} bytes", status)
            data = _recv(sock, deadline, timeout_s)
            if not data:
                if length is None and not chunked:
                    return status, bytes(raw)
                raise NotReady(f"HTTP {status} but the connection closed mid-body", status)
            raw += data
    except ConnectionResetError:
        raise NotReady("connection reset by the server") from None
    except OSError as exc:
        raise NotReady(f"connection error: {exc.strerror or exc}") from None
    finally:
        sock.close()


def check(
    host: str, port: int, timeout_s: float, expected_model: str | None = None
) -> tuple[bool, str, int | None, tuple[str, ...], str]:
    """(ready, stage, status, model ids, reason): stage is where the check stopped."""
    try:
        status, _ = http_get(host, port, HEALTH_PATH, timeout_s)
    except NotReady as failure:
        return False, STAGE_HEALTH, failure.status, (), failure.reason
    reason = judge_health(status)
    if reason:
        return False, STAGE_HEALTH, status, (), reason
    try:
        status, body = http_get(host, port, MODELS_PATH, timeout_s)
    except NotReady as failure:
        return False, STAGE_MODELS, failure.status, (), failure.reason
    ids, reason = judge_models(status, body, expected_model)
    if reason:
        return False, STAGE_MODELS, status, ids, reason
    return True, STAGE_READY, status, ids, "serving " + ", ".join(ids)


# -- command line ---------------------------------------------------------------------------------------------


class UsageError(Exception):
    pass


def parse_args(argv: list[str], environ: Mapping[str, str]) -> tuple[str, int, float, str | None]:
    positional: list[str] = []
    expected_model = environ.get("READINESS_EXPECT_MODEL") or None
    args = iter(argv)
    for arg in args:
        if arg == "--expect-model":
            expected_model = next(args, None)
            if not expected_model:
                raise UsageError("--expect-model needs a model name")
        elif arg.startswith("--expect-model="):
            expected_model = arg.split("=", 1)[1] or None
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {arg!r}")
        else:
            positional.append(arg)
    if len(positional) > 2:
        raise UsageError(f"too many arguments: {' '.join(positional[2:])!r}")
    port_text = positional[0] if positional else str(DEFAULT_PORT)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UsageError(f"PORT must be a number from 1 to 65535, got {port_text!r}")
    host = positional[1] if len(positional) > 1 else DEFAULT_HOST
    timeout_text = environ.get("READINESS_TIMEOUT", "") or str(DEFAULT_TIMEOUT_S)
    try:
        timeout_s = float(timeout_text)
    except ValueError:
        timeout_s = -1.0
    if not 0 < timeout_s <= 3600:
        raise UsageError(f"READINESS_TIMEOUT must be seconds in (0, 3600], got {timeout_text!r}")
    return host, int(port_text), timeout_s, expected_model


def _process_environ() -> Mapping[str, str]:
    try:
        import posix  # os.environ without importing os (and its own imports)
    except ImportError:
        import os

        return os.environ
    return {key.decode(): value.decode(errors="replace") for key, value in posix.environ.items()}


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    started = time.monotonic()
    try:
        host, port, timeout_s, expected_model = parse_args(
            sys.argv[1:] if argv is None else argv, _process_environ() if environ is None else environ
        )
    except UsageError as problem:
        print(f"{PREFIX} usage error: {problem} ({USAGE})", flush=True)
        return 1
    try:
        ready, stage, _status, _ids, reason = check(host, port, timeout_s, expected_model)
    except Exception as exc:  # a probe must answer with one line, never a traceback
        ready, stage, reason = False, "internal", f"{type(exc).__name__}: {excerpt(exc)}"
    elapsed_ms = (time.monotonic() - started) * 1000
    if ready:
        print(f"{PREFIX} ready: {reason} ({elapsed_ms:.0f} ms)", flush=True)
        return 0
    path = {STAGE_HEALTH: f" {HEALTH_PATH}", STAGE_MODELS: f" {MODELS_PATH}"}.get(stage, "")
    print(f"{PREFIX} not ready: {stage}{path}: {reason} ({elapsed_ms:.0f} ms)", flush=True)
    return 1

