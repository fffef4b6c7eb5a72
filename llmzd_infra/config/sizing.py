"""Startup-probe timings per model size, from seed 000's tuning table."""

from __future__ import annotations

from llmzd_infra.config.models import ModelSizeClass, ProbesConfig, ProbeTiming


# Seed 000's recommended production startup probe; used when nothing about the model size is given.
def _timing(initial_delay: int, period: int, timeout: int, failures: int) -> ProbeTiming:
    return ProbeTiming(
        initial_delay_seconds=initial_delay, period_seconds=period,
        timeout_seconds=timeout, failure_threshold=failures,
    )


DEFAULT_STARTUP = _timing(30, 10, 5, 60)

STARTUP_BY_SIZE: dict[ModelSizeClass, ProbeTiming] = {
    "small": _timing(30, 10, 5, 30),
    "medium": _timing(60, 15, 5, 40),
    "large": _timing(120, 20, 5, 60),
}


def size_class_for(parameter_count_billions: float) -> ModelSizeClass:
    """Seed 000's rows: < 7B small, 7B-70B medium, > 70B large."""
    if parameter_count_billions < 7:
        return "small"
    if parameter_count_billions <= 70:
        return "medium"
    return "large"


def startup_timing(probes: ProbesConfig) -> ProbeTiming:
    if probes.startup is not None:
        return probes.startup
    if probes.parameter_count_billions is not None:
        return STARTUP_BY_SIZE[size_class_for(probes.parameter_count_billions)]
    if probes.model_size is not None:
        return STARTUP_BY_SIZE[probes.model_size]
    return DEFAULT_STARTUP
