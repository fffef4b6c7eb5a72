"""The no-downtime acceptance criteria: judge a load summary against thresholds.

Criteria and defaults are those of the zero-downtime update guide with Argo Rollouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loadgen.config import ConfigError, env_number

DEFAULT_MAX_ERROR_RATE = 0.05
DEFAULT_MAX_5XX_RATE = 0.02
DEFAULT_MIN_STREAM_COMPLETION = 0.90


@dataclass(frozen=True)
class Thresholds:
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE
    max_5xx_rate: float = DEFAULT_MAX_5XX_RATE
    min_stream_completion: float = DEFAULT_MIN_STREAM_COMPLETION

    def __post_init__(self) -> None:
        for name in ("max_error_rate", "max_5xx_rate", "min_stream_completion"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name.replace('_', '-')} must be a fraction within 0..1, got {value}")

    @classmethod
    def from_env(cls) -> Thresholds:
        """Defaults overridden by MAX_ERROR_RATE, MAX_5XX_RATE and MIN_STREAM_COMPLETION, as in that guide's scripts."""
        return cls(
            max_error_rate=env_number("MAX_ERROR_RATE", float, DEFAULT_MAX_ERROR_RATE),
            max_5xx_rate=env_number("MAX_5XX_RATE", float, DEFAULT_MAX_5XX_RATE),
            min_stream_completion=env_number("MIN_STREAM_COMPLETION", float, DEFAULT_MIN_STREAM_COMPLETION),
        )


def _count_note(summary: Mapping[str, Any], key: str) -> str:
    return f"{summary.get(key, 0)} of {summary.get('requests', 0)} requests"


def evaluate(report_summary: Mapping[str, Any], thresholds: Thresholds) -> list[str]:
    """One line per failed criterion; an empty list means the run passes."""
    requests = report_summary.get("requests") or 0
    if requests == 0:
        return [
            "no requests were measured: the run ended before any request started "
            "(check --duration/--requests)"
        ]
    failures: list[str] = []
    error_rate = float(report_summary["error_rate"])
    if error_rate > thresholds.max_error_rate:
        classes = ", ".join(f"{name} {n}" for name, n in report_summary.get("failures", {}).items() if n)
        failures.append(
            f"error rate {error_rate:.2%} > max {thresholds.max_error_rate:.2%} "
            f"({_count_note(report_summary, 'failed')} failed: {classes})"
        )
    rate_5xx = float(report_summary["rate_5xx"])
    if rate_5xx > thresholds.max_5xx_rate:
        count_5xx = report_summary.get("failures", {}).get("http_5xx", 0)
        failures.append(
            f"5xx rate {rate_5xx:.2%} > max {thresholds.max_5xx_rate:.2%} "
            f"({count_5xx} of {requests} requests)"
        )
    completion = float(report_summary["stream_completion_rate"])
    if completion < thresholds.min_stream_completion:
        failures.append(
            f"stream completion {completion:.2%} < min {thresholds.min_stream_completion:.2%} "
            f"({_count_note(report_summary, 'completed')} ended with [DONE])"
        )
    return failures
