"""Produce render directories to compare: a git ref rendered in a temporary worktree, or the working tree.

Both run ``python -m llmzd_infra render`` with this interpreter inside the source tree, so each side is
rendered by its own code and its own ``Pulumi.<stack>.yaml``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from llmzd_infra.plan.errors import PlanInputError

GIT_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 600.0


def repo_root(start: Path) -> Path:
    result = _git(["rev-parse", "--show-toplevel"], start, what=f"find the git repository containing {start}")
    return Path(result.strip())


def render_tree(source: Path, stack: str, out: Path, label: str) -> Path:
    """Render the code and stack config found in ``source`` into ``out``."""
    env = dict(os.environ)
    # The source tree's own package must win over any installed (e.g. editable) llmzd_infra.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(source), env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "llmzd_infra", "render", "--stack", stack, "--out", str(out)]
    try:
        result = subprocess.run(
            command, cwd=source, env=env, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise PlanInputError(f"rendering {label} took longer than {RENDER_TIMEOUT_S:.0f}s; gave up") from None
    if result.returncode != 0 or not (out / "manifest.json").is_file():
        detail = _last_line(result.stderr) or _last_line(result.stdout) or "no output"
        raise PlanInputError(f"rendering {label} failed (exit {result.returncode}): {detail}")
    return out


def render_git_ref(repo: Path, ref: str, stack: str, work_dir: Path) -> Path:
    """Check ``ref`` out in a temporary worktree under ``work_dir``, render it, remove the worktree."""
    root = repo_root(repo)
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root,
                  what=f"resolve git ref '{ref}' (fetch it first, e.g. `git fetch origin main`)").strip()
    worktree = work_dir / "base-worktree"
    _git(["worktree", "add", "--detach", "--quiet", str(worktree), commit], root, what=f"check out {ref}")
    try:
        label = f"git ref '{ref}' ({commit[:12]})"
        return render_tree(worktree, stack, work_dir / "base-render", label=label)
    finally:
        _remove_worktree(root, worktree)


def _remove_worktree(root: Path, worktree: Path) -> None:
    try:
        _git(["worktree", "remove", "--force", str(worktree)], root, what="remove the temporary worktree")
    except PlanInputError:
        # Leave no stale registration behind even if the directory is already gone.
        _git(["worktree", "prune"], root, what="prune worktrees")


def _git(args: list[str], cwd: Path, what: str) -> str:
    try:
        command = ["git", *args]
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except FileNotFoundError:
        raise PlanInputError("git not found: install git or pass --base DIR instead of --base-ref") from None
    except subprocess.TimeoutExpired:
        raise PlanInputError(f"git could not {what} within {GIT_TIMEOUT_S:.0f}s") from None
    if result.returncode != 0:
        raise PlanInputError(f"git could not {what}: {_last_line(result.stderr) or 'no output'}")
    return result.stdout


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
