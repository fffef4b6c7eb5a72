"""Config errors that name the key path, the bad value and what is expected: one line each, all at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MAX_VALUE_CHARS = 60


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    value: Any
    expected: str

    def __str__(self) -> str:
        shown = repr(self.value)
        if len(shown) > _MAX_VALUE_CHARS:
            shown = shown[: _MAX_VALUE_CHARS - 3] + "..."
        return f"{self.path}: got {shown}; expected {self.expected}"


class ConfigError(ValueError):
    """Every violation in the stack config, reported together before any resource is created."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        count = len(self.issues)
        super().__init__(
            f"invalid llmzd stack config ({count} problem{'s' if count != 1 else ''}); "
            f"fix with `pulumi config set` (see README, 'Config reference'):\n{lines}"
        )
