"""Pulumi entry point; the program lives in llmzd_infra.program."""

from llmzd_infra.program import run

run()
