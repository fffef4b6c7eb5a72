"""``out/e2e/summary.json``: each scenario's outcome, the blue/green switch under load, gate overhead, versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Summary:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"scenarios": {}, "switch": None, "gate_overhead_s": None, "versions": {}}

    def scenario(self, name: str, outcome: str, section: str | None = None) -> None:
        """Record a scenario's outcome, at the top level or in a section of its own (``scenario(name,
        section="engine")`` puts it in ``data["engine"]["scenarios"]``)."""
        scenarios = self.section(section)["scenarios"] if section else self.data["scenarios"]
        # A failure in setup, call or teardown wins over a pass recorded earlier for the same scenario.
        if scenarios.get(name) != "failed":
            scenarios[name] = outcome

    def section(self, name: str) -> dict[str, Any]:
        """``data[name]``, made on first use with an empty ``scenarios`` table."""
        found: dict[str, Any] = self.data.setdefault(name, {})
        found.setdefault("scenarios", {})
        return found

    def sections(self) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.data.items()
                if isinstance(value, dict) and isinstance(value.get("scenarios"), dict)}

    def has_scenarios(self) -> bool:
        return any(section["scenarios"] for section in self.sections().values()) or bool(self.data["scenarios"])

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def table(self) -> str:
        rows = [("scenario", "result"), *sorted(self.data["scenarios"].items())]
        for section_name, section in sorted(self.sections().items()):
            rows += [(f"{section_name}: {name}", result) for name, result in sorted(section["scenarios"].items())]
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
        engine = self.data.get("engine") or {}
        if engine.get("switch"):
            sw = engine["switch"]
            lines.append(f"engine switch (pulumi up under load): {sw['requests']} requests, {sw['failed']} failed, "
                         f"completion rate {sw['completion_rate']:.4f}")
        for name, version in sorted((self.data.get("versions") or {}).items()):
            lines.append(f"{name}: {version}")
        lines.append(f"written to {self.path}")
        return "\n".join(lines)
