"""Percentiles, the summary and the per-second series computed from hand-built records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.records import Failure, RequestRecord
from loadgen.stats import percentile, percentiles
from loadgen.summary import failure_examples, summarize, time_series
from loadgen.verify import Thresholds, evaluate


def test_percentile_interpolates_linearly_like_numpy_default() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None
    assert percentiles([3.0, 1.0, 2.0], (50, 99)) == {"p50": 2.0, "p99": pytest.approx(2.98)}


def test_percentile_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_is_within_data_and_monotonic(values: list[float], q: float) -> None:
    ordered = sorted(values)
    result = percentile(ordered, q)
    assert result is not None
    assert ordered[0] <= result <= ordered[-1] or result == pytest.approx(ordered[0])
    assert percentile(ordered, min(q + 1, 100)) >= result - 1e-9  # type: ignore[operator]


def ok_record(
    index: int, start: float, ttft: float, gaps: list[float], usage: int | None = None
) -> RequestRecord:
    end = start + ttft + sum(gaps) + 0.001
    return RequestRecord(
        index=index,
        start=start,
        end=end,
        status=200,
        ttft=ttft,
        itl=list(gaps),
        token_chunks=len(gaps) + 1,
        usage_tokens=usage,
        done=True,
        finish_reason="length",
    )


def failed_record(index: int, start: float, failure: Failure, status: int | None = None) -> RequestRecord:
    return RequestRecord(
        index=index,
        start=start,
        end=start + 0.01,
        status=status,
        failure=failure,
        detail=f"{failure.value} #{index}",
    )


def sample_records() -> list[RequestRecord]:
    return [
        ok_record(0, 0.1, 0.010, [0.002, 0.002]),
        ok_record(1, 0.2, 0.020, [0.004], usage=5),
        ok_record(2, 1.5, 0.030, [0.002, 0.006]),
        failed_record(3, 1.6, Failure.HTTP_5XX, 503),
        failed_record(4, 2.2, Failure.STREAM_CUT, 200),
        failed_record(5, 2.3, Failure.CONNECT_ERROR),
        RequestRecord(index=6, start=2.4, end=2.5, cancelled=True),
    ]


def test_summary_counts_rates_and_latencies() -> None:
    summary = summarize(sample_records(), elapsed_s=3.0)
    assert summary["requests"] == 6
    assert summary["completed"] == 3
    assert summary["failed"] == 3
    assert summary["cancelled"] == 1
    assert summary["stream_completion_rate"] == 0.5
    assert summary["error_rate"] == 0.5
    assert summary["rate_5xx"] == pytest.approx(1 / 6)
    assert summary["status_codes"] == {"200": 4, "503": 1}
    assert summary["failures"]["http_5xx"] == 1
    assert summary["failures"]["stream_cut"] == 1
    assert summary["failures"]["connect_error"] == 1
    assert summary["failures"]["timeout"] == 0
    assert summary["ttft_s"]["p50"] == pytest.approx(0.020)
    assert summary["itl_s"]["p50"] == pytest.approx(0.002)
    assert summary["itl_s"]["p95"] == pytest.approx(0.0056)  # 0.004 + 0.8 * (0.006 - 0.004)
    assert summary["output_tokens"] == 3 + 5 + 3
    assert summary["output_tokens_per_s"] == pytest.approx(11 / 3)
    assert summary["requests_per_s"] == pytest.approx(2.0)


def test_warmup_requests_are_excluded_from_judgement() -> None:
    records = [failed_record(0, 0.0, Failure.HTTP_5XX, 500), ok_record(1, 1.0, 0.01, [])]
    records[0].warmup = True
    summary = summarize(records, elapsed_s=1.0)
    assert summary["requests"] == 1 and summary["error_rate"] == 0.0 and summary["warmup_requests"] == 1


def test_empty_run_has_no_rates_and_fails_verification() -> None:
    summary = summarize([], elapsed_s=0.0)
    assert summary["requests"] == 0 and summary["error_rate"] is None and summary["requests_per_s"] == 0.0
    assert evaluate(summary, Thresholds())[0].startswith("no requests were measured")


def test_time_series_buckets_by_second() -> None:
    series = time_series(sample_records(), window_start=0.0, elapsed_s=2.6)
    assert [row["t"] for row in series] == [0, 1, 2]
    assert [row["width_s"] for row in series] == [1.0, 1.0, 0.6]
    assert [row["started"] for row in series] == [2, 2, 2]  # the cancelled request is not counted
    assert [row["completed"] for row in series] == [2, 1, 0]
    assert series[1]["failed_by_class"] == {"http_5xx": 1}
    assert series[2]["failed_by_class"] == {"connect_error": 1, "stream_cut": 1}
    assert series[2]["failed"] == 2
    assert [row["tokens"] for row in series] == [5, 3, 0]
    assert series[0]["ttft_p50_s"] == pytest.approx(0.015)
    assert series[2]["ttft_p50_s"] is None


def test_time_series_respects_warmup_offset_and_clamps_late_ends() -> None:
    record = ok_record(0, 5.2, 0.01, [0.5, 0.5, 0.5])  # ends past the window: lands in the last bucket
    series = time_series([record], window_start=5.0, elapsed_s=1.0)
    assert len(series) == 1 and series[0]["started"] == 1 and series[0]["completed"] == 1
    assert series[0]["tokens"] == 4


def test_failure_examples_keep_a_few_details_per_class() -> None:
    records = [failed_record(i, 0.0, Failure.TIMEOUT) for i in range(5)]
    assert failure_examples(records) == {"timeout": ["timeout #0", "timeout #1", "timeout #2"]}
