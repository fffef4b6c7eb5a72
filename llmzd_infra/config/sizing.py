"""Startup-probe timings per model size, from the tuning table of llm-d's readiness probe for vLLM."""

from __future__ import annotations

from llmzd_infra.config.models import ModelSizeClass, ProbesConfig, ProbeTiming


def _timing(initial_delay: int, period: int, timeout: int, failures: int) -> ProbeTiming:
    return ProbeTiming(
        initial_delay_seconds=initial_delay, period_seconds=period,
        timeout_seconds=timeout, failure_threshold=failures,
    )


# llm-d's recommended production startup probe for vLLM (30/10/5/60); used when nothing about the model size is given.
DEFAULT_STARTUP = _timing(30, 10, 5, 60)

# llm-d's tuning table; it gives no timeout for these rows, so they keep the production probe's 5 s.
STARTUP_BY_SIZE: dict[ModelSizeClass, ProbeTiming] = {
    "small": _timing(30, 10, 5, 30),
    "medium": _timing(60, 15, 5, 40),
    "large": _timing(120, 20, 5, 60),
}


def size_class_for(parameter_count_billions: float) -> ModelSizeClass:
    """llm-d's rows: < 7B small, 7B-70B medium, > 70B large."""
    if parameter_count_billions < 7:
        return "small"
    if parameter_count_billions <= 70:
        return "medium"
    return "large"


def size_class(probes: ProbesConfig) -> ModelSizeClass | None:
    """The size row the user asked for: a parameter count picks its row, else the named class."""
    if probes.parameter_count_billions is not None:
        return size_class_for(probes.parameter_count_billions)
    return probes.model_size


def startup_timing(probes: ProbesConfig) -> ProbeTiming:
    """The size row (or llm-d's production default), with any explicit ``startup`` keys on top."""
    size = size_class(probes)
    derived = DEFAULT_STARTUP if size is None else STARTUP_BY_SIZE[size]
    if probes.startup is None:
        return derived
    explicit = probes.startup.model_dump(exclude_none=True)
    return derived.model_copy(update=explicit)
