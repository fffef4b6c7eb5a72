from __future__ import annotations

from typing import Any

import pytest

from loadgen.config import ConfigError
from loadgen.verify import Thresholds, evaluate


def summary(requests: int = 100, failed: int = 0, http_5xx: int = 0, cut: int = 0) -> dict[str, Any]:
    completed = requests - failed
    return {
        "requests": requests,
        "completed": completed,
        "failed": failed,
        "error_rate": failed / requests,
        "rate_5xx": http_5xx / requests,
        "stream_completion_rate": completed / requests,
        "failures": {"http_5xx": http_5xx, "stream_cut": cut, "timeout": failed - http_5xx - cut},
    }


def test_clean_run_passes_defaults() -> None:
    assert Thresholds() == Thresholds(0.05, 0.02, 0.90)
    assert evaluate(summary(), Thresholds()) == []


def test_thresholds_are_inclusive() -> None:
    assert evaluate(summary(failed=5, http_5xx=2, cut=3), Thresholds(0.05, 0.02, 0.95)) == []


def test_only_5xx_rate_fails() -> None:
    failures = evaluate(summary(failed=3, http_5xx=3), Thresholds())
    assert failures == ["5xx rate 3.00% > max 2.00% (3 of 100 requests)"]


def test_error_rate_fails_and_names_classes() -> None:
    failures = evaluate(summary(failed=6, cut=6), Thresholds(min_stream_completion=0.5))
    assert failures == ["error rate 6.00% > max 5.00% (6 of 100 requests failed: stream_cut 6)"]


def test_completion_fails_alone_when_error_threshold_is_loose() -> None:
    failures = evaluate(summary(failed=11, cut=11), Thresholds(max_error_rate=0.5))
    assert failures == ["stream completion 89.00% < min 90.00% (89 of 100 requests ended with [DONE])"]


def test_every_criterion_fails_at_once_one_line_each() -> None:
    failures = evaluate(summary(failed=20, http_5xx=10, cut=10), Thresholds())
    assert len(failures) == 3
    assert [line.split()[0] for line in failures] == ["error", "5xx", "stream"]


def test_thresholds_from_env_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_ERROR_RATE", "0.1")
    monkeypatch.setenv("MAX_5XX_RATE", "")
    monkeypatch.setenv("MIN_STREAM_COMPLETION", "0.5")
    assert Thresholds.from_env() == Thresholds(0.1, 0.02, 0.5)
    monkeypatch.setenv("MAX_5XX_RATE", "lots")
    with pytest.raises(ConfigError, match="MAX_5XX_RATE='lots' is not a valid float"):
        Thresholds.from_env()
    with pytest.raises(ConfigError, match=r"max-error-rate must be a fraction within 0\.\.1"):
        Thresholds(max_error_rate=5)
