"""``out/e2e/summary.json``: each scenario's outcome, the blue/green switch under load, gate overhead, versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Summary:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"scenarios": {}, "switch": None, "gate_overhead_s": None, "versions": {}}

    def scenario(self, name: str, outcome: str) -> None:
        # A failure in setup, call or teardown wins over a pass recorded earlier for the same scenario.
        if self.data["scenarios"].get(name) != "failed":
            self.data["scenarios"][name] = outcome

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def table(self) -> str:
        rows = [("scenario", "result"), *sorted(self.data["scenarios"].items())]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {result}" for name, result in rows]
        switch = self.data.get("switch")
        if switch:
            lines.append(
                f"switch under load: {switch['requests']} requests, {switch['failed']} failed, "
                f"{switch['incomplete_streams']} incomplete streams, completion rate {switch['completion_rate']:.4f}"
            )
        if self.data.get("gate_overhead_s") is not None:
            lines.append(f"gate overhead: {self.data['gate_overhead_s']:.2f} s (new pods Ready -> promotion done, "
                         "minus smoke time)")
        for name, version in sorted((self.data.get("versions") or {}).items()):
            lines.append(f"{name}: {version}")
        lines.append(f"written to {self.path}")
        return "\n".join(lines)
