"""What a gate tells the person running ``pulumi up``: progress while it waits, one message when it fails."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

PROGRESS_EVERY_S = 15.0


class Progress:
    """Logs what a gate is waiting for: when that changes, and at least every ``every_s`` seconds.

    Goes through Pulumi's log when an engine is attached (the CLI shows it under the resource) and to stderr
    otherwise; the dynamic provider host's stderr is shown by the CLI too. Created per call, never pickled.
    """

    def __init__(self, prefix: str, *, every_s: float = PROGRESS_EVERY_S) -> None:
        self.prefix = prefix
        self.every_s = every_s
        self.lines: list[str] = []
        self._last_text = ""
        self._last_at = -float("inf")

    def say(self, text: str) -> None:
        now = time.monotonic()
        if text == self._last_text and now - self._last_at < self.every_s:
            return
        self._last_text, self._last_at = text, now
        line = f"{self.prefix}: {text}"
        self.lines.append(line)
        _emit(line)


def _emit(line: str) -> None:
    try:
        import pulumi.log

        pulumi.log.info(line)
    except Exception:  # logging must never fail a gate (e.g. an engine that went away mid-update)
        print(f"info: {line}", file=sys.stderr)


@dataclass
class FailureReport:
    """Everything a person needs to act on a failed gate, rendered as one message."""

    model: str
    revision: str
    step: str
    summary: str
    waited_s: float
    limit_s: float | None
    last_seen: list[str] = field(default_factory=list)
    rollout: str | None = None
    done: str = "nothing was changed in the cluster"
    next_steps: str = ""

    def render(self) -> str:
        limit = f" (limit {self.limit_s:g} s)" if self.limit_s is not None else ""
        lines = [
            f'llmzd gate failed: model "{self.model}", revision {self.revision}, step "{self.step}": {self.summary}',
            f"  waited: {self.waited_s:.1f} s{limit}",
        ]
        lines += [f"  last seen: {seen}" for seen in self.last_seen]
        if self.rollout:
            lines.append(f"  rollout: {self.rollout}")
        lines.append(f"  done: {self.done}")
        if self.next_steps:
            lines.append(f"  next: {self.next_steps}")
        return "\n".join(lines)
