"""Progress lines are logged on change (not every poll); failure messages are complete and scrubbed."""

from __future__ import annotations

import pytest
from pulumi.runtime import settings as pulumi_settings

from llmzd_infra.gates.errors import excerpt, redact
from llmzd_infra.gates.report import FailureReport, Progress


def test_progress_logs_changes_and_repeats_only_after_the_interval(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No engine attached, as in the dynamic provider host: lines go to stderr, which the CLI shows.
    monkeypatch.setattr(pulumi_settings.SETTINGS, "engine", None)
    progress = Progress("chat readiness (preview)", every_s=60)
    for _ in range(50):
        progress.say("waiting: stage models")
    progress.say("waiting: stage ready")
    assert progress.lines == [
        "chat readiness (preview): waiting: stage models",
        "chat readiness (preview): waiting: stage ready",
    ]
    assert capsys.readouterr().err.count("info: chat readiness (preview): waiting: stage models") == 1


def test_failure_report_renders_every_part() -> None:
    text = FailureReport(
        model="chat", revision="r2", step="promotion", summary="the Rollout went Degraded", waited_s=12.34,
        limit_s=600, last_seen=["phase Degraded"], rollout="ns/chat: phase Degraded",
        done="aborted rollout ns/chat; stable still on revision r1 (pod hash abc)", next_steps="fix it",
    ).render()
    assert text.splitlines() == [
        'llmzd gate failed: model "chat", revision r2, step "promotion": the Rollout went Degraded',
        "  waited: 12.3 s (limit 600 s)",
        "  last seen: phase Degraded",
        "  rollout: ns/chat: phase Degraded",
        "  done: aborted rollout ns/chat; stable still on revision r1 (pod hash abc)",
        "  next: fix it",
    ]


def test_redact_and_excerpt() -> None:
    assert redact("Bearer sekrit-token-1 failed", ["sekrit-token-1", None, "ab"]) == "Bearer <redacted> failed"
    assert excerpt("a\n  b " + "x" * 300, 20) == "a b xxxxxxxxxxxxx..."
