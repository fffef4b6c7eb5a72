"""The real Pulumi engine, offline, on the local file backend: a temporary project with the repository's
``Pulumi.yaml`` and ``__main__.py``, a temporary ``PULUMI_HOME`` with the built Kubernetes provider plugin
(e2e/toolchain/pulumi-home.sh), and ``pulumi`` commands run as subprocesses with a bounded time.

The project's ``virtualenv`` option points at the interpreter running the tests (``sys.prefix``), so the engine
runs the program with the SDK versions pinned in e2e/requirements.txt. The caller is inside the tests' network
namespace, so nothing the engine does can reach beyond it; the update check and plugin downloads are off anyway.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLCHAIN = REPO_ROOT / "e2e" / "toolchain"
PASSPHRASE = "llmzd-e2e"  # encrypts the stack's secrets in Pulumi.<stack>.yaml and the state
COMMAND_TIMEOUT_S = 600.0
# ANSI escapes the CLI still writes in some messages although --color never is given.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class PulumiFailed(AssertionError):
    def __init__(self, run: PulumiRun) -> None:
        super().__init__(f"pulumi {' '.join(run.args)} exited {run.returncode} after {run.seconds:.1f} s:\n"
                         f"{run.stdout[-6000:]}\n{run.stderr[-4000:]}")
        self.run = run


@dataclass(frozen=True)
class PulumiRun:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class PulumiProject:
    """One project directory, one state directory, one stack; every command gets the same environment."""

    directory: Path
    state: Path
    env: dict[str, str]
    stack: str = "e2e"
    runs: list[PulumiRun] = field(default_factory=list)

    def run(self, *args: str, check: bool = True, stdin: str | None = None,
            timeout_s: float = COMMAND_TIMEOUT_S) -> PulumiRun:
        command = ["pulumi", "--non-interactive", "--color", "never", *args]
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=self.directory, env=self.env, input=stdin, capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as expired:
            raise AssertionError(f"pulumi {' '.join(args)} did not finish within {timeout_s:g} s:\n"
                                 f"{_text(expired.stdout)[-4000:]}\n{_text(expired.stderr)[-2000:]}") from None
        result = PulumiRun(tuple(args), done.returncode, _ANSI.sub("", done.stdout), _ANSI.sub("", done.stderr),
                           time.monotonic() - started)
        self.runs.append(result)
        if check and result.returncode != 0:
            raise PulumiFailed(result)
        return result

    def set_config(self, key: str, value: str) -> None:
        self.run("config", "set", key, "--", value)

    def set_secret_from_stdin(self, key: str, value: str) -> None:
        """``pulumi config set --secret KEY`` reading the value from stdin: never on a command line."""
        self.run("config", "set", "--secret", key, stdin=value)

    def set_path_values(self, key: str, value: Any) -> None:
        """Every leaf of ``value`` under ``key`` with ``pulumi config set --path`` (strings, ints, booleans in one
        ``set-all``; floats one by one with ``--type float``, which ``set-all`` does not offer)."""
        plain: list[str] = []
        floats: list[tuple[str, float]] = []
        for path, leaf in _leaves(key, value):
            if isinstance(leaf, float):
                floats.append((path, leaf))
            elif isinstance(leaf, bool):
                plain += ["--plaintext", f"{path}={'true' if leaf else 'false'}"]
            else:
                plain += ["--plaintext", f"{path}={leaf}"]
        if plain:
            self.run("config", "set-all", "--path", *plain)
        for path, number in floats:
            self.run("config", "set", "--path", "--type", "float", path, "--", repr(number))

    def outputs(self) -> dict[str, Any]:
        found: dict[str, Any] = self.run("stack", "output", "--json").json()
        return found

    def export(self) -> dict[str, Any]:
        exported: dict[str, Any] = self.run("stack", "export").json()
        return exported

    def state_files(self) -> list[Path]:
        return sorted(path for path in self.state.rglob("*") if path.is_file())


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _leaves(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(f"{prefix}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(f"{prefix}[{index}]", item)
    else:
        yield prefix, value


def toolchain_env(home: Path) -> dict[str, str]:
    """The environment e2e/toolchain/pulumi-home.sh prints, laid out in ``home``; fails when not built."""
    laid_out = subprocess.run(["bash", str(TOOLCHAIN / "pulumi-home.sh"), str(home / "pulumi-home")],
                              capture_output=True, text=True, timeout=120, check=False)
    if laid_out.returncode != 0:
        raise FileNotFoundError(laid_out.stderr.strip())
    env = {
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        # Anything that still tried the network would meet a closed port (and the namespace has no route out).
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,10.244.0.0/16",
    }
    for line in laid_out.stdout.splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    return env


def new_project(root: Path, source: Path = REPO_ROOT, *, stack: str = "e2e", state: Path | None = None
                ) -> PulumiProject:
    """A copy of the project in ``source`` (its Pulumi.yaml and __main__.py; default: the repository's) in
    ``root/<project name>``, with ``virtualenv`` pointing at the running interpreter; logged in to
    ``file://<state>`` (default ``root/state``) with ``stack`` made."""
    project_file = (source / "Pulumi.yaml").read_text()
    name = re.search(r"(?m)^name:\s*(\S+)", project_file)
    assert name, f"{source / 'Pulumi.yaml'} has no name"
    directory = root / name.group(1)
    directory.mkdir(parents=True)
    state = state or root / "state"
    state.mkdir(parents=True, exist_ok=True)
    project_file, replaced = re.subn(r"(?m)^(\s+virtualenv:).*$", rf"\1 {sys.prefix}", project_file)
    assert replaced == 1, f"{source / 'Pulumi.yaml'} has no runtime option `virtualenv` to point at the interpreter"
    (directory / "Pulumi.yaml").write_text(project_file)
    (directory / "__main__.py").write_text((source / "__main__.py").read_text())
    env = toolchain_env(root)
    env["PYTHONPATH"] = str(REPO_ROOT)  # the program imports llmzd_infra from this checkout
    project = PulumiProject(directory, state, env, stack)
    project.run("login", f"file://{state}")
    project.run("stack", "init", stack)
    return project


def preview_steps(run: PulumiRun) -> list[dict[str, Any]]:
    """The steps of ``pulumi preview --json``: each with op, urn and (for updates) diffs/detailedDiff."""
    steps: list[dict[str, Any]] = run.json().get("steps") or []
    return steps


def step_ops(steps: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """urn's resource name (type::name tail) -> the op, for every step that is not `same`."""
    return {str(s["urn"]).rsplit("::", 1)[-1] + f" ({_short_type(str(s['urn']))})": str(s["op"])
            for s in steps if s.get("op") != "same"}


def _short_type(urn: str) -> str:
    return urn.split("::")[-2].rsplit("$", 1)[-1]
