"""Errors the plan reports as one line and exit code 2 (bad input, not a bug)."""


class PlanInputError(Exception):
    """A render directory, manifest or git ref the plan cannot use; the message says what to fix."""
