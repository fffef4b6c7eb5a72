"""Percentiles with linear interpolation between closest ranks (the same definition as numpy's default)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) of already sorted values; None when there are none."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    n = len(sorted_values)
    if n == 0:
        return None
    position = (n - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, n - 1)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def percentiles(values: Iterable[float], qs: Sequence[float]) -> dict[str, float | None]:
    """{'p50': ..., 'p95': ...} for the requested percentiles (keys drop a trailing '.0')."""
    ordered = sorted(values)
    return {f"p{q:g}": percentile(ordered, q) for q in qs}
