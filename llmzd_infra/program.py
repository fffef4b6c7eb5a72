"""The Pulumi program: parse config at the edge, build the stack, export what other stacks consume."""

from __future__ import annotations

import pulumi

from llmzd_infra.config import ConfigError, load_stack_config
from llmzd_infra.stack import LlmzdStack, LlmzdStackArgs


def run() -> LlmzdStack:
    try:
        parsed, secrets = load_stack_config()
    except ConfigError as error:
        # RunError: Pulumi shows the message without a Python traceback, and nothing has been created yet.
        raise pulumi.RunError(str(error)) from None
    stack = LlmzdStack("llmzd", LlmzdStackArgs(parsed=parsed, secrets=secrets))
    for key, value in stack.outputs.items():
        pulumi.export(key, value)
    return stack
