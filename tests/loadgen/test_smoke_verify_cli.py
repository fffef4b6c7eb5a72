"""Smoke checks and the verify/run commands' exit codes and messages, against the fake-vLLM process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from loadgen.cli import main
from loadgen.smoke import SmokeReport, run_smoke
from tests.support.ports import free_port
from tests.support.vllm_fixtures import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST = ["--duration", "0.4", "--concurrency", "2", "--max-tokens", "4", "--timeout", "5"]


def smoke(base_url: str, **kwargs: Any) -> SmokeReport:
    kwargs.setdefault("timeout", 2.0)
    return asyncio.run(run_smoke(base_url, **kwargs))


def test_smoke_passes_on_a_ready_server(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(model="tiny", ttft_ms=15, output_tokens=4)
    report = smoke(server.base_url)
    assert report.ok and report.failure_summary() == ""
    assert [c.name for c in report.checks] == ["health", "models", "completion", "streaming"]
    assert all(c.ok and c.seconds >= 0 for c in report.checks)
    assert report.model == "tiny"
    assert report.ttft_s is not None and 0.015 <= report.ttft_s < 0.2
    assert report.total_s >= sum(c.seconds for c in report.checks)
    assert "4 token chunks then [DONE]" in report.checks[-1].detail


def test_smoke_with_model_given_skips_discovery_and_keeps_client_open(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=2)

    async def scenario() -> tuple[SmokeReport, bool]:
        async with httpx.AsyncClient() as client:
            report = await run_smoke(server.base_url + "/", model="test-model", client=client, timeout=2)
            return report, client.is_closed

    report, closed = asyncio.run(scenario())
    assert report.ok and not closed
    assert [c.name for c in report.checks] == ["health", "completion", "streaming"]


def test_smoke_fails_when_models_list_is_empty(fake_vllm: Callable[..., Any]) -> None:
    report = smoke(fake_vllm(phase="loading").base_url)
    assert not report.ok and report.model is None
    assert [(c.name, c.ok) for c in report.checks] == [("health", True), ("models", False)]
    assert report.failure_summary().startswith("smoke check 'models' failed after ")
    assert "no usable model id" in report.failure_summary()


def test_smoke_reports_5xx_status_and_body_excerpt(fake_vllm: Callable[..., Any]) -> None:
    report = smoke(fake_vllm(error_5xx_rate=1.0).base_url, model="test-model")
    assert not report.ok
    failed = report.checks[-1]
    assert failed.name == "completion" and not failed.ok
    assert failed.detail.startswith("HTTP 5")


def test_smoke_stream_cut_fails_streaming_check(fake_vllm: Callable[..., Any]) -> None:
    server = fake_vllm(output_tokens=8)

    async def scenario() -> SmokeReport:
        await asyncio.to_thread(server.control, cut_rate=1.0)
        return await run_smoke(server.base_url, model="test-model", timeout=2)

    report = asyncio.run(scenario())
    assert [(c.name, c.ok) for c in report.checks][-1] == ("streaming", False)
    assert "stream_cut" in report.failure_summary()


def test_smoke_unreachable_fails_fast_at_health() -> None:
    report = smoke(f"http://127.0.0.1:{free_port()}")
    assert not report.ok and len(report.checks) == 1
    assert report.failure_summary().startswith("smoke check 'health' failed")
    assert "ConnectError" in report.checks[0].detail


def test_smoke_on_hung_server_is_bounded_by_timeout(fake_vllm: Callable[..., Any]) -> None:
    started = time.perf_counter()
    report = smoke(fake_vllm(phase="bound").base_url, timeout=0.3)
    assert not report.ok and report.checks[0].name == "health"
    assert time.perf_counter() - started < 2.0


def test_smoke_command_output_and_exit_codes(
    fake_vllm: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    server = fake_vllm(output_tokens=2)
    assert main(["smoke", server.base_url, "--timeout", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS ") == 4 and "smoke OK: model test-model" in out
    assert main(["smoke", f"http://127.0.0.1:{free_port()}", "--timeout", "1"]) == 1
    assert "smoke check 'health' failed" in capsys.readouterr().out


def test_verify_passes_on_a_clean_server(
    fake_vllm: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fake_vllm(output_tokens=4, ttft_ms=5)
    output = tmp_path / "r.json"
    assert main(["verify", "--url", server.base_url, *FAST, "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "PASS: error rate <= 0.05, 5xx rate <= 0.02, stream completion >= 0.9" in out
    assert "PASS health" in out and "stream completion rate  100.00%" in out
    assert json.loads(output.read_text())["summary"]["failed"] == 0


@pytest.mark.parametrize(
    ("knobs", "flags", "expected"),
    [
        (
            {"error_5xx_rate": 0.5},
            ["--max-error-rate", "1", "--min-stream-completion", "0"],
            "FAIL: 5xx rate ",
        ),
        ({"cut_rate": 0.5}, ["--min-stream-completion", "0"], "FAIL: error rate "),
        ({"cut_rate": 0.5}, ["--max-error-rate", "1"], "FAIL: stream completion "),
    ],
    ids=["5xx-rate", "error-rate", "stream-completion"],
)
def test_verify_fails_each_criterion_alone(
    fake_vllm: Callable[..., Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    knobs: dict[str, float],
    flags: list[str],
    expected: str,
) -> None:
    server = fake_vllm(output_tokens=4, seed=1)
    # Smoke is skipped: with injection on, the smoke requests themselves could be the ones that fail.
    server.control(**knobs)
    argv = ["verify", "--url", server.base_url, *FAST, "--skip-smoke", "--output", str(tmp_path / "r.json")]
    assert main([*argv, *flags]) == 1
    fail_lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 1 and fail_lines[0].startswith(expected)


def test_verify_thresholds_from_environment(
    fake_vllm: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = fake_vllm(output_tokens=4, seed=2)
    server.control(error_5xx_rate=0.3)
    monkeypatch.setenv("MAX_ERROR_RATE", "1")
    monkeypatch.setenv("MAX_5XX_RATE", "1")
    monkeypatch.setenv("MIN_STREAM_COMPLETION", "0")
    argv = ["verify", "--url", server.base_url, *FAST, "--skip-smoke", "--output", str(tmp_path / "r.json")]
    assert main(argv) == 0
    assert "PASS: error rate <= 1, 5xx rate <= 1, stream completion >= 0" in capsys.readouterr().out


def test_verify_unreachable_server_exits_2_before_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "r.json"
    assert main(["verify", "--url", f"http://127.0.0.1:{free_port()}", *FAST, "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("loadgen: error: pre-flight GET http://127.0.0.1:") and "/health failed: ConnectError" in err
    assert not output.exists()


def test_verify_failed_smoke_is_a_failed_criterion(
    fake_vllm: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fake_vllm(phase="loading")
    assert main(["verify", "--url", server.base_url, *FAST, "--output", str(tmp_path / "r.json")]) == 1
    assert "FAIL: smoke check 'models' failed" in capsys.readouterr().out


def _start_cli(*argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "loadgen", *argv],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "signals", [[signal.SIGINT], [signal.SIGTERM, signal.SIGTERM]], ids=["stop", "abort"]
)
def test_run_writes_report_when_interrupted(
    fake_vllm: Callable[..., Any], tmp_path: Path, signals: list[signal.Signals]
) -> None:
    server = fake_vllm(ttft_ms=5, itl_ms=60, output_tokens=10)
    output = tmp_path / "r.json"
    process = _start_cli("run", "--url", server.base_url, "--duration", "60", "--concurrency", "2",
                         "--max-tokens", "10", "--output", str(output))  # fmt: skip
    try:
        wait_until(lambda: server.stats()["streams_started"] >= 4, "4 streams to start on the fake server")
        for sig in signals:
            process.send_signal(sig)
            time.sleep(0.01)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    report = json.loads(output.read_text())
    assert report["interrupted"] is True
    summary = report["summary"]
    assert summary["requests"] >= 2 and summary["failed"] == 0
    if len(signals) == 1:
        assert summary["cancelled"] == 0 and summary["completed"] == summary["requests"]
    else:
        # Each request lasts ~0.6 s, so the second signal, 10 ms later, finds them in flight.
        assert summary["cancelled"] >= 1 and summary["completed"] == summary["requests"]
    assert "report written to" in stdout and "interrupted" in stdout


def test_run_over_two_processes_merges_every_record(fake_vllm: Callable[..., Any], tmp_path: Path) -> None:
    server = fake_vllm(output_tokens=3, ttft_ms=5, error_5xx_rate=0.2, seed=3)
    output = tmp_path / "r.json"
    process = _start_cli("run", "--url", server.base_url, "--requests", "40", "--concurrency", "4",
                         "--processes", "2", "--max-tokens", "3", "--output", str(output))  # fmt: skip
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    report = json.loads(output.read_text())
    stats = server.stats()
    assert report["summary"]["requests"] == 40
    assert report["summary"]["failures"]["http_5xx"] == stats["injected_5xx"]
    assert report["summary"]["completed"] == 40 - stats["injected_5xx"]
    assert sum(row["started"] for row in report["series"]) == 40
    assert report["model"] == "test-model"
    # Send times are shifted onto the merged timeline with the rest: never before a request's creation.
    wait = report["summary"]["send_wait_s"]
    assert 0.0 <= wait["p50"] <= wait["p99"] < 1.0
