"""The exec probe as kubelet runs it: a real `python3 -I -S readiness_probe.py PORT HOST` process per case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe import vllm_readiness
from probe.vllm_readiness import judge_models
from tests.support.ports import free_port

PROBE = Path(__file__).resolve().parents[2] / "probe" / "readiness_probe.py"
TIMEOUT_S = 0.5


def run_probe(*args: str, timeout_s: float = TIMEOUT_S, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(PROBE), *args],
        capture_output=True, text=True, timeout=30, cwd="/",
        env={"PATH": os.environ.get("PATH", ""), "READINESS_TIMEOUT": f"{timeout_s:g}", **(env or {})},
    )  # fmt: skip
    assert completed.stderr == "", completed.stderr  # never a traceback
    return completed.returncode, completed.stdout, time.monotonic() - started


def one_line(stdout: str) -> str:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    assert lines[0].startswith("readiness_probe: ")
    return lines[0]


def test_ready_server_exits_0_and_names_the_model(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(model="Qwen/Qwen2.5-0.5B-Instruct")
    code, out, _ = run_probe(str(server.port), "127.0.0.1")
    assert code == 0
    assert one_line(out).startswith("readiness_probe: ready: serving Qwen/Qwen2.5-0.5B-Instruct (")


def test_expected_model_must_be_listed(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(model="qwen")
    assert run_probe(str(server.port), "127.0.0.1", "--expect-model", "qwen")[0] == 0
    code, out, _ = run_probe(str(server.port), "127.0.0.1", "--expect-model=llama")
    assert code == 1
    assert "not ready: models /v1/models: expected model 'llama' not listed; found qwen" in one_line(out)
    code, out, _ = run_probe(str(server.port), "127.0.0.1", env={"READINESS_EXPECT_MODEL": "llama"})
    assert code == 1 and "expected model 'llama'" in one_line(out)


def test_default_port_and_host_are_8000_on_localhost(fake_vllm: Callable[..., Any]) -> None:
    try:
        fake_vllm(port=8000)
    except RuntimeError:
        pytest.skip("port 8000 is taken on this machine")
    code, out, _ = run_probe()
    assert code == 0 and one_line(out).startswith("readiness_probe: ready: serving test-model")


@pytest.mark.parametrize(
    ("knobs", "stage", "reason"),
    [
        ({"phase": "loading"}, "models /v1/models", "empty model list (model still loading)"),
        ({"models_response": "garbage"}, "models /v1/models", "invalid JSON: '<html>upstream connect error</html>'"),
        ({"models_response": "not_a_list"}, "models /v1/models", "no 'data' list in the response"),
        ({"health_status": 503}, "health /health", "HTTP 503"),
        ({"misbehave": "reset"}, "health /health", "connection reset by the server"),
        ({"misbehave": "huge"}, "health /health", "HTTP 200 with a body over 1048576 bytes"),
    ],
    ids=["loading", "garbage-models", "data-not-a-list", "health-503", "reset", "huge-body"],
)
def test_each_failure_names_its_stage_and_reason(
    fake_vllm: Callable[..., Any], knobs: dict[str, Any], stage: str, reason: str
) -> None:
    server = fake_vllm(**knobs)
    code, out, _ = run_probe(str(server.port), "127.0.0.1")
    assert code == 1
    assert one_line(out).startswith(f"readiness_probe: not ready: {stage}: {reason} (")


def test_closed_port_is_connection_refused(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(phase="closed")
    code, out, elapsed = run_probe(str(server.port), "127.0.0.1")
    assert code == 1 and elapsed < 2
    assert f"not ready: health /health: connection refused on 127.0.0.1:{server.port}" in one_line(out)


@pytest.mark.parametrize(
    "knobs", [{"phase": "bound"}, {"misbehave": "silent"}, {"misbehave": "trickle"}], ids=["bound", "silent", "trickle"]
)
def test_a_server_that_never_finishes_answering_is_cut_at_the_timeout(
    fake_vllm: Callable[..., Any], knobs: dict[str, Any]
) -> None:
    server = fake_vllm(**knobs)
    code, out, elapsed = run_probe(str(server.port), "127.0.0.1", timeout_s=TIMEOUT_S)
    assert code == 1
    assert f"not ready: health /health: timed out after {TIMEOUT_S:g}s" in one_line(out)
    # One request timed out; the whole run, interpreter start included, stays inside 2 x READINESS_TIMEOUT.
    assert TIMEOUT_S <= elapsed < 2 * TIMEOUT_S + 0.5


def test_the_models_request_has_its_own_deadline(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(misbehave="silent", misbehave_path="/v1/models")
    code, out, elapsed = run_probe(str(server.port), "127.0.0.1", timeout_s=TIMEOUT_S)
    assert code == 1
    assert f"not ready: models /v1/models: timed out after {TIMEOUT_S:g}s" in one_line(out)
    assert TIMEOUT_S <= elapsed < 2 * TIMEOUT_S + 0.5


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["http"], {}, "PORT must be a number from 1 to 65535, got 'http'"),
        (["0"], {}, "PORT must be a number from 1 to 65535, got '0'"),
        (["70000"], {}, "PORT must be a number from 1 to 65535, got '70000'"),
        (["8000"], {"READINESS_TIMEOUT": "soon"}, "READINESS_TIMEOUT must be seconds in (0, 3600], got 'soon'"),
        (["8000"], {"READINESS_TIMEOUT": "-1"}, "READINESS_TIMEOUT must be seconds in (0, 3600], got '-1'"),
        (["8000", "localhost", "extra"], {}, "too many arguments: 'extra'"),
        (["--verbose"], {}, "unknown option '--verbose'"),
        (["8000", "--expect-model"], {}, "--expect-model needs a model name"),
    ],
)
def test_bad_arguments_are_a_one_line_usage_error(args: list[str], env: dict[str, str], message: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-S", str(PROBE), *args], capture_output=True, text=True, timeout=30,
        env={"PATH": os.environ.get("PATH", ""), **env},
    )  # fmt: skip
    assert completed.returncode == 1 and completed.stderr == ""
    line = one_line(completed.stdout)
    assert line.startswith(f"readiness_probe: usage error: {message} (usage: readiness_probe.py [PORT]")


def test_unreachable_port_fails_fast() -> None:
    code, out, elapsed = run_probe(str(free_port()), "127.0.0.1", timeout_s=5)
    assert code == 1 and elapsed < 2
    assert "connection refused" in one_line(out)


def test_unknown_host_is_a_connect_failure_not_a_crash() -> None:
    code, out, _ = run_probe("8000", "no-such-host.invalid", timeout_s=1)
    assert code == 1
    assert "not ready: health /health: cannot connect to no-such-host.invalid:8000" in one_line(out)


@pytest.mark.parametrize(
    ("body", "expected", "ids", "reason"),
    [
        (b'{"data": [{"id": "a"}, {"id": "b"}]}', None, ("a", "b"), None),
        (b'{"data": [{"id": "a"}, {"id": "b"}]}', "b", ("a", "b"), None),
        (b'{"data": [{"id": "a"}]}', "c", ("a",), "expected model 'c' not listed; found a"),
        (b'{"data": []}', None, (), "empty model list (model still loading)"),
        (b'{"data": [{"object": "model"}]}', None, (), "model entries carry no 'id'"),
        (b"[1, 2]", None, (), "no 'data' list in the response"),
        (b"not json", None, (), "invalid JSON: 'not json'"),
    ],
)
def test_models_rule(body: bytes, expected: str | None, ids: tuple[str, ...], reason: str | None) -> None:
    assert judge_models(200, body, expected) == (ids, reason)


def test_models_rule_reports_a_non_200_with_the_body_excerpt() -> None:
    ids, reason = judge_models(404, b'{"detail": "Not Found"}')
    assert ids == () and reason == 'HTTP 404: {"detail": "Not Found"}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values, padding=st.sampled_from(["", " ", "\n\t "]))
def test_parse_json_agrees_with_the_json_module(value: object, padding: str) -> None:
    text = padding + json.dumps(value) + padding
    assert vllm_readiness.parse_json(text) == json.loads(text)


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a": 1} x', "[1,]", "nul", '"unterminated', "{'a': 1}"])
@pytest.mark.parametrize("scanner", ["c-scanner", "json-module"])
def test_parse_json_rejects_what_json_rejects(text: str, scanner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if scanner == "json-module":
        monkeypatch.setattr(vllm_readiness, "_make_json_scanner", None)
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        vllm_readiness.parse_json(text)


def test_the_check_module_is_cached_as_bytecode(fake_vllm: Callable[..., Any], tmp_path: Path) -> None:
    # The mount is read-only; the entry point puts the bytecode elsewhere so no run compiles the check again.
    server = fake_vllm()
    cache = tmp_path / "pycache"
    command = [sys.executable, "-I", "-S", "-X", f"pycache_prefix={cache}", str(PROBE), str(server.port), "127.0.0.1"]
    assert subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    cached = [p.name for p in cache.rglob("vllm_readiness.*.pyc")]
    assert cached == [f"vllm_readiness.{sys.implementation.cache_tag}.pyc"]


def test_importing_the_entry_point_runs_nothing() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "import probe.readiness_probe; print('imported')"],
        capture_output=True, text=True, timeout=30, cwd=PROBE.parents[1],
    )  # fmt: skip
    assert completed.stdout == "imported\n" and completed.returncode == 0
