"""``python -m llmzd_infra plan``: a Markdown rollout plan between two renders, for PR review and CI."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from llmzd_infra.plan.errors import PlanInputError
from llmzd_infra.plan.markdown import render_markdown
from llmzd_infra.plan.render_dir import load_render
from llmzd_infra.plan.report import Plan, build_plan
from llmzd_infra.plan.sources import render_git_ref, render_tree, repo_root
from llmzd_infra.version import package_version

EXIT_OK, EXIT_WARNINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line instead of argparse's usage dump; --help still shows the full usage.
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m llmzd_infra plan",
        description="What a change does to the stack: rollouts, object changes and risks, as Markdown.",
        epilog="exit codes: 0 plan printed; 1 there are warnings and --fail-on-warning was given; "
        "2 bad input (missing directory, unreadable manifest, renders of two stacks, unknown git ref, failed render)",
    )
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", type=Path, metavar="DIR", help="render directory of the base, before the change "
                      "(this or --base-ref is required)")
    base.add_argument("--base-ref", metavar="GIT_REF", help="render this git ref in a temporary worktree as the base")
    parser.add_argument("--head", type=Path, metavar="DIR",
                        help="render directory of the head (default: render the working tree)")
    parser.add_argument("--stack", default="dev",
                        help="stack rendered for --base-ref or a missing --head (default: %(default)s)")
    parser.add_argument("--fail-on-warning", action="store_true",
                        help="exit 1 when there are warnings, for CI (default: off)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the Markdown here (default: stdout)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser


def main(argv: list[str]) -> int:
    """Run the plan; returns 0, 1 (warnings with --fail-on-warning) or 2 (usage or input error)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:
        print(f"plan: {error} (see --help)", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    try:
        plan = _plan(args)
        markdown = render_markdown(plan)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(markdown, encoding="utf-8")
            print(f"plan: wrote {args.output} ({len(plan.warnings)} warnings)", file=sys.stderr)
        else:
            sys.stdout.write(markdown)
    except (PlanInputError, OSError) as error:
        print(f"plan: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_WARNINGS if plan.warnings and args.fail_on_warning else EXIT_OK


def _plan(args: argparse.Namespace) -> Plan:
    with tempfile.TemporaryDirectory(prefix="llmzd-plan-") as tmp:
        work_dir = Path(tmp)
        base_dir = args.base or render_git_ref(Path.cwd(), args.base_ref, args.stack, work_dir)
        head_dir = args.head or render_tree(
            repo_root(Path.cwd()), args.stack, work_dir / "head-render", "the working tree"
        )
        return build_plan(load_render(base_dir), load_render(head_dir))
