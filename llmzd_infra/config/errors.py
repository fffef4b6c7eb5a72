"""Config errors that name the key path, the bad value and what is expected: one line each, all at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmzd_infra.credentials import redact_credentials

_MAX_VALUE_CHARS = 60


class _NotSet:
    """The value of a required key that is absent: shown as ``got nothing``, not as its parent object."""

    def __repr__(self) -> str:
        return "nothing"


NOT_SET: Any = _NotSet()


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    value: Any
    expected: str

    def __str__(self) -> str:
        # Redacted before shortening: a cut could leave part of a token the patterns no longer recognize.
        shown = redact_credentials(repr(self.value))
        if len(shown) > _MAX_VALUE_CHARS:
            shown = shown[: _MAX_VALUE_CHARS - 3] + "..."
        return redact_credentials(f"{self.path}: got {shown}; expected {self.expected}")


def unique_issues(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Each message once, in first-seen order (values may be unhashable dicts, so compare the text)."""
    seen: set[str] = set()
    unique = []
    for issue in issues:
        if str(issue) not in seen:
            seen.add(str(issue))
            unique.append(issue)
    return unique


class ConfigError(ValueError):
    """Every violation in the stack config, reported together before any resource is created."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = tuple(unique_issues(issues))
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        count = len(self.issues)
        super().__init__(
            f"invalid llmzd stack config ({count} problem{'s' if count != 1 else ''}); "
            f"fix with `pulumi config set` (see docs/config.md):\n{lines}"
        )
