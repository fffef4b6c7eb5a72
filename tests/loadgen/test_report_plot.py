"""JSON report round trip, summary table and plot, from a report built out of hand-made records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadgen.cli import main
from loadgen.config import LoadConfig
from loadgen.records import Failure, RequestRecord
from loadgen.report import format_summary, read_report, write_report
from loadgen.runner import LoadReport

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_report() -> LoadReport:
    records = []
    for i in range(30):
        start = i * 0.1
        record = RequestRecord(
            index=i,
            start=start,
            end=start + 0.05,
            status=200,
            ttft=0.01,
            itl=[0.01, 0.01],
            token_chunks=3,
            done=True,
        )
        if i % 10 == 5:
            record.failure, record.status, record.done, record.detail = (
                Failure.HTTP_5XX,
                503,
                False,
                "HTTP 503: x",
            )
        records.append(record)
    return LoadReport(
        config=LoadConfig(url="http://127.0.0.1:1", duration=3.0),
        model="test-model",
        records=records,
        started_at="2026-01-01T00:00:00+00:00",
        warmup_s=0.0,
        elapsed_s=3.05,
        interrupted=False,
        events=[{"t": 1.5, "label": "promote"}],
    )


def test_report_json_shape_and_round_trip(tmp_path: Path) -> None:
    data = make_report().to_json()
    path = write_report(tmp_path / "sub" / "r.json", data)
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temp file left behind
    loaded = read_report(path)
    assert loaded == json.loads(json.dumps(data))
    assert set(loaded) == {
        "schema_version",
        "started_at",
        "model",
        "interrupted",
        "config",
        "summary",
        "failure_examples",
        "series",
        "events",
    }
    assert loaded["summary"]["requests"] == 30 and loaded["summary"]["failures"]["http_5xx"] == 3
    assert loaded["failure_examples"] == {"http_5xx": ["HTTP 503: x"] * 3}
    assert len(loaded["series"]) == 4 and sum(row["started"] for row in loaded["series"]) == 30
    assert sum(row["failed"] for row in loaded["series"]) == 3
    assert loaded["config"]["url"] == "http://127.0.0.1:1"


def test_summary_table_lists_every_required_figure() -> None:
    table = format_summary(make_report().summary())
    for label in (
        "requests",
        "completed streams",
        "stream completion rate",
        "error rate",
        "5xx rate",
        "status codes",
        "failure classes",
        "TTFT",
        "inter-token latency",
        "end-to-end latency",
        "output tokens/s",
        "requests/s",
    ):
        assert label in table, label
    assert "200: 27, 503: 3" in table
    assert "http_5xx 3" in table
    assert "p99 10.0 ms" in table


def test_verify_from_report_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_report(tmp_path / "r.json", make_report().to_json())
    assert main(["verify", "--report", str(path)]) == 1
    # Completion is exactly 90%, which meets the inclusive 0.90 minimum: two failed criteria, two lines.
    assert capsys.readouterr().out.splitlines() == [
        "FAIL: error rate 10.00% > max 5.00% (3 of 30 requests failed: http_5xx 3)",
        "FAIL: 5xx rate 10.00% > max 2.00% (3 of 30 requests)",
    ]
    args = ["--max-error-rate", "0.1", "--max-5xx-rate", "0.1"]
    assert main(["verify", "--report", str(path), *args]) == 0
    assert capsys.readouterr().out.startswith("PASS: error rate <= 0.1, 5xx rate <= 0.1")


def test_plot_writes_a_png_with_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_report(tmp_path / "r.json", make_report().to_json())
    png = tmp_path / "out" / "run.png"
    assert main(["plot", str(path), "-o", str(png), "--event", "2=rollback", "--title", "t"]) == 0
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 10_000
    assert f"plot written to {png}" in capsys.readouterr().out
