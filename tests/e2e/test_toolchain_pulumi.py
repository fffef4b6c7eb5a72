"""The Pulumi engine pieces e2e/toolchain/build.sh builds work together, offline and without a cluster.

A tiny Python Pulumi project creates a Kubernetes provider that renders YAML to a directory, a ConfigMap through
it and a dynamic-provider resource, and runs ``pulumi preview``, ``pulumi up``, ``pulumi stack output`` and
``pulumi destroy`` on the local file backend; a second project, without config, reads its outputs through a
StackReference. That exercises the CLI, the Python language host with its ``pulumi-language-python-exec``
script, the Kubernetes provider plugin (placed by e2e/toolchain/pulumi-home.sh) and the
``pulumi-resource-pulumi-python`` dynamic provider shim.

The engine runs in a network namespace of its own with only loopback when ``unshare`` and ``ip`` can make one
(root); otherwise every proxy variable points at a closed port. Automatic plugin acquisition and the update
check are off either way. The Python SDKs come from e2e/requirements.txt, installed once into a virtualenv in the
toolchain cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.engine import toolchain_env

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = REPO_ROOT / "e2e" / "toolchain"
REQUIREMENTS = REPO_ROOT / "e2e" / "requirements.txt"

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]


def _skip_or_fail(reason: str) -> None:
    # Same convention as the other end-to-end tests: `make e2e` sets LLMZD_E2E_REQUIRED=1 so CI cannot pass by skipping.
    if os.environ.get("LLMZD_E2E_REQUIRED") == "1":
        pytest.fail(f"end-to-end test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def _bin_dir(component: str) -> Path:
    out = subprocess.run(
        ["bash", str(TOOLCHAIN / "build.sh"), "--bin-dir", component], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def _pinned(name: str) -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        match = re.fullmatch(rf"{re.escape(name)}==(\S+)", line.strip())
        if match:
            return match.group(1)
    raise AssertionError(f"{name} is not pinned in {REQUIREMENTS}")


def _cli_version() -> str:
    # The build stamps the pkg/v3 version the wrapper module requires.
    match = re.search(r"github\.com/pulumi/pulumi/pkg/v3 (v\S+)", (TOOLCHAIN / "pulumi" / "go.mod").read_text())
    assert match, "pkg/v3 is not required in e2e/toolchain/pulumi/go.mod"
    return match.group(1)


def _python_env() -> Path:
    """A virtualenv with the pinned SDKs, made once per requirements file in the toolchain cache (pip, PyPI)."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    venv = _bin_dir("pulumi").parent.parent / f"python-{key}"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
            check=True,
        )
        (venv / ".complete").touch()
    return venv


def _offline_prefix() -> list[str]:
    """A command prefix that runs its command in a new network namespace with loopback only, if one can be made."""
    if shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(
            ["unshare", "--net", "--", "ip", "link", "set", "lo", "up"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "offline"]
    return []


PROGRAM = textwrap.dedent(
    """
    import pulumi
    import pulumi_kubernetes as k8s
    from pulumi.dynamic import CreateResult, Resource, ResourceProvider


    class Echo(ResourceProvider):
        def create(self, props):
            return CreateResult(id_="echo", outs={"value": props["value"]})


    class EchoResource(Resource):
        value: pulumi.Output[str]

        def __init__(self, name, value, opts=None):
            super().__init__(Echo(), name, {"value": value}, opts)


    config = pulumi.Config()
    render = k8s.Provider("render", render_yaml_to_directory=config.require("renderDir"))
    settings = k8s.core.v1.ConfigMap(
        "settings",
        metadata={"name": "settings", "namespace": "default"},
        data={"model": "tiny"},
        opts=pulumi.ResourceOptions(provider=render),
    )
    echo = EchoResource("echo", "hello")
    pulumi.export("configmap", settings.metadata["name"])
    pulumi.export("echo", echo.value)
    """
)

READER = textwrap.dedent(
    """
    import pulumi

    pulumi.export("echo", pulumi.StackReference("organization/toolchain-check/dev").get_output("echo"))
    """
)


@pytest.fixture(scope="module")
def pulumi_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    missing = [
        str(path)
        for path in (
            _bin_dir("pulumi") / "pulumi",
            _bin_dir("pulumi") / "pulumi-language-python",
            _bin_dir("pulumi") / "pulumi-language-python-exec",
            _bin_dir("pulumi") / "pulumi-resource-pulumi-python",
            _bin_dir("pulumi-kubernetes") / "pulumi-resource-kubernetes",
        )
        if not path.exists()
    ]
    if missing:
        _skip_or_fail(f"not built: {', '.join(missing)}; run e2e/toolchain/build.sh pulumi pulumi-kubernetes")

    # The same offline environment the engine scenarios use (tests/e2e/engine.py).
    return toolchain_env(tmp_path_factory.mktemp("pulumi"))


def _pulumi(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*_offline_prefix(), "pulumi", *args, "--non-interactive"] if args[0] != "version" else ["pulumi", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"pulumi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_cli_prints_the_stamped_version(pulumi_env: dict[str, str], tmp_path: Path) -> None:
    assert _pulumi(pulumi_env, tmp_path, "version").stdout.strip() == _cli_version()


def test_preview_up_destroy_offline_with_the_built_plugins(pulumi_env: dict[str, str], tmp_path: Path) -> None:
    venv = _python_env()
    state, project, rendered = tmp_path / "state", tmp_path / "project", tmp_path / "rendered"
    state.mkdir()
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: toolchain-check\nruntime:\n  name: python\n  options:\n    virtualenv: {venv}\n"
    )
    (project / "__main__.py").write_text(PROGRAM)

    _pulumi(pulumi_env, project, "login", f"file://{state}")
    _pulumi(pulumi_env, project, "stack", "init", "dev")
    _pulumi(pulumi_env, project, "config", "set", "renderDir", str(rendered))

    preview = _pulumi(pulumi_env, project, "preview")
    assert "4 to create" in preview.stdout, preview.stdout
    assert not rendered.exists(), "preview wrote the rendered YAML"

    up = _pulumi(pulumi_env, project, "up", "--yes")
    assert "4 created" in up.stdout, up.stdout
    outputs = json.loads(_pulumi(pulumi_env, project, "stack", "output", "--json").stdout)
    assert outputs == {"configmap": "settings", "echo": "hello"}
    manifests = [path.read_text() for path in rendered.rglob("*.yaml")]
    assert any("kind: ConfigMap" in text and "name: settings" in text for text in manifests), manifests

    # The state names the provider plugin version the SDK asked for, i.e. the one pulumi-home.sh placed.
    deployment = json.loads(_pulumi(pulumi_env, project, "stack", "export").stdout)
    providers = [r for r in deployment["deployment"]["resources"] if r["type"] == "pulumi:providers:kubernetes"]
    assert [p["inputs"]["version"] for p in providers] == [_pinned("pulumi-kubernetes")]

    again = _pulumi(pulumi_env, project, "up", "--yes")
    assert "4 unchanged" in again.stdout, again.stdout

    # A second project, without any config, reads the first one's outputs through a StackReference.
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "Pulumi.yaml").write_text(
        f"name: toolchain-reader\nruntime:\n  name: python\n  options:\n    virtualenv: {venv}\n"
    )
    (reader / "__main__.py").write_text(READER)
    _pulumi(pulumi_env, reader, "stack", "init", "dev")
    _pulumi(pulumi_env, reader, "up", "--yes")
    assert json.loads(_pulumi(pulumi_env, reader, "stack", "output", "--json").stdout) == {"echo": "hello"}

    _pulumi(pulumi_env, project, "destroy", "--yes")
    assert not list(rendered.rglob("*.yaml")), "destroy left rendered YAML behind"
