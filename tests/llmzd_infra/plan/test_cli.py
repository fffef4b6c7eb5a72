from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmzd_infra.plan.cli import main
from tests.llmzd_infra.plan.render_builder import StackSpec, render_pair, write_stack

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_plan_prints_markdown_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = render_pair(tmp_path, StackSpec(), StackSpec(image="vllm/vllm-openai:v0.11.1"))
    assert main(["--base", str(base), "--head", str(head)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## llmzd rollout plan: stack `dev`") and "**yes**" in out


def test_warnings_exit_0_by_default_and_1_with_fail_on_warning(tmp_path: Path) -> None:
    base, head = render_pair(tmp_path, StackSpec(), StackSpec(port=9000))
    assert main(["--base", str(base), "--head", str(head)]) == 0
    assert main(["--base", str(base), "--head", str(head), "--fail-on-warning"]) == 1


def test_fail_on_warning_without_warnings_exits_0(tmp_path: Path) -> None:
    base, head = render_pair(tmp_path, StackSpec(), StackSpec(image="vllm/vllm-openai:v0.11.1"))
    assert main(["--base", str(base), "--head", str(head), "--fail-on-warning"]) == 0


def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = render_pair(tmp_path, StackSpec(), StackSpec(port=9000))
    target = tmp_path / "out" / "plan.md"
    assert main(["--base", str(base), "--head", str(head), "--output", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "wrote" in captured.err
    assert "service-ports" in target.read_text()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--head", "x"], "one of the arguments --base --base-ref is required"),
        (["--base", "a", "--base-ref", "main"], "not allowed with argument"),
        (["--base", "{tmp}/missing", "--head", "{tmp}/missing"], "not found"),
        (["--base", "a", "--bogus"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and err.startswith("plan: ")


def test_bad_manifest_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = render_pair(tmp_path, StackSpec(), StackSpec())
    (head / "manifest.json").write_text(json.dumps({"stack": "dev"}))
    assert main(["--base", str(base), "--head", str(head)]) == 2
    assert "'objects' must be a list" in capsys.readouterr().err


def test_renders_of_different_stacks_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = render_pair(tmp_path, StackSpec(), StackSpec(stack="prod"))
    assert main(["--base", str(base), "--head", str(head)]) == 2
    assert "base render is stack 'dev' but head is 'prod'" in capsys.readouterr().err


def test_module_entry_point_gives_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmzd_infra", "plan", "--base", str(tmp_path / "nope"), "--head", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


# A stand-in for the project in a throwaway git repo: its "render" copies the committed fixture render.
FAKE_MAIN = textwrap.dedent(
    """
    import argparse, shutil, sys
    from pathlib import Path
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--stack")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    source = Path("fixture-render")
    if not source.is_dir():
        sys.exit("render: Pulumi.dev.yaml not found")
    shutil.copytree(source, args.out)
    """
)


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True, timeout=30).stdout


def _fake_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "llmzd_infra").mkdir(parents=True)
    (repo / "llmzd_infra" / "__init__.py").write_text("")
    (repo / "llmzd_infra" / "__main__.py").write_text(FAKE_MAIN)
    write_stack(repo / "fixture-render", StackSpec())
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    return repo


def test_base_ref_renders_the_commit_in_a_worktree_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _fake_repo(tmp_path)
    head = write_stack(tmp_path / "head", StackSpec(image="vllm/vllm-openai:v0.12.0"))
    monkeypatch.chdir(repo)
    assert main(["--base-ref", "HEAD", "--head", str(head)]) == 0
    out = capsys.readouterr().out
    # The base came from the committed fixture (v0.11.0), rendered by the worktree's own package.
    assert "`vllm/vllm-openai:v0.11.0` → `vllm/vllm-openai:v0.12.0`" in out
    worktrees = _git(repo, "worktree", "list", "--porcelain")
    assert worktrees.count("worktree ") == 1


def test_head_defaults_to_rendering_the_working_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _fake_repo(tmp_path)
    write_stack(repo / "fixture-render", StackSpec(drain_seconds=30, scale_down_delay=30))  # uncommitted edit
    monkeypatch.chdir(repo)
    assert main(["--base-ref", "HEAD", "--fail-on-warning"]) == 1
    assert "- **drain** `vllm`" in capsys.readouterr().out


def test_unknown_ref_and_failing_render_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _fake_repo(tmp_path)
    monkeypatch.chdir(repo)
    assert main(["--base-ref", "no-such-branch", "--head", str(repo / "fixture-render")]) == 2
    assert "resolve git ref 'no-such-branch'" in capsys.readouterr().err
    _git(repo, "rm", "-q", "-r", "fixture-render")
    _git(repo, "commit", "-q", "-m", "drop fixture")
    write_stack(repo / "fixture-render", StackSpec())
    assert main(["--base-ref", "HEAD", "--head", str(repo / "fixture-render")]) == 2
    err = capsys.readouterr().err
    assert "rendering git ref 'HEAD'" in err and "Pulumi.dev.yaml not found" in err
    assert _git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
