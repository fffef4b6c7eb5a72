"""``python -m llmzd_infra schema``: write (or check) the JSON Schema editors use for ``Pulumi.<stack>.yaml``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmzd_infra.config.json_schema import SCHEMA_FILE, schema_text

EXIT_OK, EXIT_STALE, EXIT_ERROR = 0, 1, 2
EXIT_CODES = "exit codes: 0 schema written (or in step with --check), 1 --check found it out of date, 2 error"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", type=Path, default=SCHEMA_FILE, metavar="FILE",
        help="where to write the schema; '-' for stdout (default: %(default)s)",
    )
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 if FILE differs from the schema the models and docs give (default: off)",
    )


def run(args: argparse.Namespace) -> int:
    text = schema_text()
    output: Path = args.output
    try:
        if args.check:
            current = output.read_text(encoding="utf-8") if output.is_file() else ""
            if current != text:
                print(f"schema: {output} is out of date: run `python -m llmzd_infra schema`", file=sys.stderr)
                return EXIT_STALE
            print(f"schema: {output} is up to date")
            return EXIT_OK
        if str(output) == "-":
            sys.stdout.write(text)
            return EXIT_OK
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"schema: cannot use {output}: {error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"schema: wrote {output}")
    return EXIT_OK
