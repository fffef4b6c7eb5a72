"""``python -m llmzd_infra render``: the offline render, the project's main job on a machine with no cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmzd_infra.config import ConfigError
from llmzd_infra.render.runner import render_program
from llmzd_infra.render.stack_file import StackFileError, read_stack_config
from llmzd_infra.render.writer import write_render

EXIT_CODES = (
    "exit codes: 0 rendered; 1 rendered, but a mandatory policy is violated and --fail-on-policy was given; "
    "2 the stack file or its config is invalid (one line per problem, nothing written)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack name; reads Pulumi.<stack>.yaml (default: %(default)s)")
    parser.add_argument(
        "--config", type=Path, metavar="FILE",
        help="another stack file to read instead (default: Pulumi.<stack>.yaml in the current directory)",
    )
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="output directory (default: out/<stack>)")
    parser.add_argument(
        "--fail-on-policy", action="store_true",
        help="exit 1 when a mandatory policy is violated (default: off; violations are listed either way)",
    )


def run(args: argparse.Namespace) -> int:
    config_path = args.config or Path(f"Pulumi.{args.stack}.yaml")
    out = args.out or Path("out") / args.stack
    try:
        raw, secret_keys = read_stack_config(config_path)
        result = render_program(raw, secret_keys, args.stack)
    except (StackFileError, ConfigError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 2
    manifest = write_render(result, out)
    violations = manifest["policy"]["violations"]
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    for model in manifest["models"]:
        print(f"rollout {model['namespace']}/{model['rollout']}: revision {model['revision']} ({model['image']})")
    print(
        f"wrote {len(manifest['objects'])} objects and {len(manifest['helmReleases'])} Helm releases to {out}"
        f"; policy: {len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory violations"
    )
    for violation in violations:
        print(f"  [{violation['level']}] {violation['policy']} {violation['kind']}/{violation['name']}: "
              f"{violation['message']}")
    return 1 if mandatory and args.fail_on_policy else 0
