"""The JSON report on disk and the human-readable summary table."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loadgen.config import ConfigError
from loadgen.runner import REPORT_SCHEMA_VERSION

REQUIRED_SUMMARY_KEYS = ("requests", "error_rate", "rate_5xx", "stream_completion_rate")


def write_report(path: str | Path, report: Mapping[str, Any]) -> Path:
    """Write atomically (temp file + rename) so an interrupted run never leaves half a JSON file behind."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
            handle.write("\n")
        # mkstemp creates the file 0600; a report is not secret, so give it the mode open() would (umask).
        os.chmod(temp_name, 0o666 & ~_current_umask())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


def read_report(path: str | Path) -> dict[str, Any]:
    """Load a report written by `loadgen run`, or raise ConfigError saying what is wrong with the file."""
    source = Path(path).expanduser()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"report {source} does not exist (write one with `python -m loadgen run`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read report {source}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"report {source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise ConfigError(
            f"{source} is not a loadgen report (expected schema_version {REPORT_SCHEMA_VERSION})"
        )
    summary = data.get("summary")
    missing = [k for k in REQUIRED_SUMMARY_KEYS if not isinstance(summary, dict) or k not in summary]
    if missing:
        raise ConfigError(f"report {source} lacks summary fields: {', '.join(missing)}")
    return data


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


def _quantiles(block: Mapping[str, float | None], keys: tuple[str, ...]) -> str:
    return "  ".join(f"{key} {_ms(block.get(key))}" for key in keys)


def format_summary(summary: Mapping[str, Any]) -> str:
    statuses = ", ".join(f"{code}: {n}" for code, n in summary["status_codes"].items()) or "none"
    failures = ", ".join(f"{name} {n}" for name, n in summary["failures"].items() if n) or "none"
    rows = [
        ("requests", str(summary["requests"])),
        ("completed streams", str(summary["completed"])),
        ("stream completion rate", _pct(summary["stream_completion_rate"])),
        ("error rate", _pct(summary["error_rate"])),
        ("5xx rate", _pct(summary["rate_5xx"])),
        ("status codes", statuses),
        ("failure classes", failures),
        ("TTFT", _quantiles(summary["ttft_s"], ("p50", "p95", "p99"))),
        ("of which send wait", _quantiles(summary.get("send_wait_s", {}), ("p50", "p95", "p99"))),
        ("inter-token latency", _quantiles(summary["itl_s"], ("p50", "p95"))),
        ("end-to-end latency", _quantiles(summary["e2e_s"], ("p50", "p95"))),
        ("output tokens/s", f"{summary['output_tokens_per_s']:.1f} ({summary['output_tokens']} tokens)"),
        ("requests/s", f"{summary['requests_per_s']:.2f} over {summary['elapsed_s']:.1f} s"),
    ]
    if summary.get("cancelled"):
        rows.append(("cancelled at stop", str(summary["cancelled"])))
    if summary.get("capped_arrivals"):
        rows.append(("arrivals held by cap", str(summary["capped_arrivals"])))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
