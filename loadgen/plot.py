"""Render a report's per-second series as a PNG: throughput, failures by class, TTFT, marked events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadgen.config import ConfigError

_FULL_SECOND = 0.999  # a series row this wide counts as a whole second (widths are rounded floats)


@dataclass(frozen=True)
class Event:
    t: float  # seconds from the start of the measured window, as in the report's series
    label: str


def parse_event(text: str) -> Event:
    """'12.5=promote' -> Event(12.5, 'promote')."""
    seconds, sep, label = text.partition("=")
    try:
        t = float(seconds)
    except ValueError:
        t = float("nan")
    if not sep or not label or t != t or t < 0:
        raise ConfigError(f"--event {text!r} must look like SECONDS=LABEL, e.g. --event 12.5=promote")
    return Event(t, label)


def report_events(report: Mapping[str, Any]) -> list[Event]:
    return [
        Event(float(e["t"]), str(e["label"])) for e in report.get("events", []) if "t" in e and "label" in e
    ]


def plot_report(
    report: Mapping[str, Any], output: str | Path, *, events: Sequence[Event] = (), title: str | None = None
) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    series = report["series"]
    if not series:
        raise ConfigError("the report has an empty time series: nothing to plot")
    seconds = [row["t"] for row in series]
    widths = [row.get("width_s") or 1.0 for row in series]
    # Lines sit in the middle of the second they count, over the bars of that same second.
    middles = [t + w / 2 for t, w in zip(seconds, widths, strict=True)]

    def per_second(key: str) -> list[float]:
        # The last row covers only the part of a second the run lasted: a count over a fraction of a second is
        # not a rate (10 requests in 0.1 s would draw as 100/s), so partial rows are left out of the lines.
        return [row[key] if width >= _FULL_SECOND else float("nan") for row, width in zip(series, widths, strict=True)]

    classes = sorted({name for row in series for name in row["failed_by_class"]})
    figure, (throughput, failures, ttft) = plt.subplots(3, 1, sharex=True, figsize=(11, 8))

    throughput.plot(middles, per_second("completed"), label="completed/s", color="tab:green")
    throughput.plot(middles, per_second("started"), label="started/s", color="tab:blue", alpha=0.6)
    throughput.set_ylabel("requests/s")
    tokens_axis = throughput.twinx()
    tokens_axis.plot(middles, per_second("tokens"), label="tokens/s", color="tab:gray", alpha=0.5)
    tokens_axis.set_ylabel("tokens/s")
    lines = throughput.get_legend_handles_labels()[0] + tokens_axis.get_legend_handles_labels()[0]
    throughput.legend(lines, [str(line.get_label()) for line in lines], loc="upper left", fontsize="small")

    bottom = [0] * len(series)
    for name in classes:
        counts = [row["failed_by_class"].get(name, 0) for row in series]  # per row; a partial row is narrower
        failures.bar(seconds, counts, bottom=bottom, label=name, width=[0.9 * w for w in widths], align="edge")
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    failures.set_ylabel("failed per second")
    if classes:
        failures.legend(loc="upper left", fontsize="small")

    ttft.plot(middles, [_ms(row["ttft_p50_s"]) for row in series], color="tab:purple", marker=".")
    ttft.set_ylabel("TTFT p50 (ms)")
    ttft.set_xlabel("seconds since start of measurement")

    last = max(t + w for t, w in zip(seconds, widths, strict=True))
    ends = [0.0, last, *(event.t for event in events)]
    throughput.set_xlim(min(ends) - 0.5, max(ends) + 0.5)  # an event after the last row stays on the plot
    for index, event in enumerate(sorted(events, key=lambda e: e.t)):
        for axis in (throughput, failures, ttft):
            axis.axvline(event.t, color="tab:red", linestyle="--", linewidth=1)
        # Above the top panel, centred on its line and staggered in two rows, so neither the panel edge nor a
        # neighbouring event's label hides it.
        throughput.annotate(
            event.label,
            (event.t, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3 + 11 * (index % 2)),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize="small",
            color="tab:red",
            annotation_clip=False,
        )

    figure.suptitle(title or f"loadgen: {report.get('model', '?')} from {report.get('started_at', '?')}")
    figure.tight_layout(rect=(0, 0, 1, 0.95 if events else 1))  # room for the event labels under the title
    target = Path(output).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)
    plt.close(figure)
    return target


def _ms(seconds: float | None) -> float:
    return float("nan") if seconds is None else seconds * 1000
