"""``python -m llmzd_infra {render,plan,schema}``."""

from __future__ import annotations

import argparse
import sys

from llmzd_infra.version import package_version


def build_parser() -> argparse.ArgumentParser:
    from llmzd_infra.config import schema_cli
    from llmzd_infra.render import cli as render_cli

    parser = argparse.ArgumentParser(
        prog="python -m llmzd_infra",
        description="llmzd offline tools: render the stack, review a change, publish the config schema.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{render,plan,schema}")
    render_cli.add_arguments(commands.add_parser(
        "render", help="render every object the stack would create, without a cluster",
        description="Render every Kubernetes object and Helm release the stack would create, offline, under "
        "Pulumi's mocks: no CLI, no cluster, no network.",
        epilog=render_cli.EXIT_CODES,
    ))
    commands.add_parser(
        "plan", help="review a change: which models roll, why, and whether the switch is safe (see `plan --help`)",
        add_help=False,
    )
    schema_cli.add_arguments(commands.add_parser(
        "schema", help="write the JSON Schema of Pulumi.<stack>.yaml for editors",
        description="Write the JSON Schema of the stack file, generated from the config models and the config "
        "reference (docs/config.md), for editor completion and checks (yaml-language-server).",
        epilog=schema_cli.EXIT_CODES,
    ))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plan"]:
        from llmzd_infra.plan.cli import main as plan_main

        return plan_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "schema":
        from llmzd_infra.config import schema_cli

        return schema_cli.run(args)
    from llmzd_infra.render import cli as render_cli

    return render_cli.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
