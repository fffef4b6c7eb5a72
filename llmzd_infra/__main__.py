"""``python -m llmzd_infra {render,plan}``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plan"]:
        from llmzd_infra.plan.cli import main as plan_main

        return plan_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m llmzd_infra", description="llmzd offline tools")
    commands = parser.add_subparsers(dest="command", required=True)
    from llmzd_infra.render import cli as render_cli

    render_cli.add_arguments(commands.add_parser("render", help="render the stack's objects without a cluster"))
    commands.add_parser("plan", help="summarise a rollout between two renders (see `plan --help`)")
    args = parser.parse_args(argv)
    return render_cli.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
