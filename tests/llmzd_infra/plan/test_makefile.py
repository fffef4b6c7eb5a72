"""The Makefile's operations targets: the exact commands they run, and one-line hints for missing tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")

EXPECTED = {
    "install": ".venv/bin/python -m pip install -e '.[test]'",
    "render": ".venv/bin/python -m llmzd_infra render --stack dev --out out/dev",
    "test": ".venv/bin/python -m pytest",
    "lint": ".venv/bin/ruff check .",
    "plan": ".venv/bin/python -m llmzd_infra plan --stack dev --base-ref origin/main --head out/dev",
    "preview": "pulumi preview --stack dev --policy-pack policy",
    "up": "pulumi up --stack dev --policy-pack policy",
    "down": "pulumi destroy --stack dev",
    "port-forward": "kubectl -n llm-serving port-forward svc/vllm-stable 8000:8000",
    "smoke": ".venv/bin/python -m loadgen smoke http://127.0.0.1:8000",
    "load": ".venv/bin/python -m loadgen run --url http://127.0.0.1:8000 --concurrency 4 --duration 30",
    "verify": (
        ".venv/bin/python -m loadgen verify --url http://127.0.0.1:8000 --concurrency 4 --duration 30 "
        "--max-error-rate 0.05 --max-5xx-rate 0.02 --min-stream-completion 0.9"
    ),
    "status": "kubectl argo rollouts get rollout vllm -n llm-serving",
    "logs": "kubectl -n llm-serving logs -l app.kubernetes.io/instance=vllm -c vllm --prefix --tail=200",
    "promote": "kubectl argo rollouts promote vllm -n llm-serving",
    "abort": "kubectl argo rollouts abort vllm -n llm-serving",
}


def _make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "--no-print-directory", "-C", str(REPO_ROOT), *args],
        capture_output=True, text=True, timeout=30, env=env,
    )


@pytest.mark.parametrize("target", sorted(EXPECTED))
def test_dry_run_shows_the_command(target: str) -> None:
    result = _make("-n", target)
    assert result.returncode == 0, result.stderr
    assert EXPECTED[target] in result.stdout


def test_variables_pass_through() -> None:
    result = _make(
        "-n", "verify", "URL=http://127.0.0.1:9999", "LOAD_CONCURRENCY=8", "LOAD_DURATION=60",
        "MAX_ERROR_RATE=0.01", "MAX_5XX_RATE=0", "MIN_STREAM_COMPLETION=0.99",
    )
    assert ("--url http://127.0.0.1:9999 --concurrency 8 --duration 60 --max-error-rate 0.01 "
            "--max-5xx-rate 0 --min-stream-completion 0.99") in result.stdout
    forward = _make("-n", "port-forward", "NAMESPACE=prod", "MODEL=chat").stdout
    assert "kubectl -n prod port-forward svc/chat-stable 8000:8000" in forward
    assert "pulumi up --stack prod" in _make("-n", "up", "STACK=prod").stdout


def test_port_sets_the_local_end_of_the_forward_and_the_default_url() -> None:
    forward = _make("-n", "port-forward", "PORT=9000").stdout
    assert "kubectl -n llm-serving port-forward svc/vllm-stable 9000:8000" in forward
    # A model with another `port`: the Service side follows SERVICE_PORT.
    other = _make("-n", "port-forward", "PORT=9000", "SERVICE_PORT=8200").stdout
    assert "port-forward svc/vllm-stable 9000:8200" in other
    assert ".venv/bin/python -m loadgen smoke http://127.0.0.1:9000" in _make("-n", "smoke", "PORT=9000").stdout
    # An explicit URL still wins over the PORT-derived default.
    assert "loadgen smoke http://10.0.0.5:80" in _make("-n", "smoke", "PORT=9000", "URL=http://10.0.0.5:80").stdout


def test_help_names_the_port_variables() -> None:
    result = _make("help", "PORT=9000")
    assert result.returncode == 0, result.stderr
    assert "PORT=9000" in result.stdout and "SERVICE_PORT=8000" in result.stdout
    assert "URL=http://127.0.0.1:9000" in result.stdout


@pytest.mark.parametrize(
    ("target", "hint"),
    [
        ("preview", "pulumi not found: install it from https://www.pulumi.com/docs/install/"),
        ("down", "pulumi not found: install it from https://www.pulumi.com/docs/install/"),
        ("port-forward", "kubectl not found: install it from https://kubernetes.io/docs/tasks/tools/"),
        ("status", "kubectl not found: install it from https://kubernetes.io/docs/tasks/tools/"),
    ],
)
def test_missing_tool_prints_one_line_hint(tmp_path: Path, target: str, hint: str) -> None:
    # An empty PATH: make and /bin/sh are found by absolute path, pulumi and kubectl are not.
    result = _make(target, env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert lines == [hint]
    assert "Traceback" not in result.stderr


def test_targets_run_the_real_tool_and_echo_it(tmp_path: Path) -> None:
    """With stand-in pulumi/kubectl on PATH, the target echoes the command and the tool gets those args."""
    calls = tmp_path / "calls.log"
    for tool in ("pulumi", "kubectl"):
        script = tmp_path / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n')
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}
    preview = _make("preview", env=env)
    assert preview.returncode == 0, preview.stderr
    assert "pulumi preview --stack dev --policy-pack policy" in preview.stdout
    assert _make("port-forward", env=env).returncode == 0
    assert calls.read_text().splitlines() == [
        "pulumi preview --stack dev --policy-pack policy",
        "kubectl -n llm-serving port-forward svc/vllm-stable 8000:8000",
    ]


def test_promote_without_the_argo_plugin_names_it(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text("#!/bin/sh\nexit 0\n")
    kubectl.chmod(0o755)
    result = _make("promote", env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode != 0
    assert "kubectl-argo-rollouts not found: install the kubectl plugin from https://argo-rollouts" in result.stderr
