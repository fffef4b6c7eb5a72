"""The summary file's sections (no cluster needed: runs with the unit tests)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.summary import Summary


def test_a_section_keeps_its_own_scenarios_and_a_failure_wins(tmp_path: Path) -> None:
    summary = Summary(tmp_path / "summary.json")
    assert not summary.has_scenarios()
    summary.scenario("first-deploy", "passed")
    summary.scenario("preview", "failed", "engine")
    summary.scenario("preview", "passed", "engine")  # a later pass (teardown) does not hide the failure
    summary.section("engine")["preview_seconds"] = 2.5
    summary.write()
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["scenarios"] == {"first-deploy": "passed"}
    assert written["engine"] == {"scenarios": {"preview": "failed"}, "preview_seconds": 2.5}
    assert summary.has_scenarios()
    assert "engine: preview" in summary.table()
